# The two promises of the README: `make dev` runs the system locally, `make
# test` passes the tests. Both install what a fresh machine lacks.

SHELL := /bin/bash
CARGO ?= cargo

.PHONY: deps test test-direct test-pgbouncer dev migrate lint fmt clean-test-servers

deps:
	@dev/scripts/install-deps.sh

## The whole suite twice: functions' connections straight to PostgreSQL, then
## through PgBouncer in transaction pooling mode (as Supabase's port 6543).
test: deps
	@trap 'dev/scripts/stop-test-servers.sh' EXIT; \
	  $(MAKE) --no-print-directory test-direct && $(MAKE) --no-print-directory test-pgbouncer

test-direct:
	$(CARGO) test --workspace

test-pgbouncer:
	TEST_VIA_PGBOUNCER=1 $(CARGO) test --workspace --tests --exclude replicate-sim

## Local stack: PostgreSQL with migrations and demo data (grows with the
## functions). Ctrl-C stops it.
dev: deps
	@dev/scripts/dev.sh

## Applies migrations/ to DATABASE_ADMIN_URL (a real Supabase project too:
## the supabase/ emulation files are refused there).
migrate:
	$(CARGO) run --quiet -p migrate -- --dir migrations

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean-test-servers:
	@dev/scripts/stop-test-servers.sh
