//! The Hyena operator's convolutions in differentiable candle ops, for fine-tuning.
//!
//! Inference runs the convolutions as host loops ([`super::short`], [`super::conv`]), which a
//! gradient cannot pass. These compute the same functions from tensors, so backpropagation
//! reaches `in_proj`, the short filter and the implicit filter's MLP. The long convolution is
//! a batched matmul with a causal Toeplitz matrix per channel: `O(d·T²)` memory, fine for the
//! inputs fine-tuning sees (a few hundred tokens), and no FFT (which has no backward here).

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor, D};

use super::super::grad_ops::{by_rows, column_sums, host};
use super::super::ops::{add_row, contiguous_f32, mul_row};

/// The causal depthwise short convolution: `u` `[B, T, C]`, `weight` `[C, 1, 3]`, `bias`
/// `[C]`; `uc[t] = w0·u[t-2] + w1·u[t-1] + w2·u[t] + b`, zeros before the start.
pub fn short_conv(u: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    if u.device().is_cpu() && u.dtype() == DType::F32 {
        let taps = weight.flatten_all()?;
        return u
            .contiguous()?
            .apply_op3(&taps.contiguous()?, &bias.contiguous()?, ShortConv);
    }
    short_conv_composed(u, weight, bias)
}

/// [`short_conv`] from candle's differentiable ops, for other devices and dtypes.
fn short_conv_composed(u: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let (batch, len, channels) = u.dims3()?;
    let zeros = Tensor::zeros((batch, 2, channels), u.dtype(), u.device())?;
    let padded = Tensor::cat(&[&zeros, u], 1)?;
    let taps = weight.squeeze(1)?;
    let mut out = add_row(&u.zeros_like()?, bias)?;
    for j in 0..3 {
        let tap = taps.narrow(1, j, 1)?.squeeze(1)?;
        out = (out + mul_row(&padded.narrow(1, j, len)?, &tap)?)?;
    }
    Ok(out)
}

/// [`short_conv`] as one graph node on the CPU: candle's composition is a dozen nodes over the
/// `[B, T, 3d]` projection, each with its own pass and gradient.
struct ShortConv;

impl ShortConv {
    /// `u`'s shape `[B, T, C]` against `taps` `[C·3]` and `bias` `[C]`: `(T, C)`.
    fn dims(layout: &Layout, taps: usize, bias: usize) -> Result<(usize, usize)> {
        match layout.dims() {
            &[_, t, c] if taps == 3 * c && bias == c => Ok((t, c)),
            dims => candle_core::bail!("short conv: input {dims:?}, {taps} taps, {bias} biases"),
        }
    }
}

impl CustomOp3 for ShortConv {
    fn name(&self) -> &'static str {
        "short-conv-trainable"
    }

    fn cpu_fwd(
        &self,
        us: &CpuStorage,
        ul: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
        bs: &CpuStorage,
        bl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let u = contiguous_f32(us, ul, "short conv")?;
        let (w, b) = (
            contiguous_f32(ws, wl, "short conv")?,
            contiguous_f32(bs, bl, "short conv")?,
        );
        let (t, c) = Self::dims(ul, w.len(), b.len())?;
        // out[t] = b + Σ_j w_j · u[t − 2 + j], zeros before the start.
        let out = by_rows(u.len(), c, |r, out| {
            out.copy_from_slice(b);
            for j in 0..3 {
                if r % t + j >= 2 {
                    let src = &u[(r + j - 2) * c..(r + j - 1) * c];
                    for ((o, &v), k) in out.iter_mut().zip(src).zip(0..) {
                        *o += w[3 * k + j] * v;
                    }
                }
            }
        });
        Ok((CpuStorage::F32(out), ul.shape().clone()))
    }

    /// `du[s] = Σ_j w_j · g[s + 2 − j]` (inside the row), `dw_j = Σ g[t] · u[t − 2 + j]`,
    /// `db = Σ g`.
    fn bwd(
        &self,
        u: &Tensor,
        taps: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (_, t, c) = u.dims3()?;
        let u_tracked = u.track_op();
        let (du, dw, db) = host(grad, |g| {
            host(taps, |w| {
                host(u, |u| {
                    let du = u_tracked.then(|| {
                        by_rows(g.len(), c, |r, out| {
                            for j in 0..3 {
                                if r % t + 2 - j < t {
                                    let src = &g[(r + 2 - j) * c..(r + 3 - j) * c];
                                    for ((o, &v), k) in out.iter_mut().zip(src).zip(0..) {
                                        *o += w[3 * k + j] * v;
                                    }
                                }
                            }
                        })
                    });
                    Ok((
                        du,
                        tap_gradients(u, g, t, c),
                        column_sums(g, g, c, |g, _| g),
                    ))
                })
            })
        })?;
        let dev = u.device();
        Ok((
            du.map(|v| Tensor::from_vec(v, u.shape(), dev))
                .transpose()?,
            Some(Tensor::from_vec(dw, taps.shape(), dev)?).filter(|_| taps.track_op()),
            Some(Tensor::from_vec(db, bias.shape(), dev)?).filter(|_| bias.track_op()),
        ))
    }
}

/// `dw[k·3 + j] = Σ_{rows, t ≥ 2 − j} g[t, k] · u[t − 2 + j, k]`.
fn tap_gradients(u: &[f32], g: &[f32], t: usize, c: usize) -> Vec<f32> {
    let mut dw = vec![0f32; 3 * c];
    let mut sums = vec![0f32; c];
    for j in 0..3 {
        sums.iter_mut().for_each(|s| *s = 0.0);
        for r in (0..g.len() / c.max(1)).filter(|r| r % t + j >= 2) {
            let (gr, ur) = (&g[r * c..(r + 1) * c], &u[(r + j - 2) * c..(r + j - 1) * c]);
            for ((s, &g), &u) in sums.iter_mut().zip(gr).zip(ur) {
                *s += g * u;
            }
        }
        sums.iter()
            .enumerate()
            .for_each(|(k, &s)| dw[3 * k + j] = s);
    }
    dw
}

/// The causal long convolution `y[b,t,c] = Σ_{s≤t} k[t-s,c]·v[b,s,c] + D[c]·v[b,t,c]` for
/// `v` `[B, T, d]`, taps `k` `[L ≥ T, d]` and skip `D` `[d]`: on the CPU through FFTs in both
/// directions ([`super::fftconv`]), elsewhere as a Toeplitz matmul.
pub fn long_conv(v: &Tensor, taps: &Tensor, skip: &Tensor) -> Result<Tensor> {
    if v.device().is_cpu() {
        return super::fftconv::causal_conv(v, taps)? + mul_row(v, skip)?;
    }
    toeplitz_conv(v, taps, skip)
}

/// [`long_conv`] as one lower-triangular Toeplitz matmul per channel, from candle ops only.
pub fn toeplitz_conv(v: &Tensor, taps: &Tensor, skip: &Tensor) -> Result<Tensor> {
    let (_, len, d) = v.dims3()?;
    // Row T of the extended taps is zero: it fills the Toeplitz matrix above the diagonal.
    let zero = Tensor::zeros((1, d), taps.dtype(), taps.device())?;
    let extended = Tensor::cat(&[&taps.narrow(0, 0, len)?, &zero], 0)?;
    let lags: Vec<u32> = (0..len)
        .flat_map(|t| (0..len).map(move |s| if s <= t { (t - s) as u32 } else { len as u32 }))
        .collect();
    let lags = Tensor::from_vec(lags, len * len, v.device())?;
    // [T·T, d] -> [d, T, T]: one lower-triangular Toeplitz matrix per channel.
    let toeplitz = extended
        .index_select(&lags, 0)?
        .reshape((len, len, d))?
        .permute((2, 0, 1))?
        .contiguous()?;
    let channels_first = v.permute((2, 1, 0))?.contiguous()?; // [d, T, B]
    let y = toeplitz.matmul(&channels_first)?.permute((2, 1, 0))?; // [B, T, d]
    y + mul_row(v, skip)?
}

/// The last axis split into `parts` equal slices, in order.
pub fn split_last(x: &Tensor, parts: usize) -> Result<Vec<Tensor>> {
    let width = x.dim(D::Minus1)? / parts;
    (0..parts)
        .map(|i| x.narrow(D::Minus1, i * width, width))
        .collect()
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::super::conv::LongConv;
    use super::*;

    fn random(shape: &[usize], seed: u64) -> Tensor {
        let n: usize = shape.iter().product();
        // A fixed pseudo-random sequence, so the test needs no RNG state.
        let values: Vec<f32> = (0..n as u64)
            .map(|i| (((i + 1) * (seed + 7919)) % 1013) as f32 / 1013.0 - 0.5)
            .collect();
        Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn both_long_convs_match_the_direct_host_loop() {
        let (batch, len, d, max_len) = (2, 9, 3, 12);
        let v = random(&[batch, len, d], 1);
        let taps = random(&[max_len, d], 2);
        let skip = random(&[d], 3);
        let graph: Vec<f32> = toeplitz_conv(&v, &taps, &skip)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let host = LongConv::new(
            taps.flatten_all().unwrap().to_vec1().unwrap(),
            skip.to_vec1().unwrap(),
            max_len,
        );
        let v_host: Vec<f32> = v.flatten_all().unwrap().to_vec1().unwrap();
        let direct = host.direct(&v_host, batch, len);
        assert!(crate::vecmath::max_abs_diff(&graph, &direct) < 1e-5);
        let fft: Vec<f32> = long_conv(&v, &taps, &skip)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(crate::vecmath::max_abs_diff(&fft, &direct) < 1e-5);
    }

    #[test]
    fn short_conv_is_causal_with_kernel_three() {
        let (len, channels) = (5, 2);
        let u = random(&[1, len, channels], 4);
        let weight = random(&[channels, 1, 3], 5);
        let bias = random(&[channels], 6);
        let out: Vec<Vec<f32>> = short_conv(&u, &weight, &bias)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec2()
            .unwrap();
        let (u, w, b): (Vec<Vec<f32>>, Vec<Vec<f32>>, Vec<f32>) = (
            u.squeeze(0).unwrap().to_vec2().unwrap(),
            weight.squeeze(1).unwrap().to_vec2().unwrap(),
            bias.to_vec1().unwrap(),
        );
        for t in 0..len {
            for c in 0..channels {
                let at = |s: isize| if s < 0 { 0.0 } else { u[s as usize][c] };
                let t = t as isize;
                let want = w[c][0] * at(t - 2) + w[c][1] * at(t - 1) + w[c][2] * at(t) + b[c];
                assert!((out[t as usize][c] - want).abs() < 1e-6, "t {t} c {c}");
            }
        }
    }

    #[test]
    fn fused_short_conv_has_the_compositions_value_and_gradients() {
        let inputs = [
            random(&[2, 6, 4], 7),
            random(&[4, 1, 3], 8),
            random(&[4], 9),
        ];
        crate::embed::models::grad_ops::tests::agree(
            &inputs,
            &[2, 6, 4],
            |t| short_conv(&t[0], &t[1], &t[2]),
            |t| short_conv_composed(&t[0], &t[1], &t[2]),
            1e-5,
        );
    }
}
