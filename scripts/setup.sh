#!/usr/bin/env bash
# Installs what the workspace's tests and scripts need, if it is missing. Idempotent, and
# once everything is installed it needs no network.
#
# - a C compiler (build-essential) for crates that build C;
# - Debian's chromium and chromium-driver, for the browser test (scripts/e2e.sh);
# - wrk, the load generator of scripts/load-test.sh;
# - redis-server and redis-cli, for examples/redis-store's tests (AUTH_TEST_REDIS_URL);
# - tests/e2e/node_modules, at the versions pinned in package-lock.json: playwright-core (it
#   drives /usr/bin/chromium and never downloads a browser), otpauth (an independent TOTP
#   implementation), jsqr and pngjs (to read the page's QR code); with Node.js >= 18 and npm
#   (Debian's nodejs and npm when there is no node at all);
# - for samael (SAML, tests/saml-probe; with its `xmlsec` feature): pkg-config, libssl-dev,
#   libxml2-dev, libxmlsec1-dev (libxmlsec1-openssl is linked) and libclang-dev (samael's
#   build script runs bindgen: "Unable to find libclang" without it); binaries need libxml2,
#   libxmlsec1, libxmlsec1-openssl, libxslt1.1 and libssl3 at run time (pulled by the -dev
#   packages). A clean debug build of samael and its dependencies takes about 2 minutes
#   on 2 cores;
# - xmlsec1, the program: the test SAML IdP (pysaml2, tests/idp) signs with it, and
#   scripts/idp-smoke.sh verifies signatures with it;
# - tests/idp/node_modules, at the versions pinned in its package-lock.json: oidc-provider
#   8.x (the test OpenID provider; 9.x needs Node 22). The SAML IdP's Python packages go
#   into a venv of their own (tests/idp/idps.sh, run by scripts/idp-smoke.sh).
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
# samael with `xmlsec` (SAML signatures): C headers found through pkg-config, and libclang
# for bindgen.
if command -v pkg-config >/dev/null; then
  pkg-config --exists openssl || need+=(libssl-dev)
  pkg-config --exists libxml-2.0 || need+=(libxml2-dev)
  pkg-config --exists xmlsec1-openssl || need+=(libxmlsec1-dev)
else
  need+=(pkg-config libssl-dev libxml2-dev libxmlsec1-dev)
fi
compgen -G '/usr/lib/llvm-*/lib/libclang.so' >/dev/null || compgen -G '/usr/lib/*/libclang-*.so' >/dev/null ||
  need+=(libclang-dev)
command -v xmlsec1 >/dev/null || need+=(xmlsec1)
command -v openssl >/dev/null || need+=(openssl)
# scripts/api-fuzz.sh puts schemathesis in a venv of its own.
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# The browser test's Node packages: installed from package-lock.json unless every pinned
# package is already there (npm ls reads node_modules only: no network).
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
  { echo "setup: Node.js >= 18 is required (tests/e2e), found $(node --version)" >&2; exit 1; }
if ! (cd tests/e2e && npm ls --depth=0 >/dev/null 2>&1); then
  echo "setup: npm ci in tests/e2e (playwright-core, otpauth, jsqr, pngjs as package-lock.json pins them)"
  (cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
# The test OpenID provider (tests/idp): oidc-provider as its package-lock.json pins it.
if ! (cd tests/idp && npm ls --depth=0 >/dev/null 2>&1); then
  echo "setup: npm ci in tests/idp (oidc-provider as package-lock.json pins it)"
  (cd tests/idp && npm ci --no-audit --no-fund)
fi
