#!/usr/bin/env node
// Plays the browser against the test OIDC provider (oidc.mjs), without a browser.
//
//   node drive-oidc.mjs <authorize-url> <login>
//     GETs the authorization URL, submits the login and consent forms, follows redirects
//     until one goes to the redirect_uri named in the authorization URL, and prints that
//     final URL (with code, state and iss, or with error=...) on stdout WITHOUT requesting
//     it. <login> is "alice" (password from accounts.json) or "user:password".
//     Exit 0 when the redirect_uri was reached, 1 otherwise (message on stderr).
//
//   node drive-oidc.mjs --self-test <issuer> <login> [--client-id ID] [--client-secret S]
//                       [--redirect-uri URL]
//     A minimal relying party around the same driver: discovery, authorization code flow
//     with PKCE (S256), state and nonce, code exchange at the token endpoint (client_secret_basic),
//     ID token checked (RS256 signature against the JWKS, iss, aud, exp, nonce), userinfo,
//     and negative checks (the code is single use; an authorization request without PKCE
//     is refused). Prints the ID token's claims as JSON on stdout. Defaults as oidc.mjs
//     (OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, first of OIDC_REDIRECT_URIS).
//
// Set DRIVE_TRACE=1 to log every request on stderr.

import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { parseArgs } from 'node:util';
import { parseLogin } from './lib/browser.mjs';
import { drive } from './lib/drive.mjs';

const trace = Boolean(process.env.DRIVE_TRACE);

/** Drives an authorization URL to its redirect_uri; returns that URL (a string). */
export async function driveAuthorize(authorizeUrl, login) {
  const redirectUri = new URL(authorizeUrl).searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error('the authorization URL has no redirect_uri');
  const target = new URL(redirectUri);
  const atTarget = (u) => {
    const x = new URL(u);
    return x.origin === target.origin && x.pathname === target.pathname;
  };
  const result = await drive(authorizeUrl, parseLogin(login), {
    stopAtRedirect: atTarget,
    trace,
    // Never post to the app: response_mode=form_post is not this driver's contract.
    stopAtPage: (page, forms) => {
      if (forms.some((f) => atTarget(f.action))) throw new Error('the provider answered with a form to the redirect_uri (response_mode=form_post?): only query mode is supported');
      return undefined;
    },
  });
  return result.url;
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

function fail(message) {
  throw new Error(`self-test: ${message}`);
}

async function getJson(url, init) {
  const res = await fetch(url, init);
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    fail(`${url} answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body };
}

function verifyIdToken(idToken, jwks, { issuer, clientId, nonce }) {
  const parts = idToken.split('.');
  if (parts.length !== 3) fail('id_token is not a compact JWS');
  const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  if (header.alg !== 'RS256') fail(`id_token alg ${header.alg}, expected RS256`);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) fail(`id_token kid ${header.kid} not in the JWKS`);
  const ok = verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(parts[2], 'base64url'));
  if (!ok) fail('id_token signature does not verify against the JWKS');
  if (claims.iss !== issuer) fail(`id_token iss ${claims.iss} != ${issuer}`);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(clientId)) fail(`id_token aud ${claims.aud} lacks ${clientId}`);
  if (!(claims.exp > Date.now() / 1000)) fail('id_token expired');
  if (claims.nonce !== nonce) fail(`id_token nonce ${claims.nonce} != the request's ${nonce}`);
  return claims;
}

async function selfTest(issuer, login, { clientId, clientSecret, redirectUri }) {
  const { body: disco } = await getJson(`${issuer}/.well-known/openid-configuration`);
  if (disco.issuer !== issuer) fail(`discovery issuer ${disco.issuer} != ${issuer}`);
  if (!disco.code_challenge_methods_supported?.includes('S256')) fail('S256 not supported');
  const { body: jwks } = await getJson(disco.jwks_uri);
  if (!jwks.keys?.length) fail('empty JWKS');

  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const auth = new URL(disco.authorization_endpoint);
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'openid email profile groups',
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  };
  for (const [k, v] of Object.entries(params)) auth.searchParams.set(k, v);

  const callback = new URL(await driveAuthorize(auth.toString(), login));
  if (callback.searchParams.get('error')) fail(`authorization error: ${callback.search}`);
  if (callback.searchParams.get('state') !== state) fail('state mismatch');
  if (callback.searchParams.has('iss') && callback.searchParams.get('iss') !== issuer) fail('iss parameter mismatch');
  const code = callback.searchParams.get('code');
  if (!code) fail(`no code in ${callback}`);

  const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
  const exchange = (codeVerifier) =>
    getJson(disco.token_endpoint, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: codeVerifier }),
    });

  const tokens = await exchange(verifier);
  if (tokens.status !== 200) fail(`token endpoint ${tokens.status}: ${JSON.stringify(tokens.body)}`);
  const claims = verifyIdToken(tokens.body.id_token, jwks, { issuer, clientId, nonce });

  const { status: uiStatus, body: userinfo } = await getJson(disco.userinfo_endpoint, {
    headers: { authorization: `Bearer ${tokens.body.access_token}` },
  });
  if (uiStatus !== 200 || userinfo.sub !== claims.sub) fail(`userinfo ${uiStatus}: ${JSON.stringify(userinfo)}`);

  // The code is single use (and its replay revokes the tokens it gave, so this comes last).
  const replay = await exchange(verifier);
  if (replay.status === 200 || replay.body.error !== 'invalid_grant') fail(`a used code was accepted again: ${replay.status} ${JSON.stringify(replay.body)}`);

  // PKCE is required: the same request without code_challenge comes back with an error.
  const noPkce = new URL(auth);
  noPkce.searchParams.delete('code_challenge');
  noPkce.searchParams.delete('code_challenge_method');
  const refused = new URL(await driveAuthorize(noPkce.toString(), login));
  if (refused.searchParams.get('error') !== 'invalid_request') fail(`authorization without PKCE not refused: ${refused}`);

  // A second flow with a wrong code_verifier: the token endpoint refuses it.
  const state2 = b64url(randomBytes(16));
  auth.searchParams.set('state', state2);
  const cb2 = new URL(await driveAuthorize(auth.toString(), login));
  const code2 = cb2.searchParams.get('code');
  if (!code2) fail(`no code in the second flow: ${cb2}`);
  const wrong = await getJson(disco.token_endpoint, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: code2, redirect_uri: redirectUri, code_verifier: b64url(randomBytes(32)) }),
  });
  if (wrong.status === 200 || wrong.body.error !== 'invalid_grant') fail(`a wrong code_verifier was accepted: ${wrong.status} ${JSON.stringify(wrong.body)}`);

  return { claims, userinfo };
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'self-test': { type: 'boolean' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string' },
    },
  });
  if (values['self-test']) {
    const [issuer, login] = positionals;
    if (!issuer || !login) throw new Error('usage: drive-oidc.mjs --self-test <issuer> <login>');
    const result = await selfTest(issuer.replace(/\/$/, ''), login, {
      clientId: values['client-id'] ?? process.env.OIDC_CLIENT_ID ?? 'auth-rs-test',
      clientSecret: values['client-secret'] ?? process.env.OIDC_CLIENT_SECRET ?? 'auth-rs-test-secret-0123456789abcdef',
      redirectUri: values['redirect-uri'] ?? (process.env.OIDC_REDIRECT_URIS ?? 'http://127.0.0.1:3000/sso/oidc/callback').split(',')[0],
    });
    process.stdout.write(`${JSON.stringify(result.claims)}\n`);
    return;
  }
  const [authorizeUrl, login] = positionals;
  if (!authorizeUrl || !login) throw new Error('usage: drive-oidc.mjs <authorize-url> <login>');
  process.stdout.write(`${await driveAuthorize(authorizeUrl, login)}\n`);
}

main().catch((err) => {
  console.error(`drive-oidc: ${err.message}`);
  process.exit(1);
});
