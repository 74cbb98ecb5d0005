//! Opening a collection for queries without reading every vector first.
//!
//! A million 708-d float vectors are 2.8 GB, and reading them (and every record's label)
//! before the first answer took seconds. Opened for queries, a collection reads only what a
//! search needs up front: the header, the graph with its nodes' labels (stored beside it),
//! the tail past the graph, tombstones, metadata and client ids. The graph rows' vectors are
//! read on demand while a background thread reads them all ([`Pending`]); that read verifies
//! every record and vector as a full open does, and damage it finds fails every later search.
//! A file without the graph's labels (written before they were stored) opens in full.

use std::path::Path;
use std::sync::Arc;

use redb::ReadableTableMetadata;

use super::graph::GraphLayout;
use super::load::{self, corrupt, Header, Loaded};
use super::open::{storage, Db};
use super::pending::{Expected, Pending, Rows};
use super::tables::{self, CODES, GRAPH, GRAPH_KEY, GRAPH_LABELS_KEY, RECORDS, VECTORS};
use super::{Quantize, VectorSet};
use crate::Result;

/// The state of a collection opened for queries, or `None` when it has to be opened in full
/// (no graph, or no labels stored for it). `background` starts the read of every vector.
pub fn load_quick(
    db: &Db,
    path: &Path,
    background: bool,
) -> Result<Option<(Loaded, Arc<Pending>)>> {
    let txn = db.begin_read()?;
    let Some(Header {
        config,
        next_id,
        labels,
        quant,
    }) = load::read_header(&txn, path)?
    else {
        return Ok(None);
    };
    let Some((graph, graph_labels)) = read_graph(&txn, labels.len(), path)? else {
        return Ok(None);
    };
    let n_records = txn.open_table(RECORDS).map_err(storage)?.len();
    let n_vectors = txn.open_table(VECTORS).map_err(storage)?.len();
    let (n_records, n_vectors) = (n_records.map_err(storage)?, n_vectors.map_err(storage)?);
    if n_records != n_vectors {
        return Err(corrupt(path, "records and vectors tables differ in size"));
    }
    if config.quantize == Quantize::Int8 && quant.is_none() {
        return Err(corrupt(path, "it holds int8 codes but no quantizer"));
    }
    let after = graph.ids.last().map_or(0, |last| last + 1);
    let (tail_ids, tail_labels, tail) = read_tail(&txn, &config, after, labels.len(), path)?;
    if (graph.len() + tail_ids.len()) as u64 != n_vectors {
        return Err(corrupt(path, "the graph names records that are not stored"));
    }
    let mut vectors = VectorSet::new(config.dim);
    vectors.ids = [&graph.ids[..], &tail_ids].concat();
    vectors.labels = [graph_labels, tail_labels].concat();
    vectors.deleted = vec![false; vectors.ids.len()];
    vectors.quant = quant.clone();
    if vectors.ids.last().is_some_and(|&last| last >= next_id) {
        return Err(corrupt(path, "a record id is not below the next id"));
    }
    let tombstones = load::mark_tombstones(&txn, &mut vectors, path)?;
    load::read_metadata(&txn, &mut vectors, path)?;
    let clients = super::client_ids::read(&txn, &vectors, path)?;
    let expected = Expected {
        ids: vectors.ids.clone(),
        labels: vectors.labels.clone(),
        n_labels: labels.len(),
    };
    let pending = Pending::start(
        txn,
        path.to_path_buf(),
        &config,
        quant,
        tail,
        expected,
        background,
    )?;
    let loaded = Loaded {
        config,
        next_id,
        labels,
        vectors,
        graph: Some(graph),
        tombstones,
        clients,
    };
    Ok(Some((loaded, pending)))
}

/// The graph and its nodes' labels, checked; `None` when there is no graph or no labels
/// stored for it.
fn read_graph(
    txn: &redb::ReadTransaction,
    n_labels: usize,
    path: &Path,
) -> Result<Option<(GraphLayout, Vec<u32>)>> {
    let table = txn.open_table(GRAPH).map_err(storage)?;
    let Some(blob) = table.get(GRAPH_LABELS_KEY).map_err(storage)? else {
        return Ok(None);
    };
    let Some(layout) = table.get(GRAPH_KEY).map_err(storage)? else {
        return Ok(None);
    };
    let layout: GraphLayout = tables::graph_from(layout.value()).map_err(|e| corrupt(path, e))?;
    layout
        .validate(layout.len())
        .map_err(|e| corrupt(path, e))?;
    if layout.ids.windows(2).any(|w| w[0] >= w[1]) {
        return Err(corrupt(path, "the graph's node ids are out of order"));
    }
    let labels = tables::graph_labels_from(&layout.ids, blob.value());
    let Some(labels) = labels.map_err(|e| corrupt(path, e))? else {
        return Ok(None);
    };
    if labels.iter().any(|&l| l as usize >= n_labels) {
        return Err(corrupt(path, "a graph node has an unknown label index"));
    }
    Ok(Some((layout, labels)))
}

/// The ids, labels and vectors (or codes) of the records from id `after` on.
fn read_tail(
    txn: &redb::ReadTransaction,
    config: &super::CollectionConfig,
    after: u64,
    n_labels: usize,
    path: &Path,
) -> Result<(Vec<u64>, Vec<u32>, Rows)> {
    let (mut ids, mut labels, mut rows) = (Vec::new(), Vec::new(), Rows::default());
    let records = txn.open_table(RECORDS).map_err(storage)?;
    for entry in records.range(after..).map_err(storage)? {
        let (id, row) = entry.map_err(storage)?;
        let id = id.value();
        let label = tables::record_label(id, row.value()).map_err(|e| corrupt(path, e))?;
        if label as usize >= n_labels {
            return Err(corrupt(
                path,
                format!("record {id} has an unknown label index"),
            ));
        }
        ids.push(id);
        labels.push(label);
    }
    let table = match config.quantize {
        Quantize::None => txn.open_table(VECTORS),
        Quantize::Int8 => txn.open_table(CODES),
    };
    let mut vector_ids = Vec::new();
    for entry in table.map_err(storage)?.range(after..).map_err(storage)? {
        let (id, bytes) = entry.map_err(storage)?;
        let id = id.value();
        match config.quantize {
            Quantize::None => tables::vector_into(id, bytes.value(), config.dim, &mut rows.floats),
            Quantize::Int8 => tables::codes_into(id, bytes.value(), config.dim, &mut rows.codes),
        }
        .map_err(|e| corrupt(path, e))?;
        vector_ids.push(id);
    }
    if vector_ids != ids {
        return Err(corrupt(path, "records and vectors tables differ"));
    }
    Ok((ids, labels, rows))
}
