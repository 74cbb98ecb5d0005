//! The real binary on self-contained data: demo, index, search, classify, info, delete,
//! compact, and the error paths.

mod common;

use common::{committed, ok_in, run_in, write_demo_csv};

#[test]
fn demo_writes_its_collection_and_reports_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok_in(dir.path(), &["demo"]);
    assert!(dir.path().join("indexes/demo.redb").exists());
    let line = out
        .lines()
        .find(|l| l.starts_with("held-out accuracy:"))
        .expect("accuracy line");
    let accuracy: f64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(accuracy > 0.6, "three classes, chance is 0.33: {line}");
    assert!(out.contains("neighbour id"), "evidence is printed");
}

#[test]
fn index_search_info_delete_compact_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("train.csv");
    let records = write_demo_csv(&csv, 5, 40);
    let out = run_in(
        dir.path(),
        &[
            "index",
            "--collection",
            "c",
            "--input",
            "train.csv",
            "--batch",
            "50",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        committed(&String::from_utf8_lossy(&out.stderr)),
        vec![50, 100, 120]
    );

    let query = records[7].seq.to_string();
    let tsv = ok_in(
        dir.path(),
        &[
            "search",
            "--collection",
            "c",
            "--sequence",
            &query,
            "--k",
            "3",
        ],
    );
    let first: Vec<&str> = tsv.lines().nth(1).unwrap().split('\t').collect();
    assert_eq!(
        first[..5],
        ["query", "1", "8", records[7].name.as_str(), "cpg_island"]
    );
    assert_eq!(tsv.lines().count(), 4, "header + k rows");

    let json = ok_in(
        dir.path(),
        &[
            "search",
            "--collection",
            "c",
            "--sequence",
            &query,
            "--k",
            "2",
            "--label",
            "background",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert!(v["neighbours"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["label"] == "background"));

    let info: serde_json::Value =
        serde_json::from_str(ok_in(dir.path(), &["info", "--collection", "c", "--json"]).trim())
            .unwrap();
    assert_eq!(info["records"], 120);
    assert_eq!(info["labels"]["tata_promoter"], 40);
    assert_eq!(info["embedder"], "composition");

    ok_in(dir.path(), &["delete", "--collection", "c", "--id", "8"]);
    let tsv = ok_in(
        dir.path(),
        &[
            "search",
            "--collection",
            "c",
            "--sequence",
            &query,
            "--k",
            "3",
        ],
    );
    assert!(
        tsv.lines()
            .skip(1)
            .all(|l| l.split('\t').nth(2) != Some("8")),
        "deleted record is filtered"
    );
    ok_in(dir.path(), &["compact", "--collection", "c"]);
    let info: serde_json::Value =
        serde_json::from_str(ok_in(dir.path(), &["info", "--collection", "c", "--json"]).trim())
            .unwrap();
    assert_eq!(
        (
            info["records"].as_u64(),
            info["tombstones"].as_u64(),
            info["graph_nodes"].as_u64()
        ),
        (Some(119), Some(0), Some(119))
    );
    // 119 records are too few to search by projection (README, "Search").
    assert_eq!(info["search"], serde_json::json!({"method": "graph"}));
    let text = ok_in(dir.path(), &["info", "--collection", "c"]);
    assert!(text.contains("search       graph"), "{text}");
}

#[test]
fn reindexing_the_same_input_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_demo_csv(&dir.path().join("a.csv"), 9, 10);
    let args = ["index", "--collection", "c.redb", "--input", "a.csv"];
    ok_in(dir.path(), &args);
    let again = run_in(dir.path(), &args);
    assert!(String::from_utf8_lossy(&again.stderr).contains("added 0, total 30"));
}

#[test]
fn classify_outputs_tsv_and_json_with_evidence() {
    let dir = tempfile::tempdir().unwrap();
    write_demo_csv(&dir.path().join("train.csv"), 11, 60);
    write_demo_csv(&dir.path().join("query.csv"), 12, 5);
    ok_in(
        dir.path(),
        &["index", "--collection", "c", "--input", "train.csv"],
    );
    let tsv = ok_in(
        dir.path(),
        &[
            "classify",
            "--collection",
            "c",
            "--input",
            "query.csv",
            "--k",
            "4",
        ],
    );
    let header: Vec<&str> = tsv.lines().next().unwrap().split('\t').collect();
    // Probability columns follow the collection's label order (first seen while indexing).
    let expected = [
        "name",
        "predicted",
        "confidence",
        "p_tata_promoter",
        "p_cpg_island",
        "p_background",
        "neighbours",
    ];
    assert_eq!(header, expected);
    let row: Vec<&str> = tsv.lines().nth(1).unwrap().split('\t').collect();
    assert_eq!(
        row.last().unwrap().split(';').count(),
        4,
        "k=4 neighbours as evidence"
    );
    let json = ok_in(
        dir.path(),
        &[
            "classify",
            "--collection",
            "c",
            "--input",
            "query.csv",
            "--json",
        ],
    );
    for line in json.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let total: f64 = v["probabilities"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_f64().unwrap())
            .sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert!(v["confidence"].as_f64().unwrap() <= 1.0);
        assert!(!v["neighbours"].as_array().unwrap().is_empty());
    }
}

#[test]
fn bad_letters_fail_with_file_line_and_character_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.csv"),
        "sequence,label\nACGT,a\nACXT,b\n",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &["index", "--collection", "c", "--input", "bad.csv"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.csv") && err.contains("line 3") && err.contains("'X'"),
        "{err}"
    );
    assert!(
        !dir.path().join("indexes/c.redb").exists(),
        "nothing was written"
    );
}

#[test]
fn bad_input_after_a_good_index_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_demo_csv(&dir.path().join("good.csv"), 3, 10);
    std::fs::write(
        dir.path().join("bad.fa"),
        ">ok label=a\nACGT\n>broken label=a\nAC-GT\n",
    )
    .unwrap();
    ok_in(
        dir.path(),
        &["index", "--collection", "c", "--input", "good.csv"],
    );
    let out = run_in(
        dir.path(),
        &["index", "--collection", "c", "--input", "bad.fa"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("record 2") && err.contains("broken"),
        "{err}"
    );
    let info: serde_json::Value =
        serde_json::from_str(ok_in(dir.path(), &["info", "--collection", "c", "--json"]).trim())
            .unwrap();
    assert_eq!(info["records"], 30);
}

#[test]
fn missing_collection_and_unknown_embedder_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &["search", "--collection", "nope", "--sequence", "ACGT"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    write_demo_csv(&dir.path().join("a.csv"), 1, 2);
    let out = run_in(
        dir.path(),
        &[
            "index",
            "--collection",
            "c",
            "--input",
            "a.csv",
            "--embedder",
            "bogus",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus"));
}

#[test]
fn fasta_with_header_labels_and_gzip_csv_index() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.fa"),
        ">s1 label=x\nACGTACGTAC\nGGTT\n>s2\nTTTTGGGGCCCC\n",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &["index", "--collection", "c", "--input", "a.fa"],
    );
    assert!(
        !out.status.success(),
        "s2 has no label and no --label was given"
    );
    ok_in(
        dir.path(),
        &[
            "index",
            "--collection",
            "c",
            "--input",
            "a.fa",
            "--label",
            "y",
        ],
    );
    let gz = std::fs::File::create(dir.path().join("b.csv.gz")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(gz, flate2::Compression::default());
    enc.write_all(b"seq,label\nacgtRYacgt,z\n").unwrap();
    enc.finish().unwrap();
    ok_in(
        dir.path(),
        &["index", "--collection", "c", "--input", "b.csv.gz"],
    );
    let info: serde_json::Value =
        serde_json::from_str(ok_in(dir.path(), &["info", "--collection", "c", "--json"]).trim())
            .unwrap();
    assert_eq!(info["records"], 3);
    assert_eq!(
        (
            info["labels"]["x"].as_u64(),
            info["labels"]["y"].as_u64(),
            info["labels"]["z"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
}
