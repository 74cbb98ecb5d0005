#!/usr/bin/env bash
# genovec eval on the five tasks of BENCHMARKS.md (the seed paper's protocol), writing each
# task's JSON report and per-row predictions to bench-out/eval/ for the paired comparison
# against scikit-learn (benches/mcnemar.py).
# Usage: benches/eval_tasks.sh [SHARED] [EMBEDDER]
# Environment: OUT (bench-out/eval), EXTRA (more eval flags, e.g. "--quantize int8").
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${1:-${GENOVEC_SHARED:-../shared}}"
EMBEDDER="${2:-composition}"
D="$SHARED/datasets"
G="$D/gue/prom"
NT="$D/genomic_benchmarks/human_nontata_promoters/test.csv"
OUT="${OUT:-bench-out/eval}"
read -r -a EXTRA <<< "${EXTRA:-}"
mkdir -p "$OUT"
# GENOVEC_BIN runs a prebuilt binary instead of building one.
BIN="${GENOVEC_BIN:-target/release/genovec}"
[ -n "${GENOVEC_BIN:-}" ] || cargo build --release --quiet
run() {
  local name=$1; shift
  local start=$SECONDS
  "$BIN" eval "$@" "${EXTRA[@]}" --embedder "$EMBEDDER" --json --predictions "$OUT/$name.tsv" > "$OUT/$name.json"
  echo "$name done in $((SECONDS - start)) s: $(head -c 120 "$OUT/$name.json")"
}
run prom_core_notata --train "$G/prom_core_notata/train.csv" --test "$G/prom_core_notata/test.csv"
run prom_300_tata --train "$G/prom_300_tata/train.csv" --test "$G/prom_300_tata/test.csv"
run emp_h3 --train "$D/gue/EMP/H3/dev.csv" --test "$D/gue/EMP/H3/test.csv"
run nontata_cv --data "$NT" --folds 5 --seed 42
run shift --train "$G/prom_300_notata/dev.csv" "$G/prom_300_notata/test.csv" --test "$NT"
# The same shift with the opt-in correction (the default answers each query on its own).
run shift_adapt_auto --train "$G/prom_300_notata/dev.csv" "$G/prom_300_notata/test.csv" --test "$NT" --adapt auto
