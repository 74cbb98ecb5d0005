//! `genovec info`.

use std::io::Write;

use anyhow::Context;
use genovec::engine;
use genovec::store::Collection;

use super::args::CollectionArg;
use super::output;

/// Arguments of `info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    collection: CollectionArg,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let path = args.collection.path();
    let collection =
        Collection::open_reader(&path).with_context(|| format!("opening {}", path.display()))?;
    let info = collection.info();
    let classifier = engine::load_state(&collection)?;
    let mut out = output::stdout();
    if args.json {
        let params = classifier.as_ref().map(|c| serde_json::json!({"params": c.params, "val_accuracy": c.val_accuracy, "trained_on": c.trained_on}));
        let labels: serde_json::Map<String, serde_json::Value> = info
            .labels
            .iter()
            .map(|(l, n)| (l.clone(), (*n).into()))
            .collect();
        let value = serde_json::json!({
            "path": info.path, "records": info.records, "labels": labels,
            "embedder": info.config.embedder, "embedder_identity": info.config.embedder_identity,
            "dimension": info.config.dim, "metric": info.config.metric, "graph_params": info.config.graph,
            "graph_nodes": info.graph_nodes, "tail": info.tail, "tombstones": info.tombstones,
            "format_version": info.format_version, "classifier": params,
        });
        output::json_line(&mut out, &value)?;
    } else {
        writeln!(out, "collection   {}", info.path)?;
        writeln!(out, "records      {}", info.records)?;
        for (label, n) in &info.labels {
            writeln!(out, "  {label:<20} {n}")?;
        }
        writeln!(
            out,
            "embedder     {} ({})",
            info.config.embedder, info.config.embedder_identity
        )?;
        writeln!(out, "dimension    {}", info.config.dim)?;
        writeln!(out, "metric       {}", info.config.metric.name())?;
        let g = info.config.graph;
        writeln!(
            out,
            "graph        {} nodes (M={}, ef_construction={}, ef_search={})",
            info.graph_nodes, g.m, g.ef_construction, g.ef_search
        )?;
        writeln!(out, "tail         {} (searched exactly)", info.tail)?;
        writeln!(out, "tombstones   {}", info.tombstones)?;
        match classifier {
            Some(c) => writeln!(out, "classifier   k={} vote={} weight_knn={} C={} (inner validation accuracy {:.4}, {} records)", c.params.k, c.params.vote, c.params.weight_knn, c.params.c, c.val_accuracy, c.trained_on)?,
            None => writeln!(out, "classifier   none (kNN vote only)")?,
        }
    }
    out.flush()?;
    Ok(())
}
