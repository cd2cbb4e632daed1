#!/usr/bin/python3
"""loop_stall.py - how long the matcher's event loop is held at a time while
it ingests and pairs a large pool. Loads N riders and N drivers into Redis
the way the intake writes them (key with TTL + `requests` stream entry, by a
pipelined Lua-free imitation), while a probe asks the matcher's /healthz every
2 ms; the longest /healthz round trip bounds the longest stall of its loop.

  bench/loop_stall.py --port 8080 --n 100000
(needs a running stack: make up; PORT as the stack's)."""
import argparse
import json
import os
import random
import subprocess
import sys
import time

import redis

# The probe runs in its own process (not a thread: the loader would hold the
# GIL), over one keep-alive connection, until its stdin closes.
PROBE = r"""
import http.client, select, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
worst, n, slow = 0.0, 0, 0
while not select.select([sys.stdin], [], [], 0.002)[0]:
    t = time.perf_counter()
    c.request("GET", "/healthz"); c.getresponse().read()
    dt = (time.perf_counter() - t) * 1000
    worst = max(worst, dt); n += 1; slow += dt > 10
print(worst, n, slow)
"""


class Probe:
    def __init__(self, port):
        self.p = subprocess.Popen([sys.executable, "-c", PROBE, str(port)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

    def stop(self):
        out, _ = self.p.communicate("x\n", timeout=30)
        worst, n, slow = out.split()
        return {"max_ms": float(worst), "probes": int(n), "over_10ms": int(slow)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    var = os.environ.get("VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var"))
    try:
        secret = open(os.path.join(var, "secrets", "redis_password")).read().strip() or None
    except OSError:
        secret = None
    r = redis.Redis(port=a.port + 1, password=secret)
    rnd = random.Random(1)
    # baseline: the probe alone for two seconds
    p = Probe(a.port + 50)
    time.sleep(2.0)
    baseline = p.stop()
    p = Probe(a.port + 50)
    t0 = time.time()
    pipe = r.pipeline(transaction=False)
    for i in range(a.n):
        for kind in ("rider", "driver"):
            body = {"name": f"{kind[0]}{i}", "location": {"x": rnd.uniform(0, 1e4), "y": rnd.uniform(0, 1e4)}}
            if kind == "rider":
                body["destination"] = {"x": 1, "y": 1}
            else:
                body["car_number"] = f"L-{i}"
            js = json.dumps(body, separators=(",", ":"))
            pipe.xadd("requests", {"kind": kind, "json": js}, maxlen=400000, approximate=True)
        if i % 2000 == 1999:
            ids = pipe.execute()
            pipe = r.pipeline(transaction=False)
            # keys for the entries just added (ids are the request ids)
            p2 = r.pipeline(transaction=False)
            for k, sid in enumerate(ids):
                kind = "rider" if k % 2 == 0 else "driver"
                p2.set(f"{kind}:{sid.decode()}", "{}", px=5000)
            p2.execute()
    ids = pipe.execute()
    load_s = time.time() - t0
    time.sleep(4.0)  # let a few ticks pair the pool
    out = p.stop()
    import urllib.request
    lag = lag_cpu = None
    for line in urllib.request.urlopen(f"http://127.0.0.1:{a.port + 50}/metrics", timeout=5).read().decode().splitlines():
        if line.startswith("matcher_loop_lag_max_ms "):
            lag = float(line.split()[1])
        if line.startswith("matcher_loop_lag_max_cpu_ms "):
            lag_cpu = float(line.split()[1])
    res = {"n_per_side": a.n, "load_s": round(load_s, 2), "idle": baseline, "loaded": out,
           "matcher_loop_lag_max_ms": lag, "matcher_loop_lag_max_cpu_ms": lag_cpu,
           "loadavg_1m": os.getloadavg()[0]}
    print(json.dumps(res) if a.json else
          f"n={a.n} per side loaded in {load_s:.1f} s; longest /healthz round trip: idle {baseline['max_ms']:.1f} ms "
          f"({baseline['over_10ms']} of {baseline['probes']} over 10 ms), while ingesting and pairing "
          f"{out['max_ms']:.1f} ms ({out['over_10ms']} of {out['probes']} over 10 ms); the matcher's own "
          f"longest loop lag (a 10 ms timer running late): {lag} ms, of which the loop thread ran "
          f"{lag_cpu} ms (the rest it waited for a core); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
