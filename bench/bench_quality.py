#!/usr/bin/env python3
"""bench_quality.py - the quality section of `make bench`: for uniform and
clustered inputs at N riders x N drivers (default 1e3 and 1e4), the total and
p95 rider-driver distance of closest pair first (the matcher's rule), of
naive per-rider nearest, and of the exact minimum total (the optimum), as
ratios to the optimum.

build/bench/bench_quality pairs the snapshot the first two ways (and, for
N <= --exact-max, exactly with the matcher's --policy min-total solver) and
writes its points; the optimum here is scipy.optimize.linear_sum_assignment
on the dense N x N distance matrix of the same points (Debian's
python3-scipy; 1e4 is 1e8 entries, 800 MB). Where both exist, the two exact
totals must agree (to 1e-9 relative): a check of each by the other.

Prints a table; --json FILE also writes the figures. Run with /usr/bin/python3.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def p95(v):
    v = sorted(v)
    return v[(len(v) * 95 + 99) // 100 - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build",
                                                   "bench", "bench_quality"))
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--inputs", default="uniform,clustered")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--exact-max", type=int, default=2000, help="C exact solver up to this N (O(N^3))")
    ap.add_argument("--json", help="write the results here (-: stdout, the table then goes to stderr)")
    a = ap.parse_args()
    try:
        import numpy as np
        from scipy.optimize import linear_sum_assignment
        from scipy.spatial.distance import cdist
    except ImportError as e:
        np = None
        print(f"bench_quality: no scipy ({e}); the optimum comes from the C solver only (N <= {a.exact_max})",
              file=sys.stderr)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in a.sizes.split(",")]:
            for inp in a.inputs.split(","):
                pts = os.path.join(tmp, "points.bin")
                cmd = [a.bin, "--n", str(n), "--seed", str(a.seed), "--exact-max", str(a.exact_max),
                       "--points", pts] + (["--clustered"] if inp == "clustered" else [])
                r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                opt = None
                if np is not None:
                    xy = np.fromfile(pts, dtype=np.float64).reshape(2 * n, 2)
                    t0 = time.monotonic()
                    c = cdist(xy[:n], xy[n:])
                    rows, cols = linear_sum_assignment(c)
                    d = c[rows, cols]
                    del c
                    opt = {"total": float(d.sum()), "mean": float(d.mean()), "p95": float(p95(d.tolist())),
                           "ms": round((time.monotonic() - t0) * 1e3, 1), "by": "scipy linear_sum_assignment"}
                    if "min_total" in r:
                        rel = abs(r["min_total"]["total"] - opt["total"]) / opt["total"]
                        r["exact_agree_rel"] = rel
                        if rel > 1e-9:
                            print(f"bench_quality: C min-total {r['min_total']['total']} != scipy {opt['total']}",
                                  file=sys.stderr)
                            sys.exit(1)
                elif "min_total" in r:
                    opt = dict(r["min_total"], by="mt_match (C)")
                r["optimum"] = opt
                if opt:
                    for k in ("closest_pair_first", "naive_nearest"):
                        r[k]["total_ratio"] = r[k]["total"] / opt["total"]
                        r[k]["p95_ratio"] = r[k]["p95"] / opt["p95"]
                results.append(r)
                print(f"bench_quality: n={n} {inp} done", file=sys.stderr)
    out = sys.stderr if a.json == "-" else sys.stdout
    print(f"{'N':>6} {'input':<10} {'rule':<20} {'total':>12} {'/opt':>6} {'p95':>9} {'/opt':>6} {'ms':>9}", file=out)
    for r in results:
        rows = [("closest pair first", r["closest_pair_first"]), ("naive nearest", r["naive_nearest"])]
        if r.get("optimum"):
            rows.append(("optimum (" + r["optimum"]["by"].split()[0] + ")", r["optimum"]))
        if "min_total" in r:
            rows.append(("min-total (C)", r["min_total"]))
        for name, x in rows:
            o = r.get("optimum")
            tr = f"{x['total'] / o['total']:.3f}" if o else "-"
            pr = f"{x['p95'] / o['p95']:.3f}" if o else "-"
            print(f"{r['n']:>6} {r['input']:<10} {name:<20} {x['total']:>12.1f} {tr:>6} {x['p95']:>9.2f} {pr:>6}"
                  f" {x['ms']:>9.1f}", file=out)
    if a.json == "-":
        print(json.dumps(results))
    elif a.json:
        with open(a.json, "w") as f:
            json.dump(results, f)


if __name__ == "__main__":
    main()
