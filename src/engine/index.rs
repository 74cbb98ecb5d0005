//! `index`: read, validate, embed and store records in durable batches.

use std::path::{Path, PathBuf};

use super::classifier::load_state;
use super::train::{train, TrainMode, TrainOptions, Trained};
use crate::embed::{self, Embedder};
use crate::progress;
use crate::seq::{self, ReadOptions, SeqRecord};
use crate::store::{Collection, CollectionConfig, NewRecord, Quantize};
use crate::{Error, Result};

/// Options of an index run.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// How to read the input files.
    pub read: ReadOptions,
    /// The embedder spec.
    pub embedder: String,
    /// Records per durable batch.
    pub batch: usize,
    /// Store records even when the same (label, sequence) is already stored.
    pub allow_duplicates: bool,
    /// Fuse the handcrafted features into the linear model's rows (the default); false
    /// trains it on the embedding alone.
    pub handcrafted: bool,
    /// Train the classifier at the end ([`super::train()`]: tuned when due, else refitted);
    /// false leaves it as it was, reported stale until `genovec train`.
    pub train: bool,
    /// How a new collection keeps its vectors in memory; an existing one keeps its own
    /// setting, and asking for a different one is an error.
    pub quantize: Quantize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            read: ReadOptions::default(),
            embedder: "composition".into(),
            batch: 1000,
            allow_duplicates: false,
            handcrafted: true,
            train: true,
            quantize: Quantize::None,
        }
    }
}

/// What an index run did.
#[derive(Debug, Clone)]
pub struct IndexReport {
    /// Records read from the input.
    pub read: usize,
    /// Records newly stored.
    pub added: usize,
    /// Live records in the collection afterwards.
    pub total: usize,
    /// Whether the graph was rebuilt at the end.
    pub rebuilt_graph: bool,
    /// What training did at the end (`None` with `train: false`).
    pub trained: Option<Trained>,
}

/// Reads every input file first (so bad input fails before anything is written), then
/// indexes the records. `on_commit(done, of, total)` runs after each durable batch.
pub fn index_files(
    path: &Path,
    inputs: &[PathBuf],
    opts: &IndexOptions,
    on_commit: &mut dyn FnMut(usize, usize, usize),
) -> Result<IndexReport> {
    crate::progress::phase("read", None);
    let records = seq::read_all(inputs, &opts.read)?;
    index_records(path, &records, opts, on_commit)
}

/// Indexes already validated records; every record needs a label.
pub fn index_records(
    path: &Path,
    records: &[SeqRecord],
    opts: &IndexOptions,
    on_commit: &mut dyn FnMut(usize, usize, usize),
) -> Result<IndexReport> {
    index_with(path, records, None, opts, on_commit)
}

/// Indexes records with vectors computed outside genovec (`vectors[i]` is record i's),
/// under an `external:NAME:DIM` embedder spec; the handcrafted features still come from
/// the sequences.
pub fn index_with_vectors(
    path: &Path,
    records: &[SeqRecord],
    vectors: &[Vec<f32>],
    opts: &IndexOptions,
    on_commit: &mut dyn FnMut(usize, usize, usize),
) -> Result<IndexReport> {
    check_given(records, vectors, opts)?;
    index_with(path, records, Some(vectors), opts, on_commit)
}

/// Given vectors need an external embedder (naming their model) and one vector per record.
pub(super) fn check_given(
    records: &[SeqRecord],
    vectors: &[Vec<f32>],
    opts: &IndexOptions,
) -> Result<()> {
    if !embed::is_external(&opts.embedder) {
        return Err(Error::InvalidArgument {
            what: "embedder".into(),
            message: format!(
                "given vectors need an external:NAME:DIM embedder naming their model and \
                 dimension, not {:?}",
                opts.embedder
            ),
        });
    }
    if vectors.len() != records.len() {
        return Err(Error::InvalidArgument {
            what: "vectors".into(),
            message: format!("{} vectors for {} records", vectors.len(), records.len()),
        });
    }
    Ok(())
}

fn index_with(
    path: &Path,
    records: &[SeqRecord],
    given: Option<&[Vec<f32>]>,
    opts: &IndexOptions,
    on_commit: &mut dyn FnMut(usize, usize, usize),
) -> Result<IndexReport> {
    let labels = index_labels(records)?;
    let embedder = embed::from_spec(&opts.embedder)?;
    let mut config = CollectionConfig::new(&opts.embedder, &embedder.identity(), embedder.dim());
    config.quantize = opts.quantize;
    let mut collection = Collection::create_or_open(path, &config)?;
    let mut added = 0;
    progress::phase("embed and store", Some(records.len() as u64));
    for (chunk_index, chunk) in records.chunks(opts.batch.max(1)).enumerate() {
        let start = chunk_index * opts.batch.max(1);
        let chunk_labels = &labels[start..start + chunk.len()];
        let batch = match given {
            Some(vectors) => {
                let vectors = &vectors[start..start + chunk.len()];
                given_chunk(chunk, chunk_labels, vectors, embedder.dim())?
            }
            None => embed_chunk(embedder.as_ref(), chunk, chunk_labels)?,
        };
        let outcome = collection.insert_batch(&batch, opts.allow_duplicates)?;
        added += outcome.ids.iter().filter(|id| id.is_some()).count();
        progress::advance((start + chunk.len()) as u64);
        on_commit(start + chunk.len(), records.len(), outcome.total);
    }
    let rebuilt_graph = collection.needs_rebuild();
    if rebuilt_graph {
        collection.rebuild_graph()?;
    }
    let trained = if opts.train {
        let train_opts = TrainOptions {
            mode: TrainMode::Auto,
            handcrafted: opts.handcrafted,
        };
        Some(train(&mut collection, train_opts)?)
    } else {
        None
    };
    progress::finish();
    Ok(IndexReport {
        read: records.len(),
        added,
        total: collection.len(),
        rebuilt_graph,
        trained,
    })
}

/// Marks records deleted.
pub fn delete(path: &Path, ids: &[u64]) -> Result<()> {
    Collection::open_writer(path)?.delete(ids)
}

/// Drops deleted records and rebuilds the graph, then brings the classifier up to date
/// (refitted, or re-tuned when due; see [`super::train()`]).
pub fn compact(path: &Path) -> Result<Trained> {
    let mut collection = Collection::open_writer(path)?;
    progress::phase("compact: drop deleted records", None);
    collection.compact()?;
    // Keep the collection's design-row choice.
    let handcrafted = load_state(&collection)?.is_none_or(|s| s.handcrafted);
    let opts = TrainOptions {
        mode: TrainMode::Auto,
        handcrafted,
    };
    let trained = train(&mut collection, opts);
    progress::finish();
    trained
}

/// Trains a collection's classifier now (see [`super::train()`]).
pub fn train_collection(path: &Path, opts: TrainOptions) -> Result<Trained> {
    let trained = train(&mut Collection::open_writer(path)?, opts);
    progress::finish();
    trained
}

/// The labels of the records an index run stores; an empty input is an error (nothing is
/// written).
pub(super) fn index_labels(records: &[SeqRecord]) -> Result<Vec<String>> {
    if records.is_empty() {
        return Err(Error::InvalidArgument {
            what: "input".into(),
            message: "it holds no records; nothing was written".into(),
        });
    }
    labels_of(records)
}

fn labels_of(records: &[SeqRecord]) -> Result<Vec<String>> {
    records
        .iter()
        .map(|r| {
            r.label.clone().ok_or_else(|| Error::MissingLabel {
                source_name: "input".into(),
                location: format!("record {:?}", r.name),
            })
        })
        .collect()
}

/// Labelled records with their given vectors as insertable rows; a vector of another
/// dimension is an error naming its record.
pub(super) fn given_chunk(
    chunk: &[SeqRecord],
    labels: &[String],
    vectors: &[Vec<f32>],
    dim: usize,
) -> Result<Vec<NewRecord>> {
    let mut out = Vec::with_capacity(chunk.len());
    for ((r, label), vector) in chunk.iter().zip(labels).zip(vectors) {
        if vector.len() != dim {
            return Err(Error::InvalidArgument {
                what: format!("vector of record {:?}", r.name),
                message: format!(
                    "it has dimension {}, the embedder gives {dim}",
                    vector.len()
                ),
            });
        }
        out.push(NewRecord {
            name: r.name.clone(),
            label: label.clone(),
            seq: r.seq.as_bytes().to_vec(),
            vector: vector.clone(),
            metadata: r.metadata.clone(),
        });
    }
    Ok(out)
}

/// Labelled records with given vectors as insertable rows (what the HTTP server inserts for
/// records that carry a `vector`).
pub fn vector_records(
    records: &[SeqRecord],
    vectors: &[Vec<f32>],
    dim: usize,
) -> Result<Vec<NewRecord>> {
    given_chunk(records, &labels_of(records)?, vectors, dim)
}

/// Embeds labelled records into insertable rows (every record needs a label); what the HTTP
/// server inserts with [`Collection::insert_batch`].
pub fn embed_records(embedder: &dyn Embedder, records: &[SeqRecord]) -> Result<Vec<NewRecord>> {
    embed_chunk(embedder, records, &labels_of(records)?)
}

pub(super) fn embed_chunk(
    embedder: &dyn Embedder,
    chunk: &[SeqRecord],
    labels: &[String],
) -> Result<Vec<NewRecord>> {
    let seqs: Vec<&[u8]> = chunk.iter().map(|r| r.seq.as_bytes()).collect();
    let vectors = embedder.embed_batch(&seqs)?;
    Ok(chunk
        .iter()
        .zip(labels)
        .zip(vectors)
        .map(|((r, label), vector)| NewRecord {
            name: r.name.clone(),
            label: label.clone(),
            seq: r.seq.as_bytes().to_vec(),
            vector,
            metadata: r.metadata.clone(),
        })
        .collect())
}
