#!/usr/bin/env python3
"""Single-thread prediction throughput of the scikit-learn 4-mer LR baseline.

A 4-mer frequency LogisticRegression is fitted once per sequence length, then
the whole prediction path from Python strings is timed: vectorised k-mer
featurisation (benches/kmer_features.py) + predict_proba. Reported as
sequences per second (best and median of several repeats).

  251 bp: fit on GUE prom_300_notata dev.csv, predict the Genomic Benchmarks
          human_nontata_promoters test sequences (9034).
  500 bp: fit on GUE EMP H3 dev.csv, predict the GUE EMP H3 test sequences (1497).

The query sequences are tiled up to --n sequences so each timed run is long
enough to measure; --batch splits them into predict calls of that many
sequences. Each batch size given is measured separately (default 256 1 0):
  256  the fastest measured: the per-position temporaries (int64 arrays of
       n*L entries) stay in cache; far larger batches are ~2x slower at 500 bp
  1    one sequence per call: Python/sklearn per-call overhead dominates
  0    all n sequences in one call

Usage
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
      benches/.venv/bin/python benches/sklearn_throughput.py --shared /work/shared \\
      [--n 20000] [--repeats 5] [--batch 256 1 0] [--out bench-out/sklearn_throughput.json]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # single thread, set before numpy loads

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kmer_features import kmer_frequencies  # noqa: E402
from sklearn_baseline import load_csv  # noqa: E402

K = 4
C = 10.0  # a typical chosen C for raw 4-mer frequencies; speed does not depend on it


def predict_path(model: LogisticRegression, seqs: list[str], batch: int) -> np.ndarray:
    """Strings -> 4-mer frequencies -> P(label=1), in batches of ``batch`` rows."""
    if batch <= 0:
        batch = len(seqs)
    out = [model.predict_proba(kmer_frequencies(seqs[i : i + batch], K))[:, 1]
           for i in range(0, len(seqs), batch)]
    return np.concatenate(out)


def bench(name: str, train: Path, query: Path, n: int, repeats: int, batch: int) -> dict:
    tr_seqs, y_tr = load_csv(train)
    q_seqs, _ = load_csv(query)
    model = LogisticRegression(C=C, solver="lbfgs", max_iter=1000).fit(
        kmer_frequencies(tr_seqs, K), y_tr)
    # Tile the query file's sequences up to n rows (distinct copies of the list, same strings).
    seqs = (q_seqs * (n // len(q_seqs) + 1))[:n]
    predict_path(model, seqs[:1000], batch)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict_path(model, seqs, batch)
        times.append(time.perf_counter() - t0)
    lengths = [len(s) for s in q_seqs]
    return {
        "name": name,
        "train_file": str(train),
        "query_file": str(query),
        "query_len_bp": {"min": min(lengths), "max": max(lengths),
                         "mean": round(statistics.fmean(lengths), 1)},
        "n_sequences": n,
        "batch": batch if batch > 0 else n,
        "repeats": repeats,
        "seconds_best": round(min(times), 4),
        "seconds_median": round(statistics.median(times), 4),
        "seqs_per_s_best": round(n / min(times)),
        "seqs_per_s_median": round(n / statistics.median(times)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--n", type=int, default=20000, help="sequences per timed run")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, nargs="+", default=[256, 1, 0],
                    help="rows per predict call, 0 = all at once; each value is measured")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args()

    ds = args.shared / "datasets"
    setups = [
        ("251bp_gb_nontata", ds / "gue/prom/prom_300_notata/dev.csv",
         ds / "genomic_benchmarks/human_nontata_promoters/test.csv"),
        ("500bp_emp_h3", ds / "gue/EMP/H3/dev.csv", ds / "gue/EMP/H3/test.csv"),
    ]
    runs = [bench(name, train, query, args.n, args.repeats, batch)
            for name, train, query in setups for batch in args.batch]
    report = {
        "baseline": f"sklearn {K}-mer frequency LogisticRegression, featurise + predict_proba",
        "threads": {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "sklearn": sklearn.__version__},
        "cpu": platform.processor() or platform.machine(),
        "runs": runs,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
