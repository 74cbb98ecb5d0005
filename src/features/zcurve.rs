//! Base counts and the Z-curve.
//!
//! The Z-curve maps base counts to three numbers:
//!
//! * x = (A + G) − (C + T): purine versus pyrimidine,
//! * y = (A + C) − (G + T): amino versus keto,
//! * z = (A + T) − (G + C): weak versus strong hydrogen bonding.
//!
//! `N` is counted in no base (see the [module docs](super)), so it moves no coordinate and
//! is not in the denominator of the normalised forms.

use super::{ratio_or_zero, BASE_CODE};

/// Number of each base in a sequence. `n` counts every byte that is not `A`, `C`, `G`, `T`.
///
/// Counts are `u32`: a single sequence must be shorter than 2^32 bases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct BaseCounts {
    /// Number of `A`.
    pub a: u32,
    /// Number of `C`.
    pub c: u32,
    /// Number of `G`.
    pub g: u32,
    /// Number of `T`.
    pub t: u32,
    /// Number of `N` (not part of any feature).
    pub n: u32,
}

impl BaseCounts {
    /// Number of A/C/G/T bases, the denominator of every normalised feature (`N` excluded).
    pub fn acgt(&self) -> u32 {
        self.a + self.c + self.g + self.t
    }

    /// Counts from a `[A, C, G, T, N]` array.
    fn from_array([a, c, g, t, n]: [u32; 5]) -> Self {
        Self { a, c, g, t, n }
    }

    /// Sum of two counts.
    fn plus(&self, other: &Self) -> Self {
        Self {
            a: self.a + other.a,
            c: self.c + other.c,
            g: self.g + other.g,
            t: self.t + other.t,
            n: self.n + other.n,
        }
    }
}

/// Counts the bases of `seq`.
///
/// `base_counts(b"ACGNT")` is A 1, C 1, G 1, T 1, N 1, with `acgt() == 4`.
pub fn base_counts(seq: &[u8]) -> BaseCounts {
    let mut counts = [0u32; 5];
    for &b in seq {
        counts[BASE_CODE[b as usize] as usize] += 1;
    }
    BaseCounts::from_array(counts)
}

/// Base counts per codon phase: element `p` counts the bases at 0-based positions `i` with
/// `i % 3 == p`. `N` positions are counted in `n` and still advance the phase.
pub fn phase_counts(seq: &[u8]) -> [BaseCounts; 3] {
    let mut counts = [[0u32; 5]; 3];
    let mut chunks = seq.chunks_exact(3);
    for codon in &mut chunks {
        for (phase, &b) in codon.iter().enumerate() {
            counts[phase][BASE_CODE[b as usize] as usize] += 1;
        }
    }
    for (phase, &b) in chunks.remainder().iter().enumerate() {
        counts[phase][BASE_CODE[b as usize] as usize] += 1;
    }
    counts.map(BaseCounts::from_array)
}

/// Raw Z-curve `[x, y, z]` of `counts` (see the module docs).
pub fn zcurve_from_counts(counts: &BaseCounts) -> [f64; 3] {
    let (a, c, g, t) = (
        f64::from(counts.a),
        f64::from(counts.c),
        f64::from(counts.g),
        f64::from(counts.t),
    );
    [(a + g) - (c + t), (a + c) - (g + t), (a + t) - (g + c)]
}

/// Z-curve `[x, y, z]` of `counts` divided by the number of A/C/G/T bases; zeros if there
/// are none. Each value lies in [−1, 1].
pub fn zcurve_normalized_from_counts(counts: &BaseCounts) -> [f64; 3] {
    let total =
        f64::from(counts.a) + f64::from(counts.c) + f64::from(counts.g) + f64::from(counts.t);
    zcurve_from_counts(counts).map(|v| ratio_or_zero(v, total))
}

/// Per-phase normalised Z-curve of [`phase_counts`]: `[x0, y0, z0, x1, y1, z1, x2, y2, z2]`.
pub fn zcurve_phase_from_counts(phases: &[BaseCounts; 3]) -> [f64; 9] {
    let mut out = [0.0; 9];
    for (chunk, counts) in out.chunks_exact_mut(3).zip(phases) {
        chunk.copy_from_slice(&zcurve_normalized_from_counts(counts));
    }
    out
}

/// Raw Z-curve `[x, y, z]` of `seq`, from base counts (`N` ignored).
///
/// `zcurve(b"AAGC") == [2.0, 2.0, 0.0]`: A 2, C 1, G 1, so x = 3 − 1, y = 3 − 1, z = 2 − 2.
pub fn zcurve(seq: &[u8]) -> [f64; 3] {
    zcurve_from_counts(&base_counts(seq))
}

/// Z-curve of `seq` divided by its number of A/C/G/T bases; zeros if there are none.
pub fn zcurve_normalized(seq: &[u8]) -> [f64; 3] {
    zcurve_normalized_from_counts(&base_counts(seq))
}

/// Z-curve per codon phase: for phase `p` in 0, 1, 2 (positions `i % 3 == p`, 0-based, `N`
/// positions advance the phase), x, y, z of the bases at that phase divided by their number
/// of A/C/G/T bases (zeros if none). Order `[x0, y0, z0, x1, y1, z1, x2, y2, z2]`.
pub fn zcurve_phase(seq: &[u8]) -> [f64; 9] {
    zcurve_phase_from_counts(&phase_counts(seq))
}

/// Total counts over the three phases, equal to [`base_counts`] of the sequence.
pub(crate) fn sum_phases(phases: &[BaseCounts; 3]) -> BaseCounts {
    phases[0].plus(&phases[1]).plus(&phases[2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() < 1e-12, "slot {i}: got {g}, want {w}");
        }
    }

    #[test]
    fn counts_ignore_n() {
        let c = base_counts(b"ACGNT");
        assert_eq!(
            c,
            BaseCounts {
                a: 1,
                c: 1,
                g: 1,
                t: 1,
                n: 1
            }
        );
        assert_eq!(c.acgt(), 4);
        let c = base_counts(b"AACGTTNG"); // A2 C1 G2 T2 N1
        assert_eq!((c.a, c.c, c.g, c.t, c.n, c.acgt()), (2, 1, 2, 2, 1, 7));
        assert_eq!(base_counts(b""), BaseCounts::default());
    }

    #[test]
    fn zcurve_aagc() {
        // A2 C1 G1 T0: x = (2+1)-(1+0) = 2, y = (2+1)-(1+0) = 2, z = (2+0)-(1+1) = 0
        assert_eq!(zcurve(b"AAGC"), [2.0, 2.0, 0.0]);
        // divided by 4 A/C/G/T bases
        assert_eq!(zcurve_normalized(b"AAGC"), [0.5, 0.5, 0.0]);
        // N changes neither the counts nor the denominator
        assert_eq!(zcurve_normalized(b"ANAGCN"), [0.5, 0.5, 0.0]);
    }

    #[test]
    fn zcurve_single_bases() {
        // A: purine, amino, weak; T: pyrimidine, keto, weak; and so on
        assert_eq!(zcurve(b"A"), [1.0, 1.0, 1.0]);
        assert_eq!(zcurve(b"C"), [-1.0, 1.0, -1.0]);
        assert_eq!(zcurve(b"G"), [1.0, -1.0, -1.0]);
        assert_eq!(zcurve(b"T"), [-1.0, -1.0, 1.0]);
    }

    #[test]
    fn zcurve_zero_denominator() {
        assert_eq!(zcurve(b"NNN"), [0.0; 3]);
        assert_eq!(zcurve_normalized(b"NNN"), [0.0; 3]);
        assert_eq!(zcurve_normalized(b""), [0.0; 3]);
        assert_eq!(zcurve_phase(b"NNN"), [0.0; 9]);
        // only phase 1 has a base: phases 0 and 2 give zeros
        assert_eq!(
            zcurve_phase(b"NAN"),
            [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn phase_on_seven_bases() {
        // ACGTNAG, positions 0..7:
        //   phase 0: pos 0 A, 3 T, 6 G -> A1 G1 T1, 3 bases
        //     x = (1+1)-(0+1) = 1, y = (1+0)-(1+1) = -1, z = (1+1)-(1+0) = 1  -> /3
        //   phase 1: pos 1 C, 4 N -> C1, 1 base (N advances the phase, is not counted)
        //     x = -1, y = 1, z = -1
        //   phase 2: pos 2 G, 5 A -> A1 G1, 2 bases
        //     x = 2/2 = 1, y = (1)-(1) = 0, z = (1)-(1) = 0
        let want = [
            1.0 / 3.0,
            -1.0 / 3.0,
            1.0 / 3.0,
            -1.0,
            1.0,
            -1.0,
            1.0,
            0.0,
            0.0,
        ];
        assert_close(&zcurve_phase(b"ACGTNAG"), &want);
        let p = phase_counts(b"ACGTNAG");
        assert_eq!(
            (p[0].acgt(), p[1].acgt(), p[1].n, p[2].acgt()),
            (3, 1, 1, 2)
        );
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
        fn phases_sum_to_totals(seq in dna()) {
            prop_assert_eq!(sum_phases(&phase_counts(&seq)), base_counts(&seq));
        }

        #[test]
        fn counts_add_up(seq in dna()) {
            let c = base_counts(&seq);
            prop_assert_eq!((c.acgt() + c.n) as usize, seq.len());
            let n = seq.iter().filter(|&&b| b == b'N').count();
            prop_assert_eq!(c.n as usize, n);
        }

        #[test]
        fn normalized_in_unit_range(seq in dna()) {
            for v in zcurve_normalized(&seq).into_iter().chain(zcurve_phase(&seq)) {
                prop_assert!((-1.0..=1.0).contains(&v));
            }
        }
    }
}
