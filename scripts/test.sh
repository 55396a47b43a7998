#!/usr/bin/env bash
# Runs every test of the workspace, then the browser end-to-end test (scripts/e2e.sh), the
# TOTP interop test against pyotp (scripts/totp-interop.sh), the smoke test of the SSO test
# identity providers (scripts/idp-smoke.sh) and the SCIM compliance checker scim2-tester
# against the example server (scripts/scim-interop.sh).
# Installs what a fresh machine lacks first. Fails if any fails.
#
# PostgreSQL tests run when AUTH_TEST_POSTGRES_URL names a server where they may create
# databases (.ci/run sets it to the machine's local server); otherwise they print SKIPPED.
# Likewise the Redis tests of examples/redis-store with AUTH_TEST_REDIS_URL.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

# Redis on this machine's default address: start a throwaway one (nothing on disk) if none
# answers there, as on a fresh machine where setup.sh just installed it.
if [ "${AUTH_TEST_REDIS_URL:-}" = "redis://127.0.0.1:6379" ] && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
fi

# This run's tag in the names of the databases and Redis keys its tests create, so the
# clean-up below removes this run's and never those of another run on the same servers.
export AUTH_TEST_RUN="${AUTH_TEST_RUN:-r$(date +%s)p$$}"

status=0
cargo test --workspace "$@" || status=$?

# cargo test shows a passing test's output only with --nocapture, so the tests' own SKIPPED
# lines would go unseen: say here, where it cannot be missed, what did not run.
[ -n "${AUTH_TEST_POSTGRES_URL:-}" ] ||
  echo "test.sh: SKIPPED the PostgreSQL tests (set AUTH_TEST_POSTGRES_URL to run them)" >&2
[ -n "${AUTH_TEST_REDIS_URL:-}" ] ||
  echo "test.sh: SKIPPED the Redis store's tests (set AUTH_TEST_REDIS_URL to run them)" >&2

# Each test binary made a database auth_test_<time>_<run>_<random> on the server; drop
# this run's.
if [ -n "${AUTH_TEST_POSTGRES_URL:-}" ] && command -v psql >/dev/null; then
  psql "$AUTH_TEST_POSTGRES_URL" -qtAc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'auth\_test\_%\_${AUTH_TEST_RUN}\_%'" 2>/dev/null |
    while read -r db; do
      [ -n "$db" ] && psql "$AUTH_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
fi

# The Redis tests (examples/redis-store) keep their keys under
# auth-test:<time>:<run>:<random>: (the conformance clock is in 2030, so they would not
# expire soon); delete this run's.
if [ -n "${AUTH_TEST_REDIS_URL:-}" ] && command -v redis-cli >/dev/null; then
  redis-cli -u "$AUTH_TEST_REDIS_URL" --scan --pattern "auth-test:*:${AUTH_TEST_RUN}:*" 2>/dev/null |
    xargs -r -n 500 redis-cli -u "$AUTH_TEST_REDIS_URL" unlink >/dev/null 2>&1 || true
fi

# The browser test against a freshly started example server (Debian chromium); cargo
# test's status wins when both fail.
e2e_status=0
./scripts/e2e.sh || e2e_status=$?
[ "$status" -ne 0 ] || status=$e2e_status

# TOTP codes computed by an independent implementation (pyotp) from the otpauth:// URI the
# example server returns.
interop_status=0
./scripts/totp-interop.sh || interop_status=$?
[ "$status" -ne 0 ] || status=$interop_status

idp_status=0
./scripts/idp-smoke.sh || idp_status=$?
[ "$status" -ne 0 ] || status=$idp_status

scim_status=0
./scripts/scim-interop.sh || scim_status=$?
[ "$status" -ne 0 ] || status=$scim_status
exit $status
