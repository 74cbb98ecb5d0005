#!/usr/bin/env bash
# Load test of `genovec serve` search against in-process search (k = 10, queries by vector).
#
#   bash benches/http_load.sh
#
# The collection is GUE prom_core_all train + dev (53,276 sequences, default composition
# embedder), indexed once into $OUT/prom.redb. Queries are the first $NQ sequences of
# prom_core_all test.csv (not stored), embedded once into search bodies. The server runs on
# CPU $SERVER_CPU with one worker thread; wrk (Debian package) and then the Rust client in
# benches/http_load.rs load it from CPU $CLIENT_CPU, $CONNECTIONS keep-alive connections for
# $DURATION s each. Then in-process search (engine::search_vectors, one thread) runs on
# $SERVER_CPU for the same time. The ratio is server requests/s over in-process queries/s.
#
# Environment: SHARED (default $GENOVEC_SHARED or ../shared), OUT (bench-out/http_load),
# NQ (2000), CONNECTIONS (4), DURATION (20), SERVER_CPU (0), CLIENT_CPU (1).
# Output: $OUT/{wrk,load,inprocess,summary}.json and the summary on stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

shared="${SHARED:-${GENOVEC_SHARED:-$root/../shared}}"
data="$shared/datasets/gue/prom/prom_core_all"
out="${OUT:-bench-out/http_load}"
nq="${NQ:-2000}"
conns="${CONNECTIONS:-4}"
duration="${DURATION:-20}"
server_cpu="${SERVER_CPU:-0}"
client_cpu="${CLIENT_CPU:-1}"
coll="$out/prom.redb"
mkdir -p "$out"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --bin genovec
bench=(cargo bench --bench http_load --)
"${bench[@]}" help >/dev/null   # build the bench before anything is timed
genovec=target/release/genovec

if [ ! -f "$coll" ]; then
    echo "indexing $data/{train,dev}.csv into $coll" >&2
    "$genovec" index --collection "$coll" --input "$data/train.csv" --input "$data/dev.csv"
fi
"${bench[@]}" queries --collection "$coll" --input "$data/test.csv" --n "$nq" --out "$out/bodies.jsonl"

taskset -c "$server_cpu" "$genovec" serve --collection "$coll" --addr 127.0.0.1:0 --threads 1 \
    2> "$out/serve.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$out/serve.log" && break; sleep 0.1; done
addr="$(grep -o '127.0.0.1:[0-9]*' "$out/serve.log" | head -1)"
echo "server on $addr (CPU $server_cpu)" >&2

# Nanoseconds the server's threads have run on a CPU (schedstat, summed over its threads).
server_cpu_ns() { cat /proc/"$server"/task/*/schedstat | awk '{s += $1} END {printf "%.0f", s}'; }

cpu0=$(server_cpu_ns)
BODIES="$out/bodies.jsonl" SEARCH_PATH=/v1/collections/prom/search \
    taskset -c "$client_cpu" wrk -t1 -c"$conns" -d"${duration}s" -s benches/http_load.lua \
    "http://$addr" | tee "$out/wrk.txt" >&2
cpu1=$(server_cpu_ns)
grep '^{"mode":"wrk"' "$out/wrk.txt" > "$out/wrk.json"
taskset -c "$client_cpu" "${bench[@]}" load --addr "$addr" --name prom --bodies "$out/bodies.jsonl" \
    --connections "$conns" --seconds "$duration" --warmup 0 > "$out/load.json"
cpu2=$(server_cpu_ns)
echo "{\"wrk_cpu_s\": $(( (cpu1 - cpu0) / 1000 ))e-6, \"load_cpu_s\": $(( (cpu2 - cpu1) / 1000 ))e-6}" \
    > "$out/server_cpu.json"
kill -TERM "$server"; wait "$server" || true
trap - EXIT

taskset -c "$server_cpu" "${bench[@]}" inprocess --collection "$coll" --bodies "$out/bodies.jsonl" \
    --seconds "$duration" > "$out/inprocess.json"

python3 - "$out" <<'PY' | tee "$out/summary.json"
import json, sys
out = sys.argv[1]
read = lambda name: json.load(open(f"{out}/{name}.json"))
wrk, load, inproc, cpu = read("wrk"), read("load"), read("inprocess"), read("server_cpu")
def client(run, cpu_s):
    # ratio: wall-clock requests/s over in-process queries/s; cpu_ratio: the same per
    # second of CPU time, which other processes on a shared machine do not disturb.
    return {**run, "ratio": round(run["rps"] / inproc["qps"], 3), "server_cpu_s": round(cpu_s, 2),
            "cpu_ratio": round(run["requests"] / cpu_s / inproc["cpu_qps"], 3)}
summary = {
    "records": inproc["records"], "k": 10, "connections": load["connections"],
    "inprocess_qps": round(inproc["qps"], 1), "inprocess_cpu_qps": round(inproc["cpu_qps"], 1),
    "inprocess_p50_ms": round(inproc["p50_ms"], 3), "inprocess_p99_ms": round(inproc["p99_ms"], 3),
    "wrk": client(wrk, cpu["wrk_cpu_s"]),
    "rust_client": client(load, cpu["load_cpu_s"]),
}
print(json.dumps(summary, indent=1))
PY
