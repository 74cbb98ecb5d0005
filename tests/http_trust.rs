//! Trustworthy predictions over HTTP, with the real binary: the same options and answers as
//! the CLI, a classifier that follows its collection (trained in the background and swapped
//! in), and a new-label insert plus delete that leaves the answers as they were.

#[path = "common/http.rs"]
mod client;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use client::{expect_error, Server};
use genovec::engine::{self, IndexOptions};
use genovec::seq::SeqRecord;
use serde_json::{json, Value};

const CLASSIFY: &str = "/v1/collections/trust/classify";

fn collection(dir: &Path) -> PathBuf {
    let path = dir.join("trust.redb");
    let records = genovec::demo::generate(21, 100);
    engine::index_records(&path, &records, &IndexOptions::default(), &mut |_, _, _| {}).unwrap();
    path
}

fn seq_of(r: &SeqRecord) -> String {
    String::from_utf8(r.seq.as_bytes().to_vec()).unwrap()
}

fn classify(server: &Server, queries: &[SeqRecord], extra: Value) -> Vec<Value> {
    let mut body = json!({"sequences": queries.iter().map(seq_of).collect::<Vec<_>>()});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let r = server.post(CLASSIFY, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["results"].as_array().unwrap().clone()
}

/// Waits until no background training runs and the classifier reflects every record.
fn wait_trained(server: &Server) -> Value {
    let start = Instant::now();
    loop {
        let state = server.get("/v1/collections/trust").json()["classifier_state"].clone();
        let idle = state["training"] == json!(false);
        let current = state["added_since"] == json!(0) && state["deleted_since"] == json!(0);
        if idle && current {
            return state;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "{state}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn labels(results: &[Value]) -> Vec<(String, f64)> {
    results
        .iter()
        .map(|r| {
            (
                r["label"].as_str().unwrap().to_string(),
                r["confidence"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_new_label_inserted_then_deleted_leaves_the_answers_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path());
    let server = Server::start(dir.path(), &["--collection", path.to_str().unwrap()], &[]);
    let queries = genovec::demo::generate(22, 100);
    let before = classify(&server, &queries, json!({}));
    assert_eq!(before[0]["classifier"]["trained_on"], json!(300));
    assert!(before[0]["linear_probabilities"].is_object());

    let mut new = genovec::demo::generate(23, 1).remove(0);
    new.label = Some("enhancer".into());
    let insert = json!({"records": [{"name": "x", "sequence": seq_of(&new), "label": "enhancer"}]});
    let id = server.post("/v1/collections/trust/records", &insert).json()["ids"][0]
        .as_u64()
        .unwrap();
    // Before and after the background training, the linear model keeps answering.
    let during = classify(&server, &queries, json!({}));
    assert!(during.iter().all(|r| r["linear_probabilities"].is_object()));
    let state = wait_trained(&server);
    assert!(state["labels"]
        .as_array()
        .unwrap()
        .contains(&json!("enhancer")));
    let gone = server.delete(&format!("/v1/collections/trust/records/{id}"), &[]);
    assert_eq!(gone.status, 204);
    let state = wait_trained(&server);
    assert_eq!(state["trained_on"], json!(300));
    assert_eq!(state["untrained_labels"], json!([]));

    let after = classify(&server, &queries, json!({}));
    let changed = labels(&before)
        .iter()
        .zip(labels(&after))
        .filter(|(a, b)| a.0 != b.0)
        .count();
    assert!(changed <= 6, "{changed} of 300 labels changed");
    assert!(after
        .iter()
        .all(|r| r["probabilities"].get("enhancer").is_none()));
    assert!(server.stop().success());
}

/// A stored classifier left stale (records added without training, as when a server stopped
/// without waiting for its training) is refitted when a server starts, with no write.
#[test]
fn a_server_refits_a_stale_classifier_when_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path());
    let more = genovec::demo::generate(24, 10);
    let opts = IndexOptions {
        train: false,
        ..IndexOptions::default()
    };
    engine::index_records(&path, &more, &opts, &mut |_, _, _| {}).unwrap();
    let server = Server::start(dir.path(), &["--collection", path.to_str().unwrap()], &[]);
    let state = wait_trained(&server);
    assert_eq!(state["trained_on"], json!(330));
    assert!(server.stop().success());
}

#[test]
fn http_takes_the_cli_options_and_gives_the_cli_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path());
    let queries = genovec::demo::generate(24, 40);
    let fasta: String = queries
        .iter()
        .map(|q| format!(">{}\n{}\n", q.name, seq_of(q)))
        .collect();
    let input = dir.path().join("q.fa");
    std::fs::write(&input, fasta).unwrap();
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_genovec"))
        .args([
            "classify",
            "--collection",
            path.to_str().unwrap(),
            "--json",
            "--k",
            "7",
        ])
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let cli: Vec<Value> = String::from_utf8(cli.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let server = Server::start(dir.path(), &["--collection", path.to_str().unwrap()], &[]);
    let http = classify(&server, &queries, json!({"k": 7, "adapt": "never"}));
    assert_eq!(labels(&cli), labels(&http));
    for (c, h) in cli.iter().zip(&http) {
        for key in [
            "vote_probabilities",
            "linear_probabilities",
            "fusion_weight",
            "k",
            "answered_by",
            "adapted",
        ] {
            assert_eq!(c[key], h[key], "{key}");
        }
        assert_eq!(h["k"], json!(7));
    }
    // A threshold of 0 answers `unknown` for queries that are not stored.
    let strict = classify(&server, &queries[..3], json!({"threshold": 0.0}));
    assert!(strict.iter().all(|r| r["label"] == json!("unknown")));
    let bad = json!({"sequences": ["ACGT"], "threshold": -1.0});
    expect_error(&server.post(CLASSIFY, &bad), 400, "invalid_argument");
    let bad = json!({"sequences": ["ACGT"], "adapt": "sometimes"});
    expect_error(&server.post(CLASSIFY, &bad), 400, "invalid_argument");
    let bad = json!({"sequences": ["ACGT"], "k": 0});
    expect_error(&server.post(CLASSIFY, &bad), 400, "invalid_argument");
    assert!(server.stop().success());
}
