//! `genovec serve` on a Milvus collection (feature `milvus`), against a real Milvus server
//! (see tests/milvus.rs for how it is started): two servers on one Milvus collection, as on
//! two machines, answer alike, because everything a prediction needs is read from Milvus.

#![cfg(feature = "milvus")]

#[path = "common/http.rs"]
mod client;
mod common;

use client::{expect_error, request, Server};
use common::{bin, write_demo_csv};
use serde_json::{json, Value};

fn uri(test: &str) -> String {
    let server = std::env::var("GENOVEC_MILVUS").expect(
        "GENOVEC_MILVUS is not set: start a server with `bash .ci/milvus.sh start` and run the \
         tests inside its namespace with GENOVEC_MILVUS=127.0.0.1:19530",
    );
    format!("milvus://{server}/t{}_{test}", std::process::id())
}

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = bin().current_dir(dir).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "genovec {args:?} failed: {err}");
    String::from_utf8(out.stdout).unwrap()
}

/// The labels, probabilities and classifier state of a classify response.
fn answers(response: &Value) -> Vec<(Value, Value, Value)> {
    let results = response["results"].as_array().expect("results");
    results
        .iter()
        .map(|r| {
            let state = r["classifier"].clone();
            (r["label"].clone(), r["probabilities"].clone(), state)
        })
        .collect()
}

#[test]
#[ignore = "needs a Milvus server (GENOVEC_MILVUS; see .ci/milvus.sh)"]
fn milvus_two_servers_on_one_collection_answer_alike() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = write_demo_csv(&d.join("train.csv"), 21, 60);
    let queries = write_demo_csv(&d.join("q.csv"), 22, 10);
    let remote = uri("serve");
    ok(
        d,
        &["index", "--collection", &remote, "--input", "train.csv"],
    );
    let cli = ok(
        d,
        &[
            "classify",
            "--collection",
            &remote,
            "--input",
            "q.csv",
            "--json",
        ],
    );
    let name = remote.rsplit('/').next().unwrap().to_string();
    let (a, b) = (
        Server::start(d, &["--collection", &remote], &[]),
        Server::start(d, &["--collection", &remote], &[]),
    );
    let sequences: Vec<_> = (queries.iter())
        .map(|q| Value::from(q.seq.to_string()))
        .collect();
    let body = json!({ "sequences": sequences });
    let path = format!("/v1/collections/{name}/classify");
    let (ra, rb) = (a.post(&path, &body), b.post(&path, &body));
    assert_eq!(ra.status, 200, "{}", ra.text());
    assert_eq!(answers(&ra.json()), answers(&rb.json()));
    // The same predictions as the CLI, and the stored classifier is the one in use.
    let from_cli: Vec<Value> = (cli.lines())
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["label"].clone())
        .collect();
    let from_server: Vec<Value> = answers(&ra.json()).into_iter().map(|a| a.0).collect();
    assert_eq!(from_server, from_cli);
    let state = &answers(&ra.json())[0].2;
    assert_eq!(state["trained_on"], train.len());

    // Search by sequence and by vector, details and the list, from either server.
    let search = json!({"sequences": [sequences[0]], "k": 5, "labels": ["tata_promoter"]});
    let hits = a.post(&format!("/v1/collections/{name}/search"), &search);
    assert_eq!(hits.status, 200, "{}", hits.text());
    let neighbours = hits.json()["results"][0]["neighbours"].clone();
    assert_eq!(neighbours.as_array().unwrap().len(), 5);
    assert!(neighbours
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["label"] == "tata_promoter"));
    let again = b.post(&format!("/v1/collections/{name}/search"), &search);
    assert_eq!(again.json(), hits.json());
    let detail = b.get(&format!("/v1/collections/{name}")).json();
    assert_eq!(detail["records"], train.len());
    assert_eq!(detail["classifier"], true);
    let list = a.get("/v1/collections").json();
    assert_eq!(list["collections"][0]["name"], name.as_str());
    assert_eq!(list["collections"][0]["records"], train.len());

    // Bad input is checked as on a local collection.
    let vectors = json!({"vectors": [[1.0, 2.0]]});
    let wrong = a.post(&format!("/v1/collections/{name}/search"), &vectors);
    expect_error(&wrong, 422, "wrong_dimension");
    // Classification takes given vectors as on a local collection: checked, not refused.
    let given = json!({"sequences": [sequences[0]], "vectors": [[1.0, 2.0]]});
    let wrong = a.post(&format!("/v1/collections/{name}/classify"), &given);
    expect_error(&wrong, 422, "wrong_dimension");
    // A metadata filter runs inside Milvus (no record has this field), and is checked first.
    let filtered = json!({"sequences": [sequences[0]], "where": {"tissue": "liver"}});
    let found = a.post(&format!("/v1/collections/{name}/search"), &filtered);
    assert_eq!(found.status, 200, "{}", found.text());
    assert_eq!(found.json()["results"][0]["neighbours"], json!([]));
    let malformed = json!({"sequences": [sequences[0]], "where": {"tissue": {"$like": "l"}}});
    let refused = a.post(&format!("/v1/collections/{name}/search"), &malformed);
    let message = expect_error(&refused, 400, "invalid_request");
    assert!(
        message.contains("\"tissue\": unknown operator"),
        "{message}"
    );
    assert!(a.stop().success() && b.stop().success());
}

#[test]
#[ignore = "needs a Milvus server (GENOVEC_MILVUS; see .ci/milvus.sh)"]
fn milvus_record_routes_answer_as_on_a_local_collection() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = write_demo_csv(&d.join("train.csv"), 31, 20);
    // Strong reads: each answer below sees the write before it.
    let remote = format!("{}?consistency=strong", uri("records"));
    ok(
        d,
        &["index", "--collection", &remote, "--input", "train.csv"],
    );
    let name = uri("records").rsplit('/').next().unwrap().to_string();
    let server = Server::start(d, &["--collection", &remote], &[]);
    let records = format!("/v1/collections/{name}/records");

    // Records are added by `genovec index`, the one writer; over HTTP that is a clear 400.
    std::fs::write(
        d.join("new.csv"),
        "name,sequence,label,tissue\nnew1,ACGTACGTTTGACCA,tata_promoter,liver\n",
    )
    .unwrap();
    ok(d, &["index", "--collection", &remote, "--input", "new.csv"]);
    let add = json!({"records": [{"name": "x", "label": "tata_promoter", "sequence": "ACGT"}]});
    let refused = server.post(&records, &add);
    let message = expect_error(&refused, 400, "invalid_request");
    assert!(message.contains("one writer"), "{message}");

    // Fetch by id; an unknown id is a 404.
    let list = server.get(&format!("{records}?limit=1000")).json();
    let id = list["records"].as_array().unwrap().last().unwrap()["id"].clone();
    let one = server.get(&format!("{records}/{id}"));
    assert_eq!(one.status, 200, "{}", one.text());
    let one = one.json();
    assert_eq!(one["name"], "new1");
    assert_eq!(one["sequence"], "ACGTACGTTTGACCA");
    assert_eq!(one["metadata"], json!({"tissue": "liver"}));
    assert_eq!(one["client_id"], Value::Null);
    expect_error(&server.get(&format!("{records}/999999")), 404, "unknown_id");
    expect_error(&server.get(&format!("{records}/nope")), 404, "unknown_id");

    // Scroll in id order, page by page, with counts and a metadata filter.
    let page = server.get(&format!("{records}?limit=7&count=true")).json();
    let ids: Vec<u64> = (page["records"].as_array().unwrap().iter())
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 7);
    assert_eq!(page["next"], ids[6]);
    assert_eq!(page["count"], train.len() + 1);
    let mut all = ids.clone();
    let mut next = page["next"].clone();
    while let Some(after) = next.as_u64() {
        let page = server.get(&format!("{records}?limit=7&after={after}"));
        let page = page.json();
        let more = page["records"].as_array().unwrap().iter();
        all.extend(more.map(|r| r["id"].as_u64().unwrap()));
        next = page["next"].clone();
    }
    assert_eq!(all.len(), train.len() + 1);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "in id order: {all:?}");
    assert_eq!(
        all.last(),
        id.as_u64().as_ref(),
        "the new record has the largest id"
    );
    let (first, second, third) = (all[0], all[1], all[2]);
    let liver = "%7B%22tissue%22%3A%22liver%22%7D";
    let filtered = server
        .get(&format!("{records}?where={liver}&count=true"))
        .json();
    assert_eq!(filtered["count"], 1);
    assert_eq!(filtered["records"][0]["id"], id);
    expect_error(
        &server.get(&format!("{records}?limit=0")),
        400,
        "invalid_argument",
    );

    // Deletes: all or nothing by ids, by a filter, and one by path.
    let delete = |body: Value| {
        let headers = [("content-type", "application/json")];
        request(
            &server.addr,
            "DELETE",
            &records,
            &headers,
            body.to_string().as_bytes(),
        )
        .unwrap()
    };
    let missing = delete(json!({"ids": [first, 999999]}));
    expect_error(&missing, 404, "unknown_id");
    let kept = server.get(&format!("{records}/{first}"));
    assert_eq!(kept.status, 200, "nothing was deleted");
    let by_ids = delete(json!({"ids": [first, second.to_string(), second]})).json();
    assert_eq!(by_ids["deleted"], 2);
    assert_eq!(by_ids["records"], train.len() - 1);
    let by_filter = delete(json!({"where": {"tissue": "liver"}})).json();
    assert_eq!(by_filter["deleted"], 1);
    assert_eq!(
        server.delete(&format!("{records}/{third}"), &[]).status,
        204
    );
    expect_error(
        &server.get(&format!("{records}/{third}")),
        404,
        "unknown_id",
    );
    let count = server.get(&format!("{records}?limit=0&count=true")).json();
    assert_eq!(count["count"], train.len() - 3);
    // The classifier was trained on the records `index` stored; the deletes show.
    let detail = server.get(&format!("/v1/collections/{name}")).json();
    let state = &detail["classifier_state"];
    assert_eq!(state["deleted_since"], 4, "{state}");
    assert_eq!(state["training"], false);
    assert!(server.stop().success());
}
