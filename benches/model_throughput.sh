#!/usr/bin/env bash
# Embedding throughput on CPU of genovec's candle language models against PyTorch on the same
# configurations, in one run, with the same thread count (results in BENCHMARKS.md).
#
#   bash benches/model_throughput.sh
#
# Environment knobs: REPS (3), THREADS ("1 2"), MIN_SECS (3: minimum timed seconds per
# measurement), MODELS (all four names below), TORCH_VENV (/tmp/torchvenv), GENOVEC_SHARED
# (../shared: the folder holding fixtures/models/), FEATURES (extra cargo arguments for the genovec
# build, e.g. FEATURES="--features mkl" after `eval "$(bash benches/mkl_setup.sh)"`; the
# summary's meta records them).
#
# Steps:
# 1. benches/torch_setup.sh (venv with CPU PyTorch, transformers, safetensors);
# 2. benches/make_random_checkpoints.py: real-size random checkpoints in bench-out/checkpoints/;
# 3. builds benches/model_throughput.rs once (cargo bench --no-run) and runs the binary directly;
# 4. dumps genovec's token ids for 32 random 500 bp sequences per model (both sides then run
#    the very same token counts and padding), and checks the PyTorch HyenaDNA against genovec;
# 5. REPS rounds; in each, for every thread count and model, genovec then PyTorch (the order
#    flips every round), so that the machine's load hits both sides alike. Round 1 also times
#    genovec's public embed_batch (forward batch fixed at 16) and PyTorch's secondary variants
#    (native BertModel / EsmModel FFN);
# 6. writes bench-out/model_throughput.jsonl (every measurement) and bench-out/model_throughput.json
#    (median and best over rounds, ratio = genovec / PyTorch), and prints a table.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"
export TORCH_VENV="${TORCH_VENV:-/tmp/torchvenv}"
py="$TORCH_VENV/bin/python"
reps="${REPS:-3}"
threads_list="${THREADS:-1 2}"
min_secs="${MIN_SECS:-3}"
models="${MODELS:-dnabert2_117m nt_v2_50m hyenadna_tiny_1k hyenadna_small_32k}"
out="$root/bench-out"
work="$out/model_throughput"
mkdir -p "$work"
raw="$out/model_throughput.jsonl"
: >"$raw"

bash "$here/torch_setup.sh"
"$py" "$here/make_random_checkpoints.py" --out "$out/checkpoints" \
    --fixtures "${GENOVEC_SHARED:-$root/../shared}/fixtures/models"

# shellcheck disable=SC2086 # FEATURES is a list of cargo arguments
exe="$(cargo bench --bench model_throughput ${FEATURES:-} --no-run --message-format=json 2>/dev/null |
    "$py" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "model_throughput":
        print(m["executable"])')"
[ -x "$exe" ] || { echo "could not build benches/model_throughput.rs" >&2; exit 1; }
echo "genovec bench binary: $exe (cargo arguments: ${FEATURES:-none})"
export GENOVEC_FEATURES="${FEATURES:-}"

family() {
    case "$1" in
        dnabert2*) echo dnabert2 ;;
        nt*) echo nt ;;
        hyenadna*) echo hyenadna ;;
    esac
}
primary() {
    case "$1" in
        dnabert2) echo bert_geglu ;;
        nt) echo esm_swiglu ;;
        hyenadna) echo hyena_ref ;;
    esac
}

for m in $models; do
    f="$(family "$m")"
    RAYON_NUM_THREADS=1 "$exe" --family "$f" --dir "$out/checkpoints/$m" --name "$m" \
        --dump-tokens "$work/tokens_$m.json"
    if [ "$f" = hyenadna ]; then
        OMP_NUM_THREADS=1 "$py" "$here/model_throughput_torch.py" --model "$f" \
            --dir "$out/checkpoints/$m" --tokens "$work/tokens_$m.json" --name "$m" \
            --check --batches 1 --min-secs 0 --min-calls 1 >/dev/null
    fi
done

run_genovec() { # model threads round
    local f extra=()
    f="$(family "$1")"
    [ "$3" = 1 ] && extra=(--embed-batch)
    # OMP_/MKL_NUM_THREADS: MKL's OpenMP pool when the build has the mkl feature.
    RAYON_NUM_THREADS="$2" CANDLE_NUM_THREADS="$2" OMP_NUM_THREADS="$2" MKL_NUM_THREADS="$2" \
        "$exe" --family "$f" \
        --dir "$out/checkpoints/$1" --name "$1" --threads "$2" --batches 1,32 \
        --min-secs "$min_secs" --min-calls 1 "${extra[@]}" |
        "$py" -c "import json, sys
for l in sys.stdin:
    d = json.loads(l); d['round'] = $3; print(json.dumps(d))" | tee -a "$raw"
}
run_torch() { # model threads round
    local f variants
    f="$(family "$1")"
    variants="$(primary "$f")"
    if [ "$3" = 1 ]; then variants=""; fi # round 1: every variant
    OMP_NUM_THREADS="$2" MKL_NUM_THREADS="$2" "$py" "$here/model_throughput_torch.py" \
        --model "$f" --dir "$out/checkpoints/$1" --tokens "$work/tokens_$1.json" --name "$1" \
        --threads "$2" --batches 1,32 --min-secs "$min_secs" --min-calls 1 \
        ${variants:+--variants "$variants"} |
        "$py" -c "import json, sys
for l in sys.stdin:
    d = json.loads(l); d['round'] = $3; print(json.dumps(d))" | tee -a "$raw"
}

start=$(date +%s)
for round in $(seq 1 "$reps"); do
    for t in $threads_list; do
        for m in $models; do
            echo "== round $round, threads $t, $m ($(($(date +%s) - start)) s)" >&2
            if [ $((round % 2)) = 1 ]; then
                run_genovec "$m" "$t" "$round"
                run_torch "$m" "$t" "$round"
            else
                run_torch "$m" "$t" "$round"
                run_genovec "$m" "$t" "$round"
            fi
        done
    done
done
echo "measurements took $(($(date +%s) - start)) s" >&2

"$py" - "$raw" "$out/model_throughput.json" "$work" <<'PY'
import json, statistics, sys
from pathlib import Path
import torch, transformers

raw, dest, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
rows = [json.loads(l) for l in open(raw) if l.strip()]
groups = {}
for r in rows:
    groups.setdefault((r["model"], r["threads"], r["batch"], r["impl"], r["path"]), []).append(r)
summary = []
for (model, threads, batch, impl, path), rs in sorted(groups.items()):
    v = [r["seq_per_s"] for r in rs]
    summary.append({
        "model": model, "threads": threads, "batch": batch, "impl": impl, "path": path,
        "rounds": len(rs), "seq_per_s_median": statistics.median(v), "seq_per_s_best": max(v),
        "seq_per_s_all": v, "tokens_mean": rs[0]["tokens_mean"],
        "padded_tokens_mean": rs[0]["padded_tokens_mean"],
        "cpu_per_wall_median": statistics.median(r["cpu_per_wall"] for r in rs),
    })
by = {(s["model"], s["threads"], s["batch"], s["impl"], s["path"]): s for s in summary}
primary = {"dnabert2": "bert_geglu", "nt": "esm_swiglu", "hyenadna": "hyena_ref"}
secondary = {"dnabert2": "bert_native", "nt": "esm_native"}
ratios = []
for s in summary:
    if s["impl"] != "genovec" or s["path"] != "forward":
        continue
    fam = next(f for f in primary if s["model"].startswith(f))
    row = {"model": s["model"], "threads": s["threads"], "batch": s["batch"],
           "tokens_mean": s["tokens_mean"], "padded_tokens_mean": s["padded_tokens_mean"],
           "genovec_median": s["seq_per_s_median"], "genovec_best": s["seq_per_s_best"]}
    eb = by.get((s["model"], s["threads"], s["batch"], "genovec", "embed_batch"))
    if eb:
        row["genovec_embed_batch_round1"] = eb["seq_per_s_median"]
    for tag, variant in (("torch", primary[fam]), ("torch_native", secondary.get(fam))):
        t = by.get((s["model"], s["threads"], s["batch"], "torch", variant)) if variant else None
        if t is None:
            continue
        row[f"{tag}_variant"] = variant
        row[f"{tag}_median"] = t["seq_per_s_median"]
        row[f"{tag}_best"] = t["seq_per_s_best"]
        row[f"ratio_{tag}_median"] = s["seq_per_s_median"] / t["seq_per_s_median"]
        row[f"ratio_{tag}_best"] = s["seq_per_s_best"] / t["seq_per_s_best"]
    ratios.append(row)
meta = {"torch": torch.__version__, "transformers": transformers.__version__,
        "genovec_cargo_args": __import__("os").environ.get("GENOVEC_FEATURES", ""),
        "genovec_mkl": any(r.get("mkl") for r in rows if r["impl"] == "genovec"),
        "torch_mkldnn": torch.backends.mkldnn.is_available(),
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                     if l.startswith("model name")), None),
        "nproc": len(__import__("os").sched_getaffinity(0))}
json.dump({"meta": meta, "ratios": ratios, "summary": summary}, open(dest, "w"), indent=1)

print(f"\ntorch {meta['torch']}, transformers {meta['transformers']}, {meta['cpu']}, "
      f"genovec mkl: {meta['genovec_mkl']}")
print(f"{'model':20} {'thr':>3} {'batch':>5} {'tokens':>6} {'genovec med/best':>18} "
      f"{'torch med/best':>18} {'ratio med/best':>16} {'vs native':>10}")
for r in ratios:
    nat = f"{r['ratio_torch_native_median']:.2f}" if "ratio_torch_native_median" in r else "-"
    print(f"{r['model']:20} {r['threads']:>3} {r['batch']:>5} {r['padded_tokens_mean']:>6.1f} "
          f"{r['genovec_median']:>8.2f}/{r['genovec_best']:<8.2f} "
          f"{r.get('torch_median', float('nan')):>8.2f}/{r.get('torch_best', float('nan')):<8.2f} "
          f"{r.get('ratio_torch_median', float('nan')):>7.2f}/{r.get('ratio_torch_best', float('nan')):<7.2f} "
          f"{nat:>10}")
print(f"\nwrote {dest}")
PY
