//! Helpers shared by the integration tests: the real binary, the shared data folder, and
//! small input files written into temporary folders.

#![allow(dead_code)]

#[cfg(feature = "milvus")]
pub mod milvus;

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

/// `max |a − b|` over two tensors of the same shape, compared in f32.
pub fn max_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shapes");
    let f32 = |t: &candle_core::Tensor| t.to_dtype(candle_core::DType::F32).unwrap();
    (f32(a) - f32(b))
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// A model parity fixture folder under the shared folder.
pub fn model_fixture(name: &str) -> PathBuf {
    shared().join("fixtures/models").join(name)
}

/// The fetched HyenaDNA-anticapt checkpoint folder (`GENOVEC_ANTICAPT`, else
/// `target/anticapt/finetuned_hyenadna`); panics with how to fetch it when absent.
pub fn anticapt_checkpoint() -> PathBuf {
    let dir = std::env::var_os("GENOVEC_ANTICAPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/anticapt/finetuned_hyenadna")
        });
    assert!(
        dir.join("pytorch_model.bin").is_file() && dir.join("config.json").is_file(),
        "the anticapt HyenaDNA checkpoint is not in {}: run benches/fetch_anticapt.sh, or point \
         GENOVEC_ANTICAPT at a folder with its config.json and pytorch_model.bin",
        dir.display()
    );
    dir
}
