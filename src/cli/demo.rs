//! `genovec demo`: the main job on built-in defaults, with no external data.

use std::io::Write;
use std::path::Path;

use anyhow::bail;
use genovec::demo;
use genovec::engine::{self, ClassifyOptions, IndexOptions};
use genovec::seq::SeqRecord;

use super::output::{self, num};

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the demo collection (a previous demo collection there is replaced).
    #[arg(long, default_value = "demo")]
    collection: String,
    /// Replace the collection even when it holds other records than the demo's.
    #[arg(long)]
    force: bool,
}

const SEED: u64 = 2024;

/// Removes a collection a previous demo wrote at `path`; any other file there is kept
/// (an error) unless `force`.
fn clear_previous(path: &Path, train: &[SeqRecord], force: bool) -> anyhow::Result<()> {
    if !path.exists() {
        return Ok(());
    }
    if !force {
        let shown = path.display();
        match demo::holds_exactly(path, train) {
            Ok(true) => {}
            Ok(false) => bail!(
                "{shown} holds records that `genovec demo` did not write; pass --force to \
                 replace it, or choose another --collection"
            ),
            Err(e) => bail!(
                "{shown} exists and is not a demo collection ({e}); pass --force to replace \
                 it, or choose another --collection"
            ),
        }
    }
    std::fs::remove_file(path).map_err(|e| anyhow::anyhow!("removing {}: {e}", path.display()))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let path = engine::collection_path(&args.collection);
    let train = demo::generate(SEED, 400);
    clear_previous(&path, &train, args.force)?;
    let held_out = demo::generate(SEED + 1, 60);
    let mut out = output::stdout();
    writeln!(
        out,
        "demo: {} labelled synthetic sequences ({} bp, classes {}), {} held out",
        train.len(),
        demo::LENGTH,
        demo::CLASSES.join(", "),
        held_out.len()
    )?;
    let opts = IndexOptions {
        batch: 400,
        ..IndexOptions::default()
    };
    let report = engine::index_records(&path, &train, &opts, &mut |_, _, total| {
        eprintln!("committed {total}")
    })?;
    writeln!(
        out,
        "indexed {} records into {}",
        report.total,
        path.display()
    )?;
    let (collection, embedder) = engine::open_for_queries(&path)?;
    let state = engine::load_state(&collection)?;
    if let Some(s) = &state {
        writeln!(
            out,
            "classifier tuned on training records: k={} weight_knn={} C={}",
            s.params.k, s.params.weight_knn, s.params.c
        )?;
    }
    let predictions = engine::classify_records(
        &collection,
        embedder.as_ref(),
        state.as_ref(),
        &held_out,
        ClassifyOptions::default(),
    )?;
    let correct = predictions
        .iter()
        .zip(&held_out)
        .filter(|(p, r)| Some(&p.label) == r.label.as_ref())
        .count();
    writeln!(
        out,
        "held-out accuracy: {} ({correct}/{})",
        num(correct as f64 / held_out.len() as f64),
        held_out.len()
    )?;
    for (p, r) in predictions.iter().zip(&held_out).take(3) {
        writeln!(
            out,
            "\n{}: predicted {} (confidence {}), true {}",
            p.name,
            p.label,
            num(p.confidence),
            r.label.as_deref().unwrap_or("?")
        )?;
        for n in &p.neighbours {
            writeln!(
                out,
                "  neighbour id {:>5}  {:<20} {:<14} distance {}",
                n.id,
                n.name,
                n.label,
                num(n.distance as f64)
            )?;
        }
    }
    out.flush()?;
    Ok(())
}
