//! Record metadata through the real binary and server: read from CSV columns and FASTA
//! headers, returned with hits, and `where` filters that still return k matching records.

#[path = "common/http.rs"]
mod client;
mod common;

use std::path::Path;

use client::{expect_error, Server};
use common::ok_in;
use serde_json::{json, Value};

const GROUPS: [&str; 4] = ["a", "b", "c", "d"];

/// Writes the demo records with `group` and `pos` columns; `keep` picks the rows written.
fn write_csv(path: &Path, keep: impl Fn(usize) -> bool) {
    let mut text = String::from("name,sequence,label,group,pos\n");
    for (i, r) in genovec::demo::generate(31, 300).iter().enumerate() {
        if keep(i) {
            let label = r.label.as_deref().unwrap();
            let group = GROUPS[i % 4];
            text.push_str(&format!("{},{},{label},{group},{i}\n", r.name, r.seq));
        }
    }
    std::fs::write(path, text).unwrap();
}

/// `search --json` lines, one per query.
fn search(dir: &Path, collection: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "search",
        "--collection",
        collection,
        "--input",
        "query.csv",
        "--json",
    ];
    args.extend(extra);
    let out = ok_in(dir, &args);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn hits(result: &Value) -> &Vec<Value> {
    result["neighbours"].as_array().unwrap()
}

#[test]
fn where_filters_return_k_matching_records_with_their_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_csv(&d.join("all.csv"), |_| true);
    write_csv(&d.join("ab.csv"), |i| i % 4 < 2);
    common::write_demo_csv(&d.join("query.csv"), 32, 8);
    ok_in(d, &["index", "--collection", "all", "--input", "all.csv"]);
    ok_in(d, &["index", "--collection", "ab", "--input", "ab.csv"]);

    // Half the records pass: the graph walk skips the others and still finds 10 of them,
    // nearly all of the exact answer (the `ab` collection holding only them, searched with
    // a beam wider than it).
    let filtered = search(d, "all", &["--where", r#"{"group": {"$in": ["a", "b"]}}"#]);
    let truth = search(d, "ab", &["--ef", "2000"]);
    let (mut same, mut total) = (0, 0);
    for (f, t) in filtered.iter().zip(&truth) {
        assert_eq!(hits(f).len(), 10);
        for hit in hits(f) {
            let group = hit["metadata"]["group"].as_str().unwrap();
            assert!(group == "a" || group == "b", "{hit}");
            assert!(hit["metadata"]["pos"].as_u64().unwrap() % 4 < 2);
        }
        let names =
            |r: &Value| -> Vec<String> { hits(r).iter().map(|h| h["name"].to_string()).collect() };
        same += names(f).iter().filter(|n| names(t).contains(n)).count();
        total += 10;
    }
    assert_eq!(filtered.len(), 24);
    assert!(
        same * 100 >= total * 95,
        "{same} of {total} exact neighbours"
    );

    // A range that only 10 records pass: all 10 come back, scanned exactly.
    let range = search(
        d,
        "all",
        &["--where", r#"{"pos": {"$gte": 100, "$lt": 110}}"#],
    );
    for r in &range {
        let mut pos: Vec<u64> = hits(r)
            .iter()
            .map(|h| h["metadata"]["pos"].as_u64().unwrap())
            .collect();
        pos.sort();
        assert_eq!(pos, (100..110).collect::<Vec<_>>());
    }
    // Label and metadata filters combine; a bad filter names its fault.
    let both = search(
        d,
        "all",
        &["--where", r#"{"group": "c"}"#, "--label", "cpg_island"],
    );
    for hit in both.iter().flat_map(hits) {
        assert_eq!(
            (hit["label"].as_str(), hit["metadata"]["group"].as_str()),
            (Some("cpg_island"), Some("c"))
        );
    }
    let bad = common::run_in(
        d,
        &[
            "search",
            "--collection",
            "all",
            "--sequence",
            "ACGT",
            "--where",
            r#"{"pos": {"$gte": "x"}}"#,
        ],
    );
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && stderr.contains("--where") && stderr.contains("\"pos\""),
        "{stderr}"
    );
}

#[test]
fn fasta_header_fields_and_http_records_carry_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fasta =
        ">r1 chr=chr7 start=1200 label=x\nACGTACGTAAGG\n>r2 chr=chr1 label=y\nTTGACCGTAAGC\n";
    std::fs::write(d.join("r.fa"), fasta).unwrap();
    ok_in(d, &["index", "--collection", "h", "--input", "r.fa"]);
    let out = ok_in(
        d,
        &[
            "search",
            "--collection",
            "h",
            "--sequence",
            "ACGTACGTAAGG",
            "--k",
            "1",
            "--json",
        ],
    );
    let first: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        hits(&first)[0]["metadata"],
        json!({"chr": "chr7", "start": 1200})
    );

    let server = Server::start(d, &["--collection", "h"], &[]);
    let insert = json!({"records": [
        {"name": "n1", "sequence": "GGGCCCAAATTT", "label": "x", "metadata": {"chr": "chr2", "score": 0.5}},
        {"name": "n2", "sequence": "GGGCCCAAATTA", "label": "y"}
    ]});
    let r = server.post("/v1/collections/h/records", &insert);
    assert_eq!(r.status, 200, "{}", r.text());
    let body =
        json!({"sequences": ["GGGCCCAAATTT"], "k": 4, "where": {"chr": {"$in": ["chr2", "chr7"]}}});
    let r = server.post("/v1/collections/h/search", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let found = r.json()["results"][0]["neighbours"].clone();
    let names: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["n1", "r1"], "only the two records in chr2 and chr7");
    assert_eq!(found[0]["metadata"], json!({"chr": "chr2", "score": 0.5}));

    let bad = json!({"sequences": ["ACGT"], "where": {"score": {"$between": [0, 1]}}});
    let message = expect_error(
        &server.post("/v1/collections/h/search", &bad),
        400,
        "invalid_request",
    );
    assert!(message.contains("$between"), "{message}");
    let reserved = json!({"records": [{"sequence": "ACGT", "label": "x", "metadata": {"id": 3}}]});
    let message = expect_error(
        &server.post("/v1/collections/h/records", &reserved),
        422,
        "parse_error",
    );
    assert!(
        message.contains("records[0]") && message.contains("reserved"),
        "{message}"
    );
    server.stop();
    ok_in(d, &["check", "--collection", "h"]);
}
