"""Regions through the regional front (scripts/regions.sh): a request goes to
the region whose box holds its location; each region's matcher pairs only
within its region, even when the nearest partner is across the border."""
import json
import os
import random

import psycopg2
import redis
import requests
import subprocess
import time
import websocket

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PORT = int(os.environ["PORT"])
BASE = f"http://127.0.0.1:{PORT}"
_p = os.environ["REGION_PORTS"].split()
REGION_PORT = dict(zip(_p[0::2], map(int, _p[1::2])))
_rnd = random.Random()


def post(path, body, **kw):
    return requests.post(BASE + path, data=json.dumps(body), timeout=10, **kw)


def _redis_password(region):
    """Each region's stack generates its own Redis password."""
    try:
        with open(os.path.join(os.environ["VAR_DIR"], f"region-{region}", "secrets", "redis_password")) as f:
            return f.read().strip() or None
    except OSError:
        return None


def rds(region):
    return redis.Redis(host="127.0.0.1", port=REGION_PORT[region] + 1, decode_responses=True,
                       password=_redis_password(region))


def matches(region):
    return {json.loads(f["json"])["rider"]["id"]: json.loads(f["json"]) for _, f in rds(region).xrange("matches")}


def wait_for(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return None


def rider(x, y, **kw):
    return {"name": "Rg", "location": {"x": x, "y": y}, "destination": {"x": 0, "y": 0}, **kw}


def driver(x, y, car, **kw):
    return {"name": "Dg", "car_number": car, "location": {"x": x, "y": y}, **kw}


def test_requests_go_to_the_region_of_their_location():
    w = post("/rider", rider(-500.0, 10.0))
    e = post("/rider", rider(500.0, 10.0))
    assert w.status_code == 202 and e.status_code == 202
    assert w.headers["X-Region"] == "west" and e.headers["X-Region"] == "east"
    assert rds("west").exists("rider:" + w.json()["id"])
    assert not rds("east").exists("rider:" + w.json()["id"]) or w.json()["id"] == e.json()["id"]
    assert rds("east").exists("rider:" + e.json()["id"])


def test_outside_every_region_and_invalid_bodies():
    r = post("/driver", driver(5e6, 0, "OUT-1"))
    assert r.status_code == 400 and r.json()["field"] == "location"
    # invalid bodies reach a region's service and get its usual errors
    r = post("/rider", {"name": "x"})
    assert r.status_code == 400 and "error" in r.json()
    r = requests.post(BASE + "/rider", data="not json", timeout=10)
    assert r.status_code == 400 and "error" in r.json()


def test_pairs_only_within_a_region_even_across_a_close_border():
    y = _rnd.uniform(-9e5, 9e5)
    # the rider at x=-1 (west); the nearest driver is at x=+1 (east), 2 away;
    # the west driver is 50 away: the west matcher must pick it
    r = post("/rider", rider(-1.0, y)).json()["id"]
    de = post("/driver", driver(1.0, y, "EAST-1")).json()["id"]
    dw = post("/driver", driver(-51.0, y, "WEST-1")).json()["id"]
    m = wait_for(lambda: matches("west").get(r), 8)
    assert m, "the west rider was not paired"
    assert m["driver"]["id"] == dw
    # the east driver is never paired with a west rider; every pair in a
    # region lies inside that region's box
    time.sleep(1)
    assert not any(x["driver"]["id"] == de for x in matches("west").values())
    for x in matches("west").values():
        assert x["rider"]["location"]["x"] <= 0 and x["driver"]["location"]["x"] <= 0
    for x in matches("east").values():
        assert x["rider"]["location"]["x"] > 0 and x["driver"]["location"]["x"] > 0


def test_match_on_the_regions_websocket_and_rating_by_region():
    cid = f"rg-{os.getpid()}-{_rnd.randrange(10**6)}"
    ws = websocket.create_connection(f"ws://127.0.0.1:{PORT}/communication?region=east", timeout=10)
    try:
        ws.send(json.dumps({"type": "hello", "client_id": cid}))
        assert json.loads(ws.recv())["type"] == "welcome"
        y = _rnd.uniform(-9e5, 9e5)
        r = post("/rider", rider(700.0, y, client_id=cid)).json()["id"]
        car = f"EW-{_rnd.randrange(10**9)}"
        post("/driver", driver(700.0, y + 1, car, client_id=cid))
        end, m = time.time() + 8, None
        while time.time() < end and not m:
            msg = json.loads(ws.recv())
            if msg.get("type") == "match" and msg["rider"]["id"] == r:
                m = msg
        assert m and m["rating_token"]
    finally:
        ws.close()
    rt = post("/rating?region=east", {"ride_id": m["ride_id"], "rating": 4, "rating_token": m["rating_token"]})
    assert rt.status_code == 201, rt.text
    # the same ride is unknown in the other region
    rt = post("/rating", {"ride_id": m["ride_id"], "rating": 4, "rating_token": m["rating_token"]},
              headers={"X-Region": "west"})
    assert rt.status_code == 404
    g = requests.get(BASE + "/rating/driver/" + car, headers={"X-Region": "east"}, timeout=10)
    assert g.status_code == 200 and g.json()["count"] == 1
