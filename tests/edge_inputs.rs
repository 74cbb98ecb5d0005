//! Edge inputs decided before anything is written (the real binary, real files): an input
//! with no records is an error that writes nothing; classifying against an empty collection
//! and evaluating on an empty set are errors, never panics; a file whose every label is unique
//! is stored with a warning that the classifier could not be trained, and exits 0.

mod common;

use std::path::Path;

use common::{ok_in, run_in, write_demo_csv};

fn stderr_of(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    assert_eq!(out.status.code(), Some(1), "an error, not a panic");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn header_only(dir: &Path) -> String {
    std::fs::write(dir.join("empty.csv"), "sequence,label\n").unwrap();
    "empty.csv".into()
}

#[test]
fn a_header_only_file_writes_nothing_and_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = header_only(dir.path());
    let err = stderr_of(&run_in(
        dir.path(),
        &["index", "--collection", "c", "--input", &empty],
    ));
    assert!(err.contains("no records"), "{err}");
    assert!(!dir.path().join("indexes/c.redb").exists());
    write_demo_csv(&dir.path().join("train.csv"), 1, 10);
    for args in [
        ["eval", "--train", &empty, "--test", "train.csv"],
        ["eval", "--train", "train.csv", "--test", &empty],
    ] {
        let err = stderr_of(&run_in(dir.path(), &args));
        assert!(err.contains("set") && err.contains("no records"), "{err}");
    }
}

#[test]
fn classifying_against_a_collection_with_no_live_record_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("one.fa"), ">r1 label=a\nACGTACGTAC\n").unwrap();
    ok_in(
        dir.path(),
        &["index", "--collection", "c", "--input", "one.fa"],
    );
    let found = ok_in(
        dir.path(),
        &[
            "search",
            "--collection",
            "c",
            "--sequence",
            "ACGTACGTAC",
            "--json",
        ],
    );
    let found: serde_json::Value = serde_json::from_str(found.trim()).unwrap();
    let id = found["neighbours"][0]["id"].to_string();
    ok_in(dir.path(), &["delete", "--collection", "c", "--id", &id]);
    let args = ["classify", "--collection", "c", "--input", "one.fa"];
    let err = stderr_of(&run_in(dir.path(), &args));
    assert!(err.contains("no live records"), "{err}");
}

#[test]
fn unique_labels_are_stored_with_a_warning_and_no_classifier() {
    let dir = tempfile::tempdir().unwrap();
    let records = genovec::demo::generate(3, 10);
    let fasta: String = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                ">r{i} label=L{i}\n{}\n",
                String::from_utf8_lossy(r.seq.as_bytes())
            )
        })
        .collect();
    std::fs::write(dir.path().join("unique.fa"), fasta).unwrap();
    let out = run_in(
        dir.path(),
        &["index", "--collection", "u", "--input", "unique.fa"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: classifier not trained"),
        "{stderr}"
    );
    let info = ok_in(dir.path(), &["info", "--collection", "u", "--json"]);
    let info: serde_json::Value = serde_json::from_str(info.trim()).unwrap();
    assert_eq!(info["records"], 30);
    assert_eq!(info["classifier"]["trained"], false);
    // The vote still answers.
    let out = ok_in(
        dir.path(),
        &[
            "classify",
            "--collection",
            "u",
            "--input",
            "unique.fa",
            "--json",
        ],
    );
    assert_eq!(out.lines().count(), 30);
}
