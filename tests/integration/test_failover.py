"""Matcher failover: two matchers share the Redis lease `matcher:lease`; the
active one is killed with SIGKILL (its supervisor stopped with SIGSTOP so it
does not bring it back at once) and the standby must take the lease within
3 s and pair what was accepted before and after the kill, nobody twice.

With SCALE>=2 the stack runs both matchers; with SCALE=1 the test starts a
second matcher (with the lease) itself. Whatever it stopped or started is
continued or stopped again in a finally."""
import json
import os
import signal
import subprocess
import time

import requests

import ownproc
from conftest import PORT, REDIS_PORT, ROOT, SCALE, driver, post, rider, wait_for

TICK_MS = int(os.environ.get("TICK_MS", "1000"))
LEASE_MS = int(os.environ.get("LEASE_MS") or "2000")
TAKEOVER_S = 3.0


def lease_pid(rds):
    v = rds.get("matcher:lease")
    return int(v.rsplit(":", 1)[1]) if v and v.rsplit(":", 1)[-1].isdigit() else None


def matches_since(rds, start):
    out = {}
    for _, f in rds.xrange("matches", min="(" + start):
        m = json.loads(f["json"])
        out.setdefault(m["rider"]["id"], []).append(m)
    return out


def last_match_id(rds):
    last = rds.xrevrange("matches", count=1)
    return last[0][0] if last else "0-0"


def start_standby():
    """A second matcher with the lease (SCALE=1 stacks run only one); the
    caller stops it with ownproc.stop()."""
    return ownproc.start("matcher", PORT + 58,
                         *ownproc.matcher_flags("--lease-ms", str(LEASE_MS), lease=True),
                         log="matcher-standby")


def supervisors():
    """pid of each stack matcher's supervisor -> its matcher child's pid."""
    out = {}
    run = os.path.join(os.environ["VAR_DIR"], "run")
    for f in os.listdir(run):
        if f.startswith("matcher.") and f.endswith(".pid"):
            sup = int(open(os.path.join(run, f)).read())
            kids = subprocess.run(["pgrep", "-P", str(sup)], capture_output=True, text=True).stdout.split()
            if kids:
                out[sup] = int(kids[0])
    return out


def test_standby_takes_over_within_3s_and_pairs(rds):
    extra = start_standby() if SCALE < 2 else None
    stopped_sup = None
    try:
        sups = supervisors()
        matchers = set(sups.values()) | ({extra.pid} if extra else set())
        assert len(matchers) >= 2, f"need two matchers, have {matchers}"
        active = wait_for(lambda: lease_pid(rds) if lease_pid(rds) in matchers else None, 10)
        assert active, f"no matcher holds the lease ({rds.get('matcher:lease')})"
        # both pools warm: give the standby a tick to read the stream
        time.sleep(2 * TICK_MS / 1000)
        start = last_match_id(rds)

        sup = next((s for s, c in sups.items() if c == active), None)
        if sup:
            os.kill(sup, signal.SIGSTOP)
            stopped_sup = sup
        os.kill(active, signal.SIGKILL)
        t_kill = time.time()

        # accepted while nobody pairs: must still be paired after the takeover
        x0, y0 = -8.5e5, 7.25e5
        r1 = post("/rider", rider(name="Orphan", x=x0, y=y0)).json()["id"]
        d1 = post("/driver", driver(name="OrphanD", car="FO-1", x=x0, y=y0 + 0.25)).json()["id"]

        new = wait_for(lambda: (lambda p: p if p and p != active and p in matchers else None)(lease_pid(rds)),
                       TAKEOVER_S + 2, interval=0.02)
        took = time.time() - t_kill
        assert new, f"standby never took the lease ({rds.get('matcher:lease')})"
        assert took <= TAKEOVER_S, f"standby took over after {took:.2f} s"

        # a new request after the takeover is paired by the new active matcher
        r2 = post("/rider", rider(name="After", x=x0 + 100, y=y0)).json()["id"]
        d2 = post("/driver", driver(name="AfterD", car="FO-2", x=x0 + 100, y=y0 + 0.25)).json()["id"]
        got = wait_for(lambda: (lambda m: m if r1 in m and r2 in m else None)(matches_since(rds, start)),
                       3 * TICK_MS / 1000 + 3)
        got = got or matches_since(rds, start)
        assert r1 in got, "request accepted during the failover was never paired"
        assert r2 in got, "request after the takeover was never paired"
        assert got[r1][0]["driver"]["id"] == d1 and got[r2][0]["driver"]["id"] == d2
        # nobody twice
        assert all(len(v) == 1 for v in got.values())
        drivers = [m["driver"]["id"] for v in got.values() for m in v]
        assert len(drivers) == len(set(drivers))
        # the new active matcher says so in its metrics
        text = ""
        ports = [PORT + 50 + i for i in range(2)] + ([PORT + 58] if extra else [])
        for p in ports:
            try:
                t = requests.get(f"http://127.0.0.1:{p}/metrics", timeout=2).text
            except requests.RequestException:
                continue
            text += t
        assert "matcher_active 1" in text
    finally:
        if stopped_sup:
            # the supervisor reaps the killed matcher and starts a new one
            os.kill(stopped_sup, signal.SIGCONT)
        if extra:
            ownproc.stop(extra)
    # the stack is whole again for the tests after this one: its matchers
    # restarted and one of them holding the lease
    assert wait_for(lambda: (lambda s: s and active not in s.values() and lease_pid(rds) in s.values())(
        supervisors()), 15), "the stack's matchers did not recover"
