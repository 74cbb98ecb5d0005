//! A writer opened for queries (`loading.rs`): it answers as a full open while its vectors
//! are read, and its writes leave the same file and state as a full open's.

use super::quick_tests::{build, damage_vector, records, same_answers};
use super::*;
use crate::Error;

/// The same writes on a full open and on a writer opened for queries.
fn write(c: &mut Collection) {
    c.insert_batch(&records(60, 11), true).unwrap();
    c.delete(&[5, 1201]).unwrap();
    c.rebuild_graph().unwrap();
    c.insert_batch(&records(7, 12), true).unwrap();
}

#[test]
fn a_writer_opened_for_queries_answers_and_writes_as_a_full_open() {
    for quantize in [Quantize::None, Quantize::Int8] {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.redb"), dir.path().join("b.redb"));
        build(&a, quantize);
        std::fs::copy(&a, &b).unwrap();
        let mut full = Collection::open_writer(&a).unwrap();
        let mut quick = Collection::open_writer_for_queries(&b).unwrap();
        assert!(
            quick.pending.is_some(),
            "opened without reading the vectors"
        );
        same_answers(&full, &quick);
        write(&mut full);
        write(&mut quick);
        assert!(
            quick.pending.is_none(),
            "the first write took the rows over"
        );
        assert_eq!(full.vectors().data, quick.vectors().data);
        assert_eq!(full.vectors().codes, quick.vectors().codes);
        assert_eq!(full.info().records, 1200 - 2 + 67 - 2);
        same_answers(&full, &quick);
        drop((full, quick));
        let (a, b) = (Collection::open_reader(&a), Collection::open_reader(&b));
        same_answers(&a.unwrap(), &b.unwrap());
    }
}

#[test]
fn finishing_the_load_keeps_every_row_and_the_graph_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    build(&path, Quantize::None);
    let full = Collection::open_reader(&path).unwrap();
    let mut quick = Collection::open_writer_for_queries(&path).unwrap();
    let loading = quick.loading().expect("a background read runs");
    let input = quick.graph_input().unwrap();
    assert_eq!(
        input.rows.data,
        full.vectors().data,
        "graph input waits for the rows"
    );
    loading.wait().unwrap();
    drop(loading);
    quick.finish_loading().unwrap();
    assert!(quick.loading().is_none());
    assert_eq!(quick.vectors().data, full.vectors().data);
    quick.finish_loading().unwrap();
}

#[test]
fn a_writer_opened_on_a_damaged_file_refuses_to_write_and_keeps_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    build(&path, Quantize::None);
    damage_vector(&path);
    let mut c = Collection::open_writer_for_queries(&path).unwrap();
    let before = c.len();
    let err = c.insert_batch(&records(5, 11), false).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(matches!(c.delete(&[7]), Err(Error::Corrupt { .. })));
    assert!(matches!(c.compact(), Err(Error::Corrupt { .. })));
    assert_eq!(c.len(), before, "nothing changed in memory");
    drop(c);
    let again = Collection::open_for_queries(&path).unwrap();
    assert_eq!(again.len(), before, "nothing was written");
}
