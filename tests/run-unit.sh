#!/usr/bin/env bash
# Runs every unit-test binary given on the command line (cmocka), then prints
# one closing line "unit: N passed, N failed".
set -u
pass=0; fail=0; failed=()
for t in "$@"; do
  if "$t"; then pass=$((pass+1)); else fail=$((fail+1)); failed+=("$t"); fi
done
[ ${#failed[@]} -gt 0 ] && echo "unit: failed: ${failed[*]}"
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
