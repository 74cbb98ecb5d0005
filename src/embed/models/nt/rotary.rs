//! NT-v2's rotary position embedding (ESM's rotate-half form): its tables, applied by
//! candle's `rope` or handed to the fused attention.

use candle_core::{Device, Tensor};

use super::super::attention::Positions;
use super::super::ops;

type CResult<T> = candle_core::Result<T>;

/// ESM's inverse frequencies `1 / 10000^(2j / head_dim)`, in f32 steps like the reference.
pub(super) fn inv_freq(head_dim: usize) -> Vec<f32> {
    (0..head_dim / 2)
        .map(|j| 1.0 / 10000f32.powf((2 * j) as f32 / head_dim as f32))
        .collect()
}

/// cos and sin tables `[t, head_dim / 2]` for positions `0..t` (`<cls>` is position 0). The
/// angle is the f32 product, as the reference's `outer` in f32; large positions would drift
/// by ~1e-4 rad if computed in f64 instead.
pub(super) fn rotary_tables(t: usize, head_dim: usize) -> (Vec<f32>, Vec<f32>) {
    let inv = inv_freq(head_dim);
    let angles: Vec<f32> = (0..t)
        .flat_map(|p| inv.iter().map(move |f| p as f32 * f))
        .collect();
    (
        angles.iter().map(|a| a.cos()).collect(),
        angles.iter().map(|a| a.sin()).collect(),
    )
}

/// Rotary embedding in ESM's "rotate_half" (not interleaved) form, which candle's `rope` is.
pub(super) struct Rotary {
    cos: Tensor,
    sin: Tensor,
    /// The same tables on the host, for the fused attention.
    cos_host: Vec<f32>,
    sin_host: Vec<f32>,
}

impl Rotary {
    pub(super) fn new(t: usize, head_dim: usize, device: &Device) -> CResult<Self> {
        let (cos_host, sin_host) = rotary_tables(t, head_dim);
        let shape = (t, head_dim / 2);
        Ok(Rotary {
            cos: Tensor::from_slice(&cos_host, shape, device)?,
            sin: Tensor::from_slice(&sin_host, shape, device)?,
            cos_host,
            sin_host,
        })
    }

    /// `x` `[B, H, T, head_dim]`, contiguous.
    pub(super) fn apply(&self, x: &Tensor) -> CResult<Tensor> {
        ops::rope(x, &self.cos, &self.sin)
    }

    pub(super) fn positions(&self) -> Positions<'_> {
        Positions::Rotary {
            cos: &self.cos_host,
            sin: &self.sin_host,
        }
    }
}
