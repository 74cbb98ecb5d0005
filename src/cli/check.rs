//! `genovec check`: verifies a whole collection file.

use std::io::Write;

use genovec::store;

use super::args::CollectionArg;
use super::output;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    collection: CollectionArg,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let report = store::check(&args.collection.local("check")?)?;
    let mut out = output::stdout();
    if args.json {
        output::json_line(&mut out, &serde_json::to_value(&report)?)?;
    } else {
        writeln!(out, "ok           {}", report.path)?;
        writeln!(
            out,
            "records      {} ({} deleted), checksums, vectors and sequence hashes verified",
            report.records, report.tombstones
        )?;
        writeln!(
            out,
            "graph        {} nodes, verified against the records",
            report.graph_nodes
        )?;
        writeln!(
            out,
            "dedup        {} entries, each matching its record",
            report.dedup_entries
        )?;
        writeln!(
            out,
            "client ids   {} records with one, each naming a stored record",
            report.client_ids
        )?;
        let classifier = if report.classifier {
            "stored, verified"
        } else {
            "none"
        };
        writeln!(out, "classifier   {classifier}")?;
        let pages = if report.pages_checked {
            "every page checksum verified"
        } else {
            "not checked: another process holds the file for writing"
        };
        writeln!(out, "pages        {pages}")?;
    }
    out.flush()?;
    Ok(())
}
