//! Overlapping windows for sequences longer than a model's input.
//!
//! A sequence of `len` bases that fits in `max` bases is one window. A longer one is cut into
//! windows of exactly `max` bases that start every `max / 2` bases (half overlap); the last
//! window is aligned to the end of the sequence, so every base is covered and no window is
//! short. The embedding of the sequence is the plain mean of its windows' pooled embeddings.

use std::ops::Range;

/// The windows of a sequence of `len` bases, each at most `max` bases long.
pub fn windows(len: usize, max: usize) -> Vec<Range<usize>> {
    let max = max.max(1);
    if len <= max {
        return std::iter::once(0..len).collect();
    }
    let stride = (max / 2).max(1);
    let mut out: Vec<Range<usize>> = (0..len - max).step_by(stride).map(|s| s..s + max).collect();
    out.push(len - max..len);
    out
}

#[cfg(test)]
mod tests {
    use super::windows;

    #[test]
    fn short_sequences_are_one_window() {
        assert_eq!(windows(10, 10), vec![0..10]);
        assert_eq!(windows(3, 10), vec![0..3]);
    }

    #[test]
    fn long_sequences_overlap_by_half_and_end_flush() {
        assert_eq!(windows(25, 10), vec![0..10, 5..15, 10..20, 15..25]);
        assert_eq!(windows(21, 10), vec![0..10, 5..15, 10..20, 11..21]);
        for len in 11..200 {
            let w = windows(len, 10);
            assert!(w.iter().all(|r| r.len() == 10), "len {len}");
            assert_eq!((w[0].start, w.last().unwrap().end), (0, len));
            assert!(
                w.windows(2).all(|p| p[1].start <= p[0].end),
                "no gap, len {len}"
            );
        }
    }
}
