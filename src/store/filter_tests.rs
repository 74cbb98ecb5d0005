//! Metadata on real collection files: stored, reloaded, compacted and checked, and `where`
//! filters applied inside the graph search.

use serde_json::json;

use super::*;
use crate::seq::Metadata;
use rand::{Rng, SeedableRng};

fn meta(value: serde_json::Value) -> Metadata {
    value.as_object().unwrap().clone()
}

/// `n` random records of `dim`; record i has `bucket = i % 50` and `half = i % 2`, except
/// every seventh, which has no metadata.
fn records(n: usize, dim: usize) -> Vec<NewRecord> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    (0..n)
        .map(|i| NewRecord {
            name: format!("r{i}"),
            label: if i % 3 == 0 { "a" } else { "b" }.into(),
            seq: format!("{:b}", i + 1)
                .replace('0', "A")
                .replace('1', "C")
                .into_bytes(),
            vector: (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect(),
            metadata: (i % 7 != 0).then(|| meta(json!({"bucket": i % 50, "half": i % 2}))),
        })
        .collect()
}

fn collection(path: &std::path::Path, n: usize, dim: usize) -> Collection {
    let mut config = CollectionConfig::new("test", "test-v1", dim);
    config.rebuild_min_tail = 50;
    let mut c = Collection::create_or_open(path, &config).unwrap();
    c.insert_batch(&records(n, dim), false).unwrap();
    c.rebuild_graph().unwrap();
    c
}

#[test]
fn filtered_searches_return_k_matching_records_near_the_exact_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (n, dim, k) = (3000, 16, 10);
    let c = collection(&dir.path().join("c.redb"), n, dim);
    let queries = records(40, dim);
    // Selectivities 1.7% (scanned), 43% and 86% (graph walks), and an impossible filter.
    let cases = [
        (json!({"bucket": 3}), 64, true),
        (json!({"half": 1, "bucket": {"$gte": 0}}), 16, false),
        (json!({"bucket": {"$gte": 0}}), 64, false),
        (json!({"bucket": {"$gt": 100}}), 64, true),
    ];
    for (filter, ef, scanned) in cases {
        let w = Where::parse(&filter).unwrap();
        let mask = c.row_mask(&w);
        assert_eq!(scan_is_cheaper(mask.count(), ef, n), scanned, "{filter}");
        let f = Filter {
            labels: None,
            rows: Some(&mask),
        };
        let (mut found, mut total) = (0, 0);
        for q in &queries {
            let hits = c.search_filtered(&q.vector, k, Some(ef), f).unwrap();
            let truth = c.exact(&c.prepare_query(&q.vector).unwrap(), k, f).unwrap();
            assert_eq!(hits.len(), k.min(mask.count()), "{filter}: k results");
            for h in &hits {
                assert!(
                    w.matches(c.metadata_of(h.id)),
                    "{filter}: hit {} matches",
                    h.id
                );
            }
            found += hits.iter().filter(|h| truth.contains(h)).count();
            total += truth.len();
        }
        let recall = found as f64 / total.max(1) as f64;
        let floor = if scanned { 1.0 } else { 0.95 };
        assert!(total == 0 || recall >= floor, "{filter}: recall {recall}");
    }
}

#[test]
fn metadata_survives_reopen_delete_and_compact_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let mut c = collection(&path, 200, 4);
    assert_eq!(
        c.metadata_of(2),
        Some(&meta(json!({"bucket": 1, "half": 1})))
    );
    assert_eq!(c.metadata_of(1), None, "record 0 has none");
    c.delete(&[2, 3]).unwrap();
    c.compact().unwrap();
    drop(c);
    let c = Collection::open_reader(&path).unwrap();
    assert_eq!(c.metadata_of(2), None, "deleted");
    assert_eq!(
        c.metadata_of(5),
        Some(&meta(json!({"bucket": 4, "half": 0})))
    );
    drop(c);
    let report = check(&path).unwrap();
    assert_eq!(
        report.metadata_records,
        (0..200).filter(|i| i % 7 != 0).count() - 2
    );
}

#[test]
fn bad_metadata_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let mut c = collection(&path, 10, 4);
    let mut bad = records(12, 4);
    bad[11].metadata = Some(meta(json!({"label": "x"})));
    let err = c.insert_batch(&bad[10..], false).unwrap_err().to_string();
    assert!(
        err.contains("record 2 (\"r11\")") && err.contains("reserved"),
        "{err}"
    );
    assert_eq!(c.len(), 10);
}
