//! Retrieval-augmented classification: kNN vote fused with a linear model.
//!
//! A prediction depends only on the query, the options and what is stored: each query is
//! answered on its own, unless the caller opts in to covariate-shift adaptation
//! ([`Adapt`]), which looks at the query set as a whole and says so in every prediction.
//! The classifier is trained in its own step ([`super::train`]); records written since then
//! are still searched and vote, labels the linear model has not seen are scored by the vote
//! ([`extend_linear`]), and labels with no live record are left out of every output.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::Serialize;

use super::classifier::{status, ClassifierState, ClassifierStatus};
use super::design::{design_row, design_width};
use super::search::{embed_queries, neighbours_of_each, Neighbour, CHUNK};
use crate::classify::shift::{Adapt, Shift};
use crate::classify::{argmax, decide, extend_linear, fuse, vote, Decision, FusionParams};
use crate::embed::Embedder;
use crate::progress;
use crate::seq::SeqRecord;
use crate::store::Collection;
use crate::{Error, Result};

/// Which parts of the classifier gave a prediction's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnsweredBy {
    /// The kNN vote and the linear model, fused.
    Fusion,
    /// The kNN vote alone: no trained classifier, a fusion weight of 1, or a label the
    /// linear model has not seen yet.
    Vote,
    /// The linear model alone (a fusion weight of 0, or an adapted query set).
    Linear,
    /// A fine-tuned model (`classify --finetuned`), with no neighbours.
    #[serde(rename = "finetuned")]
    FineTuned,
}

/// One classified sequence with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The query's name.
    pub name: String,
    /// The predicted label, or `unknown`.
    pub label: String,
    /// The fused probability of the predicted class.
    pub confidence: f64,
    /// Fused probability per live label, in the collection's label order.
    pub probabilities: Vec<(String, f64)>,
    /// The neighbours' vote per live label.
    pub vote: Vec<(String, f64)>,
    /// The linear model's probabilities per live label (see [`extend_linear`]), when one
    /// was used.
    pub linear: Option<Vec<(String, f64)>>,
    /// The vote's weight in the fusion (the linear model has `1 − weight`).
    pub weight_knn: f64,
    /// The neighbours that voted.
    pub k: usize,
    /// Which parts gave the label.
    pub answered_by: AnsweredBy,
    /// Whether the linear model was refitted for this query set's shift (`--adapt`).
    pub adapted: bool,
    /// The k nearest records.
    pub neighbours: Vec<Neighbour>,
}

impl Prediction {
    /// The JSON shape `classify --json` prints and the Python package returns: the fused
    /// probabilities with the parts they came from, the evidence and the classifier's state
    /// (none for a fine-tuned model).
    pub fn to_json(&self, status: Option<&ClassifierStatus>) -> serde_json::Value {
        let by_label = |p: &[(String, f64)]| -> serde_json::Value {
            let map: serde_json::Map<String, serde_json::Value> =
                p.iter().map(|(l, v)| (l.clone(), (*v).into())).collect();
            map.into()
        };
        serde_json::json!({
            "name": self.name,
            "label": self.label,
            "confidence": self.confidence,
            "probabilities": by_label(&self.probabilities),
            "vote_probabilities": by_label(&self.vote),
            "linear_probabilities": self.linear.as_deref().map(by_label),
            "fusion_weight": self.weight_knn,
            "k": self.k,
            "answered_by": self.answered_by,
            "adapted": self.adapted,
            "neighbours": self.neighbours,
            "classifier": status,
        })
    }
}

/// Overrides of the stored parameters for one classify call.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClassifyOptions {
    /// Number of voting neighbours.
    pub k: Option<usize>,
    /// Answer `unknown` when the nearest neighbour is farther than this.
    pub threshold: Option<f32>,
    /// Whether to correct the query set's covariate shift (default: never).
    pub adapt: Adapt,
}

/// Checks a distance threshold: finite and at least 0 (the CLI and HTTP share this).
pub fn check_threshold(threshold: f32) -> Result<f32> {
    if threshold.is_finite() && threshold >= 0.0 {
        return Ok(threshold);
    }
    Err(Error::InvalidArgument {
        what: "threshold".into(),
        message: format!("must be a finite distance of at least 0, got {threshold}"),
    })
}

/// Predictions for a query set, with the classifier's state and any measured shift.
#[derive(Debug, Clone)]
pub struct Classified {
    /// One per query, in input order.
    pub predictions: Vec<Prediction>,
    /// The query set's shift from the training records (`None` when not measured: no
    /// trained classifier, `--adapt never`, or fewer than
    /// [`MIN_QUERIES`](crate::classify::shift::MIN_QUERIES) queries).
    pub shift: Option<Shift>,
    /// The classifier's state against the collection.
    pub classifier: ClassifierStatus,
}

/// Classifies query records against the collection (see [`classify_batch`]).
pub fn classify_records(
    collection: &Collection,
    embedder: &dyn Embedder,
    state: Option<&ClassifierState>,
    queries: &[SeqRecord],
    opts: ClassifyOptions,
) -> Result<Vec<Prediction>> {
    classify_batch(collection, embedder, state, queries, opts).map(|c| c.predictions)
}

/// Classifies query records against the collection. With `opts.adapt` allowing it and a
/// material covariate shift, the linear model is refitted blind to the shift direction and
/// the probabilities come from it alone; the neighbours are still returned as evidence.
pub fn classify_batch(
    collection: &Collection,
    embedder: &dyn Embedder,
    state: Option<&ClassifierState>,
    queries: &[SeqRecord],
    opts: ClassifyOptions,
) -> Result<Classified> {
    if collection.is_empty() {
        return Err(empty(collection));
    }
    let vectors = embed_queries(embedder, queries)?;
    classify_given(collection, state, queries, &vectors, opts)
}

/// Classifies query records whose vectors are given (`vectors[i]` is query i's, in the
/// collection's embedding space: what a collection of external embeddings needs); the
/// records' sequences give the handcrafted features. Otherwise as [`classify_batch`].
pub fn classify_given(
    collection: &Collection,
    state: Option<&ClassifierState>,
    queries: &[SeqRecord],
    vectors: &[Vec<f32>],
    opts: ClassifyOptions,
) -> Result<Classified> {
    if vectors.len() != queries.len() {
        return Err(Error::InvalidArgument {
            what: "vectors".into(),
            message: format!("{} vectors for {} queries", vectors.len(), queries.len()),
        });
    }
    if collection.is_empty() {
        return Err(empty(collection));
    }
    collection.expect_queries(queries.len())?;
    // The linear model's input rows, computed once: the shift is measured on them too.
    let design: Vec<Vec<f64>> = match state {
        Some(s) => queries
            .par_iter()
            .zip(vectors)
            .map(|(q, v)| query_design_row(collection, s, q, v))
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };
    let (adapted, shift) = match state {
        Some(s) => {
            let snapshot = || super::train::snapshot(collection, s.design());
            super::adapt::respond(&snapshot, s, &design, opts.adapt)?
        }
        None => (None, None),
    };
    let ctx = Context::new(
        collection.labels(),
        adapted.as_ref().or(state),
        adapted.is_some(),
        collection.live_label_mask(),
        opts,
    );
    progress::phase("search and classify", Some(queries.len() as u64));
    // Queries are independent, so they spread over rayon's threads: each prediction is
    // computed exactly as it would be alone, and the order of the output is the input's.
    // They go in chunks so that a chunk's neighbour names are read in one transaction.
    let done = AtomicU64::new(0);
    let chunks: Vec<Vec<Prediction>> = queries
        .par_chunks(CHUNK)
        .zip(vectors.par_chunks(CHUNK))
        .enumerate()
        .map(|(c, (qs, vs))| {
            let hits = vs
                .iter()
                .map(|v| collection.search(v, ctx.k(), None, None))
                .collect::<Result<Vec<_>>>()?;
            let evidence = neighbours_of_each(collection, &hits)?;
            let predictions =
                qs.iter()
                    .zip(&hits)
                    .zip(evidence)
                    .enumerate()
                    .map(|(j, ((q, hits), evidence))| {
                        let pairs: Vec<(u32, f32)> =
                            hits.iter().map(|h| (h.label, h.distance)).collect();
                        let row = design.get(c * CHUNK + j).map(Vec::as_slice);
                        ctx.predict(q, row, &pairs, evidence)
                    });
            let predictions = predictions.collect();
            progress::advance(done.fetch_add(qs.len() as u64, Ordering::Relaxed) + qs.len() as u64);
            Ok(predictions)
        })
        .collect::<Result<_>>()?;
    let predictions = chunks.into_iter().flatten().collect();
    progress::finish();
    Ok(Classified {
        predictions,
        shift,
        classifier: status(collection, state),
    })
}

fn empty(collection: &Collection) -> Error {
    Error::InvalidArgument {
        what: "collection".into(),
        message: format!(
            "{} has no live records to classify against",
            collection.path().display()
        ),
    }
}

/// What every query of one call shares: the collection's labels and classifier, local or
/// kept in Milvus.
pub(super) struct Context<'a> {
    labels: &'a [String],
    state: Option<&'a ClassifierState>,
    adapted: bool,
    /// Whether each label index has live records.
    live: Vec<bool>,
    /// Whether the linear model scores each label index.
    known: Vec<bool>,
    opts: ClassifyOptions,
    /// The parameters without a classifier: the kNN vote alone.
    vote_only: FusionParams,
}

impl<'a> Context<'a> {
    pub(super) fn new(
        labels: &'a [String],
        state: Option<&'a ClassifierState>,
        adapted: bool,
        live: Vec<bool>,
        opts: ClassifyOptions,
    ) -> Self {
        Context {
            labels,
            state,
            adapted,
            live,
            known: state_known(state, labels.len()),
            opts,
            vote_only: FusionParams {
                weight_knn: 1.0,
                ..FusionParams::default()
            },
        }
    }

    /// The stored parameters, or the vote alone's.
    fn params(&self) -> &FusionParams {
        self.state.map_or(&self.vote_only, |s| &s.params)
    }

    /// Neighbours that vote.
    pub(super) fn k(&self) -> usize {
        self.opts.k.unwrap_or(self.params().k).max(1)
    }

    /// One query's prediction from its [`Self::k`] nearest records (`pairs` of label index
    /// and distance, nearest first, and the same as evidence); `row` is its design row when
    /// a classifier is stored.
    pub(super) fn predict(
        &self,
        query: &SeqRecord,
        row: Option<&[f64]>,
        pairs: &[(u32, f32)],
        neighbours: Vec<Neighbour>,
    ) -> Prediction {
        let n_classes = self.labels.len();
        let linear = self.state.zip(row);
        let params = linear.map_or(&self.vote_only, |(s, _)| &s.params);
        let k = self.k();
        let p_knn = vote(pairs, n_classes, params.vote);
        let p_lin = linear.map(|(s, row)| {
            extend_linear(&p_knn, &s.model.predict_proba(row), &self.known, &self.live)
        });
        let fused = match &p_lin {
            Some(p) => fuse(&p_knn, p, params.weight_knn),
            None => p_knn.clone(),
        };
        let threshold = self.opts.threshold.or(params.threshold);
        let (decision, confidence) = decide(&fused, pairs.first().map(|p| p.1), threshold);
        debug_assert_eq!(argmax(&fused).1, confidence);
        let label = match decision {
            Decision::Label(i) => self.labels[i as usize].clone(),
            Decision::Unknown => "unknown".to_string(),
        };
        let answered_by = self.answered_by(params.weight_knn, decision);
        Prediction {
            name: query.name.clone(),
            label,
            confidence,
            probabilities: self.named(&fused),
            vote: self.named(&p_knn),
            linear: p_lin.as_deref().map(|p| self.named(p)),
            weight_knn: if p_lin.is_some() {
                params.weight_knn
            } else {
                1.0
            },
            k,
            answered_by,
            adapted: self.adapted,
            neighbours,
        }
    }

    fn answered_by(&self, weight_knn: f64, decision: Decision) -> AnsweredBy {
        if self.state.is_none() {
            return AnsweredBy::Vote;
        }
        let scored = |i: u32| self.known.get(i as usize).copied().unwrap_or(false);
        let untrained = matches!(decision, Decision::Label(i) if !scored(i));
        if weight_knn >= 1.0 || untrained {
            AnsweredBy::Vote
        } else if weight_knn <= 0.0 {
            AnsweredBy::Linear
        } else {
            AnsweredBy::Fusion
        }
    }

    /// Probabilities of the live labels, named.
    fn named(&self, p: &[f64]) -> Vec<(String, f64)> {
        self.labels
            .iter()
            .zip(p)
            .zip(&self.live)
            .filter(|(_, &live)| live)
            .map(|((l, v), _)| (l.clone(), *v))
            .collect()
    }
}

/// Which label indices the classifier scores (none without one).
fn state_known(state: Option<&ClassifierState>, n_labels: usize) -> Vec<bool> {
    state.map_or(vec![false; n_labels], |s| s.known_mask(n_labels))
}

/// The design row of one query (see [`design_row`]).
pub(super) fn query_design_row(
    collection: &Collection,
    state: &ClassifierState,
    query: &SeqRecord,
    vector: &[f32],
) -> Result<Vec<f64>> {
    let stored = collection.prepare_query(vector)?;
    let mut row = vec![0f64; design_width(stored.len(), state.design())];
    design_row(&stored, query.seq.as_bytes(), state.design(), &mut row);
    Ok(row)
}
