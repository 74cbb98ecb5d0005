#!/usr/bin/env bash
# Classification throughput, genovec vs the scikit-learn 4-mer LR baseline, back to back in
# one run, both on THREADS threads (default one), on the same query sequences:
#   251 bp: Genomic Benchmarks human_nontata_promoters test (9034 sequences)
#   500 bp: GUE EMP H3 test (1497 sequences)
# Both sides tile the queries up to N sequences per timed pass and report the best of
# REPEATS passes. Prints the ratio genovec / sklearn for each length (and each sklearn
# batch size the Python script measures).
#
#   bash benches/throughput_compare.sh [--shared DIR]      (default ../shared)
#   env: THREADS=1 N=20000 REPEATS=3 TRAIN_251=gb5k|gue OUT=bench-out/throughput QUANTIZE=none|int8
#        PY=benches/.venv/bin/python (see benches/sklearn_setup.sh)
#        GENOVEC_THROUGHPUT_BIN=path  (a prebuilt classify_throughput binary instead of cargo)
#
# What each side times (see the header of each file):
#   genovec  benches/classify_throughput.rs: engine::classify_records, the call behind
#            `genovec classify` (composition embedding, HNSW kNN, linear model, fusion,
#            neighbour names), from records in memory, one sequence at a time.
#   sklearn  benches/sklearn_throughput.py: 4-mer frequency featurisation + predict_proba,
#            from Python strings, vectorised over batches.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

shared=../shared
while [ $# -gt 0 ]; do
    case "$1" in
        --shared) shared="$2"; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
N="${N:-20000}"
REPEATS="${REPEATS:-3}"
TRAIN_251="${TRAIN_251:-gb5k}"
OUT="${OUT:-bench-out/throughput}"
PY="${PY:-benches/.venv/bin/python}"
mkdir -p "$OUT"

# THREADS (default 1) on both sides: genovec classifies its queries on rayon's threads,
# scikit-learn's matrix products use BLAS threads.
threads="${THREADS:-1}"
export RAYON_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
    MKL_NUM_THREADS="$threads"

if [ ! -f benches/sklearn_throughput.py ]; then
    echo "benches/sklearn_throughput.py is missing" >&2; exit 1
fi
if [ ! -x "$PY" ]; then
    echo "$PY not found: run bash benches/sklearn_setup.sh first" >&2; exit 1
fi

genovec_args=(--shared "$shared" --n "$N" --repeats "$REPEATS" --train-251 "$TRAIN_251"
              --out "$OUT/genovec.jsonl" --quantize "${QUANTIZE:-none}")
echo "== genovec (classify_throughput)" >&2
if [ -n "${GENOVEC_THROUGHPUT_BIN:-}" ]; then
    "$GENOVEC_THROUGHPUT_BIN" "${genovec_args[@]}" >/dev/null
else
    cargo bench --quiet --bench classify_throughput -- "${genovec_args[@]}" >/dev/null
fi

echo "== scikit-learn (sklearn_throughput.py)" >&2
"$PY" benches/sklearn_throughput.py --shared "$shared" --n "$N" --repeats "$REPEATS" \
    --out "$OUT/sklearn.json" >/dev/null

"$PY" - "$OUT/genovec.jsonl" "$OUT/sklearn.json" "$OUT/compare.json" <<'PYEOF'
import json, re, sys

genovec_path, sklearn_path, out_path = sys.argv[1:4]
genovec = [json.loads(l) for l in open(genovec_path) if l.strip()]
sk = json.load(open(sklearn_path))

def length_of(run):
    if "length_bp" in run:
        return int(run["length_bp"])
    m = re.match(r"(\d+)bp", run.get("name", ""))
    if m:
        return int(m.group(1))
    return round(run["query_len_bp"]["mean"])

def rate(run):
    for key in ("seq_per_s", "seqs_per_s_best", "seq_per_s_best"):
        if key in run:
            return float(run[key])
    raise KeyError(f"no throughput field in {sorted(run)}")

rows = []
for g in genovec:
    L = length_of(g)
    for s in (r for r in sk["runs"] if length_of(r) == L):
        rows.append({
            "length_bp": L,
            "n": g["n"],
            "genovec_seq_per_s": rate(g),
            "genovec_cpu_per_wall": g.get("cpu_per_wall"),
            "genovec_seq_per_cpu_s": g.get("seq_per_cpu_s"),
            "genovec_collection_records": g.get("collection_records"),
            "sklearn_batch": s.get("batch"),
            "sklearn_seq_per_s": rate(s),
            "ratio_genovec_over_sklearn": round(rate(g) / rate(s), 3),
        })

print(f"{'length':>6} {'n':>6} {'genovec seq/s':>14} {'sklearn batch':>13} "
      f"{'sklearn seq/s':>14} {'genovec/sklearn':>16}")
for r in rows:
    print(f"{r['length_bp']:>6} {r['n']:>6} {r['genovec_seq_per_s']:>14.0f} "
          f"{str(r['sklearn_batch']):>13} {r['sklearn_seq_per_s']:>14.0f} "
          f"{r['ratio_genovec_over_sklearn']:>16.3f}")
json.dump({"genovec": genovec, "sklearn": sk, "compare": rows}, open(out_path, "w"), indent=2)
print(f"written {out_path}", file=sys.stderr)
PYEOF
