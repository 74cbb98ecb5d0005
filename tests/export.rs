//! `genovec export` through the real binary: every live record in Parquet, NPY, FASTA and
//! JSON Lines, and a collection indexed from the exported Parquet answers searches exactly as
//! the original does.

mod common;

use std::path::Path;

use common::{ok_in, run_in};
use serde_json::Value;

/// The demo records with `group` (text), `pos` (number) and, for some, `note` columns.
fn write_csv(path: &Path) -> usize {
    let records = genovec::demo::generate(41, 120);
    let mut text = String::from("name,sequence,label,group,pos,note\n");
    for (i, r) in records.iter().enumerate() {
        let note = if i % 5 == 0 { "two words" } else { "" };
        let label = r.label.as_deref().unwrap();
        text.push_str(&format!(
            "{},{},{label},g{},{i},{note}\n",
            r.name,
            r.seq,
            i % 3
        ));
    }
    std::fs::write(path, text).unwrap();
    records.len()
}

fn jsonl(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Search answers as (name, label, distance, metadata) per query.
fn answers(dir: &Path, collection: &str) -> Vec<Vec<(String, String, String, Value)>> {
    let args = [
        "search",
        "--collection",
        collection,
        "--input",
        "query.csv",
        "--k",
        "8",
        "--json",
    ];
    ok_in(dir, &args)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            let hits = v["neighbours"].as_array().unwrap();
            hits.iter()
                .map(|h| {
                    let s = |k: &str| h[k].to_string();
                    (s("name"), s("label"), s("distance"), h["metadata"].clone())
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_format_holds_the_live_records_and_parquet_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = write_csv(&d.join("train.csv"));
    common::write_demo_csv(&d.join("query.csv"), 42, 5);
    ok_in(d, &["index", "--collection", "c", "--input", "train.csv"]);
    ok_in(d, &["delete", "--collection", "c", "--id", "7"]);
    for format in ["parquet", "npy", "fasta", "jsonl"] {
        let out = format!("out.{format}");
        ok_in(
            d,
            &[
                "export",
                "--collection",
                "c",
                "--format",
                format,
                "--out",
                &out,
            ],
        );
    }

    // JSON Lines: every live record, every field.
    let rows = jsonl(&d.join("out.jsonl"));
    assert_eq!(rows.len(), n - 1);
    assert!(
        rows.iter().all(|r| r["id"] != 7),
        "the deleted record is left out"
    );
    let first = &rows[0];
    assert_eq!(
        first["metadata"],
        serde_json::json!({"group": "g0", "pos": 0, "note": "two words"})
    );
    let dim = first["vector"].as_array().unwrap().len();
    assert!(dim > 100 && first["sequence"].as_str().unwrap().len() > 50);

    // NPY: the same vectors in the same order, and the ids beside them.
    let bytes = std::fs::read(d.join("out.npy")).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[(n - 1) as u64, dim as u64]);
    let matrix: Vec<f32> = npy.into_vec().unwrap();
    let ids_bytes = std::fs::read(d.join("out.ids.npy")).unwrap();
    let ids: Vec<u64> = npyz::NpyFile::new(&ids_bytes[..])
        .unwrap()
        .into_vec()
        .unwrap();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(ids[i], row["id"].as_u64().unwrap());
        let v: Vec<f32> = serde_json::from_value(row["vector"].clone()).unwrap();
        assert_eq!(&matrix[i * dim..(i + 1) * dim], &v[..]);
    }

    // Parquet: indexed into a new collection, it answers exactly as the original does,
    // metadata included.
    ok_in(d, &["index", "--collection", "p", "--input", "out.parquet"]);
    assert_eq!(answers(d, "p"), answers(d, "c"));

    // FASTA: what a header holds; the text with a space is left out and said so.
    let fasta = std::fs::read_to_string(d.join("out.fasta")).unwrap();
    assert!(
        fasta.starts_with(">tata_promoter_0 id=1 label=tata_promoter group=g0 pos=0\n"),
        "{}",
        &fasta[..200]
    );
    let exported = run_in(
        d,
        &[
            "export",
            "--collection",
            "c",
            "--format",
            "fasta",
            "--out",
            "again.fa",
        ],
    );
    let stderr = String::from_utf8_lossy(&exported.stderr);
    assert!(
        stderr.contains("72 metadata fields were left out"),
        "{stderr}"
    );
    ok_in(d, &["index", "--collection", "f", "--input", "out.fasta"]);
    let from_fasta = answers(d, "f");
    let original = answers(d, "c");
    for (a, b) in from_fasta.iter().zip(&original) {
        let names = |x: &Vec<(String, String, String, Value)>| -> Vec<(String, String)> {
            x.iter().map(|h| (h.0.clone(), h.2.clone())).collect()
        };
        assert_eq!(names(a), names(b));
    }
    let bad = run_in(
        d,
        &[
            "export",
            "--collection",
            "c",
            "--format",
            "xml",
            "--out",
            "x",
        ],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("parquet, npy, fasta or jsonl"));
}
