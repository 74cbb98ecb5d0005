//! `genovec finetune`, `classify --finetuned` and `compare` through the real binary, on small
//! samples of real promoter sets with the tiny HyenaDNA fixture (random weights: these tests
//! check the plumbing and the output shapes, not accuracy).

mod common;

use std::path::Path;

use common::{dataset, model_fixture, ok_in, run_in};
use serde_json::Value;

/// The first `n` rows of a CSV, written to `to` (the GUE files are not sorted by label).
fn head_csv(from: &Path, n: usize, to: &Path) {
    let text = std::fs::read_to_string(from).unwrap();
    let rows: Vec<&str> = text.lines().take(n + 1).collect();
    std::fs::write(to, rows.join("\n") + "\n").unwrap();
}

/// Every `step`-th row of a CSV (the Genomic Benchmarks file is sorted by label).
fn every_csv(from: &Path, step: usize, to: &Path) {
    let text = std::fs::read_to_string(from).unwrap();
    let mut lines = text.lines();
    let mut out = vec![lines.next().unwrap()];
    out.extend(lines.step_by(step));
    std::fs::write(to, out.join("\n") + "\n").unwrap();
}

fn samples(dir: &Path) {
    let core = "gue/prom/prom_core_notata";
    head_csv(
        &dataset(&format!("{core}/train.csv")),
        240,
        &dir.join("train.csv"),
    );
    head_csv(
        &dataset(&format!("{core}/test.csv")),
        60,
        &dir.join("test.csv"),
    );
    let nontata = dataset("genomic_benchmarks/human_nontata_promoters/test.csv");
    every_csv(&nontata, 150, &dir.join("shift.csv"));
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn finetune_then_classify_finetuned_prints_the_contract_tsv() {
    let dir = tempfile::tempdir().unwrap();
    samples(dir.path());
    let model = format!("hyenadna:{}", model_fixture("hyenadna_tiny").display());
    let args = [
        "finetune",
        "--embedder",
        &model,
        "--train",
        "train.csv",
        "--out",
        "ft",
    ];
    let out = run_in(
        dir.path(),
        &[&args[..], &["--epochs", "1", "--max-minutes", "0.5"]].concat(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("best dev accuracy"), "{stderr}");
    for file in [
        "model.safetensors",
        "head.safetensors",
        "finetune.json",
        "config.json",
    ] {
        assert!(
            dir.path().join("ft").join(file).is_file(),
            "ft/{file} missing"
        );
    }
    let tsv = ok_in(
        dir.path(),
        &["classify", "--finetuned", "ft", "--input", "test.csv"],
    );
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(
        lines[0],
        "name\tpredicted\tconfidence\tp_0\tp_1\tneighbours"
    );
    assert_eq!(lines.len(), 61);
    for line in &lines[1..] {
        let cells: Vec<&str> = line.split('\t').collect();
        assert!(cells[1] == "0" || cells[1] == "1", "{line}");
        let (p0, p1): (f64, f64) = (cells[3].parse().unwrap(), cells[4].parse().unwrap());
        assert!((p0 + p1 - 1.0).abs() < 1e-3, "{line}");
    }
    let bad = run_in(
        dir.path(),
        &[
            "classify",
            "--finetuned",
            "train.csv",
            "--input",
            "test.csv",
        ],
    );
    assert!(!bad.status.success(), "a file is not a fine-tuned folder");
    let composition = run_in(
        dir.path(),
        &[
            "finetune",
            "--embedder",
            "composition",
            "--train",
            "train.csv",
            "--out",
            "x",
        ],
    );
    let message = String::from_utf8_lossy(&composition.stderr);
    assert!(
        !composition.status.success() && message.contains("language model"),
        "{message}"
    );
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn compare_json_carries_every_contract_field() {
    let dir = tempfile::tempdir().unwrap();
    samples(dir.path());
    let model = format!("hyenadna:{}", model_fixture("hyenadna_tiny").display());
    let json = ok_in(
        dir.path(),
        &[
            "compare",
            "--embedder",
            &model,
            "--train",
            "train.csv",
            "--test",
            "test.csv",
            "--shift-test",
            "shift.csv",
            "--out",
            "report",
            "--json",
            "--epochs",
            "1",
            "--max-minutes",
            "0.3",
        ],
    );
    let report: Value = serde_json::from_str(&json).expect("one JSON object");
    let fields = [
        "name",
        "accuracy",
        "macro_f1",
        "mcc",
        "auroc",
        "train_time_s",
        "infer_ms_per_seq",
        "energy_kwh",
        "co2_kg",
    ];
    for set in ["pipelines", "shift"] {
        let rows = report[set]
            .as_array()
            .unwrap_or_else(|| panic!("{set} is a list"));
        let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "embedding+knn+fusion",
                "embedding+knn",
                "composition+knn+fusion",
                "finetuned-hyenadna"
            ]
        );
        for row in rows {
            for field in fields {
                assert!(!row[field].is_null(), "{set}: {field} missing in {row}");
            }
            for field in ["accuracy", "macro_f1", "auroc"] {
                let v = row[field].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&v), "{field} = {v}");
            }
            assert!(row["energy_kwh"].as_f64().unwrap() > 0.0);
            assert!(row["co2_kg"].as_f64().unwrap() > 0.0);
        }
    }
    assert!(report["method"]["energy"]
        .as_str()
        .unwrap()
        .contains("CPU time"));
    assert!(report["method"]["grid_kg_per_kwh"].as_f64().unwrap() > 0.0);
    let out = dir.path().join("report");
    assert!(out.join("report.md").is_file() && out.join("report.json").is_file());
    let composition = run_in(
        dir.path(),
        &[
            "compare",
            "--embedder",
            "composition",
            "--train",
            "train.csv",
            "--test",
            "test.csv",
        ],
    );
    let message = String::from_utf8_lossy(&composition.stderr);
    assert!(
        !composition.status.success() && message.contains("language model"),
        "{message}"
    );
    let pngs = [
        "accuracy_vs_time.png",
        "roc.png",
        "accuracy_vs_time_shift.png",
        "roc_shift.png",
    ];
    for png in pngs {
        let exists = out.join(png).is_file();
        assert_eq!(exists, cfg!(feature = "plots"), "{png}");
    }
}
