#!/usr/bin/env bash
# The AWS-compatible API suites (t6…: the real aws CLI, SigV4, caches), unchanged, against a private
# PostgreSQL server (tests/pg.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../pg.sh"
pg_start || { fail "PostgreSQL server starts"; done_testing; exit 1; }
pg_run_suites '^t6[0-9]{3}-.*\.sh$'
done_testing
