#!/usr/bin/env bash
# regions.sh - geo-distribution, small and honest: one whole stack per region
# (its own Redis, Postgres, services, matcher and nginx: regions share
# nothing, so each region's matcher pairs only within it), and a regional
# front nginx that routes every request to its region (nginx/regions.conf.in,
# nginx/regions.js).
#
#   scripts/regions.sh up | down | status
#
# Environment:
#   REGIONS="west:-1000000,-1000000,0,1000000 east:0,-1000000,1000000,1000000"
#            name:xmin,ymin,xmax,ymax per region; the first box holding a
#            location wins (here x=0 is west)
#   PORT=8080            the front's port; region i's stack runs on PORT+REGION_STEP*(i+1)
#   REGION_STEP=100      distance between the regions' ports (each stack uses PORT..PORT+59)
#   VAR_DIR=var          region NAME's files in VAR_DIR/region-NAME, the front's in VAR_DIR/regions
# Everything else (SCALE, TICK_MS, ...) is passed on to each region's stack.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${PORT:-8080}
REGIONS=${REGIONS:-"west:-1000000,-1000000,0,1000000 east:0,-1000000,1000000,1000000"}
STEP=${REGION_STEP:-100}
VAR=${VAR_DIR:-$ROOT/var}
case "$VAR" in /*) ;; *) VAR=$ROOT/$VAR ;; esac
FRONT=$VAR/regions
log() { printf '%s regions: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

names=() ports=()
i=0
for r in $REGIONS; do
	n=${r%%:*}
	[[ $n =~ ^[a-z][a-z0-9-]{0,30}$ ]] || { log "bad region name '$n'"; exit 2; }
	[[ ${r#*:} =~ ^-?[0-9.e+]+,-?[0-9.e+]+,-?[0-9.e+]+,-?[0-9.e+]+$ ]] || { log "bad box in '$r'"; exit 2; }
	names+=("$n"); ports+=($((PORT + STEP * (i + 1)))); i=$((i + 1))
done

region_stack() { # i ARGS...
	local i=$1; shift
	PORT=${ports[$i]} VAR_DIR=$VAR/region-${names[$i]} bash "$ROOT/scripts/stack.sh" "$@"
}

front_conf() {
	mkdir -p "$FRONT/nginx"/{client_body,proxy,fastcgi,uwsgi,scgi} "$FRONT/log" "$FRONT/run"
	local ups="" named="" i
	for i in "${!names[@]}"; do
		ups+="    upstream region_${names[$i]} { server 127.0.0.1:${ports[$i]} max_fails=0; keepalive 16; }\n"
		named+="        \"~^${names[$i]}:\" ${names[$i]};\n        \":${names[$i]}\" ${names[$i]};\n"
	done
	local user_line=""
	[ "$(id -u)" -eq 0 ] && user_line="user root root;"
	sed -e "s|@USER_LINE@|$user_line|" -e "s|@VAR@|$FRONT|g" -e "s|@ROOT@|$ROOT|g" -e "s|@PORT@|$PORT|" \
		-e "s|@REGIONS@|$REGIONS|g" -e "s|@FIRST@|${names[0]}|" \
		-e "s|@UPSTREAMS@|$ups|" -e "s|@NAMED_MAP@|$named|" \
		"$ROOT/nginx/regions.conf.in" > "$FRONT/nginx/nginx.conf"
}

front_up() {
	[ -f /usr/lib/nginx/modules/ngx_http_js_module.so ] || { log "needs libnginx-mod-http-js (scripts/deps.sh)"; exit 1; }
	front_conf
	nginx -t -q -p "$FRONT/nginx" -c "$FRONT/nginx/nginx.conf" 2>>"$FRONT/log/nginx-error.log" ||
		{ log "front config invalid (see $FRONT/log/nginx-error.log)"; exit 1; }
	if [ -f "$FRONT/run/nginx.pid" ] && kill -0 "$(cat "$FRONT/run/nginx.pid")" 2>/dev/null; then
		nginx -p "$FRONT/nginx" -c "$FRONT/nginx/nginx.conf" -s reload
	else
		nginx -p "$FRONT/nginx" -c "$FRONT/nginx/nginx.conf"
	fi
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && { log "front up on http://127.0.0.1:$PORT (${names[*]})"; return; }
		sleep 0.1
	done
	log "front did not start"; exit 1
}

front_down() {
	if [ -f "$FRONT/run/nginx.pid" ]; then
		local pid
		pid=$(cat "$FRONT/run/nginx.pid")
		kill -QUIT "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		rm -f "$FRONT/run/nginx.pid"
		log "front stopped"
	fi
}

case "${1:-}" in
up)
	for i in "${!names[@]}"; do log "region ${names[$i]} on port ${ports[$i]}"; region_stack "$i" up; done
	front_up
	;;
down)
	front_down
	for i in "${!names[@]}"; do region_stack "$i" down; done
	;;
status)
	for i in "${!names[@]}"; do echo "== region ${names[$i]} (port ${ports[$i]})"; region_stack "$i" status; done
	;;
ports) for i in "${!names[@]}"; do echo "${names[$i]} ${ports[$i]}"; done ;;
*) echo "usage: $0 up|down|status|ports" >&2; exit 2 ;;
esac
