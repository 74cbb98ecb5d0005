//! Training and classification on a collection kept in Milvus (feature `milvus`): the same
//! classifier, tuning and fusion as a local collection, with the classifier stored in Milvus
//! beside the records, so every node classifies alike. A query set's neighbours come from one
//! Milvus search call.

use super::classifier::{per_label, status, ClassifierState, ClassifierStatus, LiveRecords};
use super::classify::{Classified, ClassifyOptions, Context};
use super::design::{design_matrix, design_row, design_width, Design};
use super::remote::{neighbour, remote_embedder};
use super::search::embed_queries;
use super::train::{fit, plan, Snapshot, TrainAction, TrainOptions, Trained};
use crate::embed::Embedder;
use crate::milvus::{LiveCounts, MilvusCollection, MilvusUri, StoredRow};
use crate::progress;
use crate::seq::SeqRecord;
use crate::{Error, Result};

/// A Milvus collection's live records, as the classifier's bookkeeping reads them.
struct Live<'a> {
    labels: &'a [String],
    rows: &'a [StoredRow],
}

impl LiveRecords for Live<'_> {
    fn label_names(&self) -> &[String] {
        self.labels
    }

    fn live_per_label(&self) -> Vec<usize> {
        per_label(self.labels.len(), self.rows.iter().map(|r| (r.id, r.label)))
    }

    fn live_below(&self, next_id: u64) -> usize {
        self.rows.iter().filter(|r| r.id < next_id).count()
    }
}

/// A Milvus collection's live records as counts taken inside Milvus, for a classify call's
/// state: the counts below one id are taken for the one watermark that state reports on.
struct Counted<'a> {
    labels: &'a [String],
    counts: LiveCounts,
    /// The id `counts.below` was counted under.
    below_id: Option<u64>,
}

impl<'a> Counted<'a> {
    fn read(collection: &'a MilvusCollection, state: Option<&ClassifierState>) -> Result<Self> {
        let below_id = state.and_then(ClassifierState::fitted).map(|m| m.next_id);
        Ok(Counted {
            labels: collection.labels(),
            counts: collection.live_counts(below_id)?,
            below_id,
        })
    }
}

impl LiveRecords for Counted<'_> {
    fn label_names(&self) -> &[String] {
        self.labels
    }

    fn live_per_label(&self) -> Vec<usize> {
        self.counts.per_label.clone()
    }

    fn live_below(&self, next_id: u64) -> usize {
        match (self.below_id, self.counts.below) {
            (Some(id), Some(n)) if id == next_id => n,
            // Only [`status`] asks, and only for the watermark counted in `read`; any other
            // id is answered as if every record were older (nothing added).
            _ => self.live_count(),
        }
    }
}

/// The classifier stored in Milvus, if one was trained.
fn load_remote_state(collection: &MilvusCollection) -> Result<Option<ClassifierState>> {
    let Some(json) = collection.classifier_json()? else {
        return Ok(None);
    };
    serde_json::from_str(&json)
        .map(Some)
        .map_err(|e| Error::Corrupt {
            path: collection.display().into(),
            message: format!("classifier: {e}"),
        })
}

/// The stored classifier's state against the records now, if one was trained.
pub(super) fn remote_status(collection: &MilvusCollection) -> Result<Option<ClassifierStatus>> {
    match load_remote_state(collection)? {
        None => Ok(None),
        Some(state) => status_with(collection, Some(&state)).map(Some),
    }
}

/// The stored classifier's state against the records now (untrained when none is stored).
pub fn remote_classifier_status(collection: &MilvusCollection) -> Result<ClassifierStatus> {
    status_with(collection, load_remote_state(collection)?.as_ref())
}

fn status_with(
    collection: &MilvusCollection,
    state: Option<&ClassifierState>,
) -> Result<ClassifierStatus> {
    Ok(status(&Counted::read(collection, state)?, state))
}

/// Trains the classifier of a Milvus collection as a local one would be trained (tuned when
/// due, else refitted), reading every record back from Milvus, and stores it there.
pub fn train_remote(uri: &MilvusUri, opts: TrainOptions) -> Result<Trained> {
    let collection = MilvusCollection::open(uri)?;
    train_open(&collection, opts)
}

pub(super) fn train_open(collection: &MilvusCollection, opts: TrainOptions) -> Result<Trained> {
    let previous = load_remote_state(collection)?;
    // The plan needs only ids and labels; vectors and sequences are read when it fits.
    let ids = collection.rows(false)?;
    let live = Live {
        labels: collection.labels(),
        rows: &ids,
    };
    let action = plan(&live, previous.as_ref(), opts.mode);
    if matches!(action, TrainAction::UpToDate | TrainAction::TooFew) {
        return Ok(Trained {
            action,
            state: previous,
        });
    }
    let layout = previous
        .as_ref()
        .map_or(Design::new(opts.handcrafted), ClassifierState::design);
    let snap = remote_snapshot(collection, layout)?;
    let state = fit(&snap, previous.as_ref(), action)?;
    let json = serde_json::to_string(&state).map_err(|e| Error::Classifier {
        message: e.to_string(),
    })?;
    collection.save_classifier_json(json)?;
    progress::finish();
    Ok(Trained {
        action,
        state: Some(state),
    })
}

/// Every record's training row, read back from Milvus (vectors and sequences).
fn remote_snapshot(collection: &MilvusCollection, layout: Design) -> Result<Snapshot> {
    progress::phase("read training rows", None);
    let rows = collection.rows(true)?;
    let embeddings: Vec<Vec<f32>> = rows.iter().map(|r| r.vector.clone()).collect();
    let seqs = rows.iter().map(|r| r.sequence.as_bytes());
    Ok(Snapshot {
        design: design_matrix(&embeddings, seqs, layout),
        embeddings,
        y: rows.iter().map(|r| r.label).collect(),
        labels: collection.labels().to_vec(),
        next_id: collection.next_id(),
        layout,
    })
}

/// Classifies query records against a Milvus collection: kNN vote fused with the stored
/// linear model, each prediction with its neighbours as evidence.
///
/// With `given`, query i's vector is `given[i]` (in the collection's embedding space, as a
/// local `classify --vectors` takes them) and the embedder is not run.
pub fn classify_remote(
    uri: &MilvusUri,
    queries: &[SeqRecord],
    given: Option<&[Vec<f32>]>,
    opts: ClassifyOptions,
) -> Result<Classified> {
    let collection = MilvusCollection::open_for_queries(uri)?;
    let embedder = remote_embedder(&collection)?;
    classify_open(&collection, embedder.as_ref(), queries, given, opts)
}

/// [`classify_remote`] on an open collection with its embedder (checked by the caller),
/// reading the stored classifier at each call, so that every node uses the latest one.
pub fn classify_open(
    collection: &MilvusCollection,
    embedder: &dyn Embedder,
    queries: &[SeqRecord],
    given: Option<&[Vec<f32>]>,
    opts: ClassifyOptions,
) -> Result<Classified> {
    if let Some(vectors) = given {
        if vectors.len() != queries.len() {
            return Err(Error::InvalidArgument {
                what: "vectors".into(),
                message: format!("{} vectors for {} queries", vectors.len(), queries.len()),
            });
        }
        super::remote::check_dims(collection, vectors)?;
    }
    let state = load_remote_state(collection)?;
    let live = Counted::read(collection, state.as_ref())?;
    if live.live_count() == 0 {
        return Err(Error::InvalidArgument {
            what: "collection".into(),
            message: format!(
                "{} has no records to classify against",
                collection.display()
            ),
        });
    }
    let vectors = match given {
        Some(vectors) => vectors.to_vec(),
        None => embed_queries(embedder, queries)?,
    };
    let mask = live.live_per_label().iter().map(|&n| n > 0).collect();
    // The linear model's input rows, computed once: the shift is measured on them too.
    let design: Vec<Vec<f64>> = match &state {
        Some(s) => design_rows(collection, s.design(), queries, &vectors),
        None => Vec::new(),
    };
    let (adapted, shift) = match &state {
        Some(s) => {
            let snapshot = || remote_snapshot(collection, s.design());
            super::adapt::respond(&snapshot, s, &design, opts.adapt)?
        }
        None => (None, None),
    };
    let used = adapted.as_ref().or(state.as_ref());
    let ctx = Context::new(collection.labels(), used, adapted.is_some(), mask, opts);
    progress::phase("search and classify", Some(queries.len() as u64));
    let found = collection.search(&vectors, ctx.k(), None, (&[], None))?;
    let mut predictions = Vec::with_capacity(queries.len());
    for (i, (query, hits)) in queries.iter().zip(found).enumerate() {
        let row = design.get(i).map(Vec::as_slice);
        let mut pairs = Vec::with_capacity(hits.len());
        for h in &hits {
            let label = collection.labels().iter().position(|l| *l == h.label);
            let label = label.ok_or_else(|| Error::Corrupt {
                path: collection.display().into(),
                message: format!("record {} has a label not in the label list", h.id),
            })?;
            pairs.push((label as u32, h.distance));
        }
        let neighbours = hits.into_iter().map(neighbour).collect();
        predictions.push(ctx.predict(query, row, &pairs, neighbours));
    }
    progress::finish();
    Ok(Classified {
        predictions,
        shift,
        classifier: status(&live, state.as_ref()),
    })
}

/// The linear model's input row of each query (its vector in stored form, and the handcrafted
/// features of its sequence), as a local collection computes it.
fn design_rows(
    collection: &MilvusCollection,
    design: Design,
    queries: &[SeqRecord],
    vectors: &[Vec<f32>],
) -> Vec<Vec<f64>> {
    let metric = collection.config().metric;
    queries
        .iter()
        .zip(vectors)
        .map(|(query, vector)| {
            let mut stored = vector.clone();
            metric.prepare(&mut stored);
            let mut row = vec![0f64; design_width(stored.len(), design)];
            design_row(&stored, query.seq.as_bytes(), design, &mut row);
            row
        })
        .collect()
}
