#!/usr/bin/env bash
# run.sh - runs the libFuzzer harnesses built into FUZZ_BUILD (build-fuzz).
#   fuzz/run.sh fuzz  [NAME...]   fuzz each for FUZZ_SECONDS (default 60) on a
#                                 scratch copy of its corpus (var/fuzz/NAME);
#                                 crashes land in var/fuzz/NAME-artifacts/
#   fuzz/run.sh corpus [NAME...]  run each over its committed corpus once
#                                 (regressions; a few seconds; part of make test)
# Fails when a harness finds a crash, a sanitizer report, a leak or a timeout.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FB=${FUZZ_BUILD:-$ROOT/build-fuzz}
SECS=${FUZZ_SECONDS:-60}
mode=${1:-corpus}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(validate wsmsg http_parse hub http_server)
out=$ROOT/var/fuzz
mkdir -p "$out"
rc=0
for n in "${names[@]}"; do
	bin=$FB/fuzz_$n
	corpus=$ROOT/fuzz/corpus/$n
	dict=()
	[ -f "$ROOT/fuzz/$n.dict" ] && dict=(-dict="$ROOT/fuzz/$n.dict")
	[ -x "$bin" ] || { echo "fuzz: $bin not built"; rc=1; continue; }
	if [ "$mode" = corpus ]; then
		files=("$corpus"/*)
		if "$bin" -timeout=10 -rss_limit_mb=2048 "${files[@]}" >"$out/$n-corpus.log" 2>&1; then
			echo "fuzz: $n: ${#files[@]} corpus inputs ok"
		else
			echo "fuzz: $n: FAILED on its corpus (log: $out/$n-corpus.log)"
			tail -40 "$out/$n-corpus.log"
			rc=1
		fi
	else
		rm -rf "$out/$n"
		cp -r "$corpus" "$out/$n"
		mkdir -p "$out/$n-artifacts"
		if "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			"${dict[@]}" -artifact_prefix="$out/$n-artifacts/" "$out/$n" >"$out/$n.log" 2>&1; then
			execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$n.log" | grep -o '[0-9]*$')
			cov=$(grep -o 'cov: [0-9]*' "$out/$n.log" | tail -1)
			echo "fuzz: $n: ${SECS}s, ${execs:-?} execs, $cov, no findings"
		else
			echo "fuzz: $n: FINDING (log: $out/$n.log; input in $out/$n-artifacts/)"
			grep -m1 -A30 -E "ERROR:|runtime error|deadly signal" "$out/$n.log"
			rc=1
		fi
	fi
done
exit $rc
