#!/usr/bin/env bash
# run.sh - what `make run` does after `make up`: prints the dashboard's URL
# and what runs where, then runs the bot in the foreground with its defaults
# against the stack until Ctrl-C, and its summary.
#   PORT=8080         the stack's public port
#   BUILD_DIR=build   where the bot binary is
#   BOT_ARGS="..."    extra flags for the bot (see build/bin/bot --help)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${PORT:-8080}
BUILD=${BUILD_DIR:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac

echo
echo "dashboard:  http://127.0.0.1:$PORT/"
echo "public API: http://127.0.0.1:$PORT/rider, /driver, /rating, ws://127.0.0.1:$PORT/communication"
echo
bash "$ROOT/scripts/stack.sh" status
echo
echo "bot: $BUILD/bin/bot --url http://127.0.0.1:$PORT ${BOT_ARGS:-} (Ctrl-C stops it and prints its summary;"
echo "     the stack keeps running: 'make down' stops it)"
echo
# exec: the bot is the only process here, so Ctrl-C reaches it once; it
# handles SIGINT on its loop (stops sending, awaits replies in flight, prints
# its summary, exits 0). A second Ctrl-C exits at once.
# shellcheck disable=SC2086
exec "$BUILD/bin/bot" --url "http://127.0.0.1:$PORT" ${BOT_ARGS:-}
