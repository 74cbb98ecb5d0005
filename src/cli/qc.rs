//! `genovec qc`: a dataset and leakage report (plots in `qc_plots.rs`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use genovec::qc::{self, QcOptions};
use genovec::store::Collection;

use super::args::ReadArgs;
use super::output;

/// Arguments of `qc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The training (or only) set: FASTA, CSV, TSV or Parquet files, plain or gzip.
    #[arg(long, num_args = 1.., required_unless_present = "collection")]
    train: Vec<PathBuf>,
    /// A test set checked against the training set (duplicates, near-duplicates across).
    #[arg(long, num_args = 1..)]
    test: Vec<PathBuf>,
    /// A stored collection checked as the training set (instead of --train).
    #[arg(long, conflicts_with = "train")]
    collection: Option<String>,
    /// Least identity of a near-duplicate pair: 1 - edits / shorter length.
    #[arg(long, default_value_t = 0.9)]
    identity: f64,
    /// Training neighbours examined per test record.
    #[arg(long, default_value_t = 10)]
    neighbours: usize,
    /// Largest dinucleotide-spectrum distance (total variation, 0 to 1) of composition twins.
    #[arg(long, default_value_t = qc::DEFAULT_TWIN_DISTANCE)]
    twin_distance: f64,
    /// Training records (a stratified sample) the shortcut-risk models and the full pipeline
    /// are cross-validated on; 0 skips the shortcut risk.
    #[arg(long, default_value_t = 5000)]
    shortcut_records: usize,
    /// Print the report as one JSON object instead of Markdown.
    #[arg(long)]
    json: bool,
    /// Also write the report as qc.md and qc.json into this folder.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    read: ReadArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let opts = QcOptions {
        identity: qc::check_identity(args.identity)?,
        neighbours: genovec::engine::check_k(args.neighbours, genovec::engine::MAX_K)?,
        twin_distance: qc::check_twin_distance(args.twin_distance)?,
    };
    let read = args.read.options(None);
    let train = match &args.collection {
        Some(c) => {
            let path = super::args::local_path(c, "qc")?;
            let collection = Collection::open_for_queries(&path)
                .with_context(|| format!("opening {}", path.display()))?;
            qc::stored_records(&collection)?
        }
        None => genovec::seq::read_all(&args.train, &read)?,
    };
    let test = match args.test.is_empty() {
        true => None,
        false => Some(genovec::seq::read_all(&args.test, &read)?),
    };
    let report = genovec::engine::qc_report(&train, test.as_deref(), opts, args.shortcut_records)?;
    let json = serde_json::to_string_pretty(&report)?;
    let markdown = qc::markdown(&report);
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        // The file's report also shows the plots (drawn with `--features plots`).
        let plots = super::qc_plots::write(dir, &train).context("drawing the plots")?;
        let with_plots = format!("{markdown}\n## Plots\n\n{plots}");
        for (name, text) in [("qc.md", &with_plots), ("qc.json", &json)] {
            let file = dir.join(name);
            std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
        }
    }
    let mut out = output::stdout();
    match args.json {
        true => writeln!(out, "{}", serde_json::to_string(&report)?)?,
        false => write!(out, "{markdown}")?,
    }
    out.flush()?;
    Ok(())
}
