//! Collections opened for queries (`quick.rs`, `pending.rs`): the same answers as a full open
//! while the vectors are read on demand and after the background read, and damage found.

use redb::Database;
use serde_json::json;

use super::tables::{self, GRAPH, GRAPH_LABELS_KEY, VECTORS};
use super::*;
use crate::Error;
use rand::{Rng, SeedableRng};

const DIM: usize = 16;

pub(super) fn records(n: usize, seed: u64) -> Vec<NewRecord> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| NewRecord {
            name: format!("r{i}"),
            label: ["a", "b", "c"][i % 3].into(),
            seq: format!("{:b}", i + 1)
                .replace('0', "A")
                .replace('1', "G")
                .into_bytes(),
            vector: (0..DIM).map(|_| rng.gen_range(0.0..1.0)).collect(),
            metadata: Some(json!({ "depth": i % 7 }).as_object().unwrap().clone()),
        })
        .collect()
}

/// 1,200 records: a graph over the first 1,000, a tail of 200, two deleted.
pub(super) fn build(path: &std::path::Path, quantize: Quantize) {
    let mut config = CollectionConfig::new("test", "test-v1", DIM);
    config.rebuild_min_tail = 500;
    config.quantize = quantize;
    let mut c = Collection::create_or_open(path, &config).unwrap();
    let recs = records(1200, 5);
    c.insert_batch(&recs[..1000], false).unwrap();
    c.rebuild_graph().unwrap();
    c.insert_batch(&recs[1000..], false).unwrap();
    assert_eq!((c.graph_nodes(), c.tail_len()), (1000, 200));
    c.delete(&[3, 1100]).unwrap();
}

/// Every kind of search, on `quick` and on a full open, gives identical hits.
pub(super) fn same_answers(full: &Collection, quick: &Collection) {
    let queries = records(40, 9);
    let filter = Where::parse(&json!({ "depth": { "$gte": 5 } })).unwrap();
    let mask = full.row_mask(&filter);
    for (i, q) in queries.iter().enumerate() {
        let v = &q.vector;
        let labels = [1u32];
        for (k, ef) in [(1, None), (10, Some(16)), (25, Some(64))] {
            assert_eq!(
                full.search(v, k, ef, None).unwrap(),
                quick.search(v, k, ef, None).unwrap()
            );
            let (a, b) = (Some(&labels[..]), Some(&labels[..]));
            assert_eq!(
                full.search(v, k, ef, a).unwrap(),
                quick.search(v, k, ef, b).unwrap()
            );
        }
        let rows = Filter {
            labels: None,
            rows: Some(&mask),
        };
        let (a, b) = (
            full.search_filtered(v, 5, None, rows),
            quick.search_filtered(v, 5, None, rows),
        );
        assert_eq!(a.unwrap(), b.unwrap(), "query {i}, where filter");
        assert_eq!(
            full.search_exact(v, 7, None).unwrap(),
            quick.search_exact(v, 7, None).unwrap()
        );
    }
    // The same state, wherever the files are.
    let state = |c: &Collection| CollectionInfo {
        path: String::new(),
        ..c.info()
    };
    assert_eq!(state(full), state(quick));
    assert_eq!(
        full.row_vectors(&[0, 999, 1000, 1199]).unwrap(),
        quick.row_vectors(&[0, 999, 1000, 1199]).unwrap()
    );
}

#[test]
fn searches_on_demand_and_after_loading_match_a_full_open() {
    for quantize in [Quantize::None, Quantize::Int8] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        build(&path, quantize);
        let full = Collection::open_reader(&path).unwrap();
        let held = Collection::open_quick(&path, false).unwrap();
        assert!(
            held.pending.as_ref().unwrap().ready().is_none(),
            "nothing loaded"
        );
        same_answers(&full, &held);
        let loaded = Collection::open_for_queries(&path).unwrap();
        loaded.wait_loaded().unwrap();
        let pending = loaded.pending.as_ref().unwrap();
        assert!(pending.ready().is_some());
        same_answers(&full, &loaded);
        // Once every row is in memory the snapshot is let go; a late on-demand read (a
        // search that chose its view just before) copies the row from memory.
        let start = std::time::Instant::now();
        while pending.holds_snapshot() && start.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!pending.holds_snapshot(), "the snapshot is still held");
        let row = pending.with_row(5, |floats, codes| (floats.to_vec(), codes.to_vec()));
        let (floats, codes) = row.expect("read from memory");
        assert_eq!(floats.len() + codes.len(), DIM);
        if quantize == Quantize::None {
            assert_eq!(floats, full.row_vectors(&[5]).unwrap());
        }
    }
}

/// Changes one component of record 10's vector and keeps its old trailer.
pub(super) fn damage_vector(path: &std::path::Path) {
    let mut bad = tables::vector_value(10, &[0.5; DIM]);
    bad[4] ^= 1;
    let db = Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(VECTORS)
        .unwrap()
        .insert(10, bad.as_slice())
        .unwrap();
    txn.commit().unwrap();
}

#[test]
fn a_damaged_vector_fails_searches_that_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    build(&path, Quantize::None);
    damage_vector(&path);
    let held = Collection::open_quick(&path, false).unwrap();
    let err = held.search_exact(&[0.5; DIM], 3, None).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(
        held.search(&[0.5; DIM], 3, None, None).is_err(),
        "the damage stays reported"
    );
    let loaded = Collection::open_for_queries(&path).unwrap();
    assert!(matches!(loaded.wait_loaded(), Err(Error::Corrupt { .. })));
    assert!(loaded.search(&[0.5; DIM], 3, None, None).is_err());
}

#[test]
fn a_graph_without_its_labels_opens_in_full_until_a_writer_stores_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    build(&path, Quantize::None);
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(GRAPH)
            .unwrap()
            .remove(GRAPH_LABELS_KEY)
            .unwrap();
        txn.commit().unwrap();
    }
    let c = Collection::open_for_queries(&path).unwrap();
    assert!(
        c.pending.is_none(),
        "no labels beside the graph: a full open"
    );
    drop(c);
    drop(Collection::open_writer(&path).unwrap());
    let c = Collection::open_for_queries(&path).unwrap();
    assert!(c.pending.is_some());
    same_answers(&Collection::open_reader(&path).unwrap(), &c);
}

#[test]
fn graph_labels_that_disagree_with_the_records_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    build(&path, Quantize::None);
    let full = Collection::open_reader(&path).unwrap();
    let layout = full.graph().unwrap().clone();
    let mut labels = full.vectors().labels[..layout.len()].to_vec();
    drop(full);
    labels[7] = (labels[7] + 1) % 3;
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        let value = tables::graph_labels_value(&layout.ids, &labels);
        txn.open_table(GRAPH)
            .unwrap()
            .insert(GRAPH_LABELS_KEY, value.as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let err = Collection::open_reader(&path)
        .err()
        .expect("a full open checks them");
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    let quick = Collection::open_for_queries(&path).unwrap();
    assert!(matches!(quick.wait_loaded(), Err(Error::Corrupt { .. })));
}
