//! `genovec qc` through the binary: files in, JSON and Markdown out, and a stored collection.

mod common;

use common::{ok_in, write_demo_csv};

#[test]
fn qc_reports_duplicates_across_files_and_on_a_collection() {
    let dir = tempfile::tempdir().unwrap();
    let train = write_demo_csv(&dir.path().join("train.csv"), 1, 20);
    // The test set: two training records again (one reverse-complemented), one new.
    let new = write_demo_csv(&dir.path().join("other.csv"), 2, 1);
    let mut test = String::from("name,sequence,label\n");
    let rc = genovec::seq::reverse_complement(train[1].seq.as_bytes());
    let rows = [
        (
            train[0].name.as_str(),
            train[0].seq.as_bytes().to_vec(),
            &train[0].label,
        ),
        ("rc", rc, &train[1].label),
        ("new", new[0].seq.as_bytes().to_vec(), &new[0].label),
    ];
    for (name, seq, label) in rows {
        let label = label.as_deref().unwrap();
        test.push_str(&format!(
            "{name},{},{label}\n",
            String::from_utf8(seq).unwrap()
        ));
    }
    std::fs::write(dir.path().join("test.csv"), test).unwrap();
    let args = [
        "qc",
        "--train",
        "train.csv",
        "--test",
        "test.csv",
        "--json",
        "--out",
        "report",
    ];
    let report: serde_json::Value = serde_json::from_str(&ok_in(dir.path(), &args)).unwrap();
    assert_eq!(report["train"]["records"], train.len());
    assert_eq!(report["test"]["records"], 3);
    assert_eq!(report["exact_duplicates_across"], 1);
    assert_eq!(report["reverse_complement_duplicates_across"], 1);
    assert!(report["near_duplicates_across"].as_u64().unwrap() >= 2);
    assert_eq!(report["label_conflicts"], 0);
    // Shortcut risk: three single-feature models and the full pipeline on the same folds.
    let shortcuts = &report["shortcuts"];
    assert_eq!(shortcuts["records"], train.len());
    let families: Vec<&str> = (shortcuts["families"].as_array().unwrap().iter())
        .map(|f| f["family"].as_str().unwrap())
        .collect();
    assert_eq!(families, ["length", "gc", "dinucleotide"]);
    let (majority, full) = (
        shortcuts["majority"].as_f64().unwrap(),
        shortcuts["full_pipeline"].as_f64().unwrap(),
    );
    assert!(full > majority + 0.3, "full {full}, majority {majority}");
    assert_eq!(report["not_computed"], serde_json::json!([]));
    assert_eq!(report["train"]["composition_twins_within"], 0);
    let md = std::fs::read_to_string(dir.path().join("report/qc.md")).unwrap();
    assert!(md.contains("| exact duplicates | 1 |"), "{md}");
    assert!(
        md.contains("## Shortcut risk") && md.contains("| length alone |"),
        "{md}"
    );
    assert!(md.contains("## Composition twins"), "{md}");
    if cfg!(feature = "plots") {
        for png in ["qc_length.png", "qc_gc.png"] {
            let bytes = std::fs::read(dir.path().join("report").join(png)).unwrap();
            assert!(bytes.starts_with(b"\x89PNG"), "{png}");
            assert!(md.contains(&format!("]({png})")), "{md}");
        }
    } else {
        assert!(md.contains("without `--features plots`"), "{md}");
    }
    let off = [
        "qc",
        "--train",
        "train.csv",
        "--json",
        "--shortcut-records",
        "0",
    ];
    let off: serde_json::Value = serde_json::from_str(&ok_in(dir.path(), &off)).unwrap();
    assert!(off["shortcuts"].is_null());
    assert!(off["not_computed"][0]
        .as_str()
        .unwrap()
        .contains("turned off"));
    let saved = std::fs::read_to_string(dir.path().join("report/qc.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&saved).unwrap(),
        report
    );

    // A stored collection is checked as a training set; a bad threshold is refused.
    let index = [
        "index",
        "--collection",
        "c.redb",
        "--input",
        "train.csv",
        "--no-train",
    ];
    ok_in(dir.path(), &index);
    let args = [
        "qc",
        "--collection",
        "c.redb",
        "--test",
        "test.csv",
        "--json",
    ];
    let stored: serde_json::Value = serde_json::from_str(&ok_in(dir.path(), &args)).unwrap();
    assert_eq!(stored["train"]["records"], train.len());
    assert_eq!(stored["exact_duplicates_across"], 1);
    let bad = common::run_in(
        dir.path(),
        &["qc", "--train", "train.csv", "--identity", "1.5"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("identity"));
    let bad = common::run_in(
        dir.path(),
        &["qc", "--train", "train.csv", "--twin-distance", "2"],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("twin-distance"));
}

#[test]
fn eval_groups_near_duplicates_into_one_fold_and_reports_both() {
    let dir = tempfile::tempdir().unwrap();
    let records = write_demo_csv(&dir.path().join("d.csv"), 5, 30);
    // Every tenth record appears a second time, one base changed: near-duplicates.
    let mut text = std::fs::read_to_string(dir.path().join("d.csv")).unwrap();
    let copies: Vec<&genovec::seq::SeqRecord> = records.iter().step_by(10).collect();
    for (i, r) in copies.iter().enumerate() {
        let mut seq = r.seq.as_bytes().to_vec();
        seq[5] = if seq[5] == b'A' { b'C' } else { b'A' };
        let seq = String::from_utf8(seq).unwrap();
        text.push_str(&format!("copy{i},{seq},{}\n", r.label.as_deref().unwrap()));
    }
    std::fs::write(dir.path().join("d.csv"), text).unwrap();
    let args = [
        "eval",
        "--data",
        "d.csv",
        "--folds",
        "3",
        "--group",
        "near-duplicates",
        "--json",
    ];
    let out: serde_json::Value = serde_json::from_str(&ok_in(dir.path(), &args)).unwrap();
    assert_eq!(out["near_duplicate_groups"], records.len());
    for side in ["ungrouped", "grouped"] {
        let report = &out[side];
        assert_eq!(report["folds"].as_array().unwrap().len(), 3, "{side}");
        assert!(
            report["accuracy"].as_f64().unwrap() > 0.0,
            "{side}: {report}"
        );
    }
}
