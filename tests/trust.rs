//! Trustworthy predictions in a living collection (real redb files, the composition embedder,
//! the tuned classifier): answers that do not depend on the rest of the batch, a classifier
//! that stays on after writes and says what it was trained on, training as its own step.

#[path = "common/classify.rs"]
mod common_classify;

use std::path::{Path, PathBuf};

use common_classify::classify;
use genovec::classify::Adapt;
use genovec::engine::{self, IndexOptions, TrainAction, TrainMode, TrainOptions};
use genovec::seq::SeqRecord;
use genovec::store::Collection;

fn collection(dir: &Path, per_class: usize) -> PathBuf {
    let path = dir.join("trust.redb");
    let train = genovec::demo::generate(1, per_class);
    engine::index_records(&path, &train, &IndexOptions::default(), &mut |_, _, _| {}).unwrap();
    path
}

fn of_class(records: &[SeqRecord], class: &str) -> Vec<SeqRecord> {
    records
        .iter()
        .filter(|r| r.label.as_deref() == Some(class))
        .cloned()
        .collect()
}

#[test]
fn by_default_a_prediction_is_the_same_alone_in_one_class_and_in_a_mix() {
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path(), 100);
    let mixed = genovec::demo::generate(2, 60);
    let together = classify(&path, &mixed, Adapt::default()).predictions;
    for class in ["tata_promoter", "cpg_island", "background"] {
        let single = of_class(&mixed, class);
        let alone = classify(&path, &single, Adapt::default()).predictions;
        for p in &alone {
            let q = together.iter().find(|t| t.name == p.name).unwrap();
            assert_eq!(
                p, q,
                "{} differs between a one-class file and a mix",
                p.name
            );
        }
    }
    // One at a time, too.
    for q in mixed.iter().step_by(17) {
        let one = classify(&path, std::slice::from_ref(q), Adapt::default()).predictions;
        let t = together.iter().find(|t| t.name == q.name).unwrap();
        assert_eq!(&one[0], t);
        assert!(!t.adapted);
    }
}

#[test]
fn auto_adaptation_reads_a_one_class_batch_as_label_shift_not_covariate_shift() {
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path(), 100);
    let queries = genovec::demo::generate(3, 150);
    for class in ["tata_promoter", "cpg_island", "background"] {
        let single = of_class(&queries, class);
        assert!(single.len() >= 100);
        let auto = classify(&path, &single, Adapt::Auto);
        let shift = auto.shift.expect("150 queries are measured");
        assert!(!shift.adapted, "{class}: {shift:?}");
        // The promoter classes have distinct means, and the estimated mix finds the batch's
        // class; the background's mean lies between the others', so it has no such check.
        let total: f64 = shift.class_mix.iter().sum();
        assert!((total - 1.0).abs() < 1e-9, "{:?}", shift.class_mix);
        if class != "background" {
            let (collection, _) = engine::open_for_queries(&path).unwrap();
            let index = collection.label_index(class).unwrap() as usize;
            assert!(
                shift.class_mix[index] > 0.8,
                "{class}: {:?}",
                shift.class_mix
            );
        }
        let never = classify(&path, &single, Adapt::Never);
        assert_eq!(auto.predictions, never.predictions);
    }
}

#[test]
fn predictions_explain_their_parts() {
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path(), 60);
    let queries = genovec::demo::generate(4, 10);
    let classified = classify(&path, &queries, Adapt::Never);
    assert!(classified.classifier.trained && !classified.classifier.stale());
    for p in &classified.predictions {
        let linear = p
            .linear
            .as_ref()
            .expect("a trained collection has a linear model");
        let w = p.weight_knn;
        for (i, (label, fused)) in p.probabilities.iter().enumerate() {
            assert_eq!(&p.vote[i].0, label);
            let want = w * p.vote[i].1 + (1.0 - w) * linear[i].1;
            assert!((fused - want).abs() < 1e-12, "{label}: {fused} vs {want}");
        }
        let votes = p.neighbours.len();
        assert_eq!(votes, p.k);
    }
}

/// One record with a label the classifier has not seen, embedded for insertion.
fn new_label_record(seed: u64) -> Vec<genovec::store::NewRecord> {
    let mut r = genovec::demo::generate(seed, 1).remove(0);
    r.label = Some("enhancer".into());
    r.name = "new-label".into();
    let embedder = genovec::embed::from_spec("composition").unwrap();
    engine::embed_records(embedder.as_ref(), &[r]).unwrap()
}

#[test]
fn a_new_label_keeps_the_linear_model_on_and_vanishes_when_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path(), 60);
    let queries = genovec::demo::generate(5, 40);
    let before = classify(&path, &queries, Adapt::Never);
    let id = {
        let mut c = Collection::open_writer(&path).unwrap();
        c.insert_batch(&new_label_record(9), false).unwrap().ids[0].unwrap()
    };
    let during = classify(&path, &queries, Adapt::Never);
    let status = &during.classifier;
    assert_eq!((status.added_since, status.deleted_since), (1, 0));
    assert_eq!(status.untrained_labels, vec!["enhancer".to_string()]);
    assert!(during.predictions.iter().all(|p| p.linear.is_some()));
    let changed = before
        .predictions
        .iter()
        .zip(&during.predictions)
        .filter(|(a, b)| a.label != b.label)
        .count();
    assert!(changed <= queries.len() / 50, "{changed} labels changed");
    Collection::open_writer(&path)
        .unwrap()
        .delete(&[id])
        .unwrap();
    let after = classify(&path, &queries, Adapt::Never);
    assert_eq!(
        before.predictions, after.predictions,
        "the label is gone again"
    );
    assert!(after.classifier.untrained_labels.is_empty());
    assert_eq!(after.classifier.added_since, 0);
}

#[test]
fn training_refits_between_retunings_and_retunes_when_due() {
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path(), 40);
    let first = engine::load_state(&Collection::open_reader(&path).unwrap())
        .unwrap()
        .unwrap();
    // A few records: refitted, settings kept.
    let extra = genovec::demo::generate(11, 2);
    let opts = IndexOptions::default();
    let report = engine::index_records(&path, &extra, &opts, &mut |_, _, _| {}).unwrap();
    let trained = report.trained.unwrap();
    assert_eq!(trained.action, TrainAction::Refitted);
    let state = trained.state.unwrap();
    assert_eq!(
        (state.params.clone(), state.trained_on),
        (first.params.clone(), 126)
    );
    // Nothing changed: nothing to do.
    let again = engine::train_collection(&path, TrainOptions::default()).unwrap();
    assert_eq!(again.action, TrainAction::UpToDate);
    // --no-train leaves it stale; 10% more records make the next training a retune.
    let more = genovec::demo::generate(12, 5);
    let no_train = IndexOptions {
        train: false,
        ..IndexOptions::default()
    };
    engine::index_records(&path, &more, &no_train, &mut |_, _, _| {}).unwrap();
    let c = Collection::open_reader(&path).unwrap();
    let status = engine::status(&c, engine::load_state(&c).unwrap().as_ref());
    assert_eq!((status.added_since, status.trained_on), (15, 126));
    drop(c);
    let due = engine::train_collection(&path, TrainOptions::default()).unwrap();
    assert_eq!(due.action, TrainAction::Tuned);
    let forced = TrainOptions {
        mode: TrainMode::Retune,
        ..TrainOptions::default()
    };
    let retuned = engine::train_collection(&path, forced).unwrap();
    assert_eq!(retuned.action, TrainAction::Tuned);
}

#[test]
fn predictions_are_the_same_on_any_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let queries = genovec::demo::generate(3, 40);
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        // Indexing (the graph build) and classifying (queries spread over threads) both run
        // inside the pool.
        pool.install(|| {
            let path = dir.path().join(format!("threads{threads}.redb"));
            let train = genovec::demo::generate(1, 400);
            engine::index_records(&path, &train, &IndexOptions::default(), &mut |_, _, _| {})
                .unwrap();
            classify(&path, &queries, Adapt::default()).predictions
        })
    };
    let one = on(1);
    assert_eq!(one.len(), queries.len());
    assert_eq!(on(2), one, "two threads changed a prediction");
    assert_eq!(on(3), one, "three threads changed a prediction");
}
