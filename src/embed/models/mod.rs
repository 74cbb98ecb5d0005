//! DNA language-model embedders (DNABERT-2, Nucleotide Transformer v1/v2, HyenaDNA) on candle.
//!
//! Each family implements [`LanguageModel`]: a tokenizer that matches the reference exactly and
//! a forward pass to the last hidden states. [`ModelEmbedder`] turns any of them into an
//! [`Embedder`]: it uppercases the validated sequence, tokenizes, pads a batch on the right,
//! runs the model, pools (masked mean over real tokens, special tokens included, as every
//! reference does), averages overlapping windows of long sequences, and optionally
//! L2-normalises.
//!
//! genovec uppercases input before tokenizing. The references do not: DNABERT-2 maps soft-masked
//! (lowercase) bases to `[UNK]`, NT splits them into single-letter tokens. genovec departs from
//! them on purpose, so that soft-masking in a FASTA file does not change an embedding. The
//! parity tests call [`LanguageModel::tokenize`] on the raw fixture strings, lowercase included.

mod attention;
mod checkpoint;
mod device;
pub mod dnabert2;
mod fastmath;
mod gated;
mod grad_linear;
mod grad_ops;
pub mod hyenadna;
mod matmul;
pub mod nt;
mod ops;
mod panels;
mod parallel;
mod unpad;
mod window;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;

pub use checkpoint::{checkpoint_identity, detect_family, read_config, weights_file, Family};
pub use device::default_device;
pub use parallel::{thread_budget, with_threads};
pub use window::windows;

use super::Embedder;
use crate::{Error, Result};

/// A DNA language model loaded from a Hugging Face checkpoint folder.
pub trait LanguageModel: Send + Sync {
    /// The family name used in specs: `dnabert2`, `nt` or `hyenadna`.
    fn family(&self) -> &'static str;
    /// Width of the hidden states, which is the embedding dimension.
    fn hidden_size(&self) -> usize;
    /// The longest input, in bases, embedded in one window; longer inputs are cut into
    /// overlapping windows of this many bases (see [`windows`]).
    fn max_bases(&self) -> usize;
    /// Token ids exactly as the reference tokenizer gives them for `seq` as is (no
    /// uppercasing), special tokens included.
    fn tokenize(&self, seq: &str) -> Result<Vec<u32>>;
    /// The id used to pad a batch.
    fn pad_id(&self) -> u32;
    /// Last hidden states `[B, T, d]` (F32) for right-padded `ids` `[B, T]` (U32) with `mask`
    /// `[B, T]` (F32, 1 on real tokens). Rows of real tokens must not depend on the padding.
    fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor>;
    /// Layers in the stack (what `--last-layers` counts).
    fn layer_count(&self) -> usize;
    /// The residual stream `[B, T, d]` entering layer `layers`: the embeddings, then layers
    /// `0..layers` (all of them when `layers` is larger). Its real-token rows are what
    /// [`LanguageModel::forward_from`] takes; pad rows hold no information.
    fn hidden_before(&self, ids: &Tensor, mask: &Tensor, layers: usize) -> Result<Tensor>;
    /// The last hidden states from the stream `hidden` `[B, T, d]` entering layer `first`:
    /// layers `first..`, then the final norm. Pad rows of `hidden` may hold anything finite.
    /// `forward_from(hidden_before(ids, mask, n), mask, n)` is `forward(ids, mask)`.
    fn forward_from(&self, hidden: &Tensor, mask: &Tensor, first: usize) -> Result<Tensor>;
    /// The device the weights live on.
    fn device(&self) -> &Device;
}

/// Loads the model in `dir` for `family` (or the family `config.json` names).
pub fn load_model(
    family: Option<Family>,
    dir: &Path,
    device: &Device,
) -> Result<Box<dyn LanguageModel>> {
    load_model_with(family, dir, device, None)
}

/// [`load_model`]; with `vars`, every weight is a trainable variable in that map, under the
/// checkpoint's own tensor names, and the forward pass is differentiable (see `ops`).
pub fn load_model_with(
    family: Option<Family>,
    dir: &Path,
    device: &Device,
    vars: Option<&VarMap>,
) -> Result<Box<dyn LanguageModel>> {
    let family = match family {
        Some(f) => f,
        None => detect_family(dir)?,
    };
    Ok(match family {
        Family::Dnabert2 => Box::new(dnabert2::Dnabert2::load_with(dir, device, vars)?),
        Family::Nt => Box::new(nt::NucleotideTransformer::load_with(dir, device, vars)?),
        Family::HyenaDna => Box::new(hyenadna::HyenaDna::load_with(dir, device, vars)?),
    })
}

/// Right-pads token id lists into `ids` `[B, T]` (U32) and `mask` `[B, T]` (F32).
pub fn pad_batch(batch: &[Vec<u32>], pad_id: u32, device: &Device) -> Result<(Tensor, Tensor)> {
    let width = batch.iter().map(Vec::len).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(batch.len() * width);
    let mut mask = Vec::with_capacity(batch.len() * width);
    for row in batch {
        ids.extend_from_slice(row);
        ids.extend(std::iter::repeat_n(pad_id, width - row.len()));
        mask.extend(std::iter::repeat_n(1f32, row.len()));
        mask.extend(std::iter::repeat_n(0f32, width - row.len()));
    }
    let shape = (batch.len(), width);
    let ids = Tensor::from_vec(ids, shape, device).map_err(Error::model)?;
    let mask = Tensor::from_vec(mask, shape, device).map_err(Error::model)?;
    Ok((ids, mask))
}

/// Masked mean over the token axis: `[B, T, d]` with mask `[B, T]` gives `[B, d]`.
pub fn masked_mean(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let run = || -> candle_core::Result<Tensor> {
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1.0, f64::INFINITY)?;
        summed.broadcast_div(&counts)
    };
    run().map_err(Error::model)
}

/// A language model as an [`Embedder`].
pub struct ModelEmbedder {
    model: Box<dyn LanguageModel>,
    identity: String,
    normalize: bool,
    /// Sequences (windows) per forward pass.
    batch: usize,
}

impl ModelEmbedder {
    /// Loads `dir` (see [`load_model`]) and fingerprints its config and weights.
    pub fn load(family: Option<Family>, dir: &Path, normalize: bool) -> Result<Self> {
        let model = load_model(family, dir, &default_device()?)?;
        let identity = format!(
            "{};{};pool=mean;l2={normalize}",
            model.family(),
            checkpoint_identity(dir)?
        );
        Ok(ModelEmbedder {
            model,
            identity,
            normalize,
            batch: 16,
        })
    }

    /// The model behind this embedder.
    pub fn model(&self) -> &dyn LanguageModel {
        self.model.as_ref()
    }

    /// Pooled embeddings of already tokenized inputs, `batch` at a time.
    fn pool_tokens(&self, tokens: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(tokens.len());
        for chunk in tokens.chunks(self.batch) {
            let (ids, mask) = pad_batch(chunk, self.model.pad_id(), self.model.device())?;
            let hidden = self.model.forward(&ids, &mask)?;
            let pooled = masked_mean(&hidden, &mask)?;
            out.extend(pooled.to_vec2::<f32>().map_err(Error::model)?);
        }
        Ok(out)
    }
}

impl Embedder for ModelEmbedder {
    fn name(&self) -> &str {
        self.model.family()
    }

    fn identity(&self) -> String {
        self.identity.clone()
    }

    fn dim(&self) -> usize {
        self.model.hidden_size()
    }

    fn embed_batch(&self, seqs: &[&[u8]]) -> Result<Vec<Vec<f32>>> {
        // Every window of every sequence, in order; `owner[i]` is window i's sequence.
        let mut tokens = Vec::new();
        let mut owner = Vec::new();
        for (i, seq) in seqs.iter().enumerate() {
            let upper = String::from_utf8_lossy(seq).to_ascii_uppercase();
            for w in windows(upper.len(), self.model.max_bases()) {
                tokens.push(self.model.tokenize(&upper[w])?);
                owner.push(i);
            }
        }
        let pooled = self.pool_tokens(&tokens)?;
        let mut out = vec![vec![0f32; self.dim()]; seqs.len()];
        let mut counts = vec![0usize; seqs.len()];
        for (v, &i) in pooled.iter().zip(&owner) {
            out[i].iter_mut().zip(v).for_each(|(o, x)| *o += x);
            counts[i] += 1;
        }
        for (v, &n) in out.iter_mut().zip(&counts) {
            v.iter_mut().for_each(|x| *x /= n.max(1) as f32);
            if self.normalize {
                crate::vecmath::normalize(v);
            }
        }
        Ok(out)
    }
}

/// A parity fixture folder under `GENOVEC_SHARED` (default `../shared` beside the crate).
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> std::path::PathBuf {
    let shared = std::env::var_os("GENOVEC_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    shared.join("fixtures/models").join(name)
}
