"""comm-svc: liveness, resumes and back-pressure through the real lws path.

- pings go out with a payload and a client whose library answers them keeps
  its socket; one that never answers is closed with a close frame and a reason;
- a quiet client keeps its socket and its fares at the stack's defaults;
- a client away for 40 s gets every missed fare in order after resume_after,
  welcome first, and stays connected; viewers and drivers' clients never get
  a rating_token, live or resumed;
- a reader that never reads costs only itself: honest clients' fares are not
  delayed while it sits there;
- a resume past the ring says recovered:false; a hello that reaches comm-svc
  before its ring is loaded is held and answered once it is, nothing lost;
- comm-svc refuses h2c upgrades itself.

Some tests run a comm-svc of their own (short ping/resume settings, small
queues) on PORT+45..48 with a Redis of their own on PORT+44 (so that the
stack's `matches` stream, which other tests audit, only ever holds the
matcher's pairs); fares for it are added to that Redis' `matches` stream
directly (that stream is comm-svc's input). The other tests use the stack and
the real flow (POST /rider and /driver through nginx, the matcher)."""
import base64
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time
import uuid

import pytest
import redis
import requests
import websocket

import ownproc
from conftest import PORT, REDIS_PASSWORD, VAR, WS_URL, rider, driver, wait_for
from ownproc import healthy, listening
from test_comm import client, matches_for, messages, pair, uid, wait_matched, wait_pool_empty

SIDE_REDIS_PORT = PORT + 44
TICK_MS = int(os.environ.get("TICK_MS", "1000"))


# ---------------------------------------------------------------- helpers

class RawWS:
    """A websocket client on a plain socket: it answers nothing by itself
    (no pongs), may leave its frames unmasked, and can stop reading."""

    def __init__(self, port, rcvbuf=None, path="/communication"):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(5)
        self.s.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.s.recv(4096)
            assert chunk, "connection closed during the handshake"
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        self.status = head.split(b"\r\n")[0].decode()
        assert " 101 " in self.status, self.status

    def send(self, opcode, payload=b"", mask=True):
        if isinstance(payload, str):
            payload = payload.encode()
        n, mbit = len(payload), 0x80 if mask else 0
        hdr = bytes([0x80 | opcode])
        if n < 126:
            hdr += bytes([mbit | n])
        elif n < 65536:
            hdr += bytes([mbit | 126]) + struct.pack("!H", n)
        else:
            hdr += bytes([mbit | 127]) + struct.pack("!Q", n)
        if mask:
            key = os.urandom(4)
            hdr += key
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        self.s.sendall(hdr + payload)

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.time()
            if left <= 0:
                raise socket.timeout()
            self.s.settimeout(left)
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk

    def recv(self, timeout):
        """(opcode, payload) of the next frame; socket.timeout or EOFError."""
        deadline = time.time() + timeout
        self._need(2, deadline)
        n, off = self.buf[1] & 0x7F, 2
        if n == 126:
            self._need(4, deadline)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, deadline)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + n, deadline)
        op, payload = self.buf[0] & 0x0F, self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return op, payload

    def recv_json(self, timeout=5):
        """The next text message (pings and pongs skipped, not answered)."""
        end = time.time() + timeout
        while True:
            op, data = self.recv(max(0.01, end - time.time()))
            if op == 1:
                return json.loads(data)
            assert op in (9, 10), (op, data)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def close_frame(data):
    code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
    return code, data[2:].decode(errors="replace")


def metric(port, name):
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=3).text
    m = re.search(r"^" + re.escape(name) + r" (\d+)$", text, re.M)
    return int(m.group(1)) if m else None


@pytest.fixture(scope="module")
def side():
    """A Redis of this module's own (same password as the stack's, which the
    services inherit); always stopped afterwards."""
    d = os.path.join(VAR, "side-redis")
    os.makedirs(d, exist_ok=True)
    args = ["redis-server", "--port", str(SIDE_REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", d]
    if REDIS_PASSWORD:
        args += ["--requirepass", REDIS_PASSWORD]
    log = open(os.path.join(VAR, "log", "side-redis.log"), "a")
    p = subprocess.Popen(args, stdout=log, stderr=log)
    r = redis.Redis(host="127.0.0.1", port=SIDE_REDIS_PORT, password=REDIS_PASSWORD,
                    decode_responses=True)
    try:
        def up():
            try:
                return r.ping()
            except redis.RedisError:
                return False
        assert wait_for(up, 10), "side Redis did not start"
        yield r
    finally:
        r.close()
        ownproc.stop(p)
        log.close()


def own_comm(port, *flags, redis_addr=None, wait=healthy):
    """A comm-svc of the test's own, on the side Redis unless told; always
    stopped afterwards (a context)."""
    return ownproc.service("comm-svc", port, *flags, redis_addr=redis_addr or f"127.0.0.1:{SIDE_REDIS_PORT}",
                           wait=wait)


def add_fare(rds, rider_client, driver_client="", pad=0):
    """Appends a match to the `matches` stream as the matcher does; returns
    (stream id, ride_id)."""
    ride = "ride-t" + uuid.uuid4().hex
    body = {"type": "match", "ride_id": ride,
            "rider": {"id": "r" + uuid.uuid4().hex, "name": "T", "location": {"x": 0, "y": 0},
                      "destination": {"x": 1, "y": 1}},
            "driver": {"id": "d" + uuid.uuid4().hex, "name": "U", "car_number": "T-1",
                       "location": {"x": 0, "y": 0}},
            "distance": 1.0, "fare": 2.0, "currency": "BDT",
            "matched_at_ms": int(time.time() * 1000), "rating_token": uuid.uuid4().hex}
    if pad:
        body["pad"] = "p" * pad
    sid = rds.xadd("matches", {"json": json.dumps(body), "rider_client": rider_client,
                               "driver_client": driver_client})
    return sid, ride


def texts(ws, seconds):
    """Text messages received within seconds. Waits in short slices: a
    library that answers pings inside recv() starts its socket timeout over at
    every ping, so one long timeout may never expire."""
    out, end = [], time.time() + seconds
    while time.time() < end:
        ws.settimeout(max(0.05, min(1.0, end - time.time())))
        try:
            raw = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        if raw:
            out.append(json.loads(raw))
    return out


def collect(ws, ride_ids, seconds):
    """The match messages for ride_ids in arrival order, until each came or
    seconds passed (in short slices, as texts())."""
    want, out, end = set(ride_ids), [], time.time() + seconds
    while time.time() < end and want - {m["ride_id"] for m in out}:
        ws.settimeout(max(0.05, min(1.0, end - time.time())))
        try:
            raw = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        m = json.loads(raw) if raw else {}
        if m.get("type") == "match" and m.get("ride_id") in want:
            out.append(m)
    return out


def own_url(port):
    return f"ws://127.0.0.1:{port}/communication"


def hello(url, **h):
    ws = websocket.create_connection(url, timeout=5)
    ws.send(json.dumps(dict({"type": "hello"}, **h)))
    w = json.loads(ws.recv())
    assert w["type"] == "welcome", w
    return ws, w


# ---------------------------------------------------------------- pings

def test_pings_answered_keep_the_socket_unanswered_get_a_close_frame(side):
    port = PORT + 45
    with own_comm(port, "--ping-ms", "1000", "--ping-timeout-ms", "1000"):
        good, _ = hello(own_url(port), client_id=uid("pinged"))
        bad = RawWS(port)
        bad.send(1, json.dumps({"type": "hello", "client_id": uid("mute")}))
        assert bad.recv_json()["type"] == "welcome"
        result = {}

        def mute_reader():      # reads, never answers a ping
            t0, pings = time.time(), []
            try:
                while time.time() < t0 + 15:
                    op, data = bad.recv(15)
                    if op == 9:
                        pings.append(data)
                    elif op == 8:
                        result["close"] = close_frame(data)
                        result["after"] = time.time() - t0
                        break
            except (EOFError, OSError) as e:
                result["error"] = repr(e)
            result["pings"] = pings
        t = threading.Thread(target=mute_reader)
        t.start()
        # the good client's library answers pings; it stays well past 3x the timeout
        pings, end = 0, time.time() + 7
        while time.time() < end:
            good.settimeout(max(0.05, end - time.time()))
            try:
                op, _ = good.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                break
            pings += op == websocket.ABNF.OPCODE_PING
        t.join(20)
        assert pings >= 3, pings
        good.send(json.dumps({"type": "ping"}))
        assert json.loads(good.recv())["type"] == "pong"      # still connected
        # pings carry a payload (an empty one would never come back through lws 4.1)
        assert result["pings"] and all(len(p) > 0 for p in result["pings"]), result
        # closed with a close frame and a reason within ping + timeout (+ a tick)
        assert "close" in result, result
        code, reason = result["close"]
        assert code == 1008 and "no pong" in reason, result
        assert result["after"] < 1.0 + 1.0 + 1.0 + 3.0, result   # margins for a loaded box
        assert metric(port, "comm_ping_timeouts_total") == 1
        good.close()
        bad.close()


def test_quiet_client_keeps_socket_and_fares_for_75s_at_defaults(rds):
    """The stack's comm-svc at its defaults (ping 20 s, timeout 10 s)."""
    cid = uid("quiet")
    ws, _ = client(cid)
    assert texts(ws, 75) == []           # silent both ways; the library answers pings
    ride = pair(rds, cid, None)
    assert [m["ride_id"] for m in matches_for(ws, [ride])] == [ride]
    ws.close()


# ---------------------------------------------------------------- resumes

def test_away_40s_at_30_fares_per_s_resumes_every_fare_in_order(rds):
    rc, dc = uid("away-r"), uid("away-d")
    ws, w = client(rc)
    cursor = w["cursor"]
    ws.close()
    v, vw = hello(WS_URL, role="viewer")
    v.close()
    wait_pool_empty(rds)
    sess = requests.Session()
    base = f"http://127.0.0.1:{PORT}"
    rides, t0, k = [], time.time(), 0
    tag = uuid.uuid4().int % 100000
    while time.time() < t0 + 40:
        # 30 pairs a second, each at a spot of its own so they pair together
        target = int((time.time() - t0) * 30)
        while k < target:
            x, y = -8e5 + 13.0 * k, 7e5 + tag
            rr = sess.post(base + "/rider", json=rider(name="Away", x=x, y=y, client_id=rc), timeout=10)
            dd = sess.post(base + "/driver", json=driver(name="Awd", car="AWAY-1", x=x, y=y,
                                                         client_id=dc), timeout=10)
            assert rr.status_code == 202 and dd.status_code == 202, (rr.text, dd.text)
            rides.append("ride-" + rr.json()["id"])
            k += 1
        time.sleep(0.01)
    assert len(rides) >= 1000
    assert wait_for(lambda: all(rds.exists("ride:" + r) for r in rides[-20:]), 15)
    assert all(wait_matched(rds, r, 5) for r in rides[::50])
    slow_before = metric(PORT + 40, "comm_slow_closes_total")
    ws, w = client(rc, resume_after=cursor)
    assert w["recovered"] is True and w["resumed"] == len(rides), (w, len(rides))
    got = collect(ws, rides, 60)
    ids = [m["ride_id"] for m in got]
    assert len(ids) == len(rides) and set(ids) == set(rides)        # all, once
    cursors = [tuple(map(int, m["cursor"].split("-"))) for m in got]
    assert cursors == sorted(cursors)                               # in order
    for m in got[::100]:
        assert m["rating_token"] == rds.hget("ride:" + m["ride_id"], "token")
    ws.send(json.dumps({"type": "ping"}))                          # still connected
    assert [m["type"] for m in messages(ws, 5, until=lambda l: l[-1]["type"] == "pong")][-1] == "pong"
    ws.close()
    # a viewer and the driver's client resume the same fares, never with a token
    v, vw2 = hello(WS_URL, role="viewer", resume_after=vw["cursor"])
    vm = collect(v, rides, 60)
    assert [m["ride_id"] for m in vm] == ids
    assert all("rating_token" not in m for m in vm)
    v.close()
    d, dw = hello(WS_URL, client_id=dc, resume_after=cursor)
    dm = collect(d, rides, 60)
    assert [m["ride_id"] for m in dm] == ids
    assert all("rating_token" not in m for m in dm)
    d.close()
    if slow_before is not None:
        assert metric(PORT + 40, "comm_slow_closes_total") == slow_before


def test_live_and_resumed_viewers_and_drivers_never_get_a_token(side):
    rds = side
    port = PORT + 46
    with own_comm(port):
        rc, dc = uid("tok-r"), uid("tok-d")
        r, rw = hello(own_url(port), client_id=rc)
        d, _ = hello(own_url(port), client_id=dc)
        v, _ = hello(own_url(port), role="viewer")
        vc, _ = hello(own_url(port), role="viewer", client_id=uid("tok-v"))
        rides = [add_fare(rds, rc, dc)[1] for _ in range(5)]
        assert all("rating_token" in m for m in matches_for(r, rides))
        for ws in (d, v, vc):
            ms = matches_for(ws, rides)
            assert len(ms) == 5 and all("rating_token" not in m for m in ms)
        for ws in (r, d, v, vc):
            ws.close()
        for h in ({"role": "viewer"}, {"role": "viewer", "client_id": uid("tok-v2")},
                  {"client_id": dc}):
            ws, w = hello(own_url(port), resume_after=rw["cursor"], **h)
            assert w["resumed"] == 5
            ms = matches_for(ws, rides)
            assert len(ms) == 5 and all("rating_token" not in m for m in ms), h
            ws.close()


def test_resume_past_the_ring_says_recovered_false(side):
    rds = side
    port = PORT + 47
    with own_comm(port, "--resume-ms", "1500"):
        cid = uid("gap")
        ws, w = hello(own_url(port), client_id=cid)
        ws.close()
        lost = [add_fare(rds, cid)[1] for _ in range(3)]
        time.sleep(3.5)                      # older than resume-ms: forgotten
        kept = add_fare(rds, cid)[1]
        time.sleep(0.3)
        ws, w2 = hello(own_url(port), client_id=cid, resume_after=w["cursor"])
        assert w2["recovered"] is False and w2["resumed"] == 1, w2
        got = matches_for(ws, lost + [kept], timeout=3)
        assert [m["ride_id"] for m in got] == [kept]
        assert metric(port, "comm_unrecovered_resumes_total") == 1
        ws.close()


class GatedProxy:
    """A TCP proxy to Redis that holds every connection until opened."""

    def __init__(self, target_port):
        self.target = target_port
        self.open = threading.Event()
        self.stop = threading.Event()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            t.start()

    def _serve(self, c):
        while not self.open.wait(0.1):
            if self.stop.is_set():
                c.close()
                return
        try:
            u = socket.create_connection(("127.0.0.1", self.target), timeout=5)
        except OSError:
            c.close()
            return
        for a, b in ((c, u), (u, c)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a, b):
        a.settimeout(0.5)
        try:
            while not self.stop.is_set():
                try:
                    data = a.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.lsock.close()


def test_hello_before_the_ring_is_loaded_is_held_then_answered_with_nothing_lost(side):
    rds = side
    port = PORT + 48
    cid = uid("held")
    cursor, _ = add_fare(rds, uid("other"))               # the last one it saw
    missed = [add_fare(rds, cid)[1] for _ in range(3)]   # while it was away
    proxy = GatedProxy(SIDE_REDIS_PORT)
    try:
        with own_comm(port, redis_addr=f"127.0.0.1:{proxy.port}", wait=listening):
            ws = websocket.create_connection(own_url(port), timeout=5)
            ws.send(json.dumps({"type": "hello", "client_id": cid, "resume_after": cursor}))
            assert messages(ws, 1.5) == []         # not told "nothing missed"
            assert metric(port, "comm_held_hellos") == 1
            assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 503
            proxy.open.set()
            ws.settimeout(15)
            w = json.loads(ws.recv())
            assert w["type"] == "welcome" and w["resumed"] == 3 and w["recovered"] is True, w
            assert [m["ride_id"] for m in matches_for(ws, missed)] == missed
            later = add_fare(rds, cid)[1]
            assert [m["ride_id"] for m in matches_for(ws, [later])] == [later]
            assert metric(port, "comm_held_hellos") == 0
            ws.close()
    finally:
        proxy.close()


# ---------------------------------------------------------------- back-pressure

def test_a_reader_that_never_reads_does_not_delay_anybody_else(side):
    rds = side
    """A viewer that never reads (tiny receive window) and sends a 1-byte
    pong every second; meanwhile ~100 fares/s with a 6 KiB pad flow to an
    honest client and an honest viewer. Their fares arrive within a tick, and
    the silent one is closed as too slow (it could resume later)."""
    port = PORT + 46
    with own_comm(port, "--queue-max", "64"):
        silent = RawWS(port, rcvbuf=2048)
        silent.send(1, json.dumps({"type": "hello", "role": "viewer"}))
        cid = uid("honest")
        h, _ = hello(own_url(port), client_id=cid)
        hv, _ = hello(own_url(port), role="viewer")
        lat = {"h": [], "hv": []}
        rides, done = [], threading.Event()

        def reader(ws, key):
            ws.settimeout(1)
            while not (done.is_set() and len(lat[key]) >= len(rides)):
                try:
                    m = json.loads(ws.recv())
                except websocket.WebSocketTimeoutException:
                    if done.is_set():
                        return
                    continue
                if m["type"] == "match" and m["ride_id"].startswith("ride-t"):
                    lat[key].append((m["ride_id"], time.time() * 1000 - m["matched_at_ms"]))
        ts = [threading.Thread(target=reader, args=(h, "h")), threading.Thread(target=reader, args=(hv, "hv"))]
        for t in ts:
            t.start()
        t0 = time.time()
        stop_pong = time.time() + 15
        next_pong = time.time()
        while time.time() < stop_pong:
            if time.time() >= next_pong:
                try:
                    silent.send(10, b"x")           # a sign of life, never a read
                except OSError:
                    pass
                next_pong += 1.0
            rides.append(add_fare(rds, cid, pad=6000)[1])
            time.sleep(0.01)
        time.sleep(3)
        done.set()
        for t in ts:
            t.join(20)
        for key in ("h", "hv"):
            assert [r for r, _ in lat[key]] == rides, (key, len(lat[key]), len(rides))
            worst = max(d for _, d in lat[key])
            # within a tick of the matcher (plus the box's noise)
            assert worst < max(TICK_MS, 250) + 1000, (key, worst)
        assert time.time() - t0 < 60
        assert metric(port, "comm_slow_closes_total") >= 1
        # and it is gone, although it never read its close frame (cut after the grace)
        assert wait_for(lambda: metric(port, "comm_sockets") == 2, 10), metric(port, "comm_sockets")
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=3).text
        assert int(re.search(r'comm_dropped_total\{reason="slow"\} (\d+)', text).group(1)) > 0
        silent.close()
        h.close()
        hv.close()


# ---------------------------------------------------------------- upgrades

def test_h2c_upgrade_is_refused_by_comm_svc_itself():
    s = socket.create_connection(("127.0.0.1", PORT + 40), timeout=5)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
              b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
    data = b""
    try:
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    s.close()
    status = data.split(b"\r\n")[0]
    assert b" 101 " not in status and b" 400 " in status, data
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["error"]
    # any other kind is not switched to either (lws answers 403), and the
    # websocket upgrade still works
    s = socket.create_connection(("127.0.0.1", PORT + 40), timeout=5)
    s.sendall(b"GET /communication HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
    try:
        data = s.recv(4096)
    except OSError:
        data = b""
    s.close()
    assert b" 101 " not in data.split(b"\r\n")[0], data
    ws = RawWS(PORT + 40)
    ws.send(1, json.dumps({"type": "hello", "role": "viewer"}))
    assert ws.recv_json()["type"] == "welcome"
    ws.close()
    assert metric(PORT + 40, "http_refused_total") >= 1   # lib/http.c refuses it for every service


# ---------------------------------------------------------------- masking

def test_unmasked_client_frames_are_closed_with_1002():
    """lws 4.1.6 accepts them silently; comm-svc closes with 1002 (RFC 6455
    5.1), whatever the frame: a text, a 1-byte pong. Masked ones are fine."""
    port = PORT + 40
    for op, payload in ((1, json.dumps({"type": "ping"})), (10, b"x")):
        ws = RawWS(port)
        ws.send(1, json.dumps({"type": "hello", "client_id": uid("mask")}))
        assert ws.recv_json()["type"] == "welcome"
        ws.send(1, json.dumps({"type": "ping"}))                 # masked: answered
        assert ws.recv_json()["type"] == "pong"
        ws.send(op, payload, mask=False)
        code = None
        try:
            while True:
                o, data = ws.recv(5)
                if o == 8:
                    code, reason = close_frame(data)
                    break
                assert o != 1 or json.loads(data)["type"] != "pong", "answered an unmasked frame"
        except (EOFError, OSError):
            pass
        assert code == 1002 and "masked" in reason, (op, code)
        ws.close()
