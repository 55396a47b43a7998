#!/usr/bin/env bash
# SCIM interop: an independent SCIM compliance checker (Python's scim2-tester) runs every
# check it has against the example server's SCIM server (/scim/v2): discovery
# (ServiceProviderConfig, ResourceTypes, Schemas), then for Users and Groups creation,
# reading, attribute projection, replacement, PATCH add/replace/remove of each attribute
# the published schemas describe, and deletion. Any check that errors fails the script;
# checks skipped because the server does not claim the feature (a /.search across
# resource types) are listed. (scim2-tester has no /Bulk checks: /Bulk is proven by
# examples/server/tests/scim.rs.)
#
# Over HTTP first: an admin signs up, creates an organization and an OIDC connection, and
# turns SCIM on for it (PUT .../scim), which returns the bearer token the checker uses.
#
# Installs scim2-tester $SCIM2_TESTER_VERSION (with scim2-client's httpx2 engine) into a
# venv under ${XDG_CACHE_HOME:-~/.cache}/auth-rs/ (once), builds example-server (debug)
# and starts it fresh (scripts/example-server.sh). Honours CARGO_TARGET_DIR and
# SERVER_BIN (a binary to use instead of building).
set -euo pipefail
cd "$(dirname "$0")/.."

SCIM2_TESTER_VERSION=${SCIM2_TESTER_VERSION:-0.5.2}
SCIM2_CLIENT_VERSION=${SCIM2_CLIENT_VERSION:-0.13.2}
export RUST_LOG=${RUST_LOG:-warn}

command -v curl >/dev/null || { echo "scim-interop: curl is missing; run scripts/setup.sh" >&2; exit 1; }
command -v python3 >/dev/null || { echo "scim-interop: python3 is required" >&2; exit 1; }

venv="${XDG_CACHE_HOME:-$HOME/.cache}/auth-rs/scim2-tester-$SCIM2_TESTER_VERSION"
py="$venv/bin/python"
if ! "$py" -c "import scim2_tester, httpx2" 2>/dev/null; then
  echo "scim-interop: installing scim2-tester $SCIM2_TESTER_VERSION into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "scim2-tester==$SCIM2_TESTER_VERSION" "scim2-client[httpx2]==$SCIM2_CLIENT_VERSION"
fi

. scripts/example-server.sh
if [ -z "${SERVER_BIN:-}" ]; then
  build_example_server debug
  SERVER_BIN=$example_server_bin
fi
start_example_server "$SERVER_BIN"
echo "scim-interop: example server on $base"

# post <method> <path> <json> [bearer]: the JSON answer; fails on a non-2xx status.
call() {
  curl -sS --fail-with-body -X "$1" -H 'Content-Type: application/json' \
    ${4:+-H "Authorization: Bearer $4"} -d "$3" "$base$2"
}
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

session=$(call POST /auth/sign-up \
  '{"email":"scim-admin@example.com","password":"correct horse battery staple","mode":"token"}' |
  field session_token)
group=$(call POST /auth/groups '{"name":"SCIM interop"}' "$session" | field id)
connection=$(call POST "/auth/groups/$group/sso/connections" \
  '{"name":"Directory","config":{"protocol":"oidc","issuer":"https://idp.example","client_id":"c"}}' \
  "$session" | field id)
token=$(call PUT "/auth/groups/$group/sso/connections/$connection/scim" \
  '{"enabled":true,"deprovision":"soft"}' "$session" | field token)

"$py" - "$base/scim/v2" "$token" <<'PY'
import sys
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

base, token = sys.argv[1], sys.argv[2]
client = SyncSCIMClient(Client(base_url=base, headers={"Authorization": f"Bearer {token}"}))
results = check_server(client)
counts = {}
for r in results:
    counts[r.status.name] = counts.get(r.status.name, 0) + 1
    where = f"{r.resource_type or '-'}"
    line = f"{r.status.name:8} {r.title} [{where}]"
    if r.status not in (Status.SUCCESS,):
        line += f": {r.reason}"
    print(line)
bad = [r for r in results if r.status not in (Status.SUCCESS, Status.SKIPPED)]
print(f"scim-interop: {counts}")
sys.exit(1 if bad or not results else 0)
PY
