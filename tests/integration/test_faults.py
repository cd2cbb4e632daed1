"""The fault test: the stack under bot load (~300 requests/s plus ratings)
while each service is killed with SIGKILL in turn (the supervisor restarts
it), Redis and Postgres are stopped for a few seconds, and nginx is killed and
started again. Beside the bot, a probe client posts pairs at fresh far-away
spots, keeps a websocket that reconnects with resume_after, rates its rides
and times every request. Afterwards faultcheck.py checks the invariants
against what the bot and the probe saw and what Redis and Postgres hold, and
the figures are printed. Bounded: about 60 s."""
import glob
import itertools
import json
import os
import signal
import subprocess
import threading
import time

import psycopg2
import requests
import websocket

import faultcheck
from ownproc import alive, children
from conftest import BASE, PORT, ROOT, WS_URL, post, rider, driver, stack, wait_for

BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
VAR = os.environ.get("VAR_DIR", os.path.join(ROOT, "var"))
SERVICES = [("rider-svc", 10), ("driver-svc", 20), ("matcher", 50), ("comm-svc", 40), ("rating-svc", 30)]
BOT_SECONDS = 40
DRAIN_MS = 8000


# ---------------------------------------------------------------- processes

def service_pid(name):
    """The running child of the service's supervisor, or None."""
    with open(os.path.join(VAR, "run", f"{name}.0.pid")) as f:
        sup = int(f.read())
    kids = children(sup)
    return kids[0] if kids else None


def healthz(off):
    try:
        return requests.get(f"http://127.0.0.1:{PORT + off}/healthz", timeout=2).status_code
    except requests.RequestException:
        return None


def restarts_in_logs():
    n = 0
    for path in glob.glob(os.path.join(VAR, "log", "*.log")):
        with open(path, errors="replace") as f:
            n += sum("supervise:" in line and "restarting" in line for line in f)
    return n


def kill_nginx():
    with open(os.path.join(VAR, "run", "nginx.pid")) as f:
        master = int(f.read())
    pids = [master] + children(master)
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert wait_for(lambda: not any(alive(p) for p in pids), 10)


# ---------------------------------------------------------------- the probe

class Probe:
    """A client beside the bot: pairs at fresh spots, one websocket with
    resume, ratings with retries, every request timed."""

    def __init__(self):
        self.client_id = f"probe-{os.getpid()}-{int(time.time()) % 100000}"
        self.stop_posting = threading.Event()   # the bot's sending phase is over
        self.stop = threading.Event()           # the bot has finished: stop listening
        self.lock = threading.Lock()
        self.pairs, self.latencies, self.statuses = [], [], {}
        self.hangs = 0
        self.received, self.ratings = {}, {}
        self.to_rate = []
        self.cursor = None
        self.ws_connects = self.ws_disconnects = 0
        self.spot = itertools.count()
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self.poster, self.listener, self.rater)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop_posting.set()
        self.stop.set()
        for t in self.threads:
            t.join(40)

    def timed(self, fn, *args):
        t0 = time.time()
        try:
            r = fn(*args, timeout=30)
            st = r.status_code
        except requests.Timeout:
            r, st = None, "hang"
        except requests.RequestException:
            r, st = None, "conn"
        with self.lock:
            self.latencies.append(time.time() - t0)
            self.statuses[str(st)] = self.statuses.get(str(st), 0) + 1
            if st == "hang":
                self.hangs += 1
        return r

    def poster(self):
        while not self.stop_posting.is_set():
            k = next(self.spot)
            x, y = -9e5 + 97.0 * k, 8e5
            t = time.time()
            rr = self.timed(post, "/rider", rider(name="Probe", x=x, y=y, client_id=self.client_id))
            rd = self.timed(post, "/driver", driver(name="Probe", car=f"PRB-{k}", x=x, y=y,
                                                    client_id=self.client_id))
            p = {"t": t, "rider_id": self.accepted_id(rr), "driver_id": self.accepted_id(rd)}
            with self.lock:
                self.pairs.append(p)
            self.stop_posting.wait(0.2)

    @staticmethod
    def accepted_id(r):
        """The request id of a 202 (a 202 without one fails the check: I2)."""
        if r is None or r.status_code != 202:
            return None
        try:
            return r.json()["id"]
        except (ValueError, KeyError, TypeError):
            return "malformed-202"

    def listener(self):
        while not self.stop.is_set():
            hello = {"type": "hello", "client_id": self.client_id}
            if self.cursor:
                hello["resume_after"] = self.cursor
            try:
                ws = websocket.create_connection(WS_URL, timeout=5)
            except (OSError, websocket.WebSocketException):
                time.sleep(0.2)
                continue
            try:
                ws.send(json.dumps(hello))
                self.ws_connects += 1
                ws.settimeout(1)
                while not self.stop.is_set():
                    try:
                        m = json.loads(ws.recv())
                    except websocket.WebSocketTimeoutException:
                        continue
                    if m.get("type") != "match":
                        continue
                    if not self.cursor or faultcheck.sid(m["cursor"]) > faultcheck.sid(self.cursor):
                        self.cursor = m["cursor"]
                    tok = m.get("rating_token")
                    with self.lock:
                        first = m["ride_id"] not in self.received
                        self.received.setdefault(m["ride_id"], {"token": False})
                        if tok:
                            self.received[m["ride_id"]]["token"] = True
                        if tok and first:   # only the rider's client gets the token: ours
                            self.to_rate.append((m["ride_id"], tok))
                if self.stop.is_set():
                    ws.close()
                    return
            except (OSError, websocket.WebSocketException, ValueError):
                self.ws_disconnects += 1
                time.sleep(0.1)

    def rater(self):
        while True:
            with self.lock:
                job = self.to_rate.pop(0) if self.to_rate else None
            if job is None:
                if self.stop.is_set():
                    return
                time.sleep(0.05)
                continue
            ride, tok = job
            end, st = time.time() + 30, None
            while time.time() < end:
                r = self.timed(post, "/rating", {"ride_id": ride, "rating": 5, "rating_token": tok})
                st = r.status_code if r is not None else None
                if st in (201, 409, 403, 404, 400):
                    break
                time.sleep(0.3)
            with self.lock:
                self.ratings[ride] = st

    def record(self):
        return {"client_id": self.client_id, "pairs": self.pairs, "latencies": self.latencies,
                "hangs": self.hangs, "received": self.received, "ratings": self.ratings,
                "statuses": self.statuses}


# ---------------------------------------------------------------- the test

def test_faults_under_load(rds, capsys):
    start_id = "%d-0" % (int(time.time() * 1000))
    last = rds.xrevrange("matches", count=1)
    if last:
        start_id = "%d-%d" % (faultcheck.sid(last[0][0])[0], faultcheck.sid(last[0][0])[1] + 1)
    restarts0 = restarts_in_logs()
    bot_id = f"faultbot-{os.getpid()}"
    bot = subprocess.Popen([os.path.join(BUILD, "bin", "bot"), "--json", "--progress-s", "0",
                            "--url", BASE, "--client-id", bot_id, "--riders", "150", "--drivers", "150",
                            "--duration", str(BOT_SECONDS), "--drain-ms", str(DRAIN_MS)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    probe = Probe()
    probe.start()
    t_begin = time.time()
    kills, outages, checks = 0, [], []
    rating_faults = []   # (start, end) of every fault on the rating path (faultcheck I7)
    try:
        time.sleep(3)
        # ---- kill -9 each service in turn; the supervisor brings it back
        for name, off in SERVICES:
            old = service_pid(name)
            assert old, f"{name} is not running"
            t0 = time.time()
            os.kill(old, signal.SIGKILL)
            back = wait_for(lambda: (lambda p: p and p != old and healthz(off) == 200)(service_pid(name)), 20)
            if name == "rating-svc":
                rating_faults.append((t0, time.time()))
            assert back, f"{name} did not come back after SIGKILL"
            kills += 1
            time.sleep(1.5)

        # ---- Redis stopped for a few seconds: 503s meanwhile, recovery by itself
        t0 = time.time()
        stack("redis-down")
        try:
            time.sleep(0.5)
            r = post("/rider", rider(name="Outage"))
            checks.append(("redis down: POST /rider", r.status_code))
            assert r.status_code == 503 and r.json()["error"], r.text
            for name, off in SERVICES:
                assert wait_for(lambda: healthz(off) == 503, 5), f"{name} /healthz is not 503 with Redis down"
            time.sleep(2)
        finally:
            stack("redis-up")
            outages.append((t0, time.time()))
        for name, off in SERVICES:
            assert wait_for(lambda: healthz(off) == 200, 20), f"{name} did not recover after Redis came back"
        rating_faults.append((t0, time.time()))
        assert wait_for(lambda: post("/rider", rider(name="After")).status_code == 202, 10)
        time.sleep(1.5)

        # ---- Postgres stopped for a few seconds
        t0 = time.time()
        stack("pg-down")
        try:
            time.sleep(0.5)
            r = requests.get(BASE + "/rating/top", timeout=10)
            checks.append(("postgres down: GET /rating/top", r.status_code))
            assert r.status_code == 503 and r.json()["error"], r.text
            r = post("/rating", {"ride_id": "ride-1-0", "rating": 3, "rating_token": "0" * 32})
            checks.append(("postgres down: POST /rating", r.status_code))
            assert r.status_code == 503, r.text
            assert wait_for(lambda: healthz(30) == 503, 5)
            time.sleep(2)
        finally:
            stack("pg-up")
        assert wait_for(lambda: requests.get(BASE + "/rating/top", timeout=10).status_code == 200, 20), \
            "rating-svc did not recover after Postgres came back"
        rating_faults.append((t0, time.time()))
        time.sleep(1.5)

        # ---- nginx killed and started again
        t0 = time.time()
        kill_nginx()
        try:
            requests.get(BASE + "/healthz", timeout=2)
            assert False, "nginx still answers after SIGKILL"
        except requests.ConnectionError:
            pass
        time.sleep(1)
        stack("nginx-up")
        assert wait_for(lambda: post("/driver", driver(name="Back")).status_code == 202, 10)
        rating_faults.append((t0, time.time()))
        kills += 1
    finally:
        # whatever happened above: every server up again, the bot stopped
        for what in ("redis-up", "pg-up", "nginx-up"):
            try:
                stack(what)
            except subprocess.CalledProcessError:
                pass
        remaining = BOT_SECONDS - (time.time() - t_begin)
        probe.stop_posting.wait(max(remaining, 0))
        probe.stop_posting.set()
        try:
            out, err = bot.communicate(timeout=DRAIN_MS / 1000 + 30)
        except subprocess.TimeoutExpired:
            bot.kill()
            out, err = bot.communicate()
        probe.finish()

    assert bot.returncode == 0, err[-2000:]
    bot_summary = json.loads([l for l in out.splitlines() if l.strip()][-1])
    rec = {"start_id": start_id, "redis_outages": outages, "bot": bot_summary, "probe": probe.record(),
           "rating_faults": rating_faults, "bot_seconds": BOT_SECONDS}
    with open(os.path.join(VAR, "log", "faults-record.json"), "w") as f:
        json.dump(rec, f)
    pg = psycopg2.connect(stack("pg-conninfo").strip())   # a fresh one: Postgres was restarted
    try:
        fig, violations = faultcheck.check(rec, rds, pg)
    finally:
        pg.close()
    restarts = restarts_in_logs() - restarts0
    fig.update({
        "bot_requests_sent": bot_summary["sent"], "bot_requests_accepted": bot_summary["accepted"],
        "bot_rejected_by_status": bot_summary["rejected_by_status"],
        "bot_transport_errors": bot_summary["transport_errors"],
        "bot_ratings": bot_summary["ratings"], "bot_ws": bot_summary["ws"],
        "probe_statuses": probe.statuses, "probe_ws_connects": probe.ws_connects,
        "kills_survived": kills, "store_outages_survived": 2, "supervisor_restarts": restarts,
        "outage_checks": checks, "wall_s": round(time.time() - t_begin, 1),
    })
    with open(os.path.join(VAR, "log", "faults-figures.json"), "w") as f:
        json.dump({"figures": fig, "violations": violations}, f, indent=1)
    b = bot_summary
    errors = dict(b["rejected_by_status"])
    for st, n in b["ratings"]["rejected_by_status"].items():
        errors[st] = errors.get(st, 0) + n
    summary = (
        f"requests {b['sent'] + b['ratings']['sent']} from the bot ({b['accepted']} of {b['sent']} rides "
        f"and {b['ratings']['accepted']} of {b['ratings']['sent']} ratings accepted) + "
        f"{sum(probe.statuses.values())} from the probe; matches {fig['matches']}, none paired twice; "
        f"kills survived {kills} (5 services, nginx) + Redis and Postgres stopped; "
        f"errors seen: {', '.join(f'{n}x{st}' for st, n in sorted(errors.items()))}, "
        f"{b['transport_errors'] + b['ratings']['transport_errors']} transport errors (bot), "
        f"probe {json.dumps({k: v for k, v in probe.statuses.items() if k not in ('201', '202')})}; "
        f"websocket reconnects: bot {b['ws']['connects'] - 1}, probe {probe.ws_connects - 1}; "
        f"violations {len(violations)}; {fig['wall_s']} s")
    with capsys.disabled():   # shown in every run, also with pytest -q
        print("\nfault test: " + summary)
        print("fault test figures: " + json.dumps(fig))
    # the supervisor restarted exactly the five killed services: nothing exited
    # by itself while Redis or Postgres was down
    assert restarts == len(SERVICES), f"{restarts} restarts in the logs, {len(SERVICES)} kills"
    assert bot_summary["ws"]["connects"] >= 3, "the bot's websocket did not reconnect after comm-svc/nginx"
    assert probe.ws_connects >= 3
    assert fig["matches"] > 1000 and fig["probe_matches"] > 20, fig
    assert not violations, "\n".join(violations[:30])
