//! Creating a collection and adding records, as `genovec index` does, keeping each
//! record's new id.
//!
//! `engine::index_records` does not return the ids, so this follows it step by step with
//! the engine's and store's public parts (the same steps `serve` takes for an insert):
//! records embedded and inserted in durable batches of the CLI's default size, the graph
//! rebuilt when the tail is due, then the classifier trained (tuned when due, else
//! refitted). The answers are the CLI's: the graph and the classifier are deterministic
//! functions of the stored records.

use std::path::Path;

use genovec::embed;
use genovec::engine::{self, IndexOptions, TrainMode, TrainOptions};
use genovec::seq::SeqRecord;
use genovec::store::{Collection, CollectionConfig};
use genovec::{Error, Result};

/// Creates an empty collection for `spec` (or checks an existing one against it, as
/// `index --embedder` does).
pub fn create(path: &Path, spec: &str) -> Result<()> {
    let embedder = embed::from_spec(spec)?;
    let config = CollectionConfig::new(spec, &embedder.identity(), embedder.dim());
    Collection::create_or_open(path, &config).map(drop)
}

/// Embeds and stores labelled records in `path` (created with `spec` if missing). Returns
/// each record's new id, `None` when the same label and sequence were already stored.
pub fn index(
    path: &Path,
    spec: &str,
    records: &[SeqRecord],
    vectors: Option<&[Vec<f32>]>,
    train: bool,
) -> Result<Vec<Option<u64>>> {
    if records.is_empty() {
        return Err(Error::InvalidArgument {
            what: "sequences".into(),
            message: "the list is empty; nothing was written".into(),
        });
    }
    let defaults = IndexOptions::default();
    let embedder = embed::from_spec(spec)?;
    let config = CollectionConfig::new(spec, &embedder.identity(), embedder.dim());
    let mut collection = Collection::create_or_open(path, &config)?;
    let mut ids = Vec::with_capacity(records.len());
    if vectors.is_some() && !embed::is_external(spec) {
        return Err(Error::InvalidArgument {
            what: "vectors".into(),
            message: format!(
                "given vectors need a collection of external embeddings \
                 (embedder=\"external:NAME:DIM\"), not {spec:?}"
            ),
        });
    }
    if let Some(v) = vectors.filter(|v| v.len() != records.len()) {
        return Err(Error::InvalidArgument {
            what: "vectors".into(),
            message: format!("{} vectors for {} sequences", v.len(), records.len()),
        });
    }
    for (i, chunk) in records.chunks(defaults.batch).enumerate() {
        let start = i * defaults.batch;
        // Given vectors (an external:NAME:DIM collection) are stored as they are.
        let batch = match vectors {
            Some(v) => {
                engine::vector_records(chunk, &v[start..start + chunk.len()], embedder.dim())?
            }
            None => engine::embed_records(embedder.as_ref(), chunk)?,
        };
        ids.extend(
            collection
                .insert_batch(&batch, defaults.allow_duplicates)?
                .ids,
        );
    }
    if collection.needs_rebuild() {
        collection.rebuild_graph()?;
    }
    if train {
        let opts = TrainOptions {
            mode: TrainMode::Auto,
            handcrafted: defaults.handcrafted,
        };
        engine::train(&mut collection, opts)?;
    }
    Ok(ids)
}
