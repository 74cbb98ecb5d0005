//! One step's batch split into shares that run forward and backward at once, one share per
//! thread, their gradients summed by the optimiser.
//!
//! Why: with every kernel of one batch split across the threads, each gemm and fused op ends
//! in a wait for the slowest thread, and gemm's two-thread speed-up at these shapes is
//! 1.45-2.0x (BENCHMARKS.md, "Fused kernels with backward passes"). Shares of the batch need
//! no waits until their gradients are summed. The model and every layer are per row (LayerNorm
//! over the hidden size, attention within a sequence, the head over each sequence's pooled
//! state), so the shares' gradients add up to the batch's: share `s` of `n_s` rows contributes
//! its mean loss times `n_s / n`. The sum is taken in share order, so a run is the same from
//! one time to the next at a given thread count; between thread counts the batch's loss and
//! gradients differ by rounding only.

use candle_core::backprop::GradStore;
use candle_core::Tensor;
use rayon::prelude::*;

use crate::embed::models::with_threads;
use crate::{Error, Result};

/// Shares are at least this many rows: smaller ones make each gemm too short to run well.
const MIN_SHARE: usize = 4;

/// The loss of a batch and its gradients, one store per share (to be summed).
pub struct BatchGradients {
    /// The batch's mean loss.
    pub loss: f64,
    /// Each share's gradients of its part of the batch's mean loss, in share order.
    pub stores: Vec<GradStore>,
}

/// The shares of a batch of `n` rows on `threads` threads: at most one per thread, each of at
/// least [`MIN_SHARE`] rows (one share when the batch is smaller), their sizes within one.
fn share_sizes(n: usize, threads: usize) -> Vec<usize> {
    let shares = threads.min(n / MIN_SHARE).max(1);
    (0..shares)
        .map(|s| n / shares + usize::from(s < n % shares))
        .collect()
}

/// The mean loss of `batch` and its gradients, with `batch` split into shares across `threads`
/// threads; `loss(rows)` is the mean loss of `rows` (a graph of the trained variables).
pub fn batch_gradients<T: Sync>(
    batch: &[T],
    threads: usize,
    loss: impl Fn(&[T]) -> Result<Tensor> + Sync,
) -> Result<BatchGradients> {
    let sizes = share_sizes(batch.len(), threads);
    if sizes.len() == 1 {
        // One share takes the kernels' own threads, as a whole-batch step always did.
        let (loss, store) = share_gradients(batch, batch.len(), &loss)?;
        return Ok(BatchGradients {
            loss,
            stores: vec![store],
        });
    }
    let per_share = (threads / sizes.len()).max(1);
    let mut shares = Vec::with_capacity(sizes.len());
    let mut rest = batch;
    for size in sizes {
        let (share, tail) = rest.split_at(size);
        shares.push(share);
        rest = tail;
    }
    let parts: Vec<(f64, GradStore)> = shares
        .into_par_iter()
        .map(|share| with_threads(per_share, || share_gradients(share, batch.len(), &loss)))
        .collect::<Result<_>>()?;
    let loss = parts.iter().map(|(l, _)| l).sum();
    Ok(BatchGradients {
        loss,
        stores: parts.into_iter().map(|(_, s)| s).collect(),
    })
}

/// Share `rows` of a batch of `n`: its part of the batch's mean loss, and its gradients.
fn share_gradients<T>(
    rows: &[T],
    n: usize,
    loss: &impl Fn(&[T]) -> Result<Tensor>,
) -> Result<(f64, GradStore)> {
    let mut part = loss(rows)?;
    if rows.len() != n {
        part = part
            .affine(rows.len() as f64 / n as f64, 0.0)
            .map_err(Error::model)?;
    }
    let grads = part.backward().map_err(Error::model)?;
    let value: f32 = part.to_scalar().map_err(Error::model)?;
    Ok((value as f64, grads))
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    #[test]
    fn shares_cover_the_batch_one_per_thread_and_not_too_small() {
        assert_eq!(share_sizes(16, 1), vec![16]);
        assert_eq!(share_sizes(16, 2), vec![8, 8]);
        assert_eq!(share_sizes(15, 2), vec![8, 7]);
        assert_eq!(share_sizes(16, 16), vec![4, 4, 4, 4]);
        assert_eq!(share_sizes(7, 2), vec![7]);
        assert_eq!(share_sizes(0, 2), vec![0]);
    }

    /// The shares' losses and summed gradients equal the whole batch's.
    #[test]
    fn shares_sum_to_the_whole_batch() {
        let dev = Device::Cpu;
        let w = Var::from_tensor(&Tensor::randn(0f32, 1.0, (5, 3), &dev).unwrap()).unwrap();
        let x = Tensor::randn(0f32, 1.0, (11, 5), &dev).unwrap();
        let rows: Vec<usize> = (0..11).collect();
        // A per-row loss: the mean over rows of each row's squared output.
        let loss = |rows: &[usize]| -> Result<Tensor> {
            let idx = Tensor::new(rows.iter().map(|&r| r as u32).collect::<Vec<_>>(), &dev)
                .map_err(Error::model)?;
            let y = x
                .index_select(&idx, 0)
                .and_then(|x| x.matmul(w.as_tensor()));
            y.and_then(|y| y.sqr()?.sum(1)?.mean_all())
                .map_err(Error::model)
        };
        let whole = batch_gradients(&rows, 1, loss).unwrap();
        let split = batch_gradients(&rows, 2, loss).unwrap();
        assert_eq!((whole.stores.len(), split.stores.len()), (1, 2));
        assert!((whole.loss - split.loss).abs() < 1e-5 * whole.loss.abs());
        let grad = |s: &GradStore| -> Vec<f32> {
            s.get(w.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        let summed: Vec<f32> = grad(&split.stores[0])
            .iter()
            .zip(grad(&split.stores[1]))
            .map(|(a, b)| a + b)
            .collect();
        let diff = crate::vecmath::max_abs_diff(&grad(&whole.stores[0]), &summed);
        assert!(diff < 1e-4, "{diff}");
        assert!(grad(&split.stores[0]).iter().any(|g| g.abs() > 1e-3));
        // The same split repeats exactly.
        let again = batch_gradients(&rows, 2, loss).unwrap();
        assert_eq!(again.loss, split.loss);
        for (a, b) in again.stores.iter().zip(&split.stores) {
            assert_eq!(grad(a), grad(b));
        }
    }
}
