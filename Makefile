# Developer workflow: thin wrappers over scripts/ (docs/testing.md explains each layer).
#   make                 list the targets
#   make db-up           a dev cluster with the extension; prints the env to export
#   make e2e TEST=client_rules NAME=redirect_uris   one pgrx-tests file, one test
#   make http-test TEST=front NAME=CORS             one e2e/tests file, the tests matching a name
#   make test PG=17      the whole suite on one PostgreSQL major (without PG: all of them)
# Every test level runs one test by name: pgtest NAME=, e2e TEST= NAME=, http-test TEST= NAME=,
# golden TEST=. PG picks the PostgreSQL major (15, 17 or 18) of every target, through
# scripts/lib.sh (which also honours PG_CONFIG); without it, 15, except make test, which then
# runs every major. Ports and directories come from scripts/lib.sh's plans.
PG ?=
ifneq ($(PG),)
export PG_MAJOR := $(PG)
endif
SHELL := /bin/bash
# Sets PG_MAJOR, PG_CONFIG, PGBIN and the rest of scripts/lib.sh for the rest of a recipe line;
# LIB_ONLY the rest without selecting a server (for what needs none).
LIB := source scripts/lib.sh &&
LIB_ONLY := OAUTH_LIB_NO_SELECT=1 source scripts/lib.sh &&
# Where test.sh's throwaway clusters live (also used by pgtest, golden and http-test).
OAUTH_TEST_DIR ?= /tmp/oauth_server-test
export OAUTH_TEST_DIR
# The dev cluster of db-up / db-down / e2e (its port is the plan's PLAN_DEV_PG).
DEV_DIR ?= /tmp/oauth_server-dev
ifndef DEV_PORT
DEV_PORT := $(shell OAUTH_LIB_NO_SELECT=1 source scripts/lib.sh && echo $$PLAN_DEV_PG)
endif
OAUTH_TEST_PGHOST ?= $(DEV_DIR)/sock
OAUTH_TEST_PGPORT ?= $(DEV_PORT)
# pgtest: NAME = a #[pg_test] name (substring).
# e2e: TEST = a file of pgrx-tests/tests (without .rs), NAME = a test function (substring).
# http-test: TEST = files of e2e/tests (without .test.js), NAME = a test name (pattern).
# golden: TEST = files of tests/sql (without .sql).
TEST ?=
NAME ?=
# NO_INSTALL=1 skips `cargo pgrx install` before the targets that need the extension installed.
NO_INSTALL ?=
INSTALL := $(if $(NO_INSTALL),,install)

.DEFAULT_GOAL := help
.PHONY: help unit pgtest install db-up db-down e2e http-test front-e2e golden links upgrade-test \
	bench bench-http bench-replicas replica-test failover-test proof fuzz lint test run package \
	package-test

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  variables: PG=15|17|18 (or PG_CONFIG=…)  TEST=  NAME=  NO_INSTALL=1"

unit: ## unit tests, no Postgres (oauth-core, oauth-front)
	$(LIB_ONLY) cargo test "$${UNIT_CRATES[@]}"

pgtest: ## #[pg_test] tests in a Postgres started by cargo-pgrx (NAME=test)
	$(LIB) pg_test_run "$(OAUTH_TEST_DIR)" "$(NAME)"

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
	$(LIB_ONLY) OAUTH_TEST_PGHOST="$(OAUTH_TEST_PGHOST)" OAUTH_TEST_PGPORT="$(OAUTH_TEST_PGPORT)" \
	  e2e_run "$(TEST)" "$(NAME)"

http-test: $(INSTALL) ## oauth-front over HTTP: e2e/tests (TEST=file…, NAME=test) on a stack of its own
	cargo build -p oauth-front
	HTTP_TEST_NAME="$(NAME)" bash scripts/http-test.sh $(TEST)

front-e2e: http-test ## the same as http-test (its former name)

golden: $(INSTALL) ## the docs' SQL examples vs tests/expected (TEST=file; GOLDEN_UPDATE=1 rewrites)
	bash scripts/golden-test.sh $(TEST)

links: ## only the docs' relative link check (no Postgres)
	GOLDEN_LINKS_ONLY=1 bash scripts/golden-test.sh

upgrade-test: $(INSTALL) ## every released version upgrades to this one, schema and data intact
	bash scripts/upgrade-test.sh

replica-test: $(INSTALL) ## a primary and a hot standby: the read routes on the standby (--replica-url)
	cargo build -p oauth-front
	$(LIB) bash scripts/replica-test.sh "$$(front_bin debug)"

failover-test: $(INSTALL) ## pg_auto_failover: the primary killed under load, nothing lost (as root)
	cargo build -p oauth-front
	$(LIB) bash scripts/failover-test.sh "$$(front_bin debug)" 20 8

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

lint: ## cargo fmt --check, clippy -D warnings, the repository checks (no Postgres)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo test -p repo-checks

test: ## the whole suite, what CI runs (scripts/test.sh): every major, or PG=17 alone
	bash scripts/test.sh

package: ## the .deb packages into target/packages/ (PG_MAJORS="15 17 18"; docs/packaging.md)
	bash scripts/package.sh

package-test: package ## install the packages with dpkg, a flow on each major, remove (as root)
	bash scripts/package-test.sh

run: ## run locally: cluster + demo client + oauth-front on http://localhost:8080
	bash scripts/run-local.sh
