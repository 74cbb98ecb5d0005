//! Base composition: GC content, AT/GC ratio, GC and AT skew, and the hand-crafted feature
//! vector.
//!
//! Every ratio whose denominator is 0 is 0 (for example the GC skew of `AAAA`). `N` is in no
//! count (see the [module docs](super)). Each function has a `*_from_counts` twin taking
//! [`BaseCounts`], so a caller computing several features counts the bases once.

use super::zcurve::{
    phase_counts, sum_phases, zcurve_normalized_from_counts, zcurve_phase_from_counts,
};
use super::{base_counts, ratio_or_zero, BaseCounts};

/// Length of the hand-crafted feature vector.
pub const HANDCRAFTED_DIM: usize = 16;

/// Names of the hand-crafted features, in the order of [`handcrafted`].
pub const HANDCRAFTED_NAMES: [&str; HANDCRAFTED_DIM] = [
    "gc_content",
    "at_gc_ratio",
    "gc_skew",
    "at_skew",
    "zcurve_x",
    "zcurve_y",
    "zcurve_z",
    "zcurve_x_phase0",
    "zcurve_y_phase0",
    "zcurve_z_phase0",
    "zcurve_x_phase1",
    "zcurve_y_phase1",
    "zcurve_z_phase1",
    "zcurve_x_phase2",
    "zcurve_y_phase2",
    "zcurve_z_phase2",
];

/// (G + C) / (A + C + G + T) of `counts`; 0 if there are no A/C/G/T bases.
pub fn gc_content_from_counts(counts: &BaseCounts) -> f64 {
    let gc = f64::from(counts.g) + f64::from(counts.c);
    ratio_or_zero(gc, gc + f64::from(counts.a) + f64::from(counts.t))
}

/// (A + T) / (G + C) of `counts`; 0 if G + C = 0.
pub fn at_gc_ratio_from_counts(counts: &BaseCounts) -> f64 {
    ratio_or_zero(
        f64::from(counts.a) + f64::from(counts.t),
        f64::from(counts.g) + f64::from(counts.c),
    )
}

/// (G − C) / (G + C) of `counts`; 0 if G + C = 0.
pub fn gc_skew_from_counts(counts: &BaseCounts) -> f64 {
    let (g, c) = (f64::from(counts.g), f64::from(counts.c));
    ratio_or_zero(g - c, g + c)
}

/// (A − T) / (A + T) of `counts`; 0 if A + T = 0.
pub fn at_skew_from_counts(counts: &BaseCounts) -> f64 {
    let (a, t) = (f64::from(counts.a), f64::from(counts.t));
    ratio_or_zero(a - t, a + t)
}

/// GC content of `seq`: (G + C) / (A + C + G + T), 0 if there are no A/C/G/T bases.
pub fn gc_content(seq: &[u8]) -> f64 {
    gc_content_from_counts(&base_counts(seq))
}

/// AT/GC ratio of `seq`: (A + T) / (G + C), 0 if G + C = 0.
pub fn at_gc_ratio(seq: &[u8]) -> f64 {
    at_gc_ratio_from_counts(&base_counts(seq))
}

/// GC skew of `seq`: (G − C) / (G + C), 0 if G + C = 0.
pub fn gc_skew(seq: &[u8]) -> f64 {
    gc_skew_from_counts(&base_counts(seq))
}

/// AT skew of `seq`: (A − T) / (A + T), 0 if A + T = 0.
pub fn at_skew(seq: &[u8]) -> f64 {
    at_skew_from_counts(&base_counts(seq))
}

/// The hand-crafted, length-normalised feature vector of `seq`, named by
/// [`HANDCRAFTED_NAMES`]: GC content, AT/GC ratio, GC skew, AT skew, the normalised Z-curve
/// (x, y, z), then the 9 per-phase Z-curve values of
/// [`zcurve_phase`](super::zcurve_phase). One pass over the sequence.
///
/// All values but the AT/GC ratio lie in [−1, 1]; the ratio is unbounded above.
pub fn handcrafted(seq: &[u8]) -> [f64; HANDCRAFTED_DIM] {
    let phases = phase_counts(seq);
    let total = sum_phases(&phases);
    let mut out = [0.0; HANDCRAFTED_DIM];
    out[0] = gc_content_from_counts(&total);
    out[1] = at_gc_ratio_from_counts(&total);
    out[2] = gc_skew_from_counts(&total);
    out[3] = at_skew_from_counts(&total);
    out[4..7].copy_from_slice(&zcurve_normalized_from_counts(&total));
    out[7..].copy_from_slice(&zcurve_phase_from_counts(&phases));
    out
}

/// [`handcrafted`] written into `out` as `f32`.
///
/// # Panics
///
/// If `out.len() != HANDCRAFTED_DIM` (16).
pub fn handcrafted_into(seq: &[u8], out: &mut [f32]) {
    assert_eq!(
        out.len(),
        HANDCRAFTED_DIM,
        "hand-crafted buffer has the wrong length"
    );
    for (o, v) in out.iter_mut().zip(handcrafted(seq)) {
        *o = v as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{zcurve_normalized, zcurve_phase};
    use proptest::prelude::*;

    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() < 1e-12, "slot {i}: got {g}, want {w}");
        }
    }

    #[test]
    fn module_doc_example() {
        // ACGNT: A1 C1 G1 T1, N ignored -> GC = 2/4
        assert_eq!(gc_content(b"ACGNT"), 0.5);
        assert_eq!(at_gc_ratio(b"ACGNT"), 1.0); // 2/2
        assert_eq!(gc_skew(b"ACGNT"), 0.0); // (1-1)/2
        assert_eq!(at_skew(b"ACGNT"), 0.0); // (1-1)/2
    }

    #[test]
    fn simple_values() {
        // GGGC: G3 C1 -> GC 4/4, gc skew (3-1)/4 = 0.5
        assert_eq!(gc_content(b"GGGC"), 1.0);
        assert_eq!(gc_skew(b"GGGC"), 0.5);
        // AAAT GC: A3 T1 G1 C1 -> GC 2/6, AT/GC 4/2 = 2, at skew (3-1)/4 = 0.5
        assert!((gc_content(b"AAATGC") - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(at_gc_ratio(b"AAATGC"), 2.0);
        assert_eq!(at_skew(b"AAATGC"), 0.5);
        // CCCG: gc skew (1-3)/4 = -0.5
        assert_eq!(gc_skew(b"CCCG"), -0.5);
    }

    #[test]
    fn zero_denominators() {
        for seq in [&b""[..], b"N", b"NNN"] {
            assert_eq!(gc_content(seq), 0.0);
            assert_eq!(at_gc_ratio(seq), 0.0);
            assert_eq!(gc_skew(seq), 0.0);
            assert_eq!(at_skew(seq), 0.0);
            assert_eq!(handcrafted(seq), [0.0; HANDCRAFTED_DIM]);
        }
        // AAAA: G+C = 0 -> gc skew 0, AT/GC 0; gc content 0/4 = 0; at skew (4-0)/4 = 1
        assert_eq!(gc_skew(b"AAAA"), 0.0);
        assert_eq!(at_gc_ratio(b"AAAA"), 0.0);
        assert_eq!(gc_content(b"AAAA"), 0.0);
        assert_eq!(at_skew(b"AAAA"), 1.0);
        // GGCC: A+T = 0 -> at skew 0; AT/GC 0/4 = 0; gc skew (2-2)/4 = 0
        assert_eq!(at_skew(b"GGCC"), 0.0);
        assert_eq!(at_gc_ratio(b"GGCC"), 0.0);
        assert_eq!(gc_content(b"GGCC"), 1.0);
    }

    #[test]
    fn from_counts_match() {
        let c = base_counts(b"AACGTTNG");
        assert_eq!(gc_content_from_counts(&c), gc_content(b"AACGTTNG"));
        assert_eq!(at_gc_ratio_from_counts(&c), at_gc_ratio(b"AACGTTNG"));
        assert_eq!(gc_skew_from_counts(&c), gc_skew(b"AACGTTNG"));
        assert_eq!(at_skew_from_counts(&c), at_skew(b"AACGTTNG"));
    }

    #[test]
    fn handcrafted_by_hand() {
        // AACGTTNG: A2 C1 G2 T2 (7 bases)
        //   gc = 3/7, at/gc = 4/3, gc skew = (2-1)/3, at skew = (2-2)/4 = 0
        //   x = (2+2)-(1+2) = 1, y = (2+1)-(2+2) = -1, z = (2+2)-(2+1) = 1  -> /7
        // phases (positions 0..8):
        //   p0: 0 A, 3 G, 6 N -> A1 G1: x = 2/2 = 1, y = (1)-(1) = 0, z = (1)-(1) = 0
        //   p1: 1 A, 4 T, 7 G -> A1 T1 G1: x = (1+1)-(1) = 1, y = (1)-(1+1) = -1,
        //       z = (1+1)-(1) = 1, all /3
        //   p2: 2 C, 5 T -> C1 T1: x = 0-2 = -2, y = 1-1 = 0, z = 1-1 = 0, all /2
        let want = [
            3.0 / 7.0,
            4.0 / 3.0,
            1.0 / 3.0,
            0.0,
            1.0 / 7.0,
            -1.0 / 7.0,
            1.0 / 7.0,
            1.0,
            0.0,
            0.0,
            1.0 / 3.0,
            -1.0 / 3.0,
            1.0 / 3.0,
            -1.0,
            0.0,
            0.0,
        ];
        assert_close(&handcrafted(b"AACGTTNG"), &want);
        let mut out = [9.0f32; HANDCRAFTED_DIM];
        handcrafted_into(b"AACGTTNG", &mut out);
        for (o, w) in out.iter().zip(want) {
            assert!((f64::from(*o) - w).abs() < 1e-6);
        }
    }

    #[test]
    fn names_are_distinct() {
        let mut names = HANDCRAFTED_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), HANDCRAFTED_DIM);
        assert_eq!(HANDCRAFTED_NAMES[0], "gc_content");
        assert_eq!(HANDCRAFTED_NAMES[6], "zcurve_z");
        assert_eq!(HANDCRAFTED_NAMES[15], "zcurve_z_phase2");
    }

    #[test]
    #[should_panic]
    fn handcrafted_into_wrong_length_panics() {
        let mut out = [0.0f32; 15];
        handcrafted_into(b"ACGT", &mut out);
    }

    fn dna() -> impl Strategy<Value = Vec<u8>> {
        let base = prop_oneof![
            9 => prop::sample::select(b"ACGT".to_vec()),
            1 => Just(b'N'),
        ];
        prop::collection::vec(base, 0..200)
    }

    proptest! {
        #[test]
        fn handcrafted_matches_parts(seq in dna()) {
            let h = handcrafted(&seq);
            prop_assert_eq!(h[0], gc_content(&seq));
            prop_assert_eq!(h[1], at_gc_ratio(&seq));
            prop_assert_eq!(h[2], gc_skew(&seq));
            prop_assert_eq!(h[3], at_skew(&seq));
            prop_assert_eq!(&h[4..7], &zcurve_normalized(&seq)[..]);
            prop_assert_eq!(&h[7..], &zcurve_phase(&seq)[..]);
        }

        #[test]
        fn bounded(seq in dna()) {
            let h = handcrafted(&seq);
            prop_assert!((0.0..=1.0).contains(&h[0]));
            prop_assert!(h[1] >= 0.0);
            for (i, v) in h.iter().enumerate().skip(2) {
                prop_assert!((-1.0..=1.0).contains(v), "{} = {}", HANDCRAFTED_NAMES[i], v);
            }
        }
    }
}
