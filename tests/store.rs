//! The store through the library API on composition embeddings: recall against exact search
//! at the defaults, and a reopen that loads the graph instead of rebuilding it.

use genovec::engine::{index_records, IndexOptions};
use genovec::store::Collection;

fn index_demo(path: &std::path::Path, per_class: usize, seed: u64) -> Vec<genovec::seq::SeqRecord> {
    let records = genovec::demo::generate(seed, per_class);
    // The classifier is not what these tests check: training it would be most of their time.
    let opts = IndexOptions {
        train: false,
        ..IndexOptions::default()
    };
    index_records(path, &records, &opts, &mut |_, _, _| {}).unwrap();
    records
}

#[test]
fn graph_recall_at_10_against_exact_search_is_at_least_095() {
    let seed = 31;
    println!("seed {seed}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    index_demo(&path, 1500, seed);
    let collection = Collection::open_reader(&path).unwrap();
    assert_eq!(
        collection.graph_nodes(),
        4500,
        "the graph covers every record"
    );
    let queries = genovec::demo::generate(seed + 1, 100);
    let embedder = genovec::engine::embedder_for(&collection).unwrap();
    let mut hits = 0;
    for q in &queries {
        let v = embedder.embed_batch(&[q.seq.as_bytes()]).unwrap().remove(0);
        let exact = collection.search_exact(&v, 10, None).unwrap();
        let approx = collection.search(&v, 10, None, None).unwrap();
        hits += approx
            .iter()
            .filter(|a| exact.iter().any(|e| e.id == a.id))
            .count();
    }
    let recall = hits as f64 / (queries.len() * 10) as f64;
    println!("recall@10 {recall}");
    assert!(recall >= 0.95, "recall@10 {recall} (seed {seed})");
}

#[test]
fn reopening_loads_the_persisted_graph() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    index_demo(&path, 500, 5);
    let first = Collection::open_reader(&path)
        .unwrap()
        .graph()
        .cloned()
        .expect("index built a graph");
    // hnsw_rs builds are randomised (its seed is internal), so equal layouts across opens
    // mean the layout was read from the file.
    for _ in 0..2 {
        let again = Collection::open_reader(&path).unwrap();
        assert_eq!(again.graph(), Some(&first));
    }
    let rebuilt = {
        let mut c = Collection::open_writer(&path).unwrap();
        c.rebuild_graph().unwrap();
        c.graph().cloned().unwrap()
    };
    assert_eq!(rebuilt.len(), first.len());
}
