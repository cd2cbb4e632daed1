#!/usr/bin/env bash
# soak.sh - what `make soak` does: its own stack (SOAK_PORT, default 16080;
# data in var/soak), the bot at its defaults (50 riders + 50 drivers per
# second, one websocket, through nginx) with --strict for SOAK_MINUTES
# (default 10), and bench/soak.py sampling every SOAK_INTERVAL (10) seconds
# the memory of every process, Redis, the streams and the logs. At the end:
# a table, var/soak/report.json + samples.json + bot.json, and exit 1 when
# anything grows without bound or the bot's --strict check fails (the rule is
# in bench/soak.py). The stack is stopped afterwards, also on failure or
# Ctrl-C.
#   SOAK_MINUTES=10 SOAK_PORT=16080 SOAK_INTERVAL=10 TICK_MS=1000 BUILD_DIR=build
#   SOAK_LOG_MAX_BYTES=256K (LOG_MAX_BYTES of the soak stack; LOG_KEEP 3): small,
#   so that within minutes the logs reach their cap and the rotation is seen to
#   hold them (the stack's default, 10M x 4 per log, takes hours to fill)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MIN=${SOAK_MINUTES:-10}
export PORT=${SOAK_PORT:-16080}
export VAR_DIR=${SOAK_VAR_DIR:-$ROOT/var/soak}
export TICK_MS=${TICK_MS:-1000}
export BUILD_DIR=${BUILD_DIR:-$ROOT/build}
INTERVAL=${SOAK_INTERVAL:-10}
export LOG_MAX_BYTES=${SOAK_LOG_MAX_BYTES:-256K}
export LOG_KEEP=${LOG_KEEP:-3}
case "$LOG_MAX_BYTES" in
*[Kk]) LOG_CAP=$(( ${LOG_MAX_BYTES%?} * 1024 )) ;;
*[Mm]) LOG_CAP=$(( ${LOG_MAX_BYTES%?} * 1048576 )) ;;
*[Gg]) LOG_CAP=$(( ${LOG_MAX_BYTES%?} * 1073741824 )) ;;
*) LOG_CAP=$LOG_MAX_BYTES ;;
esac
LOG_CAP=$(( LOG_CAP * (LOG_KEEP + 1) ))
OUT=$VAR_DIR
BOT_PID=
SAMPLER_PID=
stopped=0
stop() {
	[ $stopped -eq 1 ] && return
	stopped=1
	[ -n "$BOT_PID" ] && kill -INT "$BOT_PID" 2>/dev/null
	[ -n "$SAMPLER_PID" ] && { sleep 1; kill "$SAMPLER_PID" 2>/dev/null; }
	[ -n "$BOT_PID" ] && { sleep 0.5; kill -KILL "$BOT_PID" 2>/dev/null; }
	bash "$ROOT/scripts/stack.sh" down
}
trap stop EXIT
trap 'echo "soak: interrupted"; exit 130' INT TERM

case "$MIN" in ''|*[!0-9]*) echo "soak: SOAK_MINUTES must be a whole number of minutes" >&2; exit 2 ;; esac
[ "$MIN" -ge 1 ] || { echo "soak: SOAK_MINUTES must be at least 1" >&2; exit 2; }
echo "soak: $MIN min, PORT=$PORT TICK_MS=$TICK_MS VAR_DIR=$VAR_DIR, sampling every $INTERVAL s, logs rotated at $LOG_MAX_BYTES x $((LOG_KEEP + 1))"
bash "$ROOT/scripts/stack.sh" down >/dev/null 2>&1
# a fresh start: no data or logs from an earlier run
rm -rf "$VAR_DIR/redis" "$VAR_DIR/log" "$OUT"/{samples,report,bot}.json "$OUT/bot.rc"
bash "$ROOT/scripts/stack.sh" up || exit 1
mkdir -p "$VAR_DIR/log"

( "$BUILD_DIR/bin/bot" --url "http://127.0.0.1:$PORT" --json --strict --duration $((MIN * 60)) \
	--client-id soak-bot >"$OUT/bot.json" 2>"$VAR_DIR/log/bot.log"; echo $? >"$OUT/bot.rc" ) &
sleep 0.2
# the bot itself (the subshell's child)
for _ in $(seq 50); do BOT_PID=$(pgrep -P $! -x bot | head -1); [ -n "$BOT_PID" ] && break; sleep 0.1; done
[ -n "$BOT_PID" ] || { echo "soak: the bot did not start (see $VAR_DIR/log/bot.log)"; exit 1; }
/usr/bin/python3 "$ROOT/bench/soak.py" --var "$VAR_DIR" --port "$PORT" --bot-pid "$BOT_PID" \
	--bot-json "$OUT/bot.json" --bot-rc "$OUT/bot.rc" --interval "$INTERVAL" --out "$OUT" --log-cap "$LOG_CAP" &
SAMPLER_PID=$!
wait "$SAMPLER_PID"
rc=$?
SAMPLER_PID=
BOT_PID=
wait
exit $rc
