# Sourced by scripts/idp-smoke.sh (and the SSO interop tests): installs and starts the test
# identity providers of tests/idp on 127.0.0.1. Sets no trap: the caller's EXIT trap calls
# stop_idps and removes $idp_tmp.
#
#   idp_dir             tests/idp (absolute)
#   idp_tmp             a temporary folder (logs, outputs), the caller removes it
#   idp_python          the venv's python with pysaml2 (after idp_install)
#   idp_install         npm ci in tests/idp unless node_modules matches package-lock.json;
#                       the pysaml2 venv (requirements.txt, pinned) under
#                       ${XDG_CACHE_HOME:-~/.cache}/auth-rs/ unless already there. No network
#                       once both are installed.
#   start_oidc_idp [oidc.mjs options...]
#                       sets oidc_pid and oidc_issuer (http://127.0.0.1:PORT); log in
#                       $idp_tmp/oidc.log
#   oidc_register_client <redirect-uri>...
#                       registers a new confidential client (RFC 7591, POST /reg) with these
#                       redirect URIs; sets oidc_client_id and oidc_client_secret
#   start_saml_idp [--sp-entity-id ID --acs-url URL | --sp-metadata FILE] [saml_idp.py options...]
#                       sets saml_pid, saml_entity_id, saml_metadata_url, saml_sso_url,
#                       saml_base, saml_cert_pem (a copy of the signing certificate in
#                       $idp_tmp); log in $idp_tmp/saml.log
#   saml_register_sp <entity-id> <acs-url>
#   saml_register_sp_metadata <file>
#                       registers an SP with the running SAML IdP (POST /admin/sp), e.g.
#                       once the app's connection exists and serves its SP metadata
#   stop_idps           stops both (if running)

idp_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
idp_tmp=$(mktemp -d "${TMPDIR:-/tmp}/auth-idps.XXXXXX")
oidc_pid=""
saml_pid=""

idp_install() {
  command -v node >/dev/null || { echo "idps: node is missing; run scripts/setup.sh" >&2; return 1; }
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
    { echo "idps: Node.js >= 18 is required (oidc-provider 8), found $(node --version)" >&2; return 1; }
  command -v xmlsec1 >/dev/null || { echo "idps: xmlsec1 is missing (pysaml2 signs with it); run scripts/setup.sh" >&2; return 1; }
  command -v openssl >/dev/null || { echo "idps: openssl is missing" >&2; return 1; }
  if ! (cd "$idp_dir" && npm ls --depth=0 >/dev/null 2>&1); then
    echo "idps: npm ci in tests/idp (oidc-provider as package-lock.json pins it)" >&2
    (cd "$idp_dir" && npm ci --no-audit --no-fund >&2)
  fi
  local hash venv
  hash=$(sha256sum "$idp_dir/requirements.txt" | cut -c1-12)
  venv="${XDG_CACHE_HOME:-$HOME/.cache}/auth-rs/pysaml2-$hash"
  idp_python="$venv/bin/python"
  if [ ! -f "$venv/.installed" ]; then
    echo "idps: installing tests/idp/requirements.txt (pysaml2) into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$idp_dir/requirements.txt" >&2
    touch "$venv/.installed"
  fi
}

# wait_first_line <file> <pid> <name>: waits (15 s at most) for the process to print its
# ready line; prints that line.
wait_first_line() {
  local file=$1 pid=$2 name=$3 line
  for _ in $(seq 1 150); do
    line=$(head -n 1 "$file" 2>/dev/null || true)
    if [ -n "$line" ]; then
      echo "$line"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "idps: $name did not start; its log:" >&2
  cat "$idp_tmp/$name.log" >&2 || true
  return 1
}

start_oidc_idp() {
  node "$idp_dir/oidc.mjs" "$@" >"$idp_tmp/oidc.out" 2>"$idp_tmp/oidc.log" &
  oidc_pid=$!
  oidc_issuer=$(wait_first_line "$idp_tmp/oidc.out" "$oidc_pid" oidc) || return 1
}

oidc_register_client() {
  local body reply
  body=$(node -e 'process.stdout.write(JSON.stringify({redirect_uris: process.argv.slice(1), token_endpoint_auth_method: "client_secret_basic"}))' "$@")
  reply=$(curl -fsS -H 'content-type: application/json' -d "$body" "$oidc_issuer/reg") || return 1
  oidc_client_id=$(json_get client_id <<<"$reply")
  oidc_client_secret=$(json_get client_secret <<<"$reply")
}

start_saml_idp() {
  "$idp_python" "$idp_dir/saml_idp.py" --cert-out "$idp_tmp/saml-idp-cert.pem" "$@" \
    >"$idp_tmp/saml.out" 2>"$idp_tmp/saml.log" &
  saml_pid=$!
  local ready
  ready=$(wait_first_line "$idp_tmp/saml.out" "$saml_pid" saml) || return 1
  saml_entity_id=$(json_get entity_id <<<"$ready")
  saml_metadata_url=$(json_get metadata_url <<<"$ready")
  saml_sso_url=$(json_get sso_url <<<"$ready")
  saml_cert_pem=$(json_get cert_pem <<<"$ready")
  saml_base=${saml_sso_url%/sso/redirect}
}

saml_register_sp() {
  curl -fsS -o /dev/null --data-urlencode "entity_id=$1" --data-urlencode "acs_url=$2" "$saml_base/admin/sp"
}

saml_register_sp_metadata() {
  curl -fsS -o /dev/null -H 'content-type: application/samlmetadata+xml' --data-binary "@$1" "$saml_base/admin/sp"
}

# json_get <key>: a top-level string field of the JSON object on stdin.
json_get() {
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];if(v===undefined)process.exit(1);process.stdout.write(typeof v==="string"?v:JSON.stringify(v))})' "$1"
}

stop_idps() {
  local pid
  for pid in "$oidc_pid" "$saml_pid"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  oidc_pid=""
  saml_pid=""
}
