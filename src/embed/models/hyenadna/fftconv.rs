//! A differentiable causal long convolution on the CPU: a candle custom op whose forward and
//! backward passes both run through real FFTs.
//!
//! `y[b,t,c] = Σ_{s≤t} k[t-s,c]·v[b,s,c]` for `v` `[B, T, d]` and `k` `[T, d]`. With `g` the
//! gradient of `y` and `rev` the reversal in time, both gradients are causal convolutions of
//! `rev(g)` read backwards: `dv[b,s,c] = conv(rev g, k)[T-1-s]` and
//! `dk[j,c] = Σ_b conv(rev g_b, v_b)[T-1-j]`. Each costs `O(B·d·T log T)`, where the Toeplitz
//! matmul of [`super::graph`] costs `O(B·d·T²)` and `O(d·T²)` memory.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// FFT plans of size `2T` (zero padding makes the circular convolution linear).
struct Plans {
    len: usize,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
}

impl Plans {
    fn new(len: usize) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        Plans {
            len,
            forward: planner.plan_fft_forward(2 * len),
            inverse: planner.plan_fft_inverse(2 * len),
        }
    }

    /// The spectrum of a length-`T` signal, zero-padded to `2T`.
    fn spectrum(&self, signal: impl Iterator<Item = f32>) -> Vec<Complex<f32>> {
        let mut input = vec![0f32; 2 * self.len];
        input.iter_mut().zip(signal).for_each(|(x, s)| *x = s);
        let mut out = self.forward.make_output_vec();
        self.forward
            .process(&mut input, &mut out)
            .expect("buffer sizes come from the plan");
        out
    }

    /// The first `T` samples of the inverse transform, scaled to a true inverse.
    fn signal(&self, mut spectrum: Vec<Complex<f32>>) -> Vec<f32> {
        // A real signal's spectrum has real DC and Nyquist bins; rounding may leave a residue.
        spectrum[0].im = 0.0;
        if let Some(last) = spectrum.last_mut() {
            last.im = 0.0;
        }
        let mut out = self.inverse.make_output_vec();
        self.inverse
            .process(&mut spectrum, &mut out)
            .expect("buffer sizes come from the plan");
        let scale = 1.0 / (2 * self.len) as f32;
        out.truncate(self.len);
        out.iter_mut().for_each(|x| *x *= scale);
        out
    }
}

/// Channel `c` of sequence `b` of a `[B, T, d]` buffer, in time order.
fn column(x: &[f32], b: usize, c: usize, len: usize, d: usize) -> impl Iterator<Item = f32> + '_ {
    (0..len).map(move |t| x[(b * len + t) * d + c])
}

/// The same, reversed in time.
fn column_rev(
    x: &[f32],
    b: usize,
    c: usize,
    len: usize,
    d: usize,
) -> impl Iterator<Item = f32> + '_ {
    (0..len).rev().map(move |t| x[(b * len + t) * d + c])
}

fn product(a: &[Complex<f32>], b: &[Complex<f32>]) -> Vec<Complex<f32>> {
    a.iter().zip(b).map(|(x, y)| x * y).collect()
}

/// The forward convolution on host buffers. Channels are independent: they run on rayon's
/// threads, each into its own `[B·T]` column, scattered into `[B, T, d]` at the end.
fn forward(v: &[f32], k: &[f32], batch: usize, len: usize, d: usize) -> Vec<f32> {
    let plans = Plans::new(len);
    let columns: Vec<Vec<f32>> = (0..d)
        .into_par_iter()
        .map(|c| {
            let kc = plans.spectrum(column(k, 0, c, len, d));
            let mut col = Vec::with_capacity(batch * len);
            for b in 0..batch {
                col.extend(plans.signal(product(&plans.spectrum(column(v, b, c, len, d)), &kc)));
            }
            col
        })
        .collect();
    let mut y = vec![0f32; v.len()];
    for (c, col) in columns.iter().enumerate() {
        // col[b·T + t] is y[b, t, c].
        col.iter().enumerate().for_each(|(i, &o)| y[i * d + c] = o);
    }
    y
}

/// `(dv, dk)` for the gradient `g` of `y`, channels on rayon's threads as in [`forward`].
fn backward(
    v: &[f32],
    k: &[f32],
    g: &[f32],
    batch: usize,
    len: usize,
    d: usize,
) -> (Vec<f32>, Vec<f32>) {
    let plans = Plans::new(len);
    let columns: Vec<(Vec<f32>, Vec<f32>)> = (0..d)
        .into_par_iter()
        .map(|c| {
            let kc = plans.spectrum(column(k, 0, c, len, d));
            let mut dk_spectrum = vec![Complex::new(0f32, 0f32); kc.len()];
            let mut dv = vec![0f32; batch * len];
            for b in 0..batch {
                let gc = plans.spectrum(column_rev(g, b, c, len, d));
                let z = plans.signal(product(&gc, &kc));
                (0..len).for_each(|s| dv[b * len + s] = z[len - 1 - s]);
                let vc = plans.spectrum(column(v, b, c, len, d));
                dk_spectrum
                    .iter_mut()
                    .zip(product(&gc, &vc))
                    .for_each(|(acc, x)| *acc += x);
            }
            let z = plans.signal(dk_spectrum);
            let dk: Vec<f32> = (0..len).map(|j| z[len - 1 - j]).collect();
            (dv, dk)
        })
        .collect();
    let (mut dv, mut dk) = (vec![0f32; v.len()], vec![0f32; len * d]);
    for (c, (dv_c, dk_c)) in columns.iter().enumerate() {
        dv_c.iter()
            .enumerate()
            .for_each(|(i, &x)| dv[i * d + c] = x);
        dk_c.iter()
            .enumerate()
            .for_each(|(j, &x)| dk[j * d + c] = x);
    }
    (dv, dk)
}

/// The custom op over `v` `[B, T, d]` and `k` `[T, d]`, both contiguous F32.
struct CausalConv;

fn contiguous<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let (start, end) = l
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("causal conv: input not contiguous".into()))?;
    Ok(&s.as_slice::<f32>()?[start..end])
}

impl CustomOp2 for CausalConv {
    fn name(&self) -> &'static str {
        "hyena-causal-fft-conv"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (batch, len, d) = l1.shape().dims3()?;
        let y = forward(contiguous(s1, l1)?, contiguous(s2, l2)?, batch, len, d);
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        v: &Tensor,
        k: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (batch, len, d) = v.dims3()?;
        let host = |t: &Tensor| -> Result<Vec<f32>> { t.detach().flatten_all()?.to_vec1() };
        let (dv, dk) = backward(&host(v)?, &host(k)?, &host(grad)?, batch, len, d);
        Ok((
            Some(Tensor::from_vec(dv, v.shape(), v.device())?),
            Some(Tensor::from_vec(dk, k.shape(), k.device())?),
        ))
    }
}

/// `Σ_{s≤t} k[t-s,c]·v[b,s,c]` with gradients to `v` and to the first `T` rows of `taps`.
pub fn causal_conv(v: &Tensor, taps: &Tensor) -> Result<Tensor> {
    let len = v.dim(1)?;
    let k = taps.narrow(0, 0, len)?.contiguous()?;
    v.contiguous()?.apply_op2(&k, CausalConv)
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    /// `Σ_{s≤t} k[t-s]·v[s]` by the definition.
    fn naive(v: &[f32], k: &[f32], batch: usize, len: usize, d: usize) -> Vec<f32> {
        let mut y = vec![0f32; v.len()];
        for b in 0..batch {
            for t in 0..len {
                for c in 0..d {
                    y[(b * len + t) * d + c] = (0..=t)
                        .map(|s| k[(t - s) * d + c] * v[(b * len + s) * d + c])
                        .sum();
                }
            }
        }
        y
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n as u32)
            .map(|i| ((i * 37 + seed * 101) % 97) as f32 / 97.0 - 0.5)
            .collect()
    }

    #[test]
    fn forward_matches_the_definition() {
        let (batch, len, d) = (2, 7, 3);
        let (v, k) = (values(batch * len * d, 1), values(len * d, 2));
        let got = forward(&v, &k, batch, len, d);
        let want = naive(&v, &k, batch, len, d);
        assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-5));
    }

    /// The gradients equal those that candle derives for a weighted sum of the naive output
    /// built from differentiable ops.
    #[test]
    fn gradients_match_autograd_of_the_toeplitz_form() {
        let (batch, len, d) = (2, 6, 3);
        let dev = Device::Cpu;
        let v = Var::from_vec(values(batch * len * d, 3), (batch, len, d), &dev).unwrap();
        let k = Var::from_vec(values(len * d, 4), (len, d), &dev).unwrap();
        let weights = Tensor::from_vec(values(batch * len * d, 5), (batch, len, d), &dev).unwrap();
        let skip = Tensor::zeros(d, candle_core::DType::F32, &dev).unwrap();
        let loss = |y: Tensor| (y * &weights).unwrap().sum_all().unwrap();
        let ours = loss(causal_conv(v.as_tensor(), k.as_tensor()).unwrap())
            .backward()
            .unwrap();
        let reference =
            loss(super::super::graph::toeplitz_conv(v.as_tensor(), k.as_tensor(), &skip).unwrap())
                .backward()
                .unwrap();
        let grad = |store: &candle_core::backprop::GradStore, var: &Var| -> Vec<f32> {
            let g = store.get(var.as_tensor()).unwrap();
            g.flatten_all().unwrap().to_vec1().unwrap()
        };
        for var in [&v, &k] {
            let worst = crate::vecmath::max_abs_diff(&grad(&ours, var), &grad(&reference, var));
            assert!(worst < 1e-5, "gradient differs by {worst}");
        }
    }
}
