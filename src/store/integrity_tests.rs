//! Checksums, the v1 upgrade, readers beside a writer: real redb files, damaged on purpose.

use redb::{Database, TableDefinition};

use super::tables::{self, DEDUP, META, RECORDS, VECTORS};
use super::*;
use crate::Error;

fn config() -> CollectionConfig {
    CollectionConfig::new("test", "test-v1", 2)
}

fn rec(i: u32, label: &str) -> NewRecord {
    NewRecord {
        name: format!("r{i}"),
        label: label.into(),
        seq: format!("ACGT{}", "A".repeat(i as usize)).into_bytes(),
        vector: vec![1.0, i as f32],
        metadata: None,
    }
}

/// A collection of 6 records with one deleted, closed.
fn small(path: &std::path::Path) {
    let mut c = Collection::create_or_open(path, &config()).unwrap();
    let recs: Vec<NewRecord> = (0..6).map(|i| rec(i, ["a", "b"][i as usize % 2])).collect();
    c.insert_batch(&recs, false).unwrap();
    c.delete(&[2]).unwrap();
}

/// Overwrites one value of a table with raw redb, as a damaged page would read back.
fn overwrite<K: redb::Key + 'static>(
    path: &std::path::Path,
    def: TableDefinition<K, &[u8]>,
    key: K::SelfType<'_>,
    value: &[u8],
) {
    let db = Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(def).unwrap().insert(key, value).unwrap();
    txn.commit().unwrap();
}

#[test]
fn a_changed_vector_record_or_setting_is_corrupt_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    small(&path);
    let good = std::fs::read(&path).unwrap();
    // A vector with one component changed, its old trailer kept.
    let mut bad = tables::vector_value(3, &[1.0, 2.0]);
    bad[4] ^= 1;
    let json = serde_json::to_vec(&CollectionConfig {
        dim: 2,
        graph: GraphParams {
            ef_search: 99,
            ..GraphParams::default()
        },
        ..config()
    })
    .unwrap();
    let cases: Vec<Box<dyn Fn()>> = vec![
        Box::new(|| overwrite(&path, VECTORS, 3, &bad)),
        Box::new(|| overwrite(&path, RECORDS, 4, &tables::record_value(5, &row("x")))),
        Box::new(|| overwrite(&path, META, tables::KEY_CONFIG, &json)),
    ];
    for (i, damage) in cases.iter().enumerate() {
        std::fs::write(&path, &good).unwrap();
        damage();
        let err = Collection::open_reader(&path)
            .err()
            .expect("damage is noticed");
        assert!(matches!(err, Error::Corrupt { .. }), "case {i}: {err}");
        assert!(err.to_string().contains("c.redb"), "case {i}: {err}");
        assert!(Collection::open_writer(&path).is_err(), "case {i}");
    }
}

fn row(name: &str) -> RecordRow {
    RecordRow {
        name: name.into(),
        label: 0,
        seq: b"ACGT".to_vec(),
        hash: [0; 32],
    }
}

#[test]
fn a_dedup_entry_naming_another_record_stops_the_insert_instead_of_skipping_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    small(&path);
    let new = rec(9, "a");
    let key = super::write::dedup_key(&new.label, &new.seq);
    let db = Database::create(&path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(DEDUP).unwrap().insert(&key, 1).unwrap();
    txn.commit().unwrap();
    drop(db);
    let mut c = Collection::open_writer(&path).unwrap();
    let err = c.insert_batch(&[new], false).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert_eq!(c.len(), 5);
}

#[test]
fn a_duplicate_within_one_batch_under_a_new_label_is_skipped_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let mut c = Collection::create_or_open(&path, &config()).unwrap();
    let out = c
        .insert_batch(&[rec(1, "new"), rec(1, "new"), rec(2, "b")], false)
        .unwrap();
    assert_eq!(out.ids, vec![Some(1), None, Some(2)]);
}

#[test]
fn a_reader_opens_beside_a_writer_and_sees_its_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let mut writer = Collection::create_or_open(&path, &config()).unwrap();
    writer.insert_batch(&[rec(1, "a")], false).unwrap();
    assert_eq!(Collection::open_reader(&path).unwrap().len(), 1);
    writer.insert_batch(&[rec(2, "b")], false).unwrap();
    let reader = Collection::open_reader(&path).unwrap();
    assert_eq!(reader.len(), 2);
    assert_eq!(reader.record(2).unwrap().name, "r2");
}

const LABELS_V1: TableDefinition<u32, &str> = TableDefinition::new("labels");
const TOMBSTONES_V1: TableDefinition<u64, ()> = TableDefinition::new("tombstones");

/// Writes a collection as format version 1 did: the same tables, values unsealed.
fn write_v1(path: &std::path::Path) {
    let db = Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut meta = txn.open_table(META).unwrap();
        meta.insert(tables::KEY_FORMAT, b"1".as_slice()).unwrap();
        let config = serde_json::to_vec(&config()).unwrap();
        meta.insert(tables::KEY_CONFIG, config.as_slice()).unwrap();
        meta.insert(tables::KEY_NEXT_ID, b"4".as_slice()).unwrap();
        let mut labels = txn.open_table(LABELS_V1).unwrap();
        labels.insert(0, "a").unwrap();
        labels.insert(1, "b").unwrap();
        let mut records = txn.open_table(RECORDS).unwrap();
        let mut vectors = txn.open_table(VECTORS).unwrap();
        for id in 1..4u64 {
            let row = RecordRow {
                label: (id % 2) as u32,
                ..row(&format!("old{id}"))
            };
            records.insert(id, tables::encode(&row).as_slice()).unwrap();
            let v: Vec<u8> = [0.6f32, 0.8].iter().flat_map(|x| x.to_le_bytes()).collect();
            vectors.insert(id, v.as_slice()).unwrap();
        }
        txn.open_table(TOMBSTONES_V1)
            .unwrap()
            .insert(2, ())
            .unwrap();
        txn.open_table(DEDUP).unwrap();
        txn.open_table(tables::GRAPH).unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn a_version_1_file_is_refused_by_readers_and_upgraded_by_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.redb");
    write_v1(&path);
    let err = Collection::open_reader(&path).err().unwrap();
    assert!(err.to_string().contains("format version 1"), "{err}");
    drop(Collection::open_writer(&path).unwrap());
    let c = Collection::open_reader(&path).unwrap();
    assert_eq!(c.len(), 2, "record 2 stays deleted");
    assert_eq!(c.labels(), ["a", "b"]);
    assert_eq!(c.record(3).unwrap().name, "old3");
    assert_eq!(c.search(&[0.6, 0.8], 1, None, None).unwrap()[0].id, 1);
}
