"""Hostile HTTP at the protocol level (issue 15): what reached lws itself.
Through nginx and, where the attack was local, straight to every service
port: unknown methods, oversized headers, NUL in the query, a bare
connect-and-close, pipelined requests, h2c upgrades, every error nginx or
lws can produce coming back as JSON with the right status, a body that
never arrives (408), a long query (414, never cut short) and car numbers
holding '/' that round-trip.

Each test checks that the services still serve; the last one checks that
none of them died and was restarted by scripts/supervise.sh meanwhile (it
writes "NAME exited with status N; restarting" to var/.../log/NAME.log, and
the process behind the supervisor gets a new pid)."""
import glob
import json
import os
import socket
import time
import urllib.parse

import pytest
import requests

from conftest import BASE, PORT, SCALE, VAR, driver, post, wait_for
from ownproc import children, read_to_close

# every service port the stack runs (README "What runs where")
SERVICES = {f"{name}.{i}": PORT + base + i
            for name, base in (("rider-svc", 10), ("driver-svc", 20), ("rating-svc", 30), ("comm-svc", 40))
            for i in range(SCALE)}
SERVICES["matcher.0"] = PORT + 50
HTTP_APIS = {"rider-svc.0": "/rider", "driver-svc.0": "/driver", "rating-svc.0": "/rating"}
GOOD_DRIVER = json.dumps(driver(name="Piped", car="PIPE-1")).encode()


def service_pids():
    """{service: pid of the process its supervisor runs}."""
    out = {}
    for name in SERVICES:
        try:
            with open(os.path.join(VAR, "run", name + ".pid")) as f:
                sup = int(f.read())
        except (OSError, ValueError):
            continue
        for pid in children(sup):
            out[name] = pid
    return out


def restarts():
    """Lines in which a supervisor reports restarting its service."""
    lines = []
    for log in glob.glob(os.path.join(VAR, "log", "*.log")):
        with open(log, errors="replace") as f:
            lines += [line.strip() for line in f if "supervise:" in line and "restarting" in line]
    return lines


BEFORE = {}


@pytest.fixture(scope="module", autouse=True)
def record_services():
    BEFORE["pids"] = service_pids()
    BEFORE["restarts"] = restarts()
    assert set(BEFORE["pids"]) == set(SERVICES), BEFORE["pids"]
    yield


def all_alive(timeout=5):
    """Every service answers /healthz on its own port, promptly."""
    for name, port in SERVICES.items():
        r = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=timeout)
        assert r.status_code == 200, (name, r.status_code, r.text)


def raw(port, data, timeout=5, until_close=True):
    """Sends data in one write; returns every byte received until the peer
    closes (or timeout). b"" + None-status when nothing came."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    buf = b""
    try:
        s.sendall(data)
        end = time.time() + timeout
        while time.time() < end:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionError:
                break
            if not chunk:
                break
            buf += chunk
            if not until_close and b"\r\n\r\n" in buf:
                break
    finally:
        s.close()
    return buf


def replies(buf):
    """Splits a byte stream into [(status, headers dict, body)]."""
    out = []
    while buf:
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.split(b"\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers[k.strip().lower().decode()] = v.strip().decode()
        n = int(headers.get("content-length", "0"))
        if len(rest) < n:
            break                       # not all there yet
        out.append((int(lines[0].split()[1]), headers, rest[:n]))
        buf = rest[n:]
    return out


def json_reply(buf, status):
    rs = replies(buf)
    assert rs, buf[:300]
    st, headers, body = rs[0]
    assert st == status, (st, buf[:300])
    assert headers.get("content-type", "").startswith("application/json"), buf[:300]
    msg = json.loads(body)
    assert isinstance(msg.get("error"), str) and msg["error"], msg
    return msg


def request(method, path, headers=(), body=b"", version=b"HTTP/1.1"):
    lines = [b"%s %s %s" % (method, path, version), b"Host: x"]
    lines += [h if isinstance(h, bytes) else h.encode() for h in headers]
    if body:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# ---------------------------------------------------------------- crashes

def test_bare_connect_and_close_to_every_service_port():
    """lws calls CLOSED_HTTP without per-session data for a connection that
    closes before a request: that dereferenced NULL (SIGSEGV) in every
    service."""
    pids = service_pids()
    for _ in range(3):
        for port in SERVICES.values():
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        # half a request line, then close
        for port in SERVICES.values():
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /hea")
            s.close()
    time.sleep(1.0)
    assert service_pids() == pids, "a service died and was restarted"
    all_alive()


@pytest.mark.parametrize("method,status", [(b"FOO", 405), (b"BREW", 405), (b"PROPFIND", 405),
                                           (b"G\x01T", 400)])   # not even a method token
def test_unknown_method(method, status):
    # through nginx: 405 JSON, never lws' HTML 403 or a 502
    json_reply(raw(PORT, request(method, b"/rider", [b"Connection: close"])), status)
    json_reply(raw(PORT, request(method, b"/", [b"Connection: close"])), status)
    # straight to every service: whatever lws answers, the service lives on
    for port in SERVICES.values():
        raw(port, request(method, b"/healthz", [b"Connection: close"]), timeout=3)
    all_alive()


def test_oversized_headers():
    # a header line over nginx's 4 KiB, or 16 KiB in all: 431 JSON
    json_reply(raw(PORT, request(b"GET", b"/rating/top", ["X-Big: " + "a" * 5000, "Connection: close"])), 431)
    json_reply(raw(PORT, request(b"GET", b"/rating/top",
                                 [f"Cookie: c{i}=" + "a" * 3000 for i in range(7)] + ["Connection: close"])), 431)
    # what nginx lets through, a service takes (it answered 502 before)
    st, _, body = replies(raw(PORT, request(b"GET", b"/rating/top",
                                            [f"X-H{i}: " + "a" * 3900 for i in range(3)] + ["Connection: close"])))[0]
    assert st == 200, body
    # many repeated headers (lws keeps a fixed number per request): nginx
    # passes only what the services read
    st, _, body = replies(raw(PORT, request(b"GET", b"/rating/top", ["Accept: a"] * 300 + ["Connection: close"])))[0]
    assert st == 200, body
    # straight to the services: far over lws' header space
    for port in SERVICES.values():
        raw(port, request(b"GET", b"/healthz", ["X-Big: " + "a" * 40000]), timeout=3)
        raw(port, request(b"GET", b"/healthz", ["Accept: a"] * 300), timeout=3)
    all_alive()


@pytest.mark.parametrize("query", [b"a=%00", b"limit=%00", b"a=%zz", b"a=%2", b"a=%"])
def test_nul_and_broken_escapes_in_the_query(query):
    msg = json_reply(raw(PORT, request(b"GET", b"/rating/top?" + query, [b"Connection: close"])), 400)
    assert "bad request" in msg["error"]
    json_reply(raw(PORT, request(b"POST", b"/rider?" + query, [b"Connection: close"], b"{}")), 400)
    for port in SERVICES.values():
        raw(port, request(b"GET", b"/healthz?" + query, [b"Connection: close"]), timeout=3)
    all_alive()


# ---------------------------------------------------------------- pipelining

@pytest.mark.parametrize("name", sorted(SERVICES))
def test_pipelined_requests_are_refused_cleanly(name):
    """Two requests in one write used to spin the service at 100 % CPU for
    good (lws 4.1.6 re-reads its buffer as the second request's body). Now
    the first is answered and the connection closes; the service serves."""
    port = SERVICES[name]
    path = HTTP_APIS.get(name, "/healthz")
    cases = [request(b"POST", path.encode(), body=b"{}") * 2,
             request(b"GET", b"/healthz") * 2 + request(b"POST", path.encode(), body=b"{}"),
             request(b"GET", b"/healthz") + request(b"POST", path.encode(), body=b"{}") * 3]
    if name.startswith("driver-svc"):
        # the first waits on Redis while the second is already there
        cases.append(request(b"POST", b"/driver", body=GOOD_DRIVER) * 2)
    for data in cases:
        t0 = time.time()
        buf = raw(port, data, timeout=8)
        assert time.time() - t0 < 7, "the connection was neither answered nor closed"
        rs = replies(buf)
        assert 1 <= len(rs) <= 2, buf[:400]
        for st, headers, body in rs:
            assert st < 500, buf[:400]
            assert headers["content-type"].startswith("application/json"), buf[:400]
            json.loads(body)
    # answered promptly afterwards (a spinning loop never answers)
    all_alive(timeout=3)
    r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=3)
    assert "http_refused_total" in r.text


def test_keep_alive_without_pipelining_still_works():
    """The refusal must not hit requests sent one after the other."""
    for port, path, body, want in ((PORT + 20, b"/driver", GOOD_DRIVER, 202), (PORT, b"/driver", GOOD_DRIVER, 202),
                                   (PORT + 30, b"/rating/top", b"", 200)):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            for _ in range(5):
                s.sendall(request(b"POST" if body else b"GET", path, body=body))
                buf = b""
                while not replies(buf):
                    chunk = s.recv(65536)
                    assert chunk, "closed"
                    buf += chunk
                assert replies(buf)[0][0] == want, buf
        finally:
            s.close()


# ---------------------------------------------------------------- upgrades

H2C = ["Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"]


@pytest.mark.parametrize("path", [b"/communication", b"/rider", b"/rating/top", b"/"])
def test_h2c_upgrade_through_nginx_is_400(path):
    buf = raw(PORT, request(b"GET", path, H2C))
    assert b" 101 " not in buf.split(b"\r\n")[0]
    json_reply(buf, 400)
    json_reply(raw(PORT, request(b"GET", path, ["Connection: Upgrade", "Upgrade: foo/1"])), 400)


def test_h2c_upgrade_on_service_ports_is_refused():
    """lws switched to h2c (101) by itself: comm-svc's /metrics and /healthz
    were reachable from the public port that way."""
    for name, port in SERVICES.items():
        buf = raw(port, request(b"GET", b"/healthz", H2C))
        assert not buf.startswith(b"HTTP/1.1 101"), (name, buf[:200])
        json_reply(buf, 400)
    # a websocket upgrade where there is no websocket: refused too
    buf = raw(PORT + 10, request(b"GET", b"/communication",
                                 ["Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]))
    json_reply(buf, 400)
    all_alive()


# ---------------------------------------------------------------- error pages

NGINX_ERRORS = [
    # (what, request bytes, status)
    ("broken request line", b"GARBAGE\r\n\r\n", 400),
    ("HTTP/1.1 without Host", b"GET /rider HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
    ("unknown path", request(b"GET", b"/nope", [b"Connection: close"]), 404),
    ("wrong method on an API", request(b"GET", b"/rider", [b"Connection: close"]), 405),
    ("POST to a static file", request(b"POST", b"/index.html", [b"Connection: close"], b"{}"), 405),
    ("TRACE", request(b"TRACE", b"/", [b"Connection: close"]), 405),
    ("precondition", request(b"GET", b"/index.html", [b"If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT",
                                                      b"Connection: close"]), 412),
    ("body over 4 KiB", request(b"POST", b"/rider", [b"Connection: close"], b"x" * 5000), 413),
    ("request line over 4 KiB", request(b"GET", b"/rating/top?a=" + b"b" * 5000, [b"Connection: close"]), 414),
    ("range past the end", request(b"GET", b"/index.html", [b"Range: bytes=99999999-", b"Connection: close"]), 416),
    ("huge header (494)", request(b"GET", b"/", [b"Cookie: " + b"c" * 6000, b"Connection: close"]), 431),
    ("Transfer-Encoding: gzip", b"POST /rider HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    ("HTTP/2.0 request line", request(b"GET", b"/rider", version=b"HTTP/2.0"), 505),
    ("HTTP/3.0 request line", request(b"GET", b"/", version=b"HTTP/3.0"), 505),
]


@pytest.mark.parametrize("what,data,status", NGINX_ERRORS, ids=[w for w, _, _ in NGINX_ERRORS])
def test_every_nginx_error_is_json(what, data, status):
    json_reply(raw(PORT, data), status)


def test_a_service_refusal_is_its_own_4xx_not_502():
    for data, status in ((request(b"DELETE", b"/rider", [b"Connection: close"]), 405),
                         (request(b"PUT", b"/rating", [b"Connection: close"], b"{}"), 405),
                         (request(b"OPTIONS", b"/driver", [b"Connection: close"]), 405),
                         (request(b"PATCH", b"/rating/top", [b"Connection: close"], b"{}"), 405),
                         (request(b"POST", b"/rider", [b"Connection: close"], b"[]"), 400)):
        json_reply(raw(PORT, data), status)


# ---------------------------------------------------------------- bodies and queries

def test_slow_body_gets_408_not_503():
    """The store's 3 s deadline started before the body was read, so a slow
    body got 503 "backing store did not answer". The body has its own
    deadline (5 s): 408, and the connection closes."""
    s = socket.create_connection(("127.0.0.1", PORT + 10), timeout=15)
    try:
        t0 = time.time()
        s.sendall(b"POST /rider HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"na")
        buf = read_to_close(s)
        took = time.time() - t0
    finally:
        s.close()
    msg = json_reply(buf, 408)
    assert "time" in msg["error"]
    assert 4 < took < 12, took
    # a body trickled in under the deadline is served normally
    s = socket.create_connection(("127.0.0.1", PORT + 20), timeout=15)
    try:
        s.sendall(b"POST /driver HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
                  % len(GOOD_DRIVER))
        for i in range(0, len(GOOD_DRIVER), 20):
            time.sleep(0.2)
            s.sendall(GOOD_DRIVER[i:i + 20])
        buf = read_to_close(s)
    finally:
        s.close()
    assert replies(buf)[0][0] == 202, buf
    all_alive()


def test_long_query_is_refused_never_cut_short():
    pad = "a=" + "b" * 600
    # under the limit: a parameter after 600 bytes is still read (it was
    # dropped: limit=0 was ignored and 10 rows came back)
    r = requests.get(f"{BASE}/rating/top?{pad}&limit=0", timeout=5)
    assert r.status_code == 400 and r.json()["field"] == "limit", r.text
    r = requests.get(f"{BASE}/rating/top?{pad}&limit=1", timeout=5)
    assert r.status_code == 200 and len(r.json()) <= 1, r.text
    # an empty parameter does not end the query either
    r = requests.get(f"{BASE}/rating/top?&limit=0", timeout=5)
    assert r.status_code == 400 and r.json()["field"] == "limit", r.text
    # an encoded '&' stays inside its value
    r = requests.get(f"{BASE}/rating/top?x=1%26limit%3D0&limit=2", timeout=5)
    assert r.status_code == 200, r.text
    # over 1 KiB: 414 JSON, from nginx and from the service itself
    long = "a=" + "b" * 1100
    r = requests.get(f"{BASE}/rating/top?{long}&limit=2", timeout=5)
    assert r.status_code == 414 and r.json()["error"], r.text
    buf = raw(PORT + 30, request(b"GET", b"/rating/top?" + long.encode() + b"&limit=2", [b"Connection: close"]))
    json_reply(buf, 414)
    # too many parameters
    r = requests.get(f"{BASE}/rating/top?" + "a=1&" * 40 + "limit=2", timeout=5)
    assert r.status_code == 400 and r.json()["error"], r.text


CARS = ["A/B", "A//B", "/lead", "trail/", "%41", "a.b/./c", "sp ace+plus", "DHA-11-2345", "ü/ß", "x?y#z", "a;b&c=d"]


def test_car_numbers_round_trip(pg):
    """Car numbers may hold '/', '.', '%': /rating/driver/A%2F%2FB is car
    "A//B" (lws decodes and merges slashes; rating-svc reads the raw URI)."""
    tag = str(time.time_ns())
    with pg.cursor() as c:
        for i, car in enumerate(CARS):
            c.execute("INSERT INTO ratings (ride_id, car_number, driver_name, rating) VALUES (%s, %s, %s, %s)",
                      (f"ride-rt-{tag}-{i}", car, f"Name{i}", 1 + i % 5))
    for i, car in enumerate(CARS):
        r = requests.get(BASE + "/rating/driver/" + urllib.parse.quote(car, safe=""), timeout=5)
        assert r.status_code == 200, (car, r.text)
        got = r.json()
        assert got["car_number"] == car and got["name"] == f"Name{i}", (car, got)
    # A%2F%2FB and A%2FB are different cars
    r = requests.get(BASE + "/rating/driver/A%2FB", timeout=5)
    assert r.json()["car_number"] == "A/B"
    # and a car that is not there is still 404, a broken one 400
    assert requests.get(BASE + "/rating/driver/A%2F%2F%2FB", timeout=5).status_code == 404
    assert requests.get(BASE + "/rating/driver/" + "C" * 33, timeout=5).status_code == 400


# ---------------------------------------------------------------- nothing died

def test_zz_no_service_died_meanwhile():
    """Runs last in this module: no service was restarted by its supervisor
    during the tests above (same pids, no new "restarting" lines)."""
    time.sleep(1.0)    # a supervisor notes a death within a moment
    assert restarts() == BEFORE["restarts"], [r for r in restarts() if r not in BEFORE["restarts"]]
    assert service_pids() == BEFORE["pids"]
    all_alive()
