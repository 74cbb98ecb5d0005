//! AdamW that updates each CPU variable in place, in one pass over its values.
//!
//! `candle_nn::AdamW` builds each update from tensor ops: about a dozen temporaries the size
//! of the variable per step. For a 50M-parameter model that is gigabytes of fresh pages per
//! step, which the kernel zeroes (a fifth of an NT-v2-50M step went to `clear_page`). Here
//! the moments are plain vectors and one fused loop updates them and the weight. The
//! formulas are candle's (decoupled weight decay, bias-corrected moments), in f32. Variables
//! on another device or of another dtype keep candle's optimiser.

use std::sync::Mutex;

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, DType, InplaceOp2, Layout, Storage, Tensor, Var};
use candle_nn::{Optimizer, ParamsAdamW};
use rayon::prelude::*;

use crate::{Error, Result};

/// AdamW over a fixed set of variables.
pub struct AdamW {
    fused: Vec<(Var, Mutex<Moments>)>,
    /// The variables the fused loop cannot take (not CPU f32), under candle's AdamW.
    others: Option<(Vec<Var>, candle_nn::AdamW)>,
    params: ParamsAdamW,
    step: i32,
}

/// The first and second moments of one variable, in its element order.
struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
}

impl AdamW {
    /// Zero moments for every float variable of `vars`.
    pub fn new(vars: Vec<Var>, params: ParamsAdamW) -> Result<Self> {
        let (fused, others): (Vec<Var>, Vec<Var>) = vars
            .into_iter()
            .filter(|v| v.dtype().is_float())
            .partition(|v| v.device().is_cpu() && v.dtype() == DType::F32);
        let others = match others.is_empty() {
            true => None,
            false => {
                let adamw = candle_nn::AdamW::new(others.clone(), params.clone());
                Some((others, adamw.map_err(Error::model)?))
            }
        };
        let fused = fused
            .into_iter()
            .map(|var| {
                let n = var.elem_count();
                let moments = Moments {
                    m: vec![0.0; n],
                    v: vec![0.0; n],
                };
                (var, Mutex::new(moments))
            })
            .collect();
        Ok(AdamW {
            fused,
            others,
            params,
            step: 0,
        })
    }

    /// Sets the learning rate of the next steps.
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr;
        if let Some((_, others)) = &mut self.others {
            others.set_learning_rate(lr);
        }
    }

    /// Backpropagates `loss` and takes one step.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward().map_err(Error::model)?;
        self.step(vec![grads])
    }

    /// Takes one step along the sum of the gradients in `stores` (one store per share of the
    /// batch, see `shares`); a variable with no gradient in any store keeps its value.
    pub fn step(&mut self, mut stores: Vec<GradStore>) -> Result<()> {
        self.step += 1;
        let p = &self.params;
        let update = Update {
            lr: p.lr as f32,
            decay: (1.0 - p.lr * p.weight_decay) as f32,
            beta1: p.beta1 as f32,
            beta2: p.beta2 as f32,
            scale_m: (1.0 / (1.0 - p.beta1.powi(self.step))) as f32,
            scale_v: (1.0 / (1.0 - p.beta2.powi(self.step))) as f32,
            eps: p.eps as f32,
        };
        // Variables on rayon's threads, each updated whole by one thread: the update is bound
        // by memory, and a step's weights and moments are hundreds of MB for the larger models.
        self.fused.par_iter().try_for_each(|(var, moments)| {
            let mut grads = gradients(&stores, var)?.into_iter();
            let Some(g) = grads.next() else {
                return Ok(());
            };
            let op = Fused {
                update: &update,
                moments,
                more: grads.collect(),
            };
            var.as_tensor().inplace_op2(&g, &op).map_err(Error::model)
        })?;
        if let Some((vars, others)) = &mut self.others {
            sum_into_first(&mut stores, vars)?;
            if let Some(summed) = stores.first() {
                others.step(summed).map_err(Error::model)?;
            }
        }
        Ok(())
    }
}

/// Replaces each of `vars`' gradients in the first store by its sum over all stores (candle's
/// optimiser takes one store).
fn sum_into_first(stores: &mut [GradStore], vars: &[Var]) -> Result<()> {
    if stores.len() < 2 {
        return Ok(());
    }
    for var in vars {
        let mut grads = gradients(stores, var)?.into_iter();
        if let Some(first) = grads.next() {
            let sum = grads.try_fold(first, |acc, g| acc.add(&g));
            stores[0].insert(var.as_tensor(), sum.map_err(Error::model)?);
        }
    }
    Ok(())
}

/// `var`'s gradient in each store that has one, contiguous.
fn gradients(stores: &[GradStore], var: &Var) -> Result<Vec<Tensor>> {
    stores
        .iter()
        .filter_map(|s| s.get(var.as_tensor()))
        .map(|g| g.contiguous().map_err(Error::model))
        .collect()
}

/// The constants of one step.
struct Update {
    lr: f32,
    /// `1 - lr * weight_decay`.
    decay: f32,
    beta1: f32,
    beta2: f32,
    scale_m: f32,
    scale_v: f32,
    eps: f32,
}

impl Update {
    /// One element: updates its moments and returns the new weight.
    #[inline(always)]
    fn apply(&self, theta: f32, g: f32, m: &mut f32, v: &mut f32) -> f32 {
        *m = *m * self.beta1 + g * (1.0 - self.beta1);
        *v = *v * self.beta2 + g * g * (1.0 - self.beta2);
        let step = (*m * self.scale_m) / ((*v * self.scale_v).sqrt() + self.eps);
        theta * self.decay - step * self.lr
    }
}

/// The in-place update of one variable from its gradient: the op's operand, plus `more`.
struct Fused<'a> {
    update: &'a Update,
    moments: &'a Mutex<Moments>,
    /// The other shares' gradients of the variable (contiguous, as long as the operand).
    more: Vec<Tensor>,
}

impl InplaceOp2 for Fused<'_> {
    fn name(&self) -> &'static str {
        "adamw-fused"
    }

    fn cpu_fwd(
        &self,
        theta: &mut CpuStorage,
        theta_l: &Layout,
        g: &CpuStorage,
        g_l: &Layout,
    ) -> candle_core::Result<()> {
        let (ts, te) = theta_l
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("adamw: weight not contiguous".into()))?;
        let (gs, ge) = g_l
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("adamw: gradient not contiguous".into()))?;
        let grad = &g.as_slice::<f32>()?[gs..ge];
        let CpuStorage::F32(theta) = theta else {
            candle_core::bail!("adamw: weight is not f32");
        };
        let theta = &mut theta[ts..te];
        let mut moments = self
            .moments
            .lock()
            .expect("the moments lock is never poisoned");
        let Moments { m, v } = &mut *moments;
        if grad.len() != theta.len() || m.len() != theta.len() {
            candle_core::bail!("adamw: {} weights, {} gradients", theta.len(), grad.len());
        }
        let guards: Vec<_> = self.more.iter().map(Tensor::storage_and_layout).collect();
        let more = guards
            .iter()
            .map(
                |(storage, layout)| match (&**storage, layout.contiguous_offsets()) {
                    (Storage::Cpu(CpuStorage::F32(g)), Some((s, e))) if e - s == grad.len() => {
                        Ok(&g[s..e])
                    }
                    _ => candle_core::bail!("adamw: a share's gradient is not like the first"),
                },
            )
            .collect::<candle_core::Result<Vec<&[f32]>>>()?;
        // The shares' sum (the operand alone for one share), a chunk at a time, in share
        // order: the chunk stays in L1 between the sum and the update.
        const CHUNK: usize = 1024;
        let mut sum = [0f32; CHUNK];
        for (start, ((t, m), v)) in theta
            .chunks_mut(CHUNK)
            .zip(m.chunks_mut(CHUNK))
            .zip(v.chunks_mut(CHUNK))
            .enumerate()
        {
            let at = start * CHUNK..start * CHUNK + t.len();
            let sum = &mut sum[..t.len()];
            sum.copy_from_slice(&grad[at.clone()]);
            for g in &more {
                sum.iter_mut()
                    .zip(&g[at.clone()])
                    .for_each(|(s, g)| *s += g);
            }
            for (((t, &g), m), v) in t.iter_mut().zip(sum.iter()).zip(m).zip(v) {
                *t = self.update.apply(*t, g, m, v);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    fn values(v: &Var) -> Vec<f32> {
        v.as_tensor().flatten_all().unwrap().to_vec1().unwrap()
    }

    /// The fused update against candle's AdamW over a few steps with a changing learning rate.
    #[test]
    fn fused_steps_equal_candles_adamw() {
        let x = Tensor::randn(0f32, 1.0, (6, 5), &Device::Cpu).unwrap();
        let init = Tensor::randn(0f32, 1.0, (5, 3), &Device::Cpu).unwrap();
        let ours = Var::from_tensor(&init).unwrap();
        let theirs = Var::from_tensor(&init).unwrap();
        let params = ParamsAdamW {
            lr: 0.05,
            weight_decay: 0.1,
            ..ParamsAdamW::default()
        };
        let mut fused = AdamW::new(vec![ours.clone()], params.clone()).unwrap();
        let mut candle = candle_nn::AdamW::new(vec![theirs.clone()], params).unwrap();
        let loss = |w: &Var| {
            x.matmul(w.as_tensor())
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
        };
        for step in 0..5 {
            let lr = 0.05 / (step + 1) as f64;
            fused.set_learning_rate(lr);
            candle.set_learning_rate(lr);
            fused.backward_step(&loss(&ours)).unwrap();
            candle.backward_step(&loss(&theirs)).unwrap();
            let diff = crate::vecmath::max_abs_diff(&values(&ours), &values(&theirs));
            assert!(diff < 1e-5, "step {step}: {diff}");
        }
        let init: Vec<f32> = init.flatten_all().unwrap().to_vec1().unwrap();
        assert!(crate::vecmath::max_abs_diff(&values(&ours), &init) > 1e-3);
    }

    /// A step over two stores (two shares of a batch) is the step over their sum, for a
    /// variable longer than one chunk of the summing loop.
    #[test]
    fn a_step_over_shares_is_the_step_over_their_sum() {
        let dev = Device::Cpu;
        let init = Tensor::randn(0f32, 1.0, (50, 41), &dev).unwrap();
        let (a, b) = (
            Var::from_tensor(&init).unwrap(),
            Var::from_tensor(&init).unwrap(),
        );
        let x = Tensor::randn(0f32, 1.0, (4, 50), &dev).unwrap();
        let y = Tensor::randn(0f32, 1.0, (3, 50), &dev).unwrap();
        let loss = |x: &Tensor, w: &Var| x.matmul(w.as_tensor()).unwrap().sqr().unwrap();
        let mut shares = AdamW::new(vec![a.clone()], ParamsAdamW::default()).unwrap();
        let mut whole = AdamW::new(vec![b.clone()], ParamsAdamW::default()).unwrap();
        for _ in 0..3 {
            let stores = [&x, &y].map(|x| loss(x, &a).sum_all().unwrap().backward().unwrap());
            shares.step(stores.into()).unwrap();
            let both = Tensor::cat(&[&x, &y], 0).unwrap();
            whole
                .backward_step(&loss(&both, &b).sum_all().unwrap())
                .unwrap();
            let diff = crate::vecmath::max_abs_diff(&values(&a), &values(&b));
            assert!(diff < 1e-5, "{diff}");
        }
        let init: Vec<f32> = init.flatten_all().unwrap().to_vec1().unwrap();
        assert!(crate::vecmath::max_abs_diff(&values(&a), &init) > 1e-3);
    }
}
