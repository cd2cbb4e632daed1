#!/usr/bin/env bash
# bench/profile.sh - where the time goes: starts its own stack (PORT, default
# 15080; data in var/bench/stack), drives it with one load, records every
# process with `perf record -g` meanwhile, and writes `perf report --stdio`
# summaries (top entries) to var/bench/perf/<load>-<process>.txt, plus each
# process's CPU seconds. Stops everything it started on exit.
#
#   bench/profile.sh latency   the bot, open loop, PROFILE_RATE req/s (5000) at TICK_MS (10)
#   bench/profile.sh ingest    wrk POST /rider (bench/post.lua), 64 connections
#   bench/profile.sh fanout    ws_fanout: 1000 viewers through nginx, PROFILE_MATCHES/s (200)
#   PROFILE_S=10 seconds recorded
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
WHAT=${1:-latency}
export PORT=${BENCH_PORT:-15080} VAR_DIR=${BENCH_OUT:-$ROOT/var/bench}/stack BUILD_DIR=${BUILD_DIR:-$ROOT/build}
export TICK_MS=${TICK_MS:-10} LOG_LEVEL=${LOG_LEVEL:-warn}
OUT=${BENCH_OUT:-$ROOT/var/bench}/perf
S=${PROFILE_S:-10}
RATE=${PROFILE_RATE:-5000}
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)" 2>/dev/null
load_pid=
cleanup() {
	[ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null
	bash "$ROOT/scripts/stack.sh" down >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bash "$ROOT/scripts/stack.sh" down >/dev/null 2>&1
rm -rf "$VAR_DIR/redis" "$VAR_DIR/log"
bash "$ROOT/scripts/stack.sh" up >"$OUT/stack.log" 2>&1 || { echo "profile: stack did not start" >&2; exit 1; }

case $WHAT in
latency) "$BUILD_DIR/bin/bot" --open-loop --rate-riders $((RATE / 2)) --rate-drivers $((RATE / 2)) \
		--duration $((S + 4)) --connections 32 --max-inflight 2000 --progress-s 0 --json >"$OUT/$WHAT-load.json" 2>/dev/null & ;;
ingest) wrk -t2 -c64 -d$((S + 4))s -s bench/post.lua "http://127.0.0.1:$PORT/rider" >"$OUT/$WHAT-load.txt" 2>&1 & ;;
fanout) "$BUILD_DIR/bench/ws_fanout" --url "ws://127.0.0.1:$PORT/communication" --redis "127.0.0.1:$((PORT + 1))" \
		--connections 1000 --rate "${PROFILE_MATCHES:-200}" --duration $((S + 4)) --json >"$OUT/$WHAT-load.json" 2>&1 & ;;
*) echo "usage: $0 latency|ingest|fanout" >&2; exit 2 ;;
esac
load_pid=$!
sleep 3
echo "loadavg $(cat /proc/loadavg)" > "$OUT/$WHAT-summary.txt"
pids=()
names=()
for n in rider-svc driver-svc rating-svc comm-svc matcher; do
	sup=$(cat "$VAR_DIR/run/$n.0.pid" 2>/dev/null) || continue
	p=$(pgrep -P "$sup" | head -1) && { pids+=("$p"); names+=("$n"); }
done
pids+=("$(cat "$VAR_DIR/run/redis.pid")"); names+=(redis)
for p in $(pgrep -P "$(cat "$VAR_DIR/run/nginx.pid")"); do pids+=("$p"); names+=("nginx-worker-$p"); done
rec=()
for i in "${!pids[@]}"; do
	perf record -q -g -o "$OUT/$WHAT-${names[$i]}.data" -p "${pids[$i]}" -- sleep "$S" >/dev/null 2>&1 &
	rec+=($!)
done
t0=()
for p in "${pids[@]}"; do t0+=("$(awk '{print $14+$15}' "/proc/$p/stat")"); done
wait "${rec[@]}"
for i in "${!pids[@]}"; do
	t1=$(awk '{print $14+$15}' "/proc/${pids[$i]}/stat" 2>/dev/null || echo 0)
	printf '%-22s cpu %.2f s in %s s\n' "${names[$i]}" "$(echo "(${t1} - ${t0[$i]}) / $(getconf CLK_TCK)" | bc -l)" "$S" >> "$OUT/$WHAT-summary.txt"
	perf report -i "$OUT/$WHAT-${names[$i]}.data" --stdio --no-children --percent-limit 2 -g none \
		2>/dev/null | grep -v '^$' | head -40 > "$OUT/$WHAT-${names[$i]}.txt"
done
wait "$load_pid" 2>/dev/null
load_pid=
cat "$OUT/$WHAT-summary.txt"
echo "profile: reports in $OUT/$WHAT-*.txt"
