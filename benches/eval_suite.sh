#!/usr/bin/env bash
# The evaluation suite: `genovec compare` over the seed paper's protocol on ../shared/datasets,
# then RESULTS.md. Pipelines: HyenaDNA-anticapt embeddings + kNN + LR with and without the
# Z-curve/GC features, the composition embedder, and HyenaDNA-anticapt fine-tuned.
#
#   benches/eval_suite.sh [SHARED]
#
# Resumable task by task: a task (or CV fold) whose report.json exists is not rerun; delete
# bench-out/suite/<task> to redo it. GENOVEC_BIN runs a prebuilt binary (built with
# --features plots for the PNGs).
#
# Caps on fine-tuning (the embedding pipelines always use every training row). The defaults give
# the fine-tuned model 5,000 training rows and time for 3 epochs or early stopping on dev; the
# suite takes about 2 hours on 2 cores (RESULTS.md states each run's time):
#   FT_MAX_TRAIN   training rows per fine-tune (stratified subsample), default 5000
#   FT_MINUTES     wall-time budget per fine-tune, default 30 (FT_CV_MINUTES 15 per CV fold)
#   FT_MAX_DEV     dev rows scored at each early-stopping check, default 300
# Tasks run quickest first: the short-sequence ones stop early on dev in minutes, while the
# 300 bp ones (prom_300_tata, shift) use most of their budget.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${1:-${GENOVEC_SHARED:-../shared}}"
D="$SHARED/datasets"
G="$D/gue/prom"
NT="$D/genomic_benchmarks/human_nontata_promoters/test.csv"
OUT=bench-out/suite
FT_MAX_TRAIN="${FT_MAX_TRAIN:-5000}"
FT_MINUTES="${FT_MINUTES:-30}"
FT_CV_MINUTES="${FT_CV_MINUTES:-15}"
FT_MAX_DEV="${FT_MAX_DEV:-300}"
mkdir -p "$OUT"
BIN="${GENOVEC_BIN:-target/release/genovec}"
[ -n "${GENOVEC_BIN:-}" ] || cargo build --release --features plots --quiet
MODEL="hyenadna:$(bash benches/fetch_anticapt.sh)"

task() {
  local name=$1 minutes=$2; shift 2
  if [ -f "$OUT/$name/report.json" ]; then
    echo "$name: done before, skipped"
    return
  fi
  local start=$SECONDS
  "$BIN" compare --embedder "$MODEL" --out "$OUT/$name.tmp" --max-train "$FT_MAX_TRAIN" \
    --max-minutes "$minutes" --max-dev "$FT_MAX_DEV" "$@" > /dev/null
  rm -rf "$OUT/$name" && mv "$OUT/$name.tmp" "$OUT/$name"
  echo "$name: $((SECONDS - start)) s"
  printf '%s\t%s\n' "$name" "$((SECONDS - start))" >> "$OUT/times.tsv"
}

task prom_core_notata "$FT_MINUTES" \
  --train "$G/prom_core_notata/train.csv" --test "$G/prom_core_notata/test.csv"
task emp_h3 "$FT_MINUTES" --train "$D/gue/EMP/H3/dev.csv" --test "$D/gue/EMP/H3/test.csv"
python3 benches/make_folds.py "$NT" 5 42 "$OUT/nontata_folds"
for k in 0 1 2 3 4; do
  task "nontata_cv_fold$k" "$FT_CV_MINUTES" \
    --train "$OUT/nontata_folds/train$k.csv" --test "$OUT/nontata_folds/test$k.csv"
done
task prom_300_tata "$FT_MINUTES" \
  --train "$G/prom_300_tata/train.csv" --test "$G/prom_300_tata/test.csv"
task shift "$FT_MINUTES" \
  --train "$G/prom_300_notata/dev.csv" "$G/prom_300_notata/test.csv" --test "$NT"
python3 benches/suite_results.py "$OUT" RESULTS.md \
  "FT_MAX_TRAIN=$FT_MAX_TRAIN FT_MINUTES=$FT_MINUTES FT_CV_MINUTES=$FT_CV_MINUTES FT_MAX_DEV=$FT_MAX_DEV"
echo "wrote RESULTS.md and results/"
