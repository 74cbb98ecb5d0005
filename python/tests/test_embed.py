"""genovec.embed: the vectors the collection stores and searches with, as numpy."""

import numpy as np
import pytest

import genovec


def test_shape_dtype_and_layout(test_df):
    seqs = list(test_df["sequence"].head(64))
    vectors = genovec.embed(seqs)
    assert vectors.shape == (64, 708)
    assert vectors.dtype == np.float32
    assert vectors.flags["C_CONTIGUOUS"] and vectors.flags["WRITEABLE"]
    assert np.all(np.isfinite(vectors))
    assert genovec.embed([]).shape == (0, 708)


def test_deterministic_and_a_batch_equals_one_by_one(test_df):
    seqs = list(test_df["sequence"].head(20))
    batch = genovec.embed(seqs)
    assert np.array_equal(batch, genovec.embed(seqs))
    one_by_one = np.vstack([genovec.embed([s]) for s in seqs])
    assert np.array_equal(batch, one_by_one)


def test_embedder_options_change_the_dimension(test_df):
    seqs = list(test_df["sequence"].head(3))
    assert genovec.embed(seqs, embedder="composition").shape == (3, 708)
    small = genovec.embed(seqs, embedder="composition:k=1,2")
    assert small.shape[0] == 3 and small.shape[1] < 708


def test_a_record_searched_by_its_embedding_is_found_at_distance_zero(indexed, train_df):
    collection, ids = indexed
    rows = np.flatnonzero(ids >= 0)[:40]
    vectors = genovec.embed(train_df["sequence"].iloc[rows])
    found, distances = collection.search_arrays(vectors, k=1)
    assert np.array_equal(found[:, 0], ids[rows])
    assert np.all(distances[:, 0] < 1e-5)
    # The same hits as searching by the sequences themselves.
    by_seq, seq_distances = collection.search_arrays(train_df["sequence"].iloc[rows], k=5)
    by_vec, vec_distances = collection.search_arrays(vectors, k=5)
    assert np.array_equal(by_seq, by_vec) and np.array_equal(seq_distances, vec_distances)


def test_float64_vectors_are_searched_as_float32(indexed, test_df):
    collection, _ = indexed
    vectors = genovec.embed(test_df["sequence"].head(10))
    ids32, d32 = collection.search_arrays(vectors, k=4)
    ids64, d64 = collection.search_arrays(vectors.astype(np.float64), k=4)
    assert np.array_equal(ids32, ids64) and np.array_equal(d32, d64)
    hits = collection.search(vectors, k=4)
    assert [[h["id"] for h in row] for row in hits] == ids32.tolist()


def test_bad_letters_and_bad_specs_raise_genovec_errors():
    with pytest.raises(genovec.InputError, match=r"sequences\[1\].*invalid character 'U' at position 3") as e:
        genovec.embed(["ACGT", "ACUT"])
    assert e.value.code == "bad_sequence"
    with pytest.raises(genovec.InputError, match="empty sequence"):
        genovec.embed(["ACGT", "  "])
    with pytest.raises(genovec.GenovecError, match="embedder"):
        genovec.embed(["ACGT"], embedder="no-such-embedder")
    with pytest.raises(ValueError, match="not one str"):
        genovec.embed("ACGT")
