#!/usr/bin/env bash
# run-integration.sh - starts a fresh stack on the test port (TEST_PORT,
# default 18080, data in var/test-PORT), runs the pytest suite under
# tests/integration against it through nginx, and stops the stack again,
# also when a test fails or the run is interrupted. Afterwards the services'
# logs are scanned: a sanitizer report (ASan, UBSan, LSan at exit) fails the
# run even when every test passed.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PORT=${TEST_PORT:-18080}
export VAR_DIR=${TEST_VAR_DIR:-$ROOT/var/test-$PORT}
export TICK_MS=${TEST_TICK_MS:-250}
export BUILD_DIR=${BUILD_DIR:-$ROOT/build}
export RATE_LIMIT=${RATE_LIMIT:-50}
# SCALE instances of each service (SCALE>=2: two matchers, active + standby);
# a short lease so that a standby takes over within 3 s (test_failover.py)
export SCALE=${SCALE:-1}
export LEASE_MS=${TEST_LEASE_MS:-1500}
echo "integration: PORT=$PORT SCALE=$SCALE TICK_MS=$TICK_MS LEASE_MS=$LEASE_MS"
# sanitizer builds: report and go on (the scan below fails the run); no
# symbolizer noise
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
stopped=0
stop() { [ $stopped -eq 1 ] || { stopped=1; bash "$ROOT/scripts/stack.sh" down; }; }
trap stop EXIT
trap 'exit 130' INT TERM
bash "$ROOT/scripts/stack.sh" down >/dev/null 2>&1
# a fresh start: no data or logs from an earlier run
rm -rf "$VAR_DIR/redis" "$VAR_DIR/log"
bash "$ROOT/scripts/stack.sh" up || exit 1
cd "$ROOT/tests/integration" || exit 1
# shellcheck disable=SC2086
/usr/bin/python3 -m pytest -q -p no:cacheprovider ${TESTS:-.}
rc=$?
stop
if grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$VAR_DIR"/log/*.log "$VAR_DIR"/log/*.log.[0-9]* 2>/dev/null; then
	echo "integration: sanitizer reports in the logs above:"
	grep -h -B2 -A20 -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$VAR_DIR"/log/*.log "$VAR_DIR"/log/*.log.[0-9]* 2>/dev/null | head -120
	[ $rc -eq 0 ] && rc=1
fi
exit $rc
