"""comm-svc: the websocket at /communication through nginx, end to end.
Matches come from the real flow: POST /rider and /driver with client_ids
through nginx, the matcher pairs them, comm-svc pushes to the sockets."""
import itertools
import json
import os
import random
import signal
import struct
import subprocess
import threading
import time

import pytest
import requests
import websocket

import ownproc
from conftest import PORT, REDIS_PORT, ROOT, SCALE, WS_URL, post, rider, driver, stack, wait_for

TICK_MS = int(os.environ.get("TICK_MS", "1000"))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
COMM = f"http://127.0.0.1:{PORT + 40}"
_spot = itertools.count()
_rnd = random.Random()


# ---------------------------------------------------------------- helpers

def connect(hello=None, url=WS_URL):
    """Opens a websocket; with a hello, returns (ws, welcome)."""
    ws = websocket.create_connection(url, timeout=5)
    if hello is None:
        return ws, None
    ws.send(json.dumps(hello))
    welcome = json.loads(ws.recv())
    assert welcome["type"] == "welcome", welcome
    return ws, welcome


def client(cid, **extra):
    return connect(dict({"type": "hello", "client_id": cid}, **extra))


def viewer(**extra):
    return connect(dict({"type": "hello", "role": "viewer"}, **extra))


def uid(prefix):
    return f"{prefix}-{os.getpid()}-{next(_spot)}-{_rnd.randrange(10**6)}"


def messages(ws, timeout, until=None):
    """Text messages received within timeout (stops early once until(list) holds)."""
    out, end = [], time.time() + timeout
    while time.time() < end:
        ws.settimeout(max(0.05, end - time.time()))
        try:
            # control frames come back too (the library still answers a ping),
            # so a server that pings more often than `timeout` cannot keep
            # this loop past its deadline
            op, raw = ws.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            break
        if op == websocket.ABNF.OPCODE_CLOSE:
            break
        if op != websocket.ABNF.OPCODE_TEXT:
            continue
        out.append(json.loads(raw))
        if until and until(out):
            break
    return out


def matches_for(ws, ride_ids, timeout=8):
    """The match messages for ride_ids, waiting until each came once (or timeout)."""
    want = set(ride_ids)
    got = messages(ws, timeout, until=lambda l: want <= {m.get("ride_id") for m in l if m["type"] == "match"})
    return [m for m in got if m["type"] == "match" and m.get("ride_id") in want]


def close_code(ws, timeout=5):
    """Reads until the server's close frame; returns (code, reason) or (None, None)."""
    ws.settimeout(timeout)
    try:
        while True:
            op, data = ws.recv_data(control_frame=True)
            if op == websocket.ABNF.OPCODE_CLOSE:
                if len(data) >= 2:
                    return struct.unpack("!H", data[:2])[0], data[2:].decode()
                return None, None
    except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
        return None, None


def stats_now(rds):
    last = rds.xrevrange("stats", count=1)
    return json.loads(last[0][1]["json"]) if last else None


def wait_pool_empty(rds, timeout=10.0):
    """Nobody waiting in the matcher's pool (so our pair can only pair together)."""
    def empty():
        s = stats_now(rds)
        return s and s["waiting"]["riders"] == 0 and s["waiting"]["drivers"] == 0 \
            and s["ts_ms"] > time.time() * 1000 - 2 * TICK_MS - 500
    wait_for(empty, timeout)


def pair(rds, rider_client, driver_client, wait_empty=True):
    """A rider and a driver at the same (fresh) spot, so they pair together.
    Returns the ride_id the matcher will give them."""
    if wait_empty:
        wait_pool_empty(rds)
    x, y = 9e5 - 37.0 * next(_spot), -9e5 + _rnd.uniform(0, 1e5)
    rb = rider(name="CommR", x=x, y=y, **({"client_id": rider_client} if rider_client else {}))
    db = driver(name="CommD", car="COMM-1", x=x, y=y, **({"client_id": driver_client} if driver_client else {}))
    rr, rd = post("/rider", rb), post("/driver", db)
    assert rr.status_code == 202 and rd.status_code == 202, (rr.text, rd.text)
    return "ride-" + rr.json()["id"]


def wait_matched(rds, ride_id, timeout=8):
    return wait_for(lambda: rds.exists("ride:" + ride_id), timeout)


# ---------------------------------------------------------------- hello

def test_hello_welcome_client_and_viewer():
    ws, w = client("c-hello")
    assert w["client_id"] == "c-hello" and w["role"] == "client"
    assert isinstance(w["cursor"], str) and "-" in w["cursor"]
    ws.close()
    ws, w = viewer()
    assert w["role"] == "viewer" and w["cursor"]
    ws.close()


def test_client_without_subprotocol_and_with_one():
    # websocket-client sends no Sec-WebSocket-Protocol by default; also a named one
    ws = websocket.create_connection(WS_URL, timeout=5, subprotocols=["communication"])
    ws.send(json.dumps({"type": "hello", "client_id": "sp"}))
    assert json.loads(ws.recv())["type"] == "welcome"
    ws.close()


@pytest.mark.parametrize("msg,needle", [
    ("not json", "JSON object"),
    ("[]", "JSON object"),
    ("{}", "type"),
    ('{"type":"hello"}', "client_id"),
    ('{"type":"hello","client_id":"a b"}', "client_id"),
    ('{"type":"hello","client_id":"' + "a" * 65 + '"}', "client_id"),
    ('{"type":"hello","role":"admin"}', "role"),
    ('{"type":"hello","client_id":"x","resume_after":"%%%"}', "resume_after"),
    ('{"type":"dance"}', "hello"),
    ('"\xff"', "JSON"),
])
def test_invalid_message_gets_error_and_connection_survives(msg, needle):
    ws, _ = connect()
    ws.send(msg)
    err = json.loads(ws.recv())
    assert err["type"] == "error" and needle in json.dumps(err), err
    # the same connection still works
    ws.send(json.dumps({"type": "hello", "client_id": "survivor"}))
    assert json.loads(ws.recv())["type"] == "welcome"
    ws.send(json.dumps({"type": "ping"}))
    assert json.loads(ws.recv()) == {"type": "pong"}
    ws.close()


def test_repeated_garbage_closes_with_1008_others_unaffected():
    other, _ = client("bystander")
    ws, _ = connect()
    for _ in range(10):
        ws.send("garbage")
    errors = messages(ws, 3, until=lambda l: len(l) >= 10)
    assert len(errors) == 10 and all(e["type"] == "error" for e in errors)
    assert close_code(ws)[0] == 1008
    other.send(json.dumps({"type": "ping"}))
    assert json.loads(other.recv())["type"] == "pong"
    other.close()


def test_oversized_message_closed_with_1009():
    ws, _ = client("big")
    ws.send(json.dumps({"type": "ping", "pad": "x" * 5000}))
    code, reason = close_code(ws)
    assert code == 1009 and "too large" in reason
    # a message of 4 KiB is fine
    ws, _ = client("big")
    ws.send(json.dumps({"type": "ping", "pad": "x" * 4000}))
    assert json.loads(ws.recv())["type"] == "pong"
    ws.close()


def test_binary_frame_closed_with_1003():
    ws, _ = connect()
    ws.send_binary(b'{"type":"hello","client_id":"bin"}')
    assert close_code(ws)[0] == 1003


def test_healthz_and_metrics_on_its_own_port():
    assert requests.get(COMM + "/healthz", timeout=5).json() == {"status": "ok"}
    ws, _ = client("metric-c")
    v, _ = viewer()
    text = requests.get(COMM + "/metrics", timeout=5).text
    for name in ("comm_clients", "comm_viewers", "comm_pushed_total", "comm_dropped_total", "redis_up 1"):
        assert name in text
    # with SCALE>1 nginx may have put the viewer on any instance: count them all
    viewers = 0
    for i in range(SCALE):
        t = requests.get(f"http://127.0.0.1:{PORT + 40 + i}/metrics", timeout=5).text
        viewers += int(next(l for l in t.splitlines() if l.startswith("comm_viewers ")).split()[1])
    assert viewers >= 1
    ws.close()
    v.close()


def test_help():
    out = subprocess.run([os.path.join(BUILD, "bin", "comm-svc"), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--redis" in out.stdout and "--ping-ms" in out.stdout


# ---------------------------------------------------------------- delivery (real flow)

def test_match_reaches_exactly_rider_driver_and_viewers(rds):
    rc, dc, oc = uid("rc"), uid("dc"), uid("oc")
    r1, _ = client(rc)
    r2, _ = client(rc)            # a second socket of the rider's client
    d, _ = client(dc)
    o, _ = client(oc)             # someone else
    v1, _ = viewer()
    v2, _ = viewer()
    silent, _ = connect()         # connected, never said hello
    ride = pair(rds, rc, dc)
    got = {name: matches_for(ws, [ride]) for name, ws in
           [("r1", r1), ("r2", r2), ("d", d), ("v1", v1), ("v2", v2)]}
    for name, ms in got.items():
        assert len(ms) == 1, (name, ms)
    token = rds.hget("ride:" + ride, "token")
    assert token
    for name in ("r1", "r2"):
        assert got[name][0]["rating_token"] == token
    for name in ("d", "v1", "v2"):
        assert "rating_token" not in got[name][0], name
        assert token not in json.dumps(got[name][0])
    m = got["r1"][0]
    assert m["type"] == "match" and m["currency"] == "BDT" and m["distance"] == 0 and m["fare"] == 0
    assert m["cursor"] and all(g[0]["cursor"] == m["cursor"] for g in got.values())
    assert rds.xrange("matches", m["cursor"], m["cursor"])  # the cursor is the stream id
    # nobody else; and nobody gets a second copy
    assert [x for x in messages(o, 1.5) if x["type"] == "match" and x.get("ride_id") == ride] == []
    silent.settimeout(0.5)
    with pytest.raises(websocket.WebSocketTimeoutException):
        silent.recv()
    for ws in (r1, r2, d, v1):
        assert [x for x in messages(ws, 0.3) if x.get("ride_id") == ride] == []
    for ws in (r1, r2, d, o, v1, v2, silent):
        ws.close()


def test_one_socket_as_rider_and_driver_gets_one_copy_with_token(rds):
    bot = uid("bot")
    ws, _ = client(bot)
    ride = pair(rds, bot, bot)
    ms = matches_for(ws, [ride])
    assert len(ms) == 1 and ms[0]["rating_token"] == rds.hget("ride:" + ride, "token")
    assert [x for x in messages(ws, 1.0) if x.get("ride_id") == ride] == []
    ws.close()


def test_rider_only_client_and_no_client(rds):
    rc = uid("only")
    r, _ = client(rc)
    v, _ = viewer()
    ride = pair(rds, rc, None)
    assert matches_for(r, [ride])[0]["rating_token"]
    ride2 = pair(rds, None, None)
    ms = matches_for(v, [ride, ride2])
    assert sorted(m["ride_id"] for m in ms) == sorted([ride, ride2])
    assert all("rating_token" not in m for m in ms)
    r.close()
    v.close()


def test_stats_reach_viewers_not_clients():
    v, _ = viewer()
    c, _ = client(uid("nostats"))
    got = messages(v, 3 * TICK_MS / 1000 + 2, until=lambda l: any(m["type"] == "stats" for m in l))
    st = [m for m in got if m["type"] == "stats"]
    assert st and "waiting" in st[0] and "latency_ms" in st[0]
    assert [m for m in messages(c, 1.0) if m["type"] == "stats"] == []
    v.close()
    c.close()


# ---------------------------------------------------------------- resume

def test_resume_after_cursor_delivers_every_missed_match_once(rds):
    rc, dc = uid("res-r"), uid("res-d")
    ws, w = client(rc)
    cursor = w["cursor"]
    ws.close()                       # away while three fares are made
    rides = [pair(rds, rc, dc) for _ in range(3)]
    for ride in rides:
        assert wait_matched(rds, ride)
    ws, w = client(rc, resume_after=cursor)
    assert w["resumed"] == 3
    ms = matches_for(ws, rides)
    assert sorted(m["ride_id"] for m in ms) == sorted(rides)      # each once
    assert all(m["rating_token"] == rds.hget("ride:" + m["ride_id"], "token") for m in ms)
    # then new ones, and the old ones never again
    new = pair(rds, rc, dc)
    later = messages(ws, 8, until=lambda l: any(m.get("ride_id") == new for m in l))
    assert [m.get("ride_id") for m in later if m["type"] == "match"] == [new]
    ws.close()
    # the driver's client resumes from its own last cursor: no tokens
    d, w = client(dc, resume_after=ms[0]["cursor"])
    dm = matches_for(d, rides + [new])
    assert len(dm) == w["resumed"] and all("rating_token" not in m for m in dm)
    d.close()


def test_resume_after_ride_id(rds):
    rc = uid("res-ride")
    first = pair(rds, rc, None)
    second = pair(rds, rc, None)
    assert wait_matched(rds, second)
    ws, w = client(rc, resume_after=first)
    assert w["resumed"] == 1
    assert [m["ride_id"] for m in matches_for(ws, [second])] == [second]
    ws.close()


def kill_comm_svc():
    """SIGKILLs comm-svc's child; returns once its supervisor's new one is healthy."""
    pidfile = os.path.join(os.environ["VAR_DIR"], "run", "comm-svc.0.pid")
    supervisor = int(open(pidfile).read())
    child = int(subprocess.run(["pgrep", "-P", str(supervisor)], capture_output=True, text=True).stdout.split()[0])
    os.kill(child, signal.SIGKILL)

    def healthy_again():
        try:
            return requests.get(COMM + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False
    time.sleep(0.5)
    assert wait_for(healthy_again, 10)


def test_restarted_comm_svc_still_serves_resumes(rds):
    rc = uid("res-restart")
    ws, w = client(rc)
    cursor = w["cursor"]
    ws.close()
    ride = pair(rds, rc, None)
    assert wait_matched(rds, ride)
    time.sleep(0.3)
    kill_comm_svc()
    ws, w = client(rc, resume_after=cursor)
    assert w["resumed"] == 1
    assert [m["ride_id"] for m in matches_for(ws, [ride])] == [ride]
    ws.close()


def test_restarted_comm_svc_gives_viewers_stats_while_fares_flow(rds):
    """Every tick writes its fares before its map: a restarted comm-svc that
    read `stats` from "$" (resolved anew on each XREAD, and every read cut
    short by the tick's fares) missed each tick's map and viewers saw none
    (seen in the dashboard test in CI)."""
    kill_comm_svc()
    v, _ = viewer()
    window = 5 * TICK_MS / 1000 + 2
    stop = time.time() + window
    rides = []

    def feed():  # a fresh pair every 100 ms: fares in every tick
        while time.time() < stop:
            rides.append(pair(rds, None, None, wait_empty=False))
            time.sleep(0.1)
    t = threading.Thread(target=feed)
    t.start()
    got = messages(v, stop - time.time())
    t.join()
    v.close()
    st = [m for m in got if m["type"] == "stats"]
    fares = [m for m in got if m["type"] == "match"]
    assert fares, "no fares while the pairs were posted"
    # a map at least every other tick (the matcher writes one a tick)
    assert len(st) >= window * 1000 / TICK_MS / 2, (len(st), len(fares), len(rides))


# ---------------------------------------------------------------- robustness

def test_two_instances_each_push_to_their_own_sockets(rds):
    port = PORT + 49
    with ownproc.service("comm-svc", port, log="comm-svc-second"):
        rc = uid("two")
        a, _ = client(rc)
        b, _ = connect({"type": "hello", "client_id": rc}, url=f"ws://127.0.0.1:{port}/communication")
        ride = pair(rds, rc, None)
        assert len(matches_for(a, [ride])) == 1
        assert len(matches_for(b, [ride])) == 1
        a.close()
        b.close()


def test_redis_down_healthz_503_then_recovers_and_pushes_again(rds):
    rc = uid("outage")
    ws, _ = client(rc)
    stack("redis-down")
    try:
        assert wait_for(lambda: requests.get(COMM + "/healthz", timeout=2).status_code == 503, 5)
        # the socket stays open meanwhile
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv())["type"] == "pong"
    finally:
        stack("redis-up")
    assert wait_for(lambda: requests.get(COMM + "/healthz", timeout=2).status_code == 200, 10)
    ride = None

    def matched():
        nonlocal ride
        try:   # rider-svc and the matcher reconnect on their own schedule
            ride = pair(rds, rc, None, wait_empty=False)
        except AssertionError:
            return False
        return wait_matched(rds, ride, 3)
    assert wait_for(matched, 20, interval=0.5)   # the matcher may need a moment too
    assert matches_for(ws, [ride])
    ws.close()
