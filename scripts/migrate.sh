#!/usr/bin/env bash
# migrate.sh - applies migrations/NNN_*.sql in order, once each, recording
# them in schema_migrations. Needs PG_CONNINFO.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${PG_CONNINFO:?PG_CONNINFO is not set}"
q() { PGOPTIONS="--client-min-messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$PG_CONNINFO" "$@"; }
q -c "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
for f in "$ROOT"/migrations/*.sql; do
	[ -f "$f" ] || continue
	n=$(basename "$f")
	if [ -z "$(q -At -c "SELECT 1 FROM schema_migrations WHERE name = '$n'")" ]; then
		q -1 -f "$f" -c "INSERT INTO schema_migrations (name) VALUES ('$n')"
		echo "migrate: applied $n" >&2
	fi
done
