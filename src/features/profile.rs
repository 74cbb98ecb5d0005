//! The positional profile: 2-mer spectra of consecutive segments of a sequence.
//!
//! A whole-sequence k-mer spectrum forgets where a motif sits. Many labeled DNA sets are
//! aligned on a landmark (a promoter on its transcription start, a splice site on its
//! junction), so where a dinucleotide is common is informative: a TATA box lies about 30 bases
//! upstream of the start. The profile cuts the sequence into [`SEGMENTS`] segments of equal
//! share (segment `i` holds the 2-mers that *start* in bases `[i·L/S, (i+1)·L/S)`) and gives
//! each segment's square-rooted, non-canonical 2-mer spectrum (strand matters once position
//! does). Segments are relative to the length, so sequences of other lengths get a profile
//! of the same width.
//!
//! Six segments of 2-mers (96 values) were chosen by 3-fold cross-validation of a logistic
//! regression on three training splits only (GUE prom_300_tata train, EMP H3 dev,
//! prom_core_notata train) among 3, 6 and 10 segments of 2-mers, 6 of 3-mers and 10 or 20 of
//! single bases; see BENCHMARKS.md.
//!
//! ```
//! use genovec::features::{positional_profile, PROFILE_DIM};
//!
//! let p = positional_profile(b"AAAAAACCCCCCGGGGGGTTTTTT");
//! assert_eq!(p.len(), PROFILE_DIM);
//! // Segment 0 holds the 2-mers starting in bases 0..4: all AA.
//! assert_eq!(p[0], 1.0);
//! ```

use super::{kmer_dim, kmer_spectrum_into};

/// Number of segments.
pub const SEGMENTS: usize = 6;
/// The k-mer length counted in each segment.
const K: usize = 2;
/// Length of the profile: [`SEGMENTS`] spectra of 16 values.
pub const PROFILE_DIM: usize = SEGMENTS * 16;

/// The positional profile of `seq` (see the [module docs](self)).
pub fn positional_profile(seq: &[u8]) -> Vec<f32> {
    let mut out = vec![0f32; PROFILE_DIM];
    positional_profile_into(seq, &mut out);
    out
}

/// [`positional_profile`] written into `out`, which must be [`PROFILE_DIM`] long. A segment
/// with no complete 2-mer (a sequence shorter than [`SEGMENTS`] bases) is all zero.
///
/// # Panics
///
/// If `out` has the wrong length.
pub fn positional_profile_into(seq: &[u8], out: &mut [f32]) {
    assert_eq!(
        out.len(),
        PROFILE_DIM,
        "profile buffer has the wrong length"
    );
    let len = seq.len();
    let width = kmer_dim(K, false);
    for (i, slot) in out.chunks_exact_mut(width).enumerate() {
        let start = i * len / SEGMENTS;
        // The last k-mer starting before the segment's end reaches k - 1 bases past it.
        let end = ((i + 1) * len / SEGMENTS + K - 1).min(len);
        kmer_spectrum_into(&seq[start..end.max(start)], K, false, slot);
        slot.iter_mut().for_each(|v| *v = v.sqrt());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{kmer_index, kmer_spectrum};

    #[test]
    fn each_segment_is_the_rooted_spectrum_of_its_own_bases() {
        // 24 bases: segments of 4 bases, each 2-mer run reaching one base into the next.
        let seq = b"ACGTACGTAAAACCCCGGGGTTTT";
        let p = positional_profile(seq);
        for i in 0..SEGMENTS {
            let part = &seq[i * 4..(i * 4 + 5).min(seq.len())];
            let want: Vec<f32> = kmer_spectrum(part, 2, false)
                .iter()
                .map(|v| v.sqrt())
                .collect();
            assert_eq!(&p[i * 16..(i + 1) * 16], &want[..], "segment {i}");
        }
        // Segment 2 (bases 8..12, AAAA then C): AA three times, AC once.
        let aa = kmer_index(b"AA", false).unwrap();
        let ac = kmer_index(b"AC", false).unwrap();
        assert_eq!(p[32 + aa], 0.75f32.sqrt());
        assert_eq!(p[32 + ac], 0.5);
    }

    #[test]
    fn position_changes_the_profile_but_not_the_width() {
        let a = positional_profile(b"TATAAAGCGCGCGCGCGCGCGCGC");
        let b = positional_profile(b"GCGCGCGCGCGCGCGCGCTATAAA");
        assert_ne!(a, b);
        assert_eq!(positional_profile(&[b'A'; 1000]).len(), PROFILE_DIM);
    }

    #[test]
    fn short_and_masked_sequences_give_zero_segments_not_panics() {
        assert!(positional_profile(b"").iter().all(|&v| v == 0.0));
        let p = positional_profile(b"ACG");
        assert_eq!(p.len(), PROFILE_DIM);
        assert!(p.iter().all(|v| v.is_finite()));
        assert!(positional_profile(b"NNNNNNNNNNNN")
            .iter()
            .all(|&v| v == 0.0));
    }
}
