"""What the stack's supervisors say: restarts per service, read from
var/log/supervise.log (and its rotated copies, supervise.log.1 ...), where
scripts/supervise.sh writes one line per start, exit and stop:

    2026-11-29T13:46:15.000Z INFO supervise: matcher.0 started pid 4468
    2026-11-29T13:47:02.000Z INFO supervise: matcher.0 exited (signal 9), restarting (restart #1)
    2026-11-29T13:47:30.000Z INFO supervise: matcher.0 stopped

Use it to assert that nothing restarted during a test:

    before = stackinfo.restart_counts()
    ...  # the hostile part
    assert stackinfo.restarts_since(before) == {}
"""
import glob
import os
import re

_VAR = os.environ.get("VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "var"))
_EXIT = re.compile(r" INFO supervise: (\S+) exited \(([^)]*)\), restarting \(restart #(\d+)\)")


def _logs(var):
    """supervise.log and its rotated copies, oldest first."""
    base = os.path.join(var, "log", "supervise.log")
    rotated = sorted(glob.glob(base + ".[0-9]*"), key=lambda p: -int(p.rsplit(".", 1)[1]))
    return rotated + ([base] if os.path.exists(base) else [])


def restart_events(var=None):
    """Every restart the supervisors logged, oldest first: a list of
    (service, why, n) such as ("matcher.0", "signal 9", 1); `why` is
    "signal N" or "status N"."""
    out = []
    for path in _logs(var or _VAR):
        with open(path, errors="replace") as f:
            for line in f:
                m = _EXIT.search(line)
                if m:
                    out.append((m.group(1), m.group(2), int(m.group(3))))
    return out


def restart_counts(var=None):
    """{service instance ("rider-svc.0", ...): restarts logged so far}; a
    service that never restarted is absent."""
    counts = {}
    for name, _, _ in restart_events(var):
        counts[name] = counts.get(name, 0) + 1
    return counts


def restarts_since(before, var=None):
    """{service: restarts since `before` (a restart_counts() result)}, only
    the services that restarted meanwhile: {} when none did."""
    now = restart_counts(var)
    return {k: v - before.get(k, 0) for k, v in now.items() if v > before.get(k, 0)}
