//! Client ids over HTTP through the real binary: insert with string and integer ids, upsert,
//! fetch by id, scroll, count, delete by ids and by filter, and everything after a restart.

#[path = "common/http.rs"]
mod client;
mod common;

use std::collections::BTreeSet;

use client::{expect_error, Server};
use common::ok_in;
use serde_json::{json, Value};

const BASE: &str = "/v1/collections/c";

/// A sequence of `n` bases that differs from the others by its bit pattern.
fn seq(i: usize) -> String {
    (0..48)
        .map(|b| ["ACGT", "TGCA"][(i >> (b % 12)) & 1].as_bytes()[b % 4] as char)
        .collect()
}

fn insert(server: &Server, records: Value) -> Value {
    let r = server.post(&format!("{BASE}/records"), &json!({ "records": records }));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn get(server: &Server, path: &str) -> Value {
    let r = server.get(&format!("{BASE}{path}"));
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

/// The count of live records passing the `&where=...` in `query` (a scroll of no records).
fn count(server: &Server, query: &str) -> u64 {
    let answer = get(server, &format!("/records?count=true&limit=0{query}"));
    assert_eq!(answer["records"], json!([]));
    answer["count"].as_u64().unwrap()
}

/// `DELETE /v1/collections/c/records` with a JSON body.
fn delete_request(server: &Server, headers: &[(&str, &str)], body: &Value) -> client::Response {
    let body = body.to_string();
    let path = format!("{BASE}/records");
    client::request(&server.addr, "DELETE", &path, headers, body.as_bytes()).unwrap()
}

/// Every live record through scroll pages of `limit`: (internal id, client id) in order.
fn scroll_all(server: &Server, limit: usize) -> Vec<(u64, Value)> {
    let (mut out, mut after, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page = get(server, &format!("/records?limit={limit}{after}"));
        for r in page["records"].as_array().unwrap() {
            out.push((r["id"].as_u64().unwrap(), r["client_id"].clone()));
        }
        pages += 1;
        match page["next"].as_u64() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
        assert!(pages < 100, "scroll does not end");
    }
    out
}

fn delete(server: &Server, body: Value) -> Value {
    let r = delete_request(server, &[], &body);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Encodes a `where` filter for a query string.
fn where_query(filter: &Value) -> String {
    let text = filter.to_string();
    let encoded: String = text
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("&where={encoded}")
}

#[test]
fn client_ids_insert_upsert_fetch_scroll_count_delete_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::write_demo_csv(&d.join("seed.csv"), 5, 3);
    ok_in(d, &["index", "--collection", "c", "--input", "seed.csv"]);
    let seeded = 9;
    let server = Server::start(d, &["--collection", "c", "--no-train"], &[]);

    // Strings and integers, and "7" and 7 are different ids.
    let out = insert(
        &server,
        json!([
            {"id": "alpha", "sequence": seq(1), "label": "x", "metadata": {"k": 1}},
            {"id": 4242, "sequence": seq(2), "label": "y"},
            {"id": "7", "sequence": seq(3), "label": "x"},
            {"id": 7, "sequence": seq(4), "label": "y"},
        ]),
    );
    assert_eq!(out["client_ids"], json!(["alpha", 4242, "7", 7]));
    assert_eq!(out["replaced"], json!([null, null, null, null]));
    let ids: Vec<u64> = out["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let alpha = get(&server, "/records/alpha");
    assert_eq!(alpha["id"], ids[0]);
    assert_eq!(
        (&alpha["client_id"], &alpha["name"], &alpha["label"]),
        (&json!("alpha"), &json!("alpha"), &json!("x"))
    );
    assert_eq!(
        (alpha["sequence"].as_str().unwrap(), &alpha["metadata"]),
        (&seq(1)[..], &json!({"k": 1}))
    );
    assert_eq!(get(&server, "/records/4242")["client_id"], 4242);
    // A path is text: the string id "7" is found before the integer id 7.
    assert_eq!(get(&server, "/records/7")["id"], ids[2]);
    // An internal id still names its record; a record without a client id has null.
    let first = get(&server, "/records/1");
    assert_eq!(
        (&first["id"], &first["client_id"]),
        (&json!(1), &Value::Null)
    );
    expect_error(
        &server.get(&format!("{BASE}/records/nope")),
        404,
        "unknown_id",
    );

    // Upsert: same id, new sequence; the old record is gone, the count unchanged.
    let before = count(&server, "");
    let out = insert(
        &server,
        json!([{"id": "alpha", "sequence": seq(9), "label": "y"}]),
    );
    let new_id = out["ids"][0].as_u64().unwrap();
    assert_eq!(out["replaced"], json!([ids[0]]));
    assert_eq!(count(&server, ""), before);
    let alpha = get(&server, "/records/alpha");
    assert_eq!(
        (
            alpha["id"].as_u64().unwrap(),
            alpha["sequence"].as_str().unwrap()
        ),
        (new_id, &seq(9)[..])
    );
    assert_eq!(alpha["metadata"], Value::Null);
    expect_error(
        &server.get(&format!("{BASE}/records/{}", ids[0])),
        404,
        "unknown_id",
    );
    let body = json!({"sequences": [seq(1), seq(9)], "k": 1});
    let found = server.post(&format!("{BASE}/search"), &body).json();
    for result in found["results"].as_array().unwrap() {
        assert_ne!(
            result["neighbours"][0]["id"], ids[0],
            "the old record is not found"
        );
    }
    assert_eq!(found["results"][1]["neighbours"][0]["id"], new_id);

    // The same id twice in one batch: 422 naming the second, nothing written.
    let twice = json!({"records": [
        {"id": "d", "sequence": "ACGT", "label": "x"}, {"id": "d", "sequence": "ACGA", "label": "x"}
    ]});
    let message = expect_error(
        &server.post(&format!("{BASE}/records"), &twice),
        422,
        "parse_error",
    );
    assert!(
        message.contains("records[1].id") && message.contains("records[0]"),
        "{message}"
    );
    for bad in [
        json!(""),
        json!(-1),
        json!(1.5),
        json!("a\nb"),
        json!(["x"]),
        json!("x".repeat(513)),
    ] {
        let body = json!({"records": [{"id": bad, "sequence": "ACGT", "label": "x"}]});
        let message = expect_error(
            &server.post(&format!("{BASE}/records"), &body),
            422,
            "parse_error",
        );
        assert!(message.contains("records[0].id"), "{message}");
    }
    assert_eq!(count(&server, ""), before);

    // 250 more, half of them in group 0: scroll gives every record once, in order.
    let many: Vec<Value> = (0..250)
        .map(|i| json!({"id": format!("r{i}"), "sequence": seq(100 + i), "label": "x", "metadata": {"group": i % 2}}))
        .collect();
    insert(&server, Value::Array(many));
    let total = seeded + 4 + 250;
    assert_eq!(count(&server, ""), total);
    let rows = scroll_all(&server, 100);
    assert_eq!(rows.len() as u64, total);
    assert!(
        rows.windows(2).all(|w| w[0].0 < w[1].0),
        "ascending, no repeats"
    );
    let page = get(&server, "/records?limit=100");
    assert_eq!(page["records"].as_array().unwrap().len(), 100);
    let clients: BTreeSet<String> = rows
        .iter()
        .filter_map(|(_, c)| c.as_str().map(String::from))
        .collect();
    assert!((0..250).all(|i| clients.contains(&format!("r{i}"))));
    assert_eq!(scroll_all(&server, 1000), rows);
    let group0 = where_query(&json!({"group": 0}));
    assert_eq!(count(&server, &group0), 125);
    let filtered = get(&server, &format!("/records?limit=1000&count=true{group0}"));
    assert_eq!(filtered["records"].as_array().unwrap().len(), 125);
    assert_eq!(
        (&filtered["next"], &filtered["count"]),
        (&Value::Null, &json!(125))
    );
    let page = get(&server, &format!("/records?limit=100{group0}"));
    assert_eq!(
        (
            page["records"][0]["metadata"]["group"].as_u64(),
            page.get("count")
        ),
        (Some(0), None)
    );
    expect_error(
        &server.get(&format!("{BASE}/records?limit=0")),
        400,
        "invalid_argument",
    );
    expect_error(
        &server.get(&format!("{BASE}/records?limit=1001")),
        400,
        "invalid_argument",
    );
    expect_error(
        &server.get(&format!("{BASE}/records?after=x")),
        400,
        "invalid_request",
    );
    expect_error(
        &server.get(&format!("{BASE}/records?where=%7B")),
        400,
        "invalid_request",
    );
    expect_error(
        &server.get(&format!("{BASE}/records?count=yes")),
        400,
        "invalid_request",
    );

    // Batch delete: all or nothing.
    let r = delete_request(&server, &[], &json!({"ids": ["r0", "missing"]}));
    let message = expect_error(&r, 404, "unknown_id");
    assert!(message.contains("missing"), "{message}");
    assert_eq!(count(&server, ""), total);
    let out = delete(&server, json!({"ids": ["r0", 4242, 1, "r0"]}));
    assert_eq!(
        (out["deleted"].as_u64(), out["records"].as_u64()),
        (Some(3), Some(total - 3))
    );
    expect_error(
        &server.get(&format!("{BASE}/records/r0")),
        404,
        "unknown_id",
    );
    let both = json!({"ids": ["r1"], "where": {"group": 1}});
    expect_error(&delete_request(&server, &[], &both), 400, "invalid_request");
    expect_error(
        &delete_request(&server, &[], &json!({"ids": [-3]})),
        422,
        "parse_error",
    );
    // By filter: every live record of group 1.
    let out = delete(&server, json!({"where": {"group": 1}}));
    assert_eq!(out["deleted"], 125);
    assert_eq!(count(&server, &where_query(&json!({"group": 1}))), 0);
    // By path, with a client id; the id is free again afterwards.
    assert_eq!(
        server.delete(&format!("{BASE}/records/r2"), &[]).status,
        204
    );
    expect_error(
        &server.delete(&format!("{BASE}/records/r2"), &[]),
        404,
        "unknown_id",
    );
    let out = insert(
        &server,
        json!([{"id": "r2", "sequence": seq(102), "label": "x"}]),
    );
    assert_eq!(out["replaced"], json!([null]));
    let live = count(&server, "");
    assert_eq!(live, total - 3 - 125);
    let rows = scroll_all(&server, 100);
    server.stop();

    // Everything persisted.
    let server = Server::start(d, &["--collection", "c", "--no-train"], &[]);
    assert_eq!(count(&server, ""), live);
    assert_eq!(scroll_all(&server, 100), rows);
    assert_eq!(get(&server, "/records/alpha")["sequence"], seq(9));
    assert_eq!(get(&server, "/records/7")["client_id"], "7");
    expect_error(
        &server.get(&format!("{BASE}/records/r0")),
        404,
        "unknown_id",
    );
    expect_error(
        &server.get(&format!("{BASE}/records/4242")),
        404,
        "unknown_id",
    );
    // Upsert after the restart still replaces.
    let out = insert(
        &server,
        json!([{"id": 7, "sequence": seq(10), "label": "x"}]),
    );
    assert_eq!(out["replaced"], json!([ids[3]]));
    server.stop();
    let report = ok_in(d, &["check", "--collection", "c"]);
    assert!(report.contains("client ids"), "{report}");
    ok_in(d, &["compact", "--collection", "c"]);
    let report = ok_in(d, &["check", "--collection", "c"]);
    // 254 inserted with ids, less r0, 4242 and the 125 of group 1 (r2 came back).
    assert!(report.contains("client ids   127 records"), "{report}");
}

#[test]
fn record_routes_follow_the_api_key_rules_and_the_openapi_document_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::write_demo_csv(&d.join("seed.csv"), 6, 2); // 6 records
    ok_in(d, &["index", "--collection", "c", "--input", "seed.csv"]);
    let server = Server::start(
        d,
        &["--collection", "c", "--no-train", "--api-key", "k"],
        &[],
    );
    let auth = [("authorization", "Bearer k")];
    let body =
        json!({"records": [{"id": "count", "sequence": "ACGTAC", "label": "x"}]}).to_string();
    let path = format!("{BASE}/records");
    expect_error(
        &server.post_raw(&path, &[], body.as_bytes()),
        401,
        "unauthorized",
    );
    assert_eq!(server.post_raw(&path, &auth, body.as_bytes()).status, 200);
    // Reads are open without --api-key-reads.
    assert_eq!(count(&server, ""), 7);
    assert_eq!(
        get(&server, "/records")["records"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    let del = json!({"ids": ["count"]});
    expect_error(&delete_request(&server, &[], &del), 401, "unauthorized");
    // Any client id, `count` included, names its record in a path.
    assert_eq!(get(&server, "/records/count")["client_id"], "count");
    expect_error(
        &server.delete(&format!("{BASE}/records/count"), &[]),
        401,
        "unauthorized",
    );
    assert_eq!(
        server
            .delete(&format!("{BASE}/records/count"), &auth)
            .status,
        204
    );
    assert_eq!(count(&server, ""), 6);
    let out = delete_request(&server, &auth, &json!({"where": {}}));
    assert_eq!(out.json()["deleted"], 6);

    let doc = server.get("/openapi.json").json();
    let records = &doc["paths"]["/v1/collections/{name}/records"];
    assert!(
        ["get", "post", "delete"]
            .iter()
            .all(|m| records[m].is_object()),
        "{records}"
    );
    let record = &doc["paths"]["/v1/collections/{name}/records/{id}"];
    assert!(record["get"].is_object() && record["delete"].is_object());
}
