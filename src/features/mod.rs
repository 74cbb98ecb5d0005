//! Numeric features of a DNA sequence: k-mer spectra, Z-curve and base composition.
//!
//! Every function here is pure and takes a sequence that the caller has already validated:
//! only the uppercase bytes `A`, `C`, `G`, `T` and `N`. (Any other byte is treated like `N`,
//! but callers should not rely on that.)
//!
//! # How `N` is handled
//!
//! * **k-mers:** a window of `k` bases that contains an `N` is skipped. It is not counted
//!   and it is not part of the denominator of a spectrum.
//! * **Base counts:** `N` is counted in [`BaseCounts::n`] only. It is in no A/C/G/T count,
//!   and it is excluded from "the number of A/C/G/T bases" ([`BaseCounts::acgt`]), which is
//!   the denominator of every normalised feature.
//! * **Codon phase:** an `N` is not counted, but its position still advances the phase
//!   (phase = 0-based position modulo 3).
//!
//! Worked example for `ACGNT`:
//!
//! * 2-mers: `AC`, `CG`, `GN`, `NT`. Only `AC` and `CG` are counted, so the spectrum has
//!   1/2 at `AC`, 1/2 at `CG` and 0 everywhere else.
//! * Base counts: A 1, C 1, G 1, T 1, and the `N` is ignored (4 A/C/G/T bases).
//! * GC content: (G + C) / (A + C + G + T) = 2 / 4.
//!
//! ```
//! use genovec::features::{base_counts, gc_content, kmer_counts, kmer_index, kmer_spectrum};
//!
//! let seq = b"ACGNT";
//! let counts = kmer_counts(seq, 2, false);
//! assert_eq!(counts.iter().sum::<u32>(), 2); // GN and NT are skipped
//! assert_eq!(counts[kmer_index(b"AC", false).unwrap()], 1);
//! assert_eq!(counts[kmer_index(b"CG", false).unwrap()], 1);
//! let spectrum = kmer_spectrum(seq, 2, false);
//! assert_eq!(spectrum[kmer_index(b"AC", false).unwrap()], 0.5);
//!
//! let c = base_counts(seq);
//! assert_eq!((c.a, c.c, c.g, c.t, c.n, c.acgt()), (1, 1, 1, 1, 1, 4));
//! assert_eq!(gc_content(seq), 0.5);
//! ```
//!
//! # Modules
//!
//! * [`kmer`]: k-mer counts and spectra (k in 1..=8), plain or canonical (a k-mer merged
//!   with its reverse complement).
//! * [`zcurve`]: base counts and the Z-curve, whole-sequence and per codon phase.
//! * [`composition`]: GC content, AT/GC ratio, skews, and the fixed 16-value hand-crafted
//!   feature vector.
//! * [`profile`]: the positional profile, 2-mer spectra of six consecutive segments.

pub mod composition;
pub mod kmer;
pub mod profile;
pub mod zcurve;

pub use composition::{
    at_gc_ratio, at_gc_ratio_from_counts, at_skew, at_skew_from_counts, gc_content,
    gc_content_from_counts, gc_skew, gc_skew_from_counts, handcrafted, handcrafted_into,
    HANDCRAFTED_DIM, HANDCRAFTED_NAMES,
};
pub use kmer::{
    kmer_counts, kmer_dim, kmer_index, kmer_spectra_into, kmer_spectrum, kmer_spectrum_into,
    kmer_string, reverse_complement_code, MAX_K, MIN_K,
};
pub use profile::{positional_profile, positional_profile_into, PROFILE_DIM};
pub use zcurve::{
    base_counts, phase_counts, zcurve, zcurve_from_counts, zcurve_normalized,
    zcurve_normalized_from_counts, zcurve_phase, zcurve_phase_from_counts, BaseCounts,
};

/// Code of a byte: `A`=0, `C`=1, `G`=2, `T`=3, anything else (`N`) = 4.
pub(crate) static BASE_CODE: [u8; 256] = {
    let mut table = [4u8; 256];
    table[b'A' as usize] = 0;
    table[b'C' as usize] = 1;
    table[b'G' as usize] = 2;
    table[b'T' as usize] = 3;
    table
};

/// `num / den`, or 0 when `den` is 0.
pub(crate) fn ratio_or_zero(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}
