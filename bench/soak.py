#!/usr/bin/python3
"""soak.py - the sampler and judge of `make soak` (scripts/soak.sh).

While the bot runs against the soak stack, every --interval seconds it
records:
  - the memory of every process: redis, postgres (postmaster + backends),
    nginx (master + workers), each service under its supervisor, the bot:
    VmRSS and RssAnon from /proc/PID/status, summed per group;
  - Redis: INFO used_memory, DBSIZE, the lengths of the `requests`, `matches`
    and `stats` streams and their MEMORY USAGE, and `redis_other`: used_memory
    less the streams and less DBSIZE x the mean MEMORY USAGE of 16 random
    keys (what neither the capped streams nor the TTL'd keys explain);
  - the size of every file in the stack's log directory, per family (a log
    and its rotated copies, `x.log.1` ...: `logs_x.log`), and their total;
  - comm-svc's counters (/metrics of instance 0).
When the bot has exited it writes OUT/samples.json and OUT/report.json,
prints a table and exits 1 if anything grows without bound:

  A series GROWS when, over the run's last third, its least-squares slope
  s3 is positive, at least half the slope s1 of the first third (it is not
  levelling off), would add at least --rel-per-hour (25 %) of its final
  value per hour, and added at least the noise floor over that third
  (512 KiB for memory, 64 KiB for logs). The judged series: RssAnon of every
  process group (VmRSS is shown too; Redis' RSS follows its data, so Redis
  is judged by redis_other), redis_other, and the total size of the logs.
  Logs are rotated by size (LOG_MAX_BYTES, LOG_KEEP): with --log-cap, a
  family over that cap (+ 1 MiB for what is written between two looks of
  logwatch) fails too, and one below it is "filling to cap".
  Streams are capped (MAXLEN ~): a stream is bounded while its length stays
  within 1.1 x its cap (requests 200000, matches 100000, stats 64); one over
  it fails. Keys carry TTLs (requests 5 s, rides 1 h) and are reported.

It also fails when the bot exited non-zero (--strict: a rider without its
fare, a fare unrated), and reports the bot's figures from its --json.
"""
import argparse
import json
import os
import sys
import time

CAPS = {"requests": 200000, "matches": 100000, "stats": 64}
FLOOR = {"mem": 512 * 1024, "log": 64 * 1024}


def status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[1]) == pid:
            out.append(int(d))
    return out


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return None


def groups(var, bot_pid):
    """{group name: [pids]}"""
    g = {}
    run = os.path.join(var, "run")
    for name in sorted(os.listdir(run)) if os.path.isdir(run) else []:
        if not name.endswith(".pid"):
            continue
        pid = read_pid(os.path.join(run, name))
        if not pid:
            continue
        base = name[:-4]
        if base in ("redis",):
            g[base] = [pid]
        elif base == "nginx":
            g[base] = [pid] + children(pid)
        else:   # a service's supervisor: the service is its child
            g[base] = children(pid)
    pm = read_pid(os.path.join(var, "pg", "data", "postmaster.pid"))
    if pm:
        g["postgres"] = [pm] + children(pm)
    if bot_pid:
        g["bot"] = [bot_pid]
    return g


def redis_sample(r):
    out = {}
    info = r.info("memory")
    out["redis_used_memory"] = info["used_memory"]
    dbsize = r.dbsize()
    out["redis_keys"] = dbsize
    streams_mem = 0
    nstreams = 0
    for s in CAPS:
        n = r.xlen(s)
        out[f"xlen_{s}"] = n
        if n or r.exists(s):
            nstreams += 1
            streams_mem += r.memory_usage(s, samples=5) or 0
    sizes = []
    for _ in range(16):
        k = r.randomkey()
        if k is None:
            break
        k = k.decode() if isinstance(k, bytes) else k
        if k in CAPS:
            continue
        m = r.memory_usage(k)
        if m:
            sizes.append(m)
    avg = sum(sizes) / len(sizes) if sizes else 0
    out["redis_streams_memory"] = streams_mem
    out["redis_other"] = int(info["used_memory"] - streams_mem - max(dbsize - nstreams, 0) * avg)
    return out


def comm_metrics(port):
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port + 40}/metrics", timeout=3) as f:
            text = f.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("comm_") and " " in line:
            k, _, v = line.rpartition(" ")
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


def sample(var, port, rds, bot_pid, t0):
    s = {"t": round(time.time() - t0, 2)}
    for name, pids in groups(var, bot_pid).items():
        s[f"rss_{name}"] = sum(status_kb(p, "VmRSS") for p in pids) * 1024
        s[f"anon_{name}"] = sum(status_kb(p, "RssAnon") for p in pids) * 1024
    try:
        s.update(redis_sample(rds))
    except Exception as e:   # Redis down: the sample says so, the series has a gap
        s["redis_error"] = str(e)
    logdir = os.path.join(var, "log")
    total = 0
    for f in sorted(os.listdir(logdir)) if os.path.isdir(logdir) else []:
        try:
            n = os.path.getsize(os.path.join(logdir, f))
        except OSError:
            continue
        fam = f.rsplit(".", 1)[0] if f.rsplit(".", 1)[-1].isdigit() else f
        s[f"logs_{fam}"] = s.get(f"logs_{fam}", 0) + n
        total += n
    s["log_total"] = total
    s["comm"] = comm_metrics(port)
    return s


def slope(pts):
    n = len(pts)
    if n < 3:
        return 0.0
    mt = sum(t for t, _ in pts) / n
    mv = sum(v for _, v in pts) / n
    den = sum((t - mt) ** 2 for t, _ in pts)
    return sum((t - mt) * (v - mv) for t, v in pts) / den if den else 0.0


def judge(samples, rel_per_hour, log_cap=0):
    """[(series, row)] for every numeric series; row has a verdict."""
    dur = samples[-1]["t"] - samples[0]["t"] if len(samples) > 1 else 0
    t_a, t_b = samples[0]["t"] + dur / 3, samples[0]["t"] + 2 * dur / 3
    keys = sorted({k for s in samples for k, v in s.items() if k != "t" and isinstance(v, (int, float))})
    rows = []
    for k in keys:
        pts = [(s["t"], s[k]) for s in samples if k in s]
        if not pts:
            continue
        vals = [v for _, v in pts]
        s1 = slope([p for p in pts if p[0] <= t_a])
        s3 = slope([p for p in pts if p[0] >= t_b])
        row = {"first": vals[0], "last": vals[-1], "min": min(vals), "max": max(vals),
               "slope1_per_min": s1 * 60, "slope3_per_min": s3 * 60, "judged": False, "verdict": ""}
        kind = None
        if (k.startswith("anon_") and k != "anon_redis") or k == "redis_other":
            kind = "mem"
        elif k == "log_total":
            kind = "log"
        if k.startswith("xlen_"):
            cap = CAPS[k[5:]]
            row["judged"] = True
            if max(vals) > cap * 1.1:
                row["verdict"] = f"OVER CAP {cap}"
            elif vals[-1] >= cap * 0.9:
                row["verdict"] = f"at its cap {cap}"
            else:
                fill = (cap - vals[-1]) / s3 / 60 if s3 > 0 else float("inf")
                row["verdict"] = f"filling to cap {cap}" + (f" (in ~{fill:.0f} min)" if fill != float("inf") else "")
        elif k.startswith("logs_") and log_cap:
            row["judged"] = True
            cap = log_cap + 1048576
            if max(vals) > cap:
                row["verdict"] = f"OVER CAP {cap / 1048576:.1f}M"
            elif vals[-1] >= log_cap * 0.75:
                row["verdict"] = "at its cap (rotated)"
            else:
                row["verdict"] = "filling to cap"
        elif kind and dur > 0:
            row["judged"] = True
            grows = (s3 > 0 and s3 >= 0.5 * s1 and s3 * 3600 >= rel_per_hour * max(vals[-1], 1)
                     and s3 * dur / 3 >= FLOOR[kind])
            row["verdict"] = "GROWS" if grows else ("levels off" if s1 > 0 and s3 < 0.5 * s1 else "flat")
        rows.append((k, row))
    return rows


def fmt(v, k):
    if k.startswith(("rss_", "anon_", "redis_used", "redis_other", "redis_streams", "log_", "logs_")):
        return f"{v / 1048576:.1f}M"
    return f"{v:.0f}" if isinstance(v, (int, float)) else str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--var", required=True, help="the soak stack's VAR_DIR")
    ap.add_argument("--port", type=int, required=True, help="the soak stack's PORT")
    ap.add_argument("--bot-pid", type=int, required=True, help="sample until this process exits")
    ap.add_argument("--bot-json", required=True, help="the bot's --json summary (read at the end)")
    ap.add_argument("--bot-rc", help="a file holding the bot's exit status (read at the end)")
    ap.add_argument("--interval", type=float, default=10)
    ap.add_argument("--out", required=True, help="directory for samples.json and report.json")
    ap.add_argument("--rel-per-hour", type=float, default=0.25)
    ap.add_argument("--log-cap", type=int, default=0,
                    help="bytes a log family may hold: (LOG_KEEP + 1) x LOG_MAX_BYTES (0: not checked)")
    a = ap.parse_args()
    import redis
    try:
        with open(os.path.join(a.var, "secrets", "redis_password")) as f:
            pw = f.read().strip()
    except OSError:
        pw = None
    rds = redis.Redis(host="127.0.0.1", port=a.port + 1, password=pw, socket_timeout=5)
    t0 = time.time()
    samples = []
    os.makedirs(a.out, exist_ok=True)
    while True:
        alive = os.path.exists(f"/proc/{a.bot_pid}") and status_kb(a.bot_pid, "VmRSS") > 0
        samples.append(sample(a.var, a.port, rds, a.bot_pid if alive else None, t0))
        if not alive:
            break
        with open(os.path.join(a.out, "samples.json"), "w") as f:
            json.dump(samples, f)
        end = time.time() + a.interval
        while time.time() < end and os.path.exists(f"/proc/{a.bot_pid}") and status_kb(a.bot_pid, "VmRSS") > 0:
            time.sleep(0.5)
    # the last sample is after the bot's exit: its own series stop before
    with open(os.path.join(a.out, "samples.json"), "w") as f:
        json.dump(samples, f)
    rows = judge(samples, a.rel_per_hour, a.log_cap)
    bot, bot_rc = {}, None
    try:
        with open(a.bot_json) as f:
            bot = json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        pass
    if a.bot_rc:
        for _ in range(100):   # the bot's shell writes it just after the bot exits
            if os.path.exists(a.bot_rc) and os.path.getsize(a.bot_rc):
                break
            time.sleep(0.1)
        try:
            with open(a.bot_rc) as f:
                bot_rc = int(f.read().strip())
        except (OSError, ValueError):
            pass
    failures = [f"{k}: {r['verdict']}" for k, r in rows if r["verdict"] == "GROWS" or r["verdict"].startswith("OVER")]
    if bot_rc != 0:
        failures.append(f"the bot exited {bot_rc} (--strict: {bot.get('strict', {}).get('why', 'no summary')})")
    comm_end = samples[-1].get("comm", {})
    print(f"\nsoak: {len(samples)} samples over {samples[-1]['t']:.0f} s, every {a.interval:.0f} s")
    print(f"{'series':34} {'first':>9} {'last':>9} {'max':>9} {'/min 1st⅓':>10} {'/min last⅓':>11}  verdict")
    for k, r in rows:
        if k.startswith("rss_") or r["judged"] or k in ("redis_used_memory", "redis_keys", "redis_streams_memory") \
                or k.startswith("logs_"):
            sl = lambda v: fmt(v, k) if not k.startswith(("xlen_", "redis_keys")) else f"{v:.1f}"
            print(f"{k:34} {fmt(r['first'], k):>9} {fmt(r['last'], k):>9} {fmt(r['max'], k):>9} "
                  f"{sl(r['slope1_per_min']):>10} {sl(r['slope3_per_min']):>11}  {r['verdict']}")
    if bot:
        rf, ws = bot.get("riders_fate", {}), bot.get("ws", {})
        print(f"bot: {bot.get('sent')} requests sent, {bot.get('accepted')} accepted; riders {rf.get('accepted')}: "
              f"fared {rf.get('fared')} ({rf.get('fared_late')} late), lost {rf.get('lost')}, expired unmatched "
              f"{rf.get('expired_unmatched')}, waiting {rf.get('waiting')}; ratings {bot.get('ratings', {}).get('accepted')}"
              f" of {bot.get('fares_with_token')} fares, unrated {bot.get('fares_unrated')}; websocket connects "
              f"{ws.get('connects')}, closes {ws.get('closes_by_code')}, liveness closes {ws.get('liveness_closes')}; "
              f"match latency p50 {bot.get('match_latency_ms', {}).get('p50')} ms p99 "
              f"{bot.get('match_latency_ms', {}).get('p99')} ms; exit {bot_rc}")
    print(f"comm-svc: slow closes {comm_end.get('comm_slow_closes_total')}, ping timeouts "
          f"{comm_end.get('comm_ping_timeouts_total')}, policy closes {comm_end.get('comm_policy_closes_total')}")
    report = {"samples": len(samples), "duration_s": samples[-1]["t"], "interval_s": a.interval,
              "rule": {"rel_per_hour": a.rel_per_hour, "floors": FLOOR, "caps": CAPS, "log_cap": a.log_cap},
              "series": dict(rows), "bot": bot, "bot_exit": bot_rc, "comm_end": comm_end,
              "failures": failures, "ok": not failures}
    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print("soak: " + ("OK" if not failures else "FAILED: " + "; ".join(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
