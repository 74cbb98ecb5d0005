//! The in-memory copy of a collection's vectors: contiguous rows in ascending id order, as
//! floats or, in a quantized collection, as int8 codes.

use std::borrow::Cow;

use super::quant::Int8Quantizer;
use crate::seq::Metadata;

/// Every stored record's vector, label and deletion mark, row `r` holding id `ids[r]`.
///
/// Invariant: `ids` is strictly ascending; without a quantizer `data.len() == ids.len() * dim`
/// and `codes` is empty, with one `codes.len() == ids.len() * dim` and `data` is empty. The graph's
/// nodes are the first `graph.len()` rows, so graph node `i` and row `i` are the same record.
#[derive(Debug, Clone, Default)]
pub struct VectorSet {
    /// Vector dimension.
    pub dim: usize,
    /// Record id of each row, ascending.
    pub ids: Vec<u64>,
    /// Label index of each row.
    pub labels: Vec<u32>,
    /// True for rows deleted since the last compaction.
    pub deleted: Vec<bool>,
    /// Row-major vectors (empty when quantized).
    pub data: Vec<f32>,
    /// Row-major int8 codes (only when quantized).
    pub codes: Vec<i8>,
    /// The quantizer of a quantized collection, once its first batch fitted it.
    pub quant: Option<Int8Quantizer>,
    /// Each row's metadata: empty while no row has any (the common case costs nothing),
    /// else one entry per row.
    pub meta: Vec<Option<Box<Metadata>>>,
}

impl VectorSet {
    /// An empty set of the given dimension.
    pub fn new(dim: usize) -> Self {
        VectorSet {
            dim,
            ..Default::default()
        }
    }

    /// Number of rows, deleted ones included.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Number of rows not deleted.
    pub fn live(&self) -> usize {
        self.deleted.iter().filter(|d| !**d).count()
    }

    /// Appends a row; `id` must exceed every id already present.
    pub fn push(&mut self, id: u64, label: u32, vector: &[f32]) {
        debug_assert!(self.ids.last().is_none_or(|&last| last < id), "ids ascend");
        debug_assert_eq!(vector.len(), self.dim);
        self.ids.push(id);
        self.labels.push(label);
        self.deleted.push(false);
        if !self.meta.is_empty() {
            self.meta.push(None);
        }
        match &self.quant {
            Some(quant) => quant.encode_into(vector, &mut self.codes),
            None => self.data.extend_from_slice(vector),
        }
    }

    /// Appends row `r` of `other` (same dimension and quantizer), keeping its codes as they are.
    pub fn push_row_of(&mut self, other: &VectorSet, r: usize) {
        let range = r * self.dim..(r + 1) * self.dim;
        self.ids.push(other.ids[r]);
        self.labels.push(other.labels[r]);
        self.deleted.push(false);
        if let Some(meta) = other.metadata(r) {
            self.set_metadata(self.len() - 1, meta.clone());
        } else if !self.meta.is_empty() {
            self.meta.push(None);
        }
        match &self.quant {
            Some(_) => self.codes.extend_from_slice(&other.codes[range]),
            None => self.data.extend_from_slice(&other.data[range]),
        }
    }

    /// The float vectors of every row: the stored ones, or those the codes stand for.
    pub fn float_data(&self) -> Cow<'_, [f32]> {
        match &self.quant {
            None => Cow::Borrowed(&self.data),
            Some(quant) => {
                let mut out = Vec::with_capacity(self.codes.len());
                for row in self.codes.chunks_exact(self.dim.max(1)) {
                    quant.decode_into(row, &mut out);
                }
                Cow::Owned(out)
            }
        }
    }

    /// Bytes the vectors (floats or codes) take in memory.
    pub fn vector_bytes(&self) -> usize {
        // From the row count: a collection opened for queries reads its vectors later.
        let width = if self.quant.is_some() { 1 } else { 4 };
        self.len() * self.dim * width
    }

    /// The float vector of row `r`; only for a set without a quantizer.
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.dim..(r + 1) * self.dim]
    }

    /// Row `r`'s metadata, if it has any.
    pub fn metadata(&self, r: usize) -> Option<&Metadata> {
        self.meta.get(r).and_then(|m| m.as_deref())
    }

    /// Sets the metadata of an existing row `r`.
    pub fn set_metadata(&mut self, r: usize, meta: Metadata) {
        if self.meta.len() < self.len() {
            self.meta.resize(self.len(), None);
        }
        self.meta[r] = Some(Box::new(meta));
    }

    /// The row holding `id`, if any.
    pub fn row_of(&self, id: u64) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    /// Live rows: (row, id, label).
    pub fn live_rows(&self) -> impl Iterator<Item = (usize, u64, u32)> + '_ {
        (0..self.len())
            .filter(|&r| !self.deleted[r])
            .map(|r| (r, self.ids[r], self.labels[r]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_row_lookup_and_live_count() {
        let mut set = VectorSet::new(2);
        set.push(3, 0, &[1.0, 2.0]);
        set.push(9, 1, &[3.0, 4.0]);
        assert_eq!(set.row(1), &[3.0, 4.0]);
        assert_eq!(set.row_of(9), Some(1));
        assert_eq!(set.row_of(4), None);
        set.deleted[0] = true;
        assert_eq!(set.live(), 1);
        assert_eq!(set.live_rows().collect::<Vec<_>>(), vec![(1, 9, 1)]);
    }
}
