//! `compare`: the embedding pipeline, the composition embedder and a fine-tuned model on the
//! same splits, with accuracy, time, energy and CO2 for each.

use serde::Serialize;

use super::classifier::load_state;
use super::classify::{classify_records, ClassifyOptions, Prediction};
use super::eval::{label_set, Scored};
use super::finetune::{finetune_records, predict};
use super::index::{index_records, IndexOptions};
use super::search::open_for_queries;
use crate::energy::{measure, EnergyModel, Usage};
use crate::finetune::FinetuneOptions;
use crate::metrics::roc_curve;
use crate::seq::SeqRecord;
use crate::{Error, Result};

/// Options of a comparison.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// The language model: `dnabert2:DIR`, `nt:DIR`, `hyenadna:DIR` or `DIR`.
    pub embedder: String,
    /// How the fine-tuned pipeline trains (its budgets included).
    pub finetune: FinetuneOptions,
    /// The energy and carbon constants.
    pub energy: EnergyModel,
    /// Skip the fine-tuned pipeline (for a quick look at the embedding side).
    pub skip_finetune: bool,
}

/// One pipeline's scores on one test set, as `compare --json` prints them.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineResult {
    /// Which pipeline.
    pub name: String,
    /// Fraction correct.
    pub accuracy: f64,
    /// Macro-averaged F1.
    pub macro_f1: f64,
    /// Multi-class Matthews correlation.
    pub mcc: f64,
    /// Positive-class (two classes) or one-vs-rest macro AUROC.
    pub auroc: Option<f64>,
    /// Wall time of training: indexing (embedding + tuning) or fine-tuning.
    pub train_time_s: f64,
    /// Wall time of prediction per test sequence, in milliseconds.
    pub infer_ms_per_seq: f64,
    /// Energy of training plus inference on this test set.
    pub energy_kwh: f64,
    /// CO2 of the same.
    pub co2_kg: f64,
    /// Energy of inference alone.
    pub infer_energy_kwh: f64,
    /// CPU seconds of training and of inference.
    pub train_cpu_s: f64,
    /// CPU seconds of inference on this test set.
    pub infer_cpu_s: f64,
    /// Test rows.
    pub n_test: usize,
    /// ROC points (false positive rate, true positive rate) of the second label (two
    /// classes only); not in the JSON.
    #[serde(skip)]
    pub roc: Vec<(f64, f64)>,
}

/// How energy was estimated, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Method {
    /// In words.
    pub energy: String,
    /// Watts per busy core.
    pub watts_per_core: f64,
    /// kg CO2e per kWh.
    pub grid_kg_per_kwh: f64,
    /// Worker threads available to the process.
    pub threads: usize,
    /// The labels in metric order; the ROC is of the last of two.
    pub labels: Vec<String>,
    /// The fine-tuning run's record.
    pub finetune: Option<crate::finetune::FinetuneReport>,
}

/// The `compare --json` object.
#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    /// Scores on the test set.
    pub pipelines: Vec<PipelineResult>,
    /// Scores on the shift test set (empty without one).
    pub shift: Vec<PipelineResult>,
    /// How time and energy were measured.
    pub method: Method,
}

/// How a trained pipeline classifies rows.
type PredictFn<'a> = Box<dyn Fn(&[SeqRecord]) -> Result<Vec<Prediction>> + 'a>;

/// A trained pipeline: what it cost to train and how it predicts.
struct Trained<'a> {
    name: String,
    train: Usage,
    predict: PredictFn<'a>,
}

/// Runs every pipeline on `train`, scores it on `test` and on `shift` when given.
pub fn compare(
    train: &[SeqRecord],
    test: &[SeqRecord],
    shift: Option<&[SeqRecord]>,
    opts: &CompareOptions,
) -> Result<CompareReport> {
    if opts.embedder.starts_with("composition") {
        return Err(Error::InvalidArgument {
            what: "--embedder".into(),
            message: "compare needs a language model (dnabert2:DIR, nt:DIR, hyenadna:DIR or DIR); \
                      the composition pipeline is always included"
                .into(),
        });
    }
    // Fail before any indexing if the checkpoint folder is not there.
    crate::embed::model_spec(&opts.embedder)?;
    let everything = train.iter().chain(test).chain(shift.unwrap_or(&[]));
    let labels = label_set(everything)?;
    let dir = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let mut report = CompareReport {
        pipelines: Vec::new(),
        shift: Vec::new(),
        method: method(opts, &labels),
    };
    let retrieval = [
        ("embedding+knn+fusion", opts.embedder.as_str(), true),
        ("embedding+knn", opts.embedder.as_str(), false),
        ("composition+knn+fusion", "composition", true),
    ];
    for (name, spec, handcrafted) in retrieval {
        let path = dir.path().join(format!("{name}.redb"));
        let trained = retrieval_pipeline(name, spec, handcrafted, &path, train)?;
        score_all(&trained, test, shift, &labels, opts, &mut report)?;
    }
    if !opts.skip_finetune {
        // Saved and reloaded, so that inference runs on constant weights (no gradient graph),
        // as `classify --finetuned` does.
        let saved = dir.path().join("finetuned");
        let (tuned, usage) = measure(|| -> Result<_> {
            let tuned = finetune_records(&opts.embedder, train, None, &opts.finetune, &mut |_| {})?;
            tuned.save(&saved)?;
            crate::finetune::load(&saved)
        });
        let (classifier, record) = tuned?;
        let name = format!("finetuned-{}", record.family);
        report.method.finetune = Some(record);
        let trained = Trained {
            name,
            train: usage,
            predict: Box::new(|rows: &[SeqRecord]| predict(&classifier, rows)),
        };
        score_all(&trained, test, shift, &labels, opts, &mut report)?;
    }
    Ok(report)
}

fn method(opts: &CompareOptions, labels: &[String]) -> Method {
    Method {
        energy: "process CPU time (user + system, all threads) x watts per busy core; on CPU \
                 the energy ratio of two pipelines therefore equals their CPU-time ratio by \
                 construction. CO2 = energy x grid intensity."
            .into(),
        watts_per_core: opts.energy.watts_per_core,
        grid_kg_per_kwh: opts.energy.grid_kg_per_kwh,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        labels: labels.to_vec(),
        finetune: None,
    }
}

/// Indexes `train` with `spec` into `path` (the training cost) and classifies against it.
fn retrieval_pipeline<'a>(
    name: &str,
    spec: &str,
    handcrafted: bool,
    path: &std::path::Path,
    train: &[SeqRecord],
) -> Result<Trained<'a>> {
    let index_opts = IndexOptions {
        embedder: spec.to_string(),
        handcrafted,
        ..IndexOptions::default()
    };
    let (indexed, usage) = measure(|| index_records(path, train, &index_opts, &mut |_, _, _| {}));
    indexed?;
    let (collection, embedder) = open_for_queries(path)?;
    let state = load_state(&collection)?;
    let predict = move |rows: &[SeqRecord]| {
        let opts = ClassifyOptions::default();
        classify_records(&collection, embedder.as_ref(), state.as_ref(), rows, opts)
    };
    Ok(Trained {
        name: name.to_string(),
        train: usage,
        predict: Box::new(predict),
    })
}

fn score_all(
    trained: &Trained,
    test: &[SeqRecord],
    shift: Option<&[SeqRecord]>,
    labels: &[String],
    opts: &CompareOptions,
    report: &mut CompareReport,
) -> Result<()> {
    report
        .pipelines
        .push(score(trained, test, labels, &opts.energy)?);
    if let Some(shift) = shift {
        report
            .shift
            .push(score(trained, shift, labels, &opts.energy)?);
    }
    Ok(())
}

fn score(
    trained: &Trained,
    rows: &[SeqRecord],
    labels: &[String],
    energy: &EnergyModel,
) -> Result<PipelineResult> {
    let (predictions, usage) = measure(|| (trained.predict)(rows));
    let scored = Scored::new(rows, &predictions?, labels);
    let m = scored.metrics();
    let roc = match labels.len() {
        2 => {
            let scores: Vec<f64> = scored.probabilities.iter().map(|p| p[1]).collect();
            let positive: Vec<bool> = scored.truth.iter().map(|&t| t == 1).collect();
            roc_curve(&scores, &positive)
        }
        _ => Vec::new(),
    };
    let total = trained.train + usage;
    Ok(PipelineResult {
        name: trained.name.clone(),
        accuracy: m.accuracy,
        macro_f1: m.macro_f1,
        mcc: m.mcc,
        auroc: m.auroc,
        train_time_s: trained.train.wall_s,
        infer_ms_per_seq: usage.wall_s * 1e3 / rows.len().max(1) as f64,
        energy_kwh: energy.kwh(total),
        co2_kg: energy.co2_kg(total),
        infer_energy_kwh: energy.kwh(usage),
        train_cpu_s: trained.train.cpu_s,
        infer_cpu_s: usage.cpu_s,
        n_test: rows.len(),
        roc,
    })
}
