//! Collection-level tests on real redb files in temporary folders.

use super::*;
use crate::Error;
use rand::{Rng, SeedableRng};

fn config(dim: usize) -> CollectionConfig {
    let mut c = CollectionConfig::new("test", "test-v1", dim);
    c.rebuild_min_tail = 50;
    c
}

fn record(i: usize, label: &str, dim: usize, rng: &mut impl Rng) -> NewRecord {
    NewRecord {
        name: format!("r{i}"),
        label: label.to_string(),
        seq: format!("ACGT{i}")
            .replace(|c: char| c.is_ascii_digit(), "A")
            .into_bytes(),
        vector: (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect(),
        metadata: None,
    }
}

fn records(n: usize, dim: usize, seed: u64) -> Vec<NewRecord> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let mut r = record(i, if i % 3 == 0 { "a" } else { "b" }, dim, &mut rng);
            r.seq = format!("{:b}", i + 1)
                .replace('0', "A")
                .replace('1', "C")
                .into_bytes();
            r
        })
        .collect()
}

#[test]
fn insert_search_and_reopen_keep_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let recs = records(30, 8, 1);
    let query = recs[4].vector.clone();
    {
        let mut c = Collection::create_or_open(&path, &config(8)).unwrap();
        let out = c.insert_batch(&recs, false).unwrap();
        assert_eq!(out.total, 30);
        assert_eq!(out.ids[0], Some(1));
        let hits = c.search(&query, 3, None, None).unwrap();
        assert_eq!(hits[0].id, 5, "the record's own vector is nearest");
        assert!(hits[0].distance < 1e-5);
    }
    let c = Collection::open_reader(&path).unwrap();
    assert_eq!(c.len(), 30);
    assert_eq!(
        c.label_counts(),
        vec![("a".to_string(), 10), ("b".to_string(), 20)]
    );
    assert_eq!(c.record(5).unwrap().name, "r4");
    assert_eq!(c.search(&query, 1, None, None).unwrap()[0].id, 5);
}

#[test]
fn reinserting_the_same_records_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let recs = records(10, 4, 2);
    let mut c = Collection::create_or_open(&path, &config(4)).unwrap();
    c.insert_batch(&recs, false).unwrap();
    let again = c.insert_batch(&recs, false).unwrap();
    assert!(again.ids.iter().all(Option::is_none));
    assert_eq!(again.total, 10);
    let dup = c.insert_batch(&recs[..2], true).unwrap();
    assert_eq!(dup.total, 12, "--allow-duplicates stores them again");
}

#[test]
fn graph_is_persisted_and_loaded_not_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let recs = records(300, 16, 3);
    let layout = {
        let mut c = Collection::create_or_open(&path, &config(16)).unwrap();
        c.insert_batch(&recs, false).unwrap();
        assert!(c.needs_rebuild());
        c.rebuild_graph().unwrap();
        // The build is deterministic, so install a graph that no build would give (node 0's
        // links reversed): finding it again proves it was read, not rebuilt.
        let mut layout = c.graph.clone().unwrap();
        let m0 = layout.m0 as usize;
        let used = layout.adj0[..m0].iter().filter(|&&x| x != u32::MAX).count();
        layout.adj0[..used].reverse();
        let built = super::BuiltGraph {
            layout: layout.clone(),
            flat: Default::default(),
        };
        c.install_graph(built).unwrap();
        layout
    };
    let c = Collection::open_reader(&path).unwrap();
    assert_eq!(c.graph.as_ref().unwrap(), &layout);
    assert_eq!(c.graph_nodes(), 300);
    assert_eq!(c.tail_len(), 0);
}

#[test]
fn tail_records_are_found_and_merged_with_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let recs = records(200, 8, 4);
    let mut c = Collection::create_or_open(&path, &config(8)).unwrap();
    c.insert_batch(&recs[..150], false).unwrap();
    c.rebuild_graph().unwrap();
    c.insert_batch(&recs[150..], false).unwrap();
    assert_eq!(c.tail_len(), 50);
    for probe in [10usize, 170] {
        let hits = c.search(&recs[probe].vector, 5, Some(100), None).unwrap();
        let exact = c.search_exact(&recs[probe].vector, 5, None).unwrap();
        assert_eq!(hits[0].id, probe as u64 + 1);
        assert_eq!(hits, exact);
    }
}

#[test]
fn a_graph_built_aside_is_installed_with_later_inserts_in_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let recs = records(200, 8, 6);
    let mut c = Collection::create_or_open(&path, &config(8)).unwrap();
    c.insert_batch(&recs[..150], false).unwrap();
    let input = c.graph_input().unwrap();
    // Records inserted while the graph is built join the tail.
    c.insert_batch(&recs[150..], false).unwrap();
    c.install_graph(input.build()).unwrap();
    assert_eq!((c.graph_nodes(), c.tail_len()), (150, 50));
    for probe in [10usize, 170] {
        let hits = c.search(&recs[probe].vector, 5, Some(100), None).unwrap();
        assert_eq!(hits, c.search_exact(&recs[probe].vector, 5, None).unwrap());
    }
    drop(c);
    assert_eq!(Collection::open_reader(&path).unwrap().graph_nodes(), 150);
    // A graph built before a compaction no longer matches the rows and is refused.
    let mut c = Collection::open_writer(&path).unwrap();
    let stale = c.graph_input().unwrap().build();
    c.delete(&[3]).unwrap();
    c.compact().unwrap();
    let err = c.install_graph(stale).unwrap_err();
    assert!(err.to_string().contains("compacted"), "{err}");
    assert_eq!(c.graph_nodes(), 199);
}

#[test]
fn the_search_method_follows_the_graph_and_is_the_same_in_every_process() {
    use super::SearchMethod;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let recs = records(400, 200, 7);
    let mut c = Collection::create_or_open(&path, &config(200)).unwrap();
    c.insert_batch(&recs, false).unwrap();
    assert_eq!(c.search_method().unwrap(), SearchMethod::Exact);
    // Built aside, as a server does: the projection is fitted beside the graph.
    c.install_graph(c.graph_input().unwrap().build()).unwrap();
    assert!(
        c.flat.get().is_some(),
        "fitted (or declined) with the build, not at a search"
    );
    let method = c.search_method().unwrap();
    assert!(
        matches!(method, SearchMethod::Projection { directions: 64, .. }),
        "{method:?}"
    );
    let reader = Collection::open_reader(&path).unwrap();
    assert_eq!(
        reader.search_method().unwrap(),
        method,
        "fitted again from the file"
    );
    for probe in [3usize, 250] {
        let q = &recs[probe].vector;
        let hits = c.search(q, 5, None, None).unwrap();
        assert_eq!(hits, reader.search(q, 5, None, None).unwrap());
        assert_eq!(hits[0].id, probe as u64 + 1);
    }
    c.rebuild_graph().unwrap();
    assert!(
        c.flat.get().is_none(),
        "a rebuild leaves the fit to the first search"
    );
    assert_eq!(c.search_method().unwrap(), method);
    let small = dir.path().join("small.redb");
    let mut c = Collection::create_or_open(&small, &config(8)).unwrap();
    c.insert_batch(&records(400, 8, 8), false).unwrap();
    c.rebuild_graph().unwrap();
    assert_eq!(
        c.search_method().unwrap(),
        SearchMethod::Graph,
        "8 dimensions"
    );
}

#[test]
fn deletes_are_filtered_then_compacted_away() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let recs = records(100, 8, 5);
    let mut c = Collection::create_or_open(&path, &config(8)).unwrap();
    c.insert_batch(&recs, false).unwrap();
    c.rebuild_graph().unwrap();
    c.delete(&[8]).unwrap();
    assert!(matches!(c.delete(&[8]), Err(Error::UnknownId { id: 8 })));
    assert!(matches!(c.delete(&[9999]), Err(Error::UnknownId { .. })));
    let hits = c.search(&recs[7].vector, 3, None, None).unwrap();
    assert!(hits.iter().all(|h| h.id != 8));
    drop(c);
    let mut c = Collection::open_writer(&path).unwrap();
    assert_eq!((c.len(), c.info().tombstones), (99, 1));
    c.compact().unwrap();
    assert_eq!((c.len(), c.info().tombstones, c.graph_nodes()), (99, 0, 99));
    drop(c);
    let mut c = Collection::open_writer(&path).unwrap();
    assert_eq!(c.vectors().len(), 99);
    // The deleted record can be added again.
    assert!(c.insert_batch(&recs[7..8], false).unwrap().ids[0].is_some());
}

#[test]
fn label_filter_returns_only_that_label() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Collection::create_or_open(&dir.path().join("c.redb"), &config(8)).unwrap();
    let recs = records(90, 8, 6);
    c.insert_batch(&recs, false).unwrap();
    c.rebuild_graph().unwrap();
    let a = c.label_index("a").unwrap();
    let hits = c.search(&recs[1].vector, 5, None, Some(&[a])).unwrap();
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| h.label == a));
}

#[test]
fn mismatched_settings_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    drop(Collection::create_or_open(&path, &config(8)).unwrap());
    let err = Collection::create_or_open(&path, &config(9)).err().unwrap();
    assert!(
        matches!(
            err,
            Error::Mismatch {
                field: "dimension",
                ..
            }
        ),
        "{err}"
    );
    let mut other = config(8);
    other.embedder_identity = "test-v2".into();
    let err = Collection::create_or_open(&path, &other).err().unwrap();
    assert!(
        err.to_string().contains("test-v1") && err.to_string().contains("test-v2"),
        "{err}"
    );
    let c = Collection::open_reader(&path).unwrap();
    assert!(matches!(
        c.search(&[0.0; 3], 1, None, None),
        Err(Error::WrongDimension {
            expected: 8,
            got: 3
        })
    ));
}

#[test]
fn second_writer_is_refused_while_the_first_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let _first = Collection::create_or_open(&path, &config(4)).unwrap();
    let err = Collection::open_writer(&path).err().unwrap();
    assert!(matches!(err, Error::CollectionInUse { .. }), "{err}");
    assert!(err.to_string().contains("in use"));
}

#[test]
fn missing_and_foreign_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.redb");
    assert!(matches!(
        Collection::open_reader(&missing),
        Err(Error::CollectionNotFound { .. })
    ));
    let junk = dir.path().join("junk.redb");
    std::fs::write(&junk, b"not a database at all").unwrap();
    assert!(Collection::open_reader(&junk).is_err());
}

#[test]
fn reading_an_empty_or_foreign_file_is_an_error_that_leaves_it_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("empty.redb", &b""[..]),
        ("foreign.redb", &b"hello, not redb\n"[..]),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        assert!(Collection::open_reader(&path).is_err(), "{name}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{name} was written to"
        );
    }
}

#[test]
fn needs_rebuild_follows_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Collection::create_or_open(&dir.path().join("c.redb"), &config(4)).unwrap();
    c.insert_batch(&records(50, 4, 7), false).unwrap();
    assert!(!c.needs_rebuild(), "a tail of 50 is within max(50, 5)");
    c.insert_batch(&records(51, 4, 8)[50..], false).unwrap();
    assert!(c.needs_rebuild());
}
