#!/usr/bin/env bash
# Chooses the composition embedder's default k set by 3-fold cross-validation on training
# splits only (never a test file). Prints one TSV row per (config, dataset) and the mean.
# Usage: benches/composition_kselect.sh [SHARED] > bench-out/kselect.tsv
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${1:-${GENOVEC_SHARED:-../shared}}"
D="$SHARED/datasets"
# GENOVEC_BIN runs a prebuilt binary instead of building one.
BIN="${GENOVEC_BIN:-target/release/genovec}"
[ -n "${GENOVEC_BIN:-}" ] || cargo build --release --quiet
TRAIN_SETS=(
  "prom_300_tata:$D/gue/prom/prom_300_tata/train.csv"
  "emp_h3:$D/gue/EMP/H3/dev.csv"
  "splice:$D/gue/splice/reconstructed/dev.csv"
)
CONFIGS=(
  "k=1,2,3,4,5"
  "k=1,2,3,4"
  "k=3,4,5"
  "k=4,5"
  "k=1,2,3,4;canonical=false"
  "k=1,2,3,4,5;sqrt=false"
  "k=1,2,3,4,5;hw=0"
)
printf 'config\tdataset\taccuracy\tmacro_f1\n'
for config in "${CONFIGS[@]}"; do
  for entry in "${TRAIN_SETS[@]}"; do
    name="${entry%%:*}"; file="${entry#*:}"
    json=$("$BIN" eval --data "$file" --folds 3 --seed 1 --embedder "composition:$config" --json)
    python3 -c 'import json,sys; d=json.loads(sys.argv[3]); print("%s\t%s\t%.4f\t%.4f" % (sys.argv[1], sys.argv[2], d["accuracy"], d["macro_f1"]))' "$config" "$name" "$json"
  done
done
