//! The collection store: one redb file per collection holding records, labels, vectors,
//! tombstones and a persisted HNSW graph.
//!
//! Records and vectors are the source of truth, written in redb write transactions: a batch
//! that returned is durable, a crash mid-batch leaves the previous state. The graph is derived
//! data, rebuilt when the un-indexed tail grows past a threshold and on `compact`; opening a
//! collection loads it and never rebuilds it.

mod batch;
mod browse;
mod check;
mod client_ids;
mod collection;
mod delete;
mod filter;
mod graph;
mod guard;
mod lists;
mod load;
mod loading;
mod metric;
mod open;
mod pending;
mod project;
mod projected;
mod quant;
mod query;
mod quick;
mod reads;
mod scan;
mod score;
mod seal;
mod tables;
mod upgrade;
mod upkeep;
mod vectors;
mod write;

use serde::{Deserialize, Serialize};

pub use browse::Page;
pub use check::{check, CheckReport};
pub use client_ids::ClientId;
pub use collection::{Collection, Hit, ON_DEMAND_QUERIES};
pub use filter::{Condition, RowMask, Where};
pub use graph::{build as build_graph, GraphLayout, GraphParams, GraphSearch};
pub use loading::Loading;
pub use metric::Metric;
pub use open::check_config;
pub use projected::SearchMethod;
pub use quant::{Int8Quantizer, Quantize};
pub use query::{scan_is_cheaper, Filter};
pub use scan::exact_top_k;
pub use score::Scorer;
pub use tables::{RecordRow, FORMAT_VERSION};
pub use upkeep::{BuiltGraph, GraphInput};
pub use vectors::VectorSet;
pub use write::{BatchOutcome, NewRecord};

/// A collection's fixed settings, written at creation and checked on every open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionConfig {
    /// The embedder spec as given (`composition`, `hyenadna:/path`, ...).
    pub embedder: String,
    /// What makes two embedders produce the same vectors: version and parameters, or a
    /// checkpoint hash. Opening with a different identity is an error.
    pub embedder_identity: String,
    /// Vector dimension.
    pub dim: usize,
    /// Distance metric.
    pub metric: Metric,
    /// Graph parameters.
    pub graph: GraphParams,
    /// The graph is rebuilt once the tail exceeds max(this, 10% of live records).
    pub rebuild_min_tail: usize,
    /// How vectors are kept in memory; files written before quantization existed have none.
    #[serde(default)]
    pub quantize: Quantize,
}

impl CollectionConfig {
    /// A config with the default metric (cosine), graph parameters and rebuild threshold.
    pub fn new(embedder: &str, embedder_identity: &str, dim: usize) -> Self {
        CollectionConfig {
            embedder: embedder.to_string(),
            embedder_identity: embedder_identity.to_string(),
            dim,
            metric: Metric::Cosine,
            graph: GraphParams::default(),
            rebuild_min_tail: 1000,
            quantize: Quantize::None,
        }
    }
}

/// A summary of a collection, as `info` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionInfo {
    /// The file.
    pub path: String,
    /// Live records.
    pub records: usize,
    /// Live records per label, sorted by label.
    pub labels: Vec<(String, usize)>,
    /// Settings.
    pub config: CollectionConfig,
    /// Nodes in the persisted graph (0 when none is built).
    pub graph_nodes: usize,
    /// Records added after the last graph build (searched exactly).
    pub tail: usize,
    /// Deleted records awaiting `compact`.
    pub tombstones: usize,
    /// The on-disk format version.
    pub format_version: u32,
    /// Bytes the in-memory vectors take (floats, or int8 codes when quantized).
    pub vector_bytes: usize,
}

#[cfg(test)]
mod client_id_tests;
#[cfg(test)]
mod filter_tests;
#[cfg(test)]
mod integrity_tests;
#[cfg(test)]
mod loading_tests;
#[cfg(test)]
mod quant_tests;
#[cfg(test)]
mod quick_tests;
#[cfg(test)]
mod tests;
