"""Security checks of the running stack and the repository (SECURITY.md):
no secret is tracked by git or written to a log, the generated secrets are
private files, Postgres and Redis refuse clients without the password, rating
tokens look random (32 hex digits from getrandom, all distinct) and the
public port answers no server version. Loopback-only listening is checked in
test_intake.py."""
import glob
import json
import os
import re
import stat
import subprocess

import psycopg2
import pytest
import redis
import requests

from conftest import BASE, PORT, ROOT, driver, post, rider, stack, wait_for

VAR = os.environ.get("VAR_DIR", os.path.join(ROOT, "var"))


def secrets():
    out = {}
    for path in glob.glob(os.path.join(VAR, "secrets", "*")):
        with open(path) as f:
            out[os.path.basename(path)] = f.read().strip()
    return out


def test_secrets_are_private_files():
    d = os.path.join(VAR, "secrets")
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    for f in glob.glob(os.path.join(d, "*")):
        assert stat.S_IMODE(os.stat(f).st_mode) & 0o077 == 0, f


def test_no_secret_in_the_repository_or_the_logs():
    found = secrets()
    assert {"pg_password", "redis_password"} <= set(found)
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True).stdout
    files = [f for f in tracked.split("\0") if f]
    assert files and not any(f.startswith("var/") for f in files)
    logs = {}
    for log in glob.glob(os.path.join(VAR, "log", "*.log")):
        with open(log, errors="replace") as f:
            logs[log] = f.read()
    for name, pw in found.items():
        assert len(pw) >= 24, name
        hits = subprocess.run(["git", "grep", "-l", "-F", pw], cwd=ROOT, capture_output=True, text=True).stdout
        assert hits == "", (name, hits)
        for log, text in logs.items():
            assert pw not in text, f"{name} is in {log}"
    # nothing that looks like a hard-coded password either
    hits = subprocess.run(["git", "grep", "-n", "-I", "-E", r"(password=|requirepass )[A-Za-z0-9]{8,}"], cwd=ROOT,
                          capture_output=True, text=True).stdout
    assert hits == "", hits


def test_redis_needs_the_password():
    refused = (redis.exceptions.AuthenticationError, redis.exceptions.ResponseError)
    r = redis.Redis(host="127.0.0.1", port=PORT + 1, socket_timeout=5)
    with pytest.raises(refused, match="NOAUTH|Authentication required"):
        r.get("anything")
    r.close()
    r = redis.Redis(host="127.0.0.1", port=PORT + 1, password="wrong", socket_timeout=5)
    with pytest.raises(refused, match="WRONGPASS|invalid"):
        r.ping()
    r.close()


def test_postgres_needs_the_password():
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(f"host=127.0.0.1 port={PORT + 2} dbname=ridematch user=postgres "
                         f"password=wrong connect_timeout=3").close()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(f"host=127.0.0.1 port={PORT + 2} dbname=ridematch user=postgres "
                         f"connect_timeout=3", passfile="/dev/null").close()


def make_matches(rds, want=60, timeout=30):
    """Posts riders and drivers in pairs (each pair alone at its own spot)
    until the matcher has put at least want matches in the stream, so the
    test does not depend on what other tests left there."""
    start = rds.xlen("matches")
    i = 0
    while rds.xlen("matches") - start < want and i < want * 3:
        x, y = 1000.0 * (i % 500) + 7, 1000.0 * (i // 500) + 7
        assert post("/rider", rider(name=f"Sec{i}", x=x, y=y)).status_code == 202
        assert post("/driver", driver(name=f"Sec{i}", car=f"SEC-{i}", x=x + 0.5, y=y)).status_code == 202
        i += 1
        if i % want == 0:
            wait_for(lambda: rds.xlen("matches") - start >= want, timeout / 3)
    assert wait_for(lambda: rds.xlen("matches") - start >= want, timeout), \
        f"only {rds.xlen('matches') - start} matches"


def test_rating_tokens_are_random_and_distinct(rds):
    make_matches(rds)
    entries = rds.xrevrange("matches", count=2000)
    assert len(entries) >= 60
    tokens = [json.loads(f["json"])["rating_token"] for _, f in entries]
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) for t in tokens)
    assert len(set(tokens)) == len(tokens)
    # every hex digit about equally often (a broken generator would not be):
    # each count is binomial(n, 1/16); 5 standard deviations never fail a
    # fair generator (p ~ 1e-5 over 16 digits), a skewed one does
    n = 32 * len(tokens)
    counts = [sum(t.count(c) for t in tokens) for c in "0123456789abcdef"]
    tol = 5 * (n * (1 / 16) * (15 / 16)) ** 0.5
    assert all(abs(c - n / 16) < tol for c in counts), (counts, tol)


def test_no_server_version_and_no_html_errors():
    r = requests.get(BASE + "/nope", timeout=5)
    assert r.headers.get("Server", "nginx") == "nginx"
    assert r.headers["Content-Type"].startswith("application/json")
