#!/usr/bin/env bash
# run-integration.sh - starts a fresh stack on the test port (TEST_PORT,
# default 18080, data in var/test-PORT), runs the pytest suite under
# tests/integration against it through nginx, and stops the stack again,
# also when a test fails or the run is interrupted.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PORT=${TEST_PORT:-18080}
export VAR_DIR=${TEST_VAR_DIR:-$ROOT/var/test-$PORT}
export TICK_MS=${TEST_TICK_MS:-250}
export BUILD_DIR=${BUILD_DIR:-$ROOT/build}
export RATE_LIMIT=${RATE_LIMIT:-50}
cleanup() { bash "$ROOT/scripts/stack.sh" down; }
trap cleanup EXIT
trap 'exit 130' INT TERM
bash "$ROOT/scripts/stack.sh" down >/dev/null 2>&1
# a fresh start: no data from an earlier run
rm -rf "$VAR_DIR/redis" "$VAR_DIR/log"
bash "$ROOT/scripts/stack.sh" up || exit 1
cd "$ROOT/tests/integration" || exit 1
/usr/bin/python3 -m pytest -q -p no:cacheprovider ${TESTS:-.}
