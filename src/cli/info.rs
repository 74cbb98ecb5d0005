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
    if let Some(uri) = super::remote::uri(&args.collection)? {
        return super::remote::info(&uri, args.json);
    }
    let path = args.collection.path();
    // Everything `info` shows is read up front by an open for queries; `check` reads the rest.
    let collection = Collection::open_for_queries(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    let info = collection.info();
    let search = collection.search_method()?;
    let classifier = engine::load_state(&collection)?;
    let status = engine::status(&collection, classifier.as_ref());
    let mut out = output::stdout();
    if args.json {
        let mut params = serde_json::to_value(&status)?;
        if let Some(c) = &classifier {
            params["val_accuracy"] = c.val_accuracy.into();
        }
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
            "format_version": info.format_version, "quantize": info.config.quantize,
            "vector_bytes": info.vector_bytes, "search": search, "classifier": params,
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
        writeln!(
            out,
            "vectors      {} in memory, {:.1} MB",
            match info.config.quantize {
                genovec::store::Quantize::None => "float32",
                genovec::store::Quantize::Int8 =>
                    "int8 codes (exact floats re-ranked from the file)",
            },
            info.vector_bytes as f64 / 1e6
        )?;
        let g = info.config.graph;
        writeln!(
            out,
            "graph        {} nodes (M={}, ef_construction={}, ef_search={})",
            info.graph_nodes, g.m, g.ef_construction, g.ef_search
        )?;
        writeln!(out, "search       {search}")?;
        writeln!(out, "tail         {} (searched exactly)", info.tail)?;
        writeln!(out, "tombstones   {}", info.tombstones)?;
        write_classifier(&mut out, classifier.as_ref(), &status)?;
    }
    out.flush()?;
    Ok(())
}

fn write_classifier(
    out: &mut impl Write,
    state: Option<&engine::ClassifierState>,
    status: &engine::ClassifierStatus,
) -> anyhow::Result<()> {
    let Some(c) = state else {
        writeln!(
            out,
            "classifier   none (kNN vote only; `genovec train` trains one)"
        )?;
        return Ok(());
    };
    let p = &c.params;
    writeln!(
        out,
        "classifier   k={} vote={} weight_knn={} C={} (inner validation accuracy {:.4})",
        p.k, p.vote, p.weight_knn, p.c, c.val_accuracy
    )?;
    writeln!(
        out,
        "  trained on {} records; {} added and {} deleted since",
        status.trained_on, status.added_since, status.deleted_since
    )?;
    writeln!(out, "  labels     {}", status.labels.join(", "))?;
    if !status.untrained_labels.is_empty() {
        writeln!(
            out,
            "  not yet trained on (the kNN vote scores them): {}",
            status.untrained_labels.join(", ")
        )?;
    }
    Ok(())
}
