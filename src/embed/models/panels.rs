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

use std::ops::Range;

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

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

    /// `y` `+= x·W` over the columns of `panels`: `y` holds the same rows as `x`, `stride`
    /// apart, starting at W's column `64 · panels.start`, with the bias already in them (or
    /// zeros). Panel by panel, and inside each panel in blocks of [`block_rows`] rows.
    fn multiply_into(&self, x: &[f32], panels: Range<usize>, y: &mut [f32], stride: usize) {
        let (k, n) = (self.k, self.n);
        let rows = y.len() / stride;
        let block = block_rows();
        let first = panels.start * PANEL;
        for p in panels {
            let width = PANEL.min(n - p * PANEL);
            let panel = View::rows(&self.data[p * k * PANEL..], k, width, PANEL);
            for start in (0..rows).step_by(block) {
                let count = block.min(rows - start);
                let x = View::rows(&x[start * k..], count, k, k);
                let y = &mut y[start * stride + p * PANEL - first..];
                matmul_into(y, stride, x, panel, 1.0, true);
            }
        }
    }

    /// `m` rows of the bias over `columns` (zeros without a bias).
    fn initial(&self, m: usize, columns: Range<usize>) -> Vec<f32> {
        match &self.bias {
            Some(bias) => bias[columns].repeat(m),
            None => vec![0f32; m * columns.len()],
        }
    }

    /// Threads take whole runs of rows, each multiplying its rows by every panel: the right
    /// split when rows are many (each thread reuses a panel over its rows).
    fn by_rows(&self, x: &[f32], m: usize, threads: usize) -> Vec<f32> {
        let (k, n) = (self.k, self.n);
        let mut y = self.initial(m, 0..n);
        let piece = m.div_ceil(threads.max(1)) * n;
        let panels = 0..n.div_ceil(PANEL);
        in_parallel(
            &mut y,
            piece,
            threads,
            || (),
            |_, offset, piece| {
                let first = offset / n;
                self.multiply_into(&x[first * k..], panels.clone(), piece, n)
            },
        );
        y
    }

    /// Threads take runs of panels, each multiplying every row by its panels: for few rows
    /// (one sequence), where splitting rows would make each thread stream every weight from
    /// memory. Each thread fills its own columns, which are then copied into place.
    fn by_columns(&self, x: &[f32], m: usize, threads: usize) -> Vec<f32> {
        let n = self.n;
        let panels = n.div_ceil(PANEL);
        let share = panels.div_ceil(threads);
        let parts: Vec<(Range<usize>, Vec<f32>)> = (0..panels)
            .step_by(share)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|p0| {
                let range = p0..(p0 + share).min(panels);
                let columns = range.start * PANEL..(range.end * PANEL).min(n);
                let mut part = self.initial(m, columns.clone());
                self.multiply_into(x, range, &mut part, columns.len());
                (columns, part)
            })
            .collect();
        let mut y = vec![0f32; m * n];
        for (columns, part) in parts {
            for (row, src) in y.chunks_exact_mut(n).zip(part.chunks_exact(columns.len())) {
                row[columns.clone()].copy_from_slice(src);
            }
        }
        y
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
        let threads = thread_count(m * self.n * k).min(self.n.div_ceil(PANEL));
        let y = if threads > 1 && m < 4 * threads * block_rows() {
            self.by_columns(x, m, threads)
        } else {
            self.by_rows(x, m, threads.min(m.div_ceil(block_rows())))
        };
        Ok((CpuStorage::F32(y), Shape::from((m, self.n))))
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

    /// Splitting rows or panels among threads changes nothing.
    #[test]
    fn row_and_column_splits_agree_with_one_thread() {
        let (m, k, n) = (50, 33, 200);
        let x: Vec<f32> = (0..m * k).map(|i| ((i * 31) % 17) as f32 - 8.0).collect();
        let w = Tensor::randn(0f32, 1.0, (n, k), &Device::Cpu).unwrap();
        let b = Tensor::randn(0f32, 1.0, n, &Device::Cpu).unwrap();
        let panels = Panels::new(&w, Some(&b)).unwrap();
        let one = panels.by_rows(&x, m, 1);
        for split in [panels.by_rows(&x, m, 3), panels.by_columns(&x, m, 3)] {
            let worst = one
                .iter()
                .zip(&split)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-5, "{worst}");
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
