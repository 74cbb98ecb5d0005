"""Every failure is a Python exception with genovec's own message; nothing crashes."""

import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import genovec


def test_a_bad_letter_names_the_record_and_writes_nothing(small):
    collection, _ = small
    before = len(collection)
    with pytest.raises(genovec.InputError) as e:
        collection.index(
            ["ACGTACGT", "ACGTNNXACGT"], ["0", "1"], names=["fine", "promoter_7"]
        )
    message = str(e.value)
    assert message == (
        'input, sequences[1] ("promoter_7"): invalid character \'X\' at position 7 of the sequence'
    )
    assert e.value.code == "bad_sequence" and isinstance(e.value, ValueError)
    assert len(collection) == before


def test_bad_queries_name_the_query(indexed):
    collection, _ = indexed
    with pytest.raises(genovec.InputError, match=r"sequences\[2\].*'-' at position 4"):
        collection.classify(["ACGT", "ACGT", "ACG-T"])
    with pytest.raises(genovec.InputError, match=r"sequences\[0\].*'Z'"):
        collection.search(["ZZ"])


def test_a_wrong_vector_dimension_raises(indexed):
    collection, _ = indexed
    with pytest.raises(genovec.InputError) as e:
        collection.search(np.zeros((2, 5), dtype=np.float32))
    assert str(e.value) == "vector has dimension 5, the collection expects 708"
    assert e.value.code == "wrong_dimension"
    with pytest.raises(genovec.InputError, match="2-D"):
        collection.search(np.zeros(708, dtype=np.float32))


def test_arguments_out_of_range_carry_the_engine_message(indexed):
    collection, _ = indexed
    with pytest.raises(genovec.InputError, match=r"^invalid k: k must be between 1 and 1000, got 0$"):
        collection.search(["ACGT"], k=0)
    with pytest.raises(genovec.InputError, match="invalid k"):
        collection.classify(["ACGT"], k=5000)
    with pytest.raises(genovec.InputError, match="invalid ef"):
        collection.search(["ACGT"], ef=0)
    with pytest.raises(genovec.InputError, match=r'"nope" is not in the collection \(labels: 1, 0\)'):
        collection.search(["ACGT"], labels=["nope"])
    with pytest.raises(genovec.InputError, match="adapt"):
        collection.classify(["ACGT"], adapt="sometimes")
    with pytest.raises(OverflowError):
        collection.search(["ACGT"], k=-1)


def test_malformed_index_arguments(small):
    collection, _ = small
    with pytest.raises(genovec.InputError, match="1 labels for 2 sequences"):
        collection.index(["ACGT", "ACGA"], ["0"])
    with pytest.raises(genovec.InputError, match="no label"):
        collection.index(["ACGT"], [" "])
    with pytest.raises(genovec.InputError, match="contains a tab"):
        collection.index(["ACGT"], ["a\tb"])
    with pytest.raises(genovec.InputError, match=r"labels\[0\] is not a str or int"):
        collection.index(["ACGT"], [1.5])
    with pytest.raises(genovec.InputError, match="empty"):
        collection.index([], [])


def test_bad_metadata_and_filters_name_their_fault(small):
    collection, _ = small
    with pytest.raises(genovec.InputError, match="reserved"):
        collection.index(["ACGT"], ["0"], metadata=[{"label": "x"}])
    with pytest.raises(genovec.InputError, match="1 metadata for 2 sequences"):
        collection.index(["ACGT", "ACGA"], ["0", "1"], metadata=[{"a": 1}])
    with pytest.raises(genovec.InputError, match=r"metadata\[0\] is not a dict"):
        collection.index(["ACGT"], ["0"], metadata=["x"])
    with pytest.raises(genovec.InputError, match="unknown operator"):
        collection.search(["ACGT"], where={"source": {"$like": "x"}})
    with pytest.raises(genovec.InputError, match=r"\$in needs a non-empty list"):
        collection.search_arrays(["ACGT"], where={"source": {"$in": []}})
    # None means "not given".
    collection.search(["ACGT"], where=None)


def test_another_embedder_than_the_collection_s_is_refused(small):
    collection, _ = small
    with pytest.raises(genovec.InputError, match="was built with embedder") as e:
        genovec.Collection(collection.path, embedder="composition:k=3")
    assert e.value.code == "mismatch"
    assert genovec.Collection(collection.path, embedder="composition").embedder == "composition"


def _open_in_a_child(path) -> subprocess.CompletedProcess:
    """Opens and searches `path` in a child interpreter, so a crash would be seen as one."""
    code = textwrap.dedent(
        f"""
        import genovec
        try:
            c = genovec.Collection({str(path)!r})
            c.search(["ACGTACGTAC"], k=3)
            c.classify(["ACGTACGTAC"])
            print("OPENED", len(c))
        except genovec.GenovecError as e:
            print("RAISED", type(e).__name__, e.code, e)
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not a database\n" * 100, bytes(range(256)) * 64],
    ids=["empty", "text", "bytes"],
)
def test_a_file_that_is_no_collection_raises(tmp_path, content):
    path = tmp_path / "foreign.redb"
    path.write_bytes(content)
    done = _open_in_a_child(path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("RAISED"), done.stdout + done.stderr
    assert "foreign.redb" in done.stdout
    assert path.read_bytes() == content, "a read never turns a foreign file into a database"


def test_a_damaged_collection_raises_and_never_crashes(tmp_path, indexed):
    collection, _ = indexed
    for cut in (0.9, 0.5, 0.1):
        path = tmp_path / f"cut{cut}.redb"
        shutil.copy(collection.path, path)
        size = path.stat().st_size
        with open(path, "r+b") as f:
            f.truncate(int(size * cut))
        done = _open_in_a_child(path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("RAISED InternalError corrupt_collection"), (
            done.stdout + done.stderr
        )
        assert f"cut{cut}.redb is corrupt" in done.stdout
    path = tmp_path / "flipped.redb"
    shutil.copy(collection.path, path)
    data = bytearray(path.read_bytes())
    for i in range(4096, len(data), 4099):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    done = _open_in_a_child(path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("RAISED"), done.stdout + done.stderr
    assert "corrupt" in done.stdout or "storage" in done.stdout, done.stdout
