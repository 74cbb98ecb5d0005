//! Covariate-shift correction of a query set, end to end: a real collection file, the
//! composition embedder and the tuned classifier, on the demo generator's sequences.

#[path = "common/classify.rs"]
mod common_classify;

use common_classify::classify;
use genovec::classify::{shift, Adapt};
use genovec::engine::{self, ClassifyOptions, IndexOptions};
use genovec::seq::{DnaSeq, SeqRecord};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn collection(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("demo.redb");
    let train = genovec::demo::generate(1, 100);
    engine::index_records(&path, &train, &IndexOptions::default(), &mut |_, _, _| {}).unwrap();
    path
}

/// Every base is replaced by A or T with probability 0.35: the whole set moves AT-wards.
fn at_shifted(records: &[SeqRecord], seed: u64) -> Vec<SeqRecord> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    records
        .iter()
        .map(|r| {
            let bases: Vec<u8> = (r.seq.as_bytes().iter())
                .map(|&b| match rng.gen_bool(0.35) {
                    true if rng.gen_bool(0.5) => b'A',
                    true => b'T',
                    false => b,
                })
                .collect();
            SeqRecord {
                seq: DnaSeq::parse(&bases).unwrap(),
                ..r.clone()
            }
        })
        .collect()
}

#[test]
fn in_distribution_queries_are_measured_but_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path());
    let queries = genovec::demo::generate(2, 50);
    let auto = classify(&path, &queries, Adapt::Auto);
    let s = auto.shift.expect("150 queries are measured");
    assert!(!s.adapted && !s.is_material(), "{s:?}");
    assert!(s.noise_ratio < shift::MIN_NOISE_RATIO, "{s:?}");
    let never = classify(&path, &queries, Adapt::Never);
    assert!(never.shift.is_none());
    assert_eq!(auto.predictions, never.predictions);
    // Forcing the correction on the same queries does change the classifier.
    let always = classify(&path, &queries, Adapt::Always);
    assert!(always.shift.unwrap().adapted);
}

#[test]
fn a_shifted_query_set_is_corrected_and_keeps_its_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path());
    let queries = at_shifted(&genovec::demo::generate(3, 50), 4);
    let auto = classify(&path, &queries, Adapt::Auto);
    let s = auto.shift.clone().unwrap();
    assert!(s.adapted && s.is_material(), "{s:?}");
    assert_eq!(s.n_queries, queries.len());
    let never = classify(&path, &queries, Adapt::Never);
    assert_ne!(auto.predictions, never.predictions);
    for (a, n) in auto.predictions.iter().zip(&never.predictions) {
        assert_eq!(
            a.neighbours, n.neighbours,
            "the neighbours are the same evidence"
        );
        let total: f64 = a.probabilities.iter().map(|(_, p)| p).sum();
        assert!((total - 1.0).abs() < 1e-9);
    }
}

#[test]
fn small_query_sets_are_never_corrected_and_always_needs_enough_queries() {
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path());
    let few = at_shifted(&genovec::demo::generate(5, 10), 6);
    assert!(classify(&path, &few, Adapt::Auto).shift.is_none());
    let (collection, embedder) = engine::open_for_queries(&path).unwrap();
    let state = engine::load_state(&collection).unwrap();
    let opts = ClassifyOptions {
        adapt: Adapt::Always,
        ..ClassifyOptions::default()
    };
    let err = engine::classify_batch(&collection, embedder.as_ref(), state.as_ref(), &few, opts)
        .unwrap_err();
    assert!(err.to_string().contains("at least 100 queries"), "{err}");
}
