# Developer workflow: thin wrappers over scripts/ (docs/testing.md explains each layer).
#   make                 list the targets
#   make db-up           a dev cluster with the extension; prints the env to export
#   make e2e TEST=client_rules NAME=redirect_uris   one pgrx-tests file, one test
#   make test PG=17      the whole suite on one PostgreSQL major (without PG: all of them)
# PG picks the PostgreSQL major (15, 17 or 18) of every target, through scripts/lib.sh (which
# also honours PG_CONFIG); without it, 15, except make test, which then runs every major.
PG ?=
ifneq ($(PG),)
export PG_MAJOR := $(PG)
endif
SHELL := /bin/bash
# Sets PG_MAJOR, PG_CONFIG and PGBIN for the rest of a recipe line.
LIB := source scripts/lib.sh &&
# Where test.sh's throwaway clusters live (also used by pgtest and golden).
OAUTH_TEST_DIR ?= /tmp/oauth_server-test
export OAUTH_TEST_DIR
# The dev cluster of db-up / db-down / e2e.
DEV_DIR ?= /tmp/oauth_server-dev
DEV_PORT ?= 55440
OAUTH_TEST_PGHOST ?= $(DEV_DIR)/sock
OAUTH_TEST_PGPORT ?= $(DEV_PORT)
# e2e: TEST = a file of pgrx-tests/tests (without .rs), NAME = a test function (substring).
# golden: TEST = a file of tests/sql (without .sql).
TEST ?=
NAME ?=
# NO_INSTALL=1 skips `cargo pgrx install` before the targets that need the extension installed.
NO_INSTALL ?=
INSTALL := $(if $(NO_INSTALL),,install)

.DEFAULT_GOAL := help
.PHONY: help unit pgtest install db-up db-down e2e front-e2e golden links upgrade-test bench \
	bench-http bench-replicas replica-test failover-test proof fuzz lint test run package package-test

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  variables: PG=15|17|18 (or PG_CONFIG=…)  TEST=  NAME=  NO_INSTALL=1"

unit: ## unit tests, no Postgres (oauth-core, oauth-front)
	cargo test -p oauth-core
	cargo test -p oauth-front

pgtest: ## #[pg_test] tests in a Postgres started by cargo-pgrx
	rm -rf "$(OAUTH_TEST_DIR)/pgrx-data" && mkdir -p "$(OAUTH_TEST_DIR)" && chmod 777 "$(OAUTH_TEST_DIR)"
	$(LIB) CARGO_PGRX_TEST_RUNAS=postgres CARGO_PGRX_TEST_PGDATA="$(OAUTH_TEST_DIR)/pgrx-data" \
	  cargo pgrx test "pg$$PG_MAJOR"

install: ## build and install the extension into PostgreSQL PG (default 15)
	$(LIB) cargo pgrx install --pg-config "$$PG_CONFIG"

db-up: $(INSTALL) ## start a dev cluster (extension installed) and print the env for e2e
	@if [ -S "$(DEV_DIR)/sock/.s.PGSQL.$(DEV_PORT)" ]; then echo "dev cluster already running"; \
	  else bash scripts/cluster.sh start "$(DEV_DIR)" "$(DEV_PORT)"; fi
	@echo "# the dev cluster is up; for cargo test -p oauth_server_e2e, psql or the front:"
	@echo "export OAUTH_TEST_PGHOST=$(DEV_DIR)/sock OAUTH_TEST_PGPORT=$(DEV_PORT)"
	@echo "# psql -h $(DEV_DIR)/sock -p $(DEV_PORT) -U postgres"

db-down: ## stop the dev cluster
	bash scripts/cluster.sh stop "$(DEV_DIR)"

e2e: ## pgrx-tests over libpq against the dev cluster (TEST=file, NAME=test)
	@[ -S "$(OAUTH_TEST_PGHOST)/.s.PGSQL.$(OAUTH_TEST_PGPORT)" ] || \
	  { echo "no cluster at $(OAUTH_TEST_PGHOST):$(OAUTH_TEST_PGPORT): run make db-up first"; exit 1; }
	OAUTH_TEST_PGHOST="$(OAUTH_TEST_PGHOST)" OAUTH_TEST_PGPORT="$(OAUTH_TEST_PGPORT)" \
	  cargo test -p oauth_server_e2e $(if $(TEST),--test $(TEST)) -- --test-threads=4 $(NAME)

front-e2e: $(INSTALL) ## oauth-front over HTTP: the e2e/ npm suite, as scripts/test.sh runs it
	cargo build -p oauth-front
	bash -c 'set -euo pipefail; source scripts/stack.sh; W="$(OAUTH_TEST_DIR)"; \
	  trap stack_down EXIT; \
	  stack_up "$$W" "$${OAUTH_TEST_PORT:-55431}" "$${OAUTH_TEST_FRONT_PORT:-18080}" target/debug/oauth-front \
	    --register-per-minute 40 --purge-interval 5 --client-auth-failures-per-minute 10000; \
	  (cd e2e && FRONT_BIN="$$PWD/../target/debug/oauth-front" TLS_CERT="$$W/tls.crt" TLS_KEY="$$W/tls.key" \
	    PG_RESTART_CMD="bash ../scripts/cluster.sh restart $$W/cluster" npm test) \
	    || { echo "--- front log (tail)"; tail -40 "$$W/front.log"; exit 1; }; \
	  stack_no_server_errors'

golden: $(INSTALL) ## the docs' SQL examples vs tests/expected (TEST=file; GOLDEN_UPDATE=1 rewrites)
	bash scripts/golden-test.sh $(TEST)

links: ## only the docs' relative link check (no Postgres)
	GOLDEN_LINKS_ONLY=1 bash scripts/golden-test.sh

upgrade-test: $(INSTALL) ## every released version upgrades to this one, schema and data intact
	bash scripts/upgrade-test.sh

replica-test: $(INSTALL) ## a primary and a hot standby: the read routes on the standby (--replica-url)
	cargo build -p oauth-front
	bash scripts/replica-test.sh target/debug/oauth-front

failover-test: $(INSTALL) ## pg_auto_failover: the primary killed under load, nothing lost (as root)
	cargo build -p oauth-front
	bash scripts/failover-test.sh target/debug/oauth-front 20 8

bench-replicas: ## read capacity with 0, 1 and 2 hot standbys (release build)
	bash scripts/bench-replicas.sh

bench: ## SQL benchmarks (pgbench; release build)
	bash scripts/bench.sh

bench-http: ## HTTP benchmark against oidc-provider
	bash scripts/bench-http.sh

proof: ## attack, fuzz, soak and fault run, writes target/proof.md (~30 min)
	bash scripts/proof.sh

fuzz: ## cargo fuzz on every parser of untrusted input (FUZZ_SECONDS per target)
	bash scripts/fuzz.sh

lint: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

test: ## the whole suite, what CI runs (scripts/test.sh): every major, or PG=17 alone
	bash scripts/test.sh

package: ## the .deb packages into target/packages/ (PG_MAJORS="15 17 18"; docs/packaging.md)
	bash scripts/package.sh

package-test: package ## install the packages with dpkg, a flow on each major, remove (as root)
	bash scripts/package-test.sh

run: ## run locally: cluster + demo client + oauth-front on http://localhost:8080
	bash scripts/run-local.sh
