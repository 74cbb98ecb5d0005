//! A background graph rebuild holds no lock while it builds: a write that arrives meanwhile
//! commits at once, and a search issued behind that write is not queued until the build ends.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use super::Served;
use crate::store::{Collection, CollectionConfig, NewRecord};

const DIM: usize = 64;

fn records(n: usize, rng: &mut impl Rng) -> Vec<NewRecord> {
    (0..n)
        .map(|i| NewRecord {
            name: format!("r{i}"),
            label: if i % 2 == 0 { "a" } else { "b" }.into(),
            seq: (0..40).map(|_| b"ACGT"[rng.gen_range(0..4)]).collect(),
            vector: (0..DIM).map(|_| rng.gen_range(-1.0f32..1.0)).collect(),
            metadata: None,
        })
        .collect()
}

/// A collection of 2,000 graphed records and a tail of 6,000 (past the rebuild threshold),
/// and how long building the graph over it takes on this machine.
fn collection_needing_rebuild(path: &std::path::Path) -> Duration {
    let spec = "external:test:64";
    let identity = crate::embed::from_spec(spec).unwrap().identity();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut c =
        Collection::create_or_open(path, &CollectionConfig::new(spec, &identity, DIM)).unwrap();
    c.insert_batch(&records(2_000, &mut rng), true).unwrap();
    c.rebuild_graph().unwrap();
    c.insert_batch(&records(6_000, &mut rng), true).unwrap();
    assert!(c.needs_rebuild());
    let input = c.graph_input().unwrap();
    let started = Instant::now();
    input.build();
    started.elapsed()
}

#[test]
fn writes_and_searches_do_not_wait_for_a_graph_build() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    let build = collection_needing_rebuild(&path);
    assert!(
        build >= Duration::from_millis(200),
        "build took only {build:?}"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    let served = Arc::new(Served::open(&path, false).unwrap());
    served.wait_loaded();
    served.rebuild_if_needed();
    assert!(served.rebuilding.load(Ordering::Acquire));
    std::thread::sleep(build / 4);

    let writer = {
        let served = Arc::clone(&served);
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
            let one = records(1, &mut rng);
            served.commit(|c| c.insert_batch(&one, true)).unwrap();
            started.elapsed()
        })
    };
    std::thread::sleep(Duration::from_millis(10));
    let started = Instant::now();
    let live = served.read().len();
    let read_wait = started.elapsed();
    let write_wait = writer.join().unwrap();
    assert!(live >= 8_000);
    // Had the build held the read lock, both would wait for about three quarters of it.
    assert!(
        write_wait < build / 3,
        "insert {write_wait:?}, build {build:?}"
    );
    assert!(
        read_wait < build / 3,
        "search {read_wait:?}, build {build:?}"
    );

    let deadline = Instant::now() + Duration::from_secs(120);
    while served.rebuilding.load(Ordering::Acquire) {
        assert!(Instant::now() < deadline, "the rebuild never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    let c = served.read();
    assert_eq!((c.len(), c.graph_nodes(), c.tail_len()), (8_001, 8_000, 1));
}
