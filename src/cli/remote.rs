//! `--collection milvus://HOST:PORT/NAME`: the commands that run on a Milvus collection
//! (`index`, `search`, `info`, `delete`) route here. A build without the `milvus` feature
//! says how to get one.

#[cfg(feature = "milvus")]
use std::io::Write;

use genovec::engine::{IndexOptions, IndexReport, QueryResult, SearchFilter};
use genovec::milvus::MilvusUri;
use genovec::seq::SeqRecord;

use super::args::CollectionArg;
#[cfg(feature = "milvus")]
use super::output;

/// The Milvus URI of a `--collection` argument, or `None` for a local collection.
pub fn uri(collection: &CollectionArg) -> anyhow::Result<Option<MilvusUri>> {
    if !MilvusUri::is_milvus(&collection.collection) {
        return Ok(None);
    }
    let uri = MilvusUri::parse(&collection.collection)?;
    if !cfg!(feature = "milvus") {
        anyhow::bail!(
            "{}: this genovec was built without Milvus support; build it with \
             `cargo build --release --features milvus`",
            uri.display()
        );
    }
    Ok(Some(uri))
}

#[cfg(feature = "milvus")]
pub fn index(
    uri: &MilvusUri,
    records: &[SeqRecord],
    given: Option<&[Vec<f32>]>,
    opts: &IndexOptions,
    on_commit: &mut dyn FnMut(usize, usize, usize),
) -> anyhow::Result<IndexReport> {
    Ok(genovec::engine::index_remote(
        uri, records, given, opts, on_commit,
    )?)
}

#[cfg(feature = "milvus")]
pub fn search(
    uri: &MilvusUri,
    queries: &[SeqRecord],
    k: usize,
    ef: Option<usize>,
    filter: &SearchFilter,
) -> anyhow::Result<Vec<QueryResult>> {
    Ok(genovec::engine::search_remote(uri, queries, k, ef, filter)?)
}

#[cfg(feature = "milvus")]
pub fn search_vectors(
    uri: &MilvusUri,
    vectors: &[Vec<f32>],
    k: usize,
    ef: Option<usize>,
    filter: &SearchFilter,
) -> anyhow::Result<Vec<Vec<genovec::engine::Neighbour>>> {
    Ok(genovec::engine::search_vectors_remote(
        uri, vectors, k, ef, filter,
    )?)
}

#[cfg(feature = "milvus")]
pub fn classify(
    uri: &MilvusUri,
    queries: &[SeqRecord],
    given: Option<&[Vec<f32>]>,
    opts: genovec::engine::ClassifyOptions,
) -> anyhow::Result<genovec::engine::Classified> {
    Ok(genovec::engine::classify_remote(uri, queries, given, opts)?)
}

#[cfg(feature = "milvus")]
pub fn train(
    uri: &MilvusUri,
    opts: genovec::engine::TrainOptions,
) -> anyhow::Result<genovec::engine::Trained> {
    Ok(genovec::engine::train_remote(uri, opts)?)
}

#[cfg(feature = "milvus")]
pub fn delete(uri: &MilvusUri, ids: &[u64]) -> anyhow::Result<()> {
    Ok(genovec::engine::delete_remote(uri, ids)?)
}

/// `info` on a Milvus collection: counts are strongly consistent.
#[cfg(feature = "milvus")]
pub fn info(uri: &MilvusUri, json: bool) -> anyhow::Result<()> {
    let info = genovec::engine::info_remote(uri)?;
    let mut out = output::stdout();
    if json {
        let labels: serde_json::Map<String, serde_json::Value> = (info.labels.iter())
            .map(|(l, n)| (l.clone(), (*n).into()))
            .collect();
        let value = serde_json::json!({
            "path": info.collection, "records": info.records, "labels": labels,
            "embedder": info.config.embedder, "embedder_identity": info.config.embedder_identity,
            "dimension": info.config.dim, "metric": info.config.metric,
            "graph_params": info.config.graph, "backend": "milvus",
            "search": {"method": "milvus"}, "classifier": info.classifier,
        });
        output::json_line(&mut out, &value)?;
    } else {
        writeln!(out, "collection   {}", info.collection)?;
        writeln!(out, "records      {}", info.records)?;
        for (label, n) in &info.labels {
            writeln!(out, "  {label:<20} {n}")?;
        }
        let c = &info.config;
        writeln!(out, "embedder     {} ({})", c.embedder, c.embedder_identity)?;
        writeln!(out, "dimension    {}", c.dim)?;
        writeln!(out, "metric       {}", c.metric.name())?;
        let g = c.graph;
        writeln!(
            out,
            "index        Milvus HNSW (M={}, efConstruction={}, ef={})",
            g.m, g.ef_construction, g.ef_search
        )?;
        match &info.classifier {
            Some(c) => writeln!(
                out,
                "classifier   trained on {} records; {} added and {} deleted since",
                c.trained_on, c.added_since, c.deleted_since
            )?,
            None => writeln!(
                out,
                "classifier   none (kNN vote only; `genovec train` trains one)"
            )?,
        }
    }
    out.flush()?;
    Ok(())
}

/// Without the `milvus` feature [`uri`] refuses every Milvus collection, so these are never
/// reached; they keep the commands free of feature switches.
#[cfg(not(feature = "milvus"))]
mod absent {
    use super::*;

    fn missing() -> anyhow::Error {
        anyhow::anyhow!("this genovec was built without Milvus support")
    }

    pub fn index(
        _: &MilvusUri,
        _: &[SeqRecord],
        _: Option<&[Vec<f32>]>,
        _: &IndexOptions,
        _: &mut dyn FnMut(usize, usize, usize),
    ) -> anyhow::Result<IndexReport> {
        Err(missing())
    }

    pub fn search(
        _: &MilvusUri,
        _: &[SeqRecord],
        _: usize,
        _: Option<usize>,
        _: &SearchFilter,
    ) -> anyhow::Result<Vec<QueryResult>> {
        Err(missing())
    }

    pub fn search_vectors(
        _: &MilvusUri,
        _: &[Vec<f32>],
        _: usize,
        _: Option<usize>,
        _: &SearchFilter,
    ) -> anyhow::Result<Vec<Vec<genovec::engine::Neighbour>>> {
        Err(missing())
    }

    pub fn delete(_: &MilvusUri, _: &[u64]) -> anyhow::Result<()> {
        Err(missing())
    }

    pub fn classify(
        _: &MilvusUri,
        _: &[SeqRecord],
        _: Option<&[Vec<f32>]>,
        _: genovec::engine::ClassifyOptions,
    ) -> anyhow::Result<genovec::engine::Classified> {
        Err(missing())
    }

    pub fn train(
        _: &MilvusUri,
        _: genovec::engine::TrainOptions,
    ) -> anyhow::Result<genovec::engine::Trained> {
        Err(missing())
    }

    pub fn info(_: &MilvusUri, _: bool) -> anyhow::Result<()> {
        Err(missing())
    }
}

#[cfg(not(feature = "milvus"))]
pub use absent::{classify, delete, index, info, search, search_vectors, train};
