"""Paired comparison of genovec eval against the scikit-learn baseline on the same rows.

Reads genovec's per-row predictions (bench-out/eval/<task>.tsv, written by
benches/eval_tasks.sh, rows in test-file order) and the baseline's
(bench-out/sklearn_predictions.json, written by benches/sklearn_baseline.py, same order), and
prints per task: both accuracies, the difference with a paired bootstrap 95% interval, and the
exact two-sided McNemar p-value over the discordant rows.

Usage: python3 benches/mcnemar.py [--variant kmer] [--eval-dir bench-out/eval]
"""
import argparse
import json
import math
from fractions import Fraction
import random


def mcnemar_exact(b, c):
    """Two-sided exact binomial McNemar p-value for b and c discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    # Exact integers: 2**n overflows a float for the larger tasks.
    tail = float(Fraction(sum(math.comb(n, i) for i in range(k + 1)), 2**n))
    return min(1.0, 2.0 * tail)


def paired_bootstrap(a_correct, b_correct, reps=2000, seed=0):
    """95% interval of mean(a_correct) - mean(b_correct), resampling rows."""
    rng = random.Random(seed)
    n = len(a_correct)
    diffs = []
    for _ in range(reps):
        idx = [rng.randrange(n) for _ in range(n)]
        diffs.append(sum(a_correct[i] - b_correct[i] for i in idx) / n)
    diffs.sort()
    return diffs[int(0.025 * reps)], diffs[int(0.975 * reps) - 1]


def read_genovec(path):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            name, truth, predicted, _ = line.rstrip("\n").split("\t")
            rows.append((truth, predicted))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="kmer")
    ap.add_argument("--eval-dir", default="bench-out/eval")
    ap.add_argument("--sklearn", default="bench-out/sklearn_predictions.json")
    args = ap.parse_args()
    baseline = json.load(open(args.sklearn))
    print("task\tgenovec_acc\tsklearn_acc\tdiff\tdiff_95ci\tmcnemar_p\tn")
    for key, entry in baseline.items():
        task, variant = key.split("/")
        if variant != args.variant:
            continue
        try:
            ours = read_genovec(f"{args.eval_dir}/{task}.tsv")
        except FileNotFoundError:
            continue
        truth = [str(y) for y in entry["y_true"]]
        assert [t for t, _ in ours] == truth, f"{task}: rows are not in the same order"
        a = [int(p == t) for (t, p) in ours]
        b = [int(str(p) == t) for p, t in zip(entry["y_pred"], truth)]
        only_a = sum(1 for x, y in zip(a, b) if x and not y)
        only_b = sum(1 for x, y in zip(a, b) if y and not x)
        lo, hi = paired_bootstrap(a, b)
        n = len(a)
        print(f"{task}\t{sum(a)/n:.4f}\t{sum(b)/n:.4f}\t{(sum(a)-sum(b))/n:+.4f}\t"
              f"[{lo:+.4f}, {hi:+.4f}]\t{mcnemar_exact(only_a, only_b):.2g}\t{n}")


if __name__ == "__main__":
    main()
