//! One query scored against a collection's in-memory rows, float or int8: what the graph
//! search and the exact scan of the tail call for every distance.

use std::collections::BinaryHeap;

use super::metric::Metric;
use super::pending::Pending;
use super::quant::QueryCode;
use super::scan::OrdF32;

/// A prepared query and the rows it is scored against.
pub enum Scorer<'a> {
    /// Exact distances over float rows.
    Float {
        /// The query in stored form.
        query: &'a [f32],
        /// Row-major float rows.
        rows: &'a [f32],
        /// Vector dimension.
        dim: usize,
        /// Distance used for ranking.
        metric: Metric,
    },
    /// Approximate cosine distances over int8 codes (see `quant.rs`).
    Int8 {
        /// The query prepared for codes.
        query: &'a QueryCode,
        /// Row-major int8 codes.
        rows: &'a [i8],
        /// Vector dimension.
        dim: usize,
    },
    /// The rows of a collection opened for queries whose vectors are still being read
    /// (`pending.rs`): the same distances as `Float` or `Int8`, on rows read on demand.
    Pending {
        /// The query in stored form.
        query: &'a [f32],
        /// The query prepared for codes, when the collection is quantized.
        code: Option<&'a QueryCode>,
        /// Distance used for ranking float rows.
        metric: Metric,
        /// The rows.
        rows: &'a Pending,
        /// Number of rows.
        len: usize,
    },
}

impl Scorer<'_> {
    fn dim(&self) -> usize {
        match self {
            Scorer::Float { dim, .. } | Scorer::Int8 { dim, .. } => *dim,
            Scorer::Pending { query, .. } => query.len(),
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        let dim = self.dim().max(1);
        match self {
            Scorer::Float { rows, .. } => rows.len() / dim,
            Scorer::Int8 { rows, .. } => rows.len() / dim,
            Scorer::Pending { len, .. } => *len,
        }
    }

    /// The ranking distance from the query to `row` (1 - dot for cosine, squared L2).
    #[inline]
    pub fn distance(&self, row: u32) -> f32 {
        let (start, dim) = (row as usize * self.dim(), self.dim());
        match self {
            Scorer::Float {
                query,
                rows,
                metric,
                ..
            } => metric.distance(query, &rows[start..start + dim]),
            // Clamped like the float cosine distance.
            Scorer::Int8 { query, rows, .. } => {
                (1.0 - query.dot(&rows[start..start + dim])).max(0.0)
            }
            // A row that cannot be read ranks last; the search then reports the damage.
            Scorer::Pending {
                query,
                code,
                metric,
                rows,
                ..
            } => rows
                .with_row(row, |floats, codes| match code {
                    Some(code) => (1.0 - code.dot(codes)).max(0.0),
                    None => metric.distance(query, floats),
                })
                .unwrap_or(f32::INFINITY),
        }
    }

    /// Hints that `row` is about to be scored.
    #[inline]
    pub fn prefetch(&self, row: u32) {
        let start = row as usize * self.dim();
        match self {
            Scorer::Float { rows, .. } => crate::vecmath::prefetch(&rows[start..]),
            Scorer::Int8 { rows, dim, .. } => {
                crate::vecmath::prefetch_all(&rows[start..start + dim])
            }
            Scorer::Pending { .. } => {}
        }
    }

    /// Hints that the whole of `row` is about to be scored: for a few rows scored one after
    /// another, whose every line would otherwise miss in turn.
    #[inline]
    pub fn prefetch_row(&self, row: u32) {
        let (start, dim) = (row as usize * self.dim(), self.dim());
        match self {
            Scorer::Float { rows, .. } => {
                crate::vecmath::prefetch_all(&rows[start..(start + dim).min(rows.len())])
            }
            Scorer::Int8 { .. } | Scorer::Pending { .. } => self.prefetch(row),
        }
    }

    /// Up to `k` accepted rows of `start..` nearest to the query, ascending by distance, as
    /// (row, distance); ties break by row, so results are deterministic.
    pub fn top_k(&self, start: usize, k: usize, accept: &dyn Fn(u32) -> bool) -> Vec<(u32, f32)> {
        if k == 0 || self.dim() == 0 {
            return Vec::new();
        }
        let mut heap: BinaryHeap<(OrdF32, u32)> = BinaryHeap::with_capacity(k + 1);
        for row in start as u32..self.rows() as u32 {
            if !accept(row) {
                continue;
            }
            let d = OrdF32(self.distance(row));
            if heap.len() < k {
                heap.push((d, row));
            } else if (d, row) < *heap.peek().expect("heap holds k items") {
                heap.pop();
                heap.push((d, row));
            }
        }
        heap.into_sorted_vec()
            .into_iter()
            .map(|(d, r)| (r, d.0))
            .collect()
    }
}
