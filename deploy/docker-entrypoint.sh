#!/bin/sh
# docker-entrypoint.sh - a service in its container (deploy/Dockerfile):
# runs /usr/local/bin/$SERVICE (the image's build argument) with the
# arguments given. When PG_PASSWORD_FILE names a readable file (a secret,
# e.g. /run/secrets/pg_password; rating-svc), its content reaches libpq as
# PGPASSWORD, so the password never sits in PG_CONNINFO.
set -e
: "${SERVICE:?SERVICE is not set: build the image with --build-arg SERVICE=<name>}"
if [ -n "${PG_PASSWORD_FILE:-}" ] && [ -r "$PG_PASSWORD_FILE" ]; then
	PGPASSWORD=$(cat "$PG_PASSWORD_FILE")
	export PGPASSWORD
fi
exec "${SERVICE_BIN_DIR:-/usr/local/bin}/$SERVICE" "$@"
