//! kill -9 a running `genovec index`, reopen, and find every batch it reported committed;
//! then rerun the same command: it finishes with no duplicates.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{bin, ok_in, write_demo_csv};

#[test]
fn killed_index_keeps_every_committed_batch_and_resumes_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let records = write_demo_csv(&dir.path().join("big.csv"), 77, 4000);
    let mut child = bin()
        .current_dir(dir.path())
        .args([
            "index",
            "--collection",
            "c",
            "--input",
            "big.csv",
            "--batch",
            "25",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut last_committed = 0;
    let started = Instant::now();
    // Kill after a few durable batches, while later ones are still being written.
    while let Some(Ok(line)) = lines.next() {
        if let Some(n) = line.strip_prefix("committed ") {
            last_committed = n.trim().parse().unwrap();
            if last_committed >= 500 {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "index is too slow to crash-test"
        );
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert!(
        last_committed >= 500 && last_committed < records.len(),
        "killed mid-run at {last_committed}"
    );

    let info: serde_json::Value =
        serde_json::from_str(ok_in(dir.path(), &["info", "--collection", "c", "--json"]).trim())
            .unwrap();
    let stored = info["records"].as_u64().unwrap() as usize;
    assert!(
        stored >= last_committed,
        "reported {last_committed} committed, found {stored}"
    );

    ok_in(
        dir.path(),
        &[
            "index",
            "--collection",
            "c",
            "--input",
            "big.csv",
            "--batch",
            "500",
            // What is checked is the records; training the classifier on them (most of a
            // full run's time) proves nothing here.
            "--no-train",
        ],
    );
    let info: serde_json::Value =
        serde_json::from_str(ok_in(dir.path(), &["info", "--collection", "c", "--json"]).trim())
            .unwrap();
    assert_eq!(
        info["records"].as_u64().unwrap() as usize,
        records.len(),
        "every record once"
    );
}
