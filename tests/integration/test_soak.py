"""The soak test: the bot at its defaults (50 riders + 50 drivers per second,
closed loop, one websocket) through nginx for SOAK_S (default 90) seconds,
with --strict. What a user running `make run` expects, checked from both
ends:

- the bot's --json summary: every request accepted; its riders' fares
  received >= 99 % of its riders accepted, less one tick's worth (those may
  still be in the pool when it stops); no rider lost (a fare missing while a
  driver of ours was free with it); every fare with a token rated (201);
  exactly one websocket connect, no close of any kind, no liveness close;
  exit status 0 (its --strict verdict);
- comm-svc's /metrics (every instance): no slow-reader close (nor one for
  memory or overrun) during the run (its ping timeouts are shown, not asserted: they may be other
  sockets'); its logs: no "too slow" close line.

Bounded: the bot's run, its drain (at most ~20 s), a 60 s margin."""
import json
import math
import os
import re
import subprocess
import time

import requests

from conftest import BASE, PORT, ROOT, SCALE

BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
VAR = os.environ.get("VAR_DIR", os.path.join(ROOT, "var"))
SOAK_S = int(os.environ.get("SOAK_S", "90"))
TICK_MS = int(os.environ.get("TICK_MS", "1000"))
RIDERS_PER_S = 50          # the bot's default: 50 riders every 1000 ms
SLOW_LINE = re.compile(r"too slow|slow reader", re.I)


def comm_metrics():
    """{name: value} summed over every comm-svc instance."""
    out = {}
    for i in range(SCALE):
        text = requests.get(f"http://127.0.0.1:{PORT + 40 + i}/metrics", timeout=5).text
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, val = line.rpartition(" ")
                out[name] = out.get(name, 0) + float(val)
    return out


def comm_logs():
    return sorted(p for p in os.listdir(os.path.join(VAR, "log")) if p.startswith("comm-svc.") and p.endswith(".log"))


def log_sizes():
    return {p: os.path.getsize(os.path.join(VAR, "log", p)) for p in comm_logs()}


def new_log_lines(before):
    """Lines appended to comm-svc's logs since `before` (sizes); a log that
    shrank (rotated) is read whole."""
    lines = []
    for p in comm_logs():
        with open(os.path.join(VAR, "log", p), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            off = before.get(p, 0)
            f.seek(off if off <= size else 0)
            lines += f.read().decode("utf-8", "replace").splitlines()
    return lines


def test_soak_default_bot():
    m0, logs0 = comm_metrics(), log_sizes()
    p = subprocess.Popen([os.path.join(BUILD, "bin", "bot"), "--url", BASE, "--json", "--strict",
                          "--duration", str(SOAK_S), "--progress-s", "10",
                          "--client-id", f"soak-{os.getpid()}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=SOAK_S + 60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    m1 = comm_metrics()
    slow_lines = [l for l in new_log_lines(logs0) if SLOW_LINE.search(l)]
    assert out.strip(), f"no summary; stderr: {err[-3000:]}"
    b = json.loads(out.strip().splitlines()[-1])
    rf, ws = b["riders_fate"], b["ws"]
    last_tick = math.ceil(RIDERS_PER_S * TICK_MS / 1000)
    delta = {k: m1.get(k, 0) - m0.get(k, 0) for k in
             ("comm_slow_closes_total", "comm_memory_closes_total", "comm_overrun_closes_total",
              "comm_ping_timeouts_total", "comm_policy_closes_total", "comm_unrecovered_resumes_total")}
    figures = {"riders_fate": rf, "drivers_fate": b["drivers_fate"], "fares_unrated": b["fares_unrated"],
               "ratings": b["ratings"], "ws": ws, "strict": b["strict"], "comm_metrics_delta": delta,
               "slow_log_lines": len(slow_lines), "exit": p.returncode, "quality": b["quality"]}
    print("soak figures: " + json.dumps(figures))
    why = json.dumps(figures) + "\nbot stderr (tail):\n" + err[-3000:]

    assert b["sent"] > 0 and b["accepted"] == b["sent"], why
    assert rf["accepted"] >= RIDERS_PER_S * SOAK_S * 0.9, why
    assert rf["fared"] >= 0.99 * (rf["accepted"] - last_tick), why
    assert rf["lost"] == 0, why
    assert b["ratings"]["accepted"] == b["fares_with_token"] == b["matched"], why
    assert b["fares_unrated"] == 0, why
    assert ws["connects"] == 1 and ws["disconnects"] == 0, why
    assert ws["closes_by_code"] == {} and ws["liveness_closes"] == 0, why
    # closed for not reading fast enough: by queue length, memory, or overrun
    assert delta["comm_slow_closes_total"] == 0 and not slow_lines, why
    assert delta["comm_memory_closes_total"] == 0 and delta["comm_overrun_closes_total"] == 0, why
    assert p.returncode == 0 and b["strict"]["ok"], why
    # the quality figures: one pickup distance per ride, the shares from the account
    q = b["quality"]
    assert q["pairs"] == b["matched"] and q["riders"]["matched"] == rf["fared"], why
    assert q["riders"]["expired"] == rf["expired_unmatched"] and q["riders"]["wait_ms"]["count"] > 0, why
