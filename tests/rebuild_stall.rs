//! Issue 15, item 1: a graph rebuild never stalls the server. A served 10,000-record collection
//! of real 70 bp promoters (GUE prom_core_all) takes 1,800 more records over HTTP in batches of
//! 100, which pushes the exactly searched tail past the rebuild threshold; meanwhile one client
//! searches one sequence at a time. No search may fail or take 2 s or more, searches must run
//! while the rebuild is in progress, and the rebuilt graph must end up covering the new records.
//! Needs the shared datasets, so ignored by a plain `cargo test`; `.ci/run` includes it.

#[path = "common/http.rs"]
mod client;
mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use client::{Conn, Server};
use serde_json::{json, Value};

const INDEXED: usize = 10_000;
const INSERTED: usize = 1_800;
const BATCH: usize = 100;
const MAX_LATENCY: Duration = Duration::from_secs(2);
const SETTLE_TIMEOUT: Duration = Duration::from_secs(180);

/// `(sequence, label)` rows of a GUE `sequence,label` CSV, first occurrence of each pair only
/// (the store keys records by sequence and label, so a repeat would not be stored again).
fn gue_rows(relative: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(common::dataset(relative)).unwrap();
    let mut seen = HashSet::new();
    text.lines()
        .skip(1)
        .filter_map(|line| line.split_once(','))
        .map(|(s, l)| (s.trim().to_string(), l.trim().to_string()))
        .filter(|row| seen.insert(row.clone()))
        .collect()
}

/// The collection's detail, `GET /v1/collections/rs`.
fn detail(server: &Server) -> Value {
    let r = server.get("/v1/collections/rs");
    assert_eq!(r.status, 200, "collection detail: {}", r.text());
    r.json()
}

fn count(v: &Value, field: &str) -> usize {
    v.as_u64()
        .unwrap_or_else(|| panic!("{field} is not a count: {v}")) as usize
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn searches_never_stall_while_inserts_trigger_a_graph_rebuild() {
    let started = Instant::now();
    let rows = gue_rows("gue/prom/prom_core_all/train.csv");
    assert!(rows.len() >= INDEXED + INSERTED, "only {} rows", rows.len());
    let queries: Vec<String> = gue_rows("gue/prom/prom_core_all/dev.csv")
        .into_iter()
        .take(500)
        .map(|(s, _)| s)
        .collect();

    // Index the first 10,000 with the CLI (composition embedder), into a temporary folder.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("first.csv");
    let mut text = String::from("sequence,label\n");
    for (s, l) in &rows[..INDEXED] {
        text.push_str(&format!("{s},{l}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let path = dir.path().join("rs.redb");
    let (path_s, csv_s) = (path.to_str().unwrap(), csv.to_str().unwrap());
    common::ok_in(
        dir.path(),
        &[
            "index",
            "--collection",
            path_s,
            "--input",
            csv_s,
            "--no-train",
        ],
    );
    let indexed_at = started.elapsed();

    let server = Server::start(dir.path(), &["--collection", path_s], &[]);
    let before = detail(&server);
    assert_eq!(count(&before["records"], "records"), INDEXED, "{before}");
    assert_eq!(count(&before["graph"]["tail"], "tail"), 0, "{before}");

    let rebuilding = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));

    // One client searches one sequence at a time until told to stop; it records each latency
    // and whether the rebuild was in progress both when the search was sent and answered.
    let searcher = {
        let (addr, rebuilding, stop) = (server.addr.clone(), rebuilding.clone(), stop.clone());
        thread::spawn(move || {
            let mut conn = Conn::connect(&addr).unwrap();
            let (mut latencies, mut during, mut failures) = (Vec::new(), 0usize, Vec::new());
            for q in queries.iter().cycle() {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                let body = json!({"sequences": [q], "k": 10}).to_string();
                let was_rebuilding = rebuilding.load(Ordering::Acquire);
                let sent = Instant::now();
                let r = conn.send("POST", "/v1/collections/rs/search", &[], body.as_bytes());
                latencies.push(sent.elapsed());
                match r {
                    Ok(r) if r.status == 200 => {
                        let n = r.json()["results"][0]["neighbours"]
                            .as_array()
                            .map(Vec::len);
                        if n != Some(10) {
                            failures.push(format!("{n:?} neighbours instead of 10"));
                        }
                    }
                    Ok(r) => failures.push(format!("status {}: {}", r.status, r.text())),
                    Err(e) => {
                        failures.push(format!("transport error: {e}"));
                        conn = Conn::connect(&addr).unwrap();
                    }
                }
                if was_rebuilding && rebuilding.load(Ordering::Acquire) {
                    during += 1;
                }
            }
            (latencies, during, failures)
        })
    };

    // Another inserts the next 1,800 rows in batches of 100, each acknowledged durably.
    let mut inserter = Some({
        let addr = server.addr.clone();
        let new: Vec<(String, String)> = rows[INDEXED..INDEXED + INSERTED].to_vec();
        thread::spawn(move || {
            let mut conn = Conn::connect(&addr).unwrap();
            let mut slowest = Duration::ZERO;
            for (b, chunk) in new.chunks(BATCH).enumerate() {
                let records: Vec<Value> = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, (s, l))| {
                        let name = format!("new{}", b * BATCH + i);
                        json!({"name": name, "sequence": s, "label": l})
                    })
                    .collect();
                let body = json!({ "records": records }).to_string();
                let sent = Instant::now();
                let r = conn
                    .send("POST", "/v1/collections/rs/records", &[], body.as_bytes())
                    .unwrap();
                slowest = slowest.max(sent.elapsed());
                assert_eq!(r.status, 200, "insert batch {b}: {}", r.text());
                let ids = r.json()["ids"].as_array().unwrap().clone();
                assert!(
                    ids.len() == chunk.len() && ids.iter().all(Value::is_u64),
                    "batch {b}: every record is new and gets an id: {ids:?}"
                );
            }
            slowest
        })
    });
    let mut insert_slowest = None;

    // Watch the graph state until the inserts are done and the rebuild has been swapped in.
    let (mut saw_rebuild, settle_start) = (false, Instant::now());
    let last = loop {
        if inserter.as_ref().is_some_and(|h| h.is_finished()) {
            let joined = inserter.take().unwrap().join();
            insert_slowest = Some(joined.unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        let d = detail(&server);
        let now_rebuilding = d["graph"]["rebuilding"]
            .as_bool()
            .expect("graph.rebuilding");
        rebuilding.store(now_rebuilding, Ordering::Release);
        saw_rebuild |= now_rebuilding;
        let (nodes, tail) = (
            count(&d["graph"]["nodes"], "nodes"),
            count(&d["graph"]["tail"], "tail"),
        );
        let settled = insert_slowest.is_some()
            && count(&d["records"], "records") == INDEXED + INSERTED
            && !now_rebuilding
            && nodes > INDEXED
            && tail < 1_000;
        if settled {
            break d;
        }
        assert!(
            settle_start.elapsed() < SETTLE_TIMEOUT,
            "the rebuilt graph was not swapped in within {SETTLE_TIMEOUT:?}: {d}"
        );
        thread::sleep(Duration::from_millis(50));
    };
    stop.store(true, Ordering::Release);
    let (mut latencies, during, failures) = searcher.join().expect("the searcher");

    latencies.sort();
    let max = *latencies.last().unwrap();
    eprintln!(
        "rebuild_stall: indexed {INDEXED} in {indexed_at:.1?}; {} searches, {during} during the \
         rebuild, max {max:.1?}, p99 {:.1?}, p50 {:.1?}; slowest insert batch {:.1?}; \
         graph {} nodes + tail {}; total {:.1?}",
        latencies.len(),
        percentile(&latencies, 0.99),
        percentile(&latencies, 0.50),
        insert_slowest.unwrap(),
        last["graph"]["nodes"],
        last["graph"]["tail"],
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} searches failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(
        max < MAX_LATENCY,
        "a search took {max:?} (limit {MAX_LATENCY:?})"
    );
    // How many searches overlapped the rebuild is reported, not asserted: since the graph
    // extends in place, inserting this tail takes about 0.1 s, and polling the rebuild flag
    // saw anywhere from 0 to 610 searches inside it (2026-12-06). That a write arriving
    // during a long build neither waits for it nor queues searches behind it is asserted by
    // the unit test in `src/server/state_tests.rs`.
    eprintln!("rebuild seen in progress: {saw_rebuild}; searches during it: {during}");
    assert_eq!(
        count(&last["records"], "records"),
        INDEXED + INSERTED,
        "{last}"
    );
    assert_eq!(
        count(&last["graph"]["nodes"], "nodes") + count(&last["graph"]["tail"], "tail"),
        INDEXED + INSERTED,
        "every record is in the graph or the tail: {last}"
    );
    assert!(server.stop().success());
}
