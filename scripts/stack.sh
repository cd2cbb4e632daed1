#!/usr/bin/env bash
# stack.sh - starts and stops the local stack as the user's own processes:
# Redis, Postgres (its own cluster) and nginx with their data under var/,
# then every service that has been built, each under scripts/supervise.sh.
#
#   scripts/stack.sh up | down | status | restart-svc NAME
#
# Environment (defaults just work):
#   PORT=8080        public port; every other port derives from it (docs/INTERNALS.md)
#   TICK_MS=1000     the matcher's tick
#   SCALE=1          instances of each HTTP/WS service; SCALE>=2 also runs a standby matcher
#   LEASE_MS=        the matchers' lease (--lease-ms; empty: the matcher's default, 2000)
# Addresses, for running the parts on different hosts (default: all loopback):
#   REDIS_HOST=127.0.0.1     Redis listens there and the services connect there
#   PG_HOST=127.0.0.1        likewise Postgres (not loopback: pg_hba admits the host's own subnets)
#   SVC_HOST=127.0.0.1       the services listen there (--listen)
#   UPSTREAM_HOST=127.0.0.1  where nginx finds the services (the app host's address)
#   LISTEN=127.0.0.1         where nginx listens
#   VAR_DIR=var      runtime files (data, logs, pids)
#   BUILD_DIR=build  where the binaries are (build-san for the sanitizer build)
#   RATE_LIMIT=50 RATE_BURST=100 CONN_LIMIT=64 RATE_LIMIT_LOOPBACK=0   nginx limits per client address
# Operations (docs/INTERNALS.md "Operations"):
#   LOG_MAX_BYTES=10M LOG_KEEP=3   every log under var/log is rotated at that size,
#                    keeping that many old files (file.log.1 ...); the services
#                    rotate their own (lib/log.c), logwatch.0 the others
#   LOGWATCH_SECONDS=30  how often logwatch looks at the sizes
#   STOP_TIMEOUT=10  `down`: seconds a process gets after SIGTERM before SIGKILL
# Everything under var/ is private to its owner (umask 077, dirs 0700, files
# 0600; var/ itself 0711 when root, so the postgres user can pass through it).
# Secrets (generated at the first start, var/secrets/): the Postgres password
# (services get PG_CONNINFO) and the Redis password (requirepass; services get
# REDIS_PASSWORD). `stack.sh redis-password` / `pg-conninfo` print them for tests.
set -euo pipefail
# var/ is private whatever the caller's umask: every file this script and its
# children (Redis, nginx, the services, their logs) create is 0600, dirs 0700
umask 077

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${PORT:-8080}
TICK_MS=${TICK_MS:-1000}
SCALE=${SCALE:-1}
VAR=${VAR_DIR:-$ROOT/var}
case "$VAR" in /*) ;; *) VAR=$ROOT/$VAR ;; esac
BUILD=${BUILD_DIR:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PGBIN=/usr/lib/postgresql/15/bin

REDIS_PORT=$((PORT + 1))
PG_PORT=$((PORT + 2))
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
PG_HOST=${PG_HOST:-127.0.0.1}
SVC_HOST=${SVC_HOST:-127.0.0.1}
UPSTREAM_HOST=${UPSTREAM_HOST:-127.0.0.1}
PG_DB=ridematch

LOG_MAX_BYTES=${LOG_MAX_BYTES:-10M}
LOG_KEEP=${LOG_KEEP:-3}
STOP_TIMEOUT=${STOP_TIMEOUT:-10}
export LOG_MAX_BYTES LOG_KEEP

log() { printf '%s stack: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# A process is alive when it exists and is not a zombie (here the init may
# reap orphans late).
pid_alive() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }
alive() { [ -f "$1" ] && pid_alive "$(cat "$1" 2>/dev/null)"; }

# ---------------------------------------------------------------- processes
# Live (not zombie) processes whose process group is $1, one pid a line: a
# supervisor started by setsid leads its group, so this is it and its child.
group_members() {
	local g=$1 d s
	for d in /proc/[0-9]*; do
		{ read -r s < "$d/stat"; } 2>/dev/null || continue
		s=${s##*) }
		# shellcheck disable=SC2086
		set -- $s
		if [ "$1" != Z ] && [ "$3" = "$g" ]; then echo "${d#/proc/}"; fi
	done
	return 0
}
# live children of pid $1
children_of() {
	local pp=$1 d s
	for d in /proc/[0-9]*; do
		{ read -r s < "$d/stat"; } 2>/dev/null || continue
		s=${s##*) }
		# shellcheck disable=SC2086
		set -- $s
		if [ "$1" != Z ] && [ "$2" = "$pp" ]; then echo "${d#/proc/}"; fi
	done
	return 0
}
comm_of() { cat "/proc/$1/comm" 2>/dev/null || echo '?'; }

# stop_pids SIGNAL_FIRST PID... : sends SIGNAL_FIRST to each, waits up to
# STOP_TIMEOUT s for all of them to be gone, then SIGKILLs the rest and waits
# for those too. Sets KILLED to "pid(comm) ..." of the ones that needed SIGKILL
# and LEFT to those still there after it (a process stuck in the kernel).
stop_pids() {
	local sig=$1 p any
	shift
	KILLED="" LEFT=""
	[ $# -gt 0 ] || return 0
	[ "$sig" = none ] || for p in "$@"; do kill "-$sig" "$p" 2>/dev/null || true; done
	for _ in $(seq $((STOP_TIMEOUT * 10))); do
		any=0
		for p in "$@"; do pid_alive "$p" && { any=1; break; }; done
		[ $any -eq 0 ] && return 0
		sleep 0.1
	done
	for p in "$@"; do
		pid_alive "$p" && { KILLED+="$p($(comm_of "$p")) "; kill -KILL "$p" 2>/dev/null || true; }
	done
	for _ in $(seq 50); do
		any=0
		for p in "$@"; do pid_alive "$p" && { any=1; break; }; done
		[ $any -eq 0 ] && break
		sleep 0.1
	done
	for p in "$@"; do pid_alive "$p" && LEFT+="$p($(comm_of "$p")) "; done
	KILLED=${KILLED% } LEFT=${LEFT% }
	return 0
}

# Ports with a listening TCP socket (any address), one a line, decimal.
listening_ports() {
	local h
	awk 'NR > 1 && $4 == "0A" { n = split($2, a, ":"); print a[n] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		while read -r h; do echo $((16#$h)); done | sort -un
	return 0
}
# pids holding a listening socket on port $1 (for the report)
port_holders() {
	local inodes ino p fd out=""
	inodes=$(awk -v port="$(printf '%04X' "$1")" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (toupper(a[2]) == port) print $10 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null)
	for ino in $inodes; do
		for fd in /proc/[0-9]*/fd/*; do
			[ "$(readlink "$fd" 2>/dev/null)" = "socket:[$ino]" ] || continue
			p=${fd#/proc/}; p=${p%%/*}
			out+="$p($(comm_of "$p")) "
		done
	done
	echo "${out% }"
}

# ---------------------------------------------------------------- var/
# Private to its owner: 0700 dirs and 0600 files, whatever umask created them
# in older runs. When root, var/ (and var/ dirs between the checkout and it)
# are 0711: the postgres user must pass through to var/pg (its own, 0700);
# 0711 lets it traverse without listing or reading anything.
var_private() {
	local d
	mkdir -p "$VAR"
	if [ "$(id -u)" -eq 0 ]; then
		chmod 711 "$VAR"
		d=$VAR
		while [ "${d#"$ROOT"/var/}" != "$d" ]; do d=$(dirname "$d"); chmod 711 "$d"; done
	else
		chmod 700 "$VAR"
	fi
	for d in redis run log secrets nginx; do
		mkdir -p "$VAR/$d"
		chmod -R go-rwx "$VAR/$d"
	done
}

# LOG_MAX_BYTES in bytes (digits with K, M or G; as lib/log.c reads it)
log_max_bytes() {
	local v=$LOG_MAX_BYTES n
	n=${v%[kKmMgG]}
	[[ "$n" =~ ^[0-9]+$ ]] || { echo $((10 << 20)); return; }
	case "$v" in *[kK]) echo $((n << 10)) ;; *[mM]) echo $((n << 20)) ;; *[gG]) echo $((n << 30)) ;; *) echo "$n" ;; esac
}

as_pg() {
	# from /: the postgres user may not be able to enter the current directory
	if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# ---------------------------------------------------------------- secrets
# Generated at the first start into var/secrets (0700, files 0600), never in
# the repository; services get them in their environment.
secret() {
	mkdir -p "$VAR/secrets"
	chmod 700 "$VAR/secrets"
	if [ ! -s "$VAR/secrets/$1" ]; then
		(umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' > "$VAR/secrets/$1")
	fi
	cat "$VAR/secrets/$1"
}

# ---------------------------------------------------------------- Redis
redis_password() { secret redis_password; }
# redis-cli with the password from the environment (not on its command line)
rcli() { REDISCLI_AUTH=$(redis_password) redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" "$@"; }

redis_up() {
	var_private
	if alive "$VAR/run/redis.pid"; then return; fi
	(umask 077; cat > "$VAR/redis/redis.conf") <<EOF
port $REDIS_PORT
requirepass $(redis_password)
bind $REDIS_HOST
protected-mode yes
dir $VAR/redis
daemonize yes
pidfile $VAR/run/redis.pid
logfile $VAR/log/redis.log
appendonly yes
appendfsync everysec
save ""
maxclients 10000
tcp-backlog 4096
EOF
	chmod 600 "$VAR/redis/redis.conf"
	redis-server "$VAR/redis/redis.conf"
	for _ in $(seq 50); do
		rcli ping 2>/dev/null | grep -q PONG && { log "redis up on $REDIS_HOST:$REDIS_PORT"; return; }
		sleep 0.1
	done
	die "redis did not start (see $VAR/log/redis.log)"
}

redis_down() {
	if alive "$VAR/run/redis.pid"; then
		local pid
		pid=$(cat "$VAR/run/redis.pid")
		rcli shutdown nosave >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
		stop_pids TERM "$pid"
		log "redis stopped${KILLED:+ (killed after ${STOP_TIMEOUT}s: $KILLED)}"
		[ -z "$LEFT" ] || { log "error: redis still running: $LEFT"; DOWN_FAILED+=" $LEFT"; }
	fi
	return 0
}

# ---------------------------------------------------------------- Postgres
pg_dir() {
	# Postgres runs as the `postgres` user, which must reach its data dir. When
	# the checkout is not reachable by that user (e.g. under a 0700 temp dir),
	# the cluster lives in /var/tmp and var/pg links to it.
	if [ -L "$VAR/pg" ] || [ -d "$VAR/pg/data" ]; then echo "$VAR/pg"; return; fi
	mkdir -p "$VAR"
	if [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$VAR"; then
		mkdir -p "$VAR/pg"
	else
		local ext=/var/tmp/ridematch-pg-$(echo "$VAR" | md5sum | cut -c1-12) pid
		# a cluster there without its link was left by a var/ that was
		# removed (with the password it was made with): stop and drop it
		if [ -d "$ext/data" ]; then
			pid=$(head -1 "$ext/data/postmaster.pid" 2>/dev/null)
			[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
				(cd / && as_pg "$PGBIN/pg_ctl" -D "$ext/data" -m immediate -w stop >/dev/null 2>&1)
			[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
			rm -rf "$ext"
			log "postgres: dropped the orphaned cluster in $ext (its var/ was removed)"
		fi
		mkdir -p "$ext"
		ln -sfn "$ext" "$VAR/pg"
		log "postgres cannot reach $VAR: its cluster is in $ext (linked from var/pg)"
	fi
	echo "$VAR/pg"
}

pg_password() { secret pg_password; }

pg_conninfo() {
	echo "host=$PG_HOST port=$PG_PORT dbname=$PG_DB user=postgres password=$(pg_password) connect_timeout=3"
}

pg_up() {
	local dir data pw
	var_private
	dir=$(readlink -f "$(pg_dir)")
	data=$dir/data
	pw=$(pg_password)
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	# the cluster's dir and everything in it (older runs: a 0644 log) are
	# private to the postgres user (initdb makes data/ 0700 itself)
	chmod -R go-rwx "$dir"
	if [ ! -f "$data/PG_VERSION" ]; then
		local pwfile
		pwfile=$(readlink -f "$dir")/pwfile
		(umask 077; printf '%s\n' "$pw" > "$pwfile")
		[ "$(id -u)" -eq 0 ] && chown postgres: "$pwfile"
		as_pg "$PGBIN/initdb" -D "$data" -U postgres --pwfile="$pwfile" -E UTF8 --locale=C \
			--auth-local=peer --auth-host=scram-sha-256 >"$VAR/log/initdb.log" 2>&1 ||
			{ rm -f "$pwfile"; die "initdb failed (see $VAR/log/initdb.log)"; }
		rm -f "$pwfile"
		log "postgres cluster created in $data"
	fi
	# listening beyond loopback: admit the clients of the host's own subnets
	if [ "$PG_HOST" != 127.0.0.1 ] && ! grep -q '^host all all samenet' "$data/pg_hba.conf"; then
		echo "host all all samenet scram-sha-256" >> "$data/pg_hba.conf"
		as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1 && as_pg "$PGBIN/pg_ctl" -D "$data" reload >/dev/null
	fi
	if ! as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		# The log lives beside the cluster (reachable by postgres), linked from
		# var/log. Postgres' logging collector writes it (0600) and reopens it on
		# `pg_ctl logrotate` (logwatch); pg_ctl's own -l file gets only what
		# the server says before the collector starts.
		touch "$dir/postgres.log" "$dir/postgres-start.log"
		[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/postgres.log" "$dir/postgres-start.log"
		ln -sfn "$dir/postgres.log" "$VAR/log/postgres.log"
		as_pg "$PGBIN/pg_ctl" -D "$data" -l "$dir/postgres-start.log" -w -t 60 \
			-o "-p $PG_PORT -c listen_addresses=$PG_HOST -c unix_socket_directories=$dir -c unix_socket_permissions=0700 -c logging_collector=on -c log_directory=$dir -c log_filename=postgres.log -c log_file_mode=0600 -c log_rotation_age=0 -c log_rotation_size=0" \
			start >/dev/null || die "postgres did not start (see $VAR/log/postgres.log and $dir/postgres-start.log)"
		log "postgres up on $PG_HOST:$PG_PORT"
	fi
	PGPASSWORD=$pw psql -qAt "host=$PG_HOST port=$PG_PORT user=postgres dbname=postgres" \
		-c "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1 ||
		PGPASSWORD=$pw psql -q "host=$PG_HOST port=$PG_PORT user=postgres dbname=postgres" \
			-c "CREATE DATABASE $PG_DB"
	PG_CONNINFO=$(pg_conninfo) bash "$ROOT/scripts/migrate.sh"
}

pg_down() {
	local dir pm how=stopped
	[ -e "$VAR/pg" ] || return 0
	dir=$(readlink -f "$(pg_dir)")
	[ -f "$dir/data/postmaster.pid" ] || return 0
	pm=$(head -1 "$dir/data/postmaster.pid" 2>/dev/null || true)
	if ! as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t "$STOP_TIMEOUT" stop >/dev/null 2>&1; then
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 5 stop >/dev/null 2>&1 && how="stopped (immediate)"
	fi
	# whatever is left of it (a postmaster that would not stop, its backends)
	if [ -n "$pm" ] && pid_alive "$pm" && [ "$(comm_of "$pm")" = postgres ]; then
		# shellcheck disable=SC2046
		stop_pids KILL "$pm" $(children_of "$pm")
		how="killed (pid $pm)"
		[ -z "$LEFT" ] || { log "error: postgres still running: $LEFT"; DOWN_FAILED+=" $LEFT"; }
	fi
	log "postgres $how"
	return 0
}

# ---------------------------------------------------------------- services
# name:port-offset
SERVICES="rider-svc:10 driver-svc:20 rating-svc:30 comm-svc:40"

svc_args() {
	local name=$1 port=$2
	case "$name" in
	rider-svc|driver-svc) echo "--listen $SVC_HOST --port $port --redis $REDIS_HOST:$REDIS_PORT" ;;
	rating-svc) echo "--listen $SVC_HOST --port $port --redis $REDIS_HOST:$REDIS_PORT" ;;
	comm-svc) echo "--listen $SVC_HOST --port $port --redis $REDIS_HOST:$REDIS_PORT" ;;
	matcher) echo "--listen $SVC_HOST --port $port --redis $REDIS_HOST:$REDIS_PORT --tick-ms $TICK_MS${LEASE_MS:+ --lease-ms $LEASE_MS}" ;;
	esac
}

start_one() {
	local name=$1 i=$2 port=$3 pidf="$VAR/run/$1.$2.pid"
	[ -x "$BUILD/bin/$name" ] || return 0
	if alive "$pidf"; then return 0; fi
	# shellcheck disable=SC2046
	# setsid: a Ctrl-C in the terminal (e.g. stopping `make run`'s bot) must
	# not reach the services
	PG_CONNINFO=$(pg_conninfo) REDIS_PASSWORD=$(redis_password) \
	SUPERVISE_LOG="$VAR/log/supervise.log" SUPERVISE_CHILD="$VAR/run/$name.$i.child" \
		nohup setsid bash "$ROOT/scripts/supervise.sh" "$name.$i" "$VAR/log/$name.$i.log" \
		"$BUILD/bin/$name" $(svc_args "$name" "$port") >/dev/null 2>&1 &
	echo $! > "$pidf"
	STARTED+=("$name.$i:$port")
}

# The port of a supervised NAME.I (pid file name), or nothing (logwatch).
svc_port() {
	local n=${1%.*} i=${1##*.} entry
	[ "$n" = matcher ] && { echo $((PORT + 50 + i)); return; }
	for entry in $SERVICES; do
		[ "${entry%%:*}" = "$n" ] && { echo $((PORT + ${entry##*:} + i)); return; }
	done
	return 0
}

services_up() {
	var_private
	logwatch_up
	STARTED=()
	local entry name off i
	for entry in $SERVICES; do
		name=${entry%%:*}; off=${entry##*:}
		for ((i = 0; i < SCALE; i++)); do start_one "$name" "$i" $((PORT + off + i)); done
	done
	local matchers=1
	[ "$SCALE" -ge 2 ] && matchers=2
	for ((i = 0; i < matchers; i++)); do start_one matcher "$i" $((PORT + 50 + i)); done
	# wait until every started service answers /healthz (any status: Redis may be down)
	local s port ok
	for s in "${STARTED[@]}"; do
		port=${s##*:}; ok=0
		for _ in $(seq 100); do
			if curl -s -o /dev/null "http://$SVC_HOST:$port/healthz"; then ok=1; break; fi
			sleep 0.1
		done
		[ $ok -eq 1 ] && log "${s%%:*} up on $SVC_HOST:$port" || log "warning: ${s%%:*} not answering on $port (see $VAR/log/${s%%:*}.log)"
	done
}

# Stops every supervised process (services and logwatch): SIGTERM to each
# supervisor (it passes it on to its child and exits when the child has),
# then, after STOP_TIMEOUT s, SIGKILL to whatever of each group is left: the
# supervisor, its child (also one that ignores SIGTERM or is stopped), and a
# child whose supervisor was killed earlier (its pid is in NAME.I.child).
services_down() {
	local f n sup p pids=() names=() orphan
	for f in "$VAR"/run/*.[0-9]*.pid; do
		[ -f "$f" ] || continue
		n=$(basename "$f" .pid)
		sup=$(cat "$f" 2>/dev/null) || continue
		[ -n "$sup" ] || continue
		names+=("$n")
		for p in $(group_members "$sup"); do pids+=("$p"); done
		# the child of a supervisor that is gone, if still there and still ours
		orphan=$(cat "$VAR/run/$n.child" 2>/dev/null || true)
		if [ -n "$orphan" ] && pid_alive "$orphan" && ! pid_alive "$sup" &&
			[ "$(readlink "/proc/$orphan/exe" 2>/dev/null | xargs -r basename)" = "${n%.*}" ]; then
			pids+=("$orphan")
			kill -TERM "$orphan" 2>/dev/null || true
		fi
		pid_alive "$sup" && kill -TERM "$sup" 2>/dev/null || true
	done
	stop_pids none "${pids[@]}"
	rm -f "$VAR"/run/*.[0-9]*.pid "$VAR"/run/*.[0-9]*.child
	if [ ${#names[@]} -gt 0 ]; then
		log "services stopped: ${names[*]} (${#pids[@]} processes${KILLED:+; still running ${STOP_TIMEOUT}s after SIGTERM, killed: $KILLED})"
		[ -z "$LEFT" ] || { log "error: still running after SIGKILL: $LEFT"; DOWN_FAILED+=" $LEFT"; }
	fi
	return 0
}

# ---------------------------------------------------------------- logs
# Redis, Postgres, nginx and the supervisors' log rotate here: logwatch.0 (a
# supervised `stack.sh logwatch`) looks every LOGWATCH_SECONDS and renames a
# file past LOG_MAX_BYTES to .1 (.1 to .2 ..., LOG_KEEP kept), then has its
# writer open a new one: nginx on SIGUSR1, Postgres (logging_collector) on
# `pg_ctl logrotate`; Redis and supervise.sh open the file for every line.
rotate_files() { # PATH [new]: PATH -> PATH.1 -> ... -> PATH.LOG_KEEP
	local i
	for ((i = LOG_KEEP - 1; i >= 1; i--)); do
		if [ -e "$1.$i" ]; then mv -f "$1.$i" "$1.$((i + 1))"; fi
	done
	mv -f "$1" "$1.1"
	# the new file, created here under our umask (0600): nginx reopens with
	# 0644 under its own umask (0 once daemonized) when it creates the file
	if [ "${2:-}" = new ]; then : >> "$1"; fi
	return 0
}
logwatch_once() {
	local max f dir
	max=$(log_max_bytes)
	[ "$max" -gt 0 ] || return 0
	big() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$max" ]; }
	for f in "$VAR/log/redis.log" "$VAR/log/supervise.log"; do
		if big "$f"; then rotate_files "$f" new; fi
	done
	local nginx_rot=0
	for f in "$VAR/log/nginx-error.log" "$VAR/log/nginx-access.log"; do
		if big "$f"; then rotate_files "$f" new; nginx_rot=1; fi
	done
	if [ $nginx_rot -eq 1 ] && alive "$VAR/run/nginx.pid"; then kill -USR1 "$(cat "$VAR/run/nginx.pid")"; fi
	if [ -e "$VAR/pg" ]; then
		dir=$(readlink -f "$(pg_dir)")
		if big "$dir/postgres.log"; then
			rotate_files "$dir/postgres.log"
			as_pg "$PGBIN/pg_ctl" -D "$dir/data" logrotate >/dev/null 2>&1 || true
		fi
		# pg_ctl's -l file: written only until the collector starts
		if big "$dir/postgres-start.log"; then rotate_files "$dir/postgres-start.log"; fi
	fi
	return 0
}
logwatch() {
	local sp=0
	# stopped by SIGTERM (its supervisor passes it on): take the sleep along
	trap '[ $sp -gt 0 ] && kill $sp 2>/dev/null; exit 0' TERM INT
	while :; do
		logwatch_once
		sleep "${LOGWATCH_SECONDS:-30}" &
		sp=$!
		wait $sp
		sp=0
	done
}
logwatch_up() {
	local pidf="$VAR/run/logwatch.0.pid"
	alive "$pidf" && return 0
	SUPERVISE_LOG="$VAR/log/supervise.log" SUPERVISE_CHILD="$VAR/run/logwatch.0.child" \
		nohup setsid bash "$ROOT/scripts/supervise.sh" logwatch.0 "$VAR/log/logwatch.0.log" \
		bash "$ROOT/scripts/stack.sh" logwatch >/dev/null 2>&1 &
	echo $! > "$pidf"
}

# ---------------------------------------------------------------- nginx
servers_line() {
	local off=$1 i out=""
	for ((i = 0; i < SCALE; i++)); do out+="server $UPSTREAM_HOST:$((PORT + off + i)) max_fails=0; "; done
	echo "$out"
}

nginx_conf() {
	var_private
	mkdir -p "$VAR/nginx"/{client_body,proxy,fastcgi,uwsgi,scgi} "$VAR/log" "$VAR/run"
	local user_line="" access="off"
	[ "$(id -u)" -eq 0 ] && user_line="user root root;"
	[ "${NGINX_ACCESS_LOG:-0}" = 1 ] && access="$VAR/log/nginx-access.log"
	sed -e "s|@USER_LINE@|$user_line|" \
		-e "s|@NGINX_WORKERS@|${NGINX_WORKERS:-auto}|" \
		-e "s|@VAR@|$VAR|g" \
		-e "s|@ACCESS_LOG@|$access|" \
		-e "s|@LISTEN@|${LISTEN:-127.0.0.1}|" \
		-e "s|@PORT@|$PORT|" \
		-e "s|@CLIENT_TIMEOUT@|${CLIENT_TIMEOUT:-10}|g" \
		-e "s|@RATE_LIMIT@|${RATE_LIMIT:-50}|" \
		-e "s|@RATE_BURST@|${RATE_BURST:-100}|" \
		-e "s|@CONN_LIMIT@|${CONN_LIMIT:-64}|" \
		-e "s|@LOOPBACK_EXEMPT@|$([ "${RATE_LIMIT_LOOPBACK:-0}" = 1 ] && echo 0 || echo 1)|" \
		-e "s|@RIDER_SERVERS@|$(servers_line 10)|" \
		-e "s|@DRIVER_SERVERS@|$(servers_line 20)|" \
		-e "s|@RATING_SERVERS@|$(servers_line 30)|" \
		-e "s|@COMM_SERVERS@|$(servers_line 40)|" \
		-e "s|@DASHBOARD@|$ROOT/dashboard|" \
		"$ROOT/nginx/nginx.conf.in" > "$VAR/nginx/nginx.conf"
}

nginx_up() {
	nginx_conf
	nginx -t -q -p "$VAR/nginx" -c "$VAR/nginx/nginx.conf" 2>>"$VAR/log/nginx-error.log" ||
		die "nginx config invalid (see $VAR/log/nginx-error.log)"
	if alive "$VAR/run/nginx.pid"; then
		nginx -p "$VAR/nginx" -c "$VAR/nginx/nginx.conf" -s reload
	else
		nginx -p "$VAR/nginx" -c "$VAR/nginx/nginx.conf"
	fi
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://${LISTEN:-127.0.0.1}:$PORT/healthz" && { log "nginx up on http://${LISTEN:-127.0.0.1}:$PORT"; return; }
		sleep 0.1
	done
	die "nginx did not start (see $VAR/log/nginx-error.log)"
}

nginx_down() {
	if alive "$VAR/run/nginx.pid"; then
		local pid pids
		pid=$(cat "$VAR/run/nginx.pid")
		# the master leads its group; the workers are in it
		pids=$(group_members "$pid")
		kill -QUIT "$pid" 2>/dev/null || true
		# shellcheck disable=SC2086
		stop_pids none $pids
		log "nginx stopped (master $pid and $(( $(echo $pids | wc -w) - 1 )) workers${KILLED:+; killed after ${STOP_TIMEOUT}s: $KILLED})"
		[ -z "$LEFT" ] || { log "error: nginx still running: $LEFT"; DOWN_FAILED+=" $LEFT"; }
	fi
	return 0
}

status() {
	local f
	printf '%-16s %s\n' redis "$(alive "$VAR/run/redis.pid" && echo "up :$REDIS_PORT" || echo down)"
	printf '%-16s %s\n' postgres "$( [ -e "$VAR/pg" ] && as_pg "$PGBIN/pg_ctl" -D "$(readlink -f "$(pg_dir)")/data" status >/dev/null 2>&1 && echo "up :$PG_PORT" || echo down)"
	printf '%-16s %s\n' nginx "$(alive "$VAR/run/nginx.pid" && echo "up :$PORT" || echo down)"
	for f in "$VAR"/run/*.[0-9]*.pid; do
		[ -f "$f" ] || continue
		local n
		n=$(basename "$f" .pid)
		printf '%-16s %s\n' "$n" "$(alive "$f" && echo up || echo down)"
	done
}

# The ports of this stack that had a listener: nginx, Redis, Postgres and the
# supervised services (by their pid files).
ports_of_stack() {
	local f p
	{
		echo "$PORT"; echo $((PORT + 1)); echo $((PORT + 2))
		for f in "$VAR"/run/*.[0-9]*.pid; do
			[ -f "$f" ] && svc_port "$(basename "$f" .pid)"
		done
	} | sort -un | while read -r p; do [ -n "$p" ] && echo "$p"; done
	return 0
}
# Waits (up to 5 s) until none of the given ports has a listener; reports
# the truth either way.
ports_free() {
	local busy p
	for _ in $(seq 50); do
		busy=""
		for p in $(listening_ports); do
			case " $* " in *" $p "*) busy+=" $p" ;; esac
		done
		[ -z "$busy" ] && { log "ports free: $*"; return 0; }
		sleep 0.1
	done
	for p in $busy; do
		log "error: port $p still has a listener: $(port_holders "$p")"
		DOWN_FAILED+=" port:$p"
	done
	return 0
}

case "${1:-}" in
up)
	var_private
	redis_up
	pg_up
	services_up
	nginx_up
	;;
down)
	DOWN_FAILED=""
	down_ports=$(ports_of_stack)
	nginx_down
	services_down
	redis_down
	pg_down
	ports_free $down_ports
	[ -z "$DOWN_FAILED" ] || die "not everything stopped:$DOWN_FAILED"
	;;
logwatch) logwatch ;;
logwatch-once) logwatch_once ;;
status) status ;;
pg-conninfo) pg_conninfo ;;
redis-password) redis_password ;;
redis-up) redis_up ;;
redis-down) redis_down ;;
pg-up) pg_up ;;
pg-down) pg_down ;;
nginx-up) nginx_up ;;
nginx-down) nginx_down ;;
services-up) services_up ;;
services-down) services_down ;;
*) echo "usage: $0 up|down|status|pg-conninfo|redis-password|redis-up|redis-down|pg-up|pg-down|nginx-up|nginx-down|services-up|services-down|logwatch-once" >&2; exit 2 ;;
esac
