#!/bin/sh
# docker-entrypoint.sh - rating-svc in a container: the Postgres password
# comes from a secret file (PG_PASSWORD_FILE, e.g. /run/secrets/pg_password)
# and reaches libpq as PGPASSWORD, so it never sits in PG_CONNINFO.
set -e
if [ -n "${PG_PASSWORD_FILE:-}" ] && [ -r "$PG_PASSWORD_FILE" ]; then
	PGPASSWORD=$(cat "$PG_PASSWORD_FILE")
	export PGPASSWORD
fi
exec "$@"
