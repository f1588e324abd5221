#!/usr/bin/env bash
# `make dev`: the local stack in the foreground. Today: a PostgreSQL cluster
# of its own (under .dev/, port from .env) with every migration applied and
# the demo data seeded. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ -f .env ] || cp .env.example .env
set -a; source .env; set +a

state=.dev
data=$state/pg
port=${DEV_PG_PORT:-54322}
mkdir -p "$state"

pg_bin=$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)")
as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ ! -f "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$state"
  as_server_user "$pg_bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 >/dev/null
fi
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$state"

stop() {
  trap - EXIT INT TERM
  echo; echo "stopping PostgreSQL"
  as_server_user "$pg_bin/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
}
trap stop EXIT
trap 'stop; exit 130' INT TERM

as_server_user "$pg_bin/pg_ctl" -D "$data" -l "$state/postgres.log" -w \
  -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null
echo "PostgreSQL on 127.0.0.1:$port (log: $state/postgres.log)"

cargo build --quiet -p migrate
target/debug/migrate --dir migrations --seed dev/seed.sql | tail -n 2
psql "$DATABASE_ADMIN_URL" -qc "alter role authenticator login password 'authenticator-local-only'" >/dev/null

cat <<INFO

Local stack is up.
  admin:      $DATABASE_ADMIN_URL
  functions:  $DATABASE_URL
  demo users: see dev/seed.sql (free, weekly and monthly plans; one admin)
Press Ctrl-C to stop.
INFO
# wait on a background sleep so a signal runs the trap at once
while true; do sleep 3600 & wait $!; done
