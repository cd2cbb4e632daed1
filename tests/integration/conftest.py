"""Fixtures for the integration suite: the stack started by
tests/run-integration.sh (PORT, VAR_DIR in the environment), reached through
nginx, plus direct clients for Redis and Postgres to check what was stored,
and helpers to stop and start the real servers."""
import json
import os
import subprocess

import psycopg2
import pytest
import redis
import requests

from ownproc import wait_for  # noqa: F401 (the tests import it from here)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PORT = int(os.environ.get("PORT", "18080"))
BASE = f"http://127.0.0.1:{PORT}"
WS_URL = f"ws://127.0.0.1:{PORT}/communication"
REDIS_PORT = PORT + 1
# instances of each HTTP/WS service the stack runs (scripts/stack.sh SCALE)
SCALE = max(1, int(os.environ.get("SCALE", "1") or "1"))

VAR = os.environ.get("VAR_DIR", os.path.join(ROOT, "var"))


def _redis_password():
    """The stack's generated Redis password (requirepass), or None."""
    try:
        with open(os.path.join(VAR, "secrets", "redis_password")) as f:
            return f.read().strip() or None
    except OSError:
        return None


REDIS_PASSWORD = _redis_password()
if REDIS_PASSWORD:
    # services a test starts itself (a second matcher, comm-svc) inherit it
    os.environ["REDIS_PASSWORD"] = REDIS_PASSWORD


def stack(*args):
    """Runs scripts/stack.sh with the suite's environment."""
    return subprocess.run(["bash", os.path.join(ROOT, "scripts", "stack.sh"), *args],
                          check=True, env=os.environ, capture_output=True, text=True).stdout


def post(path, body, **kw):
    """POSTs a JSON body (a dict, or raw str/bytes) through nginx."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return requests.post(BASE + path, data=data, headers={"Content-Type": "application/json"},
                         timeout=kw.pop("timeout", 10), **kw)


def rider(name="Rahim", x=1.0, y=2.0, dx=3.0, dy=4.0, **extra):
    b = {"name": name, "location": {"x": x, "y": y}, "destination": {"x": dx, "y": dy}}
    b.update(extra)
    return b


def driver(name="Karim", car="DHA-11-2345", x=1.0, y=2.0, **extra):
    b = {"name": name, "car_number": car, "location": {"x": x, "y": y}}
    b.update(extra)
    return b


@pytest.fixture(scope="session")
def base_url():
    return BASE


@pytest.fixture
def rds():
    r = redis.Redis(host="127.0.0.1", port=REDIS_PORT, password=REDIS_PASSWORD, decode_responses=True)
    yield r
    r.close()


@pytest.fixture
def pg():
    conn = psycopg2.connect(stack("pg-conninfo").strip())
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture
def redis_stopped():
    """Stops Redis for the test and always starts it again afterwards."""
    stack("redis-down")
    try:
        yield
    finally:
        stack("redis-up")


@pytest.fixture
def postgres_stopped():
    """Stops Postgres for the test and always starts it again afterwards."""
    stack("pg-down")
    try:
        yield
    finally:
        stack("pg-up")
