#!/usr/bin/env bash
# Stops the throwaway PostgreSQL cluster, PgBouncer and S3 server the test
# harness started under target/, and removes them.
set -u
target="${CARGO_TARGET_DIR:-$(dirname "$0")/../../target}"
s3="$target/testkit-s3"
if [ -f "$s3/pid" ]; then kill "$(cat "$s3/pid")" 2>/dev/null; fi
rm -rf "$s3"
dir="$target/testkit-pg"
[ -d "$dir" ] || exit 0
for pidfile in "$dir"/pgbouncer-*/pgbouncer.pid; do
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
done
if [ -f "$dir/data/postmaster.pid" ]; then
  pg_ctl=$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -n1)
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
  else
    "$pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
  fi
fi
rm -rf "$dir"
