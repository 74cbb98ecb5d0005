//! Your own embeddings: records indexed with vectors computed outside genovec under an
//! `external:NAME:DIM` embedder, searched and classified by vector through the real binary
//! and server; sequence queries are refused with a clear message.

#[path = "common/http.rs"]
mod client;
mod common;

use std::path::Path;

use client::{expect_error, Server};
use common::{ok_in, run_in};
use genovec::seq::SeqRecord;
use serde_json::{json, Value};

const DIM: usize = 16;
const SPEC: &str = "external:toy:16";

/// A stand-in for a model genovec does not run: counts of the 16 dinucleotides, scaled.
fn toy_vector(seq: &[u8]) -> Vec<f32> {
    let code = |b: u8| match b {
        b'A' => Some(0),
        b'C' => Some(1),
        b'G' => Some(2),
        b'T' => Some(3),
        _ => None,
    };
    let mut v = vec![0.01f32; DIM];
    for w in seq.windows(2) {
        if let (Some(a), Some(b)) = (code(w[0]), code(w[1])) {
            v[a * 4 + b] += 1.0;
        }
    }
    v
}

/// Writes the records' toy vectors as an NPY (n, DIM) float32 matrix.
fn write_npy(path: &Path, records: &[SeqRecord]) -> Vec<Vec<f32>> {
    use npyz::WriterBuilder;
    let vectors: Vec<Vec<f32>> = records
        .iter()
        .map(|r| toy_vector(r.seq.as_bytes()))
        .collect();
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[records.len() as u64, DIM as u64])
        .writer(file)
        .begin_nd()
        .unwrap();
    w.extend(vectors.iter().flatten().copied()).unwrap();
    w.finish().unwrap();
    vectors
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stderr_of(dir: &Path, args: &[&str]) -> String {
    let out = run_in(dir, args);
    assert!(!out.status.success(), "genovec {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn external_vectors_are_indexed_searched_and_classified_by_vector() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = common::write_demo_csv(&d.join("train.csv"), 51, 150);
    let query = common::write_demo_csv(&d.join("query.csv"), 52, 20);
    let train_vectors = write_npy(&d.join("train.npy"), &train);
    write_npy(&d.join("query.npy"), &query);
    write_npy(&d.join("short.npy"), &train[..10]);

    let index = [
        "index",
        "--collection",
        "e",
        "--input",
        "train.csv",
        "--vectors",
        "train.npy",
    ];
    let err = stderr_of(d, &index);
    assert!(err.contains("external:NAME:DIM"), "{err}");
    let mut with_spec = index.to_vec();
    with_spec.extend(["--embedder", SPEC]);
    let err = stderr_of(
        d,
        &[&with_spec[..6], &["short.npy", "--embedder", SPEC]].concat(),
    );
    assert!(err.contains("10 vectors for 450 records"), "{err}");
    ok_in(d, &with_spec);
    let info: Value =
        serde_json::from_str(ok_in(d, &["info", "--collection", "e", "--json"]).trim()).unwrap();
    assert_eq!(
        (info["embedder"].as_str(), info["dimension"].as_u64()),
        (Some(SPEC), Some(16))
    );
    assert_eq!(info["records"], 450);

    // Sequence queries are refused, naming what to give instead.
    let err = stderr_of(
        d,
        &["search", "--collection", "e", "--sequence", "ACGTACGT"],
    );
    assert!(
        err.contains("external embeddings") && err.contains("give vectors"),
        "{err}"
    );
    let err = stderr_of(
        d,
        &["classify", "--collection", "e", "--input", "query.csv"],
    );
    assert!(err.contains("give vectors"), "{err}");

    // By vector: each stored record's own vector finds it first.
    let found = json_lines(&ok_in(
        d,
        &[
            "search",
            "--collection",
            "e",
            "--vectors",
            "train.npy",
            "--k",
            "1",
            "--json",
        ],
    ));
    assert_eq!(found.len(), train_vectors.len());
    let hits_self = found
        .iter()
        .zip(&train)
        .filter(|(f, r)| f["neighbours"][0]["name"] == r.name.as_str())
        .count();
    assert!(
        hits_self >= 440,
        "{hits_self} of 450 find themselves (a few share a vector)"
    );
    let classified = json_lines(&ok_in(
        d,
        &[
            "classify",
            "--collection",
            "e",
            "--input",
            "query.csv",
            "--vectors",
            "query.npy",
            "--json",
        ],
    ));
    let right = classified
        .iter()
        .zip(&query)
        .filter(|(p, r)| p["label"] == r.label.as_deref().unwrap())
        .count();
    assert_eq!(classified.len(), 60);
    assert!(right >= 45, "{right} of 60 right with dinucleotide vectors");

    // Exported to Parquet, the records and their vectors index into a second collection.
    ok_in(
        d,
        &[
            "export",
            "--collection",
            "e",
            "--format",
            "parquet",
            "--out",
            "e.parquet",
        ],
    );
    ok_in(
        d,
        &[
            "index",
            "--collection",
            "e2",
            "--vectors",
            "e.parquet",
            "--embedder",
            SPEC,
        ],
    );
    // The exported vectors are the stored unit vectors; normalised again they may move in the
    // last bit, so distances agree to 1e-6 and the neighbours exactly.
    let search = |c: &str| -> Vec<(Value, Value, f64)> {
        let args = [
            "search",
            "--collection",
            c,
            "--vectors",
            "query.npy",
            "--json",
        ];
        json_lines(&ok_in(d, &args))
            .iter()
            .flat_map(|r| r["neighbours"].as_array().unwrap().clone())
            .map(|h| {
                (
                    h["id"].clone(),
                    h["name"].clone(),
                    h["distance"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let (copy, original) = (search("e2"), search("e"));
    assert_eq!(copy.len(), original.len());
    for (a, b) in copy.iter().zip(&original) {
        assert!(
            a.0 == b.0 && a.1 == b.1 && (a.2 - b.2).abs() < 1e-6,
            "{a:?} against {b:?}"
        );
    }
}

#[test]
fn the_server_takes_records_and_queries_with_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = common::write_demo_csv(&d.join("train.csv"), 53, 40);
    write_npy(&d.join("train.npy"), &train);
    let args = [
        "index",
        "--collection",
        "e",
        "--input",
        "train.csv",
        "--vectors",
        "train.npy",
        "--embedder",
        SPEC,
    ];
    ok_in(d, &args);
    let server = Server::start(d, &["--collection", "e"], &[]);
    let seq = "TATAAAAGGCGCGCCCGGGTATAAAATTTGGCC";
    let v = toy_vector(seq.as_bytes());
    let insert = json!({"records": [{"name": "mine", "sequence": seq, "label": "tata_promoter", "vector": v}]});
    let r = server.post("/v1/collections/e/records", &insert);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = server.post("/v1/collections/e/search", &json!({"vectors": [v], "k": 1}));
    assert_eq!(r.json()["results"][0]["neighbours"][0]["name"], "mine");

    let missing = json!({"records": [{"sequence": seq, "label": "x"}]});
    let message = expect_error(
        &server.post("/v1/collections/e/records", &missing),
        422,
        "parse_error",
    );
    assert!(
        message.contains("records[0]") && message.contains("\"vector\""),
        "{message}"
    );
    let short = json!({"records": [{"sequence": seq, "label": "x", "vector": [1.0, 2.0]}]});
    let message = expect_error(
        &server.post("/v1/collections/e/records", &short),
        422,
        "parse_error",
    );
    assert!(message.contains("16 finite numbers"), "{message}");

    let r = server.post(
        "/v1/collections/e/classify",
        &json!({"sequences": [seq], "vectors": [v]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["results"][0]["neighbours"][0]["name"], "mine");
    let r = server.post("/v1/collections/e/classify", &json!({"sequences": [seq]}));
    let message = expect_error(&r, 400, "embedder_error");
    assert!(message.contains("give vectors"), "{message}");
    server.stop();
}

#[test]
fn a_collection_that_embeds_refuses_given_vectors_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::write_demo_csv(&d.join("train.csv"), 54, 10);
    ok_in(d, &["index", "--collection", "c", "--input", "train.csv"]);
    let server = Server::start(d, &["--collection", "c"], &[]);
    let body = json!({"records": [{"sequence": "ACGT", "label": "x", "vector": vec![1.0; 708]}]});
    let message = expect_error(
        &server.post("/v1/collections/c/records", &body),
        422,
        "parse_error",
    );
    assert!(
        message.contains("only accepted by a collection of external embeddings"),
        "{message}"
    );
    server.stop();
}
