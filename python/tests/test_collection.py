"""Writes and bookkeeping: delete, len, info, train, compact, names, threads."""

import threading
import time

import numpy as np
import pytest

import genovec
from conftest import cli, cli_json_lines


def test_delete_len_and_info(small, train_df):
    collection, ids = small
    live = ids[ids >= 0]
    assert len(collection) == len(live)
    info = collection.info()
    assert info["records"] == len(live) and info["tombstones"] == 0
    assert info["embedder"] == "composition" and info["dimension"] == 708
    assert sum(info["labels"].values()) == len(live)

    gone = live[:3]
    collection.delete(gone)
    assert len(collection) == len(live) - 3
    assert collection.info()["tombstones"] == 3
    # A deleted record is never found again, not even by its own sequence.
    rows = [int(np.flatnonzero(ids == g)[0]) for g in gone]
    hits, _ = collection.search_arrays(train_df["sequence"].iloc[rows], k=20)
    assert not np.isin(gone, hits).any()
    # The CLI sees the same file.
    (info,) = cli_json_lines("info", "--collection", str(collection.path), "--json")
    assert info["records"] == len(collection) and info["tombstones"] == 3
    assert info["search"] == collection.info()["search"]


def test_deleting_an_unknown_id_raises_and_deletes_nothing(small):
    collection, ids = small
    before = len(collection)
    with pytest.raises(genovec.InputError, match="no record with id 999999") as e:
        collection.delete([int(ids[ids >= 0][0]), 999_999])
    assert e.value.code == "unknown_id"
    assert len(collection) == before


def test_index_again_adds_nothing_and_a_deleted_record_comes_back_with_a_new_id(small, train_df):
    collection, ids = small
    head = train_df.head(300)
    again = collection.index(head["sequence"], head["label"])
    assert np.all(again == -1)
    first = int(ids[0])
    collection.delete([first])
    back = collection.index(head["sequence"].head(1), head["label"].head(1))
    assert back[0] > ids.max()
    assert len(collection) == (ids >= 0).sum()


def test_train_and_compact(small):
    collection, ids = small
    assert collection.train()["action"] == "up_to_date"
    tuned = collection.train(retune=True)
    assert tuned["action"] == "tuned" and tuned["trained_on"] == len(collection)
    assert set(tuned["params"]) >= {"k", "weight_knn", "c"}
    collection.delete(ids[ids >= 0][:5])
    compacted = collection.compact()
    assert compacted["action"] in ("refitted", "tuned")
    info = collection.info()
    assert info["tombstones"] == 0 and info["classifier"]["trained_on"] == len(collection)


def test_a_name_means_indexes_name_redb_like_the_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    collection = genovec.Collection("promoters")
    assert collection.path == tmp_path / "indexes" / "promoters.redb" or str(
        collection.path
    ) == "indexes/promoters.redb"
    assert (tmp_path / "indexes" / "promoters.redb").is_file()
    assert len(collection) == 0
    collection.index(["ACGTACGTTT", "GGGCCCGGGA"], ["x", "y"])
    (info,) = cli_json_lines("info", "--collection", "promoters", "--json")
    assert info["records"] == 2
    # An os.PathLike is always a path, even without `/` or `.redb`.
    plain = genovec.Collection(tmp_path / "plain")
    assert plain.path == tmp_path / "plain"


def test_writes_by_the_cli_are_seen_by_the_next_call(small, tmp_path):
    collection, ids = small
    before = len(collection)
    cli("delete", "--collection", str(collection.path), "--id", str(int(ids[ids >= 0][0])))
    assert len(collection) == before - 1


def test_the_gil_is_released_during_long_calls(tmp_path, train_df):
    """Python code runs on while another thread indexes: the call does not hold the GIL."""
    collection = genovec.Collection(tmp_path / "threads.redb")
    done = threading.Event()
    timing = {}

    def work():
        start = time.perf_counter()
        collection.index(train_df["sequence"], train_df["label"])
        timing["s"] = time.perf_counter() - start
        done.set()

    thread = threading.Thread(target=work)
    ticks = 0
    thread.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    thread.join()
    # With the GIL held for the whole call this loop could not run until it returned.
    assert timing["s"] > 0.05
    # Each tick sleeps 1 ms; a tenth of the ticks that fit in the call is plenty of margin
    # for a loaded machine.
    assert ticks > 0.1 * timing["s"] / 0.001, (ticks, timing)


def test_parallel_searches_from_threads_agree_with_one_thread(indexed, test_df):
    collection, _ = indexed
    queries = list(test_df["sequence"].head(40))
    expected = collection.search_arrays(queries, k=5)
    results = [None] * 4

    def run(i):
        results[i] = collection.search_arrays(queries, k=5)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for ids, distances in results:
        assert np.array_equal(ids, expected[0]) and np.array_equal(distances, expected[1])


def test_fewer_hits_than_k_are_padded(tmp_path):
    collection = genovec.Collection(tmp_path / "tiny.redb")
    collection.index(["ACGTACGTTT", "GGGCCCGGGA", "ATATATATCG"], ["x", "y", "x"])
    ids, distances = collection.search_arrays(["ACGTACGTTT"], k=5, labels="x")
    assert ids[0, :2].tolist() != [-1, -1] and ids[0, 2:].tolist() == [-1, -1, -1]
    assert np.all(np.isinf(distances[0, 2:]))
    assert len(collection.search(["ACGTACGTTT"], k=5, labels="x")[0]) == 2
