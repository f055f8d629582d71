#!/usr/bin/env bash
# What a sign-in to the database with one of our tokens costs the server (PostgreSQL 18's OAuth
# validator), beside a SCRAM password sign-in, with 1 and 10,001 live families in the snapshot:
# the db-login stack (scripts/db-login-test.sh) on a durable cluster, then
# pgrx-tests/tests/db_login/bench.rs. Figures in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER_DURABILITY=durable DB_LOGIN_BENCH=1 DB_LOGIN_DIR=${DB_LOGIN_DIR:-/tmp/oauth_server-bench-db-login} \
  bash scripts/db-login-test.sh
