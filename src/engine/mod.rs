//! The one place that wires the layers together: read input, embed, store, search.
//!
//! The CLI and the HTTP server call these functions and only parse and format around them.

mod adapt;
mod classifier;
mod classify;
mod compare;
mod design;
mod eval;
mod export;
mod finetune;
mod index;
mod qc;
mod records;
#[cfg(feature = "milvus")]
mod remote;
#[cfg(feature = "milvus")]
mod remote_classify;
#[cfg(feature = "milvus")]
mod remote_records;
mod search;
mod train;

pub use classifier::{
    load_state, save_state, status, ClassifierState, ClassifierStatus, LiveRecords, Watermark,
};
pub use classify::{
    check_threshold, classify_batch, classify_given, classify_records, AnsweredBy, Classified,
    ClassifyOptions, Prediction,
};
pub use compare::{compare, CompareOptions, CompareReport, Method, PipelineResult};
pub use design::{design_row, design_width, Design};
pub use eval::{
    eval_folds, eval_folds_grouped, eval_split, EvalOptions, EvalReport, FoldReport, RowOutcome,
};
pub use export::export;
pub use finetune::{classify_finetuned, finetune_records, predict};
pub use index::{
    compact, delete, embed_records, index_files, index_records, index_with_vectors,
    train_collection, vector_records, IndexOptions, IndexReport,
};
pub use qc::{qc_report, SHORTCUT_FOLDS};
pub use records::{
    check_limit, count, delete_ids, delete_where, fetch, resolve, resolve_all, scroll, upsert,
    IdRef, ScrollPage, StoredRecord, SCROLL_DEFAULT, SCROLL_MAX,
};
#[cfg(feature = "milvus")]
pub use remote::{
    check_remote_embedder, delete_remote, index_remote, info_open, info_remote, remote_embedder,
    search_open, search_remote, search_vectors_open, search_vectors_remote, RemoteInfo,
};
#[cfg(feature = "milvus")]
pub use remote_classify::{classify_open, classify_remote, remote_classifier_status, train_remote};
#[cfg(feature = "milvus")]
pub use remote_records::{count_open, delete_ids_open, delete_where_open, fetch_open, scroll_open};
pub use search::{
    check_ef, check_k, embed_queries, label_filter, neighbours, open_for_queries, search_sequences,
    search_vectors, Neighbour, QueryResult, SearchFilter, MAX_EF, MAX_K,
};
pub use train::fit as fit_classifier;
pub use train::{
    plan, read_snapshot, snapshot, train, Snapshot, TrainAction, TrainMode, TrainOptions, Trained,
    MIN_TRAIN_RECORDS, RETUNE_FRACTION,
};

use std::path::{Path, PathBuf};

use crate::embed::{self, Embedder};
use crate::store::Collection;
use crate::{Error, Result};

/// Default home of collections, relative to the working directory.
pub const INDEX_DIR: &str = "indexes";

/// Resolves `--collection X`: a value containing `/` or ending in `.redb` is a path used as
/// is; anything else is a name under [`INDEX_DIR`].
pub fn collection_path(spec: &str) -> PathBuf {
    if spec.contains('/') || spec.ends_with(".redb") {
        PathBuf::from(spec)
    } else {
        Path::new(INDEX_DIR).join(format!("{spec}.redb"))
    }
}

/// The embedder a collection was built with, checked against the stored identity.
pub fn embedder_for(collection: &Collection) -> Result<Box<dyn Embedder>> {
    let config = collection.config();
    let embedder = embed::from_spec(&config.embedder)?;
    if embedder.identity() != config.embedder_identity {
        return Err(Error::Mismatch {
            path: collection.path().to_path_buf(),
            field: "embedder identity",
            stored: config.embedder_identity.clone(),
            requested: embedder.identity(),
        });
    }
    Ok(embedder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_names_and_paths_resolve_as_the_contract_says() {
        assert_eq!(collection_path("demo"), PathBuf::from("indexes/demo.redb"));
        assert_eq!(collection_path("x.redb"), PathBuf::from("x.redb"));
        assert_eq!(collection_path("/tmp/a/b"), PathBuf::from("/tmp/a/b"));
    }
}
