#!/usr/bin/env bash
# Smoke test of the test identity providers in tests/idp, without the library: both start
# on 127.0.0.1 and answer as real IdPs, driven without a browser.
#
# - installs them if needed (npm ci in tests/idp; pysaml2 into a venv under
#   ${XDG_CACHE_HOME:-~/.cache}/auth-rs/; no network once installed);
# - OIDC (oidc-provider): discovery document and JWKS; a full authorization code flow with
#   PKCE played by drive-oidc.mjs --self-test (code exchange, ID token signature, nonce,
#   userinfo, single-use code, PKCE required, wrong verifier refused) for alice (verified
#   email, groups) and mallory (email_verified false), and for a client registered at run
#   time (RFC 7591); a wrong password is refused;
# - SAML (pysaml2): metadata with the signing certificate; a dummy SP-initiated AuthnRequest
#   (HTTP-Redirect) driven by drive-saml.mjs to the SAMLResponse and RelayState the IdP would
#   POST; the Response and its Assertion are signed (RSA-SHA256), verified with xmlsec1
#   against the IdP certificate, and a tampered copy fails verification; an SP registered
#   at run time is served, an unknown SP and a foreign ACS URL are refused;
# - unless IDP_SMOKE_PROBE=0: builds tests/saml-probe (samael with xmlsec) and runs it on a
#   fresh response (accepted; tampered, unsigned, wrong audience, wrong request id refused).
# Stops everything on exit. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

. tests/idp/idps.sh
trap 'stop_idps; rm -rf "$idp_tmp"' EXIT
trap 'exit 130' INT TERM

command -v curl >/dev/null || { echo "idp-smoke: curl is missing; run scripts/setup.sh" >&2; exit 1; }
idp_install

. scripts/lib/checks.sh

# js <code> [args...]: runs a small Node check (stdin available as process.stdin).
js() { node --input-type=module -e "$@"; }

client_id=auth-rs-smoke
client_secret=smoke-secret-$(openssl rand -hex 16)
redirect_uri=http://127.0.0.1:9/sso/oidc/callback # never requested
sp_entity_id=https://sp.auth-rs.test/metadata
acs_url=http://127.0.0.1:9/sso/saml/acs # never requested

start_oidc_idp --client-id "$client_id" --client-secret "$client_secret" --redirect-uri "$redirect_uri"
echo "idp-smoke: OIDC provider at $oidc_issuer"
start_saml_idp --sp-entity-id "$sp_entity_id" --acs-url "$acs_url"
echo "idp-smoke: SAML IdP at $saml_metadata_url"

# --- OIDC ----------------------------------------------------------------------------------

curl -fsS "$oidc_issuer/.well-known/openid-configuration" >"$idp_tmp/discovery.json"
check "discovery: issuer, S256 only, endpoints on the issuer" js '
  import { readFileSync } from "node:fs";
  const [file, issuer] = process.argv.slice(1);
  const d = JSON.parse(readFileSync(file, "utf8"));
  const ok = d.issuer === issuer && JSON.stringify(d.code_challenge_methods_supported) === "[\"S256\"]"
    && ["authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"].every((k) => d[k]?.startsWith(issuer + "/"))
    && d.id_token_signing_alg_values_supported.includes("RS256") && d.scopes_supported.includes("groups");
  process.exit(ok ? 0 : 1);' "$idp_tmp/discovery.json" "$oidc_issuer"
jwks_uri=$(json_get jwks_uri <"$idp_tmp/discovery.json")
check "JWKS: one RSA signing key with kid, no private part" js '
  const r = await fetch(process.argv[1]);
  const { keys } = await r.json();
  process.exit(r.ok && keys.length === 1 && keys[0].kty === "RSA" && keys[0].kid && keys[0].alg === "RS256" && !keys[0].d ? 0 : 1);' "$jwks_uri"

oidc_self_test() { # oidc_self_test <login> <expected email_verified> <expected group or "">
  node tests/idp/drive-oidc.mjs --self-test "$oidc_issuer" "$1" \
    --client-id "$client_id" --client-secret "$client_secret" --redirect-uri "$redirect_uri" \
    >"$idp_tmp/claims-$1.json" 2>"$idp_tmp/drive-$1.log" || { cat "$idp_tmp/drive-$1.log" >&2; return 1; }
  js '
    import { readFileSync } from "node:fs";
    const [file, verified, group] = process.argv.slice(1);
    const c = JSON.parse(readFileSync(file, "utf8"));
    const ok = c.email && c.name && String(c.email_verified) === verified && Array.isArray(c.groups)
      && (group === "" ? c.groups.length === 0 : c.groups.includes(group));
    if (!ok) console.error("unexpected claims", c);
    process.exit(ok ? 0 : 1);' "$idp_tmp/claims-$1.json" "$2" "$3"
}
check "code flow + PKCE for alice: id_token signed, nonce, email_verified true, groups" oidc_self_test alice true engineering
check "code flow + PKCE for mallory: email_verified false (alice's address, unverified)" oidc_self_test mallory false ""

registered_client() {
  oidc_register_client http://127.0.0.1:9/registered/callback || return 1
  node tests/idp/drive-oidc.mjs --self-test "$oidc_issuer" bob --client-id "$oidc_client_id" \
    --client-secret "$oidc_client_secret" --redirect-uri http://127.0.0.1:9/registered/callback \
    >"$idp_tmp/claims-registered.json" 2>"$idp_tmp/drive-registered.log" &&
    grep -q '"aud":"'"$oidc_client_id"'"' "$idp_tmp/claims-registered.json"
}
check "a client registered at run time (RFC 7591 /reg) runs the same flow" registered_client

wrong_password() {
  local url="$oidc_issuer/auth?response_type=code&client_id=$client_id&redirect_uri=$(js 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$redirect_uri")&scope=openid&state=s1&nonce=n1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
  ! node tests/idp/drive-oidc.mjs "$url" alice:not-her-password >/dev/null 2>"$idp_tmp/wrong.log" &&
    grep -q "login refused" "$idp_tmp/wrong.log"
}
check "a wrong password is refused (the driver exits 1)" wrong_password

# --- SAML ----------------------------------------------------------------------------------

curl -fsS "$saml_metadata_url" >"$idp_tmp/idp-metadata.xml"
check "SAML metadata: entityID, signing certificate, HTTP-Redirect SSO" js '
  import { readFileSync } from "node:fs";
  const [file, entity, sso] = process.argv.slice(1);
  const x = readFileSync(file, "utf8");
  process.exit(x.includes(`entityID="${entity}"`) && /X509Certificate>[A-Za-z0-9+\/=\s]{500,}</.test(x) && /use="signing"/.test(x)
    && x.includes("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect") && x.includes(`Location="${sso}"`) ? 0 : 1);' \
  "$idp_tmp/idp-metadata.xml" "$saml_entity_id" "$saml_sso_url"

saml_login() { # saml_login <login> <relay state> <output prefix>: sets request_id
  local req
  req=$(node tests/idp/drive-saml.mjs --authn-request "$saml_sso_url" "$sp_entity_id" "$acs_url" "$2")
  request_id=$(json_get id <<<"$req")
  node tests/idp/drive-saml.mjs "$(json_get url <<<"$req")" "$1" >"$idp_tmp/$3.json" 2>"$idp_tmp/$3.log" ||
    { cat "$idp_tmp/$3.log" >&2; return 1; }
  json_get SAMLResponse <"$idp_tmp/$3.json" | base64 -d >"$idp_tmp/$3.xml"
}
relay=rs-$(openssl rand -hex 8)
check "SP-initiated login of alice yields a SAMLResponse" saml_login alice "$relay" resp
check "to the ACS, with the RelayState" js '
  import { readFileSync } from "node:fs";
  const [file, acs, relay] = process.argv.slice(1);
  const o = JSON.parse(readFileSync(file, "utf8"));
  process.exit(o.acs_url === acs && o.RelayState === relay ? 0 : 1);' "$idp_tmp/resp.json" "$acs_url" "$relay"
check "Response: Success, InResponseTo, audience, two RSA-SHA256 signatures" js '
  import { readFileSync } from "node:fs";
  const [file, id, aud] = process.argv.slice(1);
  const x = readFileSync(file, "utf8");
  const sigs = x.match(/SignatureMethod Algorithm="http:\/\/www.w3.org\/2001\/04\/xmldsig-more#rsa-sha256"/g) ?? [];
  process.exit(x.includes("status:Success") && x.includes(`InResponseTo="${id}"`) && x.includes(`Audience>${aud}<`)
    && sigs.length === 2 && x.includes("alice@example.com") ? 0 : 1);' "$idp_tmp/resp.xml" "$request_id" "$sp_entity_id"

xmlsec_verify() { # xmlsec_verify <file> [xpath of the Signature]
  xmlsec1 --verify --pubkey-cert-pem "$saml_cert_pem" \
    --id-attr:ID urn:oasis:names:tc:SAML:2.0:protocol:Response \
    --id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion \
    ${2:+--node-xpath "$2"} "$1" >/dev/null 2>&1
}
check "xmlsec1: the Response signature verifies with the IdP certificate" xmlsec_verify "$idp_tmp/resp.xml"
check "xmlsec1: the Assertion signature verifies too" \
  xmlsec_verify "$idp_tmp/resp.xml" "//*[local-name()='Assertion']/*[local-name()='Signature']"
sed 's/alice@example.com/mallory@example.com/' "$idp_tmp/resp.xml" >"$idp_tmp/tampered.xml"
# An SP registered while the IdP runs (as once the app's connection exists), and one never
# registered.
sp2_login() {
  local req
  saml_register_sp https://sp2.auth-rs.test/metadata http://127.0.0.1:9/sp2/acs || return 1
  req=$(node tests/idp/drive-saml.mjs --authn-request "$saml_sso_url" https://sp2.auth-rs.test/metadata http://127.0.0.1:9/sp2/acs r2)
  node tests/idp/drive-saml.mjs "$(json_get url <<<"$req")" bob >"$idp_tmp/sp2.json" 2>"$idp_tmp/sp2.log" || return 1
  json_get SAMLResponse <"$idp_tmp/sp2.json" | base64 -d | grep -q "Audience>https://sp2.auth-rs.test/metadata<"
}
check "an SP registered at run time (POST /admin/sp) gets its own signed response" sp2_login
unknown_sp_refused() {
  local req
  req=$(node tests/idp/drive-saml.mjs --authn-request "$saml_sso_url" https://unknown.example/metadata http://127.0.0.1:9/acs r3)
  ! node tests/idp/drive-saml.mjs "$(json_get url <<<"$req")" alice >/dev/null 2>"$idp_tmp/unknown.log" &&
    grep -q "HTTP 400" "$idp_tmp/unknown.log"
}
check "an AuthnRequest from an unknown SP is refused (400)" unknown_sp_refused
wrong_acs_refused() {
  local req
  req=$(node tests/idp/drive-saml.mjs --authn-request "$saml_sso_url" "$sp_entity_id" http://127.0.0.1:9/elsewhere r4)
  ! node tests/idp/drive-saml.mjs "$(json_get url <<<"$req")" alice >/dev/null 2>"$idp_tmp/acs.log" &&
    grep -q "HTTP 400" "$idp_tmp/acs.log"
}
check "an AuthnRequest naming an ACS URL not in the SP's metadata is refused (400)" wrong_acs_refused

tampered_fails() { ! cmp -s "$idp_tmp/resp.xml" "$idp_tmp/tampered.xml" && ! xmlsec_verify "$idp_tmp/tampered.xml"; }
check "xmlsec1: a tampered copy (one attribute value changed) does not verify" tampered_fails

# --- samael (tests/saml-probe) against a fresh response -----------------------------------

if [ "${IDP_SMOKE_PROBE:-1}" != 0 ]; then
  echo "idp-smoke: building tests/saml-probe (samael with xmlsec)"
  cargo build -q -p saml-probe
  target_dir=${CARGO_TARGET_DIR:-target}
  probe="$target_dir/debug/saml-probe"
  # samael refuses responses issued more than 90 s ago: a fresh one, right before the probe.
  saml_probe() {
    saml_login alice "$relay" probe || return 1
    "$probe" "$idp_tmp/idp-metadata.xml" "$idp_tmp/probe.json" "$request_id" "$sp_entity_id" "$acs_url" \
      2>"$idp_tmp/probe.log"
  }
  check "saml-probe: samael accepts the real response, refuses tampered/unsigned/wrong audience/wrong request" saml_probe
fi

echo "idp-smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
