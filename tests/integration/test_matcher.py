"""The matcher end to end: requests through nginx, pairs read back from the
`matches` stream the matcher writes, compared with a brute-force oracle.

The stack's matcher may run either policy (MATCHER_POLICY=min-total in the
environment of `make test-integration` starts it with --policy min-total):
the tests of closest pair first's own rule then skip, the others (no double
match, TTL, restart) run as they are. The min-total tests at the end start
a matcher of their own with that policy, whatever the stack runs."""
import contextlib
import itertools
import json
import os
import random
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

import ownproc
from conftest import BASE, PORT, REDIS_PORT, ROOT, post, rider, driver, wait_for

TICK_MS = int(os.environ.get("TICK_MS", "1000"))
_session = requests.Session()


def post_many(bodies, workers=8):
    """POSTs (path, body) pairs concurrently; returns the replies in order."""
    def one(pb):
        path, body = pb
        return requests.post(BASE + path, data=json.dumps(body), timeout=10)
    with ThreadPoolExecutor(workers) as ex:
        return list(ex.map(one, bodies))


def oracle(riders, drivers):
    """Closest pair first by brute force: riders/drivers are lists of (id, x, y)
    in acceptance order. Returns [(rider_id, driver_id, distance)]."""
    cand = []
    for ri, (_, rx, ry) in enumerate(riders):
        for di, (_, dx_, dy_) in enumerate(drivers):
            dx, dy = rx - dx_, ry - dy_
            cand.append((dx * dx + dy * dy, ri, di))
    cand.sort()
    used_r, used_d, out = set(), set(), []
    for d2, ri, di in cand:
        if ri in used_r or di in used_d:
            continue
        used_r.add(ri)
        used_d.add(di)
        out.append((riders[ri][0], drivers[di][0], d2 ** 0.5))
    return out


def stats_now(rds):
    last = rds.xrevrange("stats", count=1)
    return json.loads(last[0][1]["json"]) if last else None


def wait_pool_empty(rds, timeout=8.0):
    """Waits until the matcher reports nobody waiting (leftovers of other
    tests are paired or expire within the TTL), in a tick that started after
    this call, so that every request accepted before it is counted."""
    t0_ms = time.time() * 1000

    def empty():
        s = stats_now(rds)
        return s and s["ts_ms"] > t0_ms + 50 and s["waiting"]["riders"] == 0 \
            and s["waiting"]["drivers"] == 0
    assert wait_for(empty, timeout, 0.05), "pool did not drain"


def wait_tick(rds):
    """Returns right after the matcher publishes a new tick's stats."""
    last = rds.xrevrange("stats", count=1)
    last_id = last[0][0] if last else "0-0"
    rds.xread({"stats": last_id}, block=5000)


def matches_since(rds, start_id):
    out = {}
    for sid, f in rds.xrange("matches", min="(" + start_id):
        m = json.loads(f["json"])
        out[m["rider"]["id"]] = m
    return out


def last_match_id(rds):
    last = rds.xrevrange("matches", count=1)
    return last[0][0] if last else "0-0"


def matcher_metric(name):
    """A value from the matcher's /metrics (PORT+50)."""
    text = requests.get(f"http://127.0.0.1:{PORT + 50}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


class matcher_paused:
    """Holds the matcher's lease for the test, so the matcher goes standby
    (it keeps reading requests into its pool but pairs nobody); on exit the
    lease is released and the matcher pairs the whole pool in one tick. This
    makes a scenario independent of how fast the requests can be posted."""

    def __init__(self, rds):
        self.rds = rds

    def __enter__(self):
        self.rds.set("matcher:lease", "test-holder", px=30000)
        assert wait_for(lambda: matcher_metric("matcher_active") == 0, 5), "matcher did not go standby"
        return self

    def __exit__(self, *exc):
        if self.rds.get("matcher:lease") == "test-holder":
            self.rds.delete("matcher:lease")


def scenario(rds, riders_xy, drivers_xy):
    """Posts the riders and drivers while the matcher is paused, then lets it
    pair them all in one tick; returns (oracle, matches)."""
    wait_pool_empty(rds)
    start = last_match_id(rds)
    with matcher_paused(rds):
        bodies = [("/rider", rider(name=f"R{i}", x=x, y=y)) for i, (x, y) in enumerate(riders_xy)]
        bodies += [("/driver", driver(name=f"D{i}", car=f"C-{i}", x=x, y=y)) for i, (x, y) in enumerate(drivers_xy)]
        replies = post_many(bodies)
        assert all(r.status_code == 202 for r in replies), [r.text for r in replies if r.status_code != 202]
        # every request is in the standby matcher's pool before it may pair
        assert wait_for(lambda: matcher_metric('matcher_waiting{kind="rider"}') == len(riders_xy)
                        and matcher_metric('matcher_waiting{kind="driver"}') == len(drivers_xy), 5)
    ids = [r.json()["id"] for r in replies]
    key = lambda i: tuple(int(p) for p in i.split("-"))
    rs = sorted([(ids[i], x, y) for i, (x, y) in enumerate(riders_xy)], key=lambda t: key(t[0]))
    ds = sorted([(ids[len(riders_xy) + i], x, y) for i, (x, y) in enumerate(drivers_xy)], key=lambda t: key(t[0]))
    expected = oracle(rs, ds)
    got = wait_for(lambda: (lambda m: m if len(m) >= len(expected) else None)(matches_since(rds, start)),
                   timeout=3 * TICK_MS / 1000 + 5)
    return expected, got or matches_since(rds, start)


def stack_policy_min_total():
    return matcher_metric("matcher_policy_min_total") == 1


@pytest.fixture
def closest_rule():
    """For the tests of closest pair first's own rule (pairs, ties)."""
    if stack_policy_min_total():
        pytest.skip("the stack's matcher runs --policy min-total")


def optimum(riders, drivers):
    """Least total distance over all ways to make min(len) pairs, by brute
    force (small inputs only)."""
    dist = lambda a, b: ((a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2) ** 0.5
    if len(riders) <= len(drivers):
        return min(sum(dist(r, d) for r, d in zip(riders, perm))
                   for perm in itertools.permutations(drivers, len(riders)))
    return min(sum(dist(r, d) for r, d in zip(perm, drivers))
               for perm in itertools.permutations(riders, len(drivers)))


def test_known_scenario_matches_the_oracle(rds, closest_rule):
    riders_xy = [(0, 0), (10, 10), (5, 5), (100, 100), (-50, 20)]
    drivers_xy = [(1, 1), (9, 9), (6, 5), (-49, 21), (300, 300), (5, 5.5)]
    expected, got = scenario(rds, riders_xy, drivers_xy)
    assert len(got) == len(expected) == 5
    for rid, did, dist in expected:
        m = got[rid]
        assert m["driver"]["id"] == did
        assert m["distance"] == pytest.approx(dist, rel=1e-12, abs=1e-12)
        assert m["fare"] == pytest.approx(2 * dist, rel=1e-12, abs=1e-12)
        assert m["currency"] == "BDT"
        assert len(m["rating_token"]) == 32
        # the ride is recorded for rating-svc
        ride = rds.hgetall("ride:" + m["ride_id"])
        assert ride["token"] == m["rating_token"] and ride["driver_id"] == did


def test_ties_go_to_the_earlier_rider_and_driver(rds, closest_rule):
    # every rider is at distance 5 from every driver's first choice: a grid
    # with many equal distances
    riders_xy = [(0, 0), (0, 0), (3, 4), (3, 4)]
    drivers_xy = [(0, 5), (5, 0), (0, 5), (3, -1)]
    expected, got = scenario(rds, riders_xy, drivers_xy)
    assert {r: m["driver"]["id"] for r, m in got.items()} == {r: d for r, d, _ in expected}


def test_random_scenario_matches_the_oracle(rds, closest_rule):
    rnd = random.Random(7)
    riders_xy = [(rnd.randint(0, 20), rnd.randint(0, 20)) for _ in range(40)]
    drivers_xy = [(rnd.randint(0, 20), rnd.randint(0, 20)) for _ in range(30)]
    expected, got = scenario(rds, riders_xy, drivers_xy)
    assert {r: m["driver"]["id"] for r, m in got.items()} == {r: d for r, d, _ in expected}


def test_backlog_from_earlier_ticks_pairs_as_the_oracle(rds, closest_rule):
    """Drivers left waiting by earlier ticks (the index the matcher keeps
    between ticks), then riders and more drivers: the next tick's pairs
    equal the oracle over the whole pool, backlog included."""
    rnd = random.Random(11)
    back_xy = [(rnd.randint(0, 30), rnd.randint(0, 30)) for _ in range(24)]
    riders_xy = [(rnd.randint(0, 30), rnd.randint(0, 30)) for _ in range(16)]
    new_xy = [(rnd.randint(0, 30), rnd.randint(0, 30)) for _ in range(6)]
    wait_pool_empty(rds)
    start = last_match_id(rds)
    key = lambda i: tuple(int(p) for p in i.split("-"))
    with matcher_paused(rds):
        back = post_many([("/driver", driver(name=f"B{i}", car=f"B-{i}", x=x, y=y)) for i, (x, y) in enumerate(back_xy)])
        assert all(r.status_code == 202 for r in back)
        assert wait_for(lambda: matcher_metric('matcher_waiting{kind="driver"}') == len(back_xy), 5)
    # a tick or two pairs nobody (no riders): the drivers wait on
    wait_tick(rds)
    wait_tick(rds)
    assert matcher_metric("matcher_active") == 1
    with matcher_paused(rds):
        rs = post_many([("/rider", rider(name=f"R{i}", x=x, y=y)) for i, (x, y) in enumerate(riders_xy)])
        ds = post_many([("/driver", driver(name=f"N{i}", car=f"N-{i}", x=x, y=y)) for i, (x, y) in enumerate(new_xy)])
        assert all(r.status_code == 202 for r in rs + ds)
        assert wait_for(lambda: matcher_metric('matcher_waiting{kind="rider"}') == len(riders_xy)
                        and matcher_metric('matcher_waiting{kind="driver"}') == len(back_xy) + len(new_xy), 5)
    riders = sorted([(r.json()["id"], x, y) for r, (x, y) in zip(rs, riders_xy)], key=lambda t: key(t[0]))
    drivers = sorted([(r.json()["id"], x, y) for r, (x, y) in zip(back + ds, back_xy + new_xy)],
                     key=lambda t: key(t[0]))
    expected = oracle(riders, drivers)
    got = wait_for(lambda: (lambda m: m if len(m) >= len(expected) else None)(matches_since(rds, start)),
                   timeout=3 * TICK_MS / 1000 + 5) or matches_since(rds, start)
    assert {r: m["driver"]["id"] for r, m in got.items()} == {r: d for r, d, _ in expected}
    for rid, _, dist in expected:
        assert got[rid]["distance"] == pytest.approx(dist, rel=1e-12, abs=1e-12)


def test_request_older_than_ttl_is_never_paired(rds):
    wait_pool_empty(rds)
    start = last_match_id(rds)
    r = post("/driver", driver(name="Old", car="OLD-1", x=777, y=777))
    t0 = time.time()
    old_id = r.json()["id"]
    time.sleep(max(0, 5.15 - (time.time() - t0)))
    post("/rider", rider(name="Late", x=777, y=777))
    time.sleep(3 * TICK_MS / 1000 + 0.5)
    assert not any(m["driver"]["id"] == old_id for m in matches_since(rds, start).values())


def test_request_four_seconds_old_is_still_paired(rds):
    wait_pool_empty(rds)
    start = last_match_id(rds)
    r = post("/driver", driver(name="Patient", car="PAT-1", x=-777, y=-777))
    did = r.json()["id"]
    time.sleep(4.0 - TICK_MS / 1000 if TICK_MS < 1000 else 3.5)
    rr = post("/rider", rider(name="Finally", x=-777, y=-777))
    rid = rr.json()["id"]
    m = wait_for(lambda: matches_since(rds, start).get(rid), timeout=3)
    assert m and m["driver"]["id"] == did


@pytest.fixture
def second_matcher():
    """A second matcher running at the same time, without the lease, so two
    pair at once."""
    with ownproc.service("matcher", PORT + 59, *ownproc.matcher_flags(), log="matcher-second") as p:
        yield p


def _pairs_unique(matches_list):
    riders = [m["rider"]["id"] for m in matches_list]
    drivers = [m["driver"]["id"] for m in matches_list]
    return len(riders) == len(set(riders)) and len(drivers) == len(set(drivers))


def test_two_matchers_never_pair_anyone_twice(rds, second_matcher):
    wait_pool_empty(rds)
    start = last_match_id(rds)
    rnd = random.Random(11)
    n = 1500
    bodies = []
    for i in range(n):
        bodies.append(("/rider", rider(name=f"r{i}", x=rnd.uniform(-1e3, 1e3), y=rnd.uniform(-1e3, 1e3))))
        bodies.append(("/driver", driver(name=f"d{i}", car=f"T-{i}", x=rnd.uniform(-1e3, 1e3), y=rnd.uniform(-1e3, 1e3))))
    replies = post_many(bodies, workers=16)
    accepted = sum(r.status_code == 202 for r in replies)
    assert accepted == len(bodies)
    time.sleep(3 * TICK_MS / 1000 + 1)
    entries = [json.loads(f["json"]) for _, f in rds.xrange("matches", min="(" + start)]
    assert len(entries) >= n * 0.9
    assert _pairs_unique(entries)


def test_matcher_killed_and_restarted_loses_nothing(rds):
    """Pairs of (rider, driver) at the same spot, far from each other: every
    rider must be paired with its own driver although the matcher is killed
    with SIGKILL in the middle (the supervisor restarts it)."""
    wait_pool_empty(rds)
    start = last_match_id(rds)
    pidfile = os.path.join(os.environ["VAR_DIR"], "run", "matcher.0.pid")
    supervisor = int(open(pidfile).read())
    child = int(subprocess.run(["pgrep", "-P", str(supervisor)], capture_output=True, text=True).stdout.split()[0])
    expected = {}
    for k in range(40):
        x, y = 5000.0 * k, -3000.0
        rr = post("/rider", rider(name=f"K{k}", x=x, y=y))
        rd = post("/driver", driver(name=f"Q{k}", car=f"K-{k}", x=x, y=y + 0.5))
        assert rr.status_code == 202 and rd.status_code == 202
        expected[rr.json()["id"]] = rd.json()["id"]
        if k == 15:
            os.kill(child, signal.SIGKILL)
        time.sleep(0.05)
    got = wait_for(lambda: (lambda m: m if all(r in m for r in expected) else None)(matches_since(rds, start)), 8)
    got = got or matches_since(rds, start)
    missing = [r for r in expected if r not in got]
    assert not missing, f"{len(missing)} riders never paired"
    assert all(got[r]["driver"]["id"] == d for r, d in expected.items())
    # and the matcher really was restarted
    new_child = subprocess.run(["pgrep", "-P", str(supervisor)], capture_output=True, text=True).stdout.split()
    assert new_child and int(new_child[0]) != child


@pytest.fixture
def own_matcher():
    """Starts a matcher of its own (--no-lease, so it pairs while the stack's
    matcher is held standby by matcher_paused) with the given extra flags;
    stops it on exit, also on failure."""
    with contextlib.ExitStack() as started:
        def start(*flags):
            port = PORT + 58
            started.enter_context(ownproc.service("matcher", port, *ownproc.matcher_flags(*flags),
                                                  log="matcher-own"))
            return port
        yield start


def metric_at(port, name):
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def own_scenario(rds, own_matcher, riders_xy, drivers_xy, *flags):
    """Posts riders and drivers while nobody pairs (the stack's matcher held
    standby), then starts a matcher of its own with flags: it replays them
    from `requests` and pairs them all in its first tick. Returns (riders,
    drivers, matches, its port); riders and drivers as (id, x, y)."""
    wait_pool_empty(rds)
    start = last_match_id(rds)
    with matcher_paused(rds):
        rs = post_many([("/rider", rider(name=f"M{i}", x=x, y=y)) for i, (x, y) in enumerate(riders_xy)])
        ds = post_many([("/driver", driver(name=f"T{i}", car=f"MT-{i}", x=x, y=y))
                        for i, (x, y) in enumerate(drivers_xy)])
        assert all(r.status_code == 202 for r in rs + ds)
        port = own_matcher(*flags)
        n = min(len(riders_xy), len(drivers_xy))
        got = wait_for(lambda: (lambda m: m if len(m) >= n else None)(matches_since(rds, start)),
                       timeout=3 * TICK_MS / 1000 + 5) or matches_since(rds, start)
        riders = [(r.json()["id"], x, y) for r, (x, y) in zip(rs, riders_xy)]
        drivers = [(r.json()["id"], x, y) for r, (x, y) in zip(ds, drivers_xy)]
        assert len(got) == n
        assert _pairs_unique(list(got.values()))
        return riders, drivers, got, port


# closest pair first is far from the least total here: it takes the
# 0.95 pairs and leaves the far ones
MT_RIDERS = [(1, 0), (3.2, 0), (101, 50), (103.2, 50), (-40, -40), (-38, -39)]
MT_DRIVERS = [(1.95, 0), (0, 0), (101.95, 50), (100, 50), (-39, -40), (500, 500), (-37.5, -39.2)]


def test_min_total_policy_pairs_the_least_total_distance(rds, own_matcher):
    riders, drivers, got, port = own_scenario(rds, own_matcher, MT_RIDERS, MT_DRIVERS, "--policy", "min-total")
    pos = {i: (x, y) for i, x, y in riders + drivers}
    total = 0.0
    for rid, m in got.items():
        did = m["driver"]["id"]
        d = ((pos[rid][0] - pos[did][0]) ** 2 + (pos[rid][1] - pos[did][1]) ** 2) ** 0.5
        assert m["distance"] == pytest.approx(d, rel=1e-12, abs=1e-12)
        total += d
    best = optimum(riders, drivers)
    assert total == pytest.approx(best, rel=1e-9)
    closest = sum(d for _, _, d in oracle(riders, drivers))
    assert best < closest - 1  # the scenario does tell the policies apart
    assert metric_at(port, "matcher_policy_min_total") == 1
    assert metric_at(port, "matcher_min_total_ticks_total") >= 1
    assert metric_at(port, "matcher_min_total_fallback_total") == 0


def test_min_total_over_its_limit_falls_back_to_closest_pair_first(rds, own_matcher):
    riders, drivers, got, port = own_scenario(rds, own_matcher, MT_RIDERS, MT_DRIVERS,
                                              "--policy", "min-total", "--min-total-max", "3")
    assert {r: m["driver"]["id"] for r, m in got.items()} == {r: d for r, d, _ in oracle(riders, drivers)}
    assert metric_at(port, "matcher_min_total_fallback_total") >= 1
