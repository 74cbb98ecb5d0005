//! Retrieval-augmented classification: kNN vote fused with a linear model.
//!
//! Training happens when a collection is indexed (or compacted): k, the fusion weight and C
//! are chosen by inner validation on the collection's own records ([`crate::classify::tune`]),
//! then the linear model is fitted on every live record and stored in the collection file.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::search::{embed_queries, neighbours, Neighbour};
use crate::classify::linear::DEFAULT_MAX_ITER;
use crate::classify::shift::{Adapt, Shift};
use crate::classify::{
    argmax, decide, fuse, tune, vote, Decision, FusionParams, LinearModel, TuneInput, Vote,
};
use crate::embed::Embedder;
use crate::features::{handcrafted_into, positional_profile_into, HANDCRAFTED_DIM, PROFILE_DIM};
use crate::seq::SeqRecord;
use crate::store::Collection;
use crate::{Error, Result};

/// Seed of the inner validation split.
const TUNE_SEED: u64 = 17;
/// Cap on the records the final linear model is fitted on (seeded, stratified), which
/// bounds index time on large collections.
pub const MAX_LINEAR_ROWS: usize = 20_000;

/// What a collection stores about its classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierState {
    /// Chosen by inner validation.
    pub params: FusionParams,
    /// Inner validation accuracy of `params`.
    pub val_accuracy: f64,
    /// Live records when it was trained.
    pub trained_on: usize,
    /// Whether the design rows append the handcrafted features (Z-curve, GC, k-mer
    /// composition) to the embedding: the fusion the pipeline defaults to.
    #[serde(default = "handcrafted_default")]
    pub handcrafted: bool,
    /// Whether the handcrafted features end with the positional profile. Collections
    /// trained before the profile existed lack the field and keep their 16-column rows.
    #[serde(default)]
    pub profile: bool,
    /// The linear model over [embedding | handcrafted features], or the embedding alone.
    pub model: LinearModel,
}

impl ClassifierState {
    /// The columns of this state's design rows.
    pub fn design(&self) -> Design {
        Design {
            handcrafted: self.handcrafted,
            profile: self.handcrafted && self.profile,
        }
    }
}

/// Which sequence features follow the embedding in a design row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Design {
    /// The 16 handcrafted features ([`handcrafted_into`]).
    pub handcrafted: bool,
    /// Then the positional profile ([`positional_profile_into`]).
    pub profile: bool,
}

impl Design {
    /// What a new classifier uses: with `handcrafted`, both feature blocks; else none.
    pub fn new(handcrafted: bool) -> Self {
        Self {
            handcrafted,
            profile: handcrafted,
        }
    }

    /// Number of columns after the embedding.
    pub fn extra_width(self) -> usize {
        let hand = if self.handcrafted { HANDCRAFTED_DIM } else { 0 };
        hand + if self.profile { PROFILE_DIM } else { 0 }
    }
}

fn handcrafted_default() -> bool {
    true
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
    /// Fused probability per label, in the collection's label order.
    pub probabilities: Vec<(String, f64)>,
    /// The k nearest records.
    pub neighbours: Vec<Neighbour>,
}

/// Overrides of the stored parameters for one classify call.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClassifyOptions {
    /// Number of voting neighbours.
    pub k: Option<usize>,
    /// Answer `unknown` when the nearest neighbour is farther than this.
    pub threshold: Option<f32>,
    /// Whether to correct the query set's covariate shift (default: when material).
    pub adapt: Adapt,
}

/// Width of a design row for embeddings of width `dim`.
pub fn design_width(dim: usize, design: Design) -> usize {
    dim + design.extra_width()
}

/// The design row of one sequence: its stored-form embedding, then the feature blocks that
/// `design` names. `out` is [`design_width`] long.
pub fn design_row(vector: &[f32], seq: &[u8], design: Design, out: &mut [f64]) {
    let mut hand = [0f32; HANDCRAFTED_DIM];
    let mut profile = [0f32; PROFILE_DIM];
    if design.handcrafted {
        handcrafted_into(seq, &mut hand);
    }
    if design.profile {
        positional_profile_into(seq, &mut profile);
    }
    let hand = if design.handcrafted { &hand[..] } else { &[] };
    let profile = if design.profile { &profile[..] } else { &[] };
    debug_assert_eq!(out.len(), design_width(vector.len(), design));
    out.iter_mut()
        .zip(vector.iter().chain(hand).chain(profile))
        .for_each(|(o, v)| *o = *v as f64);
}

/// Trains the classifier on the collection's live records and stores it; `handcrafted`
/// chooses the design rows (see [`Design::new`]).
pub fn train(collection: &mut Collection, handcrafted: bool) -> Result<ClassifierState> {
    let layout = Design::new(handcrafted);
    let TrainingRows {
        embeddings,
        design,
        y,
    } = training_rows(collection, layout)?;
    let n_classes = collection.labels().len();
    let tuned = tune(&TuneInput {
        embeddings: &embeddings,
        design: &design,
        y: &y,
        n_classes,
        vote: Vote::Distance,
        seed: TUNE_SEED,
        max_iter: DEFAULT_MAX_ITER,
    })?;
    let model = fit_final(&design, &y, n_classes, tuned.params.c, None)?;
    let state = ClassifierState {
        params: tuned.params,
        val_accuracy: tuned.val_accuracy,
        trained_on: y.len(),
        handcrafted,
        profile: layout.profile,
        model,
    };
    let blob = serde_json::to_vec(&state).map_err(|e| Error::Classifier {
        message: e.to_string(),
    })?;
    collection.save_classifier_blob(&blob)?;
    Ok(state)
}

/// The live records' embeddings, design rows and labels, in the same order.
pub(super) struct TrainingRows {
    pub embeddings: Vec<Vec<f32>>,
    pub design: Array2<f64>,
    pub y: Vec<u32>,
}

pub(super) fn training_rows(collection: &Collection, layout: Design) -> Result<TrainingRows> {
    let records = collection.live_records()?;
    let vectors = collection.vectors();
    let rows: Vec<usize> = vectors.live_rows().map(|(r, _, _)| r).collect();
    let embeddings: Vec<Vec<f32>> = rows.iter().map(|&r| vectors.row(r).to_vec()).collect();
    let y: Vec<u32> = rows.iter().map(|&r| vectors.labels[r]).collect();
    let seqs = records.iter().map(|r| r.seq.as_slice());
    let design = design_matrix(&embeddings, seqs, layout);
    Ok(TrainingRows {
        embeddings,
        design,
        y,
    })
}

fn design_matrix<'a>(
    embeddings: &[Vec<f32>],
    seqs: impl Iterator<Item = &'a [u8]>,
    layout: Design,
) -> Array2<f64> {
    let width = design_width(embeddings.first().map_or(0, Vec::len), layout);
    let mut design = Array2::<f64>::zeros((embeddings.len(), width));
    for ((mut row, v), seq) in design.rows_mut().into_iter().zip(embeddings).zip(seqs) {
        design_row(
            v,
            seq,
            layout,
            row.as_slice_mut()
                .expect("rows of a standard-layout array are contiguous"),
        );
    }
    design
}

/// The final linear model, on at most [`MAX_LINEAR_ROWS`] rows; with `target_mean`, blind to
/// that query set's shift direction ([`LinearModel::fit_removing`]).
pub(super) fn fit_final(
    design: &Array2<f64>,
    y: &[u32],
    n_classes: usize,
    c: f64,
    target_mean: Option<&[f64]>,
) -> Result<LinearModel> {
    let fit = |x: &Array2<f64>, y: &[u32]| match target_mean {
        Some(t) => LinearModel::fit_removing(x, y, n_classes, c, DEFAULT_MAX_ITER, t),
        None => LinearModel::fit(x, y, n_classes, c, DEFAULT_MAX_ITER),
    };
    if y.len() <= MAX_LINEAR_ROWS {
        return fit(design, y);
    }
    let frac = MAX_LINEAR_ROWS as f64 / y.len() as f64;
    let (keep, _) = crate::classify::stratified_split(y, frac, TUNE_SEED);
    let sub = design.select(ndarray::Axis(0), &keep);
    let sub_y: Vec<u32> = keep.iter().map(|&i| y[i]).collect();
    fit(&sub, &sub_y)
}

/// Collections smaller than this are not tuned: they classify by kNN alone.
pub const MIN_TRAIN_RECORDS: usize = 20;

/// The stored classifier, if one was trained.
pub fn load_state(collection: &Collection) -> Result<Option<ClassifierState>> {
    let Some(blob) = collection.classifier_blob()? else {
        return Ok(None);
    };
    let state = serde_json::from_slice(&blob).map_err(|e| Error::Corrupt {
        path: collection.path().to_path_buf(),
        message: format!("classifier: {e}"),
    })?;
    Ok(Some(state))
}

/// Predictions for a query set, with its measured covariate shift.
#[derive(Debug, Clone)]
pub struct Classified {
    /// One per query, in input order.
    pub predictions: Vec<Prediction>,
    /// The query set's shift from the training records (`None` when not measured: no
    /// trained classifier, `--adapt never`, or fewer than [`MIN_QUERIES`](crate::classify::shift::MIN_QUERIES) queries).
    pub shift: Option<Shift>,
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

/// Classifies query records against the collection. Under a material covariate shift (and
/// `opts.adapt` allowing it) the linear model is refitted blind to the shift direction and
/// the probabilities come from it alone; the neighbours are still returned as evidence.
pub fn classify_batch(
    collection: &Collection,
    embedder: &dyn Embedder,
    state: Option<&ClassifierState>,
    queries: &[SeqRecord],
    opts: ClassifyOptions,
) -> Result<Classified> {
    // Records inserted since training (over HTTP) may have added labels the linear model
    // does not score; then only the kNN vote is used until the next `compact`.
    let state = state.filter(|s| s.model.n_classes() == collection.labels().len());
    let vectors = embed_queries(embedder, queries)?;
    // The linear model's input rows, computed once: the shift is measured on them too.
    let design: Vec<Vec<f64>> = match state {
        Some(s) => queries
            .iter()
            .zip(&vectors)
            .map(|(q, v)| query_design_row(collection, s, q, v))
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };
    let (adapted, shift) = match state {
        Some(s) => super::adapt::respond(collection, s, &design, opts.adapt)?,
        None => (None, None),
    };
    let state = adapted.as_ref().or(state);
    let predictions = queries
        .iter()
        .zip(&vectors)
        .enumerate()
        .map(|(i, (q, v))| {
            let linear = state.map(|s| (s, design[i].as_slice()));
            classify_one(collection, linear, q, v, opts)
        })
        .collect::<Result<_>>()?;
    Ok(Classified { predictions, shift })
}

/// One query's prediction; `linear` is the classifier with the query's design row.
fn classify_one(
    collection: &Collection,
    linear: Option<(&ClassifierState, &[f64])>,
    query: &SeqRecord,
    vector: &[f32],
    opts: ClassifyOptions,
) -> Result<Prediction> {
    let n_classes = collection.labels().len();
    let defaults = FusionParams {
        weight_knn: 1.0,
        ..FusionParams::default()
    };
    let params = linear.map_or(&defaults, |(s, _)| &s.params);
    let k = opts.k.unwrap_or(params.k).max(1);
    let hits = collection.search(vector, k, None, None)?;
    let pairs: Vec<(u32, f32)> = hits.iter().map(|h| (h.label, h.distance)).collect();
    let p_knn = vote(&pairs, n_classes, params.vote);
    let fused = match linear {
        Some((state, row)) => fuse(&p_knn, &state.model.predict_proba(row), params.weight_knn),
        None => p_knn,
    };
    let threshold = opts.threshold.or(params.threshold);
    let (decision, confidence) = decide(&fused, hits.first().map(|h| h.distance), threshold);
    let label = match decision {
        Decision::Label(i) => collection.label_name(i).to_string(),
        Decision::Unknown => "unknown".to_string(),
    };
    debug_assert_eq!(argmax(&fused).1, confidence);
    let probabilities = collection.labels().iter().cloned().zip(fused).collect();
    Ok(Prediction {
        name: query.name.clone(),
        label,
        confidence,
        probabilities,
        neighbours: neighbours(collection, &hits)?,
    })
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

#[cfg(test)]
mod tests;
