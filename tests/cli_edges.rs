//! The CLI's edges with the real binary on real files: `--input -`, a missing input file,
//! `demo` over a collection it did not write, tabs in names and labels, `--k`/`--ef` out of
//! range (the same message as the HTTP API's) and TSV output of odd stored names.

#[path = "common/http.rs"]
mod client;
mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use client::{expect_error, Server};
use common::{bin, ok_in, run_in, write_demo_csv};
use genovec::engine::{self, IndexOptions};
use genovec::seq::SeqRecord;
use serde_json::json;

/// Runs the binary in `dir` with `stdin` as its standard input.
fn run_with_stdin(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = bin()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut pipe = child.stdin.take().unwrap();
    let body = stdin.to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&body));
    let out = child.wait_with_output().unwrap();
    // A command that refuses its arguments exits before reading: a closed pipe is fine.
    if let Err(e) = writer.join().unwrap() {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "stdin written: {e}"
        );
    }
    out
}

fn stdout_ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr_of(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn fasta(records: &[SeqRecord]) -> String {
    records
        .iter()
        .map(|r| {
            format!(
                ">{} label={}\n{}\n",
                r.name,
                r.label.as_deref().unwrap(),
                r.seq
            )
        })
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Data rows of a TSV output, split into columns.
fn rows(tsv: &str) -> Vec<Vec<String>> {
    tsv.lines()
        .skip(1)
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn dash_reads_stdin_for_index_search_classify_and_eval() {
    let dir = tempfile::tempdir().unwrap();
    let train = write_demo_csv(&dir.path().join("train.csv"), 21, 20);
    let csv = std::fs::read(dir.path().join("train.csv")).unwrap();
    let index = ["index", "--collection", "c", "--input", "-"];
    let out = run_with_stdin(dir.path(), &index, &csv);
    stdout_ok(&out, "index from stdin");
    assert!(String::from_utf8_lossy(&out.stderr).contains("added 60"));

    // Gzip FASTA on stdin: the format is sniffed from the decompressed content.
    let queries = &train[..3];
    let search = ["search", "--collection", "c", "--input", "-", "--k", "1"];
    let out = run_with_stdin(dir.path(), &search, &gzip(fasta(queries).as_bytes()));
    let found = rows(&stdout_ok(&out, "search from stdin"));
    let names: Vec<_> = found
        .iter()
        .map(|r| (r[0].as_str(), r[3].as_str()))
        .collect();
    let want: Vec<_> = queries.iter().map(|r| (&*r.name, &*r.name)).collect();
    assert_eq!(names, want, "each query finds itself");

    // TSV on stdin, told from CSV by its header.
    let tsv: String = std::iter::once("name\tsequence\n".to_string())
        .chain(queries.iter().map(|r| format!("{}\t{}\n", r.name, r.seq)))
        .collect();
    let classify = ["classify", "--collection", "c", "--input", "-"];
    let out = run_with_stdin(dir.path(), &classify, tsv.as_bytes());
    let predicted = rows(&stdout_ok(&out, "classify from stdin"));
    assert_eq!(predicted.len(), 3);
    assert_eq!(predicted[0][0], queries[0].name);

    let eval = ["eval", "--train", "-", "--test", "train.csv", "--json"];
    let out = run_with_stdin(dir.path(), &eval, &csv);
    let report: serde_json::Value = serde_json::from_str(&stdout_ok(&out, "eval")).unwrap();
    assert_eq!(
        (report["n_train"].as_u64(), report["n_test"].as_u64()),
        (Some(60), Some(60))
    );
}

#[test]
fn stdin_named_twice_or_empty_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let twice = ["index", "--collection", "c", "--input", "-", "-"];
    let err = stderr_of(&run_with_stdin(dir.path(), &twice, b">a label=x\nAC\n"));
    assert!(err.contains("only once"), "{err}");
    let once = ["index", "--collection", "c", "--input", "-"];
    let err = stderr_of(&run_with_stdin(dir.path(), &once, b"\n"));
    assert!(err.contains("<stdin>") && err.contains("empty"), "{err}");
    assert!(!dir.path().join("indexes/c.redb").exists());
}

#[test]
fn a_missing_input_file_is_named_once_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.fa");
    let m = missing.to_str().unwrap();
    let commands: [&[&str]; 5] = [
        &["index", "--collection", "c", "--input", m],
        &["search", "--collection", "c", "--input", m],
        &["classify", "--collection", "c", "--input", m],
        &["eval", "--data", m, "--folds", "2"],
        &["eval", "--train", m, "--test", m],
    ];
    for args in commands {
        let err = stderr_of(&run_in(dir.path(), args));
        assert_eq!(err.matches("nope.fa").count(), 1, "{args:?}: {err}");
        // Progress log lines (`read...`) may come first; the error is the last line.
        assert_eq!(
            err.trim_end().lines().last().unwrap_or_default(),
            format!("error: invalid input: {m} does not exist")
        );
    }
}

#[test]
fn demo_replaces_its_own_collection_and_refuses_others_without_force() {
    let dir = tempfile::tempdir().unwrap();
    ok_in(dir.path(), &["demo"]);
    ok_in(dir.path(), &["demo"]);
    write_demo_csv(&dir.path().join("mine.csv"), 5, 10);
    ok_in(
        dir.path(),
        &["index", "--collection", "mine", "--input", "mine.csv"],
    );
    let err = stderr_of(&run_in(dir.path(), &["demo", "--collection", "mine"]));
    assert!(
        err.contains("indexes/mine.redb") && err.contains("--force"),
        "{err}"
    );
    let info = ok_in(dir.path(), &["info", "--collection", "mine", "--json"]);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["records"], 30, "the refused file is untouched: {info}");
    std::fs::write(dir.path().join("notes.redb"), "not a collection").unwrap();
    let err = stderr_of(&run_in(dir.path(), &["demo", "--collection", "notes.redb"]));
    assert!(
        err.contains("notes.redb") && err.contains("--force"),
        "{err}"
    );
    let out = ok_in(dir.path(), &["demo", "--collection", "mine", "--force"]);
    assert!(out.contains("indexed 1200 records"), "{out}");
}

#[test]
fn tabs_and_line_breaks_in_names_or_labels_are_refused_at_read() {
    let dir = tempfile::tempdir().unwrap();
    let body = "name,sequence,label\nok,ACGT,x\n\"a\tb\",GGCC,x\n";
    std::fs::write(dir.path().join("tab.csv"), body).unwrap();
    let index = ["index", "--collection", "c", "--input", "tab.csv"];
    let err = stderr_of(&run_in(dir.path(), &index));
    assert!(
        err.contains("tab.csv, line 3: name \"a\\tb\" contains a tab"),
        "{err}"
    );
    std::fs::write(dir.path().join("nl.csv"), "sequence,label\nAC,\"x\ny\"\n").unwrap();
    let index = ["index", "--collection", "c", "--input", "nl.csv"];
    let err = stderr_of(&run_in(dir.path(), &index));
    assert!(
        err.contains("nl.csv, line 2: label") && err.contains("line feed"),
        "{err}"
    );
    std::fs::write(dir.path().join("ok.fa"), ">r1\tdesc\nACGT\n").unwrap();
    let labelled = [
        "index",
        "--collection",
        "c",
        "--input",
        "ok.fa",
        "--label",
        "a\tb",
    ];
    let err = stderr_of(&run_in(dir.path(), &labelled));
    assert!(
        err.contains("invalid label") && err.contains("a tab"),
        "{err}"
    );
    assert!(
        !dir.path().join("indexes/c.redb").exists(),
        "nothing stored"
    );
}

/// Indexes demo records, two of them renamed, into `dir/c.redb` through the library (which
/// is how names stored before the readers refused tabs can still hold one).
fn odd_collection(dir: &Path) -> Vec<SeqRecord> {
    let mut records = genovec::demo::generate(8, 5);
    records[0].name = "tab\there".into();
    records[1].name = "back\\slash\r\n".into();
    let path = dir.join("c.redb");
    engine::index_records(&path, &records, &IndexOptions::default(), &mut |_, _, _| {}).unwrap();
    records
}

#[test]
fn search_tsv_escapes_odd_stored_names() {
    let dir = tempfile::tempdir().unwrap();
    let records = odd_collection(dir.path());
    for (record, shown) in [
        (&records[0], "tab\\there"),
        (&records[1], "back\\\\slash\\r\\n"),
    ] {
        let seq = record.seq.to_string();
        let args = [
            "search",
            "--collection",
            "c.redb",
            "--sequence",
            &seq,
            "--k",
            "2",
        ];
        let tsv = ok_in(dir.path(), &args);
        assert_eq!(tsv.lines().count(), 3, "header + k rows: {tsv:?}");
        let found = rows(&tsv);
        assert!(found.iter().all(|r| r.len() == 6), "{found:?}");
        assert_eq!(found[0][3], shown);
    }
}

#[test]
fn k_and_ef_out_of_range_fail_as_over_http() {
    let dir = tempfile::tempdir().unwrap();
    odd_collection(dir.path());
    let search = |extra: &[&str]| {
        let mut args = vec!["search", "--collection", "c.redb", "--sequence", "ACGTACGT"];
        args.extend_from_slice(extra);
        stderr_of(&run_in(dir.path(), &args))
    };
    let k0 = search(&["--k", "0"]);
    assert_eq!(
        k0.trim_end(),
        "error: invalid k: k must be between 1 and 1000, got 0"
    );
    let big = search(&["--k", "1001"]);
    assert!(big.contains("between 1 and 1000, got 1001"), "{big}");
    let ef0 = search(&["--ef", "0"]);
    assert_eq!(
        ef0.trim_end(),
        "error: invalid ef: ef must be between 1 and 10000, got 0"
    );

    let server = Server::start(dir.path(), &["--collection", "c.redb"], &[]);
    let body = json!({"sequences": ["ACGTACGT"], "k": 0});
    let http = expect_error(
        &server.post("/v1/collections/c/search", &body),
        400,
        "invalid_argument",
    );
    assert_eq!(format!("error: {http}"), k0.trim_end());

    let records = json!({"records": [
        {"name": "ok", "sequence": "ACGT", "label": "x"},
        {"name": "a\tb", "sequence": "ACGT", "label": "x"},
    ]});
    let insert = server.post("/v1/collections/c/records", &records);
    let message = expect_error(&insert, 422, "parse_error");
    assert!(
        message.contains("records[1]") && message.contains("a tab"),
        "{message}"
    );
}
