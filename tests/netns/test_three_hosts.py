"""Runs inside the edge namespace that tests/netns/run.sh built: nginx on
this "host", the services on the app host, Redis and Postgres on the data
host. Everything goes through nginx on the edge address, as an outside client
would; Redis and Postgres on the data host are read only to check."""
import json
import os
import random
import subprocess
import sys
import threading
import time

import psycopg2
import redis
import requests
import websocket

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from ownproc import wait_for  # noqa: E402

PORT = int(os.environ["PORT"])
EDGE = os.environ["NETNS_EDGE_ADDR"]
BASE = f"http://{EDGE}:{PORT}"
WS_URL = f"ws://{EDGE}:{PORT}/communication"
TICK_MS = int(os.environ.get("TICK_MS", "250"))
_rnd = random.Random()


def rds():
    return redis.Redis(host=os.environ["NETNS_DATA_ADDR"], port=PORT + 1, decode_responses=True,
                       socket_timeout=5, password=os.environ.get("NETNS_REDIS_PASSWORD") or None)


def post(path, body, timeout=6):
    return requests.post(BASE + path, data=json.dumps(body), timeout=timeout,
                         headers={"Content-Type": "application/json"})


def spot():
    return _rnd.uniform(-9e5, 9e5), _rnd.uniform(-9e5, 9e5)


def pair_bodies(tag, client=None):
    x, y = spot()
    extra = {"client_id": client} if client else {}
    r = {"name": f"R{tag}", "location": {"x": x, "y": y}, "destination": {"x": 0, "y": 0}, **extra}
    d = {"name": f"D{tag}", "car_number": f"NS-{tag}", "location": {"x": x, "y": y + 0.5}, **extra}
    return r, d


def ws_client(client_id):
    ws = websocket.create_connection(WS_URL, timeout=10)
    ws.send(json.dumps({"type": "hello", "client_id": client_id}))
    w = json.loads(ws.recv())
    assert w["type"] == "welcome", w
    return ws


def recv_match(ws, ride_id, timeout):
    end = time.time() + timeout
    while time.time() < end:
        ws.settimeout(max(0.1, end - time.time()))
        try:
            m = json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            break
        if m.get("type") == "match" and m.get("ride_id") == ride_id:
            return m
    return None


def all_matches(r, start="-"):
    return [json.loads(f["json"]) for _, f in r.xrange("matches", min=start)]


def test_end_to_end_across_three_hosts():
    cid = f"ns-e2e-{os.getpid()}"
    ws = ws_client(cid)
    try:
        rb, db = pair_bodies("e2e", cid)
        rr, rd = post("/rider", rb), post("/driver", db)
        assert rr.status_code == 202 and rd.status_code == 202, (rr.text, rd.text)
        ride = "ride-" + rr.json()["id"]
        m = recv_match(ws, ride, 10)
        assert m, "no match arrived on the websocket through the edge"
        assert m["driver"]["id"] == rd.json()["id"] and m["rating_token"]
    finally:
        ws.close()
    rt = post("/rating", {"ride_id": ride, "rating": 5, "rating_token": m["rating_token"]})
    assert rt.status_code == 201, rt.text
    with psycopg2.connect(os.environ["NETNS_PG_CONNINFO"]) as conn, conn.cursor() as c:
        c.execute("SELECT rating, car_number FROM ratings WHERE ride_id = %s", (ride,))
        assert c.fetchone() == (5, "NS-e2e")


def test_app_host_link_cut_then_restored():
    r = rds()
    start = r.xrevrange("matches", count=1)
    start = "(" + start[0][0] if start else "-"
    events = []  # (start, end, ok, status or exception name, body)
    stop = threading.Event()

    def load(n):
        k = 0
        while not stop.is_set():
            rb, db = pair_bodies(f"cut{n}-{k}")
            for path, body in (("/rider", rb), ("/driver", db)):
                t = time.time()
                try:
                    resp = post(path, body, timeout=2)
                    events.append((t, time.time(), resp.status_code == 202, resp.status_code, resp.text))
                except requests.RequestException as e:
                    events.append((t, time.time(), False, type(e).__name__, ""))
            k += 1
            time.sleep(0.05)

    threads = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(3)]
    for th in threads:
        th.start()
    link = ["ip", "-n", os.environ["NETNS_SW"], "link", "set", os.environ["NETNS_APP_LINK"]]
    try:
        time.sleep(1.5)
        t_cut = time.time()
        subprocess.run(link + ["down"], check=True)
        time.sleep(4)
    finally:
        subprocess.run(link + ["up"], check=True)
        t_up = time.time()

    # the system recovers by itself: a fresh pair is accepted and matched,
    # and its fare arrives on a new websocket through the edge
    def recovered():
        cid = f"ns-rec-{os.getpid()}-{_rnd.randrange(10**6)}"
        try:
            ws = ws_client(cid)
        except Exception:
            return None
        try:
            rb, db = pair_bodies("rec", cid)
            rr, rd = post("/rider", rb), post("/driver", db)
            if rr.status_code != 202 or rd.status_code != 202:
                return None
            return recv_match(ws, "ride-" + rr.json()["id"], 8)
        except Exception:
            return None
        finally:
            ws.close()
    m = wait_for(recovered, 45, interval=0.5)
    t_rec = time.time()
    stop.set()
    for th in threads:
        th.join(15)
    assert m, "the system did not recover after the link came back"

    before = [e for e in events if e[1] < t_cut]
    # tried during the cut: failed (an nginx error or a client timeout), and
    # nothing was answered 202 while the app host was unreachable
    failed = [e for e in events if t_cut < e[0] < t_up and not e[2]]
    ok_inside = [e for e in events if t_cut + 0.2 < e[1] < t_up and e[2]]
    assert before and all(e[2] for e in before), [e for e in before if not e[2]][:3]
    assert failed, "no client saw an error while the link was down"
    assert not ok_inside, f"accepted although the app host was cut off: {ok_inside[:2]}"
    # the errors are nginx's JSON errors (or client timeouts), never HTML
    for e in failed:
        if isinstance(e[3], int):
            assert e[3] in (502, 503, 504), e
            assert "error" in json.loads(e[4])
    # accepted again after the restore
    assert any(e[2] for e in events if e[0] > t_up), "no request accepted after the restore"

    # no request paired twice, whatever happened meanwhile
    time.sleep(2 * TICK_MS / 1000 + 1)
    ms = all_matches(r, start)
    riders = [x["rider"]["id"] for x in ms]
    drivers = [x["driver"]["id"] for x in ms]
    assert len(riders) == len(set(riders)), "a rider was paired twice"
    assert len(drivers) == len(set(drivers)), "a driver was paired twice"
    print(f"cut {t_up - t_cut:.1f} s: {len(failed)} requests failed during the cut, "
          f"recovered {t_rec - t_up:.1f} s after the restore, {len(ms)} matches, none twice")
