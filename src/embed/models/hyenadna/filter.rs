//! The implicit long filter of a Hyena operator (`mixer.filter_fn`).
//!
//! The filter is a function of position only: an MLP with sine activations applied to a
//! positional embedding `z`, times an exponential decay window. `z` and `t` are built on the
//! `max_seq_len` grid, not on the input length, so the filter for an input of `T` tokens is the
//! first `T` rows of one `[max_seq_len, d]` table, which [`ImplicitFilter::taps`] computes once.

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::VarBuilder;

use super::super::ops::{dense, dense_no_bias, Dense};
use super::Config;

/// Shift added to the decay window (`HyenaExponentialModulation.shift`).
const MODULATION_SHIFT: f64 = 0.05;
/// Decay targets of `HyenaExponentialModulation`: the window falls to `TARGET` after
/// `FAST_DECAY_PCT` (fastest channel) to `SLOW_DECAY_PCT` (slowest) of the grid.
const TARGET: f64 = 1e-2;
const FAST_DECAY_PCT: f64 = 0.3;
const SLOW_DECAY_PCT: f64 = 1.5;

/// `mixer.filter_fn`: the filter MLP, its inputs, and the `D` skip term.
pub struct ImplicitFilter {
    /// `pos_emb.z` `[L, emb_dim]`.
    z: Tensor,
    /// `pos_emb.t` `[L, 1]`.
    t: Tensor,
    /// `implicit_filter.{0,2,4,..}`; every one but the last is followed by the sine.
    layers: Vec<Dense>,
    /// The one `freq` `[1, filter_order]` shared by every sine (`implicit_filter.1.freq`).
    freq: Tensor,
    /// `modulation.deltas` `[1, 1, d]`.
    deltas: Tensor,
    /// `bias` `[d]`: the `D` skip term of the long convolution.
    pub bias: Tensor,
}

impl ImplicitFilter {
    /// Loads the filter; the buffers `z`, `t` and `deltas` are computed as the reference
    /// constructor does when a checkpoint lacks them.
    pub fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let (len, dev) = (cfg.max_seq_len, vb.device().clone());
        let pos = vb.pp("pos_emb");
        let z = match pos.contains_tensor("z") {
            true => pos.get((1, len, cfg.emb_dim), "z")?,
            false => positional_z(len, cfg.emb_dim, &dev)?,
        };
        let t = match pos.contains_tensor("t") {
            true => pos.get((1, len, 1), "t")?,
            false => Tensor::from_vec(linspace(0.0, 1.0, len), (1, len, 1), &dev)?,
        };
        let md = vb.pp("modulation");
        let deltas = match md.contains_tensor("deltas") {
            true => md.get((1, 1, cfg.d_model), "deltas")?,
            false => default_deltas(cfg.d_model, &dev)?,
        };
        let mlp = vb.pp("implicit_filter");
        let freq = match cfg.train_freq {
            true => mlp.get((1, cfg.filter_order), "1.freq")?,
            false => Tensor::full(cfg.activation_freq as f32, (1, cfg.filter_order), &dev)?,
        };
        let mut layers = vec![dense(cfg.emb_dim, cfg.filter_order, mlp.pp("0"))?];
        for i in 0..cfg.num_inner_mlps {
            layers.push(dense(
                cfg.filter_order,
                cfg.filter_order,
                mlp.pp(2 * i + 2),
            )?);
        }
        let last = 2 * cfg.num_inner_mlps + 2;
        layers.push(dense_no_bias(cfg.filter_order, cfg.d_model, mlp.pp(last))?);
        let bias = vb.get(cfg.d_model, "bias")?;
        Ok(ImplicitFilter {
            z: z.squeeze(0)?,
            t: t.squeeze(0)?,
            layers,
            freq,
            deltas,
            bias,
        })
    }

    /// The filter on the whole grid, `[max_seq_len, d]`: row `j` is the tap at lag `j`.
    pub fn taps(&self) -> Result<Tensor> {
        let mut h = self.z.to_dtype(DType::F32)?;
        let (last, hidden) = self
            .layers
            .split_last()
            .expect("the filter has an output layer");
        for layer in hidden {
            h = layer.forward(&h)?.broadcast_mul(&self.freq)?.sin()?;
        }
        let h = last.forward(&h)?;
        let decay = self
            .t
            .broadcast_mul(&self.deltas.abs()?.flatten_all()?)?
            .neg()?
            .exp()?;
        h.broadcast_mul(&(decay + MODULATION_SHIFT)?)
    }
}

/// `torch.linspace(start, end, steps)`, in f64.
fn linspace(start: f64, end: f64, steps: usize) -> Vec<f32> {
    let step = if steps > 1 {
        (end - start) / (steps - 1) as f64
    } else {
        0.0
    };
    (0..steps)
        .map(|i| (start + i as f64 * step) as f32)
        .collect()
}

/// `HyenaPositionalEmbedding.z` `[1, L, emb_dim]`: `t`, then the cosines and the sines of
/// `(emb_dim - 1) / 2` bands.
fn positional_z(len: usize, emb_dim: usize, dev: &Device) -> Result<Tensor> {
    let bands = (emb_dim.saturating_sub(1) / 2).max(1);
    let freqs = linspace(1e-4, bands as f64 - 1.0, bands);
    let t = Tensor::from_vec(linspace(0.0, 1.0, len), (len, 1), dev)?;
    let w: Vec<f32> = (0..len)
        .map(|i| (2.0 * std::f64::consts::PI * i as f64 / len as f64) as f32)
        .collect();
    let fw = Tensor::from_vec(w, (len, 1), dev)?
        .broadcast_mul(&Tensor::new(freqs, dev)?.unsqueeze(0)?)?;
    let z = Tensor::cat(&[t, fw.neg()?.cos()?, fw.neg()?.sin()?], D::Minus1)?;
    z.unsqueeze(0)
}

/// `HyenaExponentialModulation.deltas` `[1, 1, d]`.
fn default_deltas(d: usize, dev: &Device) -> Result<Tensor> {
    let (max_decay, min_decay) = (TARGET.ln() / FAST_DECAY_PCT, TARGET.ln() / SLOW_DECAY_PCT);
    Tensor::from_vec(linspace(min_decay, max_decay, d), (1, 1, d), dev)
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor};
    use candle_nn::VarBuilder;
    use std::collections::HashMap;

    use super::*;

    /// A filter with constant weights and every buffer computed.
    fn filter(cfg: &Config) -> ImplicitFilter {
        let dev = Device::Cpu;
        let (o, e, d) = (cfg.filter_order, cfg.emb_dim, cfg.d_model);
        let mut ts = HashMap::new();
        let mut put = |name: &str, shape: &[usize]| {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 13) as f32 / 13.0 - 0.5)
                .collect();
            ts.insert(
                name.to_string(),
                Tensor::from_vec(data, shape, &dev).unwrap(),
            );
        };
        put("bias", &[d]);
        put("implicit_filter.1.freq", &[1, o]);
        put("implicit_filter.0.weight", &[o, e]);
        put("implicit_filter.0.bias", &[o]);
        for i in 0..cfg.num_inner_mlps {
            put(&format!("implicit_filter.{}.weight", 2 * i + 2), &[o, o]);
            put(&format!("implicit_filter.{}.bias", 2 * i + 2), &[o]);
        }
        put(
            &format!("implicit_filter.{}.weight", 2 * cfg.num_inner_mlps + 2),
            &[d, o],
        );
        ImplicitFilter::load(VarBuilder::from_tensors(ts, DType::F32, &dev), cfg).unwrap()
    }

    #[test]
    fn taps_cover_the_whole_grid() {
        let cfg = Config::tiny_for_tests();
        let f = filter(&cfg);
        assert_eq!(f.z.dims(), &[cfg.max_seq_len, cfg.emb_dim]);
        assert_eq!(f.t.dims(), &[cfg.max_seq_len, 1]);
        assert_eq!(f.deltas.dims(), &[1, 1, cfg.d_model]);
        let taps = f.taps().unwrap();
        assert_eq!(taps.dims(), &[cfg.max_seq_len, cfg.d_model]);
        let v: Vec<f32> = taps.flatten_all().unwrap().to_vec1().unwrap();
        assert!(v.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn computed_buffers_follow_the_reference_constructor() {
        let z: Vec<Vec<f32>> = positional_z(4, 5, &Device::Cpu)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec2()
            .unwrap();
        // Row 0: t = 0, cos(0) = 1, sin(0) = 0; the first band's frequency is 1e-4.
        assert_eq!(z[0], vec![0.0, 1.0, 1.0, 0.0, 0.0]);
        let w = 2.0 * std::f32::consts::PI * 3.0 / 4.0;
        assert!(
            (z[3][0] - 1.0).abs() < 1e-7
                && (z[3][2] - w.cos()).abs() < 1e-6
                && (z[3][4] + w.sin()).abs() < 1e-6
        );
        let deltas: Vec<f32> = default_deltas(3, &Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let (lo, hi) = ((0.01f64.ln() / 1.5) as f32, (0.01f64.ln() / 0.3) as f32);
        assert!((deltas[0] - lo).abs() < 1e-6 && (deltas[2] - hi).abs() < 1e-6);
    }
}
