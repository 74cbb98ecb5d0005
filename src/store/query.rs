//! Searches over an open collection: the graph plus the exactly scanned tail, and for a
//! quantized collection an exact re-rank of the best candidates with the float vectors read
//! from the file.

use super::collection::{Collection, Hit};
use super::filter::RowMask;
use super::graph::GraphSearch;
use super::guard::guarded;
use super::open::storage;
use super::pending::Pending;
use super::quant::QueryCode;
use super::score::Scorer;
use super::tables::{self, VECTORS};
use crate::{Error, Result};

/// Sorts (row, distance) pairs ascending by distance, ties by row, so results are
/// deterministic.
fn sort_by_distance(found: &mut [(u32, f32)]) {
    found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
}

/// What a search may return beyond live rows: rows of some labels, rows a `where` filter
/// admits (see [`RowMask`]), or both.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    /// Label indices; `None` admits every label.
    pub labels: Option<&'a [u32]>,
    /// Rows admitted by a metadata filter ([`Collection::row_mask`]).
    pub rows: Option<&'a RowMask>,
}

/// Whether scanning `admitted` rows exactly costs less than a graph walk with beam `ef` over
/// `n` rows that only accepts them. The walk scores about `ef / s` nodes for a filter of
/// selectivity `s = admitted / n`, each with up to M0 = 32 links, so it scores about
/// `32 * ef * n / admitted` rows against the scan's `admitted`: scan when
/// `admitted^2 <= 32 * ef * n` (at a million rows and ef 64, up to about 45,000 admitted).
pub fn scan_is_cheaper(admitted: usize, ef: usize, n: usize) -> bool {
    (admitted as u128).pow(2) <= 32 * ef as u128 * n as u128
}

/// The most candidates a quantized search re-ranks exactly for `k` results.
pub fn rerank_count(k: usize) -> usize {
    (3 * k).max(k + 10)
}

impl Collection {
    /// Checks a query vector's dimension and brings it into stored form (normalised for
    /// cosine).
    pub fn prepare_query(&self, vector: &[f32]) -> Result<Vec<f32>> {
        if vector.len() != self.config.dim {
            return Err(Error::WrongDimension {
                expected: self.config.dim,
                got: vector.len(),
            });
        }
        let mut v = vector.to_vec();
        self.config.metric.prepare(&mut v);
        Ok(v)
    }

    /// The `k` live records nearest to `query`, optionally only those with one of `labels`
    /// (see [`Self::search_filtered`]).
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: Option<usize>,
        labels: Option<&[u32]>,
    ) -> Result<Vec<Hit>> {
        let filter = Filter { labels, rows: None };
        self.search_filtered(query, k, ef, filter)
    }

    /// The `k` live records nearest to `query` that pass `filter`. Searches the graph (beam
    /// width `ef`, default from the config) and the tail exactly, and merges the two. A
    /// quantized collection ranks by int8 codes, then re-ranks the best candidates (at most
    /// [`rerank_count`]) with the exact float vectors; distances are always exact.
    ///
    /// A row filter is applied inside the graph search: rejected nodes are walked through,
    /// not returned, so the beam goes on until it holds `ef` admitted rows. When the filter
    /// admits so few rows that scanning them costs less than that walk
    /// ([`scan_is_cheaper`]), or the walk returns fewer than `k` of the admitted rows, the
    /// admitted rows are scanned exactly instead, so `k` results come back whenever `k` rows
    /// pass.
    pub fn search_filtered(
        &self,
        query: &[f32],
        k: usize,
        ef: Option<usize>,
        filter: Filter,
    ) -> Result<Vec<Hit>> {
        let query = self.prepare_query(query)?;
        let ef = ef.unwrap_or(self.config.graph.ef_search);
        if let Some(mask) = filter.rows {
            if scan_is_cheaper(mask.count(), ef.max(k), self.vectors.len()) {
                return self.exact(&query, k, filter);
            }
        }
        let hits = self.graph_search(&query, k, ef, filter)?;
        match filter.rows {
            Some(mask) if hits.len() < k.min(mask.count()) => self.exact(&query, k, filter),
            _ => Ok(hits),
        }
    }

    /// The rows a search scores: in memory, or read on demand while a collection opened for
    /// queries is still reading them.
    pub(super) fn view(&self) -> Result<View<'_>> {
        let Some(pending) = &self.pending else {
            return Ok(View::Memory(&self.vectors.data, &self.vectors.codes));
        };
        self.read_failed()?;
        match pending.ready() {
            Some(rows) => rows.map(|rows| View::Memory(&rows.floats, &rows.codes)),
            None => Ok(View::Pending(pending)),
        }
    }

    /// The damage a read on demand met, if any.
    fn read_failed(&self) -> Result<()> {
        match self.pending.as_ref().and_then(|p| p.error()) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// The scorer of a prepared query (and its codes, in a quantized collection) over `view`.
    pub(super) fn scorer<'a>(
        &'a self,
        view: View<'a>,
        query: &'a [f32],
        code: Option<&'a QueryCode>,
    ) -> Scorer<'a> {
        let (dim, metric) = (self.config.dim, self.config.metric);
        match (view, code) {
            (View::Memory(rows, _), None) => Scorer::Float {
                query,
                rows,
                dim,
                metric,
            },
            (View::Memory(_, rows), Some(query)) => Scorer::Int8 { query, rows, dim },
            (View::Pending(rows), code) => Scorer::Pending {
                query,
                code,
                metric,
                rows,
                len: self.vectors.len(),
            },
        }
    }

    /// The graph and tail search behind [`Self::search_filtered`], on a prepared query.
    fn graph_search(&self, query: &[f32], k: usize, ef: usize, filter: Filter) -> Result<Vec<Hit>> {
        let accept = |row: u32| self.accepts(row as usize, filter);
        if let Some(projection) = self.projection()? {
            let filtered = filter.labels.is_some() || filter.rows.is_some();
            return self.projected_search(projection, query, k, ef, &accept, filtered);
        }
        let view = self.view()?;
        let Some(quant) = &self.vectors.quant else {
            let scorer = self.scorer(view, query, None);
            let found = self.candidates(&scorer, k, ef, &accept);
            self.read_failed()?;
            return Ok(self.to_hits(found, k));
        };
        let code = quant.query(query);
        let scorer = self.scorer(view, query, Some(&code));
        // The same beam as a float search; its best candidates are re-ranked exactly.
        let width = ef.max(k);
        let mut found = self.candidates(&scorer, width, width, &accept);
        self.read_failed()?;
        sort_by_distance(&mut found);
        found.truncate(rerank_count(k));
        let exact = self.rerank_adaptive(query, &found, k, 4.0 * code.sigma)?;
        Ok(self.to_hits(exact, k))
    }

    /// Exact distances of the best `k` candidates (ascending by approximate distance), then
    /// of the further candidates that could still beat the k-th: those whose approximate
    /// distance is within a margin of the k-th exact distance, the margin being twice the
    /// largest approximation error seen in the first `k`, and at least `min_margin` (a few
    /// standard deviations of the rounding error, so one lucky small error does not stop
    /// it). Easy queries re-rank little more than k; hard ones up to all.
    fn rerank_adaptive(
        &self,
        query: &[f32],
        found: &[(u32, f32)],
        k: usize,
        min_margin: f32,
    ) -> Result<Vec<(u32, f32)>> {
        let first = k.min(found.len());
        let mut exact = self.rerank(query, &found[..first])?;
        let error = found
            .iter()
            .zip(&exact)
            .map(|(a, e)| (a.1 - e.1).abs())
            .fold(0f32, f32::max);
        let kth = exact.iter().map(|e| e.1).fold(0f32, f32::max);
        let bound = kth + (2.0 * error).max(min_margin);
        let rest: Vec<(u32, f32)> = found[first..]
            .iter()
            .take_while(|a| a.1 <= bound)
            .copied()
            .collect();
        exact.extend(self.rerank(query, &rest)?);
        Ok(exact)
    }

    /// The graph's and the tail's best `k` accepted rows, unsorted.
    fn candidates(
        &self,
        scorer: &Scorer,
        k: usize,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        let mut found = match &self.graph {
            Some(layout) => GraphSearch { layout, scorer }.search(k, ef, accept),
            None => Vec::new(),
        };
        found.extend(scorer.top_k(self.graph_nodes(), k, accept));
        found
    }

    /// Exact distances of `rows` to `query`, from the float vectors in the file.
    fn rerank(&self, query: &[f32], rows: &[(u32, f32)]) -> Result<Vec<(u32, f32)>> {
        let row_numbers: Vec<usize> = rows.iter().map(|&(r, _)| r as usize).collect();
        let vectors = self.row_vectors(&row_numbers)?;
        let metric = self.config.metric;
        Ok(rows
            .iter()
            .zip(vectors.chunks_exact(self.config.dim.max(1)))
            .map(|(&(row, _), v)| (row, metric.distance(query, v)))
            .collect())
    }

    /// The exact float vectors of the given rows (see [`Collection::vectors`]), concatenated in
    /// the order given: from memory, or, when the collection is quantized, from the file, each
    /// checksum verified. Every row must be below `vectors().len()`.
    pub fn row_vectors(&self, rows: &[usize]) -> Result<Vec<f32>> {
        let dim = self.config.dim;
        let mut out = Vec::with_capacity(rows.len() * dim);
        if rows.is_empty() {
            return Ok(out);
        }
        if self.vectors.quant.is_none() {
            return match self.view()? {
                View::Memory(floats, _) => {
                    rows.iter()
                        .for_each(|&r| out.extend_from_slice(&floats[r * dim..(r + 1) * dim]));
                    Ok(out)
                }
                View::Pending(pending) => {
                    for &r in rows {
                        let row =
                            pending.with_row(r as u32, |floats, _| out.extend_from_slice(floats));
                        if row.is_none() {
                            self.read_failed()?;
                        }
                    }
                    Ok(out)
                }
            };
        }
        guarded(&self.path, || {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(VECTORS).map_err(storage)?;
            for id in rows.iter().map(|&r| self.vectors.ids[r]) {
                // Another process may have compacted the file since this one loaded it.
                let value = table.get(id).map_err(storage)?.ok_or_else(|| changed(id))?;
                tables::vector_into(id, value.value(), dim, &mut out).map_err(|message| {
                    Error::Corrupt {
                        path: Default::default(),
                        message,
                    }
                })?;
            }
            Ok(out)
        })
    }

    /// Exact search over every live record: the ground truth for recall. A quantized
    /// collection reads every float vector from the file for it.
    pub fn search_exact(
        &self,
        query: &[f32],
        k: usize,
        labels: Option<&[u32]>,
    ) -> Result<Vec<Hit>> {
        let query = self.prepare_query(query)?;
        self.exact(&query, k, Filter { labels, rows: None })
    }

    /// Exact search of a prepared query over the rows `filter` admits.
    pub(super) fn exact(&self, query: &[f32], k: usize, filter: Filter) -> Result<Vec<Hit>> {
        let accept = |row: u32| self.accepts(row as usize, filter);
        if self.vectors.quant.is_none() {
            let scorer = self.scorer(self.view()?, query, None);
            let found = scorer.top_k(0, k, &accept);
            self.read_failed()?;
            return Ok(self.to_hits(found, k));
        }
        let (n, mut all) = (self.vectors.len() as u32, Vec::new());
        for start in (0..n).step_by(4096) {
            let rows: Vec<(u32, f32)> = (start..n.min(start + 4096))
                .filter(|&r| accept(r))
                .map(|r| (r, 0.0))
                .collect();
            let mut exact = self.rerank(query, &rows)?;
            sort_by_distance(&mut exact);
            exact.truncate(k);
            all.extend(exact);
        }
        Ok(self.to_hits(all, k))
    }

    fn accepts(&self, row: usize, filter: Filter) -> bool {
        !self.vectors.deleted[row]
            && (filter.labels).is_none_or(|l| l.contains(&self.vectors.labels[row]))
            && (filter.rows).is_none_or(|mask| mask.allows(row))
    }

    pub(super) fn to_hits(&self, mut found: Vec<(u32, f32)>, k: usize) -> Vec<Hit> {
        sort_by_distance(&mut found);
        found.truncate(k);
        let metric = self.config.metric;
        found
            .into_iter()
            .map(|(row, d)| Hit {
                id: self.vectors.ids[row as usize],
                label: self.vectors.labels[row as usize],
                distance: metric.report(d),
            })
            .collect()
    }
}

/// The rows a search scores: floats and codes in memory (one of them empty), or a collection's
/// on-demand rows.
#[derive(Clone, Copy)]
pub(super) enum View<'a> {
    Memory(&'a [f32], &'a [i8]),
    Pending(&'a Pending),
}

/// A record this process holds in memory is gone from the file.
fn changed(id: u64) -> Error {
    Error::InvalidArgument {
        what: "collection".into(),
        message: format!(
            "record {id} is no longer in the file (another process compacted it); open the \
             collection again"
        ),
    }
}
