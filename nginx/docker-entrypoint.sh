#!/bin/sh
# docker-entrypoint.sh - nginx in a container: fills nginx.conf.in (the same
# template scripts/stack.sh fills) from the environment, then runs nginx in
# the foreground. Upstreams are lists of host:port, by default the service
# names of the compose file and the Kubernetes manifests:
#   RIDER_UPSTREAM=rider-svc:8080 DRIVER_UPSTREAM=driver-svc:8080
#   RATING_UPSTREAM=rating-svc:8080 COMM_UPSTREAM=comm-svc:8080
#   NGINX_PORT=8080 RATE_LIMIT=50 RATE_BURST=100 CONN_LIMIT=64 CLIENT_TIMEOUT=10
# NGINX_RENDER_ONLY=1 writes the config and exits (used by the offline check).
set -eu
TEMPLATE=${NGINX_TEMPLATE:-/etc/ridematch/nginx.conf.in}
VAR=${NGINX_VAR:-/var/lib/ridematch}
DASHBOARD=${DASHBOARD_DIR:-/srv/dashboard}
servers() {
	out=""
	for s in $1; do out="${out}server $s max_fails=0; "; done
	printf '%s' "$out"
}
mkdir -p "$VAR/nginx/client_body" "$VAR/nginx/proxy" "$VAR/nginx/fastcgi" "$VAR/nginx/uwsgi" \
	"$VAR/nginx/scgi" "$VAR/log" "$VAR/run"
sed -e "s|@USER_LINE@||" \
	-e "s|@NGINX_WORKERS@|${NGINX_WORKERS:-auto}|" \
	-e "s|@VAR@|$VAR|g" \
	-e "s|@ACCESS_LOG@|${NGINX_ACCESS_LOG:-off}|" \
	-e "s|@LISTEN@|${NGINX_LISTEN:-0.0.0.0}|" \
	-e "s|@PORT@|${NGINX_PORT:-8080}|" \
	-e "s|@CLIENT_TIMEOUT@|${CLIENT_TIMEOUT:-10}|g" \
	-e "s|@RATE_LIMIT@|${RATE_LIMIT:-50}|" \
	-e "s|@RATE_BURST@|${RATE_BURST:-100}|" \
	-e "s|@CONN_LIMIT@|${CONN_LIMIT:-64}|" \
	-e "s|@LOOPBACK_EXEMPT@|$([ "${RATE_LIMIT_LOOPBACK:-0}" = 1 ] && echo 0 || echo 1)|" \
	-e "s|@RIDER_SERVERS@|$(servers "${RIDER_UPSTREAM:-rider-svc:8080}")|" \
	-e "s|@DRIVER_SERVERS@|$(servers "${DRIVER_UPSTREAM:-driver-svc:8080}")|" \
	-e "s|@RATING_SERVERS@|$(servers "${RATING_UPSTREAM:-rating-svc:8080}")|" \
	-e "s|@COMM_SERVERS@|$(servers "${COMM_UPSTREAM:-comm-svc:8080}")|" \
	-e "s|@DASHBOARD@|$DASHBOARD|" \
	"$TEMPLATE" > "$VAR/nginx/nginx.conf"
# workers (nobody) write the temp paths
chown -R nobody "$VAR/nginx" 2>/dev/null || true
[ "${NGINX_RENDER_ONLY:-0}" = 1 ] && { echo "$VAR/nginx/nginx.conf"; exit 0; }
# logs to the container's output
ln -sf /dev/stderr "$VAR/log/nginx-error.log"
exec nginx -p "$VAR/nginx" -c "$VAR/nginx/nginx.conf" -g 'daemon off;'
