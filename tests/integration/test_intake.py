"""POST /rider and POST /driver through nginx, against real Redis."""
import json
import subprocess
import time

import pytest
import requests

from conftest import BASE, PORT, post, rider, driver, wait_for


@pytest.mark.parametrize("kind,body", [("rider", rider()), ("driver", driver())])
def test_accepted_request_is_cached_with_ttl(rds, kind, body):
    r = post("/" + kind, dict(body, client_id="t-1", extra_field={"ignored": True}))
    assert r.status_code == 202, r.text
    reply = r.json()
    assert reply["expires_in_ms"] == 5000
    key = f"{kind}:{reply['id']}"
    stored = rds.get(key)
    assert stored is not None
    doc = json.loads(stored)
    assert doc["name"] == body["name"] and doc["client_id"] == "t-1"
    assert "extra_field" not in doc
    ttl = rds.pttl(key)
    assert 0 < ttl <= 5000
    # announced to the matcher on the requests stream, under the same id
    entries = rds.xrange("requests", reply["id"], reply["id"])
    assert entries and entries[0][1]["kind"] == kind


def test_request_expires_after_five_seconds(rds):
    r = post("/driver", driver(name="Ephemeral", x=9e5, y=9e5))
    assert r.status_code == 202
    key = "driver:" + r.json()["id"]
    assert rds.exists(key)
    time.sleep(5.2)
    assert not rds.exists(key)


LONG = "x" * 65
BAD_RIDERS = [
    ("not json", "{"),
    ("empty body", ""),
    ("array", "[]"),
    ("string", '"hello"'),
    ("null", "null"),
    ("trailing garbage", json.dumps(rider()) + "x"),
    ("missing name", {k: v for k, v in rider().items() if k != "name"}),
    ("empty name", rider(name="")),
    ("long name", rider(name=LONG)),
    ("name not string", dict(rider(), name=5)),
    ("control char in name", rider(name="a\u0001b")),
    ("DEL in name", rider(name="a\u007fb")),
    ("missing location", {k: v for k, v in rider().items() if k != "location"}),
    ("location not object", dict(rider(), location=[1, 2])),
    ("x missing", dict(rider(), location={"y": 1})),
    ("x string", dict(rider(), location={"x": "1", "y": 1})),
    ("x null", dict(rider(), location={"x": None, "y": 1})),
    ("x too large", rider(x=1e6 + 1)),
    ("y too small", rider(y=-1e6 - 1)),
    ("x huge", '{"name":"a","location":{"x":1e400,"y":1},"destination":{"x":1,"y":1}}'),
    ("NaN literal", '{"name":"a","location":{"x":NaN,"y":1},"destination":{"x":1,"y":1}}'),
    ("missing destination", {k: v for k, v in rider().items() if k != "destination"}),
    ("destination bool", dict(rider(), destination=True)),
    ("client_id bad chars", rider(client_id="a b")),
    ("client_id too long", rider(client_id="a" * 65)),
    ("client_id empty", rider(client_id="")),
    ("invalid utf-8", b'{"name":"\xff\xfe","location":{"x":1,"y":1},"destination":{"x":1,"y":1}}'),
    ("deep nesting", "[" * 3000 + "]" * 3000),
]
BAD_DRIVERS = [
    ("missing car_number", {k: v for k, v in driver().items() if k != "car_number"}),
    ("long car_number", driver(car="C" * 33)),
    ("empty car_number", driver(car="")),
    ("car_number number", dict(driver(), car_number=12)),
    ("newline in car_number", driver(car="DHA\n1")),
]


@pytest.mark.parametrize("what,body", BAD_RIDERS, ids=[w for w, _ in BAD_RIDERS])
def test_bad_rider_gets_400_json(what, body):
    r = post("/rider", body)
    assert r.status_code in (400, 413), (what, r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    assert isinstance(r.json()["error"], str) and r.json()["error"]


@pytest.mark.parametrize("what,body", BAD_DRIVERS, ids=[w for w, _ in BAD_DRIVERS])
def test_bad_driver_gets_400_json(what, body):
    r = post("/driver", body)
    assert r.status_code == 400, (what, r.text)
    assert r.json()["error"]


def test_error_names_the_field():
    r = post("/rider", rider(x=2e6))
    assert r.status_code == 400
    assert r.json().get("field") == "location.x"


def test_limits_at_the_boundary_are_accepted():
    assert post("/rider", rider(name="n" * 64, x=1e6, y=-1e6, client_id="a" * 64)).status_code == 202
    assert post("/driver", driver(car="C" * 32)).status_code == 202
    assert post("/rider", rider(name="Rahim \u09b0\u09b9\u09bf\u09ae")).status_code == 202


def test_oversized_bodies_get_413():
    r = post("/rider", b"x" * (5 * 1024 * 1024))
    assert r.status_code == 413 and r.json()["error"]
    r = post("/driver", json.dumps(dict(driver(), pad="p" * 5000)))
    assert r.status_code == 413 and r.json()["error"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_gets_405(method):
    r = requests.request(method, BASE + "/rider", data="{}", timeout=5)
    assert r.status_code == 405 and r.json()["error"]


@pytest.mark.parametrize("path", ["/nope", "/rider/x", "/riders", "/api/rider"])
def test_unknown_path_gets_404(path):
    r = requests.post(BASE + path, data="{}", timeout=5)
    assert r.status_code in (404, 405) and r.json()["error"]
    assert requests.get(BASE + path, timeout=5).status_code == 404


def test_redis_down_gives_503_then_recovers(redis_stopped, rds):
    r = post("/rider", rider())
    assert r.status_code == 503 and r.json()["error"]
    r = post("/driver", driver())
    assert r.status_code == 503


def test_recovered_after_redis_restart():
    # runs after the test above has started Redis again (same services)
    r = wait_for(lambda: (lambda x: x if x.status_code == 202 else None)(post("/rider", rider())), 10)
    assert r is not None and r.status_code == 202


def test_services_listen_on_loopback_only():
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
    ports = {PORT + off for off in (1, 2, 10, 20, 30, 40, 50)}
    seen = 0
    for line in out.splitlines():
        local = line.split()[3]
        host, _, port = local.rpartition(":")
        if port.isdigit() and int(port) in ports:
            seen += 1
            assert host in ("127.0.0.1", "[::1]"), line
    assert seen >= 3
