//! int8-quantized collections on real redb files: codes in memory, exact re-rank from the file.

use super::*;
use crate::Error;
use rand::{Rng, SeedableRng};

const DIM: usize = 24;

fn records(n: usize, seed: u64) -> Vec<NewRecord> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| NewRecord {
            name: format!("r{i}"),
            label: if i % 3 == 0 { "a" } else { "b" }.into(),
            seq: format!("{:b}", i + 1)
                .replace('0', "A")
                .replace('1', "C")
                .into_bytes(),
            // Non-negative, like composition vectors.
            vector: (0..DIM).map(|_| rng.gen_range(0.0..1.0)).collect(),
            metadata: None,
        })
        .collect()
}

fn config(quantize: Quantize) -> CollectionConfig {
    let mut c = CollectionConfig::new("test", "test-v1", DIM);
    c.rebuild_min_tail = 100;
    c.quantize = quantize;
    c
}

/// A collection of `recs` inserted in batches of 500, with its graph built over most of them
/// (the last batch stays in the tail).
fn build(path: &std::path::Path, quantize: Quantize, recs: &[NewRecord]) -> Collection {
    let mut c = Collection::create_or_open(path, &config(quantize)).unwrap();
    let (head, tail) = recs.split_at(recs.len() - 150);
    for batch in head.chunks(500) {
        c.insert_batch(batch, false).unwrap();
    }
    c.rebuild_graph().unwrap();
    c.insert_batch(tail, false).unwrap();
    c
}

fn overlap(a: &[Hit], b: &[Hit]) -> usize {
    a.iter().filter(|h| b.iter().any(|g| g.id == h.id)).count()
}

#[test]
fn int8_search_keeps_recall_with_a_quarter_of_the_memory() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(3000, 1);
    let float = build(&dir.path().join("f.redb"), Quantize::None, &recs);
    let int8 = build(&dir.path().join("q.redb"), Quantize::Int8, &recs);
    assert_eq!(int8.tail_len(), 150, "the tail is searched too");
    assert_eq!(
        int8.vectors().vector_bytes() * 4,
        float.vectors().vector_bytes()
    );
    assert!(int8.vectors().data.is_empty());
    let queries = records(100, 2);
    let (mut found, mut same_as_float) = (0, 0);
    for q in &queries {
        let truth = float.search_exact(&q.vector, 10, None).unwrap();
        assert_eq!(int8.search_exact(&q.vector, 10, None).unwrap(), truth);
        let got = int8.search(&q.vector, 10, None, None).unwrap();
        found += overlap(&got, &truth);
        same_as_float += overlap(&got, &float.search(&q.vector, 10, None, None).unwrap());
        // Distances are exact (re-ranked with the stored floats), so a hit in the truth
        // carries exactly the truth's distance.
        for hit in &got {
            if let Some(t) = truth.iter().find(|t| t.id == hit.id) {
                assert_eq!(hit.distance, t.distance);
            }
        }
    }
    let recall = found as f64 / 1000.0;
    println!("int8 recall@10 {recall}, overlap with float search {same_as_float}/1000");
    assert!(recall >= 0.95, "int8 recall@10 {recall}");
    assert!(
        same_as_float >= 950,
        "overlap with float search {same_as_float}/1000"
    );
}

#[test]
fn int8_collection_reopens_checks_and_compacts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.redb");
    let recs = records(1200, 3);
    let query = recs[7].vector.clone();
    let before = {
        let mut c = build(&path, Quantize::Int8, &recs);
        let hits = c.search(&query, 5, None, None).unwrap();
        assert_eq!(hits[0].id, 8, "a record's own vector is nearest");
        assert!(hits[0].distance < 1e-5);
        c.delete(&[hits[1].id]).unwrap();
        c.search(&query, 5, None, None).unwrap()
    };
    let reader = Collection::open_reader(&path).unwrap();
    assert_eq!(reader.config().quantize, Quantize::Int8);
    assert_eq!(reader.info().format_version, tables::FORMAT_VERSION_INT8);
    assert_eq!(reader.search(&query, 5, None, None).unwrap(), before);
    drop(reader);
    let report = check(&path).unwrap();
    assert_eq!(report.records, 1200);
    let mut writer = Collection::open_writer(&path).unwrap();
    writer.compact().unwrap();
    assert_eq!(writer.search(&query, 5, None, None).unwrap(), before);
    drop(writer);
    assert_eq!(check(&path).unwrap().records, 1199);
    // Creating with no quantize keeps the stored setting; asking for int8 on a float
    // collection is refused.
    let again = Collection::create_or_open(&path, &config(Quantize::None)).unwrap();
    assert_eq!(again.config().quantize, Quantize::Int8);
    drop(again);
    let float_path = dir.path().join("f.redb");
    drop(Collection::create_or_open(&float_path, &config(Quantize::None)).unwrap());
    let err = Collection::create_or_open(&float_path, &config(Quantize::Int8));
    assert!(matches!(
        err,
        Err(Error::Mismatch {
            field: "quantize",
            ..
        })
    ));
}

#[test]
fn damaged_codes_are_found_by_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.redb");
    drop(build(&path, Quantize::Int8, &records(400, 4)));
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut codes = txn.open_table(tables::CODES).unwrap();
            // A well-sealed value whose codes are not the vector's.
            let value = tables::code_value(3, &[1; DIM]);
            codes.insert(3, value.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let err = check(&path).unwrap_err().to_string();
    assert!(err.contains("int8 codes do not match"), "{err}");
}

#[test]
fn a_graph_built_aside_from_codes_is_installed_and_searched() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(900, 5);
    let mut c = build(&dir.path().join("q.redb"), Quantize::Int8, &recs);
    assert_eq!(c.tail_len(), 150);
    let layout = c.graph_input().unwrap().build();
    c.install_graph(layout).unwrap();
    assert_eq!(c.tail_len(), 0);
    for i in [3, 400, 899] {
        let hits = c.search(&recs[i].vector, 3, None, None).unwrap();
        assert_eq!(hits[0].id, i as u64 + 1, "record {i} finds itself");
    }
}
