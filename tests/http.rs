//! `genovec serve` end to end: the real binary on a free loopback port, a real redb file, and
//! an HTTP/1.1 client over TCP. Every route, every error class, concurrent searches during
//! inserts, and acknowledged writes surviving SIGTERM and a restart.

#[path = "common/http.rs"]
mod client;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use client::{expect_error, request, Conn, Server};
use genovec::engine::{self, IndexOptions};
use genovec::seq::SeqRecord;
use serde_json::{json, Value};

/// Indexes seeded demo records (three classes) into `dir/NAME.redb`.
fn collection(dir: &Path, name: &str, per_class: usize) -> (PathBuf, Vec<SeqRecord>) {
    let path = dir.join(format!("{name}.redb"));
    let records = genovec::demo::generate(7, per_class);
    engine::index_records(&path, &records, &IndexOptions::default(), &mut |_, _, _| {}).unwrap();
    (path, records)
}

fn embed(seqs: &[&[u8]]) -> Vec<Vec<f32>> {
    genovec::embed::from_spec("composition")
        .unwrap()
        .embed_batch(seqs)
        .unwrap()
}

fn seq_of(r: &SeqRecord) -> String {
    String::from_utf8(r.seq.as_bytes().to_vec()).unwrap()
}

#[test]
fn read_routes_answer_the_contract_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let (path, records) = collection(dir.path(), "demo", 40);
    let server = Server::start(dir.path(), &["--collection", path.to_str().unwrap()], &[]);

    assert_eq!(server.get("/healthz").json(), json!({"status": "ok"}));
    let list = server.get("/v1/collections").json();
    assert_eq!(
        list,
        json!({"collections": [{"name": "demo", "records": 120, "dimension": 708, "embedder": "composition"}]})
    );
    let info = server.get("/v1/collections/demo").json();
    assert_eq!(
        info["labels"],
        json!({"background": 40, "cpg_island": 40, "tata_promoter": 40})
    );
    assert_eq!(
        (info["records"].as_u64(), info["dimension"].as_u64()),
        (Some(120), Some(708))
    );
    assert_eq!(
        info["graph"]["nodes"].as_u64().unwrap() + info["graph"]["tail"].as_u64().unwrap(),
        120
    );
    // As `genovec info --json` says it; 120 records are too few to search by projection.
    let method = info["graph"]["search"]["method"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(["graph", "exact"].contains(&method.as_str()), "{info}");

    // Two stored sequences come back as their own nearest neighbours, in query order.
    let (a, b) = (&records[3], &records[100]);
    let found = server
        .post(
            "/v1/collections/demo/search",
            &json!({"sequences": [seq_of(a), seq_of(b)]}),
        )
        .json();
    let results = found["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for (result, record) in results.iter().zip([a, b]) {
        let neighbours = result["neighbours"].as_array().unwrap();
        assert_eq!(neighbours.len(), 10, "default k is 10");
        assert_eq!(neighbours[0]["name"], record.name.as_str());
        assert_eq!(neighbours[0]["label"], record.label.as_deref().unwrap());
        assert!(neighbours[0]["distance"].as_f64().unwrap() < 1e-4);
        assert!(neighbours[0]["id"].is_u64());
    }

    // By vector, with k, ef and a label filter.
    let vector = embed(&[a.seq.as_bytes()]).remove(0);
    let body = json!({"vectors": [vector], "k": 3, "ef": 100, "labels": ["cpg_island"]});
    let found = server.post("/v1/collections/demo/search", &body).json();
    let neighbours = found["results"][0]["neighbours"].as_array().unwrap();
    assert_eq!(neighbours.len(), 3);
    assert!(
        neighbours.iter().all(|n| n["label"] == "cpg_island"),
        "{found}"
    );

    let classified = server
        .post(
            "/v1/collections/demo/classify",
            &json!({"sequences": [seq_of(b)], "k": 5}),
        )
        .json();
    let result = &classified["results"][0];
    assert_eq!(result["label"], b.label.as_deref().unwrap());
    let p: f64 = result["probabilities"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((p - 1.0).abs() < 1e-6, "{result}");
    assert_eq!(
        result["confidence"],
        result["probabilities"][b.label.as_deref().unwrap()]
    );
    assert_eq!(result["neighbours"].as_array().unwrap().len(), 5);
    assert!(server.stop().success());
}

#[test]
fn inserts_are_searchable_duplicates_are_skipped_and_deletes_take_effect() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = collection(dir.path(), "c", 40);
    let server = Server::start(dir.path(), &["--collection", path.to_str().unwrap()], &[]);
    let new = genovec::demo::generate(99, 1);
    let body = json!({"records": new.iter().map(|r| json!({"name": r.name, "sequence": seq_of(r), "label": "fresh"})).collect::<Vec<_>>()});
    let inserted = server.post("/v1/collections/c/records", &body).json();
    let ids: Vec<u64> = inserted["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!((ids.len(), inserted["records"].as_u64()), (3, Some(123)));
    let again = server.post("/v1/collections/c/records", &body).json();
    assert_eq!(
        again["ids"],
        json!([null, null, null]),
        "the same (label, sequence) is stored once"
    );

    let query = json!({"sequences": [seq_of(&new[0])], "k": 1});
    let hit =
        &server.post("/v1/collections/c/search", &query).json()["results"][0]["neighbours"][0];
    assert_eq!(
        (hit["id"].as_u64(), &hit["label"]),
        (Some(ids[0]), &json!("fresh"))
    );
    // A label added over HTTP is classified by the vote (the stored linear model predates it).
    let classified = server.post("/v1/collections/c/classify", &query).json();
    assert_eq!(classified["results"][0]["label"], "fresh", "{classified}");

    assert_eq!(
        server
            .delete(&format!("/v1/collections/c/records/{}", ids[0]), &[])
            .status,
        204
    );
    let gone = server.delete(&format!("/v1/collections/c/records/{}", ids[0]), &[]);
    expect_error(&gone, 404, "unknown_id");
    let hit =
        &server.post("/v1/collections/c/search", &query).json()["results"][0]["neighbours"][0];
    assert_ne!(hit["id"].as_u64(), Some(ids[0]));
    let info = server.get("/v1/collections/c").json();
    assert_eq!(
        (
            info["records"].as_u64(),
            info["graph"]["tombstones"].as_u64()
        ),
        (Some(122), Some(1))
    );
    assert_eq!(info["labels"]["fresh"], 2);
    assert!(server.stop().success());
}

/// A server with an API key, a 20 kB body limit and a batch limit of 5.
fn guarded(dir: &Path) -> (Server, Vec<SeqRecord>) {
    let (path, records) = collection(dir, "c", 40);
    let path = path.to_str().unwrap();
    let args = [
        "--collection",
        path,
        "--api-key",
        "s3cret",
        "--max-body-bytes",
        "20000",
        "--max-batch",
        "5",
    ];
    (Server::start(dir, &args, &[]), records)
}

const SEARCH: &str = "/v1/collections/c/search";
const RECORDS: &str = "/v1/collections/c/records";
const AUTH: [(&str, &str); 1] = [("authorization", "Bearer s3cret")];

#[test]
fn malformed_json_and_invalid_requests_are_400() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = guarded(dir.path());
    expect_error(
        &server.post_raw(SEARCH, &[], b"{\"sequences\": [\"ACGT\""),
        400,
        "malformed_json",
    );
    expect_error(
        &server.post_raw(SEARCH, &[], b"not json"),
        400,
        "malformed_json",
    );
    expect_error(
        &server.post(SEARCH, &json!({"sequences": "ACGT"})),
        400,
        "invalid_request",
    );
    let typo = expect_error(
        &server.post(SEARCH, &json!({"sequence": ["ACGT"]})),
        400,
        "invalid_request",
    );
    assert!(typo.contains("sequence"), "{typo}");
    let both = json!({"sequences": ["ACGT"], "vectors": [[1.0]]});
    expect_error(&server.post(SEARCH, &both), 400, "invalid_request");
    expect_error(
        &server.post(SEARCH, &json!({"sequences": ["ACGT"], "k": 0})),
        400,
        "invalid_argument",
    );
    let filter = json!({"sequences": ["ACGT"], "labels": ["nope"]});
    let label = expect_error(&server.post(SEARCH, &filter), 400, "invalid_argument");
    assert!(
        label.contains("nope") && label.contains("cpg_island"),
        "{label}"
    );
    let put = request(&server.addr, "PUT", "/healthz", &[], b"").unwrap();
    expect_error(&put, 405, "method_not_allowed");
    assert!(server.stop().success());
}

#[test]
fn write_routes_need_the_key_and_reads_stay_open() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = guarded(dir.path());
    let body =
        json!({"records": [{"name": "n1", "sequence": "ACGTACGT", "label": "x"}]}).to_string();
    let no_key = server.post_raw(RECORDS, &[], body.as_bytes());
    expect_error(&no_key, 401, "unauthorized");
    assert_eq!(no_key.header("www-authenticate"), Some("Bearer"));
    let wrong = [("authorization", "Bearer wrong")];
    expect_error(
        &server.post_raw(RECORDS, &wrong, body.as_bytes()),
        401,
        "unauthorized",
    );
    expect_error(
        &server.delete("/v1/collections/c/records/1", &[]),
        401,
        "unauthorized",
    );
    assert_eq!(server.post_raw(RECORDS, &AUTH, body.as_bytes()).status, 200);
    assert_eq!(
        server.post(SEARCH, &json!({"sequences": ["ACGT"]})).status,
        200
    );
    assert_eq!(
        server.get("/v1/collections/c").json()["records"],
        121,
        "only the keyed insert landed"
    );
    assert_eq!(
        server.delete("/v1/collections/c/records/1", &AUTH).status,
        204
    );
    assert!(server.stop().success());
}

#[test]
fn unknown_collections_ids_and_routes_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = guarded(dir.path());
    let other = server.post("/v1/collections/zz/search", &json!({"sequences": ["ACGT"]}));
    let message = expect_error(&other, 404, "unknown_collection");
    assert!(
        message.contains("zz") && message.contains("served: c"),
        "{message}"
    );
    expect_error(&server.get("/v1/collections/zz"), 404, "unknown_collection");
    expect_error(
        &server.delete("/v1/collections/c/records/987654", &AUTH),
        404,
        "unknown_id",
    );
    expect_error(
        &server.delete("/v1/collections/c/records/abc", &AUTH),
        404,
        "unknown_id",
    );
    expect_error(&server.get("/v2/nothing"), 404, "not_found");
    assert!(server.stop().success());
}

#[test]
fn oversize_bodies_and_batches_are_413() {
    let dir = tempfile::tempdir().unwrap();
    let (server, records) = guarded(dir.path());
    let long = "A".repeat(25_000);
    expect_error(
        &server.post(SEARCH, &json!({"sequences": [long]})),
        413,
        "body_too_large",
    );
    let six: Vec<String> = records.iter().take(6).map(seq_of).collect();
    let batch = expect_error(
        &server.post(SEARCH, &json!({"sequences": six})),
        413,
        "batch_too_large",
    );
    assert!(batch.contains('6') && batch.contains('5'), "{batch}");
    let six: Vec<Value> = records
        .iter()
        .take(6)
        .map(|r| json!({"sequence": seq_of(r), "label": "x"}))
        .collect();
    let insert = server.post_raw(
        RECORDS,
        &AUTH,
        json!({"records": six}).to_string().as_bytes(),
    );
    expect_error(&insert, 413, "batch_too_large");
    assert!(server.stop().success());
}

#[test]
fn bad_letters_and_wrong_dimensions_are_422_and_name_the_culprit() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = guarded(dir.path());
    let letters = server.post(SEARCH, &json!({"sequences": ["ACGT", "ACGUT"]}));
    let bad = expect_error(&letters, 422, "bad_sequence");
    assert!(
        bad.contains("sequences[1]") && bad.contains("'U'") && bad.contains("position 4"),
        "{bad}"
    );
    let records = json!({"records": [
        {"name": "ok", "sequence": "ACGT", "label": "x"},
        {"name": "r2", "sequence": "AC-GT", "label": "x"},
    ]});
    let insert = server.post_raw(RECORDS, &AUTH, records.to_string().as_bytes());
    let bad = expect_error(&insert, 422, "bad_sequence");
    assert!(bad.contains("records[1]") && bad.contains("r2"), "{bad}");
    let vector = embed(&[b"ACGTACGT"]).remove(0);
    let vectors = server.post(SEARCH, &json!({"vectors": [vector, [0.5, 0.5]]}));
    let dims = expect_error(&vectors, 422, "wrong_dimension");
    assert!(
        dims.contains("vectors[1]") && dims.contains("708"),
        "{dims}"
    );
    expect_error(
        &server.post(SEARCH, &json!({"sequences": ["  "]})),
        422,
        "empty_sequence",
    );
    let unlabelled = json!({"records": [{"sequence": "ACGT", "label": ""}]}).to_string();
    expect_error(
        &server.post_raw(RECORDS, &AUTH, unlabelled.as_bytes()),
        422,
        "missing_label",
    );
    assert_eq!(
        server.get("/v1/collections/c").json()["records"],
        120,
        "nothing was stored"
    );
    assert!(server.stop().success());
}

#[test]
fn the_key_can_come_from_the_environment_and_guard_reads_too() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = collection(dir.path(), "c", 40);
    let args = ["--collection", path.to_str().unwrap(), "--api-key-reads"];
    let server = Server::start(dir.path(), &args, &[("GENOVEC_API_KEY", "from-env")]);
    let body = json!({"sequences": ["ACGTACGT"]}).to_string();
    let search = "/v1/collections/c/search";
    expect_error(
        &server.post_raw(search, &[], body.as_bytes()),
        401,
        "unauthorized",
    );
    expect_error(&server.get("/v1/collections"), 401, "unauthorized");
    expect_error(&server.get("/metrics"), 401, "unauthorized");
    assert_eq!(
        server
            .post_raw(
                search,
                &[("authorization", "Bearer from-env")],
                body.as_bytes()
            )
            .status,
        200
    );
    assert_eq!(server.get("/healthz").status, 200, "health stays open");
    assert_eq!(
        server.get("/openapi.json").status,
        200,
        "the API description stays open"
    );
    assert!(server.stop().success());
}

#[test]
fn a_request_over_the_timeout_answers_503_in_the_error_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = collection(dir.path(), "c", 40);
    let args = [
        "--collection",
        path.to_str().unwrap(),
        "--timeout-ms",
        "1",
        "--max-batch",
        "100000",
    ];
    let server = Server::start(dir.path(), &args, &[]);
    let many: Vec<String> = genovec::demo::generate(3, 2000)
        .iter()
        .map(seq_of)
        .collect();
    expect_error(
        &server.post("/v1/collections/c/classify", &json!({"sequences": many})),
        503,
        "timeout",
    );
    assert_eq!(server.get("/healthz").status, 200);
    assert!(server.stop().success());
}

#[test]
fn collections_are_served_by_file_stem_with_metrics_and_an_openapi_document() {
    let dir = tempfile::tempdir().unwrap();
    let (one, _) = collection(dir.path(), "one", 10);
    let (two, _) = collection(dir.path(), "two", 20);
    let args = [
        "--collection",
        one.to_str().unwrap(),
        "--collection",
        two.to_str().unwrap(),
    ];
    let server = Server::start(dir.path(), &args, &[]);
    let names: Vec<Value> = server.get("/v1/collections").json()["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("one"), json!("two")]);
    assert_eq!(
        server
            .post(
                "/v1/collections/two/search",
                &json!({"sequences": ["ACGTTGCA"]})
            )
            .status,
        200
    );
    assert_eq!(server.get("/nope").status, 404);

    let metrics = server.get("/metrics");
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = metrics.text();
    for line in [
        "genovec_http_requests_total{route=\"/v1/collections\",method=\"GET\",status=\"200\"} 1",
        "genovec_http_requests_total{route=\"/v1/collections/{name}/search\",method=\"POST\",status=\"200\"} 1",
        "genovec_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1",
        "genovec_http_request_duration_seconds_count{route=\"/v1/collections/{name}/search\"} 1",
        "genovec_collection_records{collection=\"one\"} 30",
        "genovec_collection_records{collection=\"two\"} 60",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("genovec_http_request_duration_seconds_bucket{route=\"/v1/collections/{name}/search\",le=\"+Inf\"} 1"));

    let doc = server.get("/openapi.json").json();
    let routes = [
        ("/healthz", "get"),
        ("/v1/collections", "get"),
        ("/v1/collections/{name}", "get"),
        ("/v1/collections/{name}/search", "post"),
        ("/v1/collections/{name}/classify", "post"),
        ("/v1/collections/{name}/records", "post"),
        ("/v1/collections/{name}/records/{id}", "delete"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
    ];
    assert_eq!(
        doc["paths"].as_object().unwrap().len(),
        routes.len(),
        "{}",
        doc["paths"]
    );
    for (route, method) in routes {
        assert!(
            doc["paths"][route][method]["responses"]["200"].is_object()
                || doc["paths"][route][method]["responses"]["204"].is_object(),
            "{route} {method}"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for schema in [
        "SearchRequest",
        "SearchResponse",
        "ClassifyRequest",
        "ClassifyResponse",
        "InsertRequest",
        "InsertResponse",
        "ErrorBody",
    ] {
        assert!(schemas[schema].is_object(), "schema {schema}");
    }
    assert!(server.stop().success());
}

/// Batch `j` stores `BATCH` records with one sequence and `BATCH` labels, so a search for
/// that sequence finds, at distance 0, either none of them or all of them.
const BATCH: usize = 6;
const BATCHES: usize = 150;

fn batch_body(j: usize, seq: &str) -> String {
    let records: Vec<Value> = (0..BATCH)
        .map(|i| json!({"name": format!("b{j}_{i}"), "sequence": seq, "label": format!("w{i}")}))
        .collect();
    json!({ "records": records }).to_string()
}

/// Searches random batches' sequences until `stop`; returns how many searches it made and
/// how many of them found a whole batch.
fn search_until(
    addr: String,
    seqs: Arc<Vec<String>>,
    stop: Arc<AtomicBool>,
    seed: usize,
) -> (usize, usize) {
    let mut conn = Conn::connect(&addr).unwrap();
    let (mut n, mut whole) = (0, 0);
    while !stop.load(Ordering::Relaxed) {
        let j = (seed * 7919 + n * 104729) % seqs.len();
        let body = json!({"sequences": [seqs[j]], "k": BATCH + 4}).to_string();
        let r = conn
            .send("POST", "/v1/collections/c/search", &[], body.as_bytes())
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let exact = r.json()["results"][0]["neighbours"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["distance"].as_f64().unwrap() < 1e-4)
            .count();
        assert!(
            exact == 0 || exact == BATCH,
            "batch {j}: a search saw {exact} of its {BATCH} records"
        );
        n += 1;
        whole += usize::from(exact == BATCH);
    }
    (n, whole)
}

#[test]
fn concurrent_searches_see_whole_batches_and_acknowledged_writes_survive_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = collection(dir.path(), "c", 100);
    let args = ["--collection", path.to_str().unwrap()];
    let server = Server::start(dir.path(), &args, &[]);
    let seqs: Arc<Vec<String>> = Arc::new(
        genovec::demo::generate(1234, BATCHES.div_ceil(3))
            .iter()
            .take(BATCHES)
            .map(seq_of)
            .collect(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let searchers: Vec<_> = (0..3)
        .map(|s| {
            let (addr, seqs, stop) = (server.addr.clone(), Arc::clone(&seqs), Arc::clone(&stop));
            thread::spawn(move || search_until(addr, seqs, stop, s))
        })
        .collect();

    // The writer inserts batches until told to stop; SIGTERM arrives while it is writing.
    let acked = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (addr, seqs, acked) = (server.addr.clone(), Arc::clone(&seqs), Arc::clone(&acked));
        thread::spawn(move || {
            for (j, seq) in seqs.iter().enumerate() {
                let Ok(r) = request(
                    &addr,
                    "POST",
                    "/v1/collections/c/records",
                    &[],
                    batch_body(j, seq).as_bytes(),
                ) else {
                    return j;
                };
                assert_eq!(r.status, 200, "{}", r.text());
                let ids = r.json()["ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|id| id.is_u64())
                    .count();
                acked.fetch_add(ids, Ordering::SeqCst);
            }
            seqs.len()
        })
    };
    let started = Instant::now();
    while acked.load(Ordering::SeqCst) < BATCH * BATCHES / 2 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "inserts are too slow"
        );
        thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let (searched, whole) = searchers
        .into_iter()
        .map(|s| s.join().unwrap())
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert!(
        whole > 0 && whole < searched,
        "searches ran before and after batches landed ({whole} of {searched} found theirs)"
    );
    assert!(server.stop().success(), "graceful shutdown exits 0");
    let batches_sent = writer.join().unwrap();
    let acked = acked.load(Ordering::SeqCst);
    eprintln!("{searched} searches; {acked} records acknowledged in {batches_sent} batches before SIGTERM");

    let server = Server::start(dir.path(), &args, &[]);
    let records = server.get("/v1/collections/c").json()["records"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(
        records,
        300 + acked,
        "every acknowledged record, and nothing else, is stored"
    );
    assert!(server.stop().success());
}
