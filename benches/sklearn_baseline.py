#!/usr/bin/env python3
"""scikit-learn baseline for genovec: k-mer frequencies + logistic regression.

Variants
  kmer     overlapping k-mer frequencies (windows with a non-ACGT base skipped,
           counts divided by the number of valid k-mers) -> LogisticRegression.
  kmer+gc  the same k-mer frequencies plus GC content and the Z-curve
           (x, y, z over the ACGT bases), standardised by a StandardScaler inside
           the Pipeline -> LogisticRegression.

Model selection: k and C are chosen by inner stratified 3-fold CV (accuracy) on
the training data only; the chosen model is refit on the whole training data
and scored once on the test rows. The test set never takes part in selection.

Tasks (data read in place from <shared>/datasets)
  prom_core_notata  GUE prom_core_notata  train.csv -> test.csv
  prom_300_tata     GUE prom_300_tata     train.csv -> test.csv
  emp_h3            GUE EMP H3            dev.csv   -> test.csv (no train split)
  nontata_cv        Genomic Benchmarks human_nontata_promoters test.csv, outer
                    5-fold stratified CV (shuffled, seed 42) with the inner
                    selection repeated inside each outer training fold; metrics
                    on the pooled out-of-fold predictions.
  shift             train GUE prom_300_notata dev.csv + test.csv, test Genomic
                    Benchmarks human_nontata_promoters test.csv.

Outputs
  --out          summary JSON: per task and variant the chosen k/C, accuracy,
                 macro-F1, MCC, bootstrap 95% CI of accuracy, the inner-CV grid.
  --pred-out     per-row test predictions (y_true, y_pred, p1) in test-file row
                 order, for McNemar's test against genovec on the same rows
                 (default: <out without .json>_predictions.json).

Usage
  bash benches/sklearn_setup.sh
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
      benches/.venv/bin/python benches/sklearn_baseline.py \\
      --shared /work/shared --out bench-out/sklearn.json [--tasks shift emp_h3]
"""

from __future__ import annotations

import os

# Single-threaded BLAS for reproducible, comparable timings (set before numpy loads).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import csv
import hashlib
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse as sp
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kmer_features import composition, kmer_frequencies  # noqa: E402

VARIANTS = ("kmer", "kmer+gc")
TASKS = ("prom_core_notata", "prom_300_tata", "emp_h3", "nontata_cv", "shift")

# Default search grid, 7 log-spaced C values per variant. The two variants need
# different ranges: raw k-mer frequencies are tiny numbers (about 1/L each) and
# want a large C (inner CV picked 1000 on a 1e-3..1e3 grid), while the
# standardised kmer+gc features (4**k unit-variance columns) want a small one
# (1e-3 was picked on the same grid). Chosen values on a grid edge are flagged.
DEFAULT_KS = (3, 4, 5, 6)
DEFAULT_CS = {
    "kmer": tuple(10.0**e for e in range(-1, 6)),  # 0.1 .. 1e5
    "kmer+gc": tuple(10.0**e for e in range(-5, 2)),  # 1e-5 .. 10
}

INNER_FOLDS = 3
INNER_SEED = 0  # shuffling seed of the inner (selection) CV
OUTER_FOLDS = 5
OUTER_SEED = 42  # seed of the nontata 5-fold CV, as specified
BOOT_SEED = 12345
BOOT_RESAMPLES = 2000
MAX_ITER = 1000


# --------------------------------------------------------------------------- data


def load_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """Read a two-column CSV (sequence column first, label second, with header)."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        seq_col = header.index("sequence") if "sequence" in header else header.index("seq")
        label_col = header.index("label")
        seqs, labels = [], []
        for row in reader:
            seqs.append(row[seq_col].strip())
            labels.append(int(row[label_col]))
    return seqs, np.asarray(labels, dtype=np.int64)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def task_files(task: str, ds: Path) -> tuple[list[Path], list[Path]]:
    """(train files, test files) of a task; nontata_cv has no separate test file."""
    gue, gb = ds / "gue", ds / "genomic_benchmarks"
    nontata = gb / "human_nontata_promoters" / "test.csv"
    return {
        "prom_core_notata": (
            [gue / "prom/prom_core_notata/train.csv"],
            [gue / "prom/prom_core_notata/test.csv"],
        ),
        "prom_300_tata": (
            [gue / "prom/prom_300_tata/train.csv"],
            [gue / "prom/prom_300_tata/test.csv"],
        ),
        "emp_h3": ([gue / "EMP/H3/dev.csv"], [gue / "EMP/H3/test.csv"]),
        "nontata_cv": ([nontata], []),
        "shift": (
            [gue / "prom/prom_300_notata/dev.csv", gue / "prom/prom_300_notata/test.csv"],
            [nontata],
        ),
    }[task]


def load_many(paths: list[Path]) -> tuple[list[str], np.ndarray]:
    seqs: list[str] = []
    labels = []
    for p in paths:
        s, y = load_csv(p)
        seqs += s
        labels.append(y)
    return seqs, np.concatenate(labels)


# ------------------------------------------------------------------ features/model


def featurise(seqs: list[str], k: int, variant: str) -> sp.csr_matrix:
    """Sparse feature matrix of one variant.

    Sparse CSR keeps k=6 on 42k rows small and fast. For kmer+gc the 4
    composition columns (GC, Z-curve x, y, z) are appended.
    """
    x = kmer_frequencies(seqs, k, sparse=True)
    if variant == "kmer+gc":
        x = sp.hstack([x, sp.csr_matrix(composition(seqs))], format="csr")
    return x


def make_model(variant: str, c: float):
    lr = LogisticRegression(C=c, solver="lbfgs", max_iter=MAX_ITER)
    if variant == "kmer":
        return lr
    # with_mean=False keeps the matrix sparse. It gives the same optimum as full
    # standardisation: centring a column only shifts the (unpenalised)
    # intercept, so the L2-penalised problem over the weights is unchanged.
    return Pipeline([("scale", StandardScaler(with_mean=False)), ("lr", lr)])


class WarningCounter:
    """Counts ConvergenceWarnings instead of printing them."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self):
        self._ctx = warnings.catch_warnings(record=True)
        self._log = self._ctx.__enter__()
        warnings.simplefilter("always", ConvergenceWarning)
        return self

    def __exit__(self, *exc):
        self.count += sum(issubclass(w.category, ConvergenceWarning) for w in self._log)
        self._ctx.__exit__(*exc)


def select_and_fit(
    train_seqs: list[str],
    y: np.ndarray,
    variant: str,
    ks: tuple[int, ...],
    cs: tuple[float, ...],
    warn: WarningCounter,
):
    """Inner stratified CV over (k, C) on the training rows; refit the best.

    Featurisation is per sequence (no statistics learnt across rows), so each
    k is featurised once; the scaler is fitted inside each fold by the Pipeline.
    Ties go to the earlier grid point (smaller k, then smaller C).
    """
    cv = StratifiedKFold(n_splits=INNER_FOLDS, shuffle=True, random_state=INNER_SEED)
    grid = []
    best = None
    for k in ks:
        x = featurise(train_seqs, k, variant)
        for c in cs:
            with warn:
                scores = cross_val_score(make_model(variant, c), x, y, cv=cv, scoring="accuracy")
            entry = {"k": k, "C": c, "cv_acc": float(scores.mean()), "cv_acc_std": float(scores.std())}
            grid.append(entry)
            if best is None or entry["cv_acc"] > best["cv_acc"]:
                best = entry
    k, c = best["k"], best["C"]
    with warn:
        model = make_model(variant, c).fit(featurise(train_seqs, k, variant), y)
    return model, k, c, best["cv_acc"], grid


# ------------------------------------------------------------------------ metrics


def metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Accuracy, macro-F1, MCC and a percentile bootstrap 95% CI of accuracy."""
    correct = (y_true == y_pred).astype(np.float64)
    rng = np.random.default_rng(BOOT_SEED)
    n = len(correct)
    boot = np.empty(BOOT_RESAMPLES)
    for start in range(0, BOOT_RESAMPLES, 200):  # chunks bound the index matrix size
        stop = min(start + 200, BOOT_RESAMPLES)
        boot[start:stop] = correct[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return {
        "n": int(n),
        "accuracy": float(correct.mean()),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro")),
        "mcc": float(matthews_corrcoef(y_true, y_pred)),
        "acc_ci95": [float(lo), float(hi)],
    }


# -------------------------------------------------------------------------- tasks


def run_holdout(task, ds, variant, ks, cs, warn):
    """Train on the task's train files, score once on its test files."""
    train_paths, test_paths = task_files(task, ds)
    tr_seqs, y_tr = load_many(train_paths)
    te_seqs, y_te = load_many(test_paths)
    model, k, c, cv_acc, grid = select_and_fit(tr_seqs, y_tr, variant, ks, cs, warn)
    p1 = model.predict_proba(featurise(te_seqs, k, variant))[:, 1]
    y_pred = model.classes_[(p1 >= 0.5).astype(int)]
    train_set = set(tr_seqs)
    summary = {
        "protocol": "holdout",
        "n_train": len(tr_seqs),
        "test_in_train_exact": int(sum(s in train_set for s in te_seqs)),
        "k": k,
        "C": c,
        "inner_cv_acc": cv_acc,
        "C_on_grid_edge": c in (min(cs), max(cs)),
        **metrics(y_te, y_pred),
        "inner_cv_grid": grid,
    }
    preds = {"y_true": y_te.tolist(), "y_pred": y_pred.tolist(), "p1": np.round(p1, 5).tolist()}
    return summary, preds


def run_nested_cv(task, ds, variant, ks, cs, warn):
    """Outer 5-fold stratified CV; (k, C) re-selected inside every outer fold."""
    (path,), _ = task_files(task, ds)
    seqs, y = load_csv(path)
    outer = StratifiedKFold(n_splits=OUTER_FOLDS, shuffle=True, random_state=OUTER_SEED)
    y_pred = np.full(len(y), -1, dtype=np.int64)
    p1 = np.zeros(len(y))
    fold_of = np.full(len(y), -1, dtype=np.int64)
    folds = []
    for f, (tr, te) in enumerate(outer.split(np.zeros(len(y)), y)):
        tr_seqs = [seqs[i] for i in tr]
        te_seqs = [seqs[i] for i in te]
        model, k, c, cv_acc, _ = select_and_fit(tr_seqs, y[tr], variant, ks, cs, warn)
        p = model.predict_proba(featurise(te_seqs, k, variant))[:, 1]
        p1[te] = p
        y_pred[te] = model.classes_[(p >= 0.5).astype(int)]
        fold_of[te] = f
        folds.append(
            {"fold": f, "k": k, "C": c, "inner_cv_acc": cv_acc,
             "fold_acc": float(accuracy_score(y[te], y_pred[te]))}
        )
    ks_chosen = sorted({fo["k"] for fo in folds})
    cs_chosen = sorted({fo["C"] for fo in folds})
    summary = {
        "protocol": f"{OUTER_FOLDS}-fold stratified CV (shuffle, seed {OUTER_SEED}), pooled out-of-fold",
        "n_train": int(len(y) * (OUTER_FOLDS - 1) / OUTER_FOLDS),
        "k": ks_chosen[0] if len(ks_chosen) == 1 else ks_chosen,
        "C": cs_chosen[0] if len(cs_chosen) == 1 else cs_chosen,
        "C_on_grid_edge": any(fo["C"] in (min(cs), max(cs)) for fo in folds),
        **metrics(y, y_pred),
        "folds": folds,
    }
    preds = {"y_true": y.tolist(), "y_pred": y_pred.tolist(),
             "p1": np.round(p1, 5).tolist(), "fold": fold_of.tolist()}
    return summary, preds


# --------------------------------------------------------------------------- main


def fmt(v) -> str:
    return ",".join(str(x) for x in v) if isinstance(v, list) else str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path("../shared"),
                    help="folder holding datasets/ (default ../shared)")
    ap.add_argument("--out", type=Path, default=Path("bench-out/sklearn.json"))
    ap.add_argument("--pred-out", type=Path, default=None,
                    help="per-row predictions JSON (default: <out stem>_predictions.json)")
    ap.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    ap.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    ap.add_argument("--ks", nargs="+", type=int, default=list(DEFAULT_KS))
    ap.add_argument("--Cs", nargs="+", type=float, default=None,
                    help="C grid for every variant (default: a per-variant grid, see DEFAULT_CS)")
    args = ap.parse_args()

    ds = args.shared / "datasets"
    pred_out = args.pred_out or args.out.with_name(args.out.stem + "_predictions.json")
    ks = tuple(args.ks)
    cs_of = {v: tuple(args.Cs) if args.Cs else DEFAULT_CS[v] for v in VARIANTS}
    t_all = time.perf_counter()

    results, predictions = [], {}
    print(f"{'task':<17} {'variant':<8} {'k':>7} {'C':>9} {'acc':>7} {'95% CI':>15} "
          f"{'macroF1':>7} {'MCC':>7} {'time':>6}", flush=True)
    for task in args.tasks:
        train_paths, test_paths = task_files(task, ds)
        for variant in args.variants:
            warn = WarningCounter()
            t0 = time.perf_counter()
            runner = run_nested_cv if task == "nontata_cv" else run_holdout
            summary, preds = runner(task, ds, variant, ks, cs_of[variant], warn)
            secs = time.perf_counter() - t0
            summary = {"task": task, "variant": variant, **summary,
                       "convergence_warnings": warn.count, "seconds": round(secs, 2)}
            results.append(summary)
            rows_file = (test_paths or train_paths)[0]
            predictions[f"{task}/{variant}"] = {
                "task": task, "variant": variant,
                "rows_file": str(rows_file.relative_to(ds)),
                "rows_file_sha256": sha256(rows_file),
                "row_order": "data rows of rows_file in file order (header excluded)",
                **preds,
            }
            lo, hi = summary["acc_ci95"]
            print(f"{task:<17} {variant:<8} {fmt(summary['k']):>7} {fmt(summary['C']):>9} "
                  f"{summary['accuracy']:7.4f} [{lo:.4f},{hi:.4f}] {summary['macro_f1']:7.4f} "
                  f"{summary['mcc']:7.4f} {secs:5.0f}s", flush=True)

    total = time.perf_counter() - t_all
    report = {
        "baseline": "sklearn k-mer frequency + LogisticRegression",
        "config": {
            "ks": list(ks), "Cs": {v: list(cs_of[v]) for v in args.variants}, "solver": "lbfgs", "max_iter": MAX_ITER,
            "inner_cv": f"StratifiedKFold({INNER_FOLDS}, shuffle, seed {INNER_SEED}), accuracy",
            "bootstrap": f"{BOOT_RESAMPLES} resamples, percentile 95%, seed {BOOT_SEED}",
            "threads": {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
        },
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "scipy": scipy.__version__,
                     "sklearn": sklearn.__version__},
        "predictions_file": str(pred_out),
        "total_seconds": round(total, 1),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pred_out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    pred_out.write_text(json.dumps(predictions) + "\n")
    print(f"wrote {args.out} and {pred_out} in {total:.0f}s", flush=True)


if __name__ == "__main__":
    main()
