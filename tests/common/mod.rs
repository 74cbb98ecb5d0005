//! Helpers shared by the integration tests: the real binary, the shared data folder, and
//! small input files written into temporary folders.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `genovec` binary built for these tests.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_genovec"))
}

/// Runs the binary in `dir` and returns its output.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    bin()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Runs and asserts success; returns stdout.
pub fn ok_in(dir: &Path, args: &[&str]) -> String {
    let out = run_in(dir, args);
    assert!(
        out.status.success(),
        "genovec {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The shared datasets folder: `GENOVEC_SHARED`, else `../shared` beside the crate.
pub fn shared() -> PathBuf {
    match std::env::var_os("GENOVEC_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    }
}

/// A file under the shared datasets folder; panics with a clear message when absent.
pub fn dataset(relative: &str) -> PathBuf {
    let path = shared().join("datasets").join(relative);
    assert!(
        path.exists(),
        "{} is missing: set GENOVEC_SHARED to the shared folder",
        path.display()
    );
    path
}

/// Writes the demo generator's records as a `sequence,label,name` CSV.
pub fn write_demo_csv(path: &Path, seed: u64, per_class: usize) -> Vec<genovec::seq::SeqRecord> {
    let records = genovec::demo::generate(seed, per_class);
    let mut text = String::from("name,sequence,label\n");
    for r in &records {
        text.push_str(&format!(
            "{},{},{}\n",
            r.name,
            r.seq,
            r.label.as_deref().unwrap()
        ));
    }
    std::fs::write(path, text).unwrap();
    records
}

/// Lines `committed N` in a stderr text, as numbers.
pub fn committed(stderr: &str) -> Vec<usize> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("committed "))
        .map(|n| n.trim().parse().unwrap())
        .collect()
}
