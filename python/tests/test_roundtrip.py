"""The notebook round trip: a pandas DataFrame indexed from Python, then classified and
searched from Python and with the genovec CLI on the same collection: identical answers."""

import numpy as np
import pandas as pd

import genovec
from conftest import cli_json_lines, cli


def test_a_dataframe_indexes_with_one_id_per_new_record(indexed, train_df):
    collection, ids = indexed
    assert isinstance(ids, np.ndarray) and ids.dtype == np.int64 and ids.shape == (len(train_df),)
    added = ids[ids >= 0]
    assert len(np.unique(added)) == len(added)
    # -1 marks a row whose label and sequence were already stored (GUE has a few repeats).
    repeats = train_df.duplicated(["sequence", "label"]).to_numpy()
    assert np.array_equal(ids < 0, repeats)
    assert len(collection) == len(added)


def test_classify_equals_the_cli_line_for_line(indexed, test_df, test_csv):
    collection, _ = indexed
    # The CLI names a CSV row `<file>:<line>` (the header is line 1); give Python the same
    # names so that whole answers can be compared.
    names = [f"test.csv:{i + 2}" for i in range(len(test_df))]
    ours = collection.classify(test_df["sequence"], names=names)
    theirs = cli_json_lines(
        "classify", "--collection", str(collection.path), "--input", str(test_csv), "--json"
    )
    assert len(ours) == len(theirs) == len(test_df)
    assert [p["name"] for p in theirs] == names
    for mine, cli_line in zip(ours, theirs):
        assert mine == cli_line
    # The spot checks the brief names, explicitly: labels, confidences, neighbour ids.
    assert [p["label"] for p in ours] == [p["label"] for p in theirs]
    assert [p["confidence"] for p in ours] == [p["confidence"] for p in theirs]
    assert [[n["id"] for n in p["neighbours"]] for p in ours] == [
        [n["id"] for n in p["neighbours"]] for p in theirs
    ]
    # A trained classifier answered, well above chance on this task.
    assert ours[0]["classifier"]["trained"] and ours[0]["answered_by"] == "fusion"
    accuracy = np.mean([p["label"] == str(y) for p, y in zip(ours, test_df["label"])])
    assert accuracy > 0.7, accuracy


def test_classify_with_k_equals_the_cli(indexed, test_df, test_csv):
    collection, _ = indexed
    ours = collection.classify(list(test_df["sequence"]), k=3)
    theirs = cli_json_lines(
        "classify", "--collection", str(collection.path), "--input", str(test_csv),
        "--k", "3", "--json",
    )
    for mine, cli_line in zip(ours, theirs):
        assert mine["k"] == cli_line["k"] == 3
        assert (mine["label"], mine["confidence"]) == (cli_line["label"], cli_line["confidence"])
        assert mine["neighbours"] == cli_line["neighbours"]


def _float32(x):
    # `search --json` prints an f32 distance in its shortest f32 form; Python holds the f64
    # it widens to. Both are the same float32.
    return np.float32(x)


def test_search_equals_the_cli(indexed, test_df, test_csv):
    collection, _ = indexed
    ours = collection.search(test_df["sequence"], k=7)
    theirs = cli_json_lines(
        "search", "--collection", str(collection.path), "--input", str(test_csv),
        "--k", "7", "--json",
    )
    assert len(ours) == len(theirs)
    for hits, line in zip(ours, theirs):
        assert len(hits) == 7
        assert [(h["id"], h["name"], h["label"]) for h in hits] == [
            (n["id"], n["name"], n["label"]) for n in line["neighbours"]
        ]
        assert [_float32(h["distance"]) for h in hits] == [
            _float32(n["distance"]) for n in line["neighbours"]
        ]


def test_label_filtered_search_equals_the_cli(indexed, test_df, test_csv):
    collection, _ = indexed
    ours = collection.search(test_df["sequence"], k=5, labels="1")
    theirs = cli_json_lines(
        "search", "--collection", str(collection.path), "--input", str(test_csv),
        "--k", "5", "--label", "1", "--json",
    )
    for hits, line in zip(ours, theirs):
        assert {h["label"] for h in hits} == {"1"}
        assert [h["id"] for h in hits] == [n["id"] for n in line["neighbours"]]


def test_search_arrays_hold_the_same_hits(indexed, test_df):
    collection, _ = indexed
    queries = test_df["sequence"].head(50)
    hits = collection.search(queries, k=10)
    ids, distances = collection.search_arrays(queries, k=10)
    assert ids.shape == distances.shape == (50, 10)
    assert ids.dtype == np.int64 and distances.dtype == np.float32
    assert np.array_equal(ids, [[h["id"] for h in row] for row in hits])
    assert np.array_equal(distances, np.array([[h["distance"] for h in row] for row in hits], dtype=np.float32))
    assert np.all(np.diff(distances, axis=1) >= 0)


def test_info_equals_the_cli(indexed):
    collection, _ = indexed
    (theirs,) = cli_json_lines("info", "--collection", str(collection.path), "--json")
    assert collection.info() == theirs
    assert theirs["records"] == len(collection)
    assert theirs["graph_nodes"] > 0, "the graph was built at the end of index"


def test_a_collection_indexed_by_the_cli_answers_the_same_from_python(tmp_path, train_df, test_df):
    # The other direction: `genovec index` writes, Python reads.
    rows = tmp_path / "train.csv"
    train_df.head(500).to_csv(rows, index=False)
    path = tmp_path / "by_cli.redb"
    cli("index", "--collection", str(path), "--input", str(rows))
    from_python = genovec.Collection(tmp_path / "by_python.redb")
    from_python.index(train_df["sequence"].head(500), train_df["label"].head(500))
    by_cli = genovec.Collection(str(path))
    queries = list(test_df["sequence"].head(100))
    a, b = by_cli.classify(queries), from_python.classify(queries)
    assert [(p["label"], p["confidence"]) for p in a] == [(p["label"], p["confidence"]) for p in b]
    assert [[n["id"] for n in p["neighbours"]] for p in a] == [
        [n["id"] for n in p["neighbours"]] for p in b
    ]


def test_sequences_come_as_lists_series_or_numpy_arrays(indexed, test_df):
    collection, _ = indexed
    seqs = test_df["sequence"].head(5)
    as_list = collection.search(list(seqs), k=3)
    assert collection.search(seqs, k=3) == as_list
    assert collection.search(seqs.to_numpy(dtype=str), k=3) == as_list
    assert collection.search(tuple(seqs), k=3) == as_list
    assert collection.search(pd.Series([s.lower() for s in seqs]), k=3) == as_list
