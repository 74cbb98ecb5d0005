#!/usr/bin/env bash
# genovec's graph search vs hnswlib on the same vectors, one thread, same M / ef_construction
# and the same ef sweep, on two datasets:
#   gue    - default composition embeddings of GUE prom_core_all train (47,356 sequences);
#            queries: the first $NQ sequences of prom_core_all dev.csv
#   random - seeded uniform 128-d vectors, $RANDOM_N base / $NQ queries
# Both unit-normalised and searched by cosine (hnswlib: space 'ip' = 1 - dot).
# A third run searches hnswlib's exported graph with genovec's search code, to tell the
# graph (builder) apart from the search loop. BUILD_THREADS=2 builds both graphs on two
# threads (searches stay on one).
#
#   bash benches/ann_compare.sh            # both datasets, table at the end
#   DATASETS=random bash benches/ann_compare.sh
#
# Environment: STORE_INDEX (1), TRAIN_CSV / QUERIES_CSV (other sequences for the gue run), ANN_BIN (a prebuilt bench binary), SHARED (default /work/shared), NQ (1000), RANDOM_N (50000), RANDOM_DIM (128),
# SEED (42), EF (comma list), RANDOM_EF (EF plus 768..2048), REPEATS (3 passes per ef), BUILD_THREADS (1),
# ROUNDS (2: rounds after the first re-search the cached indexes; best pass counts), OUT (bench-out),
# PIN (a command prefix such as "taskset -c 1", default none).
# Output: $OUT/ann_{gue,random}/{genovec,hnswlib}.json, $OUT/ann_compare.json and the table.
# The venv benches/.venv (git-ignored) is created if missing; hnswlib is pip-installed into it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

shared="${SHARED:-/work/shared}"
nq="${NQ:-1000}"
random_n="${RANDOM_N:-50000}"
random_dim="${RANDOM_DIM:-128}"
seed="${SEED:-42}"
ef="${EF:-10,16,24,32,48,64,96,128,192,256,384,512}"
# Uniform random 128-d vectors need a far wider beam to reach recall 0.95 / 0.99.
random_ef="${RANDOM_EF:-$ef,768,1024,1536,2048}"
rounds="${ROUNDS:-2}"
repeats="${REPEATS:-3}"
out="${OUT:-bench-out}"
datasets="${DATASETS:-gue random}"
pin=(${PIN:-})

# One thread everywhere but the builds: genovec builds through rayon, numpy/BLAS must not fan out.
build_threads="${BUILD_THREADS:-1}"
export RAYON_NUM_THREADS="$build_threads" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    echo "creating venv at $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import numpy, hnswlib' 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet numpy hnswlib
fi
"$venv/bin/python" -c 'import hnswlib, numpy, sys; from importlib.metadata import version; print("python", sys.version.split()[0], "numpy", numpy.__version__, "hnswlib", version("hnswlib"))' >&2

# Build once, then run the binary itself (a later `cargo bench` would wait on, or rebuild
# after, any other cargo job touching target/ while the timings run). ANN_BIN=path skips
# the build and runs that binary instead.
bin="${ANN_BIN:-}"
if [ -z "$bin" ]; then
    cargo bench --bench ann_compare --no-run >&2
    bin="$(cargo bench --bench ann_compare --no-run --message-format=json 2>/dev/null \
        | grep '"kind":\["bench"\]' | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)"
fi
[ -x "$bin" ] || { echo "no ann_compare binary (got '$bin')" >&2; exit 1; }
echo "ann_compare binary: $bin" >&2

mkdir -p "$out"
py() { "${pin[@]}" "$venv/bin/python" "$here/ann_compare.py" "$@"; }
dirs=()
for ds in $datasets; do
    dir="$out/ann_$ds"
    mkdir -p "$dir"
    sweep="$ef"
    case "$ds" in
        gue)
            args=(--dataset gue
                  --train "${TRAIN_CSV:-$shared/datasets/gue/prom/prom_core_all/train.csv}"
                  --queries-file "${QUERIES_CSV:-$shared/datasets/gue/prom/prom_core_all/dev.csv}")
            first=()
            # STORE_INDEX=0 skips timing the store's index path (another full build).
            [ "${STORE_INDEX:-1}" = 1 ] && first=(--store-index) ;;
        random)
            args=(--dataset random --n "$random_n" --dim "$random_dim" --seed "$seed")
            first=()
            sweep="$random_ef" ;;
        *) echo "unknown dataset $ds (gue or random)" >&2; exit 2 ;;
    esac
    common=(--nq "$nq" --ef "$sweep" --repeats "$repeats" --out-dir "$dir")
    # Round 1 builds (and times) both indexes and caches them; later rounds only search the
    # cached ones again, alternating engines, and each ef keeps its best QPS over all rounds.
    rm -f "$dir/genovec.graph" "$dir/hnswlib.index"
    for round in $(seq 1 "$rounds"); do
        extra=()
        [ "$round" = 1 ] && extra+=("${first[@]}")
        echo "== $ds round $round/$rounds: genovec" >&2
        "${pin[@]}" "$bin" "${args[@]}" "${common[@]}" "${extra[@]}" \
            --graph-cache "$dir/genovec.graph" > "$dir.genovec.stdout"
        echo "== $ds round $round/$rounds: hnswlib" >&2
        py run "$dir" --repeats "$repeats" --build-threads "$build_threads" --index-cache "$dir/hnswlib.index" \
            > "$dir.hnswlib.stdout"
        echo "== $ds round $round/$rounds: genovec's search code on hnswlib's graph" >&2
        "${pin[@]}" "$bin" --on-hnswlib-graph "${common[@]}" > "$dir.crossed.stdout"
        for f in genovec hnswlib genovec_on_hnswlib_graph; do
            if [ "$round" = 1 ]; then
                cp "$dir/$f.json" "$dir/$f.best.json"
            else
                py merge "$dir/$f.best.json" "$dir/$f.json"
            fi
        done
    done
    for f in genovec hnswlib genovec_on_hnswlib_graph; do
        mv "$dir/$f.best.json" "$dir/$f.json"
    done
    dirs+=("$dir")
done

echo >&2
"$venv/bin/python" "$here/ann_compare.py" combine "${dirs[@]}" --out "$out/ann_compare.json"
