#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume
# (/docker-entrypoint-initdb.d). Two roles, least privilege:
#   erasure_owner  owns the database and every table; only the migrate service logs in as it.
#   erasure_app    web, workers, dispatcher: SELECT/INSERT/UPDATE/DELETE on the tables the
#                  owner creates, nothing else: no DDL, no TRUNCATE, and, not being the
#                  owner, no way to disable or drop the audit table's append-only trigger.
#                  On the audit log it may only INSERT events and read (core migration 0003).
#   erasure_log    the dispatcher: everything erasure_app may do, plus INSERT into the
#                  Merkle log's leaf and tree-head tables (granted by that migration).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v owner_password="$DB_OWNER_PASSWORD" -v app_password="$DB_APP_PASSWORD" \
     -v log_password="$DB_LOG_PASSWORD" <<'SQL'
CREATE ROLE erasure_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE erasure_app LOGIN PASSWORD :'app_password';
CREATE ROLE erasure_log LOGIN PASSWORD :'log_password' IN ROLE erasure_app;
CREATE DATABASE erasure OWNER erasure_owner;
REVOKE ALL ON DATABASE erasure FROM PUBLIC;
GRANT CONNECT ON DATABASE erasure TO erasure_app, erasure_log;
\connect erasure
ALTER SCHEMA public OWNER TO erasure_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO erasure_app;
ALTER DEFAULT PRIVILEGES FOR ROLE erasure_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO erasure_app;
ALTER DEFAULT PRIVILEGES FOR ROLE erasure_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO erasure_app;
SQL
