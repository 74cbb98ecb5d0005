"""Choose the positional profile's shape by cross-validation on training splits only.

    benches/.venv/bin/python benches/profile_select.py [TASK ...]   # tasks: tata h3 core splice

Features: square-rooted (non-canonical) k-mer spectra for k = 1..5, alone ("base") and with
each candidate profile appended: S segments of equal share, each segment's square-rooted
k-mer spectrum. Model: standardised logistic regression, C the best of four, 3-fold
stratified CV (seed 1) on at most 8,000 rows (seeded) of each task's training split. The
test splits are never read. Results are in BENCHMARKS.md.
"""
import csv
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from kmer_features import kmer_frequencies  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
TASKS = {
    "tata": "gue/prom/prom_300_tata/train.csv",
    "h3": "gue/EMP/H3/dev.csv",
    "core": "gue/prom/prom_core_notata/train.csv",
    "splice": "gue/splice/reconstructed/dev.csv",
}
CANDIDATES = [(3, 2), (6, 2), (10, 2), (6, 3), (10, 1), (20, 1)]


def load(path, n=8000):
    rows = list(csv.DictReader(open(path)))
    if len(rows) > n:
        pick = np.random.default_rng(0).choice(len(rows), n, replace=False)
        rows = [rows[i] for i in pick]
    return [r["sequence"].upper() for r in rows], np.array([r["label"] for r in rows])


def spectra(seqs):
    return np.hstack([np.sqrt(kmer_frequencies(seqs, k)) for k in (1, 2, 3, 4, 5)])


def profile(seqs, segments, k):
    """Segment i holds the k-mers starting in [i*L/S, (i+1)*L/S), as genovec's profile."""
    blocks = []
    for i in range(segments):
        parts = []
        for s in seqs:
            a, b = i * len(s) // segments, (i + 1) * len(s) // segments
            parts.append(s[a : min(b + k - 1, len(s))])
        blocks.append(np.sqrt(kmer_frequencies(parts, k)))
    return np.hstack(blocks)


def best_cv(x, y):
    folds = StratifiedKFold(3, shuffle=True, random_state=1)
    scores = []
    for c in (0.003, 0.01, 0.03, 0.1):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
        scores.append(cross_val_score(model, x, y, cv=folds).mean())
    return max(scores)


def main():
    for task in sys.argv[1:] or list(TASKS):
        seqs, y = load(SHARED / TASKS[task])
        base = spectra(seqs)
        print(task, "base", base.shape[1], round(best_cv(base, y), 4), flush=True)
        for segments, k in CANDIDATES:
            x = np.hstack([base, profile(seqs, segments, k)])
            print(task, f"S={segments} k={k}", x.shape[1], round(best_cv(x, y), 4), flush=True)


if __name__ == "__main__":
    main()
