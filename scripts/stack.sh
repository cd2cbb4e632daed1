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
# Secrets (generated at the first start, var/secrets/): the Postgres password
# (services get PG_CONNINFO) and the Redis password (requirepass; services get
# REDIS_PASSWORD). `stack.sh redis-password` / `pg-conninfo` print them for tests.
set -euo pipefail

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

log() { printf '%s stack: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# A process is alive when it exists and is not a zombie (here the init may
# reap orphans late).
pid_alive() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }
alive() { [ -f "$1" ] && pid_alive "$(cat "$1" 2>/dev/null)"; }

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
	mkdir -p "$VAR/redis" "$VAR/run" "$VAR/log"
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
		rcli shutdown nosave >/dev/null 2>&1 || kill "$(cat "$VAR/run/redis.pid")" 2>/dev/null || true
		for _ in $(seq 50); do alive "$VAR/run/redis.pid" || break; sleep 0.1; done
		log "redis stopped"
	fi
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
		local ext=/var/tmp/ridematch-pg-$(echo "$VAR" | md5sum | cut -c1-12)
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
	dir=$(readlink -f "$(pg_dir)")
	data=$dir/data
	pw=$(pg_password)
	mkdir -p "$VAR/log"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$(readlink -f "$dir")"
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
		# the log lives beside the cluster (reachable by postgres), linked from var/log
		touch "$dir/postgres.log"
		[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/postgres.log"
		ln -sfn "$dir/postgres.log" "$VAR/log/postgres.log"
		as_pg "$PGBIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
			-o "-p $PG_PORT -c listen_addresses=$PG_HOST -c unix_socket_directories=$(readlink -f "$dir")" \
			start >/dev/null || die "postgres did not start (see $VAR/log/postgres.log)"
		log "postgres up on $PG_HOST:$PG_PORT"
	fi
	PGPASSWORD=$pw psql -qAt "host=$PG_HOST port=$PG_PORT user=postgres dbname=postgres" \
		-c "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1 ||
		PGPASSWORD=$pw psql -q "host=$PG_HOST port=$PG_PORT user=postgres dbname=postgres" \
			-c "CREATE DATABASE $PG_DB"
	PG_CONNINFO=$(pg_conninfo) bash "$ROOT/scripts/migrate.sh"
}

pg_down() {
	local dir
	[ -e "$VAR/pg" ] || return 0
	dir=$(readlink -f "$(pg_dir)")
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
		log "postgres stopped"
	fi
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
	PG_CONNINFO=$(pg_conninfo) REDIS_PASSWORD=$(redis_password) nohup setsid bash "$ROOT/scripts/supervise.sh" "$name.$i" "$VAR/log/$name.$i.log" \
		"$BUILD/bin/$name" $(svc_args "$name" "$port") >/dev/null 2>&1 &
	echo $! > "$pidf"
	STARTED+=("$name.$i:$port")
}

services_up() {
	mkdir -p "$VAR/run" "$VAR/log"
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

services_down() {
	local f pids=()
	for f in "$VAR"/run/*.[0-9]*.pid; do
		[ -f "$f" ] || continue
		if alive "$f"; then kill -TERM "$(cat "$f")" 2>/dev/null || true; pids+=("$(cat "$f")"); fi
	done
	for _ in $(seq 100); do
		local any=0 p
		for p in "${pids[@]}"; do pid_alive "$p" && any=1; done
		[ $any -eq 0 ] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -f "$VAR"/run/*.[0-9]*.pid
	[ ${#pids[@]} -gt 0 ] && log "services stopped (${#pids[@]})"
	return 0
}

# ---------------------------------------------------------------- nginx
servers_line() {
	local off=$1 i out=""
	for ((i = 0; i < SCALE; i++)); do out+="server $UPSTREAM_HOST:$((PORT + off + i)) max_fails=0; "; done
	echo "$out"
}

nginx_conf() {
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
		local pid
		pid=$(cat "$VAR/run/nginx.pid")
		kill -QUIT "$pid" 2>/dev/null || true
		for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		log "nginx stopped"
	fi
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

case "${1:-}" in
up)
	redis_up
	pg_up
	services_up
	nginx_up
	;;
down)
	nginx_down
	services_down
	redis_down
	pg_down
	;;
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
*) echo "usage: $0 up|down|status|pg-conninfo|redis-password|redis-up|redis-down|pg-up|pg-down|nginx-up|nginx-down|services-up|services-down" >&2; exit 2 ;;
esac
