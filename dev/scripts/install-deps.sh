#!/usr/bin/env bash
# Installs what the tests and the local stack need and a fresh machine may
# lack: PostgreSQL server binaries and headless Chromium for the browser test
# (Debian packages), PgBouncer 1.24 (built from Debian's source archive) and
# the S3 server (crates.io). A no-op when they are present.
set -euo pipefail

have_postgres() {
  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
# PgBouncer 1.21+ keeps its clients' named prepared statements in transaction
# mode (max_prepared_statements), as Supabase's dedicated pooler does; the
# PgBouncer test pass uses them. Debian 12 ships 1.18, so the release of
# Debian 13 is built from Debian's own source archive, checked by the
# checksum its Sources index publishes.
PGBOUNCER_VERSION=1.24.1
PGBOUNCER_SHA256=da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0
have_pgbouncer() {
  local version
  version=$(PATH="/usr/local/bin:$PATH" pgbouncer --version 2>/dev/null | awk 'NR == 1 {print $2}')
  [ -n "$version" ] && [ "$(printf '%s\n1.21.0\n' "$version" | sort -V | head -1)" = "1.21.0" ]
}

missing=()
have_postgres || missing+=(postgresql)
have_pgbouncer || missing+=(libevent-dev libssl-dev pkg-config make gcc)
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
if ! have_pgbouncer; then
  echo "building PgBouncer $PGBOUNCER_VERSION (under a minute)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  build=$(mktemp -d)
  tarball="pgbouncer_$PGBOUNCER_VERSION.orig.tar.gz"
  curl -fsSL -o "$build/$tarball" "http://deb.debian.org/debian/pool/main/p/pgbouncer/$tarball"
  echo "$PGBOUNCER_SHA256  $build/$tarball" | sha256sum -c --quiet
  tar -xzf "$build/$tarball" -C "$build"
  (cd "$build/pgbouncer-$PGBOUNCER_VERSION" \
    && ./configure --quiet --prefix=/usr/local --without-cares --without-pam --without-systemd >/dev/null \
    && make --quiet -j"$(nproc)" >/dev/null && $sudo make --quiet install >/dev/null)
  rm -rf "$build"
  have_pgbouncer || { echo "PgBouncer $PGBOUNCER_VERSION did not install" >&2; exit 1; }
fi
# The S3-compatible server of the tests and the local stack (pinned: newer
# versions need a newer rustc than the machine's).
if ! command -v s3s-fs >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs" ]; then
  echo "installing s3s-fs (cargo install, a few minutes)"
  cargo install --quiet --locked s3s-fs@0.14.1 --features binary
fi

# Debian's package starts a system cluster of its own; the project never uses
# it (tests and `make dev` run their own clusters), so it is left alone.
