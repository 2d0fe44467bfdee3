#!/bin/sh
# First start of the PostgreSQL container only (docker-entrypoint-initdb.d): the
# least-privileged role the Consilium server connects as. POSTGRES_USER stays the
# owner; the server grants this role what it needs after migrating (on the audit
# tables only SELECT and INSERT). See docs/AUDIT.md.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE consilium_app LOGIN PASSWORD :'app_password';
SQL
