#!/usr/bin/env bash
# API fuzzing: schemathesis against the example server's /openapi.json. Every answer must
# be one the document promises: no 5xx (not_a_server_error), a documented status
# (status_code_conformance), the documented content type and body schema
# (content_type_conformance, response_schema_conformance). Fails on any failure.
#
# Installs schemathesis $SCHEMATHESIS_VERSION into a venv under
# ${XDG_CACHE_HOME:-~/.cache}/auth-rs/ (once), builds example-server, starts it fresh
# (temporary SQLite database and key file, a free port on 127.0.0.1, --seed-demo), signs up
# two dedicated fuzz users (never the demo user), and runs one pass per credential:
#
#   none         no credential, every operation;
#   bearer       a session token of fuzz user A (Authorization: Bearer), every operation
#                except those that end the session or the account (below);
#   api-key      an API key of user A with scopes (x-api-key), every operation (the JSON
#                API is managed by sessions, so a key must get a documented 403);
#   destructive  a session token of fuzz user B, only the operations left out of the
#                bearer pass; the first that succeeds ends the session (or the user), and
#                every later answer must still be a documented 401/403.
#
# Left out of the bearer pass, because one success ends the session every later request
# of the pass needs: sign_out; sign_up and sign_in (a sign-in ends the session the request
# presents); change_password (every session ends); delete_me (within the re-authentication
# window a session needs no password); revoke_session (the current session's id is one of
# those GET /auth/sessions lists). They run in the destructive pass instead. Rate limits
# (429) are documented answers, not failures.
#
# Phases: examples, coverage, fuzzing, and stateful (the document's links: a created key,
# group, member or invite feeds the routes that take its id).
#
# Settings (environment): MAX_EXAMPLES (25: test cases per operation and phase),
# MAX_TIME (unset: seconds per pass; fuzzing and stateful repeat until it is spent),
# PHASES (examples,coverage,fuzzing,stateful), PASSES (none,bearer,api-key,destructive),
# WORKERS (1: schemathesis's workers are threads, and on Python 3.11 hypothesis's
# concurrent ast.parse fails with "AST constructor recursion depth mismatch"), SEED (unset:
# random; set it to replay a run), PROFILE (debug), REPORT_DIR (unset: with it, a JUnit
# report per pass goes there), RUST_LOG (warn), SCHEMATHESIS_VERSION, SERVER_BIN (unset:
# build example-server; else that binary), FUZZ_DATABASE_URL (unset: a fresh SQLite
# database; else e.g. postgres://.../<an empty database of yours>). Honours CARGO_TARGET_DIR.
#
# CI runs the default (a few minutes). A long run (docs/security.md):
#   MAX_EXAMPLES=300 MAX_TIME=900 ./scripts/api-fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=${SCHEMATHESIS_VERSION:-4.32.5}
MAX_EXAMPLES=${MAX_EXAMPLES:-25}
MAX_TIME=${MAX_TIME:-}
PHASES=${PHASES:-examples,coverage,fuzzing,stateful}
PASSES=${PASSES:-none,bearer,api-key,destructive}
WORKERS=${WORKERS:-1}
SEED=${SEED:-}
PROFILE=${PROFILE:-debug}
REPORT_DIR=${REPORT_DIR:-}
export RUST_LOG=${RUST_LOG:-warn}

command -v curl >/dev/null || { echo "api-fuzz: curl is missing; run scripts/setup.sh" >&2; exit 1; }
command -v python3 >/dev/null || { echo "api-fuzz: python3 is required" >&2; exit 1; }

# --- schemathesis, pinned, in its own venv ------------------------------------------------

venv="${XDG_CACHE_HOME:-$HOME/.cache}/auth-rs/schemathesis-$SCHEMATHESIS_VERSION"
st="$venv/bin/st"
if ! "$st" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  echo "api-fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# --- the server ---------------------------------------------------------------------------

. scripts/example-server.sh
if [ -z "${SERVER_BIN:-}" ]; then
  build_example_server "$PROFILE"
  SERVER_BIN=$example_server_bin
fi
example_server_args=(--seed-demo)
example_server_db=${FUZZ_DATABASE_URL:-}
start_example_server "$SERVER_BIN"
echo "api-fuzz: example server on $base (log: RUST_LOG=$RUST_LOG)"

# --- the fuzz users and their credentials -------------------------------------------------

json_field() { # json_field <path, e.g. key.id>: reads it from the JSON on stdin
  python3 -c 'import json, sys
value = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    value = value[part]
print(value)' "$1"
}

# sign_up <email>: prints a session token of a new user with a random password.
sign_up() {
  local password
  password="fuzz $(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$password\",\"mode\":\"token\"}" "$base/auth/sign-up" |
    json_field session_token
}

run_id="$(date +%s)-$RANDOM"
token_a=$(sign_up "fuzz-a-$run_id@example.com")
token_b=$(sign_up "fuzz-b-$run_id@example.com")
api_key=$(curl -fsS -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $token_a" \
  -d '{"name":"api-fuzz","scopes":["data:read","group:read","api_key:read"]}' \
  "$base/auth/api-keys" | json_field secret)
curl -fsS -o /dev/null -H "x-api-key: $api_key" "$base/api/data" ||
  { echo "api-fuzz: the API key does not work" >&2; exit 1; }

# --- the passes ---------------------------------------------------------------------------

destructive_ops=(sign_out sign_up sign_in change_password delete_me revoke_session)

# pass <name> [schemathesis options...]: one run; its failure is remembered, not fatal.
failed=()
pass() {
  local name=$1
  shift
  local options=(
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
    --phases "$PHASES" --max-examples "$MAX_EXAMPLES" --workers "$WORKERS"
    --suppress-health-check all --request-timeout 30 --warnings off
  )
  [ -n "$MAX_TIME" ] && options+=(--max-time "$MAX_TIME")
  [ -n "$SEED" ] && options+=(--seed "$SEED")
  [ -n "$REPORT_DIR" ] && options+=(--report junit --report-junit-path "$REPORT_DIR/api-fuzz-$name.xml")
  echo
  echo "=== api-fuzz: pass $name ==="
  # From the temporary folder: schemathesis keeps its replay cache (.schemathesis/) there.
  if ! (cd "$tmp" && "$st" run "$base/openapi.json" "${options[@]}" "$@"); then
    failed+=("$name")
  fi
}

excluded=()
for op in "${destructive_ops[@]}"; do excluded+=(--exclude-operation-id "$op"); done
included=()
for op in "${destructive_ops[@]}"; do included+=(--include-operation-id "$op"); done

IFS=, read -r -a passes <<<"$PASSES"
for p in "${passes[@]}"; do
  case $p in
    none) pass none ;;
    bearer) pass bearer -H "Authorization: Bearer $token_a" "${excluded[@]}" ;;
    api-key) pass api-key -H "x-api-key: $api_key" ;;
    destructive) pass destructive -H "Authorization: Bearer $token_b" "${included[@]}" ;;
    *) echo "api-fuzz: unknown pass $p (none, bearer, api-key, destructive)" >&2; exit 2 ;;
  esac
done

# The server must still be up and answering: a crash is a failure even if no request saw it.
if ! kill -0 "$server_pid" 2>/dev/null || ! curl -fsS -o /dev/null "$base/healthz"; then
  echo "api-fuzz: the server died; its log:" >&2
  tail -50 "$tmp/server.log" >&2 || true
  failed+=(server)
fi
if grep -q "panicked" "$tmp/server.log"; then
  echo "api-fuzz: the server panicked; its log:" >&2
  grep -B2 -A10 "panicked" "$tmp/server.log" | head -60 >&2
  failed+=(panic)
fi

if [ ${#failed[@]} -gt 0 ]; then
  # What the server logged about its failures (never a secret: the library logs none).
  echo "api-fuzz: the server's first errors:" >&2
  sed 's/\x1b\[[0-9;]*m//g' "$tmp/server.log" | grep -m 10 ERROR >&2 || true
  echo "api-fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "api-fuzz: every pass passed ($PASSES; phases $PHASES; $MAX_EXAMPLES examples)"
