"""Metadata from Python: a DataFrame's columns stored with each record, `where` filters that
answer exactly as the CLI's `--where`, and `genovec export` read back by pandas."""

import json

import numpy as np
import pytest
import pandas as pd

import genovec
from conftest import cli, cli_json_lines


def _indexed(tmp_path, train_df):
    rows = train_df.head(1500).reset_index(drop=True)
    meta = pd.DataFrame({
        "batch": [f"b{i % 4}" for i in range(len(rows))],
        "pos": np.arange(len(rows), dtype=np.int64),
        # Missing values are no field, as an empty CSV cell is.
        "score": [0.5 if i % 3 else np.nan for i in range(len(rows))],
    })
    collection = genovec.Collection(tmp_path / "meta.redb")
    ids = collection.index(rows["sequence"], rows["label"], metadata=meta, train=False)
    return collection, ids, meta


def test_where_filters_equal_the_cli_and_hits_carry_metadata(tmp_path, train_df, test_df, test_csv):
    collection, ids, meta = _indexed(tmp_path, train_df)
    where = {"batch": {"$in": ["b1", "b2"]}, "pos": {"$gte": 100}}
    ours = collection.search(test_df["sequence"], k=6, where=where)
    theirs = cli_json_lines(
        "search", "--collection", str(collection.path), "--input", str(test_csv),
        "--k", "6", "--where", json.dumps(where), "--json",
    )
    assert len(ours) == len(theirs) == len(test_df)
    for hits, line in zip(ours, theirs):
        assert [(h["id"], h["metadata"]) for h in hits] == [
            (n["id"], n["metadata"]) for n in line["neighbours"]
        ]
        assert len(hits) == 6
        for h in hits:
            assert h["metadata"]["batch"] in ("b1", "b2") and h["metadata"]["pos"] >= 100
    # The stored metadata is the DataFrame row's, without the missing score.
    first = collection.search(["ACGT"], k=1, where={"pos": 0})[0][0]
    assert first["id"] == ids[0] and first["metadata"] == {"batch": "b0", "pos": 0}
    ids_a, dist_a = collection.search_arrays(test_df["sequence"].head(20), k=6, where=where)
    assert ids_a.tolist() == [[h["id"] for h in row] for row in ours[:20]]


def test_export_reads_into_pandas_with_every_field(tmp_path, train_df):
    collection, ids, meta = _indexed(tmp_path, train_df)
    out = tmp_path / "all.parquet"
    cli("export", "--collection", str(collection.path), "--format", "parquet", "--out", str(out))
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["id", "name", "label", "sequence", "metadata", "vector"]
    assert len(frame) == len(collection)
    stored = frame.set_index("id")
    for i in (0, 1, 7, 1499):
        if ids[i] < 0:
            continue
        row = stored.loc[ids[i]]
        expected = {k: v for k, v in meta.iloc[i].items() if not pd.isna(v)}
        assert json.loads(row["metadata"]) == {
            k: (v.item() if hasattr(v, "item") else v) for k, v in expected.items()
        }
        assert row["sequence"] == train_df["sequence"].iloc[i].upper()
    vectors = np.stack(frame["vector"].to_numpy())
    assert vectors.dtype == np.float32 and vectors.shape == (len(frame), 708)
    # The exported vectors are the stored ones: each finds its own record.
    found, distances = collection.search_arrays(vectors[:50], k=1)
    assert found[:, 0].tolist() == frame["id"].head(50).tolist()
    assert np.all(distances < 1e-5)
    np_out = tmp_path / "vectors.npy"
    cli("export", "--collection", str(collection.path), "--format", "npy", "--out", str(np_out))
    assert np.array_equal(np.load(np_out), vectors)
    assert np.load(tmp_path / "vectors.ids.npy").tolist() == frame["id"].tolist()


def test_external_embeddings_index_search_and_classify_by_vector(tmp_path, train_df, test_df):
    rows = train_df.head(600)
    rng = np.random.default_rng(5)
    projection = rng.normal(size=(708, 24)).astype(np.float32)
    # A stand-in for a model genovec does not run: a random projection of its own vectors.
    own = lambda seqs: genovec.embed(list(seqs)) @ projection
    collection = genovec.Collection(tmp_path / "ext.redb", embedder="external:proj:24")
    ids = collection.index(rows["sequence"], rows["label"], vectors=own(rows["sequence"]))
    assert collection.info()["embedder"] == "external:proj:24" and len(collection) == (ids >= 0).sum()
    with pytest.raises(genovec.InputError, match="give vectors"):
        collection.search(list(test_df["sequence"].head(3)))
    queries = own(test_df["sequence"].head(50))
    found, distances = collection.search_arrays(queries, k=3)
    assert found.shape == (50, 3) and np.all(found >= 0)
    answers = collection.classify(test_df["sequence"].head(50), vectors=queries)
    assert [a["neighbours"][0]["id"] for a in answers] == found[:, 0].tolist()
    with pytest.raises(genovec.InputError, match="external"):
        genovec.Collection(tmp_path / "plain.redb").index(["ACGT"], ["0"], vectors=queries[:1])
