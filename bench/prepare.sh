#!/usr/bin/env bash
# Build the load-test database (bc_load on the local PostgreSQL): migrate, demo
# estate, 1M tasks per kind, role groups and the load users.  Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
DB="${LOAD_DB:-bc_load}"
PGHOST=127.0.0.1 PGUSER=postgres
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/${DB}"
export CELERY_BROKER_URL="${LOAD_BROKER:-redis://127.0.0.1:6379/13}"
export DEBUG="${DEBUG:-1}"  # demo data and demo logins: a development step
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='${DB}'" | grep -q 1 \
  || createdb -h 127.0.0.1 -U postgres "${DB}"
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_demo
.venv/bin/python manage.py seed_demo --tasks "${LOAD_TASKS:-1000000}"
.venv/bin/python manage.py create_demo_roles
psql -h 127.0.0.1 -U postgres -d "${DB}" -c "ANALYZE"
