#!/usr/bin/env node
// A real OpenID Connect provider (npm oidc-provider 8.x, OpenID-certified) on 127.0.0.1 for
// the SSO interop tests. Plain-HTML login and consent pages, so a driver without a browser
// can sign in (drive-oidc.mjs).
//
// Usage: node oidc.mjs [--port N] [--client-id ID] [--client-secret S] [--redirect-uri URL]...
// Each option falls back to the environment: OIDC_PORT (default 0: a free port),
// OIDC_CLIENT_ID (default auth-rs-test), OIDC_CLIENT_SECRET (default
// auth-rs-test-secret-0123456789abcdef), OIDC_REDIRECT_URIS (comma-separated; default
// http://127.0.0.1:3000/sso/oidc/callback).
//
// When ready it prints its issuer, alone on one line (http://127.0.0.1:PORT), to stdout.
// Logs go to stderr. Stops on SIGTERM/SIGINT.

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';
import { accounts } from './lib/browser.mjs';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
  },
});

const port = Number(opts.port ?? process.env.OIDC_PORT ?? 0);
const clientId = opts['client-id'] ?? process.env.OIDC_CLIENT_ID ?? 'auth-rs-test';
const clientSecret =
  opts['client-secret'] ?? process.env.OIDC_CLIENT_SECRET ?? 'auth-rs-test-secret-0123456789abcdef';
const redirectUris =
  opts['redirect-uri'] ??
  (process.env.OIDC_REDIRECT_URIS ?? 'http://127.0.0.1:3000/sso/oidc/callback').split(',').filter(Boolean);

const log = (...args) => console.error('oidc-idp:', ...args);

// A fresh RS256 signing key per run (the JWKS endpoint serves its public half).
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: `test-${randomUUID()}`, alg: 'RS256', use: 'sig' };

const byId = new Map(accounts.map((a) => [a.sub, a]));
const byUsername = new Map(accounts.map((a) => [a.username, a]));

const esc = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const page = (title, body) =>
  `<!doctype html><html><head><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`;

function loginPage(uid, error = '') {
  return page(
    'Sign in to the test OIDC provider',
    `<p>${esc(error)}</p>
<form method="post" action="/interaction/${esc(uid)}/login">
  <label>Username <input name="login" autocomplete="username"></label>
  <label>Password <input type="password" name="password"></label>
  <button type="submit">Sign in</button>
</form>`,
  );
}

function consentPage(uid, details) {
  return page(
    'Authorize the application',
    `<p>Scopes: ${esc([...(details.missingOIDCScope ?? [])].join(' '))}</p>
<form method="post" action="/interaction/${esc(uid)}/confirm">
  <button type="submit">Continue</button>
</form>`,
  );
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

// Listen first (port 0 = a free port), then build the provider with the issuer it implies.
let provider;
const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    log('error', err);
    if (!res.headersSent) send(res, 500, page('Error', esc(err.message)));
    else res.end();
  });
});

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const m = url.pathname.match(/^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm))?$/);
  if (!m) return provider.callback()(req, res);
  const [, uid, action] = m;
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Error', 'interaction mismatch'));
  const { prompt, params, session } = details;

  if (!action && req.method === 'GET') {
    if (prompt.name === 'login') return send(res, 200, loginPage(uid));
    return send(res, 200, consentPage(uid, prompt.details));
  }
  if (req.method !== 'POST') return send(res, 405, page('Error', 'method not allowed'));

  if (action === 'login') {
    const form = await readForm(req);
    const account = byUsername.get(form.login);
    if (!account || account.password !== form.password) {
      return send(res, 200, loginPage(uid, 'Wrong username or password.'));
    }
    log('login', account.username, 'for client', params.client_id);
    return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
  }

  // action === 'confirm': grant what the prompt says is missing.
  await readForm(req);
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const d = prompt.details;
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  if (d.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  const consent = details.grantId ? {} : { grantId };
  return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    clientDefaults: { id_token_signed_response_alg: 'RS256' },
    jwks: { keys: [signingJwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { methods: ['S256'], required: () => true },
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
      groups: ['groups'],
    },
    // Scope-requested claims also go into the ID token (not only the userinfo answer).
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      // Dynamic client registration (RFC 7591) at /reg, open: a test can add a client with its
      // own redirect_uris once the app's port is known. Loopback test tool only.
      registration: { enabled: true },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      const account = byId.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: account.sub,
            email: account.email,
            email_verified: account.email_verified,
            name: account.name,
            given_name: account.given_name,
            family_name: account.family_name,
            groups: account.groups,
          };
        },
      };
    },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', `<pre>${esc(JSON.stringify(out))}</pre>`);
    },
  });
  provider.on('server_error', (ctx, err) => log('server_error', err));
  log(`client ${clientId}, redirect_uris ${redirectUris.join(' ')}`);
  process.stdout.write(`${issuer}\n`);
});

const stop = () => server.close(() => process.exit(0)).closeAllConnections?.();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
