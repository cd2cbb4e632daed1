"""Processes of the tests' own, beside the stack that tests/run-integration.sh
started: a comm-svc or a matcher a test runs itself (from build/bin, its log
under var/log), waited for until it answers /healthz and always stopped
again, also when the test fails; the /proc walk that finds the stack's
processes; and the small waits every test uses.

    with ownproc.service("comm-svc", port, "--queue-max", "64", redis_addr=side):
        ...                       # stopped here, whatever happened
    p = ownproc.start("matcher", port, "--lease-ms", "2000")
    try: ...
    finally: ownproc.stop(p)

Only the environment is read (PORT, VAR_DIR, BUILD_DIR, TICK_MS), so the
netns test can use it too."""
import contextlib
import glob
import os
import subprocess
import time

import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PORT = int(os.environ.get("PORT", "18080"))
REDIS_PORT = PORT + 1
VAR = os.environ.get("VAR_DIR", os.path.join(ROOT, "var"))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
TICK_MS = int(os.environ.get("TICK_MS", "1000"))


def wait_for(pred, timeout=10.0, interval=0.05):
    """Polls pred() until it is truthy; returns its value or None on timeout."""
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return None


def healthy(port):
    """The service on port answers /healthz with 200."""
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def listening(port):
    """The service on port answers /healthz at all (also 503: a store down)."""
    try:
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        return True
    except requests.RequestException:
        return False


def stop(p, grace=5):
    """SIGTERM, then SIGKILL if p has not exited within grace seconds."""
    p.terminate()
    try:
        p.wait(grace)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def start(name, port, *flags, redis_addr=None, log=None, wait=healthy, timeout=10):
    """Starts build/bin/<name> --port port --redis redis_addr (default the
    stack's Redis) with flags, its output appended to var/log/<log>.log
    (default <name>-<port>), and waits until wait(port) holds. Returns the
    Popen; the caller stops it with stop(). If it does not come up in
    timeout seconds it is stopped and the test fails."""
    os.makedirs(os.path.join(VAR, "log"), exist_ok=True)
    path = os.path.join(VAR, "log", (log or f"{name}-{port}") + ".log")
    with open(path, "a") as out:
        p = subprocess.Popen([os.path.join(BUILD, "bin", name), "--port", str(port), "--redis",
                              redis_addr or f"127.0.0.1:{REDIS_PORT}", *flags],
                             stdout=out, stderr=out)
    if not wait_for(lambda: p.poll() is not None or wait(port), timeout) or p.poll() is not None:
        stop(p)
        raise AssertionError(f"own {name} on port {port} did not come up (see {path})")
    return p


@contextlib.contextmanager
def service(name, port, *flags, **kw):
    """start() as a context: yields the Popen, stops it on the way out."""
    p = start(name, port, *flags, **kw)
    try:
        yield p
    finally:
        stop(p)


def matcher_flags(*flags, lease=False):
    """A matcher's flags beside the stack's: its tick, and --no-lease unless
    it is to compete for the lease (a standby)."""
    return (() if lease else ("--no-lease",)) + ("--tick-ms", str(TICK_MS)) + flags


# ---------------------------------------------------------------- /proc

def proc_stats():
    """(pid, fields of /proc/<pid>/stat after the command name) for every
    process that is not a zombie: fields[1] is the parent, fields[2] the
    process group."""
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            yield int(stat.split("/")[2]), fields


def alive(pid):
    """pid is a live process (not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children(pid):
    """The live child processes of pid."""
    return [p for p, fields in proc_stats() if int(fields[1]) == pid]


def in_group(pgid):
    """The live processes of process group pgid."""
    return [p for p, fields in proc_stats() if int(fields[2]) == pgid]


# ---------------------------------------------------------------- sockets

def read_to_close(s):
    """Everything the peer sends on socket s until it closes."""
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return buf
        buf += chunk
