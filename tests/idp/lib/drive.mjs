// The driving loop shared by drive-oidc.mjs and drive-saml.mjs: follow redirects, fill and
// submit forms (login, consent), stop where the caller says.

import { CookieJar, fillLogin, parseForms, request } from './browser.mjs';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Plays the browser from `startUrl`.
 * - `stopAtRedirect(url)`: true when a redirect to `url` ends the drive (not requested).
 * - `stopAtPage(page, forms)`: a value (not undefined) ends the drive with that value.
 * Returns { kind: 'redirect', url } or { kind: 'page', value }. Throws on an HTTP error, a
 * page without a form, a refused login or more than `maxSteps` steps.
 */
export async function drive(startUrl, credentials, { stopAtRedirect = () => false, stopAtPage = () => undefined, maxSteps = 30, jar = new CookieJar(), trace = false } = {}) {
  let url = startUrl;
  let method = 'GET';
  let form;
  let loginPosted = false;
  for (let step = 0; step < maxSteps; step++) {
    const page = await request(jar, url, { method, form });
    if (trace) console.error(`drive: ${method} ${url} -> ${page.status}${page.location ? ` ${page.location}` : ''}`);
    if (REDIRECTS.has(page.status)) {
      if (!page.location) throw new Error(`${page.status} without Location from ${url}`);
      const next = new URL(page.location, url).toString();
      if (stopAtRedirect(next)) return { kind: 'redirect', url: next };
      url = next;
      method = 'GET';
      form = undefined;
      continue;
    }
    if (page.status !== 200) {
      throw new Error(`HTTP ${page.status} from ${method} ${url}: ${page.text.slice(0, 500)}`);
    }
    const forms = parseForms(page.text, url);
    const value = stopAtPage(page, forms);
    if (value !== undefined) return { kind: 'page', value };
    const [first] = forms;
    if (!first) throw new Error(`no form on the page at ${url}: ${page.text.slice(0, 500)}`);
    const { fields, filled } = fillLogin(first, credentials);
    if (filled) {
      if (loginPosted) throw new Error(`login refused for ${credentials.username} (the login form came back)`);
      loginPosted = true;
    }
    const [button] = first.buttons;
    if (button) fields[button.name] = button.value;
    url = first.action;
    method = first.method;
    form = method === 'GET' ? undefined : fields;
    if (method === 'GET') {
      const u = new URL(url);
      for (const [k, v] of Object.entries(fields)) u.searchParams.set(k, v);
      url = u.toString();
    }
  }
  throw new Error(`gave up after ${maxSteps} steps at ${url}`);
}
