# The two promises of the README: `make dev` runs the system locally, `make
# test` passes the tests. Both install what a fresh machine lacks.

SHELL := /bin/bash
CARGO ?= cargo

.PHONY: bench demo deps test test-direct test-sim-client test-contract test-pgbouncer dev migrate lint fmt clean-test-servers build deploy deploy-cargo-lambda

# Every Lambda of template.yaml.
FUNCTIONS := uploads submit-job get-job cancel-job replicate-webhook sweep-jobs \
             renders collections community community-admin usage presets account
STACK ?= interior-render

deps:
	@dev/scripts/install-deps.sh

## The whole suite twice: functions' connections straight to PostgreSQL, then
## through PgBouncer in transaction pooling mode (as Supabase's port 6543);
## between them, Replicate's official client against the simulator and the
## contract fuzzer over openapi.yaml (a few minutes at most).
test: deps
	@trap 'dev/scripts/stop-test-servers.sh' EXIT; \
	  $(MAKE) --no-print-directory test-direct && $(MAKE) --no-print-directory test-sim-client \
	  && $(MAKE) --no-print-directory test-contract && $(MAKE) --no-print-directory test-pgbouncer

test-direct:
	$(CARGO) test --workspace

## PyPI's `replicate` client, unchanged, against the Replicate simulator.
test-sim-client:
	CARGO=$(CARGO) dev/scripts/sim-official-client.sh

## Requests generated from openapi.yaml against the real gateway (schemathesis).
test-contract:
	CARGO=$(CARGO) dev/scripts/contract-fuzz.sh

## The second pass also keeps named prepared statements
## (DATABASE_PREPARED_STATEMENTS=true), which PgBouncer 1.21+ carries for its
## clients; the first pass covers the default, unnamed statements.
test-pgbouncer:
	TEST_VIA_PGBOUNCER=1 TEST_PREPARED_STATEMENTS=1 $(CARGO) test --workspace --tests --exclude replicate-sim

## Local stack: PostgreSQL with migrations and demo data (grows with the
## functions). Ctrl-C stops it.
dev: deps
	@dev/scripts/dev.sh

## With `make dev` running: a user journey over HTTP (token, upload, redesign,
## progress, favourite, renders, usage, image URLs).
demo:
	@set -a; source .env.example; [ -f .env ] && source .env; set +a; $(CARGO) run --quiet -p demo

## Every figure of BENCHMARKS.md, measured here and written into it.
bench: deps
	@dev/scripts/bench.sh

## Applies migrations/ to DATABASE_ADMIN_URL (a real Supabase project too:
## the supabase/ emulation files are refused there).
migrate:
	$(CARGO) run --quiet -p migrate -- --dir migrations

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@command -v cfn-lint >/dev/null || pip install --quiet cfn-lint
	cfn-lint template.yaml

## arm64 Lambda binaries, one cargo build for the whole workspace (shared
## dependencies compiled once): target/lambda/<function>/bootstrap, and a zip
## of each beside it (target/lambda/<function>.zip).
build:
	@command -v cargo-lambda >/dev/null || pip install --quiet cargo-lambda
	@rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	$(CARGO) lambda build --release --arm64 $(addprefix -p ,$(FUNCTIONS))
	@for f in $(FUNCTIONS); do \
	  (cd target/lambda/$$f && rm -f ../$$f.zip && zip -q -j -X ../$$f.zip bootstrap); \
	  printf '%-18s %8s bytes  zip %8s bytes\n' $$f $$(stat -c %s target/lambda/$$f/bootstrap) $$(stat -c %s target/lambda/$$f.zip); \
	done

## Deploy with SAM (see README "Deploy"): needs AWS credentials, the secret in
## Secrets Manager, and the parameters of template.yaml (prompted the first
## time with --guided, then remembered in samconfig.toml).
deploy: build
	sam deploy --template-file template.yaml --stack-name $(STACK) --capabilities CAPABILITY_IAM \
	  --resolve-s3 $(if $(wildcard samconfig.toml),,--guided)

## Alternative without SAM: update existing functions' code in place with
## cargo lambda (the functions and their configuration must exist already).
deploy-cargo-lambda: build
	@for f in $(FUNCTIONS); do $(CARGO) lambda deploy --binary-name $$f $(STACK)-$$f || exit 1; done

fmt:
	$(CARGO) fmt --all

clean-test-servers:
	@dev/scripts/stop-test-servers.sh
