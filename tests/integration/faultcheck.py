"""faultcheck.py - the invariant checker of the fault test (test_faults.py).

Reads what the clients saw (a JSON record: the bot's --json summary and the
probe client's own log of requests, websocket deliveries and ratings) plus
what Redis (the `matches` and `requests` streams) and Postgres (`ratings`)
hold, and checks that the faults lost nothing:

  I1 no request paired twice: every rider id, driver id and ride id appears
     at most once in the whole `matches` stream;
  I2 accepted means stored: every request the probe had accepted (202) is in
     the `requests` stream under its id;
  I3 never lost: for each probe pair (a rider and a driver at the same fresh
     spot, far from everyone) accepted outside a Redis outage, at least one
     side was matched (both left unmatched means neither was ever in a pool);
  I4 delivered: every match of the probe's client and of the bot's client
     reached it (they reconnect with resume_after), the probe's with its token;
  I5 every accepted rating is in Postgres: each probe rating answered 201 (or
     409 after a retry) has its row; the bot's rows >= the bot's 201s;
  I7 the bot rates what it gets: it tried to rate every fare that reached it
     with a token, its own riders' fares in the stream all came with the
     token, it rated something at all, its failed ratings are only 5xx or
     transport errors (a 4xx is a bug, not a fault), and the fares it could
     not rate fit in the faults: at most (the bot's fare rate) x (the time
     the rating path was down: each fault that touches it, rating-svc killed,
     Redis or Postgres stopped, nginx killed, plus RATING_MARGIN_S each);
  I6 never a silent hang: every probe request got an answer (any status)
     within HANG_S; the bot accounted for every request it sent.

Usable as a program (python3 faultcheck.py RECORD.json --redis-port N --pg
CONNINFO [--redis-password P]: prints the figures as JSON, exit 1 on a violation) and as a module
(check()). Needs redis-py and psycopg2 (Debian's python3)."""
import argparse
import json
import os
import sys

HANG_S = 12.0   # services answer 503 within 3 s, nginx 502/504 within 10 s
RATING_MARGIN_S = 1.5   # per fault: reconnects, retries in flight around it


def sid(s):
    ms, _, seq = s.partition("-")
    return (int(ms), int(seq or 0))


def check(rec, rds, pg):
    """rec: the record (see test_faults.py); rds: a redis.Redis with
    decode_responses; pg: a psycopg2 connection. Returns (figures, violations)."""
    v = []
    fig = {}

    # ---- I1: the whole matches stream, and the part since the test began
    by_rider, by_driver, rides = {}, {}, set()
    window = []
    last = "-"
    while True:
        batch = rds.xrange("matches", min=last, max="+", count=5000)
        if last != "-" and batch and batch[0][0] == last:
            batch = batch[1:]
        if not batch:
            break
        for mid, f in batch:
            try:
                m = json.loads(f["json"])
                r, d, ride = m["rider"]["id"], m["driver"]["id"], m["ride_id"]
            except (KeyError, ValueError, TypeError):
                v.append(f"I1: malformed matches entry {mid}")
                continue
            if r in by_rider:
                v.append(f"I1: rider {r} paired twice ({by_rider[r]} and {mid})")
            if d in by_driver:
                v.append(f"I1: driver {d} paired twice ({by_driver[d]} and {mid})")
            if ride in rides:
                v.append(f"I1: ride {ride} claimed twice")
            by_rider[r], by_driver[d] = mid, mid
            rides.add(ride)
            if sid(mid) >= sid(rec["start_id"]):
                window.append((mid, m, f.get("rider_client", ""), f.get("driver_client", "")))
        last = batch[-1][0]
    fig["matches"] = len(window)
    fig["matches_in_stream"] = len(rides)

    # ---- I2 and I3: the probe's requests
    probe = rec["probe"]
    outages = rec.get("redis_outages", [])

    def near_outage(t):
        return any(a - 6.0 <= t <= b + 1.0 for a, b in outages)

    accepted_ids = [p[k] for p in probe["pairs"] for k in ("rider_id", "driver_id") if p.get(k)]
    for rid in accepted_ids:
        if not rds.xrange("requests", min=rid, max=rid):
            v.append(f"I2: accepted request {rid} is not in the requests stream")
    together = lost = excused = 0
    for p in probe["pairs"]:
        r, d = p.get("rider_id"), p.get("driver_id")
        if not (r and d):
            continue
        if near_outage(p["t"]):
            excused += 1
            continue
        if by_rider.get(r) and by_driver.get(d) and by_rider[r] == by_driver[d]:
            together += 1
        elif r not in by_rider and d not in by_driver:
            lost += 1
            v.append(f"I3: accepted pair rider {r} / driver {d} never matched")
    fig["probe_pairs"] = len(probe["pairs"])
    fig["probe_pairs_matched_together"] = together
    fig["probe_pairs_near_redis_outage"] = excused
    fig["probe_pairs_lost"] = lost

    # ---- I4: deliveries
    got = probe["received"]          # ride_id -> {"token": bool}
    mine = [m for _, m, rc, _dc in window if rc == probe["client_id"]]
    for m in mine:
        g = got.get(m["ride_id"])
        if g is None:
            v.append(f"I4: probe never received {m['ride_id']}")
        elif not g["token"]:
            v.append(f"I4: probe's copy of {m['ride_id']} had no rating_token")
    fig["probe_matches"] = len(mine)
    bot = rec["bot"]
    bot_rides = [m["ride_id"] for _, m, rc, dc in window
                 if bot["client_id"] in (rc, dc)]
    if bot["matched"] != len(bot_rides):
        v.append(f"I4: the bot received {bot['matched']} matches, the stream has {len(bot_rides)} for it")
    fig["bot_matches"] = len(bot_rides)

    # ---- I5: ratings in Postgres
    cur = pg.cursor()
    ok = [ride for ride, st in probe["ratings"].items() if st in (201, 409)]
    if ok:
        cur.execute("SELECT ride_id FROM ratings WHERE ride_id = ANY(%s)", (ok,))
        have = {row[0] for row in cur.fetchall()}
        for ride in ok:
            if ride not in have:
                v.append(f"I5: rating of {ride} answered {probe['ratings'][ride]} but is not in Postgres")
    unrated = [ride for ride, st in probe["ratings"].items() if st not in (201, 409)]
    if unrated:
        v.append(f"I5: {len(unrated)} probe ratings never succeeded: {unrated[:3]}")
    rows = 0
    if bot_rides:
        cur.execute("SELECT count(*) FROM ratings WHERE ride_id = ANY(%s)", (bot_rides,))
        rows = cur.fetchone()[0]
    if rows < bot["ratings"]["accepted"]:
        v.append(f"I5: the bot had {bot['ratings']['accepted']} ratings accepted, Postgres has {rows}")
    cur.close()
    fig["ratings_accepted"] = len(ok) + bot["ratings"]["accepted"]
    fig["bot_rating_rows"] = rows

    # ---- I7: the bot's ratings keep up with its fares
    own = [m["ride_id"] for _, m, rc, _dc in window if rc == bot["client_id"]]
    rb = bot["ratings"]
    fig["bot_own_fares"] = len(own)
    fig["bot_fares_unrated"] = len(own) - rb["accepted"]
    if own and rb["accepted"] == 0:
        v.append(f"I7: the bot rated nothing: {len(own)} fares of its riders, 0 ratings accepted")
    if bot["fares_with_token"] != len(own):
        v.append(f"I7: {len(own)} fares of the bot's riders in the stream, {bot['fares_with_token']} reached it with a token")
    if rb["sent"] != bot["fares_with_token"]:
        v.append(f"I7: the bot got {bot['fares_with_token']} fares with a token and sent {rb['sent']} ratings")
    bad4xx = {st: n for st, n in rb["rejected_by_status"].items() if not st.startswith("5")}
    if bad4xx:
        v.append(f"I7: the bot's ratings were refused with {bad4xx}: not a fault the test made")
    faults = rec.get("rating_faults")
    if faults is not None and rec.get("bot_seconds"):
        down_s = sum(b - a + RATING_MARGIN_S for a, b in faults)
        allowed = int(len(own) / rec["bot_seconds"] * down_s) + 1
        fig["bot_rating_path_down_s"] = round(down_s, 1)
        fig["bot_unrated_allowed"] = allowed
        if len(own) - rb["accepted"] > allowed:
            v.append(f"I7: {len(own) - rb['accepted']} of the bot's {len(own)} fares unrated; the faults "
                     f"({len(faults)}, {down_s:.1f} s of the rating path down) explain at most {allowed}")

    # ---- I6: answers
    slow = [s for s in probe["latencies"] if s > HANG_S]
    if slow or probe["hangs"]:
        v.append(f"I6: {len(slow)} probe requests slower than {HANG_S} s, {probe['hangs']} never answered")
    for kind in ("riders", "drivers", "ratings"):
        b = bot[kind]
        if b["sent"] != b["accepted"] + b["rejected"] + b["transport_errors"]:
            v.append(f"I6: the bot's {kind}: sent {b['sent']} != accepted+rejected+errors")
    fig["probe_max_latency_s"] = round(max(probe["latencies"] or [0]), 3)
    return fig, v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("record")
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--pg", required=True, help="libpq conninfo")
    ap.add_argument("--redis-password", default=os.environ.get("REDIS_PASSWORD"),
                    help="default: env REDIS_PASSWORD")
    a = ap.parse_args()
    import psycopg2
    import redis
    with open(a.record) as f:
        rec = json.load(f)
    rds = redis.Redis(host="127.0.0.1", port=a.redis_port, password=a.redis_password,
                      decode_responses=True)
    pg = psycopg2.connect(a.pg)
    fig, v = check(rec, rds, pg)
    print(json.dumps({"figures": fig, "violations": v}, indent=1))
    return 1 if v else 0


if __name__ == "__main__":
    sys.exit(main())
