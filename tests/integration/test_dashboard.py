"""The dashboard in a real browser: runs tests/browser/dashboard.test.mjs
(Debian's chromium, headless, driven by playwright-core) against the suite's
stack. The script starts the bot for a few seconds, checks the page (live,
counters, matches, the map's pixels, top drivers, nothing sent but the
hello), saves $VAR_DIR/dashboard.png, kills comm-svc and checks the page
comes back to "live" by itself. Every process it starts is stopped, also on
failure: node runs in its own session and is killed with its group on a
timeout, and any chromium left on its profile directory is killed by pid."""
import os
import shutil
import signal
import subprocess
import tempfile

from conftest import PORT, ROOT

BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
SCRIPT = os.path.join(BROWSER_DIR, "dashboard.test.mjs")
VAR_DIR = os.environ.get("VAR_DIR", os.path.join(ROOT, "var"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TIMEOUT_S = 270     # includes the page staying live for 75 s


def ensure_node_modules():
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BROWSER_DIR, check=True,
                       timeout=300, env=dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1"))


def pids_using(profile):
    """Pids of processes whose command line names this profile directory."""
    needle = profile.encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if needle in f.read():
                    out.append(int(d))
        except OSError:
            pass
    return out


def kill_group(p, sig):
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass


def test_dashboard_in_chromium():
    assert shutil.which("node"), "node is missing (scripts/deps.sh installs it)"
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing (scripts/deps.sh installs it)"
    ensure_node_modules()
    profile = tempfile.mkdtemp(prefix="dash-chromium-")
    env = dict(os.environ, PORT=str(PORT), VAR_DIR=VAR_DIR, PROFILE_DIR=profile,
               CHROMIUM=CHROMIUM, TEST_TIMEOUT_S=str(TIMEOUT_S - 30))
    p = subprocess.Popen(["node", SCRIPT], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, start_new_session=True)
    out = ""
    try:
        out, _ = p.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        kill_group(p, signal.SIGTERM)          # node closes the browser and the bot
        try:
            out, _ = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            kill_group(p, signal.SIGKILL)
            out, _ = p.communicate()
        out += f"\n(timed out after {TIMEOUT_S} s)"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        # whatever node left in its group (the bot) goes too
        kill_group(p, signal.SIGKILL)
        # chromium runs in a process group of its own: make sure it is gone
        for pid in pids_using(profile):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(profile, ignore_errors=True)
    print(out)
    assert p.returncode == 0, out[-6000:]
    assert os.path.exists(os.path.join(VAR_DIR, "dashboard.png"))
