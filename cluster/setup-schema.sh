#!/bin/sh
# Creates Temporal's two PostgreSQL databases (persistence and visibility) when missing and
# migrates both to the newest schema the SQL tool knows. Safe to run again: an existing
# database is only migrated. The same script serves `npm run cluster -- up` and the compose
# file's schema service, so both set up the schema the same way.
# The schemas are the server module's schema/postgresql/v12/{temporal,visibility}, which the
# SQL tool of the same version embeds (--schema-name).
# Needs: SQL_TOOL (the temporal-sql-tool binary), SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD
# (read by the tool from the environment, never on a command line).
set -eu
: "${SQL_TOOL:?}" "${SQL_HOST:?}" "${SQL_PORT:?}" "${SQL_USER:?}" "${SQL_PASSWORD:?}"

setup() { # database, embedded schema name
  db=$1 schema=$2
  if out=$("$SQL_TOOL" --plugin postgres12 --db "$db" create-database --defaultdb postgres 2>&1); then
    # A new database: the version tables first, then every versioned step from 0.0.
    "$SQL_TOOL" --quiet --plugin postgres12 --db "$db" setup-schema -v 0.0
  elif ! printf '%s' "$out" | grep -q 'already exists'; then
    printf '%s\n' "$out" >&2
    echo "could not create database $db" >&2
    exit 1
  fi
  "$SQL_TOOL" --quiet --plugin postgres12 --db "$db" update-schema --schema-name "$schema"
}

setup "${TEMPORAL_DB:-temporal}" postgresql/v12/temporal
setup "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}" postgresql/v12/visibility
echo "schemas of ${TEMPORAL_DB:-temporal} and ${TEMPORAL_VISIBILITY_DB:-temporal_visibility} are current"
