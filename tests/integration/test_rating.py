"""POST /rating, GET /rating/driver/{car_number}, GET /rating/top through
nginx, against real Redis and Postgres, including Postgres and Redis going
away and coming back while rating-svc keeps running.

test_rating_after_a_real_match gets its ride from a real pair: a rider and a
driver POSTed through nginx, the matcher's claim, the token read from the
`matches` stream (what comm-svc relays to the rider's websocket; comm-svc is
not on main yet). The other tests, which need many rides with chosen
drivers, write the `ride:<ride_id>` hash directly in Redis the way the
matcher does (fields and TTL of docs/INTERNALS.md), so they do not wait for
matcher ticks."""
import json
import os
import random
import subprocess
import secrets
import urllib.parse
import uuid

import pytest
import requests

from conftest import BASE, PORT, ROOT, driver, post, rider, stack, wait_for

SVC = f"http://127.0.0.1:{PORT + 30}"


def make_ride(rds, car=None, name="Karim"):
    """Writes a ride the way the matcher does; returns (ride_id, token, car)."""
    ride_id = "ride-" + uuid.uuid4().hex
    token = secrets.token_hex(16)
    car = car or "T-" + uuid.uuid4().hex[:12]
    key = "ride:" + ride_id
    rds.hset(key, mapping={"token": token, "car_number": car, "driver_name": name,
                           "driver_id": "1763800000000-1", "rider_id": "1763800000000-0"})
    rds.expire(key, 3600)
    return ride_id, token, car


def rate(ride_id, token, rating=4):
    return post("/rating", {"ride_id": ride_id, "rating": rating, "rating_token": token})


def rows(pg, ride_id=None):
    with pg.cursor() as c:
        if ride_id is None:
            c.execute("SELECT count(*) FROM ratings")
        else:
            c.execute("SELECT count(*) FROM ratings WHERE ride_id = %s", (ride_id,))
        return c.fetchone()[0]


def svc_healthy():
    try:
        return requests.get(SVC + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def driver_url(car):
    return BASE + "/rating/driver/" + urllib.parse.quote(car, safe="")


# ---------------------------------------------------------------- POST /rating

def match_of(rds, rider_id):
    """The match message for rider_id in the `matches` stream, or None."""
    for _, f in rds.xrevrange("matches", count=500):
        m = json.loads(f["json"])
        if m["rider"]["id"] == rider_id:
            return m
    return None


def test_rating_after_a_real_match(rds, pg):
    # a spot far from everyone else, so this rider and driver pair together
    x, y = random.uniform(-9e5, -8e5), random.uniform(8e5, 9e5)
    car = "REAL-" + uuid.uuid4().hex[:8]
    rr = post("/rider", rider(name="Rahim", x=x, y=y))
    dr = post("/driver", driver(name="Karim", car=car, x=x + 1, y=y))
    assert rr.status_code == 202 and dr.status_code == 202, (rr.text, dr.text)
    m = wait_for(lambda: match_of(rds, rr.json()["id"]), timeout=10)
    assert m, "the matcher did not pair the rider"
    assert m["driver"]["car_number"] == car
    ride_id, token = m["ride_id"], m["rating_token"]
    assert rate(ride_id, "0" * 32).status_code == 403
    r = rate(ride_id, token, 5)
    assert r.status_code == 201, r.text
    assert r.json() == {"ride_id": ride_id, "driver": {"car_number": car, "name": "Karim"},
                        "rating": 5}
    assert rate(ride_id, token, 5).status_code == 409
    d = requests.get(driver_url(car), timeout=5).json()
    assert d == {"car_number": car, "name": "Karim", "count": 1, "average": 5}


def test_rating_is_created_once(rds, pg):
    ride_id, token, car = make_ride(rds, name='Karim "K"')
    r = rate(ride_id, token, 4)
    assert r.status_code == 201, r.text
    assert r.json() == {"ride_id": ride_id, "driver": {"car_number": car, "name": 'Karim "K"'},
                        "rating": 4}
    # 201 means committed: another connection sees the row at once
    with pg.cursor() as c:
        c.execute("SELECT car_number, driver_name, rating FROM ratings WHERE ride_id = %s",
                  (ride_id,))
        assert c.fetchall() == [(car, 'Karim "K"', 4)]
    again = rate(ride_id, token, 5)
    assert again.status_code == 409, again.text
    assert again.json()["error"]
    assert rows(pg, ride_id) == 1


def test_rated_ride_gone_from_redis_is_still_a_conflict(rds, pg):
    ride_id, token, _ = make_ride(rds)
    assert rate(ride_id, token).status_code == 201
    rds.delete("ride:" + ride_id)  # the hash expired after its hour
    r = rate(ride_id, token)
    assert r.status_code == 409, r.text


def test_forged_token_is_forbidden(rds, pg):
    ride_id, token, _ = make_ride(rds)
    forged = ("0" if token[0] != "0" else "1") + token[1:]
    for t in (forged, token[:-1], token + "0", token.upper()):
        r = rate(ride_id, t)
        assert r.status_code == 403, (t, r.text)
        assert r.json()["field"] == "rating_token"
    assert rows(pg, ride_id) == 0
    assert rate(ride_id, token).status_code == 201


@pytest.mark.parametrize("token", [None, "", "has space", "x" * 65, 12345])
def test_missing_or_malformed_token_is_forbidden(rds, pg, token):
    ride_id, _, _ = make_ride(rds)
    body = {"ride_id": ride_id, "rating": 4}
    if token is not None:
        body["rating_token"] = token
    r = post("/rating", body)
    assert r.status_code == 403, r.text
    assert r.json()["field"] == "rating_token"
    assert rows(pg, ride_id) == 0


def test_unknown_ride_is_not_found(pg):
    ride_id = "ride-" + uuid.uuid4().hex
    r = rate(ride_id, secrets.token_hex(16))
    assert r.status_code == 404, r.text
    assert r.json()["error"]
    assert rows(pg, ride_id) == 0


BAD_RATINGS = [("zero", 0), ("six", 6), ("fraction", 4.5), ("string", "4"), ("null", None),
               ("float four", 4.0), ("bool", True), ("negative", -1), ("missing", ...)]


@pytest.mark.parametrize("what,value", BAD_RATINGS, ids=[w for w, _ in BAD_RATINGS])
def test_invalid_rating_is_rejected(rds, pg, what, value):
    ride_id, token, _ = make_ride(rds)
    body = {"ride_id": ride_id, "rating_token": token}
    if value is not ...:
        body["rating"] = value
    r = post("/rating", body)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "rating"
    assert rows(pg, ride_id) == 0


@pytest.mark.parametrize("body", ["", "{", "[]", "null", '{"ride_id": 5, "rating": 4}',
                                  '{"ride_id": "a b", "rating": 4, "rating_token": "x"}'])
def test_malformed_body_is_rejected(body):
    r = post("/rating", body)
    assert r.status_code == 400, r.text
    assert "error" in r.json()


def test_wrong_method_and_path():
    assert requests.get(BASE + "/rating", timeout=5).status_code == 405
    assert post("/rating/top", {}).status_code == 405
    r = requests.get(BASE + "/rating/nothing", timeout=5)
    assert r.status_code == 404 and r.json()["error"]


# ---------------------------------------------------------------- GET /rating/driver

def test_driver_average_over_several_rides(rds):
    car = "DHA 11/" + uuid.uuid4().hex[:8]  # a space and a slash: URL-encoded
    for i, stars in enumerate([5, 4, 4, 2]):
        ride_id, token, _ = make_ride(rds, car=car, name="Old Name" if i < 3 else "Karim")
        assert rate(ride_id, token, stars).status_code == 201
    r = requests.get(driver_url(car), timeout=5)
    assert r.status_code == 200, r.text
    assert r.json() == {"car_number": car, "name": "Karim", "count": 4, "average": 3.75}

    ride_id, token, _ = make_ride(rds, car=car, name="Karim")
    assert rate(ride_id, token, 5).status_code == 201
    d = requests.get(driver_url(car), timeout=5).json()
    assert d["count"] == 5 and d["average"] == pytest.approx(20 / 5)


def test_driver_average_is_rounded(rds):
    car = "R-" + uuid.uuid4().hex[:10]
    for stars in (5, 4, 4):
        ride_id, token, _ = make_ride(rds, car=car)
        assert rate(ride_id, token, stars).status_code == 201
    d = requests.get(driver_url(car), timeout=5).json()
    assert d["count"] == 3 and d["average"] == pytest.approx(13 / 3, abs=0.005)


def test_driver_without_ratings_is_not_found():
    r = requests.get(driver_url("NOBODY-" + uuid.uuid4().hex[:8]), timeout=5)
    assert r.status_code == 404, r.text
    assert r.json()["error"]


@pytest.mark.parametrize("raw", ["C" * 33, "%01AB", "%7F"])
def test_driver_invalid_car_number(raw):
    r = requests.get(BASE + "/rating/driver/" + raw, timeout=5)
    assert r.status_code == 400, r.text
    assert r.json()["error"]


# ---------------------------------------------------------------- GET /rating/top

def test_top_order_and_limit(rds, pg):
    with pg.cursor() as c:  # the test stack's own database: start from empty
        c.execute("TRUNCATE ratings")
    plan = {"TOP-A": [5, 5], "TOP-B": [5], "TOP-C": [5], "TOP-D": [4, 3], "TOP-E": [1],
            "TOP-F": [3, 4, 4, 3]}
    for car, stars in plan.items():
        for s in stars:
            ride_id, token, _ = make_ride(rds, car=car, name="N" + car)
            assert rate(ride_id, token, s).status_code == 201
    # best average first; ties: more ratings first, then car_number
    expected = ["TOP-A", "TOP-B", "TOP-C", "TOP-F", "TOP-D", "TOP-E"]
    r = requests.get(BASE + "/rating/top", timeout=5)
    assert r.status_code == 200, r.text
    top = r.json()
    assert [d["car_number"] for d in top] == expected
    assert top[0] == {"car_number": "TOP-A", "name": "NTOP-A", "count": 2, "average": 5}
    assert top[3] == {"car_number": "TOP-F", "name": "NTOP-F", "count": 4, "average": 3.5}
    r = requests.get(BASE + "/rating/top?limit=3", timeout=5)
    assert [d["car_number"] for d in r.json()] == expected[:3]
    r = requests.get(BASE + "/rating/top?limit=100", timeout=5)
    assert len(r.json()) == len(expected)


def test_top_default_limit_is_ten(rds, pg):
    with pg.cursor() as c:
        c.execute("TRUNCATE ratings")
    for i in range(12):
        ride_id, token, _ = make_ride(rds, car=f"TEN-{i:02d}")
        assert rate(ride_id, token, 1 + i % 5).status_code == 201
    top = requests.get(BASE + "/rating/top", timeout=5).json()
    assert len(top) == 10
    averages = [d["average"] for d in top]
    assert averages == sorted(averages, reverse=True)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "", "1.5", "1e2", "99999999999999999999"])
def test_top_limit_is_validated(limit):
    r = requests.get(BASE + "/rating/top?limit=" + limit, timeout=5)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "limit"


def test_top_when_empty_is_an_empty_list(pg):
    with pg.cursor() as c:
        c.execute("TRUNCATE ratings")
    r = requests.get(BASE + "/rating/top", timeout=5)
    assert r.status_code == 200 and r.json() == []


# ---------------------------------------------------------------- the stores going away

def assert_rating_503(ride_id, token):
    """A store is down: rating-svc's /healthz says so, and a rating gets a
    JSON 503."""
    assert wait_for(lambda: not svc_healthy(), timeout=5)
    r = rate(ride_id, token)
    assert r.status_code == 503, r.text
    assert r.json()["error"]


def test_postgres_down_then_back(rds, pg):
    ride_id, token, _ = make_ride(rds)
    before = rows(pg)
    pg.close()  # the fixture's connection would die with the server
    stack("pg-down")
    try:
        assert_rating_503(ride_id, token)
        assert requests.get(BASE + "/rating/top", timeout=5).status_code == 503
        assert requests.get(driver_url("ANY"), timeout=5).status_code == 503
        assert requests.get(SVC + "/healthz", timeout=5).status_code == 503
    finally:
        stack("pg-up")
    import psycopg2
    conn = psycopg2.connect(stack("pg-conninfo").strip())
    conn.autocommit = True
    try:
        assert rows(conn) == before  # nothing half-written
        assert rows(conn, ride_id) == 0
        # rating-svc reconnects by itself (it was not restarted)
        assert wait_for(svc_healthy, timeout=10)
        r = rate(ride_id, token)
        assert r.status_code == 201, r.text
        assert rows(conn, ride_id) == 1
    finally:
        conn.close()


def test_postgres_stopped_fixture_gives_503(rds, postgres_stopped):
    ride_id, token, _ = make_ride(rds)
    assert_rating_503(ride_id, token)


def test_after_postgres_fixture_ratings_work_again(rds):
    assert wait_for(svc_healthy, timeout=10)
    ride_id, token, _ = make_ride(rds)
    assert rate(ride_id, token).status_code == 201


def test_redis_down_then_back(rds, pg):
    ride_id, token, _ = make_ride(rds)
    stack("redis-down")
    try:
        assert_rating_503(ride_id, token)
    finally:
        stack("redis-up")
    # appendonly Redis keeps the ride across the restart
    assert wait_for(svc_healthy, timeout=10)
    assert rows(pg, ride_id) == 0
    # A restarted Redis may still answer -LOADING for a moment although the
    # connection is up (and /healthz says so): that is a 503, never a write.
    r = wait_for(lambda: (lambda x: x if x.status_code != 503 else None)(rate(ride_id, token)),
                 timeout=10, interval=0.1)
    assert r is not None, "still 503 ten seconds after Redis came back"
    assert r.status_code == 201, r.text
    assert rows(pg, ride_id) == 1


# ---------------------------------------------------------------- service basics

def test_health_and_metrics():
    assert requests.get(SVC + "/healthz", timeout=5).status_code == 200
    m = requests.get(SVC + "/metrics", timeout=5).text
    for name in ("ratings_created_total", "ratings_rejected_total", "pg_up 1", "redis_up 1",
                 "pg_queries_total"):
        assert name in m


def test_help():
    binary = os.path.join(os.environ.get("BUILD_DIR", os.path.join(ROOT, "build")), "bin",
                          "rating-svc")
    env = dict(os.environ, PG_CONNINFO="host=127.0.0.1 password=s3cret-do-not-print")
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10, env=env)
    assert out.returncode == 0
    assert "--pg" in out.stdout and "--redis" in out.stdout and "--port" in out.stdout
    assert "s3cret" not in out.stdout + out.stderr


def test_hung_postgres_gives_503_then_recovers(pg):
    """A Postgres backend that stops answering (SIGSTOP) is dropped after the
    query timeout: the client gets 503 within the HTTP timeout, and the
    service reconnects on its own once Postgres answers again."""
    import signal
    assert wait_for(svc_healthy, timeout=10)
    with pg.cursor() as c:
        c.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                  "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
        pids = [p for (p,) in c.fetchall()]
    assert pids, "rating-svc has no Postgres connection"
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    try:
        r = requests.get(BASE + "/rating/top", timeout=10)
        assert r.status_code == 503, r.text
        assert r.elapsed.total_seconds() < 4
    finally:
        for p in pids:
            os.kill(p, signal.SIGCONT)
    assert wait_for(svc_healthy, timeout=10)
    assert requests.get(BASE + "/rating/top", timeout=5).status_code == 200


# ---------------------------------------------------------------- group commit
#
# rating-svc commits the ratings that arrive together in one transaction
# (rating-svc/README.md). To make a batch of many ratings for sure, a test
# holds a lock on the table for a moment: the first rating's batch waits on
# it, everything that arrives meanwhile queues and goes as the next batch.

import threading
import time
from concurrent.futures import ThreadPoolExecutor


def metric(name):
    for line in requests.get(SVC + "/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no metric " + name)


def rate_all(jobs, workers=32):
    """POSTs every (ride_id, token, rating) of jobs from `workers` threads;
    returns the responses' (status, json) in the order of jobs."""
    def one(job):
        r = rate(*job)
        try:
            body = r.json()
        except ValueError:
            body = None
        return r.status_code, body
    with ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(one, jobs))


class TableLock:
    """Holds EXCLUSIVE on ratings (inserts wait, reads do not) from its own
    connection, released by release() or at the latest after `hold` s."""
    def __init__(self, hold=1.0):
        import psycopg2
        self.conn = psycopg2.connect(stack("pg-conninfo").strip())
        self.cur = self.conn.cursor()
        self.cur.execute("LOCK TABLE ratings IN EXCLUSIVE MODE")
        self.timer = threading.Timer(hold, self.release)
        self.timer.start()

    def release(self):
        try:
            self.conn.rollback()
            self.conn.close()
        except Exception:
            pass  # the server may be gone (pg-down), which releases it too

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        self.release()


def rating_rows(pg, ride_ids):
    with pg.cursor() as c:
        c.execute("SELECT ride_id, rating FROM ratings WHERE ride_id = ANY(%s)", (list(ride_ids),))
        return dict(c.fetchall())


def test_many_concurrent_ratings_each_get_their_answer(rds, pg):
    """200 ratings of 140 rides from 32 threads: per ride exactly one 201,
    the others 409; the table holds exactly the 201s' ratings."""
    rides = [make_ride(rds) for _ in range(140)]
    jobs = [(rid, tok, 1 + i % 5) for i, (rid, tok, _) in enumerate(rides)]
    jobs += [(rid, tok, 1 + (i + 2) % 5) for i, (rid, tok, _) in enumerate(rides[:60])]
    random.Random(1).shuffle(jobs)
    b0, r0 = metric("rating_batches_total"), metric("rating_batch_rows_total")
    res = rate_all(jobs)
    created = {}
    for (rid, _, stars), (status, body) in zip(jobs, res):
        assert status in (201, 409), (status, body)
        if status == 201:
            assert rid not in created, "two 201s for " + rid
            assert body["ride_id"] == rid and body["rating"] == stars
            created[rid] = stars
        else:
            assert body["error"]
    assert set(created) == {rid for rid, _, _ in rides}
    assert rating_rows(pg, created) == created
    # they went to Postgres in fewer transactions than ratings? Not
    # asserted (it depends on timing); but every row went through a batch
    assert metric("rating_batch_rows_total") - r0 <= len(jobs)
    assert metric("rating_batches_total") > b0


def test_duplicates_inside_one_batch(rds, pg):
    """The same ride rated 6 times within one batch: one 201, five 409."""
    rid, tok, _ = make_ride(rds)
    others = [make_ride(rds) for _ in range(20)]
    jobs = [(rid, tok, 1 + i % 5) for i in range(6)] + [(o, t, 3) for o, t, _ in others]
    random.Random(2).shuffle(jobs)
    with TableLock(hold=1.0):
        res = rate_all(jobs, workers=len(jobs))
    st = [s for (r, _, _), (s, _) in zip(jobs, res) if r == rid]
    assert sorted(st) == [201, 409, 409, 409, 409, 409], res
    stars = [j[2] for j, (s, _) in zip(jobs, res) if j[0] == rid and s == 201][0]
    assert rating_rows(pg, [rid]) == {rid: stars}
    assert all(s == 201 for (r, _, _), (s, _) in zip(jobs, res) if r != rid), res
    assert len(rating_rows(pg, [o for o, _, _ in others])) == len(others)


def test_refused_row_does_not_fail_its_neighbours(rds, pg):
    """A row Postgres refuses (here a CHECK constraint the test adds) aborts
    its batch's transaction; the batch is replayed one by one: the bad
    rating alone fails (500), its neighbours get 201, no stray rows."""
    with pg.cursor() as c:
        c.execute("ALTER TABLE ratings ADD CONSTRAINT test_poison "
                  "CHECK (driver_name <> 'POISON') NOT VALID")
    try:
        good = [make_ride(rds) for _ in range(24)]
        bad = make_ride(rds, name="POISON")
        replays0, rollbacks0 = metric("rating_batch_replays_total"), metric("pg_rollbacks_total")
        jobs = [(g, t, 4) for g, t, _ in good]
        jobs.insert(12, (bad[0], bad[1], 4))
        with TableLock(hold=1.5), ThreadPoolExecutor(max_workers=len(jobs)) as ex:
            # twelve good ones first (the first of them is the batch that
            # waits on the lock), then the poison and the rest, queued
            # together behind it
            futs = [ex.submit(rate, *j) for j in jobs[:12]]
            time.sleep(0.4)
            futs += [ex.submit(rate, *j) for j in jobs[12:]]
            res = [(f.result(timeout=20).status_code, f.result().json()) for f in futs]
        for (rid, _, _), (status, body) in zip(jobs, res):
            if rid == bad[0]:
                assert status == 500 and body["error"], (status, body)
            else:
                assert status == 201, (rid, status, body)
        assert rating_rows(pg, [bad[0]]) == {}
        assert len(rating_rows(pg, [g for g, _, _ in good])) == len(good)
        # the poison shared a batch with others (they queued behind the
        # lock), so that batch was rolled back and replayed
        assert metric("rating_batch_replays_total") > replays0
        assert metric("pg_rollbacks_total") > rollbacks0
        # and the service is fine afterwards
        rid, tok, _ = make_ride(rds)
        assert rate(rid, tok).status_code == 201
    finally:
        with pg.cursor() as c:
            c.execute("ALTER TABLE ratings DROP CONSTRAINT IF EXISTS test_poison")


def test_postgres_stopped_mid_batch(rds, pg):
    """Postgres stops while a batch waits in it and more ratings queue:
    they get 503 and no 201 is without a row (a batch whose commit raced the
    shutdown may be committed: its ratings answer 409 on retry), and
    rating-svc recovers by itself: the same ratings then get 201 each (or
    409) and the rows match exactly."""
    rides = [make_ride(rds) for _ in range(40)]
    jobs = [(rid, tok, 2) for rid, tok, _ in rides]
    pg.close()
    lock = TableLock(hold=8.0)
    results = {}
    try:
        ex = ThreadPoolExecutor(max_workers=len(jobs))
        futs = [ex.submit(rate, *j) for j in jobs]
        time.sleep(0.5)  # they reach rating-svc and wait on the lock
        stack("pg-down")
        for j, f in zip(jobs, futs):
            r = f.result(timeout=20)
            results[j[0]] = r.status_code
        ex.shutdown()
    finally:
        lock.__exit__()
        stack("pg-up")
    assert set(results.values()) <= {201, 503}, results
    import psycopg2
    conn = psycopg2.connect(stack("pg-conninfo").strip())
    conn.autocommit = True
    try:
        have = rating_rows(conn, [r for r, _, _ in rides])
        for rid, status in results.items():
            if status == 201:
                assert rid in have, "201 without a row: " + rid
        # They waited on the lock. But a fast shutdown terminates the lock's
        # holder and the batch's backend at about the same time, and the
        # batch can get the lock and commit before it handles its own
        # termination (seen about one run in three, also before lib/pg was
        # split): that batch is then committed while its answer was lost
        # (503, outcome unknown), and a retry answers 409.
        assert all(results[rid] in (201, 503) for rid in have), (have, results)
        assert all(v == 2 for v in have.values()), have
        assert wait_for(svc_healthy, timeout=15)
        again = rate_all(jobs)
        assert [s for s, _ in again] == [409 if rid in have else 201 for rid, _, _ in jobs], again
        assert rating_rows(conn, [r for r, _, _ in rides]) == {r: 2 for r, _, _ in rides}
    finally:
        conn.close()


def test_batch_max_flag_is_validated():
    binary = os.path.join(os.environ.get("BUILD_DIR", os.path.join(ROOT, "build")), "bin",
                          "rating-svc")
    for bad in ("0", "1025", "x"):
        out = subprocess.run([binary, "--batch-max", bad, "--port", "1"], capture_output=True,
                             text=True, timeout=10)
        assert out.returncode == 2, (bad, out.stdout, out.stderr)
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    assert "--batch-max" in out.stdout
