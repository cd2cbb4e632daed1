"""comm-svc batching, end to end through nginx: a hello with "batch": true
gets its matches as {"type":"matches","count":n,"cursor":...,"items":[...]}
frames (comm-svc/README.md). Fares come from the real flow (POST /rider and
/driver, the matcher pairs them). Checks: every fare exactly once and in
stream order, the batch's count and cursor, rating_token only in the rider's
client's items, resumes batched, the per-message default unchanged."""
import json

import websocket

from conftest import WS_URL
from test_comm import client, connect, messages, pair, uid, viewer, wait_matched, wait_pool_empty


def sid(cursor):
    ms, _, seq = cursor.partition("-")
    return int(ms), int(seq or 0)


def items_of(frames):
    """The matches in frames, in order; checks each batch frame's shape."""
    out = []
    for f in frames:
        if f["type"] == "matches":
            items = f["items"]
            assert isinstance(items, list) and items, f
            assert f["count"] == len(items), f
            assert f["cursor"] == items[-1]["cursor"], f
            assert all(m["type"] == "match" for m in items), f
            out.extend(items)
        elif f["type"] == "match":
            out.append(f)
    return out


def fares(ws, rides, timeout=10):
    """(frames, matches) received until every ride in rides came (or timeout)."""
    want = set(rides)
    frames = messages(ws, timeout,
                      until=lambda l: want <= {m.get("ride_id") for m in items_of(l)})
    return frames, items_of(frames)


def assert_once_in_order(matches, rides):
    ours = [m for m in matches if m.get("ride_id") in set(rides)]
    assert sorted(m["ride_id"] for m in ours) == sorted(rides), ours   # each exactly once
    # every match (ours and anybody else's) once, in stream order
    ids = [sid(m["cursor"]) for m in matches]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
    return ours


def test_batching_viewer_and_clients_get_every_fare_once(rds):
    rc, dc = uid("bat-r"), uid("bat-d")
    v, w = viewer(batch=True)
    assert w["batch"] is True
    pv, w = viewer()                          # the per-message default
    assert "batch" not in w
    r, w = client(rc, batch=True)
    assert w["batch"] is True
    d, _ = client(dc, batch=True)
    wait_pool_empty(rds)
    # posted back to back: most land in the same matcher tick
    rides = [pair(rds, rc, dc, wait_empty=False) for _ in range(6)]
    for ride in rides:
        assert wait_matched(rds, ride)

    frames, ms = fares(v, rides)
    assert not [f for f in frames if f["type"] == "match"]   # a batching socket gets batches only
    ours = assert_once_in_order(ms, rides)
    assert all("rating_token" not in m for m in ms)            # never a token for a viewer

    frames, ms = fares(r, rides)
    ours = assert_once_in_order(ms, rides)
    assert all(f["type"] != "match" for f in frames)
    for m in ours:                                             # the rider's client: its token
        assert m["rating_token"] == rds.hget("ride:" + m["ride_id"], "token")

    _, ms = fares(d, rides)
    ours = assert_once_in_order(ms, rides)
    assert all("rating_token" not in m for m in ours)          # the driver's client: none

    frames, ms = fares(pv, rides)
    assert not [f for f in frames if f["type"] == "matches"]
    assert_once_in_order(ms, rides)
    assert all("rating_token" not in m for m in ms)
    for ws in (v, pv, r, d):
        ws.close()


def test_batching_resume_delivers_missed_fares_once(rds):
    rc, dc = uid("bres-r"), uid("bres-d")
    ws, w = client(rc, batch=True)
    cursor = w["cursor"]
    ws.close()                                # away while four fares are made
    wait_pool_empty(rds)
    rides = [pair(rds, rc, dc, wait_empty=False) for _ in range(4)]
    for ride in rides:
        assert wait_matched(rds, ride)

    ws, w = client(rc, batch=True, resume_after=cursor)
    assert w["resumed"] == 4 and w["recovered"] is True and w["batch"] is True
    frames, ms = fares(ws, rides)
    assert all(f["type"] == "matches" for f in frames)
    ours = assert_once_in_order(ms, rides)
    assert len(ms) == 4
    assert all(m["rating_token"] == rds.hget("ride:" + m["ride_id"], "token") for m in ours)
    # then a new one, live, once; the missed ones never again
    new = pair(rds, rc, dc)
    later = items_of(messages(ws, 10, until=lambda l: any(m.get("ride_id") == new for m in items_of(l))))
    assert [m["ride_id"] for m in later] == [new]
    ws.close()

    # a batching viewer resuming from the same cursor: all of them, no token
    v, w = viewer(batch=True, resume_after=cursor)
    assert w["resumed"] >= 5
    _, ms = fares(v, rides + [new])
    assert_once_in_order(ms, rides + [new])
    assert len(ms) >= w["resumed"]             # (a fare of somebody else's may follow live)
    assert all("rating_token" not in m for m in ms)
    v.close()


def test_batch_must_be_a_boolean():
    ws, _ = connect()
    ws.send(json.dumps({"type": "hello", "role": "viewer", "batch": "yes"}))
    err = json.loads(ws.recv())
    assert err["type"] == "error" and err["field"] == "batch", err
    ws.send(json.dumps({"type": "hello", "role": "viewer", "batch": False}))
    w = json.loads(ws.recv())
    assert w["type"] == "welcome" and "batch" not in w
    ws.close()
    # the hello's other rules hold with batch too
    ws = websocket.create_connection(WS_URL, timeout=5)
    ws.send(json.dumps({"type": "hello", "batch": True}))
    assert json.loads(ws.recv())["field"] == "client_id"
    ws.close()
