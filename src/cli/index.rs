//! `genovec index`.

use std::path::{Path, PathBuf};

use genovec::engine::{self, IndexOptions};

use super::args::{CollectionArg, ReadArgs};

/// Arguments of `index`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    collection: CollectionArg,
    /// Input files (FASTA, CSV, TSV or Parquet, plain or gzip); repeat or list several.
    /// Optional with a Parquet `--vectors` file, whose own columns are then the records.
    #[arg(long, required_unless_present = "vectors", num_args = 1..)]
    input: Vec<PathBuf>,
    /// Precomputed embeddings (needs `--embedder external:NAME:DIM`): an NPY (n, dim) float
    /// matrix whose row i is the i-th input record's vector, or a Parquet file with a
    /// `vector` column (and, without `--input`, the records' own columns).
    #[arg(long, value_name = "FILE")]
    vectors: Option<PathBuf>,
    #[command(flatten)]
    read: ReadArgs,
    /// Label for records that carry none (FASTA without `label=`, tables without a label
    /// column).
    #[arg(long)]
    label: Option<String>,
    /// Embedder: composition | dnabert2:DIR | nt:DIR | hyenadna:DIR | DIR |
    /// external:NAME:DIM (vectors given with --vectors).
    #[arg(long, default_value = "composition")]
    embedder: String,
    /// Records per durable batch.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Store a record even when the same (label, sequence) is already stored.
    #[arg(long)]
    allow_duplicates: bool,
    /// Train the linear model on the embedding alone, without the handcrafted features.
    #[arg(long)]
    no_handcrafted: bool,
    /// Leave the classifier as it is (reported stale) instead of training it at the end;
    /// `genovec train` trains it later.
    #[arg(long)]
    no_train: bool,
    /// Keep int8 codes in memory instead of float vectors (a quarter of the memory); searches
    /// re-rank their best candidates with the exact vectors. Chosen when the collection is
    /// created: none | int8.
    #[arg(long, default_value = "none")]
    quantize: genovec::store::Quantize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let path = args.collection.path();
    let opts = IndexOptions {
        read: args.read.options(args.label),
        embedder: args.embedder,
        batch: args.batch,
        allow_duplicates: args.allow_duplicates,
        handcrafted: !args.no_handcrafted,
        train: !args.no_train,
        quantize: args.quantize,
    };
    let mut on_commit = |_done: usize, _of: usize, total: usize| {
        // `committed N` is printed only after the batch's transaction is durable.
        genovec::progress::note(&format!("committed {total}"));
    };
    if let Some(uri) = super::remote::uri(&args.collection)? {
        let (records, vectors) = read_input(&args.input, args.vectors.as_deref(), &opts)?;
        let given = vectors.as_deref();
        let report = super::remote::index(&uri, &records, given, &opts, &mut on_commit)?;
        eprintln!(
            "indexed {}: read {}, added {}, total {}",
            uri.display(),
            report.read,
            report.added,
            report.total
        );
        match &report.trained {
            Some(trained) => super::train::report(trained),
            None => eprintln!("classifier: not trained (--no-train); `genovec train` trains it"),
        }
        return Ok(());
    }
    let report = match &args.vectors {
        None => engine::index_files(&path, &args.input, &opts, &mut on_commit)?,
        Some(file) => {
            let (records, vectors) = read_input(&args.input, Some(file), &opts)?;
            let vectors = vectors.unwrap_or_default();
            engine::index_with_vectors(&path, &records, &vectors, &opts, &mut on_commit)?
        }
    };
    eprintln!(
        "indexed {}: read {}, added {}, total {}{}",
        path.display(),
        report.read,
        report.added,
        report.total,
        if report.rebuilt_graph {
            ", graph rebuilt"
        } else {
            ""
        }
    );
    match &report.trained {
        Some(trained) => super::train::report(trained),
        None => eprintln!("classifier: not trained (--no-train); `genovec train` trains it"),
    }
    Ok(())
}

/// One vector per record, in the records' order.
type Vectors = Vec<Vec<f32>>;

/// The records to index and, with `--vectors FILE`, their vectors; the records come from
/// `--input`, else from the Parquet vectors file's own columns.
fn read_input(
    input: &[PathBuf],
    vectors: Option<&Path>,
    opts: &IndexOptions,
) -> anyhow::Result<(Vec<genovec::seq::SeqRecord>, Option<Vectors>)> {
    let Some(file) = vectors else {
        return Ok((genovec::seq::read_all(input, &opts.read)?, None));
    };
    let file = file.to_path_buf();
    let inputs = if input.is_empty() {
        std::slice::from_ref(&file)
    } else {
        input
    };
    let records = genovec::seq::read_all(inputs, &opts.read)?;
    Ok((records, Some(genovec::seq::read_vectors(&file)?)))
}
