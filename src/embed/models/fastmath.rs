//! Branch-free f32 `exp`, `erf` and exact GELU without libm, in forms the compiler vectorises
//! (the gated activations and attention's softmax evaluate them per value).

use std::f32::consts::{FRAC_1_SQRT_2, LOG2_E};

/// `0.5 · x · (1 + erf(x / √2))`.
#[inline(always)]
pub(crate) fn gelu_erf(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * FRAC_1_SQRT_2))
}

/// Abramowitz & Stegun 7.1.26: `1 − t·P(t)·e^(−x²)` with `t = 1 / (1 + p·|x|)`, odd in x.
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [
        1.061_405_4,
        -1.453_152_1,
        1.421_413_7,
        -0.284_496_72,
        0.254_829_6,
    ];
    let ax = x.abs();
    let t = 1.0 / (1.0 + P * ax);
    let poly = A.iter().fold(0.0, |acc, &a| acc * t + a) * t;
    (1.0 - poly * exp(-ax * ax)).copysign(x)
}

/// e^x for f32 without libm: `x = n·ln2 + r` with |r| ≤ ln2/2, `e^r` by its degree-6 Taylor
/// polynomial (relative error about 1e-7 there), and `2^n` written into the exponent bits.
/// Relative error below 3e-7 (tested).
/// Inputs are clamped to the range where the result is a normal f32.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // ln 2 = LN2_HI + LN2_LO, LN2_HI = 355/512 so that `n · LN2_HI` is exact for the n here;
    // LN2_LO is ln 2 − 355/512 to f32 precision (not `LN_2 − LN2_HI`, which would carry
    // `LN_2`'s own rounding error, multiplied by n).
    const LN2_HI: f32 = 355.0 / 512.0;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2^23 rounds an f32 of magnitude below 2^22 to an integer (to nearest): plain
    // arithmetic, where `floor` is a libm call on baseline x86-64 and blocks vectorisation.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.0 / 720.0;
    for c in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = p * r + c;
    }
    // 2^n from the bits of the float n + 127 + 2^23, whose low 23 bits are the integer
    // n + 127 (in 1..=254 after the clamp): no float-to-int cast, whose saturating form the
    // compiler cannot vectorise.
    p * f32::from_bits((n + (127.0 + 8_388_608.0)).to_bits() << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_erf_are_close_to_f64_references() {
        // Inside the clamp range [-87, 88].
        let grid = (-86_990..=87_990).map(|i| i as f32 * 1e-3);
        let worst_exp = grid
            .map(|x| ((exp(x) as f64 - (x as f64).exp()) / (x as f64).exp()).abs())
            .fold(0.0, f64::max);
        assert!(worst_exp < 3e-7, "exp relative error {worst_exp:e}");
        let worst_erf = (-60_000..=60_000)
            .map(|i| i as f32 * 1e-4)
            .map(|x| (erf(x) as f64 - candle_core::cpu::erf::erf_f64(x as f64)).abs())
            .fold(0.0, f64::max);
        // A&S bound 1.5e-7, plus f32 rounding of the polynomial: 5.8e-7 measured.
        assert!(worst_erf < 1e-6, "erf absolute error {worst_erf:e}");
        assert_eq!(erf(-10.0), -1.0);
        assert_eq!(gelu_erf(0.0), 0.0);
    }
}
