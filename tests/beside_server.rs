//! A served collection is not locked away (issue 15): the CLI's read commands work beside the
//! serving writer and see its last commit, and a write that fails on storage (a file-size
//! limit here, as a full disk would) leaves the server degraded, not broken: reads go on,
//! `/healthz` says so, and writes succeed again once space is back, without a restart.

#[path = "common/http.rs"]
mod client;
mod common;

use client::{expect_error, Server};
use common::{ok_in, write_demo_csv};
use serde_json::json;

fn served_collection(dir: &std::path::Path) -> String {
    write_demo_csv(&dir.join("train.csv"), 3, 50);
    ok_in(
        dir,
        &[
            "index",
            "--collection",
            "c.redb",
            "--input",
            "train.csv",
            "--no-train",
        ],
    );
    "c.redb".into()
}

fn records(seed: usize, n: usize, len: usize) -> serde_json::Value {
    let mut state = seed as u64 * 0x9E37_79B9_7F4A_7C15 + 1;
    let records: Vec<_> = (0..n)
        .map(|i| {
            let seq: String = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    b"ACGT"[(state >> 62) as usize] as char
                })
                .collect();
            json!({"name": format!("new{seed}_{i}"), "label": "background", "sequence": seq})
        })
        .collect();
    json!({ "records": records })
}

fn info_records(dir: &std::path::Path) -> u64 {
    let info = ok_in(dir, &["info", "--collection", "c.redb", "--json"]);
    serde_json::from_str::<serde_json::Value>(&info).unwrap()["records"]
        .as_u64()
        .unwrap()
}

#[test]
fn read_commands_work_beside_the_server_and_see_its_commits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = served_collection(d);
    let server = Server::start(d, &["--collection", &file, "--no-train"], &[]);
    assert_eq!(info_records(d), 150);
    let r = server.post("/v1/collections/c/records", &records(1, 20, 200));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(info_records(d), 170, "info sees the server's last commit");
    std::fs::write(
        d.join("q.fa"),
        ">q\nACGTACGTTTGACCATGACGATCGATCGATCAGCTAGCTAGCATCGAC\n",
    )
    .unwrap();
    let search = ok_in(
        d,
        &[
            "search",
            "--collection",
            "c.redb",
            "--input",
            "q.fa",
            "--json",
        ],
    );
    assert!(search.contains("neighbours"), "{search}");
    let classify = ok_in(
        d,
        &[
            "classify",
            "--collection",
            "c.redb",
            "--input",
            "q.fa",
            "--json",
        ],
    );
    assert!(classify.contains("\"label\""), "{classify}");
    ok_in(d, &["check", "--collection", "c.redb"]);
    // A second writer is still refused while the server writes.
    let out = common::run_in(d, &["compact", "--collection", "c.redb"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"));
    assert!(server.stop().success());
}

/// Sets the server's file-size limit (RLIMIT_FSIZE), in bytes.
fn limit_file_size(pid: u32, bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit reads `limit` and writes nothing (old limit pointer is null).
    let rc = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &limit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

#[test]
fn a_storage_error_degrades_the_server_until_a_write_succeeds_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = served_collection(d);
    let server = Server::start(d, &["--collection", &file, "--no-train"], &[]);
    let size = std::fs::metadata(d.join(&file)).unwrap().len();
    limit_file_size(server.pid(), size);
    // Grow the file until a write fails; what succeeded before is kept.
    let mut stored = 150;
    let mut failed = None;
    for batch in 0..40 {
        let r = server.post("/v1/collections/c/records", &records(batch, 100, 2000));
        if r.status == 200 {
            stored += 100;
        } else {
            failed = Some(expect_error(&r, 500, "storage_error"));
            break;
        }
    }
    let message = failed.expect("a write fails once the file may not grow");
    assert!(
        message.contains("c.redb"),
        "the error names the file: {message}"
    );
    let health = server.get("/healthz").json();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["degraded"][0]["name"], "c");
    assert!(health["degraded"][0]["error"]
        .as_str()
        .unwrap()
        .contains("c.redb"));
    let search = server.post(
        "/v1/collections/c/search",
        &json!({"sequences": ["ACGTACGTAGCATCGATCGACTGA"], "k": 3}),
    );
    assert_eq!(search.status, 200, "reads go on: {}", search.text());
    let again = server.post("/v1/collections/c/records", &records(90, 100, 2000));
    expect_error(&again, 500, "storage_error");

    limit_file_size(server.pid(), libc::RLIM_INFINITY);
    let r = server.post("/v1/collections/c/records", &records(91, 100, 2000));
    assert_eq!(
        r.status,
        200,
        "writes recover without a restart: {}",
        r.text()
    );
    stored += 100;
    assert_eq!(r.json()["records"], stored);
    assert_eq!(server.get("/healthz").json()["status"], "ok");
    assert!(server.stop().success());
    assert_eq!(
        info_records(d),
        stored,
        "every acknowledged write, nothing else"
    );
    ok_in(d, &["check", "--collection", "c.redb"]);
}
