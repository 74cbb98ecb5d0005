//! `--vectors` on a Milvus collection against a real Milvus 2.3.5 server (feature `milvus`;
//! see `tests/milvus.rs` for how the server is started).

#![cfg(feature = "milvus")]

mod common;

use common::milvus::{fails, neighbour_sets, ok, predictions, uri};

/// `--vectors` on Milvus as on a local file: records indexed with given vectors (an external
/// embedder), and searches and classification by given vectors.
#[test]
#[ignore = "needs a Milvus server (GENOVEC_MILVUS; see .ci/milvus.sh)"]
fn milvus_takes_given_vectors_as_a_local_collection_does() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    let records = common::write_demo_csv(&csv, 4, 20);
    let (csv, local) = (csv.to_str().unwrap(), dir.path().join("c.redb"));
    let local = local.to_str().unwrap();
    // The composition vectors of the records, in input order (ids are given in order).
    ok(&["index", "--collection", local, "--input", csv, "--no-train"]);
    let npy = dir.path().join("v.npy");
    let npy = npy.to_str().unwrap();
    ok(&[
        "export",
        "--collection",
        local,
        "--format",
        "npy",
        "--out",
        npy,
    ]);
    let given = uri("given");
    let ext = [
        "--vectors",
        npy,
        "--embedder",
        "external:comp:708",
        "--no-train",
    ];
    let mut args = vec!["index", "--collection", given.as_str(), "--input", csv];
    args.extend_from_slice(&ext);
    ok(&args);
    let local_ext = dir.path().join("e.redb");
    let local_ext = local_ext.to_str().unwrap();
    args[2] = local_ext;
    ok(&args);
    // Each record's own vector finds it first, in Milvus and in the local file alike.
    let search = |c: &str| {
        let args = [
            "search",
            "--collection",
            c,
            "--vectors",
            npy,
            "--k",
            "3",
            "--json",
        ];
        neighbour_sets(&ok(&args))
    };
    let (remote, local) = (search(&given), search(local_ext));
    assert_eq!(remote.len(), records.len());
    for (i, ((rq, rn), (lq, ln))) in remote.iter().zip(&local).enumerate() {
        assert_eq!(
            (rq, lq),
            (&format!("vectors[{i}]"), &format!("vectors[{i}]"))
        );
        assert_eq!(rn[0], records[i].name, "query {i}");
        assert_eq!(ln[0], records[i].name, "query {i}");
    }
    // classify --vectors: one prediction per record, the vote of its own neighbours.
    let out = ok(&[
        "classify",
        "--collection",
        &given,
        "--input",
        csv,
        "--vectors",
        npy,
        "--json",
    ]);
    let truth: Vec<String> = records.iter().map(|r| r.label.clone().unwrap()).collect();
    let (predicted, accuracy) = predictions(&out, &truth);
    assert_eq!(predicted.len(), records.len());
    assert!(accuracy > 0.8, "accuracy {accuracy}");
    // A vector count that does not match the queries is refused, naming both.
    let one = dir.path().join("one.csv");
    std::fs::write(&one, "name,sequence\nq,ACGTACGTAC\n").unwrap();
    let one = one.to_str().unwrap();
    let short = fails(&[
        "classify",
        "--collection",
        &given,
        "--input",
        one,
        "--vectors",
        npy,
    ]);
    assert!(short.contains("vectors for 1 queries"), "{short}");
}
