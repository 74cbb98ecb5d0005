"""Seeded stratified k-fold split of a `seq,label` / `sequence,label` CSV into
train{i}.csv / test{i}.csv (the rows shuffled per class first: the Genomic Benchmarks test
CSVs are sorted by label). Idempotent: existing fold files are kept.

    python3 make_folds.py DATA.csv K SEED OUTDIR
"""
import csv
import os
import random
import sys


def main(path, k, seed, out):
    k, seed = int(k), int(seed)
    if all(os.path.exists(f"{out}/test{i}.csv") for i in range(k)):
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    label = header.index("label")
    by_class = {}
    for row in rows:
        by_class.setdefault(row[label], []).append(row)
    rng = random.Random(seed)
    folds = [[] for _ in range(k)]
    for cls in sorted(by_class):
        group = by_class[cls]
        rng.shuffle(group)
        for i, row in enumerate(group):
            folds[i % k].append(row)
    os.makedirs(out, exist_ok=True)
    for i in range(k):
        for name, part in (("test", folds[i]), ("train", [r for j in range(k) if j != i for r in folds[j]])):
            with open(f"{out}/{name}{i}.csv", "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(header)
                w.writerows(part)


if __name__ == "__main__":
    main(*sys.argv[1:])
