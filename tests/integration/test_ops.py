"""Operations: on a stack of its own (OPS_PORT, default PORT+420, data in
var/test-ops-<port>), started under `umask 000` with a tiny log cap
(LOG_MAX_BYTES=4096, LOG_KEEP=3) and logwatch looking every second:
  - nothing under var/ is readable or writable by group or others (Redis' AOF
    with the rating tokens, the secrets, the logs, Postgres' cluster);
  - the supervisor logs a restart with the signal, and stackinfo counts it;
  - every service's log and the Redis, Postgres and nginx logs rotate at the
    cap, keep exactly LOG_KEEP old files, and the writer goes on in a new file;
  - `stack.sh down` stops everything although one service is stopped
    (SIGSTOP: it cannot act on SIGTERM): every pid gone, every port free.
The stack is always stopped at the end, also when a test fails."""
import glob
import os
import shutil
import signal
import stat
import subprocess
import time

import psycopg2
import pytest
import redis
import requests

import stackinfo
from conftest import PORT, ROOT, wait_for
from ownproc import alive, in_group as procs_in_group

OPS_PORT = int(os.environ.get("OPS_PORT", str(PORT + 420)))
OPS_VAR = os.path.join(ROOT, "var", f"test-ops-{OPS_PORT}")
BASE = f"http://127.0.0.1:{OPS_PORT}"
CAP = 4096
KEEP = 3
STOP_TIMEOUT = 4
ENV = dict(os.environ, PORT=str(OPS_PORT), VAR_DIR=OPS_VAR, SCALE="1", TICK_MS="100",
           LOG_MAX_BYTES=str(CAP), LOG_KEEP=str(KEEP), LOGWATCH_SECONDS="1",
           NGINX_ACCESS_LOG="1", STOP_TIMEOUT=str(STOP_TIMEOUT))
ENV.pop("LEASE_MS", None)
ENV.pop("REDIS_PASSWORD", None)   # conftest exported the main stack's
STACK = os.path.join(ROOT, "scripts", "stack.sh")


def ops_stack(*args, timeout=180):
    return subprocess.run(["bash", STACK, *args], env=ENV, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=lambda: os.umask(0))


def read(path):
    with open(path) as f:
        return f.read().strip()


def listening_ports():
    ports = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if cols[3] == "0A":
                        ports.add(int(cols[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def pg_dir():
    return os.path.realpath(os.path.join(OPS_VAR, "pg"))


@pytest.fixture(scope="module")
def ops():
    ops_stack("down", timeout=120)
    if os.path.isdir(OPS_VAR):
        shutil.rmtree(OPS_VAR, ignore_errors=True)
    try:
        r = ops_stack("up")
        assert r.returncode == 0, r.stderr[-3000:]
        yield
    finally:
        # a test may have left a service stopped: let it go, then stop it all
        for f in glob.glob(os.path.join(OPS_VAR, "run", "*.child")):
            try:
                os.kill(int(read(f)), signal.SIGCONT)
            except (OSError, ValueError):
                pass
        ops_stack("down", timeout=120)


@pytest.fixture
def ops_redis():
    r = redis.Redis(host="127.0.0.1", port=OPS_PORT + 1,
                    password=read(os.path.join(OPS_VAR, "secrets", "redis_password")))
    yield r
    r.close()


def test_var_is_private_although_started_under_umask_000(ops, ops_redis):
    ops_redis.set("ops:probe", "x")        # something in the AOF
    root_run = os.getuid() == 0
    # what must exist, so the walk below checks it
    assert glob.glob(os.path.join(OPS_VAR, "redis", "appendonlydir", "*"))
    assert os.path.exists(os.path.join(OPS_VAR, "secrets", "redis_password"))
    assert os.path.exists(os.path.join(pg_dir(), "data", "PG_VERSION"))
    if root_run:
        import pwd
        assert os.stat(pg_dir()).st_uid == pwd.getpwnam("postgres").pw_uid
    bad = []
    for top in (OPS_VAR, pg_dir()):
        for d, dirs, files in os.walk(top):
            for name in [""] + dirs + files:
                p = os.path.join(d, name) if name else d
                st = os.lstat(p)
                if stat.S_ISLNK(st.st_mode):
                    continue            # a link's own mode means nothing
                mode = stat.S_IMODE(st.st_mode)
                # var/ itself may be 0711 when root: the postgres user must pass
                # through it to var/pg; it can list or read nothing
                allowed = 0o011 if (p == OPS_VAR and root_run) else 0
                if mode & 0o077 & ~allowed:
                    bad.append(f"{oct(mode)} {p}")
    assert not bad, "group/other can reach:\n" + "\n".join(bad[:40])
    # Postgres (as the postgres user when root) owns its dir and still works
    conninfo = ops_stack("pg-conninfo").stdout.strip()
    with psycopg2.connect(conninfo) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    # nginx still serves the dashboard and proxies (its workers run as this user)
    assert requests.get(BASE + "/", timeout=10).status_code == 200
    assert requests.get(BASE + "/healthz", timeout=10).status_code == 200


def test_supervisor_logs_a_restart_with_its_signal(ops):
    before = stackinfo.restart_counts(OPS_VAR)
    assert before == {}
    child = int(read(os.path.join(OPS_VAR, "run", "rider-svc.0.child")))
    os.kill(child, signal.SIGKILL)
    assert wait_for(lambda: stackinfo.restarts_since(before, OPS_VAR), 15)
    assert stackinfo.restarts_since(before, OPS_VAR) == {"rider-svc.0": 1}
    assert stackinfo.restart_events(OPS_VAR)[-1] == ("rider-svc.0", "signal 9", 1)
    # and the new child is recorded and serving
    assert wait_for(lambda: read(os.path.join(OPS_VAR, "run", "rider-svc.0.child")) != str(child), 10)
    assert wait_for(lambda: healthy(OPS_PORT + 10), 15)


def healthy(port):
    """/healthz answers 200 (False while nothing listens yet)."""
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok
    except requests.RequestException:
        return False


def rotated(path):
    return [path] + [f"{path}.{i}" for i in range(1, KEEP + 2)]


def snapshot(path):
    out = []
    for p in rotated(path):
        try:
            out.append((p, os.path.getsize(p)))
        except OSError:
            out.append((p, None))
    return out


def wait_quiet(path, quiet_s=1.0, deadline_s=15):
    """Until path and its rotated files have not changed for quiet_s: a
    rotation renames .2 to .3 and then .1 to .2, so a reader in between sees
    a gap; the writer may still be logging (and rotating) after the line a
    test waited for."""
    end = time.monotonic() + deadline_s
    last = snapshot(path)
    while time.monotonic() < end:
        time.sleep(quiet_s)
        now = snapshot(path)
        if now == last:
            return
        last = now


def check_rotated(path, owner_writes_whole_lines=True):
    """path, .1 .. .KEEP exist, .KEEP+1 does not; the rotated ones reached
    the cap; all 0600 (once the files are quiet: see wait_quiet)."""
    wait_quiet(path)
    files = rotated(path)
    for p in files[:KEEP + 1]:
        assert os.path.exists(p), f"{p} missing: {sorted(os.listdir(os.path.dirname(path)))}"
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, p
    for p in files[1:KEEP + 1]:
        assert os.path.getsize(p) >= CAP, p
    assert not os.path.exists(files[KEEP + 1])


def test_service_logs_rotate_at_the_cap_and_keep_n(ops):
    before = stackinfo.restart_counts(OPS_VAR)
    matcher = int(read(os.path.join(OPS_VAR, "run", "matcher.0.child")))
    log = os.path.join(OPS_VAR, "log", "matcher.0.log")
    s = requests.Session()
    k = 0

    def pairs(n):
        nonlocal k
        # n more pairs (one log line each), far from each other
        for _ in range(n):
            x = 1000.0 * k - 900000
            assert s.post(BASE + "/rider", json={"name": f"R{k}", "location": {"x": x, "y": 0},
                                                 "destination": {"x": 0, "y": 0}}, timeout=10).status_code == 202
            assert s.post(BASE + "/driver", json={"name": f"D{k}", "car_number": f"O-{k}",
                                                  "location": {"x": x, "y": 0.5}}, timeout=10).status_code == 202
            k += 1

    assert wait_for(lambda: pairs(20) or os.path.exists(log + f".{KEEP}"), 120, interval=0.3)
    # and more than a file's worth beyond: the oldest file must be dropped
    pairs(2 * CAP // 100)
    last = k - 1
    # the newest pair is printed in the current file or the one before
    assert wait_for(lambda: any(f"car=O-{last} " in open(p).read()
                                for p in (log, log + ".1") if os.path.exists(p)), 15)
    check_rotated(log)
    # the first pair was in the first file, which rotated away
    kept = "".join(open(p).read() for p in rotated(log)[:KEEP + 1])
    assert "car=O-0 " not in kept and f"car=O-{last} " in kept
    # lines are whole: every line of every kept file starts with a timestamp
    for p in rotated(log)[:KEEP + 1]:
        with open(p) as f:
            for line in f:
                assert line[:4].isdigit() and line.endswith("\n"), (p, line)
    # the matcher went on in the same process: rotation is not a restart
    assert int(read(os.path.join(OPS_VAR, "run", "matcher.0.child"))) == matcher
    assert stackinfo.restarts_since(before, OPS_VAR) == {}


def test_redis_postgres_nginx_logs_rotate_and_reopen(ops, ops_redis):
    conninfo = ops_stack("pg-conninfo").stdout.strip()
    pglog = os.path.join(pg_dir(), "postgres.log")
    logs = {"redis": os.path.join(OPS_VAR, "log", "redis.log"), "postgres": pglog,
            "nginx": os.path.join(OPS_VAR, "log", "nginx-access.log")}
    conn = psycopg2.connect(conninfo)
    conn.autocommit = True
    s = requests.Session()
    try:
        def more():
            for _ in range(3):
                try:
                    ops_redis.bgrewriteaof()      # Redis logs a few lines each
                except redis.ResponseError:
                    pass                          # one already in progress
                with conn.cursor() as cur:
                    cur.execute("DO $$BEGIN RAISE LOG 'ops-filler %', repeat('x', 900); END$$")
                for _ in range(20):
                    s.get(BASE + "/healthz", timeout=10)
                time.sleep(0.2)
            return all(os.path.exists(f"{p}.{KEEP}") for p in logs.values())
        assert wait_for(more, 150, interval=0.5), {n: sorted(glob.glob(p + "*")) for n, p in logs.items()}
        for p in logs.values():
            check_rotated(p)
        # each writer goes on in the new file
        marker = f"ops-marker-{time.time_ns()}"
        with conn.cursor() as cur:
            cur.execute(f"DO $$BEGIN RAISE LOG '{marker}'; END$$")
        s.get(BASE + f"/healthz?{marker}", timeout=10)
        assert wait_for(lambda: marker in open(logs["postgres"]).read(), 15)
        assert wait_for(lambda: marker in open(logs["nginx"]).read(), 15)

        def redis_wrote():
            if os.path.getsize(logs["redis"]) > 0:
                return True
            try:
                ops_redis.bgrewriteaof()
            except redis.ResponseError:
                pass
            return False
        assert wait_for(redis_wrote, 30, interval=1)
    finally:
        conn.close()


def test_down_stops_a_wedged_service_and_frees_every_port(ops):
    run = os.path.join(OPS_VAR, "run")
    sups = {os.path.basename(f)[:-4]: int(read(f)) for f in glob.glob(os.path.join(run, "*.[0-9]*.pid"))}
    assert "matcher.0" in sups and "rider-svc.0" in sups
    pids = set()
    for sup in sups.values():
        pids.update(procs_in_group(sup))         # each supervisor and its child
    nginx = int(read(os.path.join(run, "nginx.pid")))
    pids.update(procs_in_group(nginx))
    pids.add(int(read(os.path.join(run, "redis.pid"))))
    with open(os.path.join(pg_dir(), "data", "postmaster.pid")) as f:
        pids.add(int(f.readline()))
    ports = {OPS_PORT, OPS_PORT + 1, OPS_PORT + 2, OPS_PORT + 10, OPS_PORT + 20,
             OPS_PORT + 30, OPS_PORT + 40, OPS_PORT + 50}
    assert ports <= listening_ports()
    wedged = int(read(os.path.join(run, "matcher.0.child")))
    assert wedged in pids
    os.kill(wedged, signal.SIGSTOP)              # cannot act on SIGTERM now
    t0 = time.time()
    r = ops_stack("down", timeout=STOP_TIMEOUT * 6 + 60)
    took = time.time() - t0
    assert r.returncode == 0, r.stderr
    # the report says what happened
    assert f"{wedged}(matcher)" in r.stderr and "killed" in r.stderr, r.stderr
    assert "ports free" in r.stderr, r.stderr
    left = [p for p in pids if alive(p)]
    assert not left, f"still running after down: {left}\n{r.stderr}"
    assert not (ports & listening_ports()), r.stderr
    # bounded by the deadline (generous margin: the machine is shared)
    assert took < STOP_TIMEOUT * 4 + 30, took
    assert not glob.glob(os.path.join(run, "*.[0-9]*.pid"))
