//! Client ids on real redb files: the upsert transaction, deletes, compaction, reopening.

use super::*;
use crate::Error;

fn config() -> CollectionConfig {
    CollectionConfig::new("test", "test-v1", 4)
}

fn rec(name: &str, seq: &str, v: [f32; 4]) -> NewRecord {
    NewRecord {
        name: name.into(),
        label: "x".into(),
        seq: seq.as_bytes().to_vec(),
        vector: v.to_vec(),
        metadata: None,
    }
}

fn s(text: &str) -> Option<ClientId> {
    Some(ClientId::string(text).unwrap())
}

#[test]
fn an_upsert_replaces_the_record_in_one_transaction_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let mut c = Collection::create_or_open(&path, &config()).unwrap();
    let first = [
        rec("a", "ACGT", [1.0, 0.0, 0.0, 0.0]),
        rec("b", "ACGT", [0.0, 1.0, 0.0, 0.0]),
    ];
    // Same label and sequence, but client ids: both are stored (no de-duplication).
    let out = c
        .upsert_batch(&first, &[s("a"), Some(ClientId::Int(7))], false)
        .unwrap();
    assert_eq!(
        (out.ids, out.replaced),
        (vec![Some(1), Some(2)], vec![None, None])
    );
    let replace = [rec("a2", "TTTT", [0.0, 0.0, 1.0, 0.0])];
    let out = c.upsert_batch(&replace, &[s("a")], false).unwrap();
    assert_eq!(
        (out.ids, out.replaced, out.total),
        (vec![Some(3)], vec![Some(1)], 2)
    );
    assert_eq!(c.find_client(&ClientId::string("a").unwrap()), Some(3));
    assert_eq!(
        c.find_client(&ClientId::string("7").unwrap()),
        None,
        "\"7\" is not 7"
    );
    assert_eq!(c.client_id(2), Some(ClientId::Int(7)));
    assert!(!c.is_live(1) && c.client_id(1).is_none());
    assert!(matches!(c.record(1), Err(Error::UnknownId { id: 1 })));
    let hit = &c.search(&[0.0, 0.0, 1.0, 0.0], 1, None, None).unwrap()[0];
    assert_eq!(hit.id, 3);
    drop(c);

    let c = Collection::open_reader(&path).unwrap();
    assert_eq!((c.len(), c.client_id_count()), (2, 2));
    assert_eq!(c.find_client(&ClientId::string("a").unwrap()), Some(3));
    assert_eq!(c.record(3).unwrap().name, "a2");
    let report = check(&path).unwrap();
    assert_eq!((report.client_ids, report.tombstones), (2, 1));
}

#[test]
fn a_repeated_client_id_refuses_the_batch_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Collection::create_or_open(&dir.path().join("c.redb"), &config()).unwrap();
    let two = [
        rec("a", "ACGT", [1.0, 0.0, 0.0, 0.0]),
        rec("b", "AAAA", [0.0, 1.0, 0.0, 0.0]),
    ];
    let err = c.upsert_batch(&two, &[s("k"), s("k")], false).unwrap_err();
    assert!(err.to_string().contains("record 2"), "{err}");
    assert_eq!((c.len(), c.next_id()), (0, 1));
    // Ids without records, or records without ids, are refused too.
    assert!(c.upsert_batch(&two, &[s("k")], false).is_err());
}

#[test]
fn deleting_frees_the_client_id_and_compaction_keeps_the_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let mut c = Collection::create_or_open(&path, &config()).unwrap();
    let recs: Vec<NewRecord> = (0..4)
        .map(|i| {
            let mut v = [0.1; 4];
            v[i] = 1.0;
            rec(&format!("r{i}"), "ACGT", v)
        })
        .collect();
    let ids = [s("a"), s("b"), Some(ClientId::Int(3)), None];
    c.upsert_batch(&recs, &ids, false).unwrap();
    c.upsert_batch(&recs[..1], &[s("a")], false).unwrap(); // record 1 -> record 5
    c.delete(&[2]).unwrap();
    assert_eq!(c.find_client(&ClientId::string("b").unwrap()), None);
    assert_eq!(c.client_id_count(), 2);
    c.compact().unwrap();
    assert_eq!((c.len(), c.client_id_count()), (3, 2));
    assert_eq!(c.find_client(&ClientId::Int(3)), Some(3));
    assert_eq!(c.find_client(&ClientId::string("a").unwrap()), Some(5));
    drop(c);
    let mut c = Collection::open_writer(&path).unwrap();
    assert_eq!((c.len(), c.client_id_count()), (3, 2));
    // A freed id can be used again, and names a new record.
    let out = c.upsert_batch(&recs[1..2], &[s("b")], false).unwrap();
    assert_eq!(out.replaced, vec![None]);
    drop(c);
    assert_eq!(check(&path).unwrap().client_ids, 3);
}

#[test]
fn scroll_pages_count_and_filter_live_records_in_id_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Collection::create_or_open(&dir.path().join("c.redb"), &config()).unwrap();
    let recs: Vec<NewRecord> = (0..10)
        .map(|i| {
            let mut r = rec(&format!("r{i}"), "ACGT", [1.0, i as f32, 0.0, 0.0]);
            r.metadata = Some(
                serde_json::json!({"even": i % 2 == 0})
                    .as_object()
                    .unwrap()
                    .clone(),
            );
            r
        })
        .collect();
    c.insert_batch(&recs, true).unwrap();
    c.delete(&[3]).unwrap();
    let page = c.scroll(None, 4, None);
    assert_eq!((page.ids, page.more), (vec![1, 2, 4, 5], true));
    let page = c.scroll(Some(5), 4, None);
    assert_eq!((page.ids, page.more), (vec![6, 7, 8, 9], true));
    let page = c.scroll(Some(9), 4, None);
    assert_eq!((page.ids, page.more), (vec![10], false));
    let even = Where::parse(&serde_json::json!({"even": true})).unwrap();
    assert_eq!(c.scroll(None, 100, Some(&even)).ids, vec![1, 5, 7, 9]);
    assert_eq!((c.count(None), c.count(Some(&even))), (9, 4));
    assert_eq!(c.matching_ids(&even), vec![1, 5, 7, 9]);
}
