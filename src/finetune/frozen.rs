//! The frozen prefix of a `--last-layers N` fine-tune, run once.
//!
//! Under [`super::Scope::LastLayers`] the embeddings and the layers before the last `N` never
//! change, so the residual stream entering the first trained layer is the same at every
//! epoch. It is computed once per row before the first step ([`FrozenCache::build`]); each
//! step and each dev evaluation then run only the trained layers on it, and the backward
//! pass stops there too (the cached stream is a constant). The stream is kept as computed
//! (f32), so cached and uncached training see the same numbers up to rounding: the cache
//! comes from the inference kernels and another batch width (`tests/frozen_cache.rs` bounds
//! the difference in the losses). Rows go to memory up to a bound, the rest to an unnamed
//! temporary file that disappears with the cache.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Mutex;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use super::classifier::SequenceClassifier;
use super::train::Rows;
use crate::embed::models::{pad_batch, LanguageModel};
use crate::{Error, Result};

/// What the cache of one run held, for the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheReport {
    /// The first trained layer: the cache holds the stream entering it.
    pub first_trained_layer: usize,
    /// Rows cached (training and dev).
    pub rows: usize,
    /// Bytes of cached streams in memory.
    pub memory_bytes: u64,
    /// Bytes of cached streams in the temporary file.
    pub disk_bytes: u64,
    /// Wall time of running the frozen prefix over every row.
    pub seconds: f64,
}

/// Where one row's stream is.
enum Slot {
    Memory(Vec<f32>),
    /// Byte offset in the spill file.
    Disk(u64),
}

/// The stream entering layer `first` of each row of one set, `[tokens, d]` per row.
pub(super) struct FrozenCache {
    first: usize,
    dim: usize,
    lens: Vec<usize>,
    slots: Vec<Slot>,
    spill: Option<Mutex<File>>,
    memory_bytes: u64,
    disk_bytes: u64,
}

impl FrozenCache {
    /// Runs the embeddings and layers `0..first` of `model` over `rows`, `batch` rows at a
    /// time, keeping at most `memory_limit` bytes in memory. `progress` gets (rows done, rows).
    pub(super) fn build(
        model: &dyn LanguageModel,
        rows: &Rows,
        first: usize,
        batch: usize,
        memory_limit: u64,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Self> {
        let mut cache = FrozenCache {
            first,
            dim: model.hidden_size(),
            lens: Vec::with_capacity(rows.len()),
            slots: Vec::with_capacity(rows.len()),
            spill: None,
            memory_bytes: 0,
            disk_bytes: 0,
        };
        for chunk in rows.chunks(batch.max(1)) {
            let tokens: Vec<Vec<u32>> = chunk.iter().map(|(t, _)| t.clone()).collect();
            let (ids, mask) = pad_batch(&tokens, model.pad_id(), model.device())?;
            let stream = model.hidden_before(&ids, &mask, first)?;
            let width = stream.dim(1).map_err(Error::model)?;
            let flat: Vec<f32> = stream
                .detach()
                .to_dtype(DType::F32)
                .and_then(|s| s.flatten_all())
                .and_then(|s| s.to_vec1())
                .map_err(Error::model)?;
            for (b, t) in tokens.iter().enumerate() {
                let start = b * width * cache.dim;
                cache.push(&flat[start..start + t.len() * cache.dim], memory_limit)?;
            }
            progress(cache.lens.len(), rows.len());
        }
        Ok(cache)
    }

    /// The first trained layer, where the cached stream enters.
    pub(super) fn first(&self) -> usize {
        self.first
    }

    /// Bytes held (memory, disk).
    pub(super) fn bytes(&self) -> (u64, u64) {
        (self.memory_bytes, self.disk_bytes)
    }

    fn push(&mut self, stream: &[f32], memory_limit: u64) -> Result<()> {
        let bytes = std::mem::size_of_val(stream) as u64;
        self.lens.push(stream.len() / self.dim);
        if self.memory_bytes + bytes <= memory_limit {
            self.memory_bytes += bytes;
            self.slots.push(Slot::Memory(stream.to_vec()));
            return Ok(());
        }
        let offset = self.disk_bytes;
        let raw: Vec<u8> = stream.iter().flat_map(|x| x.to_le_bytes()).collect();
        let file = match &mut self.spill {
            Some(file) => file,
            None => self
                .spill
                .insert(Mutex::new(tempfile::tempfile().map_err(spill_error)?)),
        };
        let file = file.get_mut().expect("the spill lock is never poisoned");
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.write_all(&raw))
            .map_err(spill_error)?;
        self.disk_bytes += bytes;
        self.slots.push(Slot::Disk(offset));
        Ok(())
    }

    /// The cached streams of rows `idx`, right-padded with zero rows into `[B, T, d]`, and
    /// their mask `[B, T]`.
    pub(super) fn batch(&self, idx: &[usize], device: &Device) -> Result<(Tensor, Tensor)> {
        let width = idx.iter().map(|&i| self.lens[i]).max().unwrap_or(0);
        let mut data = vec![0f32; idx.len() * width * self.dim];
        let mut mask = vec![0f32; idx.len() * width];
        for (b, &i) in idx.iter().enumerate() {
            let start = b * width * self.dim;
            self.read(i, &mut data[start..start + self.lens[i] * self.dim])?;
            mask[b * width..b * width + self.lens[i]].fill(1.0);
        }
        let data =
            Tensor::from_vec(data, (idx.len(), width, self.dim), device).map_err(Error::model)?;
        let mask = Tensor::from_vec(mask, (idx.len(), width), device).map_err(Error::model)?;
        Ok((data, mask))
    }

    fn read(&self, row: usize, out: &mut [f32]) -> Result<()> {
        match &self.slots[row] {
            Slot::Memory(v) => out.copy_from_slice(v),
            Slot::Disk(offset) => {
                let mut raw = vec![0u8; std::mem::size_of_val(out)];
                let spill = self.spill.as_ref().expect("a disk slot has a spill file");
                let mut file = spill.lock().expect("the spill lock is never poisoned");
                file.seek(SeekFrom::Start(*offset))
                    .and_then(|_| file.read_exact(&mut raw))
                    .map_err(spill_error)?;
                for (x, b) in out.iter_mut().zip(raw.chunks_exact(4)) {
                    *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
            }
        }
        Ok(())
    }
}

/// An I/O error of the spill file, which has no name: it lives in the temporary folder.
fn spill_error(e: std::io::Error) -> Error {
    Error::io(std::env::temp_dir(), e)
}

/// The rows of one set and how their logits are computed: through the whole model from the
/// tokens, or through the trained layers from the cached stream.
pub(super) struct Inputs<'a> {
    rows: &'a Rows,
    cache: Option<FrozenCache>,
}

impl<'a> Inputs<'a> {
    pub(super) fn new(rows: &'a Rows, cache: Option<FrozenCache>) -> Self {
        Inputs { rows, cache }
    }

    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The class of row `i`.
    pub(super) fn class(&self, i: usize) -> u32 {
        self.rows[i].1
    }

    /// Logits `[B, labels]` of rows `idx`.
    pub(super) fn logits(&self, classifier: &SequenceClassifier, idx: &[usize]) -> Result<Tensor> {
        match &self.cache {
            None => {
                let tokens: Vec<Vec<u32>> = idx.iter().map(|&i| self.rows[i].0.clone()).collect();
                classifier.logits(&tokens)
            }
            Some(cache) => {
                let (stream, mask) = cache.batch(idx, classifier.model().device())?;
                classifier.logits_from(&stream, &mask, cache.first())
            }
        }
    }
}

/// Caches the frozen prefix of `train` and `dev` when layers `0..first` are frozen
/// (`first > 0`; the embeddings alone are not worth their memory). Dev rows are cached first,
/// as they are read at every evaluation. Returns the two sets and what the cache held.
///
/// The prefix runs on `load()`'s copy of the base model with constant weights: the inference
/// forward, whose fused kernels the trainable copy cannot take (see `ops`) and which builds
/// no gradient graph. Its weights are the trainable copy's frozen ones, unchanged.
pub(super) fn inputs<'a>(
    load: impl FnOnce() -> Result<Box<dyn LanguageModel>>,
    (train, dev): (&'a Rows, &'a Rows),
    first: Option<usize>,
    (batch, memory_limit): (usize, u64),
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Inputs<'a>, Inputs<'a>, Option<CacheReport>)> {
    let Some(first) = first.filter(|&f| f > 0) else {
        return Ok((Inputs::new(train, None), Inputs::new(dev, None), None));
    };
    let started = Instant::now();
    let model = load()?;
    let model = model.as_ref();
    let total = train.len() + dev.len();
    let dev_cache = FrozenCache::build(model, dev, first, batch, memory_limit, &mut |d, _| {
        progress(d, total)
    })?;
    let left = memory_limit.saturating_sub(dev_cache.bytes().0);
    let train_cache = FrozenCache::build(model, train, first, batch, left, &mut |d, _| {
        progress(dev.len() + d, total)
    })?;
    let (dm, dd) = dev_cache.bytes();
    let (tm, td) = train_cache.bytes();
    let report = CacheReport {
        first_trained_layer: first,
        rows: total,
        memory_bytes: dm + tm,
        disk_bytes: dd + td,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((
        Inputs::new(train, Some(train_cache)),
        Inputs::new(dev, Some(dev_cache)),
        Some(report),
    ))
}
