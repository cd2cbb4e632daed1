#!/usr/bin/python3
"""report.py - turns bench/run.sh's raw measurements (var/bench/raw.jsonl, one
JSON object per measurement) into results.json (medians, min-max, ratios
taken within one run) and BENCHMARKS.md. With --smoke-check it checks that
the tool produced well-formed JSON with the expected fields and never looks
at how fast anything was."""
import argparse
import os
import json
import statistics
import sys


def med(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def fmt(s, digits=1, unit=""):
    if not s:
        return "n/a"
    f = "%%.%df" % digits
    m = f % s["median"] + unit
    if s["n"] > 1:
        m += " (" + f % s["min"] + "–" + f % s["max"] + ")"
    return m


def load1(line):
    try:
        return float(line["load"].split()[0])
    except (KeyError, ValueError, IndexError):
        return None


def loads(lines):
    xs = [load1(x) for x in lines]
    xs = [x for x in xs if x is not None]
    if not xs:
        return "n/a"
    if min(xs) == max(xs):
        return "%.2f" % xs[0]
    return "%.2f–%.2f" % (min(xs), max(xs))


GROUPS = ["rider-svc", "driver-svc", "rating-svc", "comm-svc", "matcher", "redis", "nginx", "postgres"]
SERVICES = GROUPS[:5]


def aggregate(raw):
    by = {}
    for r in raw:
        by.setdefault(r["section"], []).append(r)
    res = {"machine": (by.get("machine") or [{}])[0], "end": (by.get("end") or [{}])[0],
           "reruns": [{"machine": m, "end": e} for m, e in
                      zip((by.get("machine") or [])[1:], (by.get("end") or [])[1:])]}

    # 1. latency, and 5. resources during it
    lat = {}
    for r in by.get("latency", []):
        lat.setdefault((r["tick"], r["rate"], r["log"]), []).append(r)
    res["latency"] = []
    for (tick, rate, lvl), rs in sorted(lat.items(), key=lambda kv: (kv[0][2] != "warn", -kv[0][0], kv[0][1])):
        ml = [r["bot"]["match_latency_ms"] for r in rs]
        row = {"tick_ms": tick, "offered_per_s": rate, "log_level": lvl, "runs": len(rs),
               "loadavg_1m": [load1(r) for r in rs],
               "cmd": rs[0]["cmd"]}
        for k in ("p50", "p90", "p99", "max"):
            row[k] = med([m.get(k) for m in ml])
        row["achieved_per_s"] = med([r["bot"].get("accepted_per_s") for r in rs])
        row["matched"] = med([r["bot"].get("matched") for r in rs])
        row["fares_own_rider"] = med([r["bot"].get("fares_own_rider") for r in rs])
        row["rejected"] = med([r["bot"].get("rejected", 0) + r["bot"].get("transport_errors", 0) + r["bot"].get("unsent", 0) for r in rs])
        row["riders_accepted"] = med([r["bot"].get("riders", {}).get("accepted") for r in rs])
        row["drivers_accepted"] = med([r["bot"].get("drivers", {}).get("accepted") for r in rs])
        row["unsent"] = med([r["bot"].get("unsent") for r in rs])
        row["http_p99"] = med([r["bot"].get("http_latency_ms", {}).get("p99") for r in rs])
        # where it goes: the bot's latency_split (bot/README.md), medians of the runs
        sp = [r["bot"]["latency_split"] for r in rs if r["bot"].get("latency_split", {}).get("fares")]
        if sp:
            row["split"] = {"fares": med([x["fares"] for x in sp]),
                            "driver_later_pct": med([100 * x["driver_later_share"] for x in sp])}
            for part in ("p50_ms", "p99_ms"):
                row["split"][part] = {k: med([x[part][k] for x in sp]) for k in sp[0][part]}
            row["split"]["slowest_1pct_ms"] = {k: med([x["slowest_1pct"]["mean_ms"][k] for x in sp])
                                               for k in sp[0]["slowest_1pct"]["mean_ms"]}
        # issue 12: p99 ≤ tick + 5 ms at 1k req/s; the whole loop at 3k and 5k: p99 ≤ tick + 20 ms
        row["target_p99_ms"] = tick + 20 if rate >= 3000 else tick + 5
        procs = {}
        for g in GROUPS:
            cpu = []
            hwm = []
            for r in rs:
                a, b = r["procs_before"].get(g), r["procs_after"].get(g)
                if a and b and a["procs"] and b["procs"]:
                    cpu.append(b["cpu_s"] - a["cpu_s"])
                    hwm.append(b["hwm_kb"] / 1024.0)
            procs[g] = {"cpu_s": med(cpu), "peak_rss_mb": med(hwm)}
        procs["bot"] = {"cpu_s": med([r["bot_proc"]["cpu_s"] for r in rs]),
                        "peak_rss_mb": med([r["bot_proc"]["hwm_kb"] / 1024.0 for r in rs])}
        row["resources"] = procs
        row["duration_s"] = rs[0].get("duration_s")
        res["latency"].append(row)

    # idle RSS
    idle = {}
    for r in by.get("idle", []):
        for g in GROUPS:
            p = r["procs"].get(g)
            if p and p["procs"]:
                idle.setdefault(g, {}).setdefault(r["when"], []).append(p["rss_kb"] / 1024.0)
    res["idle_rss_mb"] = {g: {w: med(v) for w, v in ws.items()} for g, ws in idle.items()}

    # 2. ingest: ratios within each run
    ing = {}
    for r in by.get("ingest", []):
        ing.setdefault(r["run"], {})[r["target"]] = r
    tgt = {}
    ratios_proxy, ratios_direct = [], []
    for run, ts in sorted(ing.items()):
        for t, r in ts.items():
            x = r["result"]
            rps = x["requests"] / (x["duration_us"] / 1e6) if x["duration_us"] else 0
            errs = sum(x["errors"].values())
            tgt.setdefault(t, {"rps": [], "p99_ms": [], "errors": [], "loads": [], "cmd": r["cmd"]})
            tgt[t]["rps"].append(rps)
            tgt[t]["p99_ms"].append(x["latency_us"]["p99"] / 1000.0)
            tgt[t]["errors"].append(errs)
            tgt[t]["loads"].append(load1(r))
            ts[t]["_rps"] = rps
        if "rider" in ts and "proxy" in ts and ts["proxy"]["_rps"]:
            ratios_proxy.append(ts["rider"]["_rps"] / ts["proxy"]["_rps"])
        if "rider" in ts and "direct" in ts and ts["direct"]["_rps"]:
            ratios_direct.append(ts["rider"]["_rps"] / ts["direct"]["_rps"])
    res["ingest"] = {t: {"req_per_s": med(v["rps"]), "p99_ms": med(v["p99_ms"]),
                         "errors": med(v["errors"]), "loadavg_1m": v["loads"], "cmd": v["cmd"]}
                     for t, v in tgt.items()}
    res["ingest_ratio_vs_proxy"] = med(ratios_proxy)
    res["ingest_ratio_vs_direct"] = med(ratios_direct)

    # 2b. ingest cost: CPU µs and syscalls per request, per process group
    cost = {}
    for r in by.get("ingest_cost", []):
        x = r["result"]
        c = cost.setdefault(r["target"], {"rps": [], "groups": {}, "cmd": r["cmd"]})
        c["rps"].append(x["req_per_s"])
        for g, v in x["cpu"].items():
            c["groups"].setdefault(g, {"cpu": [], "sys": [], "calls": {}})["cpu"].append(v["cpu_us_per_req"])
        sysc = (x.get("syscalls") or {}).get("groups") or {}
        for g, v in sysc.items():
            if not v:
                continue
            gg = c["groups"].setdefault(g, {"cpu": [], "sys": [], "calls": {}})
            gg["sys"].append(v["per_req"])
            for name, cv in v["by_call"].items():
                gg["calls"].setdefault(name, []).append(cv["per_req"])
    res["ingest_cost"] = {
        t: {"req_per_s": med(c["rps"]), "cmd": c["cmd"],
            "groups": {g: {"cpu_us_per_req": med(v["cpu"]), "syscalls_per_req": med(v["sys"]),
                           "syscalls_by_call": {n: med(xs) for n, xs in sorted(v["calls"].items())}}
                       for g, v in c["groups"].items()}}
        for t, c in cost.items()}

    # 3. matcher
    res["matcher"] = []
    for r in by.get("matcher", []):
        for x in r["result"].get("results", []):
            t = x.get("tree_ms") or {}
            res["matcher"].append({"n": x.get("n"), "tree_ms": t, "runs": r["result"].get("runs"),
                                   "alloc_bytes_per_request": x.get("alloc_bytes_per_request"),
                                   "loadavg_1m": load1(r), "cmd": r["cmd"]})
    res["matcher_steady"] = [dict(x, ticks=r["result"].get("steady_ticks"), loadavg_1m=load1(r))
                             for r in by.get("matcher", []) for x in r["result"].get("steady") or []]

    # 3b. quality
    res["quality"] = []
    for r in by.get("quality", []):
        for x in r["result"]:
            res["quality"].append(dict(x, loadavg_1m=load1(r), cmd=r["cmd"]))

    # 7. replay (ticks x policies): replay_rows below
    res["replay"] = replay_rows(by.get("replay", []))
    res["stall"] = stall_rows(by.get("stall", []))

    # 4. fan-out
    fan = {}
    for r in by.get("fanout", []):
        fan.setdefault((r["rate"], r.get("mode", "message")), []).append(r)
    order = {"message": 0, "batch": 1, "nchan": 2}
    res["fanout"] = []
    for (rate, mode), rs in sorted(fan.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 9))):
        x = [r["result"] for r in rs]
        res["fanout"].append({
            "mode": mode, "runs": len(rs),
            "matches_per_s": rate, "sockets": med([y["welcomed"] for y in x]),
            "offered_msgs_per_s": med([y["offered_msgs_per_s"] for y in x]),
            "msgs_per_s": med([y["msgs_per_s"] for y in x]),
            "delivered_ratio": med([y["delivered_ratio"] for y in x]),
            "closed_early": med([y["closed"] for y in x]),
            "comm_dropped_or_closed": med([r.get("comm_dropped_or_closed", 0) for r in rs]),
            "client_cpu_s": med([y["client_cpu_s"] for y in x]),
            "connect_ms": med([y["connect_ms"] for y in x]),
            "frames_with_match": med([y.get("frames_with_match") for y in x]),
            "loadavg_1m": [load1(r) for r in rs], "cmd": rs[0]["cmd"]})
    # ratios of the medians, per offered rate: batched / per-message, and each / nchan
    res["fanout_ratios"] = []
    by_rate = {}
    for f in res["fanout"]:
        if f["msgs_per_s"]:
            by_rate.setdefault(f["matches_per_s"], {})[f["mode"]] = f["msgs_per_s"]["median"]
    for rate, m in sorted(by_rate.items()):
        row = {"matches_per_s": rate}
        for a, b in (("batch", "message"), ("message", "nchan"), ("batch", "nchan")):
            if m.get(a) and m.get(b):
                row["%s_vs_%s" % (a, b)] = m[a] / m[b]
        res["fanout_ratios"].append(row)

    # 6. ratings: rating-svc at --batch-max 1 and 256, pgbench references
    rat = {}
    for r in by.get("ratings", []):
        if r["target"] == "rating-svc":
            key = ("rating-svc", r["batch_max"], r["clients"])
        else:
            key = (r["target"], r.get("rows_per_xact", 1), r["clients"])
        rat.setdefault(key, []).append(r)
    res["ratings"] = []
    for (target, per, clients), rs in sorted(rat.items(), key=lambda kv: (kv[0][2], kv[0][0] != "rating-svc", kv[0][0], kv[0][1])):
        row = {"target": target, "clients": clients, "runs": len(rs),
               "loadavg_1m": [load1(r) for r in rs], "cmd": rs[0]["cmd"]}
        if target == "rating-svc":
            row["batch_max"] = per
            xs = [r["result"] for r in rs]
            row["ratings_per_s"] = med([x["status"]["201"] / (x["duration_us"] / 1e6) if x["duration_us"] else None for x in xs])
            row["p99_ms"] = med([x["latency_us"]["p99"] / 1000.0 for x in xs])
            row["not_201"] = med([x["status"]["409"] + x["status"]["other"] + sum(x["errors"].values()) for x in xs])
            # rows in the table after the run: every 201 has its row; at
            # most `clients` more (answers still on the way when wrk stopped)
            row["rows_match_201"] = all(r.get("rows") is not None and
                                        r["result"]["status"]["201"] <= r["rows"] <= r["result"]["status"]["201"] + r["clients"]
                                        for r in rs)
        else:
            row["rows_per_xact"] = per
            row["ratings_per_s"] = med([r["result"]["tps"] * per for r in rs])
        res["ratings"].append(row)
    return res


def targets(res):
    out = []
    r = res.get("ingest_ratio_vs_proxy")
    if r:
        out.append(("ingest ≥ 0.6× the nginx proxy-hop ceiling", "%.2f×" % r["median"], r["median"] >= 0.6))
    g = ((res.get("ingest_cost") or {}).get("rider-svc") or {}).get("groups", {}).get("rider-svc")
    if g and g["cpu_us_per_req"]:
        c = g["cpu_us_per_req"]["median"]
        out.append(("rider-svc ≤ 10 µs CPU per request (wrk straight at it)", "%.1f µs" % c, c <= 10))
    if g and g["syscalls_per_req"]:
        n = g["syscalls_per_req"]["median"]
        out.append(("rider-svc ≤ 3 syscalls per request", "%.2f" % n, n <= 3))
    for row in res["latency"]:
        if row["log_level"] != "warn" or not row["p99"]:
            continue
        p = row["p99"]["median"]
        out.append(("match latency p99 ≤ %d ms (tick %d ms, %d req/s)" % (row["target_p99_ms"], row["tick_ms"], row["offered_per_s"]),
                    "%.1f ms" % p, p <= row["target_p99_ms"]))
        # the same target on the system's own part: from the later of the
        # rider's and its driver's 202 (the bot's latency_split), which leaves
        # out a rider's wait for a driver not yet accepted (the load model)
        sp = ((row.get("split") or {}).get("p99_ms") or {}).get("from_both_202")
        if sp and sp.get("median") is not None:
            q = sp["median"]
            out.append(("… from the later 202 (no wait for a driver) p99 ≤ %d ms (tick %d ms, %d req/s)" % (
                row["target_p99_ms"], row["tick_ms"], row["offered_per_s"]), "%.1f ms" % q, q <= row["target_p99_ms"]))
    best = max((f["msgs_per_s"]["median"] for f in res["fanout"] if f["msgs_per_s"] and f["mode"] in ("message", "batch")), default=None)
    if best is not None:
        out.append(("fan-out through nginx ≥ 100k messages/s to 1,000 clients", "%.0f/s (best offered rate)" % best, best >= 100000))
    ok = [f for f in res["fanout"] if f["mode"] == "batch" and f["msgs_per_s"] and f["delivered_ratio"]
          and f["delivered_ratio"]["median"] >= 0.99]
    bb = max(ok, key=lambda f: f["msgs_per_s"]["median"], default=None)
    if any(f["mode"] == "batch" for f in res["fanout"]):
        out.append(("batched fan-out through nginx ≥ 400k messages/s to 1,000 viewers, ≥ 99 % delivered",
                    "%.0f/s at %.1f %% delivered" % (bb["msgs_per_s"]["median"], 100 * bb["delivered_ratio"]["median"])
                    if bb else "no batched rate delivered ≥ 99 %",
                    bool(bb) and bb["msgs_per_s"]["median"] >= 400000))
    for x in res.get("matcher") or []:
        t, goal = x["tree_ms"].get("median"), {100000: 60, 1000000: 1000}.get(x["n"])
        if t is not None and goal:
            out.append(("matcher cold tick %d × %d ≤ %d ms" % (x["n"], x["n"], goal), "%.0f ms" % t, t <= goal))
    for backlog, goal in ((50000, 0.5), (1000000, 1.0)):
        rows = [x for x in res.get("matcher_steady") or [] if x["backlog"] == backlog and x["arrivals"] == 100]
        if rows:
            worst = max(x["incr_ms"] for x in rows)
            out.append(("matcher tick ≤ %.1f ms, backlog %d, 100 + 100 arriving" % (goal, backlog),
                        "%.2f ms (worse side)" % worst, worst <= goal))
    st = res.get("stall")
    if st and st["loop_lag_max_ms"]:
        lag = st["loop_lag_max_ms"]["median"]
        out.append(("matcher loop stall ≤ 10 ms, 1e5 × 1e5 pool", "%.1f ms late timer (loop ran %.1f ms of it)" % (
            lag, st["loop_lag_max_cpu_ms"]["median"] if st["loop_lag_max_cpu_ms"] else float("nan")), lag <= 10))
    for g in SERVICES:
        s = res["idle_rss_mb"].get(g, {})
        vals = [v["max"] for v in s.values() if v]
        if vals:
            out.append(("%s ≤ 20 MB RSS idle" % g, "%.1f MB (max of idle samples)" % max(vals), max(vals) <= 20))
    return out


def markdown(res, analysis):
    m = res["machine"]
    L = []
    w = L.append
    w("# Benchmarks")
    w("")
    w("Generated by `make bench` (`bench/run.sh` → `bench/report.py`); raw measurements in "
      "`var/bench/raw.jsonl`, aggregates in `var/bench/results.json`. Every figure is the **median "
      "of %s runs (min–max)**; ratios are taken within one run. The machine was **shared with other "
      "builds and test stacks** while these were taken unless the load average says otherwise: read "
      "each figure next to its 1-minute load average (`/proc/loadavg` at the start of each run). "
      "Load generators run on the same cores as the stack." % m.get("runs"))
    w("")
    w("| machine | |")
    w("|---|---|")
    w("| mode | %s |" % m.get("mode"))
    w("| date (UTC) | %s → %s |" % (m.get("date"), res["end"].get("date")))
    w("| CPU | %s |" % m.get("cpu"))
    w("| nproc | %s |" % m.get("nproc"))
    w("| memory | %.1f GiB |" % (m.get("mem_kb", 0) / 1048576.0))
    w("| kernel | %s |" % m.get("kernel"))
    w("| loadavg at start / end | %s / %s |" % (m.get("loadavg_start"), res["end"].get("loadavg_end")))
    w("| commit | %s |" % m.get("commit"))
    w("| nginx / redis / wrk | %s / %s / %s |" % tuple(m.get("versions", {}).get(k) for k in ("nginx", "redis", "wrk")))
    for r in res.get("reruns", []):
        w("| re-run: %s | %s → %s, commit %s, load %s / %s (these sections' figures are from this run) |" % (
            ", ".join(r["machine"].get("sections", "?").split()), r["machine"].get("date"),
            r["end"].get("date"), r["machine"].get("commit"), r["machine"].get("loadavg_start"),
            r["end"].get("loadavg_end")))
    w("")

    w("## Targets")
    w("")
    w("| target | measured (median) | |")
    w("|---|---|---|")
    for name, val, ok in targets(res):
        w("| %s | %s | %s |" % (name, val, "met" if ok else "**missed**"))
    w("")

    w("## 1. Match latency (rider's 202 → its fare on the websocket)")
    w("")
    w("The bot, open loop, through nginx: half the offered rate riders, half drivers; one websocket "
      "receives the fares; every fare is rated (POST /rating → Postgres), as a real client does. "
      "Latency in ms.")
    w("")
    w("| tick ms | offered req/s | LOG_LEVEL | p50 | p90 | p99 | max | target p99 | accepted req/s | riders / drivers accepted | unsent | fares | HTTP p99 | load 1m |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in res["latency"]:
        w("| %d | %d | %s | %s | %s | %s | %s | %d | %s | %s / %s | %s | %s | %s | %s |" % (
            r["tick_ms"], r["offered_per_s"], r["log_level"], fmt(r["p50"]), fmt(r["p90"]), fmt(r["p99"]),
            fmt(r["max"]), r["target_p99_ms"], fmt(r["achieved_per_s"], 0),
            fmt(r["riders_accepted"], 0), fmt(r["drivers_accepted"], 0), fmt(r["unsent"], 0), fmt(r["fares_own_rider"], 0),
            fmt(r["http_p99"]), loads([{"load": "%s" % x} for x in r["loadavg_1m"] if x is not None])))
    w("")
    split_rows = [r for r in res["latency"] if r.get("split")]
    if split_rows:
        w("Where it goes (the bot's `latency_split`, bot/README.md; medians of the runs, ms). The match "
          "latency above also holds time that is not the system's: riders and drivers arrive as "
          "independent streams, so a rider left over at a tick waits for a driver not yet accepted "
          "(*driver later*). *From both 202s*: the later of the rider's and its driver's 202 → the fare. "
          "*Slowest 1 %*: the mean of each stage over the slowest 1 % of fares by match latency "
          "(what the p99 is made of: fare by fare, latency = driver later + from both 202s = to pairing "
          "+ claim + delivery; medians of runs need not add up).")
        w("")
        w("| tick ms | offered req/s | LOG_LEVEL | match latency p99 | from both 202s p50 / p99 | driver later (share of fares) | slowest 1 %: latency / driver later / from both 202s | slowest 1 %: to pairing / claim / delivery |")
        w("|---|---|---|---|---|---|---|---|")
        for r in split_rows:
            s = r["split"]
            sl = s["slowest_1pct_ms"]
            w("| %d | %d | %s | %s | %s / %s | %s %% | %s / %s / %s | %s / %s / %s |" % (
                r["tick_ms"], r["offered_per_s"], r["log_level"], fmt(s["p99_ms"]["match_latency"]),
                fmt(s["p50_ms"]["from_both_202"]), fmt(s["p99_ms"]["from_both_202"]),
                fmt(s["driver_later_pct"], 0), fmt(sl["match_latency"]), fmt(sl["driver_later"]),
                fmt(sl["from_both_202"]), fmt(sl["to_pairing"]), fmt(sl["claim"]), fmt(sl["delivery"])))
        w("")

    w("## 5. Resources during part 1")
    w("")
    w("CPU seconds (utime+stime from `/proc/<pid>/stat`) consumed during one bot run (%s s of sending "
      "plus the drain), and peak RSS (VmHWM, reset before each run) in MB; nginx and postgres are "
      "summed over their processes. Each cell: CPU s / peak MB (medians)." % (res["latency"][0]["duration_s"] if res["latency"] else "?"))
    w("")
    cols = GROUPS + ["bot"]
    w("| tick, req/s, log | " + " | ".join(cols) + " |")
    w("|---|" + "---|" * len(cols))
    for r in res["latency"]:
        cells = []
        for g in cols:
            p = r["resources"].get(g, {})
            c, h = p.get("cpu_s"), p.get("peak_rss_mb")
            cells.append("%s / %s" % ("%.2f" % c["median"] if c else "–", "%.1f" % h["median"] if h else "–"))
        w("| %d, %d, %s | %s |" % (r["tick_ms"], r["offered_per_s"], r["log_level"], " | ".join(cells)))
    w("")
    w("Idle RSS (VmRSS, MB): right after start, and after load (a few seconds after the last run of a tick).")
    w("")
    w("| process | fresh start | after start (per tick) | after load |")
    w("|---|---|---|---|")
    for g in GROUPS:
        s = res["idle_rss_mb"].get(g, {})
        w("| %s | %s | %s | %s |" % (g, fmt(s.get("fresh start")), fmt(s.get("after start")), fmt(s.get("after load"))))
    w("")

    w("## 2. Ingest: POST /rider through nginx (wrk)")
    w("")
    w("Same wrk command and Lua body (`bench/post.lua`) against each target, one after the other "
      "within each run. *direct*: nginx answers 202 itself; *proxy*: nginx proxies (same settings as "
      "the stack's /rider) to a one-worker nginx that answers 202; *rider*: the stack (nginx → rider-svc → Redis).")
    w("")
    w("| target | req/s | p99 ms | errors | load 1m |")
    w("|---|---|---|---|---|")
    for t in ("direct", "proxy", "rider"):
        x = res["ingest"].get(t)
        if x:
            w("| %s | %s | %s | %s | %s |" % (t, fmt(x["req_per_s"], 0), fmt(x["p99_ms"]), fmt(x["errors"], 0),
                                            loads([{"load": "%s" % v} for v in x["loadavg_1m"] if v is not None])))
    w("")
    w("rider / proxy ceiling: **%s**; rider / direct: %s (ratios of the same run, median and min–max)." % (
        fmt(res["ingest_ratio_vs_proxy"], 2, "×"), fmt(res["ingest_ratio_vs_direct"], 2, "×")))
    w("")

    if res.get("ingest_cost"):
        w("What one POST /rider costs each process (`bench/per_request.sh`): CPU µs per request from "
          "/proc utime+stime over a wrk run with no tracer (its req/s shown), syscalls per request from "
          "`strace -c -f` over a shorter window of a second run, divided by the requests rider-svc "
          "served in that window. *rider*: through nginx; *rider-svc*: wrk straight at rider-svc.")
        w("")
        w("| target | req/s | process | CPU µs/req | syscalls/req | main calls per req |")
        w("|---|---|---|---|---|---|")
        for t in ("rider", "rider-svc"):
            c = res["ingest_cost"].get(t)
            if not c:
                continue
            for g, v in c["groups"].items():
                calls = ", ".join("%s %s" % (n, fmt(x, 2)) for n, x in
                                  sorted(v["syscalls_by_call"].items(),
                                         key=lambda kv: -(kv[1] or {}).get("median", 0))[:4])
                w("| %s | %s | %s | %s | %s | %s |" % (t, fmt(c["req_per_s"], 0), g, fmt(v["cpu_us_per_req"]),
                                                      fmt(v["syscalls_per_req"], 2), calls or "–"))
        w("")

    w("## 3. Matcher time per tick (bench_matcher)")
    w("")
    w("Cold: the first tick over N riders × N drivers uniform in a 1000 × 1000 square, `pairing_match` "
      "(k-d tree, closest pair first; riders' first queries on both cores from 16,384 riders).")
    w("")
    w("| N | ms per tick | ns per request | alloc B/request | load 1m |")
    w("|---|---|---|---|---|")
    for x in res["matcher"]:
        t = x["tree_ms"]
        med_ms = t.get("median")
        w("| %s | %s | %s | %s | %s |" % (
            x["n"], ("%.2f (%.2f–%.2f)" % (t["median"], t["min"], t["max"])) if med_ms is not None else "n/a",
            "%.0f" % (med_ms * 1e6 / (2 * x["n"])) if med_ms is not None else "n/a",
            x.get("alloc_bytes_per_request"), x.get("loadavg_1m")))
    w("")
    st = res.get("matcher_steady") or []
    if st:
        w("Steady state: a backlog waiting on one side (kept between ticks in the matcher's index), "
          "then ticks of *a* arrivals on each side; every new request of the other side pairs, so the "
          "backlog stays. *incremental*: the matcher's tick (`incr`: pair only what the arrivals can "
          "change; the result equals closest pair first over the whole pool, checked against the cold "
          "pairing in every row); *index inserts*: adding the arrivals to the index as they come; *cold*: "
          "recomputing the whole pool from scratch, for comparison. ms per tick, mean of %s ticks. "
          "Since the tick now pairs cold when the arrivals are over a third of all waiting "
          "(`incr_cold_cheaper`), the rows with a backlog of 1e3 and 1000 arrivals run cold in the matcher."
          % st[0].get("ticks"))
        w("")
        w("| backlog | waiting side | arrivals per side | incremental ms | index inserts ms | cold ms | equal to cold |")
        w("|---|---|---|---|---|---|---|")
        for x in st:
            w("| %s | %s | %s | %.3f | %.3f | %.2f | %s |" % (
                x["backlog"], x["backlog_side"], x["arrivals"], x["incr_ms"], x["add_ms"], x["cold_ms"],
                "yes" if x.get("matches_cold") else "**no**"))
        w("")

    if res.get("quality"):
        w("## 3b. Matching quality (bench_quality)")
        w("")
        w("One snapshot of N riders × N drivers, uniform in a 1000 × 1000 square or clustered (5 dense "
          "centres, 15% anywhere, riders and drivers weighted differently per centre). Total and p95 of the "
          "pairs' rider–driver distances, as ratios to the exact minimum total distance (scipy "
          "`linear_sum_assignment` on the dense matrix; at N ≤ 2000 also the matcher's own "
          "`--policy min-total` solver, which must agree to 1e-9). Naive nearest: each rider in arrival "
          "order takes its nearest free driver.")
        w("")
        w("| N | input | closest pair first: total / p95 | naive nearest: total / p95 | optimum: total, p95, ms | C min-total ms |")
        w("|---|---|---|---|---|---|")
        for x in res["quality"]:
            o = x.get("optimum") or {}
            c, nv = x["closest_pair_first"], x["naive_nearest"]
            ratio = lambda y: ("%.3f× / %.3f×" % (y["total_ratio"], y["p95_ratio"])) if "total_ratio" in y else "n/a"
            w("| %s | %s | %s | %s | %s | %s |" % (
                x["n"], x["input"], ratio(c), ratio(nv),
                ("%.0f, %.1f, %.0f" % (o["total"], o["p95"], o["ms"])) if o else "n/a",
                ("%.0f" % x["min_total"]["ms"]) if "min_total" in x else "–"))
        w("")

    replay_markdown(res.get("replay"), w)
    stall_markdown(res.get("stall"), w)

    w("## 4. Websocket fan-out (ws_fanout)")
    w("")
    w("`build/bench/ws_fanout`: 1,000 websockets **through nginx** (modes *message-direct* and "
      "*batch-direct*: straight at comm-svc's own port, to separate nginx's share) to comm-svc, each a viewer (every match "
      "goes to every socket); synthetic match entries are XADDed to the `matches` stream at the given "
      "rate (as the matcher writes them) and the matches received are counted during the sending window "
      "(every `\"type\":\"match\",` in the bytes, so a batch counts its items). Modes: *message* "
      "(one frame per match, the default), *batch* (hello `\"batch\":true`: the matches queued for a "
      "socket go out as one `{\"type\":\"matches\",...}` frame per write), and *nchan* "
      "(Debian's libnginx-mod-nchan in its own nginx, one worker, no proxy hop: each match POSTed to "
      "its publisher location, 1,000 websocket subscribers of one channel, the same client code). "
      "Modes are interleaved within each run; medians (min–max) of the runs.")
    w("")
    w("| mode | matches/s | sockets | offered msg/s | received msg/s | delivered | frames with matches | comm drops+slow closes | client CPU s | load 1m |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for f in res["fanout"]:
        w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            f["mode"], f["matches_per_s"], fmt(f["sockets"], 0), fmt(f["offered_msgs_per_s"], 0), fmt(f["msgs_per_s"], 0),
            fmt(f["delivered_ratio"], 3), fmt(f.get("frames_with_match"), 0),
            fmt(f["comm_dropped_or_closed"], 0) if f["mode"] != "nchan" else "–", fmt(f["client_cpu_s"], 2),
            loads([{"load": "%s" % v} for v in f["loadavg_1m"] if v is not None])))
    w("")
    if res.get("fanout_ratios"):
        w("Ratios of the medians (received msg/s):")
        w("")
        w("| matches/s | batch / message | message / nchan | batch / nchan |")
        w("|---|---|---|---|")
        for r in res["fanout_ratios"]:
            w("| %d | %s | %s | %s |" % (r["matches_per_s"], *[
                ("%.2f×" % r[k]) if k in r else "n/a" for k in ("batch_vs_message", "message_vs_nchan", "batch_vs_nchan")]))
        w("")

    if res.get("ratings"):
        w("## 6. Ratings: group commit (POST /rating → 201 once committed)")
        w("")
        w("wrk (`bench/rating.lua`) through nginx, every request a different ride (written to Redis "
          "as the matcher does); ratings/s counts the 201s only. rating-svc with `--batch-max 1` "
          "(before: one autocommit INSERT in flight) and `--batch-max 256` (group commit: the ratings "
          "that queued meanwhile, one transaction, pipelined). The references are Postgres alone in "
          "the same run: pgbench running the same INSERT, one row per transaction (*pg-single*) or 64 "
          "in one pipelined transaction (*pg-batch64*), rows/s. Postgres runs with fsync on (durable "
          "commits). *rows ≥ 201s*: after each run the table held a row for every 201 (and at most one more per "
          "client: answers still on their way when wrk stopped).")
        w("")
        w("| clients | target | batch | ratings/s | p99 ms | not 201 | rows ≥ 201s | load 1m |")
        w("|---|---|---|---|---|---|---|---|")
        for r in res["ratings"]:
            batch = ("--batch-max %d" % r["batch_max"]) if r["target"] == "rating-svc" else ("%d rows/xact" % r["rows_per_xact"])
            w("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
                r["clients"], r["target"], batch, fmt(r["ratings_per_s"], 0),
                fmt(r.get("p99_ms")) if r["target"] == "rating-svc" else "–",
                fmt(r.get("not_201"), 0) if r["target"] == "rating-svc" else "–",
                ("yes" if r["rows_match_201"] else "**no**") if r["target"] == "rating-svc" else "–",
                loads([{"load": "%s" % v} for v in r["loadavg_1m"] if v is not None])))
        w("")

    w("## Commands")
    w("")
    w("```")
    w("make bench                      # full (~35 min on 2 cores); BENCH_QUICK=1 make bench: one run, short")
    w("make bench-smoke                # seconds; checks the tool and its JSON only")
    seen = set()
    for r in res["latency"]:
        if r["cmd"] not in seen:
            seen.add(r["cmd"])
            w("TICK_MS=%d LOG_LEVEL=%s  %s" % (r["tick_ms"], r["log_level"], r["cmd"]))
    for t, x in res["ingest"].items():
        w(x["cmd"])
    for t, x in (res.get("ingest_cost") or {}).items():
        w(x["cmd"])
    for f in res["fanout"]:
        w(f["cmd"])
    for x in res["matcher"][:1]:
        w(x["cmd"])
    for r in res.get("ratings", []):
        if r["clients"] == 64:
            w(r["cmd"])
    w("```")
    w("")
    if analysis:
        w(analysis.rstrip())
        w("")
    return "\n".join(L)


# ------------------------------------------------------------ 7. replay
REPLAY_POLICY_NAMES = {"closest": "closest pair first", "min-total": "min-total"}


def replay_rows(rs):
    """One row per (tick, policy) of the replay section, as bench/run.sh ran them
    (tick 1000 first, closest pair first before min-total)."""
    rows = []
    for r in sorted(rs, key=lambda r: (-r["tick"], r["policy"] != "closest")):
        b, q = r["bot"], r["bot"].get("quality") or {}
        side = lambda k: q.get(k) or {}
        rows.append({
            "tick_ms": r["tick"], "policy": r["policy"], "trace": r["trace"], "replay_s": r["replay_s"],
            "requests": (b.get("replay") or {}).get("requests"), "accepted": b.get("accepted"),
            "match_latency_ms": {k: b["match_latency_ms"].get(k) for k in ("p50", "p99", "count")},
            "pairs": q.get("pairs"), "pickup_mean": (q.get("pickup") or {}).get("mean"),
            "pickup_p95": (q.get("pickup") or {}).get("p95"),
            "riders_matched_share": side("riders").get("matched_share"),
            "drivers_matched_share": side("drivers").get("matched_share"),
            "riders_expired": side("riders").get("expired"), "drivers_expired": side("drivers").get("expired"),
            "wait_ms": {k: side(k).get("wait_ms") for k in ("riders", "drivers")},
            "matcher": r.get("matcher"), "loadavg_1m": load1(r), "cmd": r["cmd"]})
    return rows


def replay_markdown(rows, w):
    if not rows:
        return
    pct = lambda v: "n/a" if v is None else "%.1f %%" % (100 * v)
    num = lambda v, f="%.1f": "n/a" if v is None else f % v
    x0 = rows[0]
    w("## 7. Replay: one trace at three ticks, under both policies")
    w("")
    w("The committed trace `bench/traces/%s` (its first %s s: %s requests), replayed by "
      "`bot --replay` at its recorded pace onto freshly started services (empty Redis) for each "
      "matcher tick and policy (`MATCHER_POLICY=min-total` or the default closest pair first): "
      "the same requests in the same order every time. Match latency is the rider's 202 → its fare "
      "on the bot's websocket; pickup distance, the matched shares (matched / (matched + expired), "
      "per side, of the bot's own accepted requests) and the 202 → match wait (the match's "
      "`matched_at_ms`) are the bot's quality figures (bot/README.md)." % (
          x0["trace"], x0["replay_s"], x0["requests"]))
    w("")
    w("| tick ms | policy | latency p50 / p99 ms | pairs | pickup mean / p95 | riders matched | drivers matched | wait p50 / p99 ms (riders) | load |")
    w("|---|---|---|---|---|---|---|---|---|")
    for x in rows:
        ml, wr = x["match_latency_ms"], x["wait_ms"]["riders"] or {}
        w("| %s | %s | %s / %s | %s | %s / %s | %s | %s | %s / %s | %s |" % (
            x["tick_ms"], REPLAY_POLICY_NAMES.get(x["policy"], x["policy"]),
            num(ml.get("p50")), num(ml.get("p99")), x["pairs"], num(x["pickup_mean"], "%.2f"),
            num(x["pickup_p95"], "%.2f"), pct(x["riders_matched_share"]), pct(x["drivers_matched_share"]),
            num(wr.get("p50"), "%.0f"), num(wr.get("p99"), "%.0f"), x["loadavg_1m"]))
    w("")
    by = {(x["tick_ms"], x["policy"]): x for x in rows}
    said = []
    for (tick, pol), x in sorted(by.items(), key=lambda kv: -kv[0][0]):
        c = by.get((tick, "closest"))
        if pol == "min-total" and c and c["pickup_mean"] and x["pickup_mean"] is not None:
            said.append("%.0f%% at %s ms" % (100 * (x["pickup_mean"] / c["pickup_mean"] - 1), tick))
    closest = [x for x in rows if x["policy"] == "closest" and x["pickup_mean"] is not None]
    span = ("; closest pair first's mean pickup is %.0f at %s ms and %.0f at %s ms" % (
        closest[0]["pickup_mean"], closest[0]["tick_ms"], closest[-1]["pickup_mean"], closest[-1]["tick_ms"])
        if len(closest) > 1 else "")
    w("What it says: the tick sets the latency (a request waits for the next tick, so p50 is about "
      "half a tick and p99 about a tick, plus delivery) and the pickup distance: a shorter tick pairs "
      "from a smaller pool, so the pairs are farther apart%s. The policy changes which pairs are made, "
      "not when: min-total's mean pickup distance against closest pair first's, on the same "
      "requests: %s (negative: shorter); the smaller the pool, the fewer choices the two have to "
      "differ on." % (span, ", ".join(said) or "n/a"))
    w("")


# ------------------------------------------------------------ 8. loop stall
def stall_rows(rs):
    """The loop stall runs, aggregated: longest /healthz round trip while
    ingesting and pairing, idle, and the matcher's own loop-lag gauges."""
    if not rs:
        return None
    res = lambda k: [r["result"].get(k) for r in rs]
    return {"n_per_side": rs[0]["result"].get("n_per_side"), "runs": len(rs),
            "healthz_max_ms": med([r["result"]["loaded"]["max_ms"] for r in rs]),
            "healthz_idle_max_ms": med([r["result"]["idle"]["max_ms"] for r in rs]),
            "over_10ms": med([r["result"]["loaded"]["over_10ms"] for r in rs]),
            "probes": med([r["result"]["loaded"]["probes"] for r in rs]),
            "loop_lag_max_ms": med(res("matcher_loop_lag_max_ms")),
            "loop_lag_max_cpu_ms": med(res("matcher_loop_lag_max_cpu_ms")),
            "load_s": med(res("load_s")),
            "loadavg_1m": [load1(r) for r in rs], "cmd": rs[0]["cmd"]}


def stall_markdown(x, w):
    if not x:
        return
    w("## 8. Loop stall: the matcher ingesting and pairing a big pool")
    w("")
    w("`bench/loop_stall.py` writes %s riders and %s drivers into Redis as the intake does "
      "(stream entry + key) as fast as it can, onto a matcher freshly started at tick 100 ms, "
      "while a probe asks the matcher's `/healthz` every 2 ms on one keep-alive connection; the "
      "longest round trip bounds the longest time the loop was held. The matcher's own gauges: "
      "`matcher_loop_lag_max_ms` (how late a 10 ms timer ran) and `matcher_loop_lag_max_cpu_ms` "
      "(how much of that worst lag the loop thread itself was running; the rest it waited for a "
      "core, which the loader and Redis on the same 2 cores take)." % (x["n_per_side"], x["n_per_side"]))
    w("")
    w("| figure | median (min–max) of %d runs |" % x["runs"])
    w("|---|---|")
    w("| longest /healthz round trip, idle | %s |" % fmt(x["healthz_idle_max_ms"], 1, " ms"))
    w("| longest /healthz round trip, while ingesting and pairing | %s |" % fmt(x["healthz_max_ms"], 1, " ms"))
    w("| probes over 10 ms (of %s) | %s |" % (fmt(x["probes"], 0), fmt(x["over_10ms"], 0)))
    w("| matcher's longest loop lag | %s |" % fmt(x["loop_lag_max_ms"], 1, " ms"))
    w("| … of which the loop thread ran | %s |" % fmt(x["loop_lag_max_cpu_ms"], 1, " ms"))
    w("| time to write the pool into Redis | %s |" % fmt(x["load_s"], 1, " s"))
    w("| load average at the start of each run | %s |" % ", ".join(str(v) for v in x["loadavg_1m"]))
    w("")
    w("Command: `%s` (on a stack: `make up`)." % x["cmd"])
    w("")



def replay_smoke_check(raw, res):
    rs = [r for r in raw if r["section"] == "replay"]
    if not rs:
        raise SystemExit("smoke: sections missing from raw.jsonl: replay")
    for r in rs:
        q = r["bot"].get("quality")
        if not q or "pickup" not in q or "riders" not in q or "wait_ms" not in q["riders"]:
            raise SystemExit("smoke: replay bot JSON lacks quality.pickup / riders.wait_ms")
        if (r["bot"].get("replay") or {}).get("requests", 0) <= 0:
            raise SystemExit("smoke: the replay sent no trace requests")
        if r["matcher"]["policy_min_total"] != (1 if r["policy"] == "min-total" else 0):
            raise SystemExit("smoke: the matcher did not run policy %s" % r["policy"])
    if {r["policy"] for r in rs} != {"closest", "min-total"} or not res["replay"]:
        raise SystemExit("smoke: the replay section lacks a policy")



def smoke_check(raw, res):
    need = {"machine", "matcher", "fanout", "ingest", "latency", "idle", "end"}
    have = {r["section"] for r in raw}
    missing = need - have
    if missing:
        raise SystemExit("smoke: sections missing from raw.jsonl: %s" % ", ".join(sorted(missing)))
    for r in raw:
        if r["section"] == "latency":
            for k in ("p50", "p90", "p99", "max"):
                if k not in r["bot"]["match_latency_ms"]:
                    raise SystemExit("smoke: bot JSON lacks match_latency_ms.%s" % k)
            for g in GROUPS:
                if g not in r["procs_after"]:
                    raise SystemExit("smoke: no resource sample for %s" % g)
        if r["section"] == "fanout":
            for k in ("welcomed", "msgs_per_s", "received_match", "expected_match"):
                if k not in r["result"]:
                    raise SystemExit("smoke: ws_fanout JSON lacks %s" % k)
        if r["section"] == "ratings" and r["target"] == "rating-svc":
            for k in ("requests", "duration_us", "status", "errors", "latency_us"):
                if k not in r["result"]:
                    raise SystemExit("smoke: rating.lua JSON lacks %s" % k)
        if r["section"] == "ratings" and r["target"] != "rating-svc" and "tps" not in r["result"]:
            raise SystemExit("smoke: pgbench result lacks tps")
        if r["section"] == "ingest":
            for k in ("requests", "duration_us", "errors", "latency_us"):
                if k not in r["result"]:
                    raise SystemExit("smoke: wrk JSON lacks %s" % k)
    replay_smoke_check(raw, res)
    if not res["latency"] or not res["ingest"] or not res["fanout"] or not res["matcher"]:
        raise SystemExit("smoke: an empty section in results.json")


# rows that belong to a section of the run (idle samples are taken around
# the latency runs)
OWNER = {"idle": "latency", "ingest_cost": "ingest"}


def update_raw(base_path, new_path):
    def read(path):
        with open(path) as f:
            return [json.loads(x) for x in f if x.strip()]
    base, new = read(base_path), read(new_path)
    mach = [r for r in new if r["section"] == "machine"]
    if len(mach) != 1 or not mach[0].get("sections"):
        raise SystemExit("%s: not one run with its sections named" % new_path)
    redone = set(mach[0]["sections"].split())
    # the base is one or more runs, each from its machine row on; an earlier
    # re-run wholly redone now leaves no trace (its machine and end rows go)
    keep, run = [], 0
    for r in base:
        if r["section"] == "machine":
            run += 1
            gone = run > 1 and set(r.get("sections", "").split()) <= redone
        if r["section"] in ("machine", "end"):
            if not gone:
                keep.append(r)
        elif OWNER.get(r["section"], r["section"]) not in redone:
            keep.append(r)
    with open(base_path + ".tmp", "w") as f:
        for r in keep + new:
            f.write(json.dumps(r) + "\n")
    os.replace(base_path + ".tmp", base_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--analysis")
    ap.add_argument("--append", action="append", default=[],
                    help="a hand-kept markdown file appended as it is (e.g. bench/SOAK.md)")
    ap.add_argument("--smoke-check", action="store_true")
    ap.add_argument("--update", metavar="NEW_RAW",
                    help="a later run of some sections (BENCH_SECTIONS=...): its rows replace those "
                         "sections' rows in --raw, which is rewritten, and the report says which "
                         "sections come from which run")
    a = ap.parse_args()
    if a.update:
        update_raw(a.raw, a.update)
    raw = []
    with open(a.raw) as f:
        for i, line in enumerate(f, 1):
            if line.strip():
                try:
                    raw.append(json.loads(line))
                except ValueError as e:
                    raise SystemExit("%s:%d: not JSON: %s" % (a.raw, i, e))
    res = aggregate(raw)
    res["targets"] = [{"target": n, "measured": v, "met": ok} for n, v, ok in targets(res)]
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    with open(a.json) as f:
        json.load(f)
    analysis = None
    if a.analysis:
        try:
            with open(a.analysis) as f:
                analysis = f.read()
        except OSError:
            pass
    extra = ""
    for path in a.append:
        with open(path) as f:
            extra += "\n" + f.read()
    with open(a.md, "w") as f:
        f.write(markdown(res, analysis) + "\n" + extra)
    if a.smoke_check:
        smoke_check(raw, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
