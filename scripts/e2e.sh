#!/usr/bin/env bash
# The browser end-to-end test: builds the example server, starts it fresh (temporary SQLite
# database and key file, a free port on 127.0.0.1), waits for /healthz, runs
# tests/e2e/web.spec.mjs in headless Debian Chromium, and always stops the server.
#
# Needs /usr/bin/chromium, Node.js >= 18 and tests/e2e/node_modules (scripts/setup.sh
# installs them). A failure leaves a screenshot in target/e2e/ and prints the server log.
# Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

[ -x /usr/bin/chromium ] || { echo "e2e: /usr/bin/chromium is missing; run scripts/setup.sh" >&2; exit 1; }
[ -f tests/e2e/node_modules/playwright-core/package.json ] ||
  { echo "e2e: tests/e2e/node_modules is missing; run scripts/setup.sh" >&2; exit 1; }

cargo build -q -p example-server
# Where cargo put it: CARGO_TARGET_DIR when set (relative to the workspace), else target/.
target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in /*) ;; *) target_dir="$root/$target_dir" ;; esac
server_bin="$target_dir/debug/example-server"

. scripts/example-server.sh
# SSO domains are verified from a records file the test writes (no DNS on this machine).
example_server_args=(--dns-txt-file "$tmp/txt-records")
start_example_server "$server_bin"
echo "e2e: server $server_pid on $base (database $tmp/auth.db)"

status=0
# TMPDIR: the browser profiles and playwright-core's scratch folders go with $tmp.
# E2E_SERVER_LOG: the demo's console mailer prints emailed codes there; the test reads them.
# E2E_DNS_TXT_FILE: where the test publishes an SSO domain's TXT record.
TMPDIR="$tmp" E2E_ARTIFACTS="$root/target/e2e" E2E_SERVER_LOG="$tmp/server.log" \
  E2E_DNS_TXT_FILE="$tmp/txt-records" \
  node tests/e2e/web.spec.mjs "$base" || status=$?
if [ "$status" -ne 0 ]; then
  echo "e2e: FAILED; the server's log:" >&2
  tail -n 60 "$tmp/server.log" >&2 || true
fi
exit "$status"
