#!/bin/sh
# docker-compose's `postgres-roles` step (the postgres image's psql, as the superuser, before any service
# starts): for each service a LOGIN role sms_<service> with its password from <SERVICE>_DB_PASSWORD, the
# database <service> owned by it that no other role may connect to, and whatever an earlier run made there
# as the superuser handed over to it (handover.sql). Idempotent, so it runs at every `docker compose up`
# and a changed password is a rotation. scripts/provision.py does the same for `make run` and `make cluster`.
set -eu
for service in gateway ledger billing reporting messaging webhooks; do
    variable="$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
    eval "password=\${$variable:-}"
    if [ -z "$password" ]; then
        echo "postgres-roles: $variable is not set (python -m scripts.provision passwords --env-file .env)" >&2
        exit 1
    fi
    # The password is read by psql from the environment (\getenv), never on a command line, and the
    # statement that carries it is kept out of the server's log.
    psql -v ON_ERROR_STOP=1 -q -d postgres -v role="sms_$service" -v db="$service" -v variable="$variable" <<'SQL'
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
\getenv password :variable
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
              :'role', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
\c :db
SELECT set_config('sms_credits.owner', :'role', false) \g /dev/null
\i /deploy/postgres/handover.sql
SQL
done
echo "postgres-roles: a role of its own for each service"
