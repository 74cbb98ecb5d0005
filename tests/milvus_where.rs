//! `search --where` on a Milvus collection against a real Milvus 2.3.5 server (feature
//! `milvus`; see `tests/milvus.rs` for how the server is started): the filter runs inside
//! Milvus and admits exactly the records it admits locally, on metadata chosen to tell the
//! semantics apart (integers against floats, numbers against numeric text, booleans against
//! "true", keys and values with quotes, backslashes and non-ASCII letters, missing keys).

#![cfg(feature = "milvus")]

mod common;

use std::collections::BTreeSet;

use genovec::engine::{self, IndexOptions, SearchFilter};
use genovec::milvus::MilvusUri;
use genovec::seq::{Metadata, SeqRecord};
use genovec::store::Where;
use serde_json::{json, Value};

const WEIRD: &str = "we\"ird \\ key é";

/// Record i's metadata: every field varies in type and presence with i.
fn metadata(i: usize) -> Option<Metadata> {
    let mut m = Metadata::new();
    match i % 5 {
        0 => m.insert("depth".into(), json!(i % 4)),
        1 => m.insert("depth".into(), json!((i % 4) as f64)),
        2 => m.insert("depth".into(), json!((i % 4) as f64 + 0.5)),
        3 => m.insert("depth".into(), json!((i % 4).to_string())),
        _ => m.insert("depth".into(), json!(-1.5)),
    };
    match i % 4 {
        0 => m.insert("chr".into(), json!("chr1")),
        1 => m.insert("chr".into(), json!("chr2")),
        2 => m.insert("chr".into(), json!(1)),
        _ => None,
    };
    match i % 3 {
        0 => m.insert("ok".into(), json!(true)),
        1 => m.insert("ok".into(), json!(false)),
        _ => m.insert("ok".into(), json!("true")),
    };
    if i.is_multiple_of(2) {
        let value = if i.is_multiple_of(4) {
            "x\"y\\z ü"
        } else {
            "other"
        };
        m.insert(WEIRD.into(), json!(value));
    }
    m.insert("list".into(), json!([i % 4]));
    (i % 7 != 6).then_some(m)
}

fn names(found: &[genovec::engine::Neighbour]) -> BTreeSet<String> {
    found.iter().map(|n| n.name.clone()).collect()
}

#[test]
#[ignore = "needs a Milvus server (GENOVEC_MILVUS; see .ci/milvus.sh)"]
fn where_filters_in_milvus_admit_exactly_what_they_admit_locally() {
    let mut records: Vec<SeqRecord> = genovec::demo::generate(11, 60);
    for (i, r) in records.iter_mut().enumerate() {
        r.metadata = metadata(i);
    }
    let n = records.len();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.redb");
    let opts = IndexOptions {
        train: false,
        ..IndexOptions::default()
    };
    engine::index_records(&path, &records, &opts, &mut |_, _, _| {}).unwrap();
    let uri = MilvusUri::parse(&common::milvus::uri("where")).unwrap();
    engine::index_remote(&uri, &records, None, &opts, &mut |_, _, _| {}).unwrap();
    let (local, embedder) = engine::open_for_queries(&path).unwrap();
    let query = &records[..1];

    let filters = [
        json!({"depth": 3}),
        json!({"depth": "3"}),
        json!({"depth": {"$gte": 1, "$lt": 2.5}}),
        json!({"depth": {"$lte": -1.5}}),
        json!({"chr": {"$in": ["chr1", 1]}}),
        json!({"chr": "chr2", "depth": {"$gt": 0}}),
        json!({"ok": true}),
        json!({"ok": "true"}),
        json!({"ok": {"$in": [false, "true"]}}),
        json!({ WEIRD: "x\"y\\z ü" }),
        json!({"list": 1}),
        json!({"absent": 1}),
    ];
    for spec in filters {
        let filter = SearchFilter {
            labels: Vec::new(),
            metadata: Some(Where::parse(&spec).unwrap()),
        };
        let want: BTreeSet<String> = (records.iter())
            .filter(|r| {
                filter
                    .metadata
                    .as_ref()
                    .unwrap()
                    .matches(r.metadata.as_ref())
            })
            .map(|r| r.name.clone())
            .collect();
        let (k, ef) = (n, Some(n));
        let here = engine::search_sequences(&local, embedder.as_ref(), query, k, ef, &filter);
        let here = names(&here.unwrap()[0].neighbours);
        let there = engine::search_remote(&uri, query, k, ef, &filter).unwrap();
        let there = names(&there[0].neighbours);
        assert_eq!(here, want, "local, filter {spec}");
        assert_eq!(there, want, "Milvus, filter {spec}");
        eprintln!("filter {spec}: {} of {n} records", want.len());
    }

    // A filter and a label filter together, both inside Milvus.
    let label = records[0].label.clone().unwrap();
    let filter = SearchFilter {
        labels: vec![label.clone()],
        metadata: Some(Where::parse(&json!({"ok": true})).unwrap()),
    };
    let there = engine::search_remote(&uri, query, n, Some(n), &filter).unwrap();
    let want = (records.iter())
        .filter(|r| r.label.as_deref() == Some(label.as_str()))
        .filter(|r| r.metadata.as_ref().and_then(|m| m.get("ok")) == Some(&Value::Bool(true)))
        .count();
    assert!(want > 0);
    assert_eq!(there[0].neighbours.len(), want);
}
