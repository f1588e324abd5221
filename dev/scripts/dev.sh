#!/usr/bin/env bash
# `make dev`: the whole system locally, in the foreground:
#   PostgreSQL (own cluster under .dev/, migrations + demo data),
#   the S3-compatible server (s3s-fs, buckets `public` and `private`),
#   the Replicate simulator, and every function behind the API's paths on
#   the dev gateway (http://127.0.0.1:9000/api/v1/...), sweeper included.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ -f .env ] || cp .env.example .env
# The example first, so a .env from before a new variable existed still works.
set -a; source .env.example; source .env; set +a

state=.dev
data=$state/pg
port=${DEV_PG_PORT:-54322}
# The S3 server keeps bucket <b> at storage/v1/s3/<b>: clients reach it
# through the gateway's /storage/v1/s3 path, as on hosted Supabase.
mkdir -p "$state/s3/storage/v1/s3/public" "$state/s3/storage/v1/s3/private" "$state/logs"

pg_bin=$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)")
as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pids=()
stop() {
  trap - EXIT INT TERM
  echo; echo "stopping the local stack"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  as_server_user "$pg_bin/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
}
trap stop EXIT
trap 'stop; exit 130' INT TERM

echo "building the local binaries"
cargo build --quiet -p migrate -p replicate-sim -p gateway

if [ ! -f "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$data"
  as_server_user "$pg_bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 >/dev/null
fi
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$data" "$state/logs"
as_server_user "$pg_bin/pg_ctl" -D "$data" -l "$state/logs/postgres.log" -w \
  -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null
echo "PostgreSQL   127.0.0.1:$port"

target/debug/migrate --dir migrations --seed dev/seed.sql | tail -n 2
psql "$DATABASE_ADMIN_URL" -qc "alter role authenticator login password 'authenticator-local-only'" >/dev/null

s3s_fs=$(command -v s3s-fs || echo "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs")
"$s3s_fs" --host 127.0.0.1 --port "${S3_UPSTREAM_ADDR##*:}" --access-key "$S3_ACCESS_KEY_ID" \
  --secret-key "$S3_SECRET_ACCESS_KEY" "$state/s3" >"$state/logs/s3.log" 2>&1 &
pids+=($!)
echo "S3           $S3_ENDPOINT (the gateway in front of s3s-fs on $S3_UPSTREAM_ADDR; data: $state/s3)"

target/debug/replicate-sim >"$state/logs/replicate-sim.log" 2>&1 &
pids+=($!)
echo "Replicate    $REPLICATE_API_URL (simulator; control: $REPLICATE_API_URL/_sim/...)"

target/debug/gateway >"$state/logs/gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -s -o /dev/null "$API_BASE_URL/presets" && break
  sleep 0.1
done
echo "API          $API_BASE_URL (logs: $state/logs/)"

cat <<INFO

Local stack is up. Demo users (dev/seed.sql): alice (free), bob (weekly),
carol (monthly, with renders), dana (admin). Sign a token for one with
  HS256 secret \$SUPABASE_JWT_SECRET, aud "authenticated", role "authenticated", sub <user id>.
Press Ctrl-C to stop.
INFO
# Wait on a background sleep so a signal runs the trap at once.
while true; do sleep 3600 & wait $!; done
