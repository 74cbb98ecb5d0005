//! Reading live records page by page (scroll), counting them and listing those a `where`
//! filter admits, in id order.

use super::collection::Collection;
use super::filter::Where;

/// One page of live record ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Ids in ascending order.
    pub ids: Vec<u64>,
    /// Whether live records that pass the filter follow the last id.
    pub more: bool,
}

impl Collection {
    /// Up to `limit` live record ids above `after` (all when `None`) that pass `filter`, in
    /// ascending order. Ids only grow, so paging with the last id as `after` visits every
    /// record that stays live exactly once, whatever is inserted or deleted meanwhile.
    pub fn scroll(&self, after: Option<u64>, limit: usize, filter: Option<&Where>) -> Page {
        let v = &self.vectors;
        let start = after.map_or(0, |a| v.ids.partition_point(|&id| id <= a));
        let mut rows = (start..v.len()).filter(|&r| self.admits(r, filter));
        let ids: Vec<u64> = rows.by_ref().take(limit).map(|r| v.ids[r]).collect();
        let more = rows.next().is_some();
        Page { ids, more }
    }

    /// Live records that pass `filter` (all live records when `None`).
    pub fn count(&self, filter: Option<&Where>) -> usize {
        match filter {
            None => self.len(),
            Some(_) => (0..self.vectors.len())
                .filter(|&r| self.admits(r, filter))
                .count(),
        }
    }

    /// The ids of every live record that passes `filter`, ascending.
    pub fn matching_ids(&self, filter: &Where) -> Vec<u64> {
        (0..self.vectors.len())
            .filter(|&r| self.admits(r, Some(filter)))
            .map(|r| self.vectors.ids[r])
            .collect()
    }

    fn admits(&self, row: usize, filter: Option<&Where>) -> bool {
        let v = &self.vectors;
        !v.deleted[row] && filter.is_none_or(|f| f.matches(v.metadata(row)))
    }
}
