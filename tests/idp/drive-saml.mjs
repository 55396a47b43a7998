#!/usr/bin/env node
// Plays the browser against the test SAML IdP (saml_idp.py), without a browser.
//
//   node drive-saml.mjs <redirect-url> <login>
//     <redirect-url> is what the SP redirects the browser to: the IdP's SSO URL with
//     SAMLRequest (and RelayState) by the HTTP-Redirect binding. Signs <login> in ("alice",
//     password from accounts.json, or "user:password") and prints, as one line of JSON,
//     what the IdP's auto-submitting form would POST to the ACS, without posting it:
//       {"acs_url": "...", "SAMLResponse": "<base64>", "RelayState": "..."}
//     Exit 0 on success, 1 otherwise (message on stderr).
//
//   node drive-saml.mjs --authn-request <idp-sso-url> <sp-entity-id> <acs-url> [relay-state]
//     Builds a minimal unsigned AuthnRequest (ID, IssueInstant, Destination, Issuer,
//     AssertionConsumerServiceURL, ProtocolBinding HTTP-POST), encodes it for the
//     HTTP-Redirect binding (DEFLATE, base64, URL) and prints {"url": ..., "id": ...}: a
//     stand-in for the SP when testing the IdP alone.
//
// Set DRIVE_TRACE=1 to log every request on stderr.

import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { parseLogin } from './lib/browser.mjs';
import { drive } from './lib/drive.mjs';

const xmlEscape = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);

export function authnRequestUrl(ssoUrl, spEntityId, acsUrl, relayState = '') {
  const id = `_${randomBytes(20).toString('hex')}`;
  const xml =
    `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"` +
    ` ID="${id}" Version="2.0" IssueInstant="${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}"` +
    ` Destination="${xmlEscape(ssoUrl)}" AssertionConsumerServiceURL="${xmlEscape(acsUrl)}"` +
    ` ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">` +
    `<saml:Issuer>${xmlEscape(spEntityId)}</saml:Issuer>` +
    `<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" AllowCreate="true"/>` +
    `</samlp:AuthnRequest>`;
  const url = new URL(ssoUrl);
  url.searchParams.set('SAMLRequest', deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'));
  if (relayState) url.searchParams.set('RelayState', relayState);
  return { url: url.toString(), id };
}

export async function driveSaml(redirectUrl, login) {
  const result = await drive(redirectUrl, parseLogin(login), {
    trace: Boolean(process.env.DRIVE_TRACE),
    stopAtPage: (page, forms) => {
      const post = forms.find((f) => 'SAMLResponse' in f.fields);
      if (!post) return undefined;
      return { acs_url: post.action, SAMLResponse: post.fields.SAMLResponse, RelayState: post.fields.RelayState ?? '' };
    },
  });
  if (result.kind !== 'page') throw new Error(`ended on a redirect to ${result.url}, not on the IdP's POST form`);
  return result.value;
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--authn-request') {
    const [, ssoUrl, spEntityId, acsUrl, relayState = ''] = args;
    if (!ssoUrl || !spEntityId || !acsUrl) throw new Error('usage: drive-saml.mjs --authn-request <idp-sso-url> <sp-entity-id> <acs-url> [relay-state]');
    process.stdout.write(`${JSON.stringify(authnRequestUrl(ssoUrl, spEntityId, acsUrl, relayState))}\n`);
    return;
  }
  const [redirectUrl, login] = args;
  if (!redirectUrl || !login) throw new Error('usage: drive-saml.mjs <redirect-url> <login>');
  process.stdout.write(`${JSON.stringify(await driveSaml(redirectUrl, login))}\n`);
}

main().catch((err) => {
  console.error(`drive-saml: ${err.message}`);
  process.exit(1);
});
