//! Helpers of the Milvus tests: the server's address from `GENOVEC_MILVUS`, collection URIs
//! unique to a run, and the binary's output.

use std::process::Output;

use super::bin;

/// The server's address; a run that asked for these tests without one fails here.
pub fn server() -> String {
    std::env::var("GENOVEC_MILVUS").expect(
        "GENOVEC_MILVUS is not set: start a server with `bash .ci/milvus.sh start` and run the \
         tests inside its namespace with GENOVEC_MILVUS=127.0.0.1:19530",
    )
}

/// A collection URI unique to this test run.
pub fn uri(test: &str) -> String {
    format!("milvus://{}/t{}_{test}", server(), std::process::id())
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "genovec {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

pub fn fails(args: &[&str]) -> String {
    let out = run(args);
    assert!(!out.status.success(), "genovec {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// (query, id set) of `search --json` output.
pub fn neighbour_sets(json_lines: &str) -> Vec<(String, Vec<String>)> {
    json_lines
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let names = v["neighbours"].as_array().unwrap().iter();
            let names = names
                .map(|n| n["name"].as_str().unwrap().to_string())
                .collect();
            (v["query"].as_str().unwrap().to_string(), names)
        })
        .collect()
}

/// Predicted labels and their accuracy of `classify --json` output against `truth`.
pub fn predictions(json_lines: &str, truth: &[String]) -> (Vec<String>, f64) {
    let labels: Vec<String> = json_lines
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["label"]
                .as_str()
                .unwrap()
                .into()
        })
        .collect();
    let right = labels.iter().zip(truth).filter(|(p, t)| p == t).count();
    (labels, right as f64 / truth.len() as f64)
}
