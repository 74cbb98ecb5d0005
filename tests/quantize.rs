//! `index --quantize int8` through the real binary: a quarter of the vector memory, the same
//! classifications as the float collection, the setting kept and checked.

#[path = "common/http.rs"]
mod client;
mod common;

use client::Server;
use common::{ok_in, run_in, write_demo_csv};
use serde_json::json;

fn info(dir: &std::path::Path, collection: &str) -> serde_json::Value {
    let out = ok_in(dir, &["info", "--collection", collection, "--json"]);
    serde_json::from_str(out.trim()).unwrap()
}

/// Each query's (label, neighbour ids) from `classify --json`.
fn classify(dir: &std::path::Path, collection: &str) -> Vec<(String, Vec<u64>)> {
    let out = ok_in(
        dir,
        &[
            "classify",
            "--collection",
            collection,
            "--input",
            "query.csv",
            "--json",
        ],
    );
    out.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let ids = v["neighbours"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_u64().unwrap())
                .collect();
            (v["label"].as_str().unwrap().to_string(), ids)
        })
        .collect()
}

#[test]
fn int8_collection_classifies_like_the_float_one_with_a_quarter_of_the_memory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let records = write_demo_csv(&d.join("train.csv"), 11, 500);
    write_demo_csv(&d.join("query.csv"), 12, 30);
    for (name, extra) in [("f", None), ("q", Some("int8"))] {
        let mut args = vec!["index", "--collection", name, "--input", "train.csv"];
        args.extend(extra.map(|q| ["--quantize", q]).iter().flatten());
        ok_in(d, &args);
    }
    let (f, q) = (info(d, "f"), info(d, "q"));
    assert_eq!(q["quantize"], "int8");
    assert_eq!(f["quantize"], "none");
    assert_eq!(q["format_version"], 3);
    assert!(
        q["graph_nodes"].as_u64().unwrap() > 1000,
        "the graph is searched: {q}"
    );
    let n = records.len() as u64;
    let dim = q["dimension"].as_u64().unwrap();
    assert_eq!(q["vector_bytes"].as_u64().unwrap(), n * dim);
    assert_eq!(f["vector_bytes"].as_u64().unwrap(), 4 * n * dim);
    let (float, int8) = (classify(d, "f"), classify(d, "q"));
    assert_eq!(float.len(), 90);
    assert_eq!(int8, float, "same labels and neighbours");
    ok_in(d, &["check", "--collection", "q"]);

    // Later runs keep the stored setting; asking a float collection for int8 is refused.
    write_demo_csv(&d.join("more.csv"), 13, 5);
    ok_in(d, &["index", "--collection", "q", "--input", "more.csv"]);
    assert_eq!(info(d, "q")["quantize"], "int8");
    let refused = run_in(
        d,
        &[
            "index",
            "--collection",
            "f",
            "--input",
            "more.csv",
            "--quantize",
            "int8",
        ],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("quantize"), "{stderr}");
    let bad = run_in(
        d,
        &[
            "index",
            "--collection",
            "x",
            "--input",
            "more.csv",
            "--quantize",
            "int4",
        ],
    );
    assert!(!bad.status.success());
}

/// Neighbour ids of one `search --json` line or HTTP result.
fn ids(result: &serde_json::Value) -> Vec<u64> {
    result["neighbours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_served_int8_collection_answers_like_the_cli_and_takes_inserts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_demo_csv(&d.join("train.csv"), 21, 200);
    let queries: Vec<String> = genovec::demo::generate(22, 4)
        .iter()
        .map(|r| r.seq.to_string())
        .collect();
    let args = [
        "index",
        "--collection",
        "q",
        "--input",
        "train.csv",
        "--quantize",
        "int8",
    ];
    ok_in(d, &args);
    let cli: Vec<Vec<u64>> = queries
        .iter()
        .map(|q| {
            let out = ok_in(
                d,
                &[
                    "search",
                    "--collection",
                    "q",
                    "--sequence",
                    q,
                    "--k",
                    "7",
                    "--json",
                ],
            );
            ids(&serde_json::from_str(out.trim()).unwrap())
        })
        .collect();
    let server = Server::start(d, &["--collection", "q", "--no-train"], &[]);
    let seqs = &queries;
    let search = |body: serde_json::Value| {
        let r = server.post("/v1/collections/q/search", &body);
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(ids)
            .collect::<Vec<_>>()
    };
    assert_eq!(search(json!({"sequences": seqs, "k": 7})), cli);
    // Inserted records get codes: each new sequence is then its own nearest neighbour.
    let fresh: Vec<String> = genovec::demo::generate(23, 2)
        .iter()
        .map(|r| r.seq.to_string())
        .collect();
    let records: Vec<_> = fresh
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"name": format!("fresh{i}"), "sequence": s, "label": "fresh"}))
        .collect();
    let body = json!({ "records": records });
    let r = server.post("/v1/collections/q/records", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let new_ids: Vec<u64> = r.json()["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap())
        .collect();
    let found = search(json!({"sequences": fresh, "k": 1}));
    assert_eq!(found, new_ids.iter().map(|&i| vec![i]).collect::<Vec<_>>());
    server.stop();
    ok_in(d, &["check", "--collection", "q"]);
}
