//! Keeping the graph up to date with the rows (extending it with the tail, or building it
//! aside for a server), and compaction, which drops deleted records for good.

use super::collection::Collection;
use redb::ReadableTable;
use std::sync::OnceLock;

use super::graph;
use super::guard::guarded;
use super::open::storage;
use super::project::{self, Projection};
use super::tables::{
    self, CLIENT_IDS, CODES, GRAPH, GRAPH_KEY, GRAPH_LABELS_KEY, METADATA, RECORDS, TOMBSTONES,
    VECTORS,
};
use super::{Quantize, VectorSet};
use crate::{Error, Result};

impl Collection {
    /// True when the tail has outgrown max(rebuild_min_tail, 10% of live records).
    pub fn needs_rebuild(&self) -> bool {
        let threshold = self.config.rebuild_min_tail.max(self.len() / 10);
        self.tail_len() > threshold
    }

    /// Brings the graph up to every stored row (extending the current graph with the tail,
    /// or building afresh after a compaction) and persists it in one transaction. A quantized
    /// collection's graph is built over the vectors its codes stand for.
    pub fn rebuild_graph(&mut self) -> Result<()> {
        self.finish_loading()?;
        let v = &self.vectors;
        let layout = graph::extend(
            self.graph.as_ref(),
            &v.ids,
            &v.float_data(),
            v.dim,
            &self.config.graph,
        );
        // The projection is fitted by the first search that needs it.
        let flat = OnceLock::new();
        self.install_graph(BuiltGraph { layout, flat })
    }

    /// A copy of every stored row, to build a graph from without holding the collection
    /// (a server keeps answering from the old graph and the exactly searched tail meanwhile).
    /// A quantized collection's codes are copied as they are (a quarter of the floats) and
    /// turned into vectors by [`GraphInput::build`], outside the caller's lock. A collection
    /// opened for queries first waits until its vectors are all read.
    pub fn graph_input(&self) -> Result<GraphInput> {
        let v = &self.vectors;
        let (data, codes) = match &self.pending {
            Some(pending) => {
                let rows = pending.wait()?;
                (rows.floats.clone(), rows.codes.clone())
            }
            None => (v.data.clone(), v.codes.clone()),
        };
        Ok(GraphInput {
            base: self.graph.clone(),
            ids: v.ids.clone(),
            rows: VectorSet {
                data,
                codes,
                quant: v.quant.clone(),
                ..VectorSet::new(v.dim)
            },
            params: self.config.graph,
        })
    }

    /// Persists a graph built from [`Self::graph_input`] and swaps it in, with its rows'
    /// projection when it comes with one. Rows are only appended between compactions, so the
    /// rows it was built over must still be the first rows; the rows added since stay in the
    /// tail. A graph built before a compaction is refused, and nothing changes.
    pub fn install_graph(&mut self, built: BuiltGraph) -> Result<()> {
        let BuiltGraph { layout, flat } = built;
        let path = self.path.clone();
        guarded(&path, || {
            self.finish_loading()?;
            let n = layout.len();
            if n > self.vectors.len() || self.vectors.ids[..n] != layout.ids[..] {
                return Err(Error::InvalidArgument {
                    what: "graph".into(),
                    message: "the collection was compacted while the graph was built".into(),
                });
            }
            let txn = self.begin_write()?;
            {
                let mut table = txn.open_table(GRAPH).map_err(storage)?;
                table
                    .insert(GRAPH_KEY, tables::graph_value(&layout).as_slice())
                    .map_err(storage)?;
                let labels = tables::graph_labels_value(&layout.ids, &self.vectors.labels[..n]);
                table
                    .insert(GRAPH_LABELS_KEY, labels.as_slice())
                    .map_err(storage)?;
            }
            txn.commit().map_err(storage)?;
            self.graph = Some(layout);
            self.flat = flat;
            Ok(())
        })
    }

    /// Stores the graph nodes' labels beside a graph written before they were kept, so that
    /// the next open for queries need not read every record (see `quick.rs`).
    pub(super) fn store_missing_graph_labels(&mut self) -> Result<()> {
        let Some(layout) = &self.graph else {
            return Ok(());
        };
        let path = self.path.clone();
        guarded(&path, || {
            {
                let txn = self.db.begin_read()?;
                let table = txn.open_table(GRAPH).map_err(storage)?;
                let stored = table.get(GRAPH_LABELS_KEY).map_err(storage)?;
                if stored.is_some_and(|blob| {
                    matches!(
                        tables::graph_labels_from(&layout.ids, blob.value()),
                        Ok(Some(_))
                    )
                }) {
                    return Ok(());
                }
            }
            let labels = &self.vectors.labels[..layout.len()];
            let value = tables::graph_labels_value(&layout.ids, labels);
            let txn = self.begin_write()?;
            txn.open_table(GRAPH)
                .map_err(storage)?
                .insert(GRAPH_LABELS_KEY, value.as_slice())
                .map_err(storage)?;
            txn.commit().map_err(storage)
        })
    }

    /// Removes deleted records for good, then rebuilds the graph over what is left.
    pub fn compact(&mut self) -> Result<()> {
        let path = self.path.clone();
        guarded(&path, || {
            self.finish_loading()?;
            let dead: Vec<u64> = (0..self.vectors.len())
                .filter(|&r| self.vectors.deleted[r])
                .map(|r| self.vectors.ids[r])
                .collect();
            let txn = self.begin_write()?;
            {
                let mut records = txn.open_table(RECORDS).map_err(storage)?;
                let mut vectors = txn.open_table(VECTORS).map_err(storage)?;
                let mut tombstones = txn.open_table(TOMBSTONES).map_err(storage)?;
                let mut metadata = txn.open_table(METADATA).map_err(storage)?;
                let mut codes = match self.config.quantize {
                    Quantize::None => None,
                    Quantize::Int8 => Some(txn.open_table(CODES).map_err(storage)?),
                };
                for &id in &dead {
                    records.remove(id).map_err(storage)?;
                    vectors.remove(id).map_err(storage)?;
                    tombstones.remove(id).map_err(storage)?;
                    metadata.remove(id).map_err(storage)?;
                    if let Some(codes) = &mut codes {
                        codes.remove(id).map_err(storage)?;
                    }
                }
                let mut graph = txn.open_table(GRAPH).map_err(storage)?;
                graph.remove(GRAPH_KEY).map_err(storage)?;
                graph.remove(GRAPH_LABELS_KEY).map_err(storage)?;
            }
            self.drop_dead_client_ids(&txn)?;
            txn.commit().map_err(storage)?;
            self.vectors = self.live_vectors();
            self.tombstones = 0;
            self.graph = None;
            self.flat = OnceLock::new();
            if !self.vectors.is_empty() {
                self.rebuild_graph()?;
            }
            Ok(())
        })
    }

    /// Removes the client id entries that name no live record. Deleting a record removes its
    /// entry already; this drops those a genovec that predates client ids left behind.
    fn drop_dead_client_ids(&self, txn: &redb::WriteTransaction) -> Result<()> {
        let mut table = txn.open_table(CLIENT_IDS).map_err(storage)?;
        let mut dead = Vec::new();
        for entry in table.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            let id = tables::client_id_from(key.value(), value.value()).map_err(|message| {
                Error::Corrupt {
                    path: self.path.clone(),
                    message,
                }
            })?;
            if !self.is_live(id) {
                dead.push(key.value().to_string());
            }
        }
        for key in dead {
            table.remove(key.as_str()).map_err(storage)?;
        }
        Ok(())
    }

    fn live_vectors(&self) -> VectorSet {
        let mut live = VectorSet::new(self.config.dim);
        live.quant = self.vectors.quant.clone();
        for (row, _, _) in self.vectors.live_rows() {
            live.push_row_of(&self.vectors, row);
        }
        live
    }
}

/// Rows copied out of a collection for a graph build ([`Collection::graph_input`]).
pub struct GraphInput {
    base: Option<graph::GraphLayout>,
    ids: Vec<u64>,
    /// The rows' floats or codes (its own ids, labels and marks are left empty).
    pub(super) rows: VectorSet,
    params: graph::GraphParams,
}

impl GraphInput {
    /// Extends the graph to every copied row and fits the rows' projection when the
    /// collection searches by one (the slow part; needs no lock).
    pub fn build(&self) -> BuiltGraph {
        let data = self.rows.float_data();
        let dim = self.rows.dim;
        let layout = graph::extend(self.base.as_ref(), &self.ids, &data, dim, &self.params);
        // A quantized collection's rows are decoded codes here: it never searches by
        // projection. Otherwise the fit's outcome, a refusal included, is kept, so the
        // first search after the install does not fit again (under the server's lock).
        let flat = if project::eligible(layout.len(), dim, self.rows.quant.is_some()) {
            let rows = &data[..layout.len() * dim];
            OnceLock::from(Projection::fit(rows, dim, self.params.ef_search))
        } else {
            OnceLock::new()
        };
        BuiltGraph { layout, flat }
    }
}

/// A graph ready to install ([`Collection::install_graph`]), with its rows' projection when
/// it was fitted beside it.
pub struct BuiltGraph {
    /// The graph.
    pub(super) layout: graph::GraphLayout,
    /// The projection of its rows, or of none (the fit declined); unset: fitted at the first
    /// search that needs it.
    pub(super) flat: OnceLock<Option<Projection>>,
}
