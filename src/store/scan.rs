//! Exact (brute-force) search: serves small collections and the graph's tail, and is the
//! ground truth for recall.

use super::metric::Metric;
use super::score::Scorer;

/// Up to `k` accepted rows of `data` (`n * dim`) nearest to `query`, ascending by ranking
/// distance, as (row, distance). Ties break by row index, so results are deterministic.
pub fn exact_top_k(
    query: &[f32],
    data: &[f32],
    dim: usize,
    metric: Metric,
    k: usize,
    accept: &dyn Fn(u32) -> bool,
) -> Vec<(u32, f32)> {
    let scorer = Scorer::Float {
        query,
        rows: data,
        dim,
        metric,
    };
    scorer.top_k(0, k, accept)
}

/// An f32 with a total order, for heaps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrdF32(pub f32);

impl Eq for OrdF32 {}
impl PartialOrd for OrdF32 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdF32 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_k_nearest_in_order() {
        // Points on a line at 0, 5, 1, 3: nearest to 0.9 are rows 2 (0.1), 0 (0.9), 3 (2.1).
        let data = [0.0f32, 5.0, 1.0, 3.0];
        let hits = exact_top_k(&[0.9], &data, 1, Metric::L2, 3, &|_| true);
        let rows: Vec<u32> = hits.iter().map(|h| h.0).collect();
        assert_eq!(rows, vec![2, 0, 3]);
        assert!((hits[0].1 - 0.01).abs() < 1e-6);
    }

    #[test]
    fn respects_filter_and_small_inputs() {
        let data = [0.0f32, 1.0, 2.0];
        let hits = exact_top_k(&[0.0], &data, 1, Metric::L2, 5, &|r| r != 0);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![1, 2]);
        assert!(exact_top_k(&[0.0], &data, 1, Metric::L2, 0, &|_| true).is_empty());
    }

    #[test]
    fn ties_break_by_row() {
        let data = [1.0f32, -1.0, 1.0];
        let hits = exact_top_k(&[0.0], &data, 1, Metric::L2, 2, &|_| true);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![0, 1]);
    }
}
