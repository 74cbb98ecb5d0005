//! Training the classifier: a step of its own, off the write path.
//!
//! The classifier is derived data, like the graph. It records what it was trained on (the
//! live records below an id watermark), so its state can always be reported: records added
//! or deleted since, labels it knows. Tuning (k, fusion weight, C by inner validation,
//! [`crate::classify::tune`]) is the slow part; between tunings the stored settings are kept
//! and only the linear model is refitted on the live records. A retune happens when none was
//! done, when the collection changed by [`RETUNE_FRACTION`] of what was tuned on, or when
//! asked.
//!
//! Training reads a [`Snapshot`] (a short read), fits outside any lock, and stores the new
//! state in one small write, so a server can train in the background and swap the result in.

use ndarray::Array2;
use serde::Serialize;

use super::classifier::{
    changes, load_state, save_state, status, ClassifierState, LiveRecords, Watermark,
};
use super::design::{design_matrix, Design};
use crate::classify::linear::DEFAULT_MAX_ITER;
use crate::classify::tune::C_GRID;
use crate::classify::{tune, LinearModel, TuneInput, Vote};
use crate::progress;
use crate::store::Collection;
use crate::Result;

/// Seed of the inner validation split.
pub(super) const TUNE_SEED: u64 = 17;
/// Cap on the records the final linear model is fitted on (seeded, stratified), which
/// bounds training time on large collections.
pub const MAX_LINEAR_ROWS: usize = 20_000;
/// Collections smaller than this are not trained: they classify by the kNN vote alone.
pub const MIN_TRAIN_RECORDS: usize = 20;
/// A change (added plus deleted records) of at least this share of the records the settings
/// were tuned on makes the next training a retune.
pub const RETUNE_FRACTION: f64 = 0.1;

/// What a training run should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrainMode {
    /// Tune when due (see the module docs), refit when anything changed, else nothing.
    #[default]
    Auto,
    /// Re-tune k, the fusion weight and C, then fit.
    Retune,
}

/// What a training run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainAction {
    /// k, the fusion weight and C were tuned, then the linear model fitted.
    Tuned,
    /// The linear model was refitted with the stored settings.
    Refitted,
    /// Nothing changed since the last fit.
    UpToDate,
    /// Too few records to train on (fewer than [`MIN_TRAIN_RECORDS`] live records, or fewer
    /// than two labels with two live records each): the kNN vote alone answers, or the
    /// classifier stored earlier.
    TooFew,
}

/// The action a training run with `mode` takes on `collection`.
pub fn plan(
    collection: &impl LiveRecords,
    state: Option<&ClassifierState>,
    mode: TrainMode,
) -> TrainAction {
    if !trainable(collection) {
        return TrainAction::TooFew;
    }
    let Some(state) = state else {
        return TrainAction::Tuned;
    };
    if mode == TrainMode::Retune {
        return TrainAction::Tuned;
    }
    let tuned_on = state.tuned.map_or(state.trained_on, |t| t.records);
    let (added, deleted) = changes(collection, state.tuned, tuned_on);
    if (added + deleted) as f64 >= RETUNE_FRACTION * tuned_on.max(1) as f64 {
        return TrainAction::Tuned;
    }
    if status(collection, Some(state)).stale() {
        TrainAction::Refitted
    } else {
        TrainAction::UpToDate
    }
}

/// Whether the collection has enough records to tune on: the inner validation holds out
/// records of labels with two or more, and a classifier needs two labels to tell apart.
fn trainable(collection: &impl LiveRecords) -> bool {
    let counts = collection.live_per_label();
    let labels_with_two = counts.iter().filter(|&&n| n >= 2).count();
    counts.iter().sum::<usize>() >= MIN_TRAIN_RECORDS && labels_with_two >= 2
}

/// Everything a fit needs, read from the collection in one short pass.
pub struct Snapshot {
    /// The live records' embeddings (stored form).
    pub embeddings: Vec<Vec<f32>>,
    /// Their design rows.
    pub design: Array2<f64>,
    /// Their label indices.
    pub y: Vec<u32>,
    /// The collection's labels then.
    pub labels: Vec<String>,
    /// The collection's next id then.
    pub next_id: u64,
    /// Which design rows.
    pub layout: Design,
}

/// Reads the live records' training rows.
pub fn snapshot(collection: &Collection, layout: Design) -> Result<Snapshot> {
    Ok(read_snapshot(collection, layout)?.finish())
}

/// What a snapshot reads from the collection, before its design rows are computed.
pub struct SnapshotRead {
    embeddings: Vec<Vec<f32>>,
    seqs: Vec<Vec<u8>>,
    y: Vec<u32>,
    labels: Vec<String>,
    next_id: u64,
    layout: Design,
}

/// Reads what a snapshot needs (the part that needs the collection, so a server holds its
/// read lock only for this); [`SnapshotRead::finish`] computes the design rows.
pub fn read_snapshot(collection: &Collection, layout: Design) -> Result<SnapshotRead> {
    let records = collection.live_records()?;
    let vectors = collection.vectors();
    let rows: Vec<usize> = vectors.live_rows().map(|(r, _, _)| r).collect();
    // A quantized collection keeps only codes in memory: the exact vectors come from the file.
    let dim = collection.config().dim.max(1);
    let embeddings: Vec<Vec<f32>> = collection
        .row_vectors(&rows)?
        .chunks_exact(dim)
        .map(<[f32]>::to_vec)
        .collect();
    Ok(SnapshotRead {
        embeddings,
        seqs: records.into_iter().map(|r| r.seq).collect(),
        y: rows.iter().map(|&r| vectors.labels[r]).collect(),
        labels: collection.labels().to_vec(),
        next_id: collection.next_id(),
        layout,
    })
}

impl SnapshotRead {
    /// Computes the design rows (handcrafted features from the sequences): no collection needed.
    pub fn finish(self) -> Snapshot {
        let seqs = self.seqs.iter().map(Vec::as_slice);
        let design = design_matrix(&self.embeddings, seqs, self.layout);
        Snapshot {
            embeddings: self.embeddings,
            design,
            y: self.y,
            labels: self.labels,
            next_id: self.next_id,
            layout: self.layout,
        }
    }
}

/// Fits a classifier on a snapshot: tuned anew for [`TrainAction::Tuned`], else with the
/// settings of `previous`.
pub fn fit(
    snap: &Snapshot,
    previous: Option<&ClassifierState>,
    action: TrainAction,
) -> Result<ClassifierState> {
    let n_classes = snap.labels.len();
    let mark = Watermark {
        records: snap.y.len(),
        next_id: snap.next_id,
    };
    let (params, val_accuracy, tuned) = match (action, previous) {
        (TrainAction::Refitted, Some(p)) => (p.params.clone(), p.val_accuracy, p.tuned),
        _ => {
            progress::phase(
                "tune classifier (k, weight, C)",
                Some(C_GRID.len() as u64 + 1),
            );
            let t = tune(&TuneInput {
                embeddings: &snap.embeddings,
                design: &snap.design,
                y: &snap.y,
                n_classes,
                vote: Vote::Distance,
                seed: TUNE_SEED,
                max_iter: DEFAULT_MAX_ITER,
            })?;
            (t.params, t.val_accuracy, Some(mark))
        }
    };
    progress::phase("fit classifier", None);
    // A refit is a fit from scratch, so the model depends only on the records stored.
    let model = fit_final(&snap.design, &snap.y, n_classes, params.c, Fit::Plain)?;
    Ok(ClassifierState {
        params,
        val_accuracy,
        trained_on: snap.y.len(),
        handcrafted: snap.layout.handcrafted,
        profile: snap.layout.profile,
        model,
        labels: snap.labels.clone(),
        trained_next_id: Some(snap.next_id),
        tuned,
        class_means: class_means(&snap.design, &snap.y, n_classes),
    })
}

/// Mean design row of each class (empty for a class with no row).
pub(super) fn class_means(design: &Array2<f64>, y: &[u32], n_classes: usize) -> Vec<Vec<f64>> {
    let mut sums = vec![vec![0f64; design.ncols()]; n_classes];
    let mut counts = vec![0usize; n_classes];
    for (row, &label) in design.rows().into_iter().zip(y) {
        let sum = &mut sums[label as usize];
        sum.iter_mut().zip(row).for_each(|(s, x)| *s += x);
        counts[label as usize] += 1;
    }
    for (sum, n) in sums.iter_mut().zip(counts) {
        if n == 0 {
            sum.clear();
        }
        sum.iter_mut().for_each(|s| *s /= n as f64);
    }
    sums
}

/// How the final linear model is fitted.
pub(super) enum Fit<'a> {
    /// An ordinary fit ([`LinearModel::fit`]).
    Plain,
    /// Blind to a query set's shift direction, given by its raw column means
    /// ([`LinearModel::fit_removing`]).
    Removing(&'a [f64]),
}

/// The final linear model, on at most [`MAX_LINEAR_ROWS`] rows.
pub(super) fn fit_final(
    design: &Array2<f64>,
    y: &[u32],
    n_classes: usize,
    c: f64,
    how: Fit,
) -> Result<LinearModel> {
    let fit = |x: &Array2<f64>, y: &[u32]| match how {
        Fit::Removing(t) => LinearModel::fit_removing(x, y, n_classes, c, DEFAULT_MAX_ITER, t),
        Fit::Plain => LinearModel::fit(x, y, n_classes, c, DEFAULT_MAX_ITER),
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

/// Options of a training run.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// Tune when due, or always.
    pub mode: TrainMode,
    /// Design rows for a first training; later ones keep the stored choice.
    pub handcrafted: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            mode: TrainMode::Auto,
            handcrafted: true,
        }
    }
}

/// What a training run did, and the classifier afterwards.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The action taken.
    pub action: TrainAction,
    /// The classifier now stored (unchanged for `UpToDate`, `None` for `TooFew` without one).
    pub state: Option<ClassifierState>,
}

/// Trains the collection's classifier as [`plan`] says and stores it.
pub fn train(collection: &mut Collection, opts: TrainOptions) -> Result<Trained> {
    let previous = load_state(collection)?;
    let action = plan(collection, previous.as_ref(), opts.mode);
    if matches!(action, TrainAction::UpToDate | TrainAction::TooFew) {
        return Ok(Trained {
            action,
            state: previous,
        });
    }
    let layout = previous
        .as_ref()
        .map_or(Design::new(opts.handcrafted), ClassifierState::design);
    progress::phase("read training rows", None);
    let snap = snapshot(collection, layout)?;
    let state = fit(&snap, previous.as_ref(), action)?;
    save_state(collection, &state)?;
    Ok(Trained {
        action,
        state: Some(state),
    })
}

#[cfg(test)]
mod tests;
