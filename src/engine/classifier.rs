//! What a collection stores about its classifier, and its state against the collection as it
//! is now: what it was trained on, what changed since, which labels it knows.

use serde::{Deserialize, Serialize};

use super::design::Design;
use crate::classify::{FusionParams, LinearModel};
use crate::store::Collection;
use crate::{Error, Result};

/// What a collection stores about its classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierState {
    /// Chosen by inner validation.
    pub params: FusionParams,
    /// Inner validation accuracy of `params`.
    pub val_accuracy: f64,
    /// Live records the linear model was fitted on.
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
    /// The label of each class the linear model scores (older states: empty, and the
    /// collection's first `model.n_classes()` labels).
    #[serde(default)]
    pub labels: Vec<String>,
    /// The collection's next record id when the model was fitted: it was fitted on the live
    /// records below it.
    #[serde(default)]
    pub trained_next_id: Option<u64>,
    /// Live records, and the next id, when `params` were tuned.
    #[serde(default)]
    pub tuned: Option<Watermark>,
    /// Each class's mean design row over the records fitted on (empty for older states):
    /// what `--adapt auto` explains a query mean by.
    #[serde(default)]
    pub class_means: Vec<Vec<f64>>,
}

/// The live records below an id, at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// Live records then.
    pub records: usize,
    /// The collection's next id then.
    pub next_id: u64,
}

fn handcrafted_default() -> bool {
    true
}

impl ClassifierState {
    /// The columns of this state's design rows.
    pub fn design(&self) -> Design {
        Design {
            handcrafted: self.handcrafted,
            profile: self.handcrafted && self.profile,
        }
    }

    /// The labels the linear model scores: those it had training rows of, in class order.
    /// `labels` is the collection's label list (what older states, without their own, name
    /// their classes by).
    pub fn known_labels(&self, labels: &[String]) -> Vec<String> {
        let names = if self.labels.is_empty() {
            labels
        } else {
            &self.labels
        };
        let classes = self.model.classes().iter();
        classes
            .filter_map(|&c| names.get(c as usize).cloned())
            .collect()
    }

    /// For each label index of the collection, whether the linear model scores it.
    pub fn known_mask(&self, n_labels: usize) -> Vec<bool> {
        let mut known = vec![false; n_labels];
        for &c in self.model.classes() {
            if let Some(k) = known.get_mut(c as usize) {
                *k = true;
            }
        }
        known
    }

    /// When the linear model was fitted.
    pub(super) fn fitted(&self) -> Option<Watermark> {
        self.trained_next_id.map(|next_id| Watermark {
            records: self.trained_on,
            next_id,
        })
    }
}

/// Records added and deleted since a watermark. Without one (states stored before
/// watermarks existed) the net change of the count is all that is known.
pub(super) fn changes(
    collection: &impl LiveRecords,
    mark: Option<Watermark>,
    records: usize,
) -> (usize, usize) {
    let now = collection.live_count();
    let Some(mark) = mark else {
        return (now.saturating_sub(records), records.saturating_sub(now));
    };
    let older = collection.live_below(mark.next_id);
    (
        now.saturating_sub(older),
        mark.records.saturating_sub(older),
    )
}

/// What the classifier's bookkeeping reads of a collection, local or kept in Milvus: its label
/// list and its live records.
pub trait LiveRecords {
    /// The label list, indexed by label index.
    fn label_names(&self) -> &[String];
    /// Live records per label index.
    fn live_per_label(&self) -> Vec<usize>;
    /// Live records whose id is below `next_id` (a watermark's: the ones stored before it).
    fn live_below(&self, next_id: u64) -> usize;

    /// Live records.
    fn live_count(&self) -> usize {
        self.live_per_label().iter().sum()
    }
}

/// [`LiveRecords::live_per_label`] of `(id, label index)` pairs.
pub(super) fn per_label(n_labels: usize, live: impl Iterator<Item = (u64, u32)>) -> Vec<usize> {
    let mut counts = vec![0; n_labels];
    for (_, label) in live {
        if let Some(c) = counts.get_mut(label as usize) {
            *c += 1;
        }
    }
    counts
}

impl LiveRecords for Collection {
    fn label_names(&self) -> &[String] {
        self.labels()
    }

    fn live_per_label(&self) -> Vec<usize> {
        let live = self.vectors().live_rows().map(|(_, id, label)| (id, label));
        per_label(self.labels().len(), live)
    }

    fn live_below(&self, next_id: u64) -> usize {
        let live = self.vectors().live_rows();
        live.filter(|&(_, id, _)| id < next_id).count()
    }
}

/// The classifier's state as every output reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassifierStatus {
    /// Whether a linear model is stored (else classification is the kNN vote alone).
    pub trained: bool,
    /// Live records the linear model was fitted on.
    pub trained_on: usize,
    /// Records added since it was fitted.
    pub added_since: usize,
    /// Records deleted since it was fitted.
    pub deleted_since: usize,
    /// The labels it scores.
    pub labels: Vec<String>,
    /// Labels with live records that it has not seen: the kNN vote alone scores them until
    /// the next training.
    pub untrained_labels: Vec<String>,
    /// The stored settings (k, fusion weight, C, vote).
    pub params: Option<FusionParams>,
}

impl ClassifierStatus {
    /// True when records were added or deleted since the model was fitted.
    pub fn stale(&self) -> bool {
        self.added_since + self.deleted_since > 0
    }
}

/// The classifier's state against the collection as it is now.
pub fn status(collection: &impl LiveRecords, state: Option<&ClassifierState>) -> ClassifierStatus {
    let counts = collection.live_per_label();
    let live_labels = collection
        .label_names()
        .iter()
        .zip(&counts)
        .filter(|(_, &n)| n > 0)
        .map(|(name, _)| name.clone());
    let Some(state) = state else {
        return ClassifierStatus {
            trained: false,
            trained_on: 0,
            added_since: counts.iter().sum(),
            deleted_since: 0,
            labels: Vec::new(),
            untrained_labels: live_labels.collect(),
            params: None,
        };
    };
    let known = state.known_labels(collection.label_names());
    let (added_since, deleted_since) = changes(collection, state.fitted(), state.trained_on);
    ClassifierStatus {
        trained: true,
        trained_on: state.trained_on,
        added_since,
        deleted_since,
        labels: known.clone(),
        untrained_labels: live_labels.filter(|l| !known.contains(l)).collect(),
        params: Some(state.params.clone()),
    }
}

/// Stores a classifier state durably.
pub fn save_state(collection: &mut Collection, state: &ClassifierState) -> Result<()> {
    let blob = serde_json::to_vec(state).map_err(|e| Error::Classifier {
        message: e.to_string(),
    })?;
    collection.save_classifier_blob(&blob)
}

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
