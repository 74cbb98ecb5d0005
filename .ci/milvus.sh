#!/usr/bin/env bash
# Starts and stops a real Milvus 2.3.5 standalone server for tests, taken from the pinned PyPI
# wheel `milvus==2.3.5` (the "Milvus Lite" package: the server binary and its libraries), inside
# a network namespace that has only `lo`, so its ports (19530 gRPC, 9091 healthz/metrics, 2379
# embedded etcd, and several internal ones) neither clash with nor are reachable from the host.
#
#   bash .ci/milvus.sh start          # fetch (cached), start, wait until healthy
#   bash .ci/milvus.sh exec CMD...    # run CMD inside the namespace, where 127.0.0.1:19530 is Milvus
#   bash .ci/milvus.sh stop           # SIGTERM (SIGKILL after 30 s), wipe its data, drop the netns
#
# Environment: MILVUS_HOME (default /tmp/genovec-milvus: wheel, unpacked server, data, log, pid)
# and MILVUS_NETNS (default genovec-milvus). Needs root (network namespaces), python3 with pip,
# and `ip` from iproute2. The wheel's own Python launcher is not used: its stop SIGKILLs after 1 s
# and leaves state behind that makes the next start panic.
set -euo pipefail

home="${MILVUS_HOME:-/tmp/genovec-milvus}"
ns="${MILVUS_NETNS:-genovec-milvus}"
version=2.3.5
wheel_sha=69515a0630ce29fd10e101fa442afea8ca1387b93a456cd9bd41fdf3deb93d04
dist="$home/dist"        # unpacked wheel: bin/ (milvus + libs), config.yaml.template, glog.conf
pidfile="$home/milvus.pid"
log="$home/milvus.log"

die() { echo "milvus.sh: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

command -v ip >/dev/null ||
    die "'ip' not found: install iproute2 (apt-get install -y iproute2)"
[[ $EUID -eq 0 ]] || die "network namespaces need root: run it with sudo"

# A pid counts as running unless it is gone or a zombie (a container's pid 1 may never reap it).
alive() {
    local st
    [[ -r "/proc/$1/stat" ]] && read -r _ _ st _ <"/proc/$1/stat" && [[ "$st" != Z ]]
}
server_pid() {
    [[ -f "$pidfile" ]] && alive "$(cat "$pidfile")" && cat "$pidfile"
}
# Drops a stopped server's state, so that the next start is a clean one: data left by a crashed
# or killed run makes Milvus panic. Milvus also writes /tmp/milvus/server_id_PID, whatever its
# config says, and leaves it behind.
forget() {
    if [[ -f "$pidfile" ]]; then
        rm -f "/tmp/milvus/server_id_$(cat "$pidfile")"
        rmdir /tmp/milvus 2>/dev/null || true
    fi
    rm -rf "$home/data" "$home/run" "$pidfile"
}

# Downloads the wheel (sha256-pinned) and unpacks the server; the .lzma files are xz streams,
# which python's stdlib lzma reads, so neither unzip nor xz is needed.
fetch() {
    [[ -x "$dist/bin/milvus" ]] && return
    local t0 wheel
    t0="$(now)"
    mkdir -p "$home"
    wheel="$(ls "$home"/milvus-$version-*.whl 2>/dev/null | head -n1 || true)"
    if [[ -z "$wheel" ]]; then
        python3 -m pip download --quiet --no-deps --disable-pip-version-check \
            "milvus==$version" -d "$home" >&2
        wheel="$(ls "$home"/milvus-$version-*.whl | head -n1)"
    fi
    if [[ "$(sha256sum "$wheel" | cut -d' ' -f1)" != "$wheel_sha" ]]; then
        rm -f "$wheel"   # a truncated download must not stick in the cache
        die "$wheel had an unexpected sha256 (only the x86_64 Linux wheel is pinned); removed it"
    fi
    echo "milvus.sh: wheel ready in $(since "$t0") s; unpacking" >&2
    t0="$(now)"
    rm -rf "$dist.tmp"
    python3 - "$wheel" "$dist.tmp" <<'PY'
import lzma, os, sys, zipfile
wheel, out = sys.argv[1:]
os.makedirs(f"{out}/bin")
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        if name.startswith("milvus/data/bin/") and base.endswith(".lzma"):
            dest = f"{out}/bin/{base[:-len('.lzma')]}"
            with z.open(name) as src, lzma.open(src) as xz, open(dest, "wb") as f:
                while chunk := xz.read(1 << 20):
                    f.write(chunk)
            os.chmod(dest, 0o755)
        elif name in ("milvus/data/config.yaml.template", "milvus/data/glog.conf"):
            with open(f"{out}/{base}", "wb") as f:
                f.write(z.read(name))
PY
    mv "$dist.tmp" "$dist"   # only a complete unpack counts as cached
    echo "milvus.sh: unpacked in $(since "$t0") s" >&2
}

# Writes $home/configs/milvus.yaml (Milvus reads configs/ under its working directory). Each
# `{{ key(type): default }}` becomes its default, except the paths, which have none.
render_config() {
    mkdir -p "$home/configs"
    cp "$dist/glog.conf" "$home/configs/glog.conf"
    python3 - "$dist/config.yaml.template" "$home/configs/milvus.yaml" "$home" <<'PY'
import re, sys
template, out, home = sys.argv[1:]
paths = {
    "etcd_data_dir": f"{home}/data/etcd.data",
    "local_storage_dir": f"{home}/data/storage",
    "rocksmq_data_dir": f"{home}/data/rocksmq",
    "system_log_path": "",     # "" = no log files: everything goes to stdout, i.e. milvus.log
    "etcd_log_path": "stdout",
}
def fill(m):
    key, _, default = m.group(1).partition(":")
    key = key.split("(")[0].strip()
    if key in paths:
        return paths[key]
    if not default.strip():
        sys.exit(f"milvus.sh: config placeholder {key!r} has no default")
    return default.strip()
text = re.sub(r"\{\{(.*?)\}\}", fill, open(template).read())
# The default 1800 s makes SIGTERM wait half an hour for a graceful stop; 3 s suffices for tests.
text, n = re.subn(r"(?m)^(\s*gracefulStopTimeout:)\s*\d+", r"\g<1> 3", text)
if n != 1:
    sys.exit(f"milvus.sh: expected one gracefulStopTimeout in the template, found {n}")
open(out, "w").write(text)
PY
}

healthy() {
    ip netns exec "$ns" python3 -c '
import sys, urllib.request
try:
    ok = urllib.request.urlopen("http://127.0.0.1:9091/healthz", timeout=2).read().strip() == b"OK"
except OSError:
    ok = False
sys.exit(0 if ok else 1)'
}

start() {
    local pid t0
    if pid="$(server_pid)"; then
        echo "milvus already running (pid $pid) on 127.0.0.1:19530 in netns $ns"
        return
    fi
    fetch
    forget
    render_config
    if ! ip netns exec "$ns" true 2>/dev/null; then
        ip netns add "$ns"
    fi
    ip netns exec "$ns" ip link set lo up
    t0="$(now)"
    # setsid: its own session, so a closing terminal's SIGHUP (which the Go runtime would not
    # ignore even under nohup) does not reach it; the inner shell records the server's own pid.
    (
        cd "$home"
        ip netns exec "$ns" setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \
            env DEPLOY_MODE=STANDALONE METRICS_PORT=9091 MILVUS_RUN_DIR="$home/run" \
            LD_LIBRARY_PATH="$dist/bin" "$dist/bin/milvus" run standalone \
            </dev/null >"$log" 2>&1 &
    )
    for _ in $(seq 1 180); do   # 90 s
        if healthy; then
            # Milvus silently moves its gRPC port elsewhere when 19530 is taken, and still
            # reports healthy; so check that 19530 is really its own.
            pid="$(cat "$pidfile")"
            if ip netns exec "$ns" ss -Hltnp 'sport = :19530' | grep -q "pid=$pid,"; then
                echo "milvus ready on 127.0.0.1:19530 in netns $ns (pid $pid, $(since "$t0") s)"
                return
            fi
            echo "milvus.sh: something else holds port 19530 in netns $ns" >&2
            break
        fi
        if [[ -f "$pidfile" ]] && ! alive "$(cat "$pidfile")"; then
            break
        fi
        sleep 0.5
    done
    echo "milvus.sh: milvus did not become healthy; last lines of $log:" >&2
    tail -n 40 "$log" >&2 || true
    stop >&2
    exit 1
}

stop() {
    local pid t0 peak
    if pid="$(server_pid)"; then
        t0="$(now)"
        peak="$(awk '/^VmHWM/ {printf "%.2f GB", $2 / 1048576}' "/proc/$pid/status" || true)"
        kill -TERM "$pid"
        for _ in $(seq 1 60); do   # 30 s
            alive "$pid" || break
            sleep 0.5
        done
        if alive "$pid"; then
            echo "milvus.sh: pid $pid ignored SIGTERM for 30 s; killing it" >&2
            kill -KILL "$pid" || true
        fi
        # Milvus 2.3.5 ends even a clean stop with "panic: context canceled" (in CloseEtcdClient,
        # after "All cleanup done"), so the log's tail looks alarming: that is harmless.
        echo "milvus stopped in $(since "$t0") s (peak RSS $peak)"
    else
        echo "milvus not running"
    fi
    forget
    if ip netns exec "$ns" true 2>/dev/null; then
        ip netns delete "$ns"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    exec)
        shift
        [[ $# -gt 0 ]] || die "usage: $0 exec CMD..."
        exec ip netns exec "$ns" "$@"
        ;;
    *) die "usage: $0 start|stop|exec CMD..." ;;
esac
