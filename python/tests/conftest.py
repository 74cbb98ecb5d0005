"""Shared fixtures: real GUE promoter data from $GENOVEC_SHARED, one collection indexed
from a pandas DataFrame through Python, and the genovec CLI to compare with."""

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import genovec

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("GENOVEC_SHARED", REPO.parent / "shared"))
DATA = SHARED / "datasets" / "gue" / "prom" / "prom_300_tata"
GENOVEC_BIN = Path(os.environ.get("GENOVEC_BIN", REPO / "target" / "release" / "genovec"))

# Small enough for seconds, large enough for a trained classifier and a built graph
# (the graph is built once the tail passes 1,000 records).
N_TRAIN = 2000
N_TEST = 300


def cli(*args: str) -> str:
    """Runs the genovec binary; a failure shows its stderr."""
    done = subprocess.run(
        [str(GENOVEC_BIN), *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"genovec {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def cli_json_lines(*args: str) -> list:
    return [json.loads(line) for line in cli(*args).splitlines() if line.strip()]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"shared datasets not found at {DATA} (set GENOVEC_SHARED)")
    if not GENOVEC_BIN.is_file():
        pytest.fail(f"genovec binary not found at {GENOVEC_BIN} (set GENOVEC_BIN)")
    return DATA


@pytest.fixture(scope="session")
def train_df(data_dir) -> pd.DataFrame:
    # The GUE rows are shuffled, so the first rows hold both classes.
    return pd.read_csv(data_dir / "train.csv").head(N_TRAIN)


@pytest.fixture(scope="session")
def test_df(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / "test.csv").head(N_TEST)


@pytest.fixture(scope="session")
def test_csv(test_df, tmp_path_factory) -> Path:
    """The test rows as the CLI reads them (records named `test.csv:<line>`)."""
    path = tmp_path_factory.mktemp("queries") / "test.csv"
    test_df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def indexed(train_df, tmp_path_factory):
    """(collection, ids): the training DataFrame indexed through Python, shared read-only
    by the tests (tests that write make their own collection)."""
    path = tmp_path_factory.mktemp("indexed") / "promoters.redb"
    collection = genovec.Collection(str(path))
    names = [f"train:{i}" for i in range(len(train_df))]
    ids = collection.index(train_df["sequence"], train_df["label"], names=names)
    return collection, ids


@pytest.fixture
def small(tmp_path, train_df):
    """A fresh writable collection of the first 300 training rows."""
    collection = genovec.Collection(tmp_path / "small.redb")
    head = train_df.head(300)
    ids = collection.index(head["sequence"], head["label"])
    return collection, ids
