#!/usr/bin/env bash
# Installs what the tests and the local stack need and a fresh machine may
# lack: PostgreSQL server binaries and PgBouncer, and headless Chromium for
# the browser test (Debian packages). A no-op when they are present.
set -euo pipefail

have_postgres() {
  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
have_pgbouncer() {
  command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]
}

missing=()
have_postgres || missing+=(postgresql)
have_pgbouncer || missing+=(pgbouncer)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v zip >/dev/null 2>&1 || missing+=(zip)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# dev/gateway/tests/browser.rs (CHROMIUM may name another binary).
[ -n "${CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The S3-compatible server of the tests and the local stack (pinned: newer
# versions need a newer rustc than the machine's).
if ! command -v s3s-fs >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs" ]; then
  echo "installing s3s-fs (cargo install, a few minutes)"
  cargo install --quiet --locked s3s-fs@0.14.1 --features binary
fi

# Debian's package starts a system cluster of its own; the project never uses
# it (tests and `make dev` run their own clusters), so it is left alone.
