#!/usr/bin/env bash
# run.sh - two regions (west: x <= 0, east: x > 0), each a whole stack, behind
# the regional front (scripts/regions.sh); runs test_regions.py through the
# front and stops everything again, also on failure.
#   REGIONS_PORT=14080 (the regions' stacks on +100 and +200)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PORT=${REGIONS_PORT:-14080}
export VAR_DIR=$ROOT/var/regions-$PORT
export TICK_MS=${TEST_TICK_MS:-250}
export SCALE=1
export REGIONS="west:-1000000,-1000000,0,1000000 east:0,-1000000,1000000,1000000"
export BUILD_DIR=${BUILD_DIR:-$ROOT/build}
stopped=0
stop() { [ $stopped -eq 1 ] || { stopped=1; bash "$ROOT/scripts/regions.sh" down; }; }
trap stop EXIT
trap 'exit 130' INT TERM
bash "$ROOT/scripts/regions.sh" down >/dev/null 2>&1
rm -rf "$VAR_DIR"/region-*/redis "$VAR_DIR"/*/log
bash "$ROOT/scripts/regions.sh" up || { echo "0 passed, 1 failed"; exit 1; }
REGION_PORTS=$(bash "$ROOT/scripts/regions.sh" ports | tr '\n' ' ')
export REGION_PORTS
cd "$ROOT/tests/regions" || exit 1
/usr/bin/python3 -m pytest -q -p no:cacheprovider ${TESTS:-.}
