//! Load test of `POST /v1/collections/{name}/search` against in-process search, k = 10
//! queries by vector. Prints one JSON object per mode. Driven by `benches/http_load.sh`,
//! which pins the server to one core and this client to another.
//!
//!   cargo bench --bench http_load -- queries   --collection C --input test.csv --n 2000 --out bodies.jsonl
//!   cargo bench --bench http_load -- inprocess --collection C --bodies bodies.jsonl --seconds 10
//!   cargo bench --bench http_load -- load      --addr 127.0.0.1:7700 --name C --bodies bodies.jsonl
//!                                              --connections 4 --seconds 20 [--warmup 2]
//!
//! `queries` embeds held-out sequences with the collection's embedder and writes one search
//! body per line (`{"vectors":[[...]],"k":10}`). `inprocess` opens the collection read-only
//! and runs `engine::search_vectors` (the very call the server makes, names included) on one
//! thread; `cpu_qps` counts queries per second of CPU time, which contention from other
//! processes does not change. `load` keeps `--connections` keep-alive connections busy, one thread each.

#[path = "../tests/common/http.rs"]
mod client;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use genovec::engine;
use genovec::seq::{self, ReadOptions};
use serde_json::json;

const K: usize = 10;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (mode, flags) = parse(&args);
    match mode.as_str() {
        "queries" => queries(&flags),
        "inprocess" => inprocess(&flags),
        "load" => load(&flags),
        // `cargo bench` with no arguments runs every bench: this one needs the script.
        _ => eprintln!("http_load: run benches/http_load.sh (modes: queries, inprocess, load)"),
    }
}

fn parse(args: &[String]) -> (String, HashMap<String, String>) {
    let mode = args.first().cloned().unwrap_or_default();
    let flags = args[1.min(args.len())..]
        .chunks(2)
        .filter_map(|p| Some((p[0].strip_prefix("--")?.to_string(), p.get(1)?.clone())))
        .collect();
    (mode, flags)
}

fn flag<T: std::str::FromStr>(
    flags: &HashMap<String, String>,
    name: &str,
    default: Option<T>,
) -> T {
    match flags.get(name) {
        Some(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("--{name} {v:?} is not valid")),
        None => default.unwrap_or_else(|| panic!("--{name} is required")),
    }
}

fn queries(flags: &HashMap<String, String>) {
    let collection = PathBuf::from(flag::<String>(flags, "collection", None));
    let input = PathBuf::from(flag::<String>(flags, "input", None));
    let n: usize = flag(flags, "n", Some(2000));
    let (collection, embedder) =
        engine::open_for_queries(&collection).expect("open the collection");
    drop(collection);
    let records = seq::read_all(&[input], &ReadOptions::default()).expect("read the queries");
    let records = &records[..n.min(records.len())];
    let vectors = engine::embed_queries(embedder.as_ref(), records).expect("embed");
    let lines: Vec<String> = vectors
        .iter()
        .map(|v| json!({"vectors": [v], "k": K}).to_string())
        .collect();
    std::fs::write(flag::<String>(flags, "out", None), lines.join("\n") + "\n")
        .expect("write bodies");
    eprintln!("wrote {} search bodies", lines.len());
}

fn read_bodies(flags: &HashMap<String, String>) -> Vec<String> {
    let text = std::fs::read_to_string(flag::<String>(flags, "bodies", None)).expect("read bodies");
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// p50 and p99 in milliseconds.
fn percentiles(latencies: &mut [Duration]) -> (f64, f64) {
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    (at(0.50).as_secs_f64() * 1e3, at(0.99).as_secs_f64() * 1e3)
}

fn inprocess(flags: &HashMap<String, String>) {
    let path = PathBuf::from(flag::<String>(flags, "collection", None));
    let seconds: f64 = flag(flags, "seconds", Some(10.0));
    // `--open writer` opens the file as the server does; `reader` as `genovec search` does.
    let collection = match flag::<String>(flags, "open", Some("writer".into())).as_str() {
        "reader" => genovec::store::Collection::open_reader(&path),
        _ => genovec::store::Collection::open_writer(&path),
    }
    .expect("open the collection");
    let vectors: Vec<Vec<f32>> = read_bodies(flags)
        .iter()
        .map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap()["vectors"][0].clone())
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    let search = |i: usize| {
        engine::search_vectors(
            &collection,
            &vectors[i % vectors.len()..][..1],
            K,
            None,
            &Default::default(),
        )
        .unwrap()
    };
    (0..vectors.len().min(500)).for_each(|i| drop(search(i)));
    let mut latencies = Vec::new();
    let cpu_before = thread_cpu_seconds();
    let started = Instant::now();
    while started.elapsed().as_secs_f64() < seconds {
        let t = Instant::now();
        let found = search(latencies.len());
        latencies.push(t.elapsed());
        assert_eq!(found[0].len(), K);
    }
    let qps = latencies.len() as f64 / started.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let cpu_qps = cpu.map(|c| latencies.len() as f64 / c);
    let (p50, p99) = percentiles(&mut latencies);
    let report = json!({"mode": "inprocess", "records": collection.len(), "queries": latencies.len(),
        "qps": qps, "cpu_qps": cpu_qps, "p50_ms": p50, "p99_ms": p99});
    println!("{report}");
}

/// Time this thread has run on a CPU (Linux `schedstat`): unlike wall time it does not count
/// the time other processes on a shared machine took the core.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(text.split_whitespace().next()?.parse::<f64>().ok()? / 1e9)
}

/// One connection's loop: (latencies, errors).
fn drive(
    addr: &str,
    path: &str,
    bodies: &[String],
    offset: usize,
    warm_until: Instant,
    until: Instant,
) -> (Vec<Duration>, usize) {
    let mut conn = client::Conn::connect(addr).expect("connect");
    let (mut latencies, mut errors) = (Vec::new(), 0);
    let mut i = offset;
    loop {
        let t = Instant::now();
        if t >= until {
            return (latencies, errors);
        }
        let ok = match conn.send("POST", path, &[], bodies[i % bodies.len()].as_bytes()) {
            Ok(r) => r.status == 200,
            Err(_) => {
                conn = client::Conn::connect(addr).expect("reconnect");
                false
            }
        };
        if t >= warm_until {
            latencies.push(t.elapsed());
            errors += usize::from(!ok);
        }
        i += 1;
    }
}

fn load(flags: &HashMap<String, String>) {
    let addr: String = flag(flags, "addr", None);
    let name: String = flag(flags, "name", None);
    let connections: usize = flag(flags, "connections", Some(4));
    let seconds: f64 = flag(flags, "seconds", Some(20.0));
    let warmup: f64 = flag(flags, "warmup", Some(2.0));
    let bodies = Arc::new(read_bodies(flags));
    let path = Arc::new(format!("/v1/collections/{name}/search"));
    let warm_until = Instant::now() + Duration::from_secs_f64(warmup);
    let until = warm_until + Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..connections)
        .map(|c| {
            let (addr, path, bodies) = (addr.clone(), Arc::clone(&path), Arc::clone(&bodies));
            thread::spawn(move || drive(&addr, &path, &bodies, c * 997, warm_until, until))
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for w in workers {
        let (l, e) = w.join().unwrap();
        latencies.extend(l);
        errors += e;
    }
    let (p50, p99) = percentiles(&mut latencies);
    let report = json!({"mode": "load", "connections": connections, "requests": latencies.len(),
        "rps": latencies.len() as f64 / seconds, "p50_ms": p50, "p99_ms": p99, "errors": errors});
    println!("{report}");
}
