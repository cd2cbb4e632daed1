#!/usr/bin/env bash
# guards.sh - every header of the repo has the one include-guard scheme:
#   #ifndef RS_<DIR>_<FILE>_H / #define RS_<DIR>_<FILE>_H / ... / #endif
# <DIR> is the header's top directory without "-svc" (LIB, MATCHER, BOT,
# COMM, RATING, INTAKE; TESTS for tests/unit), <FILE> its name without .h,
# both upper case with anything not a letter or digit as '_'.
# Run by `make test-unit`; prints each header whose guard differs and fails.
# Usage: tests/lint/guards.sh [--fix] [header...] (default: every header git
# tracks, or every *.h below the repo outside var/ and build/ without git).
# --fix rewrites a guard of another name (its #ifndef and #define lines
# only) and reports what it could not fix.
set -u
cd "$(dirname "$0")/../.." || exit 2

expected() {
	local path=$1 dir file
	dir=${path%%/*}
	[ "$dir" = "$path" ] && dir=TOP
	dir=${dir%-svc}
	file=$(basename "$path" .h)
	printf 'RS_%s_%s_H' "$dir" "$file" | tr 'a-z' 'A-Z' | tr -c 'A-Z0-9_\n' '_'
}

fix=0
if [ "${1:-}" = --fix ]; then
	fix=1
	shift
fi
if [ $# -gt 0 ]; then
	headers=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t headers < <(git ls-files --cached --others --exclude-standard '*.h')
else
	mapfile -t headers < <(find . -name '*.h' -not -path './var/*' -not -path './build*' \
		-not -path '*/node_modules/*' | sed 's|^\./||')
fi

bad=0
for h in "${headers[@]}"; do
	[ -f "$h" ] || continue
	want=$(expected "$h")
	# the first preprocessor lines must be the guard; the last one #endif
	mapfile -t pp < <(grep -E '^[[:space:]]*#' "$h")
	first=${pp[0]:-}
	second=${pp[1]:-}
	last=${pp[${#pp[@]}-1]:-}
	old=${first#\#ifndef }
	if [ $fix -eq 1 ] && [ "$first" = "#ifndef $old" ] && [ "$second" = "#define $old" ] &&
		[ "$old" != "$want" ] && [[ $old =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
		sed -i "0,/^#ifndef $old\$/s//#ifndef $want/; 0,/^#define $old\$/s//#define $want/" "$h"
		echo "guards: $h: $old -> $want"
		first="#ifndef $want"
		second="#define $want"
	fi
	if [ "$first" != "#ifndef $want" ] || [ "$second" != "#define $want" ] ||
		! [[ $last =~ ^#endif([[:space:]]*/\*.*\*/)?[[:space:]]*$ ]]; then
		echo "guards: $h: the guard must be #ifndef $want / #define $want ... #endif (found: ${first:-nothing})" >&2
		bad=1
	fi
done
[ $bad -eq 0 ] && echo "guards: ${#headers[@]} headers, one guard scheme"
exit $bad
