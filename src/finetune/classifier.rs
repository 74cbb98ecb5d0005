//! A language model with a linear classification head over its pooled hidden states.

use candle_core::{DType, Device, Tensor};
use candle_nn::{Linear, Module};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::embed::models::{masked_mean, pad_batch, LanguageModel};
use crate::{Error, Result};

/// Standard deviation of the head's initial weights (BERT's `initializer_range`).
const HEAD_INIT_STD: f64 = 0.02;

/// `softmax(W · mean_pool(model(x)) + b)`: the fine-tuned classifier.
pub struct SequenceClassifier {
    model: Box<dyn LanguageModel>,
    head: Linear,
    labels: Vec<String>,
}

impl SequenceClassifier {
    /// Wraps `model` with `head` (`weight` `[labels, hidden]`, `bias` `[labels]`).
    pub fn new(model: Box<dyn LanguageModel>, head: Linear, labels: Vec<String>) -> Self {
        SequenceClassifier {
            model,
            head,
            labels,
        }
    }

    /// A seeded random head for `n_classes` on top of a `hidden`-wide model: weights uniform
    /// with standard deviation 0.02, zero bias.
    pub fn init_head(
        hidden: usize,
        n_classes: usize,
        seed: u64,
        device: &Device,
    ) -> Result<(Tensor, Tensor)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let half_width = (HEAD_INIT_STD * 3f64.sqrt()) as f32;
        let w: Vec<f32> = (0..hidden * n_classes)
            .map(|_| rng.gen_range(-half_width..half_width))
            .collect();
        let weight = Tensor::from_vec(w, (n_classes, hidden), device).map_err(Error::model)?;
        let bias = Tensor::zeros(n_classes, DType::F32, device).map_err(Error::model)?;
        Ok((weight, bias))
    }

    /// The class labels, in the order of the logits.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The language model under the head.
    pub fn model(&self) -> &dyn LanguageModel {
        self.model.as_ref()
    }

    /// Token ids of one sequence: uppercased (as the embedders do) and cut to the model's
    /// window, its first `max_bases` bases.
    pub fn tokens(&self, seq: &[u8]) -> Result<Vec<u32>> {
        let keep = seq.len().min(self.model.max_bases());
        let upper = String::from_utf8_lossy(&seq[..keep]).to_ascii_uppercase();
        self.model.tokenize(&upper)
    }

    /// Logits `[B, labels]` of a batch of token lists.
    pub fn logits(&self, batch: &[Vec<u32>]) -> Result<Tensor> {
        let (ids, mask) = pad_batch(batch, self.model.pad_id(), self.model.device())?;
        let hidden = self.model.forward(&ids, &mask)?;
        let pooled = masked_mean(&hidden, &mask)?;
        self.head.forward(&pooled).map_err(Error::model)
    }

    /// Logits `[B, labels]` from the stream `[B, T, d]` entering layer `first` (a cached
    /// frozen prefix), with its mask `[B, T]`.
    pub fn logits_from(&self, stream: &Tensor, mask: &Tensor, first: usize) -> Result<Tensor> {
        let hidden = self.model.forward_from(stream, mask, first)?;
        let pooled = masked_mean(&hidden, mask)?;
        self.head.forward(&pooled).map_err(Error::model)
    }

    /// Class probabilities of each sequence, `batch` sequences per forward pass.
    pub fn predict_proba(&self, seqs: &[&[u8]], batch: usize) -> Result<Vec<Vec<f64>>> {
        let mut out = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(batch.max(1)) {
            let tokens = chunk
                .iter()
                .map(|s| self.tokens(s))
                .collect::<Result<Vec<_>>>()?;
            let probs = candle_nn::ops::softmax(&self.logits(&tokens)?, 1)
                .and_then(|p| p.detach().to_vec2::<f32>())
                .map_err(Error::model)?;
            out.extend(
                probs
                    .into_iter()
                    .map(|row| row.into_iter().map(f64::from).collect()),
            );
        }
        Ok(out)
    }
}
