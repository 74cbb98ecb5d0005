//! `genovec classify`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use genovec::engine::{self, ClassifyOptions, Prediction};

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
    let (labels, predictions) = match (&args.finetuned, &args.collection) {
        (Some(dir), _) => {
            let (predictions, report) = engine::classify_finetuned(dir, &queries)
                .with_context(|| format!("loading {}", dir.display()))?;
            (report.labels, predictions)
        }
        (None, Some(collection)) => by_collection(collection, &args, &queries)?,
        (None, None) => unreachable!("clap requires --collection or --finetuned"),
    };
    let mut out = output::stdout();
    if args.json {
        predictions
            .iter()
            .try_for_each(|p| output::json_line(&mut out, &json(p)))?;
    } else {
        write_tsv(&mut out, &labels, &predictions)?;
    }
    out.flush()?;
    Ok(())
}

/// The labels and predictions of kNN + fusion against a collection.
fn by_collection(
    collection: &str,
    args: &Args,
    queries: &[genovec::seq::SeqRecord],
) -> anyhow::Result<(Vec<String>, Vec<Prediction>)> {
    let path = engine::collection_path(collection);
    let (collection, embedder) =
        engine::open_for_queries(&path).with_context(|| format!("opening {}", path.display()))?;
    let state = engine::load_state(&collection)?;
    let opts = ClassifyOptions {
        k: args.k,
        threshold: args.threshold,
        adapt: args.adapt.adapt,
    };
    let classified = engine::classify_batch(
        &collection,
        embedder.as_ref(),
        state.as_ref(),
        queries,
        opts,
    )?;
    if let Some(shift) = &classified.shift {
        note_shift(shift);
    }
    Ok((collection.labels().to_vec(), classified.predictions))
}

/// Tells stderr when a query set's covariate shift was corrected.
pub fn note_shift(shift: &genovec::classify::Shift) {
    if shift.adapted {
        eprintln!(
            "note: the {} queries sit far from the collection (RMS shift {} standard \
             deviations, {}x the sampling noise): the linear model was refitted blind to the \
             shift direction and the kNN vote left out of the probabilities (--adapt never \
             turns this off)",
            shift.n_queries,
            num(shift.rms),
            num(shift.noise_ratio)
        );
    }
}

/// The JSON shape: probabilities as an object keyed by label.
pub fn json(p: &Prediction) -> serde_json::Value {
    let probabilities: serde_json::Map<String, serde_json::Value> = p
        .probabilities
        .iter()
        .map(|(l, v)| (l.clone(), (*v).into()))
        .collect();
    serde_json::json!({
        "name": p.name,
        "label": p.label,
        "confidence": p.confidence,
        "probabilities": probabilities,
        "neighbours": p.neighbours,
    })
}

fn write_tsv(
    out: &mut impl Write,
    labels: &[String],
    predictions: &[Prediction],
) -> anyhow::Result<()> {
    let p_columns: Vec<String> = labels.iter().map(|l| format!("p_{l}")).collect();
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
            .map(|n| format!("{}:{}:{}", n.id, n.label, num(n.distance as f64)))
            .collect();
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            p.name,
            p.label,
            num(p.confidence),
            probs.join("\t"),
            evidence.join(";")
        )?;
    }
    Ok(())
}
