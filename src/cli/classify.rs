//! `genovec classify`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use genovec::engine::{self, ClassifierStatus, ClassifyOptions, Prediction};

use super::args::{AdaptArg, ReadArgs};
use super::output::{self, num};

/// Arguments of `classify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Collection name (indexes/NAME.redb) or path (contains `/` or ends in `.redb`).
    #[arg(long, required_unless_present = "finetuned")]
    collection: Option<String>,
    /// A folder written by `genovec finetune`, used instead of a collection.
    #[arg(long, conflicts_with_all = ["collection", "k", "threshold"])]
    finetuned: Option<PathBuf>,
    /// Files of sequences to classify.
    #[arg(long, required = true, num_args = 1..)]
    input: Vec<PathBuf>,
    /// The queries' vectors (NPY or Parquet `vector` column, row i for the i-th input
    /// record), for a collection of external embeddings; the sequences still give the
    /// handcrafted features.
    #[arg(long, value_name = "FILE", conflicts_with = "finetuned")]
    vectors: Option<PathBuf>,
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    adapt: AdaptArg,
    /// Voting neighbours (default: the value tuned at index time).
    #[arg(long)]
    k: Option<usize>,
    /// Answer `unknown` when the nearest neighbour is farther than this distance.
    #[arg(long)]
    threshold: Option<f32>,
    /// JSON Lines instead of TSV.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let queries = genovec::seq::read_all(&args.input, &args.read.options(None))?;
    let (predictions, status) = match (&args.finetuned, &args.collection) {
        (Some(dir), _) => {
            let (predictions, _) = engine::classify_finetuned(dir, &queries)
                .with_context(|| format!("loading {}", dir.display()))?;
            (predictions, None)
        }
        (None, Some(collection)) => {
            let classified = by_collection(collection, &args, &queries)?;
            (classified.predictions, Some(classified.classifier))
        }
        (None, None) => unreachable!("clap requires --collection or --finetuned"),
    };
    let mut out = output::stdout();
    if args.json {
        predictions
            .iter()
            .try_for_each(|p| output::json_line(&mut out, &json(p, status.as_ref())))?;
    } else {
        write_tsv(&mut out, &predictions)?;
    }
    out.flush()?;
    Ok(())
}

/// kNN + fusion against a collection; states that change the answers go to stderr.
fn by_collection(
    collection: &str,
    args: &Args,
    queries: &[genovec::seq::SeqRecord],
) -> anyhow::Result<engine::Classified> {
    let opts = ClassifyOptions {
        k: args
            .k
            .map(|k| engine::check_k(k, engine::MAX_K))
            .transpose()?,
        threshold: args.threshold.map(engine::check_threshold).transpose()?,
        adapt: args.adapt.adapt,
    };
    let arg = super::args::CollectionArg {
        collection: collection.to_string(),
    };
    if let Some(uri) = super::remote::uri(&arg)? {
        let vectors = args.vectors.as_deref().map(genovec::seq::read_vectors);
        let vectors = vectors.transpose()?;
        let classified = super::remote::classify(&uri, queries, vectors.as_deref(), opts)?;
        notes(&classified);
        return Ok(classified);
    }
    let path = super::args::local_path(collection, "classify")?;
    let (collection, embedder) =
        engine::open_for_queries(&path).with_context(|| format!("opening {}", path.display()))?;
    let state = engine::load_state(&collection)?;
    let classified = match &args.vectors {
        Some(file) => {
            let vectors = genovec::seq::read_vectors(file)?;
            engine::classify_given(&collection, state.as_ref(), queries, &vectors, opts)?
        }
        None => engine::classify_batch(
            &collection,
            embedder.as_ref(),
            state.as_ref(),
            queries,
            opts,
        )?,
    };
    notes(&classified);
    Ok(classified)
}

/// Tells stderr what changed the answers: a corrected shift, a stale or missing classifier.
fn notes(classified: &engine::Classified) {
    if let Some(shift) = &classified.shift {
        note_shift(shift);
    }
    note_status(&classified.classifier);
}

/// Tells stderr when the classifier does not reflect every stored record.
fn note_status(status: &ClassifierStatus) {
    if !status.trained {
        eprintln!("note: no trained classifier: the kNN vote alone answers (`genovec train`)");
        return;
    }
    if status.stale() {
        eprintln!(
            "note: the classifier was fitted on {} records; {} added and {} deleted since \
             (they are searched and vote; `genovec train` refits)",
            status.trained_on, status.added_since, status.deleted_since
        );
    }
    if !status.untrained_labels.is_empty() {
        eprintln!(
            "note: labels the linear model has not seen, scored by the kNN vote alone: {}",
            status.untrained_labels.join(", ")
        );
    }
}

/// Tells stderr when a query set's covariate shift was corrected.
pub fn note_shift(shift: &genovec::classify::Shift) {
    if shift.adapted {
        eprintln!(
            "note: adapted: the {} queries sit far from the collection beyond what a mix of \
             its classes explains (RMS shift {} standard deviations, {}x the sampling noise): \
             the linear model was refitted blind to that direction and the kNN vote left out \
             of the probabilities, so these predictions depend on the whole query set",
            shift.n_queries,
            num(shift.rms),
            num(shift.noise_ratio)
        );
    }
}

/// The JSON shape (see [`Prediction::to_json`]).
pub fn json(p: &Prediction, status: Option<&ClassifierStatus>) -> serde_json::Value {
    p.to_json(status)
}

/// TSV: one `p_<label>` column per label of the first prediction (every prediction of one
/// call has the same labels); the neighbours as `id:label:distance` joined by `;`, with the
/// label escaped (see [`output::tsv_field`]).
fn write_tsv(out: &mut impl Write, predictions: &[Prediction]) -> anyhow::Result<()> {
    let labels: Vec<&str> = predictions.first().map_or(Vec::new(), |p| {
        p.probabilities.iter().map(|(l, _)| l.as_str()).collect()
    });
    let p_columns: Vec<String> = labels
        .iter()
        .map(|l| format!("p_{}", output::tsv_field(l)))
        .collect();
    writeln!(
        out,
        "name\tpredicted\tconfidence\t{}\tneighbours",
        p_columns.join("\t")
    )?;
    for p in predictions {
        let probs: Vec<String> = p.probabilities.iter().map(|(_, v)| num(*v)).collect();
        let evidence: Vec<String> = p
            .neighbours
            .iter()
            .map(|n| {
                let label = output::tsv_field(&n.label).replace([':', ';'], "_");
                format!("{}:{label}:{}", n.id, num(n.distance as f64))
            })
            .collect();
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            output::tsv_field(&p.name),
            output::tsv_field(&p.label),
            num(p.confidence),
            probs.join("\t"),
            evidence.join(";")
        )?;
    }
    Ok(())
}
