//! `genovec demo`: the main job on built-in defaults, with no external data.

use std::io::Write;

use genovec::demo;
use genovec::engine::{self, ClassifyOptions, IndexOptions};

use super::output::{self, num};

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the demo collection (replaced on every run).
    #[arg(long, default_value = "demo")]
    collection: String,
}

const SEED: u64 = 2024;

pub fn run(args: Args) -> anyhow::Result<()> {
    let path = engine::collection_path(&args.collection);
    if path.exists() {
        std::fs::remove_file(&path)?;
    }
    let train = demo::generate(SEED, 400);
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
