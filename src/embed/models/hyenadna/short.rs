//! The short depthwise convolution of a Hyena operator and the gates it feeds.

use candle_core::Result;
use candle_nn::VarBuilder;

/// `mixer.short_filter`: `Conv1d(3d, 3d, 3, padding=2, groups=3d)` keeping the first `T`
/// outputs, i.e. `uc[t] = w0·u[t-2] + w1·u[t-1] + w2·u[t] + b` with zeros before the start.
pub struct ShortConv {
    /// Tap-major weights `[3, 3d]`: `w[j * 3d + c]` is tap `j` of channel `c`.
    w: Vec<f32>,
    bias: Vec<f32>,
}

impl ShortConv {
    /// Loads `weight` `[3d, 1, 3]` and `bias` `[3d]`.
    pub fn load(vb: VarBuilder, channels: usize) -> Result<Self> {
        let w = vb
            .get((channels, 1, 3), "weight")?
            .squeeze(1)?
            .t()?
            .flatten_all()?
            .to_vec1()?;
        Ok(ShortConv {
            w,
            bias: vb.get(channels, "bias")?.to_vec1()?,
        })
    }

    /// Convolves `u` `[B, T, 3d]` and splits the channels in order into `x0, x1, v`; returns
    /// `x0` and `x1·v`, each `[B, T, d]`.
    pub fn gates(&self, u: &[f32], batch: usize, len: usize) -> (Vec<f32>, Vec<f32>) {
        let c3 = self.bias.len();
        let d = c3 / 3;
        assert_eq!(u.len(), batch * len * c3, "u is [B, T, 3d]");
        let (mut x0, mut gated) = (
            Vec::with_capacity(batch * len * d),
            Vec::with_capacity(batch * len * d),
        );
        let mut uc = vec![0f32; c3];
        for seq in u.chunks_exact(len * c3) {
            for t in 0..len {
                uc.copy_from_slice(&self.bias);
                // Taps 2, 1, 0 multiply the current token and the two before it.
                for (j, lag) in (0..3).rev().zip(0..=t.min(2)) {
                    let (w, x) = (&self.w[j * c3..][..c3], &seq[(t - lag) * c3..][..c3]);
                    uc.iter_mut()
                        .zip(w)
                        .zip(x)
                        .for_each(|((o, w), x)| *o += w * x);
                }
                x0.extend_from_slice(&uc[..d]);
                gated.extend(uc[d..2 * d].iter().zip(&uc[2 * d..]).map(|(x1, v)| x1 * v));
            }
        }
        (x0, gated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_conv_is_causal_kernel_3_and_splits_in_order() {
        let (d, len) = (2, 4);
        // Channel c has taps (c + 1, 10 (c + 1), 100 (c + 1)) and bias c.
        let w: Vec<f32> = (0..3)
            .flat_map(|j| (0..3 * d).map(move |c| 10f32.powi(j) * (c + 1) as f32))
            .collect();
        let conv = ShortConv {
            w,
            bias: (0..3 * d).map(|c| c as f32).collect(),
        };
        let u: Vec<f32> = (0..len)
            .flat_map(|t| std::iter::repeat_n(t as f32 + 1.0, 3 * d))
            .collect();
        let (x0, gated) = conv.gates(&u, 1, len);
        let uc = |t: usize, c: usize| {
            let at = |s: isize| if s < 0 { 0.0 } else { s as f32 + 1.0 };
            let t = t as isize;
            (c + 1) as f32 * (at(t - 2) + 10.0 * at(t - 1) + 100.0 * at(t)) + c as f32
        };
        for t in 0..len {
            for c in 0..d {
                assert_eq!(x0[t * d + c], uc(t, c), "x0 t {t} c {c}");
                assert_eq!(
                    gated[t * d + c],
                    uc(t, d + c) * uc(t, 2 * d + c),
                    "x1 v t {t} c {c}"
                );
            }
        }
    }
}
