//! Constant weight matrices stored the way gemm's microkernel reads them, so that no matmul
//! repacks them.
//!
//! For `y = x·W` with a `[k, n]` weight, the gemm crate (candle's CPU matmul) copies `W` into
//! 64-column panels (`[k, 64]`, contiguous) at every call once more than 48 rows of `x` come
//! in. The weights never change, so that copy is repeated work: at 86-116 tokens (one
//! 500 bp sequence) it was 21-26 % of a whole DNABERT-2 or NT-v2 forward pass. [`Panels`]
//! stores `W` in those panels once, at load, and calls gemm once per panel and per block of at
//! most [`block_rows`] rows of `x`. gemm then reads the panel in place, since it is already
//! contiguous in the order the microkernel walks it.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

use super::matmul::{matmul_into, View};
use super::ops::contiguous_f32;
use super::parallel::{in_parallel, thread_count};

/// Columns per panel: gemm's f32 microkernel height with AVX-512 (4 vectors of 16). With AVX2
/// (24 rows) a 64-column panel is still read in place, as two kernels and a 16-row one.
const PANEL: usize = 64;

/// Rows of `x` per gemm call: gemm copies (packs) its left operand, here the panel, once a call
/// has more than 8 microkernel widths of them (`8 × 6` with AVX-512, `8 × 4` with AVX2).
fn block_rows() -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        return 48;
    }
    32
}

/// A `[k, n]` weight (and optional bias `[n]`) in column panels: panel `p` holds columns
/// `64p .. 64p + 64` as `k` consecutive runs of 64 values, zero past column `n`.
pub struct Panels {
    data: Vec<f32>,
    bias: Option<Vec<f32>>,
    k: usize,
    n: usize,
}

impl Panels {
    /// From a linear layer's `weight` `[n, k]` (`[out, in]`, as PyTorch stores it) and `bias`.
    pub fn new(weight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        let (n, k) = weight.dims2()?;
        let rows = weight.to_dtype(candle_core::DType::F32)?.to_vec2::<f32>()?;
        let mut data = vec![0f32; n.div_ceil(PANEL) * k * PANEL];
        for (c, row) in rows.iter().enumerate() {
            let (p, i) = (c / PANEL, c % PANEL);
            for (d, &w) in row.iter().enumerate() {
                data[(p * k + d) * PANEL + i] = w;
            }
        }
        let bias = bias
            .map(|b| b.to_dtype(candle_core::DType::F32)?.to_vec1())
            .transpose()?;
        Ok(Panels { data, bias, k, n })
    }

    /// `x·W + b` for `x` `[m, k]` (f32, on the CPU) to `[m, n]`.
    pub fn matmul(&self, x: &Tensor) -> Result<Tensor> {
        x.contiguous()?.apply_op1_no_bwd(self)
    }

    /// `y` (rows of width `n`, the bias already in them, or zeros) `+= x·W` for the same rows
    /// of `x`: panel by panel, and inside each panel in blocks of [`block_rows`] rows.
    fn multiply_into(&self, x: &[f32], y: &mut [f32]) {
        let (k, n) = (self.k, self.n);
        let rows = y.len() / n;
        let block = block_rows();
        for p in 0..n.div_ceil(PANEL) {
            let width = PANEL.min(n - p * PANEL);
            let panel = View::rows(&self.data[p * k * PANEL..], k, width, PANEL);
            for start in (0..rows).step_by(block) {
                let count = block.min(rows - start);
                let x = View::rows(&x[start * k..], count, k, k);
                matmul_into(&mut y[start * n + p * PANEL..], n, x, panel, 1.0, true);
            }
        }
    }
}

impl CustomOp1 for Panels {
    fn name(&self) -> &'static str {
        "panel-matmul"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout, "panel-matmul")?;
        let (m, k) = layout.shape().dims2()?;
        if k != self.k {
            candle_core::bail!("panel-matmul: input width {k}, weight expects {}", self.k);
        }
        let n = self.n;
        let mut y = match &self.bias {
            Some(bias) => bias.repeat(m),
            None => vec![0f32; m * n],
        };
        // Threads take whole runs of rows, each multiplying its rows by every panel.
        let threads = thread_count(m * n * k).min(m.div_ceil(block_rows()));
        let piece = m.div_ceil(threads.max(1)) * n;
        in_parallel(
            &mut y,
            piece,
            threads,
            || (),
            |_, offset, piece| {
                let first = offset / n;
                self.multiply_into(&x[first * k..], piece)
            },
        );
        Ok((CpuStorage::F32(y), Shape::from((m, n))))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;
    use crate::embed::models::ops::max_diff;

    /// Panels equal candle's matmul for widths around the panel and block sizes, with and
    /// without a bias.
    #[test]
    fn panel_matmul_equals_candle_matmul() {
        for (m, k, n) in [
            (1, 3, 5),
            (47, 64, 64),
            (49, 70, 130),
            (100, 129, 192),
            (200, 8, 65),
        ] {
            let x = Tensor::randn(0f32, 1.0, (m, k), &Device::Cpu).unwrap();
            let w = Tensor::randn(0f32, 1.0, (n, k), &Device::Cpu).unwrap();
            let b = Tensor::randn(0f32, 1.0, n, &Device::Cpu).unwrap();
            let want = x.matmul(&w.t().unwrap()).unwrap();
            let plain = Panels::new(&w, None).unwrap().matmul(&x).unwrap();
            assert_eq!(plain.dims(), &[m, n]);
            assert!(max_diff(&plain, &want) < 1e-4, "{m}x{k}x{n}");
            let biased = Panels::new(&w, Some(&b)).unwrap().matmul(&x).unwrap();
            let want = want.broadcast_add(&b).unwrap();
            assert!(max_diff(&biased, &want) < 1e-4, "{m}x{k}x{n} with bias");
        }
    }

    #[test]
    fn a_wrong_input_width_is_an_error() {
        let w = Tensor::zeros((4, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
        let x = Tensor::zeros((2, 5), candle_core::DType::F32, &Device::Cpu).unwrap();
        let err = Panels::new(&w, None).unwrap().matmul(&x).unwrap_err();
        assert!(err.to_string().contains("input width 5"), "{err}");
    }
}
