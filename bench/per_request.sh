#!/usr/bin/env bash
# bench/per_request.sh - what one request costs each process: CPU µs and
# syscalls per request, under wrk load (bench/post.lua).
#
#   bench/per_request.sh URL SECONDS STRACE_SECONDS COUNT_URL GROUP=PID[,PID...] ...
#
# 1. CPU: utime+stime of every pid of a group (/proc/PID/stat) before and
#    after a wrk run of SECONDS, divided by wrk's requests. No tracer is
#    attached, so this run's req/s is the throughput figure too. Beside it,
#    the time the group's threads were runnable but waited for a CPU
#    (/proc/PID/task/*/schedstat, field 2) per request: on a shared box that
#    says how much of the latency is other processes' load.
# 2. Syscalls: a second wrk run; meanwhile one `strace -c -f` per group for
#    STRACE_SECONDS (strace slows the processes, so neither CPU nor req/s
#    come from this window), divided by the requests served in that same
#    window: the delta of http_requests_total on COUNT_URL (a service's
#    /metrics; a request through nginx reaches it once).
# Prints one JSON object on stdout; notes on stderr. Needs wrk and strace;
# strace needs ptrace rights over the pids (root, or the same user with
# kernel.yama.ptrace_scope=0). Without strace the syscalls part is null.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 5 ] || { sed -n '2,20p' "$0" >&2; exit 2; }
URL=$1 S=$2 TS=$3 COUNT_URL=$4
shift 4
CLK_TCK=$(getconf CLK_TCK)
TMP=$(mktemp -d)
spids=()
cleanup() {
	local p
	for p in "${spids[@]}"; do kill -INT "$p" 2>/dev/null; done
	[ -n "${wrk_pid:-}" ] && kill "$wrk_pid" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

names=() pidlists=()
for g in "$@"; do
	names+=("${g%%=*}")
	pidlists+=("$(echo "${g#*=}" | tr ',' ' ')")
done

ticks() { # pids... -> utime+stime summed, in clock ticks
	local p t=0 st
	for p in "$@"; do
		st=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		st=${st##*) }
		t=$((t + $(echo "$st" | awk '{print $12 + $13}')))
	done
	echo $t
}
waitns() { # pids... -> run-queue wait of all their threads, ns
	local p f w=0 a b c
	for p in "$@"; do
		for f in /proc/"$p"/task/*/schedstat; do
			read -r a b c < "$f" 2>/dev/null || continue
			w=$((w + b))
		done
	done
	echo $w
}
count() { curl -s --max-time 2 "$COUNT_URL" | awk '/^http_requests_total /{print $2; f=1} END{if(!f)print -1}'; }
wrkjson() { sed -n 's/^WRKJSON //p' "$1"; }

# ---- 1. CPU per request, no tracer
t0=() w0=()
for i in "${!names[@]}"; do
	t0+=("$(ticks ${pidlists[$i]})")
	w0+=("$(waitns ${pidlists[$i]})")
done
wrk -t2 -c64 -d"${S}s" -s "$ROOT/bench/post.lua" "$URL" > "$TMP/wrk1" 2>&1
j1=$(wrkjson "$TMP/wrk1")
[ -n "$j1" ] || { echo "per_request: wrk failed: $(tail -2 "$TMP/wrk1")" >&2; exit 1; }
n1=$(echo "$j1" | sed 's/.*"requests":\([0-9]*\).*/\1/')
d1=$(echo "$j1" | sed 's/.*"duration_us":\([0-9]*\).*/\1/')
cpu="{"
for i in "${!names[@]}"; do
	t1=$(ticks ${pidlists[$i]})
	wt1=$(waitns ${pidlists[$i]})
	[ "$i" -gt 0 ] && cpu+=","
	cpu+=$(awk -v n="${names[$i]}" -v a="${t0[$i]}" -v b="$t1" -v h="$CLK_TCK" -v r="$n1" \
		-v wa="${w0[$i]}" -v wb="$wt1" \
		'BEGIN{s=(b-a)/h; w=(wb-wa)/1e9; printf "\"%s\":{\"cpu_s\":%.2f,\"cpu_us_per_req\":%.2f,\"runq_wait_s\":%.2f,\"runq_wait_us_per_req\":%.2f}", n, s, (r > 0) ? s*1e6/r : 0, w, (r > 0) ? w*1e6/r : 0}')
done
cpu+="}"

# ---- 2. syscalls per request, under strace
sys=null
if command -v strace >/dev/null; then
	wrk -t2 -c64 -d"$((TS + 3))s" -s "$ROOT/bench/post.lua" "$URL" > "$TMP/wrk2" 2>&1 &
	wrk_pid=$!
	sleep 1
	c0=$(count)
	for i in "${!names[@]}"; do
		args=()
		for p in ${pidlists[$i]}; do args+=(-p "$p"); done
		strace -c -f -o "$TMP/strace.$i" "${args[@]}" 2>/dev/null &
		spids+=($!)
	done
	sleep "$TS"
	for p in "${spids[@]}"; do kill -INT "$p" 2>/dev/null; done
	wait "${spids[@]}" 2>/dev/null
	spids=()
	c1=$(count)
	wait "$wrk_pid" 2>/dev/null
	wrk_pid=
	reqs=$((c1 - c0))
	if [ "$c0" -ge 0 ] && [ "$reqs" -gt 0 ]; then
		sys="{\"requests\":$reqs,\"seconds\":$TS,\"groups\":{"
		for i in "${!names[@]}"; do
			[ "$i" -gt 0 ] && sys+=","
			# rows: % time, seconds, usecs/call, calls, [errors,] syscall
			sys+=$(awk -v n="${names[$i]}" -v r="$reqs" '
				$NF == "total" { total = $4; next }
				$1 ~ /^[0-9.]+$/ && NF >= 5 { calls[$NF] = $4; errs[$NF] = (NF == 6 ? $5 : 0) }
				END {
					# no summary: strace could not attach (no ptrace rights)
					if (total == "") { printf "\"%s\":null", n; exit }
					printf "\"%s\":{\"per_req\":%.2f,\"calls\":%d,\"by_call\":{", n, total / r, total
					sep = ""
					for (c in calls) if (calls[c] / r >= 0.05) {
						printf "%s\"%s\":{\"per_req\":%.2f,\"errors_per_req\":%.2f}", sep, c, calls[c] / r, errs[c] / r
						sep = ","
					}
					printf "}}"
				}' "$TMP/strace.$i")
		done
		sys+="}}"
	else
		echo "per_request: no request count from $COUNT_URL: syscalls not measured" >&2
	fi
fi
printf '{"wrk":%s,"req_per_s":%s,"cpu":%s,"syscalls":%s}\n' "$j1" \
	"$(awk -v n="$n1" -v d="$d1" 'BEGIN{printf "%.0f", (d > 0) ? n / (d / 1e6) : 0}')" "$cpu" "$sys"
