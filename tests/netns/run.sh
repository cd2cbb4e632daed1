#!/usr/bin/env bash
# run.sh - the stack on three "hosts" built on this machine with network
# namespaces: edge (nginx), app (the services and two matchers) and data
# (Redis, Postgres), joined by veth pairs to a bridge in a fourth namespace
# (the "switch"), on 10.77.0.0/24. Nothing touches the machine's own network:
# every address and link is inside namespaces this script creates.
#
#   edge 10.77.0.1 ──┐
#   app  10.77.0.2 ──┼── bridge (namespace rmsw-<id>)
#   data 10.77.0.3 ──┘
#
# Each part is started by scripts/stack.sh inside its namespace, told its
# peers' addresses by configuration (REDIS_HOST, PG_HOST, SVC_HOST,
# UPSTREAM_HOST, LISTEN). Then tests/netns/test_three_hosts.py runs inside the
# edge namespace (a client beside nginx) and cuts the app host's link.
# Everything is stopped and the namespaces deleted on exit, also on failure.
#   NETNS_PORT=14180 (ports PORT..PORT+60 inside the namespaces)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PORT=${NETNS_PORT:-14180}
export BUILD_DIR=${BUILD_DIR:-$ROOT/build}
export TICK_MS=${TEST_TICK_MS:-250}
export LEASE_MS=${TEST_LEASE_MS:-1500}
export SCALE=2
ID=$$
SW=rmsw-$ID EDGE=rmedge-$ID APP=rmapp-$ID DATA=rmdata-$ID
NET=10.77.0
declare -A ADDR=([$EDGE]=$NET.1 [$APP]=$NET.2 [$DATA]=$NET.3)
VARB=$ROOT/var/netns-$PORT
log() { printf '%s netns: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
	echo "netns: needs root (ip netns); skipped"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

stack() { # NS VARNAME ARGS... : scripts/stack.sh inside a namespace
	local ns=$1 var=$2
	shift 2
	ip netns exec "$ns" env VAR_DIR="$VARB/$var" REDIS_HOST=$NET.3 PG_HOST=$NET.3 SVC_HOST=$NET.2 \
		UPSTREAM_HOST=$NET.2 LISTEN=$NET.1 bash "$ROOT/scripts/stack.sh" "$@"
}

cleaned=0
cleanup() {
	[ $cleaned -eq 1 ] && return
	cleaned=1
	log "cleaning up"
	# processes first (by their pid files), then the namespaces
	VAR_DIR=$VARB/edge bash "$ROOT/scripts/stack.sh" nginx-down 2>/dev/null
	VAR_DIR=$VARB/app bash "$ROOT/scripts/stack.sh" services-down 2>/dev/null
	# Redis is asked to shut down from inside its namespace (never over this
	# machine's own network); without the namespace, by its pid
	if ip netns list | grep -q "^$DATA\b"; then
		stack $DATA data redis-down 2>/dev/null
	elif [ -f "$VARB/data/run/redis.pid" ]; then
		kill "$(cat "$VARB/data/run/redis.pid")" 2>/dev/null
	fi
	VAR_DIR=$VARB/data bash "$ROOT/scripts/stack.sh" pg-down 2>/dev/null
	local ns
	for ns in $EDGE $APP $DATA $SW; do
		# anything left in the namespace (nothing should be) goes with it
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	ip netns list | grep -q -- "-$ID\b" && log "warning: namespaces left: $(ip netns list | grep -- "-$ID")"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { log "error: $*"; echo "0 passed, 1 failed"; exit 1; }

log "namespaces $EDGE $APP $DATA on bridge in $SW"
ip netns add $SW || fail "ip netns add failed"
ip -n $SW link set lo up
ip -n $SW link add br0 type bridge || fail "no bridge in a namespace"
ip -n $SW link set br0 up
for ns in $EDGE $APP $DATA; do
	ip netns add "$ns" || fail "ip netns add $ns"
	ip -n "$ns" link set lo up
	# the veth pair is created inside the switch namespace, one end moved out
	ip -n $SW link add "p-${ns%%-*}" type veth peer name eth0 netns "$ns" || fail "veth for $ns"
	ip -n $SW link set "p-${ns%%-*}" master br0
	ip -n $SW link set "p-${ns%%-*}" up
	ip -n "$ns" addr add "${ADDR[$ns]}/24" dev eth0
	ip -n "$ns" link set eth0 up
done
for ns in $EDGE $APP; do
	# no ping here: a refused TCP connection proves the data host answers
	ok=0
	for _ in $(seq 50); do
		out=$(timeout 5 ip netns exec "$ns" bash -c "</dev/tcp/$NET.3/1" 2>&1)
		case "$out" in *refused*) ok=1; break ;; esac
		sleep 0.1
	done
	[ $ok -eq 1 ] || fail "$ns cannot reach $NET.3"
done

rm -rf "$VARB/data/redis" "$VARB"/*/log
stack $DATA data redis-up || fail "redis on the data host"
stack $DATA data pg-up || fail "postgres on the data host"
# the services need the Postgres and Redis password files the data host made
mkdir -p "$VARB/app/secrets" &&
	cp "$VARB/data/secrets/pg_password" "$VARB/data/secrets/redis_password" "$VARB/app/secrets/" &&
	chmod 600 "$VARB/app/secrets/"*
stack $APP app services-up || fail "services on the app host"
stack $EDGE edge nginx-up || fail "nginx on the edge host"

export NETNS_SW=$SW NETNS_APP=$APP NETNS_APP_LINK="p-${APP%%-*}" NETNS_EDGE_ADDR=$NET.1 NETNS_DATA_ADDR=$NET.3 \
	NETNS_APP_ADDR=$NET.2 NETNS_VAR=$VARB NETNS_REDIS_PASSWORD="$(cat "$VARB/data/secrets/redis_password")" NETNS_PG_CONNINFO="$(VAR_DIR=$VARB/data PG_HOST=$NET.3 bash "$ROOT/scripts/stack.sh" pg-conninfo)"
cd "$ROOT/tests/netns" || exit 1
ip netns exec $EDGE /usr/bin/python3 -m pytest -q -p no:cacheprovider ${TESTS:-.}
rc=$?
[ $rc -ne 0 ] && tail -n 20 "$VARB"/app/log/*.log >&2
exit $rc
