//! `finetune` and `classify --finetuned`: the fine-tuned contrast wired to files.

use std::path::Path;

use super::classify::{AnsweredBy, Prediction};
use crate::embed;
use crate::finetune::{self, FinetuneOptions, FinetuneReport, Finetuned, Progress};
use crate::seq::SeqRecord;
use crate::{Error, Result};

/// Sequences per forward pass when predicting.
const PREDICT_BATCH: usize = 32;

/// Fine-tunes the model that `spec` names (`dnabert2:DIR`, `nt:DIR`, `hyenadna:DIR` or
/// `DIR`) on `train`, early-stopping on `dev` (a stratified 10% of `train` when absent).
pub fn finetune_records(
    spec: &str,
    train: &[SeqRecord],
    dev: Option<&[SeqRecord]>,
    opts: &FinetuneOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Finetuned> {
    if spec.starts_with("composition") {
        return Err(Error::InvalidArgument {
            what: "--embedder".into(),
            message: "fine-tuning needs a language model (dnabert2:DIR, nt:DIR, hyenadna:DIR or \
                      DIR); the composition embedder has no weights to train"
                .into(),
        });
    }
    let (family, dir) = embed::model_spec(spec)?;
    finetune::finetune(family, dir, train, dev, opts, progress)
}

/// Classifies `queries` with a fine-tuned folder. Predictions carry no neighbours: the
/// fine-tuned model retrieves nothing.
pub fn classify_finetuned(
    dir: &Path,
    queries: &[SeqRecord],
) -> Result<(Vec<Prediction>, FinetuneReport)> {
    let (classifier, report) = finetune::load(dir)?;
    let predictions = predict(&classifier, queries)?;
    Ok((predictions, report))
}

/// Predictions of a loaded or freshly trained classifier.
pub fn predict(
    classifier: &finetune::SequenceClassifier,
    queries: &[SeqRecord],
) -> Result<Vec<Prediction>> {
    let seqs: Vec<&[u8]> = queries.iter().map(|q| q.seq.as_bytes()).collect();
    let probabilities = classifier.predict_proba(&seqs, PREDICT_BATCH)?;
    let labels = classifier.labels();
    Ok(queries
        .iter()
        .zip(probabilities)
        .map(|(q, p)| {
            let (best, confidence) =
                p.iter()
                    .copied()
                    .enumerate()
                    .fold(
                        (0, f64::NEG_INFINITY),
                        |a, (i, v)| if v > a.1 { (i, v) } else { a },
                    );
            Prediction {
                name: q.name.clone(),
                label: labels[best].clone(),
                confidence,
                probabilities: labels.iter().cloned().zip(p).collect(),
                vote: Vec::new(),
                linear: None,
                weight_knn: 0.0,
                k: 0,
                answered_by: AnsweredBy::FineTuned,
                adapted: false,
                neighbours: Vec::new(),
            }
        })
        .collect())
}
