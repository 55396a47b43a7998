#!/usr/bin/env bash
# TOTP interop: an independent implementation (Python's pyotp) reads the otpauth:// URI the
# example server returns and computes the codes, as an authenticator app would. Over HTTP:
# sign up, enrol (POST /auth/mfa/totp), a wrong code is refused (400 CODE_INVALID), pyotp's
# current code confirms (200, ten recovery codes), the status says confirmed, and enrolling
# again is refused (409 TOTP_ALREADY_ENROLLED). Then an MFA sign-in: the password alone
# answers 202 MFA_REQUIRED, pyotp's code (of the next step: the confirming code's step is
# used up) completes the challenge at aal2, and the same code is refused on a second
# challenge (the replay guard).
#
# Installs pyotp $PYOTP_VERSION into a venv under ${XDG_CACHE_HOME:-~/.cache}/auth-rs/
# (once), builds example-server (debug) and starts it fresh (scripts/example-server.sh:
# temporary SQLite database and key file, a free port on 127.0.0.1). Honours
# CARGO_TARGET_DIR and SERVER_BIN (a binary to use instead of building).
set -euo pipefail
cd "$(dirname "$0")/.."

PYOTP_VERSION=${PYOTP_VERSION:-2.9.0}
export RUST_LOG=${RUST_LOG:-warn}

command -v curl >/dev/null || { echo "totp-interop: curl is missing; run scripts/setup.sh" >&2; exit 1; }
command -v python3 >/dev/null || { echo "totp-interop: python3 is required" >&2; exit 1; }

# --- pyotp, pinned, in its own venv -------------------------------------------------------

venv="${XDG_CACHE_HOME:-$HOME/.cache}/auth-rs/pyotp-$PYOTP_VERSION"
py="$venv/bin/python"
if ! "$py" -c "import pyotp, sys; sys.exit(pyotp.__version__ != '$PYOTP_VERSION')" 2>/dev/null; then
  echo "totp-interop: installing pyotp $PYOTP_VERSION into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "pyotp==$PYOTP_VERSION"
fi

# --- the server ---------------------------------------------------------------------------

. scripts/example-server.sh
if [ -z "${SERVER_BIN:-}" ]; then
  build_example_server debug
  SERVER_BIN=$example_server_bin
fi
start_example_server "$SERVER_BIN"
echo "totp-interop: example server on $base"

. scripts/lib/checks.sh

json_field() { # json_field <path, e.g. error.code>: reads it from the JSON on stdin
  python3 -c 'import json, sys
value = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    value = value[int(part)] if isinstance(value, list) else value[part]
print(json.dumps(value) if isinstance(value, (list, dict, bool)) else value)' "$1"
}

# request <method> <path> [json body]: prints "<status> <body>" with the session token.
request() {
  local out status
  out=$(curl -sS -o "$tmp/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' ${3:+-d "$3"} "$base$2")
  status=$out
  echo "$status $(cat "$tmp/body")"
}

# pyotp <uri> <what>: what pyotp makes of the URI: `code` (now), `next` (the next step's),
# `wrong` (a code that is none of the previous, current and next step's), `issuer`,
# `account`.
pyotp() {
  "$py" - "$1" "$2" <<'PY'
import sys, time, pyotp
totp = pyotp.parse_uri(sys.argv[1])
what = sys.argv[2]
if what == "code":
    print(totp.now())
elif what == "next":
    print(totp.at(time.time() + totp.interval))
elif what == "wrong":
    now = time.time()
    valid = {totp.at(now + d) for d in (-30, 0, 30)}
    print(next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in valid))
elif what == "issuer":
    print(totp.issuer)
elif what == "account":
    print(totp.name)
PY
}

# --- the flow -----------------------------------------------------------------------------

email="totp-interop-$(date +%s)-$RANDOM@example.com"
password="interop $(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
token=$(curl -fsS -X POST -H 'Content-Type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\",\"mode\":\"token\"}" "$base/auth/sign-up" |
  json_field session_token)

read -r status body <<<"$(request POST /auth/mfa/totp)"
check "enrolment answers 201" test "$status" = 201
uri=$(json_field otpauth_uri <<<"$body")
check "pyotp reads the issuer" test "$(pyotp "$uri" issuer)" = "auth-rs demo"
check "pyotp reads the account" test "$(pyotp "$uri" account)" = "$email"
check "the URI carries the base32 seed shown" \
  grep -qF "secret=$(json_field secret_base32 <<<"$body")" <<<"$uri"

wrong=$(pyotp "$uri" wrong)
read -r status body <<<"$(request POST /auth/mfa/totp/confirm "{\"code\":\"$wrong\"}")"
check "a wrong code is refused with 400" test "$status" = 400
check "... and CODE_INVALID" test "$(json_field error.code <<<"$body")" = CODE_INVALID

read -r status body <<<"$(request POST /auth/mfa/totp/confirm "{\"code\":\"$(pyotp "$uri" code)\"}")"
check "pyotp's code confirms the enrolment" test "$status" = 200
check "... and ten recovery codes come back" \
  test "$(json_field recovery_codes <<<"$body" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 10

read -r status body <<<"$(request GET /auth/mfa/totp)"
check "the status says confirmed" test "$(json_field confirmed <<<"$body")" = true
check "... with ten recovery codes left" test "$(json_field recovery_codes_left <<<"$body")" = 10

read -r status body <<<"$(request POST /auth/mfa/totp)"
check "enrolling again is refused with 409 TOTP_ALREADY_ENROLLED" \
  test "$status $(json_field error.code <<<"$body")" = "409 TOTP_ALREADY_ENROLLED"

# anonymous <path> <json body>: a POST with no credential; prints "<status> <body>".
anonymous() {
  local status
  status=$(curl -sS -o "$tmp/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "$2" "$base$1")
  echo "$status $(cat "$tmp/body")"
}
sign_in() {
  anonymous /auth/sign-in "{\"email\":\"$email\",\"password\":\"$password\",\"mode\":\"token\"}"
}

read -r status body <<<"$(sign_in)"
check "the password alone answers 202 MFA_REQUIRED" \
  test "$status $(json_field code <<<"$body")" = "202 MFA_REQUIRED"
check "... with totp and recovery_code as methods" \
  test "$(json_field methods <<<"$body")" = '["totp", "recovery_code"]'
challenge=$(json_field challenge <<<"$body")
code=$(pyotp "$uri" next)
read -r status body <<<"$(anonymous /auth/mfa/challenge "{\"challenge\":\"$challenge\",\"code\":\"$code\",\"mode\":\"token\"}")"
check "pyotp's code completes the challenge with 200" test "$status" = 200
check "... at aal2" test "$(json_field session.aal <<<"$body")" = aal2

read -r status body <<<"$(sign_in)"
challenge=$(json_field challenge <<<"$body")
read -r status body <<<"$(anonymous /auth/mfa/challenge "{\"challenge\":\"$challenge\",\"code\":\"$code\",\"mode\":\"token\"}")"
check "the same code on a second challenge is refused: 400 CODE_INVALID" \
  test "$status $(json_field error.code <<<"$body")" = "400 CODE_INVALID"

echo "totp-interop: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
  echo "totp-interop: the server's log:" >&2
  tail -n 40 "$tmp/server.log" >&2 || true
  exit 1
fi
