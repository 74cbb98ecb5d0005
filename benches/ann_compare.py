#!/usr/bin/env python3
"""hnswlib on the vectors written by benches/ann_compare.rs, and the comparison table.

Run mode (one dataset): loads DIR/base.npy, DIR/queries.npy, DIR/gt_ids.npy and
DIR/gt_dist.npy (unit-normalised float32 vectors and exact cosine top-k from genovec's
brute force), builds an hnswlib index with space 'ip' (1 - dot, which is genovec's cosine
distance on unit vectors) and the M / ef_construction that genovec used (read from
DIR/genovec.json), on one thread, sweeps the same ef values and writes DIR/hnswlib.json.

  benches/.venv/bin/python benches/ann_compare.py run bench-out/ann_gue [--repeats 3]

Later rounds (--index-cache FILE): load the index saved in round one, sweep again; merge
mode keeps the best QPS per ef over rounds (ann_compare.sh does this for both engines).

Combine mode: reads genovec.json and hnswlib.json of each DIR, prints QPS at recall
0.90 / 0.95 / 0.99 for both engines, their ratio and the build-time ratio, and writes the
combined JSON.

  benches/.venv/bin/python benches/ann_compare.py combine bench-out/ann_gue \
      bench-out/ann_random --out bench-out/ann_compare.json

QPS at a target recall is interpolated (log-linear in QPS) between the last ef below the
target and the first ef reaching it; "first" is the QPS of the first ef reaching it, and
"n/r" means no ef in the sweep reached it. Recall is recall@k by id; the JSON also holds the
tie-aware recall (hits within the k-th true distance), which forgives ties between equal
vectors.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # single thread, set before numpy loads

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

TARGETS = (0.90, 0.95, 0.99)


def recall_of(labels: np.ndarray, dists: np.ndarray, gt_ids: np.ndarray, gt_dist: np.ndarray):
    k = gt_ids.shape[1]
    hits = sum(len(np.intersect1d(a, b, assume_unique=False)) for a, b in zip(labels, gt_ids))
    limit = gt_dist[:, -1:] + 1e-5
    hits_ties = int((dists[:, :k] <= limit).sum())
    total = gt_ids.size
    return hits / total, hits_ties / total


def run(dir_: Path, repeats: int, index_cache: Path | None = None, build_threads: int = 1) -> dict:
    import hnswlib

    g = json.loads((dir_ / "genovec.json").read_text())
    base = np.load(dir_ / "base.npy")
    queries = np.load(dir_ / "queries.npy")
    gt_ids = np.load(dir_ / "gt_ids.npy")
    gt_dist = np.load(dir_ / "gt_dist.npy")
    n, dim = base.shape
    nq, k = gt_ids.shape
    assert queries.shape == (nq, dim) and base.dtype == np.float32
    m, efc = g["params"]["m"], g["params"]["ef_construction"]
    print(f"[hnswlib] {n} base x {dim}, {nq} queries, M={m} ef_construction={efc}", file=sys.stderr)

    index = hnswlib.Index(space="ip", dim=dim)
    if index_cache and index_cache.exists():
        # A later round: reuse the index built (and timed) in round one.
        index.load_index(str(index_cache), max_elements=n)
        prev = json.loads((dir_ / "hnswlib.json").read_text())
        build_s, build_cpu_s = prev["build_s"], prev.get("build_cpu_s")
        print(f"[hnswlib] index loaded from {index_cache}", file=sys.stderr)
    else:
        index.init_index(max_elements=n, ef_construction=efc, M=m, random_seed=100)
        index.set_num_threads(build_threads)
        t, c = time.perf_counter(), time.process_time()
        index.add_items(base, np.arange(n), num_threads=build_threads)
        build_s = time.perf_counter() - t
        build_cpu_s = time.process_time() - c
        print(f"[hnswlib] build: {build_s:.2f} s, {build_cpu_s:.2f} cpu-s ({n / build_s:.0f} vectors/s)",
              file=sys.stderr)
        if index_cache:
            index.save_index(str(index_cache))
    index.set_num_threads(1)

    graph = export_graph(index, dir_)
    print(f"[hnswlib] graph: mean layer-0 degree {graph['mean_degree0']:.2f}, top level "
          f"{graph['top_level']}; exported for genovec's search code", file=sys.stderr)

    sweep = []
    for entry in g["sweep"]:
        ef = entry["ef"]
        index.set_ef(ef)
        best = best_cpu = math.inf
        for _ in range(max(repeats, 1)):
            # num_threads=1: hnswlib loops over the queries in this thread.
            t, c = time.perf_counter(), time.thread_time()
            labels, dists = index.knn_query(queries, k=k, num_threads=1)
            best = min(best, time.perf_counter() - t)
            best_cpu = min(best_cpu, time.thread_time() - c)
        recall, recall_ties = recall_of(labels, dists, gt_ids, gt_dist)
        qps, qps_cpu = nq / best, nq / best_cpu
        print(f"[hnswlib] ef {ef:4}: recall@{k} {recall:.4f} (ties {recall_ties:.4f}), {qps:.0f} q/s "
              f"({qps_cpu:.0f} per cpu-s)", file=sys.stderr)
        sweep.append({"ef": ef, "recall": recall, "recall_ties": recall_ties, "qps": qps,
                      "qps_cpu": qps_cpu})

    out = {
        "engine": "hnswlib",
        "version": getattr(hnswlib, "__version__", None) or _dist_version("hnswlib"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "space": "ip",
        "n": n,
        "nq": nq,
        "dim": dim,
        "k": k,
        "threads": 1,
        "build_threads": build_threads,
        "params": {"m": m, "ef_construction": efc, "random_seed": 100},
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "build_vectors_per_s": n / build_s,
        "graph": graph,
        "sweep": sweep,
    }
    (dir_ / "hnswlib.json").write_text(json.dumps(out, indent=2))
    return out


def merge(old_path: Path, new_path: Path) -> None:
    """Keeps, per ef, the best QPS (wall and cpu) of two runs of the same sweep in old_path.
    Both engines get the same treatment: best of all passes of all rounds."""
    old = json.loads(old_path.read_text())
    new = json.loads(new_path.read_text())

    def best(a: list[dict], b: list[dict]) -> None:
        by_ef = {p["ef"]: p for p in b}
        for p in a:
            q = by_ef.get(p["ef"])
            if q is None:
                continue
            assert abs(p["recall"] - q["recall"]) < 1e-9, "same graph, same recall"
            for key in ("qps", "qps_cpu"):
                if q.get(key) is not None:
                    p[key] = max(p.get(key) or 0.0, q[key])
            p["rounds"] = p.get("rounds", 1) + 1

    best(old["sweep"], new["sweep"])
    old_path.write_text(json.dumps(old, indent=2))


def export_graph(index, dir_: Path) -> dict:
    """Writes hnswlib's graph in genovec's terms (node = label) so ann_compare.rs can search
    it with genovec's own search code: DIR/hnsw_adj0.npy (n x maxM0, -1 padded),
    DIR/hnsw_levels.npy, DIR/hnsw_upper.npy (for each node with level >= 1 in node order, for
    each level 1..=level: count, then that many neighbours) and DIR/hnsw_graph.json."""
    p = index.__getstate__()[0]
    n = p["cur_element_count"]
    size = p["size_data_per_element"]
    raw = np.asarray(p["data_level0"], dtype=np.uint8)[: n * size].reshape(n, size)
    m0, m = p["max_M0"], p["max_M"]
    off0 = p["offset_level0"]
    label_of = raw[:, p["label_offset"]: p["label_offset"] + 8].copy().view("<u8")[:, 0].astype(np.int64)
    counts = raw[:, off0: off0 + 4].copy().view("<u4")[:, 0] & 0xFFFF
    links = raw[:, off0 + 4: off0 + 4 + 4 * m0].copy().view("<u4").astype(np.int64)
    order = np.argsort(label_of)  # row i of the outputs is node (label) i
    assert (label_of[order] == np.arange(n)).all(), "labels are 0..n"
    adj0 = np.full((n, m0), -1, dtype=np.int32)
    for node, internal in enumerate(order):
        c = counts[internal]
        adj0[node, :c] = label_of[links[internal, :c]]
    levels_internal = np.asarray(p["element_levels"], dtype=np.int64)
    blob = np.asarray(p["link_lists"], dtype=np.uint8)
    per_level = p["size_links_per_element"]
    starts, pos = {}, 0
    for internal in range(n):  # link_lists: the elements with level > 0, in internal order
        if levels_internal[internal] > 0:
            starts[internal] = pos
            pos += per_level * levels_internal[internal]
    assert pos == blob.size, (pos, blob.size)
    upper = []
    for internal in order:
        for level in range(1, levels_internal[internal] + 1):
            at = starts[internal] + per_level * (level - 1)
            block = blob[at: at + per_level].view("<u4")
            c = int(block[0] & 0xFFFF)
            upper.append(c)
            upper.extend(label_of[block[1: 1 + c]].tolist())
    np.save(dir_ / "hnsw_adj0.npy", adj0)
    np.save(dir_ / "hnsw_levels.npy", levels_internal[order].astype(np.int32).reshape(n, 1))
    np.save(dir_ / "hnsw_upper.npy", np.asarray(upper, dtype=np.int32).reshape(-1, 1))
    meta = {"entry": int(label_of[p["enterpoint_node"]]), "top_level": int(p["max_level"]),
            "m0": int(m0), "m": int(m), "mean_degree0": float(counts.mean()),
            "upper_links": int(len(upper) - sum(levels_internal))}
    (dir_ / "hnsw_graph.json").write_text(json.dumps(meta))
    return meta


def _dist_version(name: str):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001
        return None


def qps_at(sweep: list[dict], target: float, qkey: str = "qps", rkey: str = "recall"):
    """(interpolated QPS, QPS of the first ef reaching target, that ef); None when unreached."""
    points = sorted(sweep, key=lambda p: p["ef"])
    for i, p in enumerate(points):
        if p[rkey] >= target:
            if i == 0 or p[rkey] == points[i - 1][rkey]:
                return p[qkey], p[qkey], p["ef"]
            a = points[i - 1]
            t = min(max((target - a[rkey]) / (p[rkey] - a[rkey]), 0.0), 1.0)
            interp = math.exp(math.log(a[qkey]) + t * (math.log(p[qkey]) - math.log(a[qkey])))
            return interp, p[qkey], p["ef"]
    return None


def _at_recall(gsweep: list[dict], hsweep: list[dict]) -> dict:
    out = {}
    for target in TARGETS:
        row = {}
        for clock in ("qps", "qps_cpu"):
            if not all(clock in p for p in gsweep + hsweep):
                continue
            ga, ha = qps_at(gsweep, target, clock), qps_at(hsweep, target, clock)
            row[clock] = {
                "genovec": ga and {"qps": ga[0], "qps_first_ef": ga[1], "ef": ga[2]},
                "hnswlib": ha and {"qps": ha[0], "qps_first_ef": ha[1], "ef": ha[2]},
                "ratio": ga[0] / ha[0] if ga and ha else None,
                "ratio_first_ef": ga[1] / ha[1] if ga and ha else None,
            }
        out[f"{target:.2f}"] = row
    return out


def _recall_table(lines: list[str], at: dict, label: str) -> None:
    def cell(x):
        return f"{x['qps']:9.0f} {x['ef']:4d}" if x else f"{'n/r':>9} {'':>4}"

    def ratio(r):
        return f"{r:6.2f}x" if r else f"{'n/a':>7}"

    lines.append(f"  {label}: q/s at recall@k (interpolated; ef = first ef reaching it)")
    lines.append(f"  {'recall':>6} | {'genovec':>9} {'ef':>4} {'hnswlib':>9} {'ef':>4} {'ratio':>7}"
                 f" | {'genovec':>9} {'ef':>4} {'hnswlib':>9} {'ef':>4} {'ratio':>7}")
    lines.append(f"  {'':>6} | {'wall clock':^37} | {'per cpu-second':^37}")
    for target, row in at.items():
        parts = []
        for clock in ("qps", "qps_cpu"):
            r = row.get(clock)
            parts.append(f"{cell(r['genovec'])} {cell(r['hnswlib'])} {ratio(r['ratio'])}" if r
                         else f"{'':>37}")
        lines.append(f"  {target:>6} | {parts[0]} | {parts[1]}")


def combine(dirs: list[Path], out_path: Path | None) -> dict:
    report = {"targets": list(TARGETS), "datasets": []}
    lines = []
    for d in dirs:
        g = json.loads((d / "genovec.json").read_text())
        h = json.loads((d / "hnswlib.json").read_text())
        entry = {
            "dir": str(d),
            "dataset": g["dataset"],
            "n": g["n"],
            "dim": g["dim"],
            "nq": g["nq"],
            "k": g["k"],
            "params": g["params"],
            "hnswlib": {"version": h.get("version"), "space": h.get("space")},
            "build": {
                "genovec_s": g["build_s"], "hnswlib_s": h["build_s"],
                "genovec_cpu_s": g.get("build_cpu_s"), "hnswlib_cpu_s": h.get("build_cpu_s"),
                "genovec_over_hnswlib": g["build_s"] / h["build_s"],
            },
            "exact": g["exact"],
            "at_recall": _at_recall(g["sweep"], h["sweep"]),
            "sweep": {"genovec": g["sweep"], "hnswlib": h["sweep"]},
        }
        lines.append(f"== {g['dataset']}: {g['n']} base x {g['dim']}, {g['nq']} queries, k={g['k']}, "
                     f"{g['metric']}, M={g['params']['m']} (layer 0: {g['params']['m0']}), "
                     f"ef_construction={g['params']['ef_construction']}, searches on 1 thread, builds on "
                     f"{h.get('build_threads', 1)}, "
                     f"hnswlib {h.get('version')} space={h.get('space')}")
        cpu = ""
        if g.get("build_cpu_s") and h.get("build_cpu_s"):
            cpu = f"; cpu {g['build_cpu_s']:.1f} vs {h['build_cpu_s']:.1f} cpu-s = " \
                  f"{g['build_cpu_s'] / h['build_cpu_s']:.2f}x"
        lines.append(f"  graph build: genovec {g['build_s']:.1f} s ({g['build_vectors_per_s']:.0f} vectors/s), "
                     f"hnswlib {h['build_s']:.1f} s ({h['build_vectors_per_s']:.0f} vectors/s): "
                     f"genovec takes {g['build_s'] / h['build_s']:.2f}x as long{cpu}")
        _recall_table(lines, entry["at_recall"], "genovec graph vs hnswlib")
        crossed = d / "genovec_on_hnswlib_graph.json"
        if crossed.exists():
            c = json.loads(crossed.read_text())
            entry["genovec_search_on_hnswlib_graph"] = {
                "at_recall": _at_recall(c["sweep"], h["sweep"]), "sweep": c["sweep"]}
            hg = h.get("graph", {})
            lines.append(f"  same graph (hnswlib's, mean layer-0 degree {hg.get('mean_degree0', math.nan):.1f}; "
                         f"genovec's own graph: {g['graph']['mean_degree0']:.1f}), "
                         f"genovec's search code vs hnswlib's:")
            _recall_table(lines, entry["genovec_search_on_hnswlib_graph"]["at_recall"],
                          "genovec search on hnswlib graph vs hnswlib")
        lines.append(f"  sweep  {'ef':>4} | {'genovec rec':>11} {'q/s':>7} {'cpu q/s':>7} | "
                     f"{'hnswlib rec':>11} {'q/s':>7} {'cpu q/s':>7}")
        hs = {p["ef"]: p for p in h["sweep"]}
        for p in g["sweep"]:
            q = hs.get(p["ef"], {})
            lines.append(f"         {p['ef']:4d} | {p['recall']:11.4f} {p['qps']:7.0f} {p.get('qps_cpu', math.nan):7.0f} | "
                         f"{q.get('recall', math.nan):11.4f} {q.get('qps', math.nan):7.0f} "
                         f"{q.get('qps_cpu', math.nan):7.0f}")
        lines.append(f"  exact search (genovec brute force, 1 thread): {g['exact']['qps']:.1f} q/s, recall 1")
        default_ef = g["params"].get("ef_search_default")
        dp = next((p for p in g["sweep"] if p["ef"] == default_ef), None)
        if dp:
            entry["default_ef"] = {"ef": default_ef, "recall": dp["recall"], "qps": dp["qps"],
                                   "speedup_over_exact": dp["qps"] / g["exact"]["qps"]}
            lines.append(f"  graph at the default ef_search={default_ef}: recall@{g['k']} {dp['recall']:.4f}, "
                         f"{dp['qps']:.0f} q/s = {dp['qps'] / g['exact']['qps']:.1f}x exact search")
        s = g.get("source", {})
        if s.get("embed_s") is not None:
            total = s["embed_s"] + s["prepare_s"] + g["build_s"]
            entry["index_throughput"] = {
                "embed_seqs_per_s": s["embed_seqs_per_s"],
                "embed_bases_per_s": s["embed_bases_per_s"],
                "graph_build_vectors_per_s": g["build_vectors_per_s"],
                "embed_plus_build_seqs_per_s": g["n"] / total,
                "store_index": g.get("store_index"),
            }
            lines.append(f"  index throughput, {h.get('build_threads', 1)} build thread(s): embed {s['embed_seqs_per_s']:.0f} seq/s "
                         f"({s['embed_bases_per_s'] / 1e6:.1f} Mbp/s), graph build "
                         f"{g['build_vectors_per_s']:.0f} vectors/s, embed + normalise + build "
                         f"{g['n'] / total:.0f} seq/s ({total:.1f} s)")
            si = g.get("store_index")
            if si:
                lines.append(f"  store index path (batches of {si['batch']} into redb, then graph rebuild): "
                             f"{si['records_per_s']:.0f} records/s, {si['total_s']:.1f} s = embed "
                             f"{si['embed_s']:.1f} + insert {si['insert_s']:.1f} + graph {si['rebuild_graph_s']:.1f}; "
                             f"{si['records_stored']} of {si['records_in']} stored (duplicates skipped)")
        lines.append("")
        report["datasets"].append(entry)
    print("\n".join(lines))
    if out_path:
        out_path.write_text(json.dumps(report, indent=2))
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("dir", type=Path)
    r.add_argument("--repeats", type=int, default=3)
    r.add_argument("--build-threads", type=int, default=1,
                   help="threads for the build only (searches always use one)")
    r.add_argument("--index-cache", type=Path,
                   help="save the built index here, or load it when it exists (later rounds)")
    mg = sub.add_parser("merge")
    mg.add_argument("old", type=Path)
    mg.add_argument("new", type=Path)
    c = sub.add_parser("combine")
    c.add_argument("dirs", type=Path, nargs="+")
    c.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.cmd == "run":
        out = run(args.dir, args.repeats, args.index_cache, args.build_threads)
        print(json.dumps(out, indent=2))
    elif args.cmd == "merge":
        merge(args.old, args.new)
    else:
        combine(args.dirs, args.out)


if __name__ == "__main__":
    main()
