"""The bot against the running stack, through nginx: it sends what it says,
everything is accepted on a healthy stack, Redis holds what was accepted,
and, when the matcher, comm-svc and rating-svc are built, fares arrive on its
websocket and every fare with a token is rated. Also its flags and its
behaviour with nothing listening."""
import json
import os
import socket
import subprocess

import pytest

from conftest import BASE, ROOT

BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
BOT = os.path.join(BUILD, "bin", "bot")


def built(name):
    return os.access(os.path.join(BUILD, "bin", name), os.X_OK)


def run_bot(*args, timeout=60):
    p = subprocess.run([BOT, *args], capture_output=True, text=True, timeout=timeout)
    return p


def bot_json(*args):
    p = run_bot("--json", "--progress-s", "0", *args)
    assert p.returncode == 0, p.stderr
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    assert len(lines) == 1, p.stdout
    return json.loads(lines[0]), p.stderr


@pytest.fixture(scope="module")
def run3():
    """One 3-second run at the default 50 + 50 per second, with Redis'
    requests stream measured around it."""
    import redis as redislib
    from conftest import REDIS_PASSWORD, REDIS_PORT
    r = redislib.Redis(host="127.0.0.1", port=REDIS_PORT, password=REDIS_PASSWORD, decode_responses=True)
    before = r.xlen("requests")
    last = r.xrevrange("requests", count=1)
    last_id = last[0][0] if last else "0-0"
    out, err = bot_json("--duration", "3", "--drain-ms", "3000", "--url", BASE,
                        "--client-id", "itest-bot")
    after = r.xlen("requests")
    entries = r.xrange("requests", "(" + last_id, "+")
    r.close()
    return out, err, before, after, entries


def test_requests_all_accepted(run3):
    out, err, *_ = run3
    assert out["sent"] > 0
    # 3 s at 100/s: about 300, allowing for a slow start
    assert out["sent"] >= 200, out
    assert out["accepted"] == out["sent"], out
    assert out["rejected"] == 0 and out["transport_errors"] == 0, out
    assert out["riders"]["sent"] + out["drivers"]["sent"] == out["sent"]
    assert out["riders"]["sent"] > 0 and out["drivers"]["sent"] > 0
    assert out["client_id"] == "itest-bot"
    assert out["http_latency_ms"]["count"] >= out["sent"]


def test_redis_holds_what_was_accepted(run3):
    out, err, before, after, entries = run3
    ours = [e for e in entries if json.loads(e[1]["json"]).get("client_id") == "itest-bot"]
    assert len(ours) == out["accepted"]
    kinds = [e[1]["kind"] for e in ours]
    assert kinds.count("rider") == out["riders"]["accepted"]
    assert kinds.count("driver") == out["drivers"]["accepted"]
    doc = json.loads(ours[-1][1]["json"])
    assert doc["name"] and 0 <= doc["location"]["x"] < 1000 and 0 <= doc["location"]["y"] < 1000


@pytest.mark.skipif(not (built("matcher") and built("comm-svc")),
                    reason="fares need the matcher and comm-svc, not built on this branch yet")
def test_fares_arrive(run3):
    out, *_ = run3
    assert out["ws"]["connects"] >= 1, out
    assert out["ws"]["bad_messages"] == 0, out
    assert out["matched"] > 0, out
    assert out["fares_with_token"] > 0, out
    assert out["match_latency_ms"]["count"] > 0
    # a request waits at most its 5 s TTL; the fare comes within a tick or so after
    assert out["match_latency_ms"]["max"] < 7000, out


@pytest.mark.skipif(not (built("matcher") and built("comm-svc") and built("rating-svc")),
                    reason="ratings need the matcher, comm-svc and rating-svc, not built on this branch yet")
def test_every_token_rated(run3):
    out, *_ = run3
    assert out["ratings"]["sent"] == out["fares_with_token"], out
    assert out["ratings"]["accepted"] == out["fares_with_token"], out
    assert out["ratings"]["rejected"] == 0 and out["ratings"]["transport_errors"] == 0, out


def test_open_loop_and_rates():
    out, _ = bot_json("--duration", "2", "--open-loop", "--rate-riders", "200", "--rate-drivers", "100",
                      "--no-ws", "--drain-ms", "0", "--url", BASE)
    assert out["config"]["open_loop"] is True
    assert out["config"]["target_rate_per_s"] == 300
    # on schedule: about 2 s x 300/s
    assert 450 <= out["sent"] + out["unsent"] <= 700, out
    assert out["riders"]["sent"] > out["drivers"]["sent"]
    assert out["accepted"] == out["sent"], out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_nothing_listening_counts_transport_errors():
    out, _ = bot_json("--duration", "1", "--riders", "5", "--drivers", "5", "--drain-ms", "0",
                      "--url", f"http://127.0.0.1:{free_port()}")
    assert out["sent"] > 0
    assert out["accepted"] == 0
    assert out["transport_errors"] == out["sent"], out
    assert out["ws"]["connects"] == 0


def test_text_summary_and_help():
    p = run_bot("--duration", "1", "--riders", "2", "--drivers", "2", "--no-ws", "--drain-ms", "0",
                "--url", BASE)
    assert p.returncode == 0, p.stderr
    assert "bot summary" in p.stdout and "match latency" in p.stdout
    p = run_bot("--help")
    assert p.returncode == 0 and "--open-loop" in p.stdout and "--riders" in p.stdout
    p = run_bot("--no-such-flag")
    assert p.returncode == 2
    p = run_bot("--url", "ftp://x", "--duration", "1")
    assert p.returncode == 2


def test_sigint_prints_summary():
    p = subprocess.Popen([BOT, "--json", "--progress-s", "0", "--riders", "10", "--drivers", "10",
                          "--url", BASE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        import time
        time.sleep(1.5)
        p.send_signal(2)
        out, err = p.communicate(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    doc = json.loads(out)
    assert doc["sent"] > 0 and doc["accepted"] == doc["sent"]


@pytest.mark.skipif(not (built("matcher") and built("comm-svc") and built("rating-svc")),
                    reason="fares need the matcher, comm-svc and rating-svc")
def test_accounting_on_a_healthy_stack(run3):
    out, *_ = run3
    rf = out["riders_fate"]
    assert rf["accepted"] == out["riders"]["accepted"], out
    assert rf["lost"] == 0 and rf["fared"] + rf["waiting"] + rf["expired_unmatched"] == rf["accepted"], out
    assert out["drivers_fate"]["accepted"] == out["drivers"]["accepted"], out
    assert out["fares_unrated"] == 0, out
    assert out["ws"]["closes_by_code"] == {} and out["ws"]["liveness_closes"] == 0, out
    assert out["strict"]["enabled"] is False and out["strict"]["ok"] is True, out


@pytest.mark.skipif(not (built("matcher") and built("comm-svc")),
                    reason="fares need the matcher and comm-svc")
def test_quality_figures_agree_with_the_account(run3):
    """The summary's quality figures are the account's counts seen as shares,
    and one pickup distance per distinct ride (every match carries one)."""
    out, *_ = run3
    q, rf, df = out["quality"], out["riders_fate"], out["drivers_fate"]
    assert q["pairs"] == out["matched"] > 0, out
    # the bot's points are in [0, 1000)^2: no pickup is longer than the diagonal
    assert 0 < q["pickup"]["mean"] < 1415 and 0 < q["pickup"]["p95"] < 1415, q
    assert q["riders"]["matched"] == rf["fared"], q
    assert q["riders"]["expired"] == rf["lost"] + rf["expired_unmatched"], q
    assert q["drivers"]["matched"] == df["matched"] and q["drivers"]["expired"] == df["no_fare"], q
    for side in ("riders", "drivers"):
        s = q[side]
        done = s["matched"] + s["expired"]
        assert s["matched_share"] == (round(s["matched"] / done, 4) if done else None), q
        # one 202 -> match time per request of ours with both, within the TTL
        assert 0 < s["wait_ms"]["count"] <= s["matched"], q
        assert 0 <= s["wait_ms"]["p50"] <= s["wait_ms"]["p99"] <= 5000 * 1.04, q


def test_strict_fails_when_fares_never_come():
    """No websocket (a path nginx answers 404): every rider of ours goes
    without its fare while drivers of ours were free beside it: lost, not
    expired; --strict waits for them to settle, then exits 3."""
    p = run_bot("--json", "--progress-s", "0", "--strict", "--duration", "2", "--riders", "20", "--drivers", "20",
                "--url", BASE, "--ws-path", "/no-such-websocket", timeout=60)
    assert p.returncode == 3, (p.returncode, p.stdout, p.stderr[-2000:])
    out = json.loads(p.stdout)
    rf = out["riders_fate"]
    assert rf["accepted"] >= 20 and rf["fared"] == 0, out
    assert rf["lost"] == rf["accepted"] and rf["waiting"] == 0, out
    assert out["drivers_fate"]["no_fare"] == out["drivers_fate"]["accepted"], out
    assert out["strict"]["ok"] is False and "got no fare" in out["strict"]["why"], out
    assert "cannot connect" in p.stderr


@pytest.mark.skipif(not (built("matcher") and built("comm-svc") and built("rating-svc")),
                    reason="fares need the matcher, comm-svc and rating-svc")
def test_strict_riders_without_drivers_expire_unmatched():
    """Riders and no drivers of ours: those nobody else's driver takes expire
    unmatched, which is legitimate: --strict passes."""
    p = run_bot("--json", "--progress-s", "0", "--strict", "--duration", "2", "--riders", "20", "--drivers", "0",
                "--url", BASE, timeout=60)
    out = json.loads(p.stdout)
    rf = out["riders_fate"]
    assert p.returncode == 0, (out, p.stderr[-2000:])
    assert rf["accepted"] >= 20 and rf["lost"] == 0 and rf["waiting"] == 0, out
    assert rf["fared"] + rf["expired_unmatched"] == rf["accepted"], out
    assert out["strict"]["ok"] is True, out
