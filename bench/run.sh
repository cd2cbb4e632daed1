#!/usr/bin/env bash
# bench/run.sh - `make bench`: measures the stack on this machine and writes
# the figures to BENCHMARKS.md and machine-readable JSON under var/bench/.
#
#   1. match latency (rider's 202 -> fare on its websocket), bot --open-loop,
#      at matcher ticks 1000/100/10 ms and offered loads of 1k, 3k and 5k req/s
#   2. ingest: POST /rider through nginx with wrk, against two ceilings
#      measured in the same run: nginx answering 202 itself, and nginx
#      proxying to an nginx upstream that answers 202; then CPU µs and
#      syscalls per request of rider-svc, nginx and Redis (bench/per_request.sh)
#   3. matcher time per tick at N = 1e3..1e6 (build/bench/bench_matcher)
#   3b. matching quality (bench/bench_quality.py): total and p95 pickup
#      distance of closest pair first and naive per-rider nearest against the
#      exact minimum total, uniform and clustered, N = 1e3 and 1e4 per side
#      (no stack; alone: BENCH_SECTIONS=quality)
#   4. websocket fan-out to 1000 sockets through nginx (build/bench/ws_fanout):
#      comm-svc per-message and batched (hello "batch":true), and Debian's nchan
#      (libnginx-mod-nchan; its own nginx on BENCH_NCHAN_PORT, default PORT+70,
#      publisher by HTTP POST) with the same client, same rates, same run; and
#      both comm-svc modes straight at comm-svc (message-direct, batch-direct:
#      nginx's share); CPU seconds per process group before and after each run
#   5. CPU seconds and peak RSS of every process during part 1; idle RSS
#   6. ratings: POST /rating through nginx (wrk, bench/rating.lua) at 1, 8
#      and 64 clients, rating-svc with --batch-max 1 (one INSERT each) and
#      256 (group commit), with pgbench's single-row and batched (64 rows a
#      transaction, pipelined) INSERT rates into the same Postgres as references
#   7. replay: a committed trace (bench/traces/, BENCH_REPLAY_TRACE, default
#      steady: 50 + 50 req/s), its first REPLAY_S seconds, replayed by the bot
#      (--replay --strict --json) at ticks 1000/100/10 ms under both policies
#      (closest pair first, MATCHER_POLICY=min-total), the services restarted
#      per (tick, policy): match latency and the quality figures of each
#      (full: 20 s of trace, ~3 min for the six runs; quick 8 s, ~75 s; smoke 2 s at tick 100)
#   8. stall: the matcher's longest loop stall while it ingests and pairs
#      STALL_N (1e5) riders and drivers (bench/loop_stall.py), on fresh
#      services at tick 100 ms, BENCH_RUNS times
#
# It starts its own stack (PORT=BENCH_PORT, default 15080; data in
# var/bench/stack) and its own ceiling nginxes (PORT+60..62), and stops all
# of them on exit, also on failure or Ctrl-C. Never fails on slow figures.
#
#   BENCH_QUICK=1   one run of each, short durations (a few minutes)
#   BENCH_SMOKE=1   tiny version for `make bench-smoke`: seconds long, writes
#                   to var/bench-smoke/ (not BENCHMARKS.md) and checks the JSON
#   BENCH_RUNS, BENCH_TICKS, BENCH_RATES, BENCH_SECTIONS="matcher quality fanout ingest latency ratings replay stall",
#   BENCH_FAN_RATES (matches/s offered), BENCH_FAN_MODES="message batch nchan", BENCH_NCHAN_PORT
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD_DIR:-$ROOT/build}
MODE=full
[ "${BENCH_QUICK:-0}" = 1 ] && MODE=quick
[ "${BENCH_SMOKE:-0}" = 1 ] && MODE=smoke

case $MODE in
full)
	RUNS=${BENCH_RUNS:-3}; LAT_S=10; ING_S=10; FAN_S=10; FAN_RATES=${BENCH_FAN_RATES:-"200 400 600"}
	FAN_CONN=1000; MAXN=1000000; M_RUNS=3; RATES=${BENCH_RATES:-"1000 3000 5000"}
	TICKS=${BENCH_TICKS:-"1000 100 10"}; INFO_RUN=1; WRK_C=64
	PORT=${BENCH_PORT:-15080}; OUT=${BENCH_OUT:-$ROOT/var/bench}
	RAT_S=10; RAT_N=600000 Q_SIZES=1000,10000 REPLAY_S=20 STALL_N=100000 ;;
quick)
	RUNS=${BENCH_RUNS:-1}; LAT_S=4; ING_S=3; FAN_S=3; FAN_RATES=${BENCH_FAN_RATES:-"400"}
	FAN_CONN=1000; MAXN=100000; M_RUNS=1; RATES=${BENCH_RATES:-"1000 3000 5000"}
	TICKS=${BENCH_TICKS:-"1000 100 10"}; INFO_RUN=0; WRK_C=64
	PORT=${BENCH_PORT:-15080}; OUT=${BENCH_OUT:-$ROOT/var/bench}
	RAT_S=3; RAT_N=100000 Q_SIZES=1000 REPLAY_S=8 STALL_N=100000 ;;
smoke)
	RUNS=1; LAT_S=1; ING_S=1; FAN_S=1; FAN_RATES="20"
	FAN_CONN=20; MAXN=1000; M_RUNS=1; RATES="200"; TICKS="100"; INFO_RUN=0; WRK_C=4
	PORT=${BENCH_PORT:-15180}; OUT=${BENCH_OUT:-$ROOT/var/bench-smoke}
	RAT_S=1; RAT_N=5000 Q_SIZES=200 REPLAY_S=2 STALL_N=2000 ;;
esac
SECTIONS=${BENCH_SECTIONS:-"matcher quality fanout ingest latency ratings replay stall"}
REDIS_PORT=$((PORT + 1))
SVAR=$OUT/stack
CEIL=$OUT/ceiling
NCHAN_DIR=$OUT/nchan
NCHAN_PORT=${BENCH_NCHAN_PORT:-$((PORT + 70))}
FAN_MODES=${BENCH_FAN_MODES:-"message batch nchan message-direct batch-direct"}
RAW=$OUT/raw.jsonl
CLK_TCK=$(getconf CLK_TCK)
export PORT VAR_DIR=$SVAR BUILD_DIR=$BUILD

log() { printf '%s bench: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# ------------------------------------------------------------ cleanup
stopped=0
cleanup() {
	[ $stopped -eq 1 ] && return
	stopped=1
	local f p
	for f in "$CEIL"/front/nginx.pid "$CEIL"/upstream/nginx.pid "$NCHAN_DIR"/nginx.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f" 2>/dev/null)
		[ -n "$p" ] && kill -QUIT "$p" 2>/dev/null
	done
	bash "$ROOT/scripts/stack.sh" down >/dev/null 2>&1
	log "stack stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT" "$CEIL"
rm -f "$RAW"
# services and load generators need a descriptor per socket
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# ------------------------------------------------------------ the machine
{
	printf '{"section":"machine","mode":"%s","date":"%s","nproc":%s,"cpu":"%s","kernel":"%s",' \
		"$MODE" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" \
		"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//;s/"//g')" "$(uname -sr)"
	printf '"mem_kb":%s,"loadavg_start":"%s","commit":"%s","runs":%s,"port":%s,"sections":"%s",' \
		"$(awk '/MemTotal/{print $2}' /proc/meminfo)" "$(load)" \
		"$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo +dirty)" "$RUNS" "$PORT" "$SECTIONS"
	printf '"versions":{"nginx":"%s","redis":"%s","wrk":"%s"}}\n' \
		"$(nginx -v 2>&1 | sed 's/.*\///')" "$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')" \
		"$(wrk -v 2>&1 | head -1 | awk '{print $2}')"
} >> "$RAW"

has() { case " $SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }

# ------------------------------------------------------------ 3. matcher
if has matcher; then
	log "matcher: bench_matcher --max-n $MAXN --runs $M_RUNS"
	l0=$(load)
	if m=$("$BUILD/bench/bench_matcher" --max-n "$MAXN" --runs "$M_RUNS" --json | tr -d '\n') && [ -n "$m" ]; then
		printf '{"section":"matcher","load":"%s","cmd":"build/bench/bench_matcher --max-n %s --runs %s --json","result":%s}\n' \
			"$l0" "$MAXN" "$M_RUNS" "$m" >> "$RAW"
	else
		log "warning: bench_matcher failed"
	fi
fi

# ------------------------------------------------------------ 3b. quality
if has quality; then
	log "quality: bench_quality.py --sizes $Q_SIZES (the optimum at 1e4: ~6 min, ~1 GB)"
	l0=$(load)
	if q=$(/usr/bin/python3 "$ROOT/bench/bench_quality.py" --bin "$BUILD/bench/bench_quality" --sizes "$Q_SIZES" \
		--json - 2>>"$OUT/quality.log") && [ -n "$q" ]; then
		printf '{"section":"quality","load":"%s","cmd":"/usr/bin/python3 bench/bench_quality.py --sizes %s","result":%s}\n' \
			"$l0" "$Q_SIZES" "$q" >> "$RAW"
	else
		log "warning: bench_quality failed"
	fi
fi

# ------------------------------------------------------------ stack helpers
sup_pid() { cat "$SVAR/run/$1.0.pid" 2>/dev/null; }
svc_pid() { local s; s=$(sup_pid "$1") && [ -n "$s" ] && pgrep -P "$s" | head -1; }
pg_master() { head -1 "$SVAR/pg/data/postmaster.pid" 2>/dev/null; }
SVCS="rider-svc driver-svc rating-svc comm-svc matcher"
# the processes of a group: one service, or a server with its children
group_pids() {
	local m
	case $1 in
	redis) cat "$SVAR/run/redis.pid" 2>/dev/null ;;
	nginx) m=$(cat "$SVAR/run/nginx.pid" 2>/dev/null) && { echo "$m"; pgrep -P "$m"; } ;;
	postgres) m=$(pg_master) && [ -n "$m" ] && { echo "$m"; pgrep -P "$m"; } ;;
	*) svc_pid "$1" ;;
	esac
}
# {"name":{"procs":n,"cpu_s":x,"hwm_kb":y,"rss_kb":z},...}: summed over the group
procs_json() {
	local g p first=1 out="{"
	for g in $SVCS redis nginx postgres; do
		local n=0 ticks=0 hwm=0 rss=0 st
		for p in $(group_pids "$g"); do
			st=$(cat "/proc/$p/stat" 2>/dev/null) || continue
			st=${st##*) }
			# fields after "comm)": state is 1, utime 12, stime 13
			ticks=$((ticks + $(echo "$st" | awk '{print $12 + $13 + 0}')))
			# a process that exits (or is a zombie, which has no VmRSS) meanwhile counts 0
			local h r
			h=$(awk '/VmHWM/{print $2}' "/proc/$p/status" 2>/dev/null)
			r=$(awk '/VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null)
			hwm=$((hwm + ${h:-0}))
			rss=$((rss + ${r:-0}))
			n=$((n + 1))
		done
		[ $first -eq 1 ] || out+=","
		first=0
		out+=$(printf '"%s":{"procs":%d,"cpu_s":%s,"hwm_kb":%d,"rss_kb":%d}' "$g" $n \
			"$(awk -v t=$ticks -v h="$CLK_TCK" 'BEGIN{printf "%.2f", t/h}')" $hwm $rss)
	done
	echo "$out}"
}
# peak RSS from here on (VmHWM reset, as bench_matcher does for itself)
reset_hwm() {
	local g p
	for g in $SVCS redis nginx postgres; do
		for p in $(group_pids "$g"); do echo 5 > "/proc/$p/clear_refs" 2>/dev/null; done
	done
}

stack_up() { # tick log_level
	log "stack up: PORT=$PORT TICK_MS=$1 LOG_LEVEL=$2"
	TICK_MS=$1 LOG_LEVEL=$2 bash "$ROOT/scripts/stack.sh" up >>"$OUT/stack.log" 2>&1 ||
		{ log "error: the stack did not start (see $OUT/stack.log and $SVAR/log/)"; exit 1; }
}
# stop only the services (stack.sh: by pid and process group, with a deadline,
# then SIGKILL, so a wedged one cannot survive), empty Redis
services_stop() {
	bash "$ROOT/scripts/stack.sh" services-down >>"$OUT/stack.log" 2>&1
	REDISCLI_AUTH=$(cat "$SVAR/secrets/redis_password" 2>/dev/null) redis-cli -p "$REDIS_PORT" flushall >/dev/null 2>&1
}

# a fresh stack: no data from an earlier bench run
bash "$ROOT/scripts/stack.sh" down >/dev/null 2>&1
rm -rf "$SVAR/redis" "$SVAR/log"
if has fanout || has ingest || has latency || has ratings; then
	stack_up 1000 warn
	sleep 1
	printf '{"section":"idle","when":"fresh start","load":"%s","procs":%s}\n' "$(load)" "$(procs_json)" >> "$RAW"
fi

# ------------------------------------------------------------ 4. fan-out
# nchan: Debian's libnginx-mod-nchan in an nginx of its own (one worker, like
# the one comm-svc process), publisher location /pub (HTTP POST), websocket
# subscribers on /sub, one channel: every subscriber gets every message
NCHAN_MOD=/usr/lib/nginx/modules/ngx_nchan_module.so
nchan_up() {
	local user_line=""
	[ "$(id -u)" -eq 0 ] && user_line="user root root;"
	[ -f "$NCHAN_MOD" ] || { log "warning: $NCHAN_MOD missing (apt-get install libnginx-mod-nchan): nchan not measured"; return 1; }
	mkdir -p "$NCHAN_DIR"/{client_body,proxy,fastcgi,uwsgi,scgi}
	cat > "$NCHAN_DIR/nginx.conf" <<EOF
# generated by bench/run.sh: nchan, the reference for the fan-out section
load_module $NCHAN_MOD;
$user_line
worker_processes 1;
pid $NCHAN_DIR/nginx.pid;
error_log $NCHAN_DIR/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $NCHAN_DIR/client_body;
    proxy_temp_path $NCHAN_DIR/proxy;
    fastcgi_temp_path $NCHAN_DIR/fastcgi;
    uwsgi_temp_path $NCHAN_DIR/uwsgi;
    scgi_temp_path $NCHAN_DIR/scgi;
    keepalive_requests 10000000;
    nchan_shared_memory_size 256m;
    server {
        listen 127.0.0.1:$NCHAN_PORT backlog=4096;
        # a channel per run (?id=): a new subscriber would otherwise be sent
        # what the channel still buffers from the run before
        location = /pub { nchan_publisher http; nchan_channel_id \$arg_id; nchan_message_buffer_length 100; nchan_message_timeout 10s; }
        location = /sub { nchan_subscriber websocket; nchan_channel_id \$arg_id; nchan_subscriber_first_message newest; }
    }
}
EOF
	nginx -p "$NCHAN_DIR" -c "$NCHAN_DIR/nginx.conf" 2>>"$OUT/stack.log" ||
		{ log "warning: nchan's nginx did not start (see $OUT/stack.log)"; return 1; }
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://127.0.0.1:$NCHAN_PORT/pub?id=probe" && return 0
		sleep 0.1
	done
	log "warning: nchan's nginx does not answer on $NCHAN_PORT"
	return 1
}
nchan_down() {
	local p
	p=$(cat "$NCHAN_DIR/nginx.pid" 2>/dev/null) && [ -n "$p" ] && kill -QUIT "$p" 2>/dev/null
	rm -f "$NCHAN_DIR/nginx.pid"
}
comm_drops() {
	curl -s "http://127.0.0.1:$((PORT + 40))/metrics" | awk '/^comm_(dropped|slow_closes)_total/{s+=$2} END{print s+0}'
}

if has fanout; then
	nchan_ok=0
	case " $FAN_MODES " in *" nchan "*) nchan_up && nchan_ok=1 ;; esac
	# modes interleaved within each run, so a change in the box's load hits all three alike
	for rate in $FAN_RATES; do
		for run in $(seq "$RUNS"); do
			for mode in $FAN_MODES; do
				l0=$(load)
				case $mode in
				message) cmd="build/bench/ws_fanout --url ws://127.0.0.1:$PORT/communication --redis 127.0.0.1:$REDIS_PORT --connections $FAN_CONN --rate $rate --duration $FAN_S --json" ;;
				batch) cmd="build/bench/ws_fanout --url ws://127.0.0.1:$PORT/communication --redis 127.0.0.1:$REDIS_PORT --connections $FAN_CONN --rate $rate --duration $FAN_S --batch --json" ;;
				# straight at comm-svc, no nginx: what nginx's hop costs
				message-direct) cmd="build/bench/ws_fanout --url ws://127.0.0.1:$((PORT + 40))/communication --redis 127.0.0.1:$REDIS_PORT --connections $FAN_CONN --rate $rate --duration $FAN_S --json" ;;
				batch-direct) cmd="build/bench/ws_fanout --url ws://127.0.0.1:$((PORT + 40))/communication --redis 127.0.0.1:$REDIS_PORT --connections $FAN_CONN --rate $rate --duration $FAN_S --batch --json" ;;
				nchan) [ $nchan_ok -eq 1 ] || continue
					ch="fan-$rate-$run-$$"
					cmd="build/bench/ws_fanout --url ws://127.0.0.1:$NCHAN_PORT/sub?id=$ch --nchan-pub http://127.0.0.1:$NCHAN_PORT/pub?id=$ch --connections $FAN_CONN --rate $rate --duration $FAN_S --json" ;;
				*) log "warning: unknown fan-out mode $mode"; continue ;;
				esac
				log "fan-out ($mode): $FAN_CONN viewers, $rate matches/s, run $run (load $l0)"
				m0=$(comm_drops)
				p0=$(procs_json)
				# the stack's Redis password by environment, never in the recorded command
				if r=$(REDIS_PASSWORD=$(cat "$SVAR/secrets/redis_password" 2>/dev/null) $ROOT/$cmd | tr -d '\n') && [ -n "$r" ]; then
					m1=$(comm_drops)
					[ "$mode" = nchan ] && m1=$m0
					# CPU seconds of each process group across the run (the
					# client's own is in the result): which one saturates
					printf '{"section":"fanout","mode":"%s","rate":%s,"run":%s,"load":"%s","load_end":"%s","comm_dropped_or_closed":%s,"procs_before":%s,"procs_after":%s,"cmd":"%s","result":%s}\n' \
						"$mode" "$rate" "$run" "$l0" "$(load)" $((m1 - m0)) "$p0" "$(procs_json)" "$cmd" "$r" >> "$RAW"
				else
					log "warning: ws_fanout ($mode) failed"
				fi
				sleep 1
			done
		done
	done
	[ $nchan_ok -eq 1 ] && nchan_down
fi

# ------------------------------------------------------------ 2. ingest
ceiling_up() {
	local user_line="" d
	[ "$(id -u)" -eq 0 ] && user_line="user root root;"
	for d in front upstream; do
		mkdir -p "$CEIL/$d"/{client_body,proxy,fastcgi,uwsgi,scgi}
	done
	# the upstream: one worker, like the one rider-svc process it stands for
	cat > "$CEIL/upstream/nginx.conf" <<EOF
# generated by bench/run.sh: the stand-in upstream, answers a fixed 202
$user_line
worker_processes 1;
pid $CEIL/upstream/nginx.pid;
error_log $CEIL/upstream/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $CEIL/upstream/client_body;
    proxy_temp_path $CEIL/upstream/proxy;
    fastcgi_temp_path $CEIL/upstream/fastcgi;
    uwsgi_temp_path $CEIL/upstream/uwsgi;
    scgi_temp_path $CEIL/upstream/scgi;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$((PORT + 62)) reuseport backlog=4096;
        location / { default_type application/json; return 202 '{"id":"1763800000000-0","expires_in_ms":5000}'; }
    }
}
EOF
	# the front: same workers and proxy settings as nginx/nginx.conf.in
	cat > "$CEIL/front/nginx.conf" <<EOF
# generated by bench/run.sh: the ceilings. :PORT+60 answers 202 itself,
# :PORT+61 proxies to the upstream nginx at :PORT+62 like the stack's /rider
$user_line
worker_processes ${NGINX_WORKERS:-auto};
pid $CEIL/front/nginx.pid;
error_log $CEIL/front/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $CEIL/front/client_body;
    proxy_temp_path $CEIL/front/proxy;
    fastcgi_temp_path $CEIL/front/fastcgi;
    uwsgi_temp_path $CEIL/front/uwsgi;
    scgi_temp_path $CEIL/front/scgi;
    client_max_body_size 4k;
    client_body_buffer_size 4k;
    keepalive_timeout 65s;
    keepalive_requests 100000;
    upstream up202 { server 127.0.0.1:$((PORT + 62)) max_fails=0; keepalive 64; }
    server {
        listen 127.0.0.1:$((PORT + 60)) reuseport backlog=4096;
        location / { default_type application/json; return 202 '{"id":"1763800000000-0","expires_in_ms":5000}'; }
    }
    server {
        listen 127.0.0.1:$((PORT + 61)) reuseport backlog=4096;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host \$host;
        proxy_set_header X-Forwarded-For \$remote_addr;
        proxy_request_buffering on;
        location / { proxy_pass http://up202; }
    }
}
EOF
	nginx -p "$CEIL/upstream" -c "$CEIL/upstream/nginx.conf" 2>>"$OUT/stack.log" &&
		nginx -p "$CEIL/front" -c "$CEIL/front/nginx.conf" 2>>"$OUT/stack.log" ||
		{ log "error: ceiling nginx did not start"; exit 1; }
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://127.0.0.1:$((PORT + 61))/rider" && return
		sleep 0.1
	done
}
wrk_run() { # url seconds -> WRKJSON object, requests/s added
	local o j
	o=$(wrk -t2 -c"$WRK_C" -d"$2"s -s "$ROOT/bench/post.lua" "$1" 2>&1) || return 1
	j=$(echo "$o" | sed -n 's/^WRKJSON //p')
	[ -n "$j" ] || return 1
	echo "$j"
}
if has ingest; then
	ceiling_up
	wrk_run "http://127.0.0.1:$PORT/rider" 1 >/dev/null # warm-up: upstream connections
	for run in $(seq "$RUNS"); do
		for target in direct proxy rider; do
			case $target in
			direct) url="http://127.0.0.1:$((PORT + 60))/rider" ;;
			proxy) url="http://127.0.0.1:$((PORT + 61))/rider" ;;
			rider) url="http://127.0.0.1:$PORT/rider" ;;
			esac
			l0=$(load)
			log "ingest: $target run $run (load $l0)"
			if j=$(wrk_run "$url" "$ING_S"); then
				printf '{"section":"ingest","target":"%s","run":%s,"load":"%s","cmd":"wrk -t2 -c%s -d%ss -s bench/post.lua %s","result":%s}\n' \
					"$target" "$run" "$l0" "$WRK_C" "$ING_S" "$url" "$j" >> "$RAW"
			else
				log "warning: wrk failed against $url"
			fi
		done
	done
	for f in "$CEIL"/front/nginx.pid "$CEIL"/upstream/nginx.pid; do
		[ -f "$f" ] && kill -QUIT "$(cat "$f")" 2>/dev/null
	done
	# what a request costs each process: CPU µs (no tracer) and syscalls
	# (strace -c, a shorter window) per request; through nginx, and with wrk
	# straight at rider-svc
	case $MODE in full) STR_S=3 ;; quick) STR_S=2 ;; *) STR_S=1 ;; esac
	for run in $(seq "$RUNS"); do
		for target in rider rider-svc; do
			rp=$(svc_pid rider-svc)
			np=$(group_pids nginx | paste -sd, -)
			rdp=$(group_pids redis)
			[ -n "$rp" ] && [ -n "$np" ] && [ -n "$rdp" ] || { log "warning: no pids for ingest_cost"; break; }
			case $target in
			rider) url="http://127.0.0.1:$PORT/rider"; groups="rider-svc=$rp nginx=$np redis=$rdp" ;;
			rider-svc) url="http://127.0.0.1:$((PORT + 10))/rider"; groups="rider-svc=$rp redis=$rdp" ;;
			esac
			l0=$(load)
			log "ingest cost: $target run $run (load $l0)"
			# shellcheck disable=SC2086
			if j=$(bash "$ROOT/bench/per_request.sh" "$url" "$ING_S" "$STR_S" \
				"http://127.0.0.1:$((PORT + 10))/metrics" $groups) && [ -n "$j" ]; then
				printf '{"section":"ingest_cost","target":"%s","run":%s,"load":"%s","cmd":"bench/per_request.sh %s %s %s","result":%s}\n' \
					"$target" "$run" "$l0" "$url" "$ING_S" "$STR_S" "$j" >> "$RAW"
			else
				log "warning: bench/per_request.sh failed against $url"
			fi
		done
	done
fi

# ------------------------------------------------------------ 1 + 5. latency
lat_config() { # tick log_level rates...
	local tick=$1 lvl=$2 rate run
	shift 2
	services_stop
	stack_up "$tick" "$lvl"
	sleep 1
	printf '{"section":"idle","when":"after start","tick":%s,"log":"%s","load":"%s","procs":%s}\n' \
		"$tick" "$lvl" "$(load)" "$(procs_json)" >> "$RAW"
	# warm-up, not measured: keep-alive connections through nginx, websocket
	"$BUILD/bin/bot" --open-loop --rate-riders 100 --rate-drivers 100 --duration 1 \
		--drain-ms 500 --progress-s 0 --json >/dev/null 2>&1
	for rate in "$@"; do
		for run in $(seq "$RUNS"); do
			local half=$((rate / 2)) l0 p0 p1 b t
			local cmd="build/bin/bot --open-loop --rate-riders $half --rate-drivers $half --duration $LAT_S --connections 32 --max-inflight 2000 --progress-s 0 --seed $run --json"
			sleep 1
			l0=$(load)
			log "latency: tick $tick ms, $rate req/s, LOG_LEVEL=$lvl, run $run (load $l0)"
			reset_hwm
			p0=$(procs_json)
			b=$(/usr/bin/time -f '%e %U %S %M' -o "$OUT/bot.time" "$ROOT"/$cmd 2>"$OUT/bot.err" | tr -d '\n') && [ -n "$b" ] ||
				{ log "warning: bot failed (see $OUT/bot.err)"; continue; }
			p1=$(procs_json)
			read -r t_e t_u t_s t_m < "$OUT/bot.time"
			t=$(printf '{"wall_s":%s,"cpu_s":%s,"hwm_kb":%s}' "$t_e" \
				"$(awk -v u="$t_u" -v s="$t_s" 'BEGIN{printf "%.2f", u+s}')" "$t_m")
			printf '{"section":"latency","tick":%s,"rate":%s,"log":"%s","run":%s,"load":"%s","load_end":"%s","duration_s":%s,"cmd":"%s","bot":%s,"bot_proc":%s,"procs_before":%s,"procs_after":%s}\n' \
				"$tick" "$rate" "$lvl" "$run" "$l0" "$(load)" "$LAT_S" "$cmd" "$b" "$t" "$p0" "$p1" >> "$RAW"
		done
	done
	sleep 2
	printf '{"section":"idle","when":"after load","tick":%s,"log":"%s","load":"%s","procs":%s}\n' \
		"$tick" "$lvl" "$(load)" "$(procs_json)" >> "$RAW"
}
if has latency; then
	for tick in $TICKS; do
		# shellcheck disable=SC2086
		lat_config "$tick" warn $RATES
	done
	if [ "$INFO_RUN" = 1 ]; then
		last=${RATES##* }
		lat_config 10 info "$last"
	fi
fi

# ------------------------------------------------------------ 8. loop stall
# the matcher's longest loop stall while it ingests and pairs STALL_N riders
# and STALL_N drivers written straight into Redis (bench/loop_stall.py: a
# /healthz probe every 2 ms, and the matcher's own loop-lag gauges), on
# freshly started services at tick 100 ms
if has stall; then
	for run in $(seq 1 "$RUNS"); do
		services_stop
		stack_up 100 warn
		sleep 1
		l0=$(load)
		log "stall: loop_stall.py --n $STALL_N, run $run (load $l0)"
		j=$(VAR_DIR=$SVAR /usr/bin/python3 "$ROOT/bench/loop_stall.py" --port "$PORT" --n "$STALL_N" --json 2>>"$OUT/stall.log" | tail -1)
		if [ -n "$j" ] && [ "${j:0:1}" = "{" ]; then
			printf '{"section":"stall","run":%s,"load":"%s","cmd":"/usr/bin/python3 bench/loop_stall.py --port %s --n %s --json","result":%s}\n' \
				"$run" "$l0" "$PORT" "$STALL_N" "$j" >> "$RAW"
		else
			log "warning: loop_stall failed (see $OUT/stall.log)"
		fi
	done
fi

# ------------------------------------------------------------ 7. replay
# one committed trace, the same requests in the same order at their recorded
# pace, per (tick, policy) on freshly started services and an empty Redis
if has replay; then
	REPLAY_TRACE=${BENCH_REPLAY_TRACE:-$ROOT/bench/traces/steady.jsonl.gz}
	REPLAY_POLICIES=${BENCH_REPLAY_POLICIES:-"closest min-total"}
	# --strict waits (bounded) until every accepted rider has settled, so the
	# expired count is final; the smoke run only waits 1 s
	REPLAY_FLAGS="--strict"
	[ "$MODE" = smoke ] && REPLAY_FLAGS="--drain-ms 1000"
	trace=$OUT/replay-trace.jsonl
	# the header line and the requests sent in the first REPLAY_S seconds
	gzip -dc "$REPLAY_TRACE" | awk -v lim=$((REPLAY_S * 1000)) \
		'NR == 1 { print; next } { t = $0; sub(/^.*"t_ms":/, "", t); if (t + 0 < lim) print }' > "$trace"
	for tick in $TICKS; do
		for policy in $REPLAY_POLICIES; do
			services_stop
			if [ "$policy" = closest ]; then stack_up "$tick" warn; else MATCHER_POLICY=$policy stack_up "$tick" warn; fi
			cmd="build/bin/bot --replay bench/traces/$(basename "$REPLAY_TRACE") (first ${REPLAY_S} s) $REPLAY_FLAGS --progress-s 0 --json"
			sleep 1
			l0=$(load)
			log "replay: tick $tick ms, policy $policy, $(($(wc -l < "$trace") - 1)) requests (load $l0)"
			b=$("$BUILD/bin/bot" --replay "$trace" $REPLAY_FLAGS --progress-s 0 --json 2>"$OUT/replay.err" | tr -d '\n')
			# what the matcher says it ran: its policy gauge and min-total's counters
			mm=$(curl -s "http://127.0.0.1:$((PORT + 50))/metrics" | awk '
				$1 == "matcher_policy_min_total" { p = $2 } $1 == "matcher_min_total_ticks_total" { t = $2 }
				$1 == "matcher_min_total_fallback_total" { f = $2 }
				END { printf "{\"policy_min_total\":%s,\"min_total_ticks\":%s,\"fallbacks\":%s}", p + 0, t + 0, f + 0 }')
			if [ -n "$b" ] && [ "${b:0:1}" = "{" ]; then
				printf '{"section":"replay","tick":%s,"policy":"%s","trace":"%s","replay_s":%s,"load":"%s","load_end":"%s","cmd":"%s","matcher":%s,"bot":%s}\n' \
					"$tick" "$policy" "$(basename "$REPLAY_TRACE")" "$REPLAY_S" "$l0" "$(load)" "$cmd" "$mm" "$b" >> "$RAW"
			else
				log "warning: the replay failed (see $OUT/replay.err)"
			fi
		done
	done
fi

# ------------------------------------------------------------ 6. ratings
pg_conn() { bash "$ROOT/scripts/stack.sh" pg-conninfo; }
psql_q() { psql "$(pg_conn)" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
PGBENCH=/usr/lib/postgresql/15/bin/pgbench
# pgbench -T S -> {"tps":..,"xacts":..}; its conninfo (with the password)
# goes as the database argument, never into the recorded command
pgbench_run() { # clients script-file
	local o tps n
	o=$("$PGBENCH" -n -M prepared -c "$1" -j "$([ "$1" -gt 1 ] && echo 2 || echo 1)" -T "$RAT_S" \
		-f "$2" "$(pg_conn)" 2>&1) || { echo "$o" | tail -3 >&2; return 1; }
	tps=$(echo "$o" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
	n=$(echo "$o" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
	[ -n "$tps" ] || return 1
	printf '{"tps":%s,"xacts":%s}' "$tps" "${n:-0}"
}
if has ratings; then
	RAT_CLIENTS=${BENCH_RATING_CLIENTS:-"1 8 64"}
	[ "$MODE" = smoke ] && RAT_CLIENTS=${BENCH_RATING_CLIENTS:-8}
	# the references: the same INSERT as rating-svc's into a copy of the table
	psql_q "DROP TABLE IF EXISTS bench_ratings; CREATE TABLE bench_ratings (LIKE ratings INCLUDING ALL)" ||
		log "warning: could not create bench_ratings"
	ins="INSERT INTO bench_ratings (ride_id, car_number, driver_name, rating) VALUES (gen_random_uuid()::text, 'BENCH-1', 'Bench', 4) ON CONFLICT (ride_id) DO NOTHING RETURNING ride_id;"
	echo "$ins" > "$OUT/pg_single.sql"
	{ echo '\startpipeline'; echo 'BEGIN;'; for _ in $(seq 64); do echo "$ins"; done; echo 'COMMIT;'; echo '\endpipeline'; } > "$OUT/pg_batch64.sql"
	for run in $(seq "$RUNS"); do
		for c in $RAT_CLIENTS; do
			for bm in 1 256; do
				# rating-svc restarted with this --batch-max (env RATING_BATCH_MAX)
				services_stop
				RATING_BATCH_MAX=$bm stack_up 1000 warn
				# services_stop emptied Redis: the rides rb-0..N-1 again, as
				# the matcher writes them (token, driver)
				REDISCLI_AUTH=$(cat "$SVAR/secrets/redis_password" 2>/dev/null) redis-cli -p "$REDIS_PORT" --pipe >/dev/null < <(
					awk -v n="$RAT_N" 'BEGIN { for (i = 0; i < n; i++)
						printf "HSET ride:rb-%d token benchtoken car_number BENCH-%d driver_name Bench\r\n", i, i % 500 }')
				psql_q "TRUNCATE ratings" || log "warning: could not empty ratings"
				t=$([ "$c" -gt 1 ] && echo 2 || echo 1)
				url="http://127.0.0.1:$PORT/rating"
				cmd="wrk -t$t -c$c -d${RAT_S}s -s bench/rating.lua $url -- $RAT_N"
				# warm-up (not measured): connections, the prepared statement
				wrk -t1 -c1 -d1s -s "$ROOT/bench/rating.lua" "$url" -- 1 >/dev/null 2>&1
				psql_q "TRUNCATE ratings"
				l0=$(load)
				log "ratings: rating-svc --batch-max $bm, $c clients, run $run (load $l0)"
				o=$(cd "$ROOT" && $cmd 2>&1)
				j=$(echo "$o" | sed -n 's/^WRKJSON //p')
				rows=$(psql_q "SELECT count(*) FROM ratings" 2>/dev/null)
				if [ -n "$j" ]; then
					printf '{"section":"ratings","target":"rating-svc","batch_max":%s,"clients":%s,"run":%s,"load":"%s","rows":%s,"cmd":"RATING_BATCH_MAX=%s %s","result":%s}\n' \
						"$bm" "$c" "$run" "$l0" "${rows:-null}" "$bm" "$cmd" "$j" >> "$RAW"
				else
					log "warning: wrk failed against $url: $(echo "$o" | tail -2)"
				fi
			done
			for ref in single batch64; do
				psql_q "TRUNCATE bench_ratings"
				l0=$(load)
				log "ratings: pgbench $ref, $c clients, run $run (load $l0)"
				if j=$(pgbench_run "$c" "$OUT/pg_$ref.sql"); then
					printf '{"section":"ratings","target":"pg-%s","rows_per_xact":%s,"clients":%s,"run":%s,"load":"%s","cmd":"pgbench -n -M prepared -c %s -T %s -f pg_%s.sql","result":%s}\n' \
						"$ref" "$([ $ref = single ] && echo 1 || echo 64)" "$c" "$run" "$l0" "$c" "$RAT_S" "$ref" "$j" >> "$RAW"
				else
					log "warning: pgbench $ref failed"
				fi
			done
		done
	done
	psql_q "DROP TABLE IF EXISTS bench_ratings; TRUNCATE ratings"
fi

cleanup
printf '{"section":"end","loadavg_end":"%s","date":"%s"}\n' "$(load)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$RAW"

# ------------------------------------------------------------ report
if [ "$MODE" = smoke ]; then
	/usr/bin/python3 "$ROOT/bench/report.py" --raw "$RAW" --json "$OUT/results.json" \
		--md "$OUT/BENCHMARKS.md" --smoke-check || exit 1
	log "smoke: the tool ran and its JSON is well-formed ($OUT/results.json)"
else
	/usr/bin/python3 "$ROOT/bench/report.py" --raw "$RAW" --json "$OUT/results.json" \
		--md "${BENCH_MD:-$ROOT/BENCHMARKS.md}" --analysis "$ROOT/bench/ANALYSIS.md" \
		--append "$ROOT/bench/SOAK.md" || exit 1
	log "figures in ${BENCH_MD:-$ROOT/BENCHMARKS.md}, JSON in $OUT/results.json and $RAW"
fi
