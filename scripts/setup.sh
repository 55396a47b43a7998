#!/usr/bin/env bash
# Installs what the workspace's tests and scripts need, if it is missing. Idempotent, and
# once everything is installed it needs no network.
#
# - a C compiler (build-essential) for crates that build C;
# - Debian's chromium and chromium-driver, for the browser test (scripts/e2e.sh);
# - wrk, the load generator of scripts/load-test.sh;
# - redis-server and redis-cli, for examples/redis-store's tests (AUTH_TEST_REDIS_URL);
# - tests/e2e/node_modules (playwright-core, at the version pinned in package-lock.json;
#   it drives /usr/bin/chromium and never downloads a browser), with Node.js >= 18 and npm
#   (Debian's nodejs and npm when there is no node at all).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "setup: cargo (rustup) is required" >&2; exit 1; }

need=()
command -v cc >/dev/null || need+=(build-essential)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v wrk >/dev/null || need+=(wrk)
{ command -v redis-server >/dev/null && command -v redis-cli >/dev/null; } || need+=(redis-server)
command -v curl >/dev/null || need+=(curl)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
# scripts/api-fuzz.sh puts schemathesis in a venv of its own.
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# The browser test's Node packages: installed from package-lock.json unless the pinned
# version is already there.
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
  { echo "setup: Node.js >= 18 is required (tests/e2e), found $(node --version)" >&2; exit 1; }
installed_version() {
  node -e 'try { console.log(require("./tests/e2e/node_modules/playwright-core/package.json").version) } catch { console.log("") }'
}
pinned_version() {
  node -e 'console.log(require("./tests/e2e/package-lock.json").packages["node_modules/playwright-core"].version)'
}
if [ "$(installed_version)" != "$(pinned_version)" ]; then
  echo "setup: npm ci in tests/e2e (playwright-core $(pinned_version))"
  (cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
