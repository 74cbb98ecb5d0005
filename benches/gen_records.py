#!/usr/bin/env python3
"""Seeded labelled records for the scale benchmarks: real sequences with seeded mutations.

Each output row copies a real sequence of --source (a `sequence,label` or `seq,label` CSV, for
example Genomic Benchmarks human_nontata_promoters, 9,034 x 251 bp) and mutates it: every base
is substituted with probability --sub-rate (by one of the other three bases), and with
probability --indel-rate per row one 1-10 bp stretch is deleted and random bases appended at
the end, so the length stays that of the source. The label is the source's. Sources are taken
in a seeded random order, so any prefix of the output is a fair sample. The same arguments give
the same bytes.

  benches/.venv/bin/python benches/gen_records.py --n 1000000 --seed 1 \
      --source /work/shared/datasets/genomic_benchmarks/human_nontata_promoters/test.csv \
      --out /tmp/million.csv

Output columns: name,sequence,label (`name` is gen<row>_<source row>).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
CHUNK = 50_000


def read_source(path: Path) -> tuple[np.ndarray, list[str]]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    column = "sequence" if "sequence" in rows[0] else "seq"
    seqs = [r[column].upper() for r in rows]
    length = min(len(s) for s in seqs)
    # Equal lengths make one matrix; longer sequences are cut to the shortest.
    matrix = np.frombuffer("".join(s[:length] for s in seqs).encode(), dtype=np.uint8)
    return matrix.reshape(len(seqs), length), [r["label"] for r in rows]


def mutate(rng: np.random.Generator, rows: np.ndarray, sub_rate: float, indel_rate: float) -> np.ndarray:
    out = rows.copy()
    hit = rng.random(out.shape) < sub_rate
    # Shift each hit base by 1-3 places in ACGT: always a different base (N stays N).
    code = np.searchsorted(BASES, out)
    known = (code < 4) & (BASES[np.minimum(code, 3)] == out)
    shifted = BASES[(code + rng.integers(1, 4, size=out.shape)) % 4]
    out = np.where(hit & known, shifted, out)
    for r in np.nonzero(rng.random(len(out)) < indel_rate)[0]:
        width = int(rng.integers(1, 11))
        at = int(rng.integers(0, out.shape[1] - width))
        tail = BASES[rng.integers(0, 4, size=width)]
        out[r] = np.concatenate([out[r, :at], out[r, at + width:], tail])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sub-rate", type=float, default=0.05)
    ap.add_argument("--indel-rate", type=float, default=0.3)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    matrix, labels = read_source(args.source)
    rng = np.random.default_rng(args.seed)
    with args.out.open("w", newline="") as f:
        f.write("name,sequence,label\n")
        for start in range(0, args.n, CHUNK):
            count = min(CHUNK, args.n - start)
            picks = rng.integers(0, len(matrix), size=count)
            rows = mutate(rng, matrix[picks], args.sub_rate, args.indel_rate)
            f.writelines(
                f"gen{start + i}_{p},{row.tobytes().decode()},{labels[p]}\n"
                for i, (p, row) in enumerate(zip(picks, rows))
            )
    print(f"wrote {args.n} records of {matrix.shape[1]} bp from {len(matrix)} sources to {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
