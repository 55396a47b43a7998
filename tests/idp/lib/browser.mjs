// A browser without a browser: fetch with a cookie jar, manual redirects and naive HTML form
// parsing. Enough for the login and consent pages of the test IdPs in this folder (plain
// HTML forms, no JavaScript needed), nothing more.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The test accounts shared by both IdPs (tests/idp/accounts.json). */
export const accounts = JSON.parse(readFileSync(join(here, '..', 'accounts.json'), 'utf8'));

/** "alice" or "alice:secret" to { username, password } (password from accounts.json by default). */
export function parseLogin(login) {
  const i = login.indexOf(':');
  if (i >= 0) return { username: login.slice(0, i), password: login.slice(i + 1) };
  const account = accounts.find((a) => a.username === login);
  if (!account) throw new Error(`unknown account ${login} (see tests/idp/accounts.json)`);
  return { username: login, password: account.password };
}

/** A cookie jar keyed by host, honouring Path (prefix match) and Max-Age=0 / past Expires deletions. */
export class CookieJar {
  constructor() {
    this.cookies = []; // { host, name, value, path }
  }

  store(url, response) {
    const host = new URL(url).host;
    const setCookies = response.headers.getSetCookie ? response.headers.getSetCookie() : [];
    for (const header of setCookies) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let expired = false;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'path' && v.trim()) path = v.trim();
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      this.cookies = this.cookies.filter((c) => !(c.host === host && c.name === name && c.path === path));
      if (!expired) this.cookies.push({ host, name, value, path });
    }
  }

  header(url) {
    const u = new URL(url);
    return this.cookies
      .filter((c) => c.host === u.host && (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/'))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

/** One request, no automatic redirect, cookies from and into the jar. */
export async function request(jar, url, { method = 'GET', form } = {}) {
  const headers = { 'user-agent': 'auth-rs-idp-driver/1', accept: 'text/html,application/xhtml+xml' };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  let body;
  if (form) {
    body = new URLSearchParams(form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const response = await fetch(url, { method, headers, body, redirect: 'manual' });
  jar.store(url, response);
  const text = await response.text();
  return { status: response.status, location: response.headers.get('location'), text, url };
}

function decodeEntities(s) {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x2F;/gi, '/')
    .replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)))
    .replace(/&amp;/g, '&');
}

function attr(tag, name) {
  const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i'));
  return m ? decodeEntities(m[1] ?? m[2] ?? m[3]) : undefined;
}

/** The forms of an HTML page: [{ action (absolute), method, fields: {name: value}, buttons: [{name, value}] }]. */
export function parseForms(html, pageUrl) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const [, formAttrs, inner] = m;
    const tag = `<form ${formAttrs}>`;
    const action = new URL(attr(tag, 'action') ?? pageUrl, pageUrl).toString();
    const method = (attr(tag, 'method') ?? 'GET').toUpperCase();
    const fields = {};
    const buttons = [];
    for (const im of inner.matchAll(/<(input|button|textarea)\b([^>]*)>/gi)) {
      const t = `<${im[1]} ${im[2]}>`;
      const name = attr(t, 'name');
      if (!name) continue;
      const type = (attr(t, 'type') ?? (im[1].toLowerCase() === 'button' ? 'submit' : 'text')).toLowerCase();
      if (type === 'submit') buttons.push({ name, value: attr(t, 'value') ?? '' });
      else fields[name] = attr(t, 'value') ?? '';
    }
    forms.push({ action, method, fields, buttons });
  }
  return forms;
}

/** Fills the usual login fields of a form, if it has them. */
export function fillLogin(form, { username, password }) {
  const fields = { ...form.fields };
  let filled = false;
  for (const name of ['login', 'username', 'user', 'email']) {
    if (name in fields) {
      fields[name] = username;
      filled = true;
    }
  }
  if ('password' in fields) {
    fields.password = password;
    filled = true;
  }
  return { fields, filled };
}
