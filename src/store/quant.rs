//! Scalar int8 quantization of stored vectors (`index --quantize int8`).
//!
//! Each dimension d has a scale `s_d`; a component x is stored as the code
//! `c = round(x / s_d)` clamped to [-127, 127]. A query q is scored against codes by the dot
//! product `sum_d q_d s_d c_d`: the weights `q_d s_d` are themselves rounded to int16 with one
//! scale per query, so the inner loop is integer arithmetic over a quarter of the bytes.
//! Searches rank candidates by this approximate distance and re-rank the best of them with the
//! exact float vectors, which stay in the file.

use serde::{Deserialize, Serialize};

use crate::vecmath;

/// How a collection keeps its vectors in memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantize {
    /// Float vectors in memory (the default).
    #[default]
    None,
    /// int8 codes in memory; float vectors read from the file to re-rank.
    Int8,
}

impl Quantize {
    /// The name as written on the command line and in `info`.
    pub fn name(self) -> &'static str {
        match self {
            Quantize::None => "none",
            Quantize::Int8 => "int8",
        }
    }
}

impl std::str::FromStr for Quantize {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Quantize::None),
            "int8" => Ok(Quantize::Int8),
            other => Err(crate::Error::InvalidArgument {
                what: "quantize".into(),
                message: format!("{other:?} is not one of none, int8"),
            }),
        }
    }
}

/// The largest dimension whose integer dot product cannot overflow (see `vecmath`).
pub const MAX_DIM: usize = 32_000;
/// Largest code magnitude.
const CODE_MAX: f32 = 127.0;
/// Largest query weight magnitude (12 bits, so the kernel's i32 lanes cannot overflow).
const WEIGHT_MAX: f32 = 4095.0;
/// Headroom over the fitted range, for later vectors a little outside it.
const HEADROOM: f32 = 1.25;

/// Per-dimension scales, fitted once on the first batch stored and kept for the collection's
/// life (later components beyond the range are clamped; the exact re-rank corrects the order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Int8Quantizer {
    /// `s_d`: a component x is coded as `round(x / s_d)`.
    pub scales: Vec<f32>,
}

impl Int8Quantizer {
    /// Fits scales on `data` (`n * dim`): the largest magnitude per dimension with headroom,
    /// floored at 1% of the largest over all dimensions so a dimension constant at zero in the
    /// first batch still codes later values.
    pub fn fit(data: &[f32], dim: usize) -> Self {
        let mut max = vec![0f32; dim];
        for row in data.chunks_exact(dim.max(1)) {
            for (m, &x) in max.iter_mut().zip(row) {
                if x.is_finite() {
                    *m = m.max(x.abs());
                }
            }
        }
        let floor = max.iter().copied().fold(0f32, f32::max).max(1e-6) * 0.01;
        let scales = max
            .iter()
            .map(|&m| m.max(floor) * HEADROOM / CODE_MAX)
            .collect();
        Int8Quantizer { scales }
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.scales.len()
    }

    /// Checks scales read from a file: the dimension, and every scale finite and positive.
    pub fn validate(&self, dim: usize) -> Result<(), String> {
        if self.dim() != dim || dim > MAX_DIM {
            return Err(format!(
                "the quantizer has {} scales for dimension {dim}",
                self.dim()
            ));
        }
        if self.scales.iter().all(|s| s.is_finite() && *s > 0.0) {
            Ok(())
        } else {
            Err("a quantizer scale is not a positive number".into())
        }
    }

    /// Appends the codes of `v` to `out`.
    pub fn encode_into(&self, v: &[f32], out: &mut Vec<i8>) {
        out.extend(
            v.iter()
                .zip(&self.scales)
                .map(|(&x, &s)| (x / s).round().clamp(-CODE_MAX, CODE_MAX) as i8),
        );
    }

    /// Appends the vector a row of codes stands for to `out`.
    pub fn decode_into(&self, codes: &[i8], out: &mut Vec<f32>) {
        out.extend(codes.iter().zip(&self.scales).map(|(&c, &s)| c as f32 * s));
    }

    /// Prepares a query (already in stored form) for scoring against codes.
    pub fn query(&self, q: &[f32]) -> QueryCode {
        let weights: Vec<f32> = q.iter().zip(&self.scales).map(|(&x, &s)| x * s).collect();
        let largest = weights.iter().fold(0f32, |m, w| m.max(w.abs()));
        let scale = if largest > 0.0 {
            largest / WEIGHT_MAX
        } else {
            1.0
        };
        let values = weights
            .iter()
            .map(|w| (w / scale).round().clamp(-WEIGHT_MAX, WEIGHT_MAX) as i16)
            .collect();
        // Each component's rounding is uniform over one step, variance s_d^2 / 12.
        let sigma = (weights.iter().map(|w| w * w).sum::<f32>() / 12.0).sqrt();
        QueryCode {
            values,
            scale,
            sigma,
        }
    }
}

/// A query prepared for int8 codes: `q_d s_d ≈ scale * values[d]`.
#[derive(Debug, Clone)]
pub struct QueryCode {
    values: Vec<i16>,
    scale: f32,
    /// The standard deviation of the approximate dot product's error from rounding the stored
    /// components (the query's own rounding is far finer).
    pub sigma: f32,
}

impl QueryCode {
    /// The approximate dot product of the query with the vector a row of codes stands for.
    #[inline]
    pub fn dot(&self, codes: &[i8]) -> f32 {
        vecmath::dot_i8_i16(codes, &self.values) as f32 * self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit_rows(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut x = seed.max(1);
        let mut data = Vec::with_capacity(n * dim);
        for _ in 0..n {
            let mut row: Vec<f32> = (0..dim)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 1000) as f32 / 1000.0
                })
                .collect();
            vecmath::normalize(&mut row);
            data.extend(row);
        }
        data
    }

    #[test]
    fn codes_round_trip_within_half_a_step() {
        let dim = 40;
        let data = unit_rows(50, dim, 7);
        let q = Int8Quantizer::fit(&data, dim);
        q.validate(dim).unwrap();
        let mut codes = Vec::new();
        q.encode_into(&data, &mut codes);
        let mut back = Vec::new();
        q.decode_into(&codes, &mut back);
        for (i, (x, y)) in data.iter().zip(&back).enumerate() {
            assert!(
                (x - y).abs() <= q.scales[i % dim] * 0.5 + 1e-7,
                "component {i}"
            );
        }
    }

    #[test]
    fn approximate_dots_are_close_to_exact_ones() {
        let dim = 708;
        let data = unit_rows(20, dim, 3);
        let q = Int8Quantizer::fit(&data, dim);
        let mut codes = Vec::new();
        q.encode_into(&data, &mut codes);
        let query = &data[..dim];
        let code = q.query(query);
        for (row, c) in data.chunks_exact(dim).zip(codes.chunks_exact(dim)) {
            let exact = vecmath::dot(query, row);
            assert!(
                (code.dot(c) - exact).abs() < 0.01,
                "{} vs {exact}",
                code.dot(c)
            );
        }
    }

    #[test]
    fn out_of_range_values_clamp_and_bad_scales_are_refused() {
        let q = Int8Quantizer::fit(&[0.1, 0.2], 2);
        let mut codes = Vec::new();
        q.encode_into(&[5.0, -5.0], &mut codes);
        assert_eq!(codes, vec![127, -127]);
        assert!(q.validate(3).is_err());
        let bad = Int8Quantizer {
            scales: vec![1.0, f32::NAN],
        };
        assert!(bad.validate(2).is_err());
        assert_eq!("int8".parse::<Quantize>().unwrap(), Quantize::Int8);
        assert!("int4".parse::<Quantize>().is_err());
    }
}
