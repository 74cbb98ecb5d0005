//! `genovec export`.

use std::path::PathBuf;

use anyhow::Context;
use genovec::engine;
use genovec::export::ExportFormat;
use genovec::store::Collection;

use super::args::CollectionArg;

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    collection: CollectionArg,
    /// parquet (every field), npy (the vectors, ids in <stem>.ids.npy), fasta or jsonl.
    #[arg(long, value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<ExportFormat>()))]
    format: ExportFormat,
    /// The file to write (replaced if it exists).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let path = args.collection.local("export")?;
    let collection =
        Collection::open_reader(&path).with_context(|| format!("opening {}", path.display()))?;
    let written = engine::export(&collection, args.format, &args.out)?;
    let files: Vec<String> = written
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    eprintln!(
        "exported {} records to {}",
        collection.len(),
        files.join(" and ")
    );
    if written.fields_left_out > 0 {
        eprintln!(
            "{} metadata fields were left out: FASTA headers cannot hold lists, objects or \
             text with spaces or '=' (parquet and jsonl keep every field)",
            written.fields_left_out
        );
    }
    Ok(())
}
