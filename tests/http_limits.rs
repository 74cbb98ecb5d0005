//! HTTP input limits with the real binary: vectors that cannot be compared are 422, and an
//! empty API key is refused at start-up instead of leaving the write routes open.

#[path = "common/http.rs"]
mod client;

use client::{expect_error, Server};
use genovec::engine::{self, IndexOptions};
use serde_json::json;

/// A small seeded collection at `dir/lim.redb`.
fn collection(dir: &std::path::Path, seed: u64) -> std::path::PathBuf {
    let path = dir.join("lim.redb");
    let records = genovec::demo::generate(seed, 10);
    engine::index_records(&path, &records, &IndexOptions::default(), &mut |_, _, _| {}).unwrap();
    path
}

#[test]
fn zero_query_vectors_are_422_and_out_of_range_numbers_400() {
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path(), 31);
    let server = Server::start(dir.path(), &["--collection", path.to_str().unwrap()], &[]);
    let mut good = vec![0.0f64; 708];
    good[0] = 1.0;
    let zero = vec![0.0f64; 708];
    let search = "/v1/collections/lim/search";
    let ok = server.post(search, &json!({"vectors": [good.clone()]}));
    assert_eq!(ok.status, 200, "{}", ok.text());
    let msg = expect_error(
        &server.post(search, &json!({"vectors": [good.clone(), zero]})),
        422,
        "invalid_vector",
    );
    assert!(msg.contains("vectors[1]") && msg.contains("zeros"), "{msg}");
    // JSON has no NaN or infinity, and 1e39 does not fit an f32: a clear 400, never a query.
    let body = format!("{{\"vectors\": [[1e39{}]]}}", ", 0.5".repeat(707));
    let json_type = [("content-type", "application/json")];
    let r = server.post_raw(search, &json_type, body.as_bytes());
    let msg = expect_error(&r, 400, "malformed_json");
    assert!(msg.contains("out of range"), "{msg}");
    assert!(server.stop().success());
}

#[test]
fn an_empty_api_key_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path(), 32);
    for (args, env) in [
        (vec!["--api-key", ""], vec![]),
        (vec![], vec![("GENOVEC_API_KEY", " ")]),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_genovec"))
            .args([
                "serve",
                "--collection",
                path.to_str().unwrap(),
                "--addr",
                "127.0.0.1:0",
            ])
            .args(&args)
            .envs(env)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("API key") && stderr.contains("empty"),
            "{stderr}"
        );
    }
}

#[test]
fn slow_headers_are_cut_off_and_connections_are_capped() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let path = collection(dir.path(), 33);
    let args = [
        "--collection",
        path.to_str().unwrap(),
        "--max-connections",
        "1",
        "--header-timeout-ms",
        "500",
    ];
    let server = Server::start(dir.path(), &args, &[]);
    // A client that never finishes its headers holds the only connection slot...
    let mut slow = std::net::TcpStream::connect(&server.addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // ...so the next request waits until the header timeout closes it.
    let started = Instant::now();
    assert_eq!(server.get("/healthz").status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let text = String::from_utf8_lossy(&rest);
    assert!(
        !text.contains("200 OK"),
        "the slow request was not served: {text}"
    );
    assert!(server.stop().success());
}
