#!/usr/bin/env bash
# Open to first answer on a stored collection: the wall time and peak RSS of one `genovec
# search` (open, embed one query, search, print), of `info` (a full open), of `classify`
# on NQ queries and of `serve` to its first answered search, REPEATS runs each, alternating
# with a BASE binary when one is given, so that both are measured in the same run on the
# same page cache.
#
#   bash benches/open_first_answer.sh COLLECTION QUERIES_CSV
#   env: BIN=target/release/genovec BASE=path/to/older/genovec REPEATS=3 NQ=2000
#        COLD=1 (drop the page cache before each run; needs root)
#
# The collection of BENCHMARKS.md's million-record section comes from benches/gen_records.py
# and `genovec index --no-train`; QUERIES_CSV is the generated query set (name,sequence,label).
set -euo pipefail

collection="$1"
queries="$2"
bin="${BIN:-target/release/genovec}"
repeats="${REPEATS:-3}"
nq="${NQ:-2000}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

query="$(sed -n 2p "$queries" | cut -d, -f2)"
head -n "$((nq + 1))" "$queries" > "$tmp/q.csv"

# One timed command: prints "seconds peak_kb".
timed() {
    if [ "${COLD:-0}" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
    /usr/bin/time -f '%e %M' -o "$tmp/time" "$@" > "$tmp/out" 2> "$tmp/err" ||
        { cat "$tmp/err" >&2; exit 1; }
    cat "$tmp/time"
}

report() {
    local name="$1" what="$2"; shift 2
    read -r secs kb < <(timed "$@")
    printf '%-6s %-22s %8.2f s %8.0f MB\n' "$name" "$what" "$secs" "$((kb / 1024))"
}

# `serve`: from launch to the first answered search (one sequence over HTTP), and the
# server's resident memory then. Nothing is written to the collection.
serve_report() {
    local name="$1" b="$2" port=$((7800 + RANDOM % 1000))
    local body="{\"sequences\": [\"$query\"], \"k\": 10}"
    if [ "${COLD:-0}" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
    local t0 t1 pid
    t0=$(date +%s.%N)
    "$b" serve --collection "$collection" --addr "127.0.0.1:$port" --no-train \
        > "$tmp/serve.out" 2>&1 &
    pid=$!
    until curl -sf -o /dev/null -X POST -H 'content-type: application/json' \
        -d "$body" "http://127.0.0.1:$port/v1/collections/$(basename "$collection" .redb)/search"; do
        kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.out" >&2; exit 1; }
        sleep 0.02
    done
    t1=$(date +%s.%N)
    local kb
    kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    kill -TERM "$pid"; wait "$pid" || true
    printf '%-6s %-22s %8.2f s %8.0f MB\n' "$name" "serve: first answer" \
        "$(echo "$t1 - $t0" | bc)" "$((kb / 1024))"
}

binaries=("new:$bin")
[ -n "${BASE:-}" ] && binaries+=("base:$BASE")
echo "collection $collection ($(du -h "$collection" | cut -f1)), $nq classify queries"
for round in $(seq "$repeats"); do
    for entry in "${binaries[@]}"; do
        name="${entry%%:*}" b="${entry#*:}"
        report "$name" "search, one query" "$b" search --collection "$collection" --sequence "$query" --k 10
        report "$name" "info (full open)" "$b" info --collection "$collection"
        report "$name" "classify, $nq queries" "$b" classify --collection "$collection" --input "$tmp/q.csv"
        serve_report "$name" "$b"
    done
done
