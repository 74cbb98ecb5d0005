"""Writes RESULTS.md from the suite's compare reports (bench-out/suite/<task>/report.json)
and copies the plots into results/.

    python3 suite_results.py SUITE_DIR RESULTS.md "CAPS"
"""
import json
import os
import shutil
import sys

TASKS = [
    ("prom_core_notata", "GUE prom_core_notata, train -> test"),
    ("prom_300_tata", "GUE prom_300_tata, train -> test"),
    ("emp_h3", "GUE EMP H3, dev -> test"),
    ("nontata_cv", "Genomic Benchmarks human_nontata_promoters, 5-fold CV (mean of folds)"),
    ("shift", "shift: GUE prom_300_notata dev+test -> Genomic Benchmarks nontata"),
]
NAMES = {
    "embedding+knn+fusion": "HyenaDNA-anticapt embeddings + kNN + LR, fused with Z-curve/GC",
    "embedding+knn": "HyenaDNA-anticapt embeddings + kNN + LR, embedding only",
    "composition+knn+fusion": "composition embedder + kNN + LR",
    "finetuned-hyenadna": "HyenaDNA-anticapt fine-tuned",
}
FIELDS = ["accuracy", "macro_f1", "mcc", "auroc", "train_time_s", "infer_ms_per_seq",
          "energy_kwh", "infer_energy_kwh", "co2_kg"]


def load(suite, task):
    if task != "nontata_cv":
        path = f"{suite}/{task}/report.json"
        return [json.load(open(path))] if os.path.exists(path) else []
    folds = [f"{suite}/nontata_cv_fold{k}/report.json" for k in range(5)]
    return [json.load(open(p)) for p in folds if os.path.exists(p)]


def mean_rows(reports):
    rows = {}
    for report in reports:
        for p in report["pipelines"]:
            rows.setdefault(p["name"], []).append(p)
    return {name: {f: sum((r[f] or 0) for r in rs) / len(rs) for f in FIELDS}
            for name, rs in rows.items()}


def table(rows):
    out = ["| pipeline | accuracy | macro-F1 | MCC | AUROC | train s | infer ms/seq | kWh (train+infer) | kg CO2 |",
           "|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        out.append(f"| {NAMES.get(name, name)} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | "
                   f"{r['mcc']:.4f} | {r['auroc']:.4f} | {r['train_time_s']:.1f} | "
                   f"{r['infer_ms_per_seq']:.3f} | {r['energy_kwh']:.2e} | {r['co2_kg']:.2e} |")
    emb, ft = rows.get("embedding+knn+fusion"), rows.get("finetuned-hyenadna")
    if emb and ft:
        out.append("")
        out.append(f"Fine-tuned / embedding pipeline: inference time "
                   f"{ft['infer_ms_per_seq'] / emb['infer_ms_per_seq']:.2f}x, inference energy "
                   f"{ft['infer_energy_kwh'] / emb['infer_energy_kwh']:.2f}x, total energy "
                   f"{ft['energy_kwh'] / emb['energy_kwh']:.2f}x.")
    return "\n".join(out)


def finetune_note(suite):
    """One line on how far the fine-tuned model trained, from every task's (and fold's) report."""
    runs = []
    for task, _ in TASKS:
        for r in load(suite, task):
            f = r["method"].get("finetune")
            if f:
                runs.append(f)
    if not runs:
        return "- No fine-tuned model was trained."
    epochs = [f["epochs"] for f in runs]
    rows = [f["n_train"] for f in runs]
    stops = {}
    for f in runs:
        stops[f["stopped"]] = stops.get(f["stopped"], 0) + 1
    short = [f for f in runs if f["epochs"] < 3 and f["stopped"] != "early_stopping"]
    stopped = ", ".join(f"{n} by {why.replace('_', ' ')}" for why, n in sorted(stops.items()))
    line = (f"- The fine-tuned model trained on {min(rows)}-{max(rows)} rows per run for "
            f"{min(epochs):.2f}-{max(epochs):.2f} epochs ({len(runs)} runs: stopped {stopped}).")
    if short:
        line += (f" {len(short)} run(s) stopped under 3 epochs without early stopping: "
                 "read those accuracies as what fine-tuning reaches under the caps.")
    else:
        line += " Every run reached 3 epochs or stopped early on its dev split."
    return line


def standing(suite):
    """Where the fine-tuned model stands: its accuracy against the best embedding pipeline of
    each task, in distribution (every task but the shift) and out of it (the shift)."""
    out = ["## Where the fine-tuned model stands", "",
           "| task | distribution | fine-tuned accuracy | best embedding pipeline | its accuracy | fine-tuned minus best |",
           "|---|---|---|---|---|---|"]
    for task, title in TASKS:
        rows = mean_rows(load(suite, task))
        ft = rows.pop("finetuned-hyenadna", None)
        if not ft or not rows:
            continue
        best = max(rows, key=lambda n: rows[n]["accuracy"])
        where = "shifted" if task == "shift" else "in"
        out.append(f"| {title.split(',')[0]} | {where} | {ft['accuracy']:.4f} | "
                   f"{NAMES.get(best, best)} | {rows[best]['accuracy']:.4f} | "
                   f"{ft['accuracy'] - rows[best]['accuracy']:+.4f} |")
    return "\n".join(out + [""]) if len(out) > 4 else ""


def main(suite, results, caps):
    lines = ["# genovec evaluation suite", "",
             "Written by `benches/eval_suite.sh` from `genovec compare` reports. The HyenaDNA "
             "weights are **HyenaDNA-tiny already fine-tuned on aptamers** (anticapt 1.0, "
             "GPL-3.0, fetched at run time), not the pretrained checkpoint.", "",
             f"Fine-tuning caps: {caps}. The embedding pipelines use every training row.", "",
             "How to read these numbers:", "",
             "- Wall times (train s, infer ms/seq) come from a 2-core machine shared with "
             "compiles and other runs. They vary up to 2x between pipelines that run the same "
             "model (the HyenaDNA embedding pipelines with and without fusion). Energy comes from "
             "CPU time, which load disturbs less.",
             finetune_note(suite),
             "- At inference the fine-tuned HyenaDNA-tiny runs the same backbone as the embedding "
             "pipeline, so their inference costs are about equal. The seed paper's 10-20x compares "
             "pipelines built around much larger models.", ""]
    os.makedirs("results", exist_ok=True)
    method = None
    for task, title in TASKS:
        reports = load(suite, task)
        lines += [f"## {title}", ""]
        if not reports:
            lines += ["not run", ""]
            continue
        method = method or reports[0]["method"]
        lines += [table(mean_rows(reports)), ""]
        ft = [r["method"].get("finetune") for r in reports if r["method"].get("finetune")]
        if ft:
            f = ft[0]
            lines += [f"Fine-tune{' (fold 0)' if task == 'nontata_cv' else ''}: {f['n_train']} rows, "
                      f"{f['steps']} steps ({f['epochs']:.2f} epochs), stopped by {f['stopped']}, "
                      f"best dev accuracy {f['best_dev_accuracy']:.4f}.", ""]
        plot_dir = f"{suite}/{task}" if task != "nontata_cv" else f"{suite}/nontata_cv_fold0"
        for png in ("accuracy_vs_time.png", "roc.png"):
            if os.path.exists(f"{plot_dir}/{png}"):
                shutil.copy(f"{plot_dir}/{png}", f"results/{task}_{png}")
                lines += [f"![{task} {png[:-4]}](results/{task}_{png})", ""]
    lines += [standing(suite)]
    times = f"{suite}/times.tsv"
    if os.path.exists(times):
        rows = [l.split("\t") for l in open(times).read().split("\n") if l]
        total = sum(int(t) for _, t in rows)
        lines += ["## Suite run time", "",
                  f"{total} s ({total / 60:.1f} min) in all: " +
                  ", ".join(f"{n} {t} s" for n, t in rows) + ".", ""]
    if method:
        lines += ["## Method", "", method["energy"], "",
                  f"Constants: {method['watts_per_core']} W per busy core, "
                  f"{method['grid_kg_per_kwh']} kg CO2e/kWh (world average); "
                  f"{method['threads']} threads. Times are wall-clock on a shared 2-core machine.", ""]
    open(results, "w").write("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:])
