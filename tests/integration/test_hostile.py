"""Hostile input through nginx, beyond what test_intake.py, test_rating.py
and test_comm.py already cover: odd JSON (huge integers, Infinity, deep
nesting inside a field, invalid UTF-8 in ratings and websocket frames),
chunked bodies, oversized websocket frames, slow clients (headers or body
trickled: nginx's timeouts answer or close), many connections at once, and
nginx's per-address limits (429 as JSON, connection limit) with small
limits on loopback. After each: the service still serves a normal request.

The limit and timeout tests reload nginx alone with other settings
(RATE_LIMIT_LOOPBACK=1, small numbers, CLIENT_TIMEOUT=2) through
scripts/stack.sh nginx-up and always restore the suite's settings."""
import contextlib
import json
import os
import socket
import struct
import threading
import time

import pytest
import requests
import websocket

from conftest import BASE, PORT, WS_URL, post, rider, driver, stack, wait_for


def healthy():
    """A normal request right after the hostile one: the services still serve."""
    r = post("/rider", rider(name="Healthy"))
    assert r.status_code == 202, r.text
    ws = websocket.create_connection(WS_URL, timeout=5)
    ws.send('{"type":"ping"}')
    assert json.loads(ws.recv()) == {"type": "pong"}
    ws.close()


def raw(data, timeout=5):
    """Sends raw bytes to nginx, returns (status or None, body) of the reply."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    try:
        s.sendall(data)
        return read_reply(s)
    finally:
        s.close()


def read_reply(s):
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                return None, buf
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(head.split()[1]), body
    except (socket.timeout, ConnectionError):
        return None, buf


# ---------------------------------------------------------------- HTTP bodies

HOSTILE_RIDERS = [
    ("huge integer", '{"name":"a","location":{"x":123456789012345678901234567890,"y":1},"destination":{"x":1,"y":1}}'),
    ("Infinity", '{"name":"a","location":{"x":Infinity,"y":1},"destination":{"x":1,"y":1}}'),
    ("NaN string", dict(rider(), location={"x": "NaN", "y": 1})),
    ("negative huge", '{"name":"a","location":{"x":-1e309,"y":1},"destination":{"x":1,"y":1}}'),
    ("hex number", '{"name":"a","location":{"x":0x10,"y":1},"destination":{"x":1,"y":1}}'),
    ("deep nesting in a field", '{"name":"a","location":' + '{"x":' * 600 + '1' + '}' * 600 +
     ',"destination":{"x":1,"y":1}}'),
    ("name is object", dict(rider(), name={"first": "a"})),
    ("name is array", dict(rider(), name=["a"])),
    ("location x bool", dict(rider(), location={"x": True, "y": 1})),
    ("escaped NUL in name", '{"name":"a\\u0000b","location":{"x":1,"y":1},"destination":{"x":1,"y":1}}'),
    ("lone surrogate", '{"name":"a\\ud800","location":{"x":1,"y":1},"destination":{"x":1,"y":1}}'),
    ("overlong UTF-8", b'{"name":"\xc0\xaf","location":{"x":1,"y":1},"destination":{"x":1,"y":1}}'),
    ("raw NUL byte", b'{"name":"a\x00","location":{"x":1,"y":1},"destination":{"x":1,"y":1}}'),
    ("two objects", json.dumps(rider()) + json.dumps(rider())),
    ("BOM", b"\xef\xbb\xbf" + json.dumps(rider()).encode()),
]


@pytest.mark.parametrize("what,body", HOSTILE_RIDERS, ids=[w for w, _ in HOSTILE_RIDERS])
def test_hostile_rider_body_gets_400_json(what, body):
    r = post("/rider", body)
    assert r.status_code == 400, (what, r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json") and r.json()["error"]
    healthy()


def test_deep_unknown_field_is_ignored():
    """Unknown fields are ignored, however deep (as deep as 4 KiB allows)."""
    r = post("/rider", json.dumps(rider())[:-1] + ',"pad":' + "[" * 1900 + "]" * 1900 + "}")
    assert r.status_code == 202, r.text
    healthy()


@pytest.mark.parametrize("body", [
    b'{"ride_id":"ride-1-0","rating":4,"rating_token":"\xff\xfe"}',
    '{"ride_id":"ride-1-0","rating":4.0000000000000001e400,"rating_token":"ab"}',
    '{"ride_id":"ride-1-0","rating":99999999999999999999999,"rating_token":"ab"}',
    '{"ride_id":' + "[" * 1500 + "]" * 1500 + '}',
    '{"ride_id":"ride-1-0","rating":NaN,"rating_token":"ab"}',
])
def test_hostile_rating_body_is_rejected(body):
    r = post("/rating", body)
    assert r.status_code in (400, 403), r.text
    assert r.json()["error"]
    healthy()


def test_chunked_body_is_buffered_by_nginx():
    body = json.dumps(driver(name="Chunky")).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    st, reply = raw(b"POST /driver HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
    assert st == 202, reply
    healthy()


def test_oversized_chunked_body_gets_413():
    body = b"x" * 8000
    st, reply = raw(b"POST /rider HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert st == 413 and json.loads(reply)["error"]
    healthy()


def test_garbage_request_line_gets_400_json():
    st, reply = raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
    assert st in (400, None)
    if st == 400:
        assert json.loads(reply)["error"]
    st, reply = raw(b"POST /rider HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
    assert st == 400 and json.loads(reply)["error"]
    healthy()


def test_huge_header_is_refused():
    st, _ = raw(b"GET /rating/top HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
    assert st in (400, 431, 494, None)
    healthy()


# ---------------------------------------------------------------- websocket

@pytest.mark.parametrize("payload,needle", [
    (b'{"type":"hello","client_id":"\xff\xfe"}', None),
    ('{"type":"hello","client_id":"x","resume_after":' + "[" * 1900 + "]" * 1900 + "}", "error"),
    ('{"type":"hello","client_id":NaN}', "error"),
    ('{"type":"hello","client_id":12345678901234567890123}', "error"),
    ('{"type":"hello","role":"viewer","resume_after":"99999999999999999999999-99999999999999999999999"}', None),
])
def test_hostile_websocket_message(payload, needle):
    """Invalid UTF-8 in a text frame may be closed by the server (1007) or
    answered with an error; either way the socket does not hang and others
    are served."""
    ws = websocket.create_connection(WS_URL, timeout=5)
    try:
        if isinstance(payload, bytes):
            ws.send_frame(websocket.ABNF.create_frame(payload, websocket.ABNF.OPCODE_TEXT))
        else:
            ws.send(payload)
        ws.settimeout(5)
        try:
            op, data = ws.recv_data(control_frame=True)
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            op, data = websocket.ABNF.OPCODE_CLOSE, b""
        assert op in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_CLOSE)
        if op == websocket.ABNF.OPCODE_TEXT:
            msg = json.loads(data)
            assert msg["type"] in ("error", "welcome"), msg
            if needle:
                assert msg["type"] == needle, msg
    finally:
        ws.close()
    healthy()


def test_huge_websocket_frame_is_closed():
    ws = websocket.create_connection(WS_URL, timeout=10)
    try:
        try:
            ws.send("x" * (2 * 1024 * 1024))
        except (OSError, websocket.WebSocketException):
            pass                       # the server may close while we still write
        ws.settimeout(10)
        code = None
        try:
            while True:
                op, data = ws.recv_data(control_frame=True)
                if op == websocket.ABNF.OPCODE_CLOSE:
                    code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                    break
        except (OSError, websocket.WebSocketException):
            code = code or "reset"
        assert code in (1009, "reset", 1005), code
    finally:
        ws.close()
    healthy()


def test_fragmented_message_over_the_limit_is_closed():
    ws = websocket.create_connection(WS_URL, timeout=5)
    try:
        ws.send_frame(websocket.ABNF.create_frame("x" * 3000, websocket.ABNF.OPCODE_TEXT, fin=0))
        ws.send_frame(websocket.ABNF.create_frame("y" * 3000, websocket.ABNF.OPCODE_CONT, fin=1))
        op, data = ws.recv_data(control_frame=True)
        assert op == websocket.ABNF.OPCODE_CLOSE and struct.unpack("!H", data[:2])[0] == 1009
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        pass
    finally:
        ws.close()
    healthy()


def test_many_websockets_and_connections_at_once():
    socks = []
    try:
        for _ in range(300):
            socks.append(socket.create_connection(("127.0.0.1", PORT), timeout=5))
        wss = [websocket.create_connection(WS_URL, timeout=10) for _ in range(100)]
        for i, ws in enumerate(wss):
            ws.send(json.dumps({"type": "hello", "client_id": f"many-{i}"}))
        for ws in wss:
            assert json.loads(ws.recv())["type"] == "welcome"
        healthy()
        for ws in wss:
            ws.close()
    finally:
        for s in socks:
            s.close()
    healthy()


# ---------------------------------------------------------------- nginx limits

@contextlib.contextmanager
def nginx_with(**env):
    """Reloads nginx alone with other settings; restores the suite's in the end."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update({k: str(v) for k, v in env.items()})
    try:
        stack("nginx-up")
        time.sleep(0.5)            # the old workers hand over
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        stack("nginx-up")
        time.sleep(0.5)
        assert wait_for(lambda: post("/rider", rider(name="Restored")).status_code == 202, 10)


def test_rate_limit_gives_json_429_then_recovers():
    with nginx_with(RATE_LIMIT_LOOPBACK=1, RATE_LIMIT=5, RATE_BURST=5):
        def burst():
            with requests.Session() as s:
                return [s.post(BASE + "/driver", data=json.dumps(driver(name="Burst")),
                               headers={"Content-Type": "application/json"}, timeout=10) for _ in range(40)]
        replies = wait_for(lambda: (lambda rs: rs if any(r.status_code == 429 for r in rs) else None)(burst()), 10)
        assert replies, "no 429 with RATE_LIMIT=5 on loopback"
        codes = [r.status_code for r in replies]
        assert set(codes) <= {202, 429}, codes
        assert codes.count(202) >= 5, codes          # the burst is let through
        limited = [r for r in replies if r.status_code == 429]
        assert limited[0].headers["Content-Type"].startswith("application/json")
        assert limited[0].json() == {"error": "rate limited"}
        # the bucket refills: a request a little later is served again
        time.sleep(1.5)
        assert post("/driver", driver(name="Later")).status_code == 202
    # loopback exempt again: a burst is never limited
    with requests.Session() as s:
        codes = [s.post(BASE + "/driver", data=json.dumps(driver()), headers={"Content-Type": "application/json"},
                        timeout=10).status_code for _ in range(60)]
    assert codes.count(429) == 0, codes


def test_connection_limit_per_address():
    """CONN_LIMIT counts requests in progress: bodies being trickled hold
    connections; the next request from the address gets 429."""
    with nginx_with(RATE_LIMIT_LOOPBACK=1, RATE_LIMIT=1000, RATE_BURST=1000, CONN_LIMIT=3, CLIENT_TIMEOUT=5):
        holders = []
        try:
            for _ in range(3):
                s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
                s.sendall(b"POST /rider HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 200\r\n\r\n{")
                holders.append(s)
            time.sleep(0.5)
            r = post("/rider", rider(name="Fourth"))
            assert r.status_code == 429 and r.json()["error"], r.text
        finally:
            for s in holders:
                s.close()
        assert wait_for(lambda: post("/rider", rider(name="Fifth")).status_code == 202, 5)


def test_slow_clients_are_timed_out():
    """Slowloris: headers trickled past client_header_timeout, and a body
    that stops coming, are closed or answered 408 by nginx within the
    timeout; meanwhile everybody else is served."""
    with nginx_with(CLIENT_TIMEOUT=2):
        results = {}

        def slow_headers():
            s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
            t0 = time.time()
            try:
                s.sendall(b"POST /rider HTTP/1.1\r\n")
                st = None
                for i in range(20):   # one header line every 0.5 s, never the blank line
                    try:
                        s.sendall(b"X-Slow-%d: a\r\n" % i)
                    except OSError:
                        break
                    s.settimeout(0.5)
                    try:
                        data = s.recv(4096)
                        st = "closed" if not data else int(data.split()[1])
                        break
                    except socket.timeout:
                        continue
                    except OSError:
                        st = "closed"
                        break
                results["headers"] = (st, time.time() - t0)
            finally:
                s.close()

        def slow_body():
            s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
            t0 = time.time()
            try:
                s.sendall(b"POST /rider HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 100\r\n\r\n{\"na")
                st, body = read_reply(s)
                results["body"] = (st if st is not None else "closed", time.time() - t0, body)
            finally:
                s.close()

        threads = [threading.Thread(target=slow_headers), threading.Thread(target=slow_body)]
        for t in threads:
            t.start()
        healthy()                      # others are served meanwhile
        for t in threads:
            t.join(15)
        st, took = results["headers"]
        assert st in ("closed", 408), results
        assert took < 8, results
        st, took, body = results["body"]
        assert st in ("closed", 408), results
        assert took < 8, results
        if st == 408:
            assert json.loads(body)["error"]
    healthy()
