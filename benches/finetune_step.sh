#!/usr/bin/env bash
# One fine-tuning step (forward, cross-entropy, backward, AdamW) of genovec's candle models
# against PyTorch on the same configuration, weights-shape and tokens, in one run, with the
# same thread count (results in BENCHMARKS.md).
#
#   bash benches/finetune_step.sh
#
# Environment knobs: REPS (3 rounds), THREADS ("1 2"), STEPS (timed steps per measurement,
# default 5; the median is reported), MODELS (default "hyenadna_tiny_1k nt_v2_50m
# dnabert2_117m"), BATCH (16), BP (300), TORCH_VENV (/tmp/torchvenv), GENOVEC_SHARED
# (../shared, for fixtures/models/), FEATURES (extra cargo arguments, e.g. "--features cuda"),
# GENOVEC_ARGS (extra arguments of genovec's side, e.g. "--whole-batch").
#
# Steps: benches/torch_setup.sh; benches/make_random_checkpoints.py (real-size checkpoints
# with random weights in bench-out/checkpoints/); one build of benches/finetune_step.rs; the
# token dump of each model's batch (both sides train on the very same tokens); then REPS
# rounds, each timing genovec and PyTorch for every thread count and model, the order flipping
# every round. Writes bench-out/finetune_step.jsonl (every measurement) and
# bench-out/finetune_step.json (median over rounds, ratio = genovec steps/s / PyTorch steps/s),
# and prints a table.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"
export TORCH_VENV="${TORCH_VENV:-/tmp/torchvenv}"
py="$TORCH_VENV/bin/python"
reps="${REPS:-3}"
threads_list="${THREADS:-1 2}"
steps="${STEPS:-5}"
models="${MODELS:-hyenadna_tiny_1k nt_v2_50m dnabert2_117m}"
batch="${BATCH:-16}"
bp="${BP:-300}"
out="$root/bench-out"
work="$out/finetune_step"
mkdir -p "$work"
raw="$out/finetune_step.jsonl"
: >"$raw"

bash "$here/torch_setup.sh"
"$py" "$here/make_random_checkpoints.py" --out "$out/checkpoints" \
    --fixtures "${GENOVEC_SHARED:-$root/../shared}/fixtures/models"

# shellcheck disable=SC2086 # FEATURES is a list of cargo arguments
exe="$(cargo bench --bench finetune_step ${FEATURES:-} --no-run --message-format=json 2>/dev/null |
    "$py" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "finetune_step":
        print(m["executable"])')"
[ -x "$exe" ] || { echo "could not build benches/finetune_step.rs" >&2; exit 1; }
echo "genovec bench binary: $exe"

family() {
    case "$1" in
        dnabert2*) echo dnabert2 ;;
        nt*) echo nt ;;
        hyenadna*) echo hyenadna ;;
        *) echo "unknown model $1" >&2; exit 2 ;;
    esac
}

for m in $models; do
    "$exe" --family "$(family "$m")" --dir "$out/checkpoints/$m" --batch "$batch" --bp "$bp" \
        --dump-tokens "$work/$m.tokens.json"
done

# shellcheck disable=SC2086 # GENOVEC_ARGS is a list of arguments
genovec() { # model threads
    "$exe" --family "$(family "$1")" --dir "$out/checkpoints/$1" --name "$1" --threads "$2" \
        --batch "$batch" --bp "$bp" --steps "$steps" ${GENOVEC_ARGS:-} >>"$raw"
}
torch() { # model threads
    "$py" "$here/finetune_step_torch.py" --model "$(family "$1")" --dir "$out/checkpoints/$1" \
        --tokens "$work/$1.tokens.json" --name "$1" --threads "$2" --steps "$steps" >>"$raw"
}

for round in $(seq 1 "$reps"); do
    for t in $threads_list; do
        for m in $models; do
            echo "round $round, $t thread(s), $m" >&2
            if [ $((round % 2)) -eq 1 ]; then genovec "$m" "$t"; torch "$m" "$t";
            else torch "$m" "$t"; genovec "$m" "$t"; fi
        done
    done
done

"$py" - "$raw" "$out/finetune_step.json" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
groups = {}
for r in rows:
    groups.setdefault((r["model"], r["threads"], r["impl"]), []).append(r["step_s"])
summary = []
print(f"{'model':18} {'threads':>7} {'genovec s/step':>15} {'torch s/step':>13} {'ratio':>6}")
for (model, threads) in sorted({(m, t) for (m, t, _) in groups}):
    g = statistics.median(groups.get((model, threads, "genovec"), [float("nan")]))
    t = statistics.median(groups.get((model, threads, "torch"), [float("nan")]))
    ratio = t / g  # genovec steps/s over torch steps/s
    summary.append({"model": model, "threads": threads, "genovec_step_s": g,
                    "torch_step_s": t, "ratio": ratio,
                    "rounds": len(groups.get((model, threads, "genovec"), []))})
    print(f"{model:18} {threads:>7} {g:>15.3f} {t:>13.3f} {ratio:>6.2f}")
json.dump(summary, open(sys.argv[2], "w"), indent=1)
PYEOF
