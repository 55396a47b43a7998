// End-to-end test of the example server's web page in headless Debian Chromium.
//
//   node web.spec.mjs http://127.0.0.1:PORT      (or E2E_BASE_URL=...)
//
// Start it through scripts/e2e.sh, which builds and starts a fresh server first. Exits 0
// when every step passes, 1 otherwise (with a screenshot in $E2E_ARTIFACTS).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jsQR from "jsqr";
import * as OTPAuth from "otpauth";
import { chromium } from "playwright-core";
import { PNG } from "pngjs";

const BASE = (process.argv[2] || process.env.E2E_BASE_URL || "").replace(/\/$/, "");
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARTIFACTS = process.env.E2E_ARTIFACTS || join(tmpdir(), "auth-e2e-artifacts");
const TIMEOUT_MS = 15_000;
// The example server's console: its dev mailer prints every emailed code there.
const SERVER_LOG = process.env.E2E_SERVER_LOG || "";
// The TXT records file the server verifies SSO domains from (its --dns-txt-file).
const DNS_TXT_FILE = process.env.E2E_DNS_TXT_FILE || "";

// The flags this machine needs: no sandbox as root, and no background connections to
// Google's hosts (the network is closed; they would fail at every start).
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// ---------------------------------------------------------------------------------------
// Harness: a browser per user, steps that report, and checks that hold for every page.

const browsers = [];
const problems = []; // requests to other origins, uncaught page errors
let currentPage = null;

/** A fresh browser (its own temporary profile directory) with one page on `base`. */
async function openBrowser(label, base = BASE) {
  const profile = mkdtempSync(join(tmpdir(), `auth-e2e-${label}-`));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      baseURL: base,
      viewport: { width: 1200, height: 1000 },
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  context.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(`${base}/`) && !url.startsWith("data:") && url !== "about:blank") {
      problems.push(`[${label}] request to another origin: ${url}`);
    }
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on("pageerror", (err) => problems.push(`[${label}] uncaught page error: ${err.message}`));
  // The page must work under its Content-Security-Policy: any violation is a problem.
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) {
      problems.push(`[${label}] ${message.text()}`);
    }
  });
  const entry = { label, context, page, profile };
  browsers.push(entry);
  return entry;
}

async function closeBrowsers() {
  for (const { context, profile } of browsers.splice(0)) {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

async function step(name, action) {
  process.stdout.write(`- ${name} ... `);
  const started = Date.now();
  await action();
  console.log(`ok (${Date.now() - started} ms)`);
}

const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);

async function waitForState(page, state) {
  await page.locator(`#app[data-state="${state}"]`).waitFor();
}

/** The JSON API called from the test itself (not the browser): no cookie, no Origin. */
async function http(method, path, { headers = {}, body } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${BASE}${path}`, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** The newest code the dev mailer printed for `email` and `purpose` (e.g. "SignIn"). */
async function emailedCode(email, purpose) {
  return (await emailed(email, purpose)).code;
}

/** The newest code and link the dev mailer printed for `email` and `purpose`. */
async function emailed(email, purpose) {
  assert.ok(SERVER_LOG, "E2E_SERVER_LOG names the server's log (scripts/e2e.sh sets it)");
  const pattern = new RegExp(`\\[dev mailer\\] to ${email.replace(/[.+]/g, "\\$&")} \\(${purpose}\\): code (\\d+) — or open (\\S+)`, "g");
  for (let i = 0; i < 50; i++) {
    const found = [...readFileSync(SERVER_LOG, "utf8").matchAll(pattern)];
    if (found.length) {
      const [, code, link] = found[found.length - 1];
      return { code, link };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${purpose} code for ${email} in ${SERVER_LOG}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The text of the QR code shown in `locator` (a screenshot of it, read by jsQR). */
async function readQrCode(locator) {
  const png = PNG.sync.read(await locator.screenshot());
  const found = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  assert.ok(found, "the QR code reads");
  return found.data;
}

/**
 * An authenticator app: TOTP codes from an otpauth:// URI, computed by otpauth (an
 * implementation independent of the server's). The server takes one code per step and
 * only of a step later than the last one it took, so each code is of a step after the
 * previous one, within a step of the clock (it waits when the next step is not yet near).
 */
class Authenticator {
  constructor(uri) {
    this.totp = OTPAuth.URI.parse(uri);
    this.lastStep = -Infinity;
  }

  stepNow() {
    return Math.floor(Date.now() / 1000 / this.totp.period);
  }

  async nextCode() {
    while (this.lastStep > this.stepNow()) await sleep(250);
    const step = Math.max(this.lastStep + 1, this.stepNow());
    this.lastStep = step;
    return this.totp.generate({ timestamp: step * this.totp.period * 1000 });
  }

  /** A code of none of the steps the server would take now. */
  wrongCode() {
    const now = this.stepNow();
    const valid = new Set([-1, 0, 1, 2].map((d) => this.totp.generate({ timestamp: (now + d) * this.totp.period * 1000 })));
    for (let n = 0; ; n++) {
      const code = String(n).padStart(this.totp.digits, "0");
      if (!valid.has(code)) return code;
    }
  }
}

/**
 * Takes `user`'s passkey off their virtual authenticator (as exported, with its current
 * counter): while it is off, the page's autofill request finds nothing and waits.
 */
async function takePasskey(user) {
  const { credentials } = await user.cdp.send("WebAuthn.getCredentials", { authenticatorId: user.authenticatorId });
  assert.equal(credentials.length, 1);
  await user.cdp.send("WebAuthn.removeCredential", {
    authenticatorId: user.authenticatorId,
    credentialId: credentials[0].credentialId,
  });
  return credentials[0];
}

/** Puts a passkey taken by `takePasskey` back on `user`'s authenticator. */
async function givePasskey(user, credential) {
  await user.cdp.send("WebAuthn.addCredential", { authenticatorId: user.authenticatorId, credential });
}

/** Signs out on `page`, then signs in with the password: the page asks for the second step. */
async function signInToSecondStep(page, user, methods) {
  await byTestId(page, "signout-button").click();
  await waitForState(page, "signed-out");
  await byTestId(page, "signin-email").fill(user.email);
  await byTestId(page, "signin-password").fill(user.password);
  await byTestId(page, "signin-submit").click();
  await waitForState(page, "mfa");
  assert.equal(await byTestId(page, "mfa-challenge").getAttribute("data-methods"), methods);
}

function assertApiKeyWhoami(body, key) {
  assert.equal(body.kind, "api_key", `whoami kind: ${JSON.stringify(body)}`);
  assert.equal(body.key.id, key.id, "whoami names the created key");
  assert.equal(body.key.name, key.name);
  assert.ok(key.secret.startsWith(body.key.start), "the key's visible start matches its secret");
  assert.equal(body.owner.user_id, key.userId, "the key acts for its owner");
  assert.deepEqual(body.scopes, ["data:read"]);
}

// ---------------------------------------------------------------------------------------
// The scenario

async function run() {
  const suffix = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const alice = { email: `alice-${suffix}@example.com`, name: "Alice E2E", password: "alice password 123" };
  const bob = { email: `bob-${suffix}@example.com`, name: "Bob E2E", password: "bob password 4567" };
  const key = { name: `e2e key ${suffix}` };
  const orgName = `E2E Org ${suffix}`;
  const carol = { email: `carol-${suffix}@example.com`, password: "carol password 890" };
  const dave = { email: `dave-${suffix}@example.com`, password: "dave password 2468" };

  const { page } = await openBrowser("alice");
  currentPage = page;

  await step("the page loads signed out", async () => {
    const response = await page.goto("/");
    assert.equal(response.status(), 200);
    await waitForState(page, "signed-out");
    assert.equal(await page.title(), "auth-rs demo");
  });

  await step("sign up a new user", async () => {
    await byTestId(page, "signup-email").fill(alice.email);
    await byTestId(page, "signup-name").fill(alice.name);
    await byTestId(page, "signup-password").fill(alice.password);
    await byTestId(page, "signup-submit").click();
    await waitForState(page, "signed-in");
    assert.equal(await byTestId(page, "me-email").textContent(), alice.email);
    assert.equal(await byTestId(page, "me-name").textContent(), alice.name);
    alice.id = await byTestId(page, "me-user-id").textContent();
    assert.match(alice.id, /^[0-9a-f-]{36}$/);
  });

  await step("signing up again with the same email shows EMAIL_IN_USE", async () => {
    // Through the API from the page, to check the error body the page shows is the API's.
    const answer = await page.evaluate(async (email) => {
      const r = await fetch("/auth/sign-up", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email, password: "another password 1" }),
      });
      return { status: r.status, body: await r.json() };
    }, alice.email);
    assert.equal(answer.status, 409);
    assert.equal(answer.body.error.code, "EMAIL_IN_USE");
  });

  await step("sign out", async () => {
    await byTestId(page, "signout-button").click();
    await waitForState(page, "signed-out");
    const me = await page.evaluate(async () => (await fetch("/auth/me", { credentials: "same-origin" })).status);
    assert.equal(me, 401, "GET /auth/me after sign-out");
  });

  await step("a wrong password shows INVALID_CREDENTIALS", async () => {
    await byTestId(page, "signin-email").fill(alice.email);
    await byTestId(page, "signin-password").fill("not the password");
    await byTestId(page, "signin-submit").click();
    const error = byTestId(page, "signin-error");
    await page.locator('[data-testid="signin-error"][data-code="INVALID_CREDENTIALS"]').waitFor();
    assert.match(await error.textContent(), /^INVALID_CREDENTIALS: /);
  });

  await step("sign in", async () => {
    await byTestId(page, "signin-email").fill(alice.email);
    await byTestId(page, "signin-password").fill(alice.password);
    await byTestId(page, "signin-submit").click();
    await waitForState(page, "signed-in");
    assert.equal(await byTestId(page, "me-email").textContent(), alice.email);
    assert.equal(await byTestId(page, "me-user-id").textContent(), alice.id);
    assert.ok(await byTestId(page, "signin-error").isHidden(), "the old error is cleared");
  });

  await step("list sessions and revoke another one", async () => {
    // A second session of Alice's, from a token client.
    const other = await http("POST", "/auth/sign-in", {
      body: { email: alice.email, password: alice.password, mode: "token" },
    });
    assert.equal(other.status, 200);
    const bearer = { Authorization: `Bearer ${other.body.session_token}` };
    assert.equal((await http("GET", "/api/whoami", { headers: bearer })).body.kind, "session");

    await page.reload();
    await waitForState(page, "signed-in");
    const rows = page.locator('[data-testid="session-row"]');
    assert.equal(await rows.count(), 2);
    const currentId = await byTestId(page, "me-session-id").textContent();
    assert.equal(await page.locator(`[data-testid="session-row"][data-current="true"]`).getAttribute("data-session-id"), currentId);

    await page.locator(`[data-testid="session-row"][data-session-id="${other.body.session.id}"] [data-testid="session-revoke"]`).click();
    await page.locator(`[data-testid="session-row"][data-session-id="${other.body.session.id}"]`).waitFor({ state: "detached" });
    assert.equal(await rows.count(), 1);
    const after = await http("GET", "/api/whoami", { headers: bearer });
    assert.equal(after.status, 401);
    assert.equal(after.body.error.code, "SESSION_REVOKED");
  });

  await step("create an API key on the page and read its secret", async () => {
    await byTestId(page, "key-name").fill(key.name);
    assert.equal(await byTestId(page, "key-scopes").inputValue(), "data:read", "default scopes");
    await byTestId(page, "key-submit").click();
    await byTestId(page, "new-key").waitFor({ state: "visible" });
    key.secret = (await byTestId(page, "new-key-secret").textContent()).trim();
    key.id = await byTestId(page, "new-key").getAttribute("data-key-id");
    key.userId = alice.id;
    assert.match(key.secret, /^sk_[A-Za-z0-9]{20,}$/);
    const row = page.locator(`[data-testid="key-row"][data-key-id="${key.id}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute("data-status"), "active");
    assert.equal(await row.getAttribute("data-key-name"), key.name);
    assert.ok(!(await row.textContent()).includes(key.secret), "the list never shows the secret");
  });

  await step("the copy button copies the secret", async () => {
    await byTestId(page, "new-key-copy").click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, key.secret);
  });

  await step("GET /api/whoami with the key through the page's form", async () => {
    await byTestId(page, "whoami-key").fill(key.secret);
    await byTestId(page, "whoami-submit").click();
    await page.locator('[data-testid="whoami-output"][data-status="200"]').waitFor();
    const body = JSON.parse(await byTestId(page, "whoami-output").textContent());
    assertApiKeyWhoami(body, key);
    assert.equal(await byTestId(page, "whoami-status").textContent(), "HTTP 200");
  });

  await step("GET /api/whoami with the key directly (x-api-key, no cookie)", async () => {
    const answer = await http("GET", "/api/whoami", { headers: { "x-api-key": key.secret } });
    assert.equal(answer.status, 200);
    assertApiKeyWhoami(answer.body, key);
    const data = await http("GET", "/api/data", { headers: { "x-api-key": key.secret } });
    assert.equal(data.status, 200, "the key's data:read scope opens /api/data");
  });

  await step("revoke the key; whoami with it fails with API_KEY_REVOKED", async () => {
    const row = page.locator(`[data-testid="key-row"][data-key-id="${key.id}"]`);
    await row.locator('[data-testid="key-revoke"]').click();
    await page.locator(`[data-testid="key-row"][data-key-id="${key.id}"][data-status="revoked"]`).waitFor();
    assert.ok(await byTestId(page, "new-key").isHidden(), "the revoked key's secret is no longer shown");

    const direct = await http("GET", "/api/whoami", { headers: { "x-api-key": key.secret } });
    assert.equal(direct.status, 401);
    assert.equal(direct.body.error.code, "API_KEY_REVOKED");

    await byTestId(page, "whoami-submit").click();
    await page.locator('[data-testid="whoami-error"][data-code="API_KEY_REVOKED"]').waitFor();
    assert.equal(await byTestId(page, "whoami-output").getAttribute("data-status"), "401");
  });

  let inviteLink;
  await step("create an organization and an invitation link", async () => {
    await byTestId(page, "org-name").fill(orgName);
    await byTestId(page, "org-submit").click();
    const row = page.locator(`[data-testid="group-row"][data-group-name="${orgName}"]`);
    await row.waitFor();
    assert.equal(await row.locator('[data-testid="group-role"]').textContent(), "owner");
    assert.ok((await row.textContent()).includes("org"), "created with type org");
    await row.locator('[data-testid="group-invite"]').click();
    await byTestId(page, "invite-link-box").waitFor({ state: "visible" });
    inviteLink = await byTestId(page, "invite-link").textContent();
    assert.ok(inviteLink.startsWith(`${BASE}/#invite=`), inviteLink);
  });

  let bobPage;
  await step("another user opens the link, signs up and accepts", async () => {
    ({ page: bobPage } = await openBrowser("bob"));
    currentPage = bobPage;
    await bobPage.goto(inviteLink);
    await waitForState(bobPage, "signed-out");
    await byTestId(bobPage, "invite-banner").waitFor({ state: "visible" });
    assert.ok(await byTestId(bobPage, "invite-accept").isHidden(), "accept needs a sign-in first");
    await byTestId(bobPage, "signup-email").fill(bob.email);
    await byTestId(bobPage, "signup-password").fill(bob.password);
    await byTestId(bobPage, "signup-submit").click();
    await waitForState(bobPage, "signed-in");
    await byTestId(bobPage, "invite-accept").click();
    const row = bobPage.locator(`[data-testid="group-row"][data-group-name="${orgName}"]`);
    await row.waitFor();
    assert.equal(await row.locator('[data-testid="group-role"]').textContent(), "member");
    assert.ok(await byTestId(bobPage, "invite-banner").isHidden());
    assert.ok(!bobPage.url().includes("invite="), "the token leaves the address bar");
    bob.id = await byTestId(bobPage, "me-user-id").textContent();
    currentPage = page;
  });

  await step("sessions show the browser and OS read from the user agent", async () => {
    await page.reload();
    await waitForState(page, "signed-in");
    const device = page.locator('[data-testid="session-row"][data-current="true"] [data-testid="session-device"]');
    const text = await device.textContent();
    assert.match(text, /^Chrome \d+ on Linux$/, text);
    assert.match(await device.getAttribute("title"), /Chrome\//, "the raw user agent is the tooltip");
  });

  await step("edit the profile", async () => {
    await byTestId(page, "profile-name").fill("Alice Renamed");
    await byTestId(page, "profile-image").fill("https://img.example.com/alice.png");
    await byTestId(page, "profile-submit").click();
    await page.locator('[data-testid="me-name"]', { hasText: "Alice Renamed" }).waitFor();
    const me = await page.evaluate(async () => (await fetch("/auth/me", { credentials: "same-origin" })).json());
    assert.equal(me.user.name, "Alice Renamed");
    assert.equal(me.user.image, "https://img.example.com/alice.png");
    assert.equal(me.user.email, alice.email, "the email is not changed here");
  });

  await step("the organization's members list; the owner makes the member an admin", async () => {
    const org = page.locator(`[data-testid="group-row"][data-group-name="${orgName}"]`);
    await org.locator('[data-testid="group-members"]').click();
    await byTestId(page, "members-panel").waitFor({ state: "visible" });
    assert.equal(await byTestId(page, "members-group").textContent(), orgName);
    const bobRow = page.locator(`[data-testid="member-row"][data-user-id="${bob.id}"]`);
    assert.equal(await bobRow.getAttribute("data-role"), "member");
    assert.equal(await bobRow.getAttribute("data-inherited"), "false");
    await bobRow.locator('[data-testid="member-role-select"]').selectOption("admin");
    await bobRow.locator('[data-testid="member-role-save"]').click();
    await page.locator(`[data-testid="member-row"][data-user-id="${bob.id}"][data-role="admin"]`).waitFor();
    // Bob sees his new role.
    await bobPage.reload();
    await waitForState(bobPage, "signed-in");
    const bobOrg = bobPage.locator(`[data-testid="group-row"][data-group-name="${orgName}"]`);
    assert.equal(await bobOrg.locator('[data-testid="group-role"]').textContent(), "admin");
  });

  await step("a team inside the organization lists the inherited members, marked", async () => {
    const orgId = await page.locator(`[data-testid="group-row"][data-group-name="${orgName}"]`).getAttribute("data-group-id");
    await byTestId(page, "org-name").fill(`${orgName} team`);
    await byTestId(page, "org-parent").selectOption(orgId);
    await byTestId(page, "org-submit").click();
    const team = page.locator(`[data-testid="group-row"][data-group-name="${orgName} team"]`);
    await team.waitFor();
    await team.locator('[data-testid="group-members"]').click();
    await page.locator('[data-testid="members-group"]', { hasText: `${orgName} team` }).waitFor();
    const bobRow = page.locator(`[data-testid="member-row"][data-user-id="${bob.id}"]`);
    assert.equal(await bobRow.getAttribute("data-inherited"), "true");
    assert.equal(await bobRow.getAttribute("data-role"), "admin");
    assert.ok((await bobRow.textContent()).includes(orgName), "says which group it comes from");
    await bobRow.locator('[data-testid="member-inherited"]').waitFor();
    // Alice: owner of the team (she made it) and, inherited, of the organization.
    const aliceRows = page.locator(`[data-testid="member-row"][data-user-id="${alice.id}"]`);
    assert.equal(await aliceRows.count(), 2);
    await byTestId(page, "members-close").click();
  });

  await step("organization SSO: create an OIDC connection, see every readiness check, activate it", async () => {
    const org = page.locator(`[data-testid="group-row"][data-group-name="${orgName}"]`);
    const orgId = await org.getAttribute("data-group-id");
    await org.locator('[data-testid="group-sso"]').click();
    await byTestId(page, "sso-panel").waitFor({ state: "visible" });
    assert.equal(await byTestId(page, "sso-group").textContent(), orgName);
    await byTestId(page, "sso-name").fill("Okta");
    await byTestId(page, "sso-issuer").fill("https://idp.example.com");
    await byTestId(page, "sso-client-id").fill("client-123");
    await byTestId(page, "sso-client-secret").fill("e2e-client-secret-0123456789");
    await byTestId(page, "sso-connection-submit").click();
    const draft = page.locator('[data-testid="sso-connection-row"][data-status="draft"]');
    await draft.waitFor();
    await byTestId(page, "sso-readiness-box").waitFor({ state: "visible" });
    const ok = (name) =>
      page.locator(`[data-testid="sso-check"][data-check="${name}"]`).getAttribute("data-ok");
    for (const name of ["oidc.issuer", "oidc.client_id", "oidc.client_secret", "oidc.scopes"]) {
      assert.equal(await ok(name), "true", name);
    }
    assert.equal(await ok("status_active"), "false");
    assert.equal(await ok("verified_domain"), "false");
    await draft.locator('[data-testid="sso-activate"]').click();
    await page.locator('[data-testid="sso-connection-row"][data-status="active"]').waitFor();
    await page.locator('[data-testid="sso-check"][data-check="status_active"][data-ok="true"]').waitFor();
    const listed = await page.evaluate(async (path) =>
      (await fetch(path, { credentials: "same-origin" })).text(), `/auth/groups/${orgId}/sso/connections`);
    assert.ok(listed.includes('"has_client_secret":true'), listed);
    assert.ok(!listed.includes("e2e-client-secret"), "the client secret is never returned");
  });

  await step("organization SSO: add a domain, publish its TXT record, verify it, require SSO", async () => {
    const domain = `e2e-${suffix}.example.com`;
    await byTestId(page, "sso-domain").fill(domain);
    await byTestId(page, "sso-domain-submit").click();
    const row = page.locator('[data-testid="sso-domain-row"][data-verified="false"]');
    await row.waitFor();
    const txtName = await row.locator('[data-testid="sso-txt-name"]').textContent();
    const txtValue = await row.locator('[data-testid="sso-txt-value"]').textContent();
    assert.equal(txtName, `_auth-rs-challenge.${domain}`);
    assert.ok(txtValue.startsWith("auth-rs-domain-verification="), txtValue);
    assert.ok(await row.locator('[data-testid="sso-require"]').isDisabled(), "only a verified domain requires SSO");
    await row.locator('[data-testid="sso-verify"]').click();
    const refused = page.locator('[data-testid="sso-admin-error"][data-code="DOMAIN_VERIFICATION_FAILED"]');
    await refused.waitFor();
    assert.ok((await refused.textContent()).includes(txtValue), "the refusal names the record to publish");
    // scripts/e2e.sh starts the server with --dns-txt-file: publishing is writing that file.
    assert.ok(DNS_TXT_FILE, "E2E_DNS_TXT_FILE names the server's records file");
    writeFileSync(DNS_TXT_FILE, `${txtName} "${txtValue}"\n`);
    await row.locator('[data-testid="sso-verify"]').click();
    const verified = page.locator('[data-testid="sso-domain-row"][data-verified="true"]');
    await verified.waitFor();
    await verified.locator('[data-testid="sso-require"]').click();
    await page.locator('[data-testid="sso-domain-row"][data-verified="true"] [data-testid="sso-require"]:checked').waitFor();
    const signIn = await http("POST", "/auth/sign-in", { body: { email: `someone@${domain}`, password: "whatever it is" } });
    assert.equal(signIn.status, 403);
    assert.equal(signIn.body.error.code, "SSO_REQUIRED");
    await byTestId(page, "sso-close").click();
    assert.ok(await byTestId(page, "sso-panel").isHidden());
  });

  await step("change the password: other sessions end, this one continues", async () => {
    const other = await http("POST", "/auth/sign-in", {
      body: { email: alice.email, password: alice.password, mode: "token" },
    });
    assert.equal(other.status, 200);
    const bearer = { Authorization: `Bearer ${other.body.session_token}` };
    const before = await byTestId(page, "me-session-id").textContent();
    const newPassword = "alice new password 789";
    await byTestId(page, "password-current").fill(alice.password);
    await byTestId(page, "password-new").fill(newPassword);
    await byTestId(page, "password-submit").click();
    await page.locator('[data-testid="notice"]', { hasText: "Password changed" }).waitFor();
    await waitForState(page, "signed-in");
    assert.notEqual(await byTestId(page, "me-session-id").textContent(), before, "a new session replaced this one");
    const old = await http("GET", "/api/whoami", { headers: bearer });
    assert.equal(old.status, 401);
    assert.equal(old.body.error.code, "SESSION_REVOKED");
    const refused = await http("POST", "/auth/sign-in", { body: { email: alice.email, password: alice.password, mode: "token" } });
    assert.equal(refused.status, 401);
    alice.password = newPassword;
    const fresh = await http("POST", "/auth/sign-in", { body: { email: alice.email, password: alice.password, mode: "token" } });
    assert.equal(fresh.status, 200);
    await page.reload();
    await waitForState(page, "signed-in");
  });

  await step("change the email address, confirmed with the code sent to the new one", async () => {
    const newEmail = `alice-new-${suffix}@example.com`;
    await byTestId(page, "email-new").fill(newEmail);
    await byTestId(page, "email-submit").click();
    await byTestId(page, "email-confirm-form").waitFor({ state: "visible" });
    assert.equal(await byTestId(page, "me-email").textContent(), alice.email, "nothing changes before the code");
    const code = await emailedCode(newEmail, "ChangeEmail");
    await byTestId(page, "email-code").fill(code);
    await byTestId(page, "email-confirm").click();
    await page.locator('[data-testid="me-email"]', { hasText: newEmail }).waitFor();
    const old = await http("POST", "/auth/sign-in", { body: { email: alice.email, password: alice.password, mode: "token" } });
    assert.equal(old.status, 401, "the old address no longer signs in");
    assert.ok(readFileSync(SERVER_LOG, "utf8").includes(`[dev mailer] to ${alice.email}: your account's email address was changed to ${newEmail}`),
      "the old address is told");
    alice.email = newEmail;
    const fresh = await http("POST", "/auth/sign-in", { body: { email: alice.email, password: alice.password, mode: "token" } });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body.user.email_verified, true);
  });

  await step("sign in with an emailed code", async () => {
    currentPage = bobPage;
    await byTestId(bobPage, "signout-button").click();
    await waitForState(bobPage, "signed-out");
    await byTestId(bobPage, "code-email").fill(bob.email);
    await byTestId(bobPage, "code-send").click();
    await byTestId(bobPage, "code-signin-form").waitFor({ state: "visible" });
    const code = await emailedCode(bob.email, "SignIn");
    await byTestId(bobPage, "code-value").fill(code);
    await byTestId(bobPage, "code-submit").click();
    await waitForState(bobPage, "signed-in");
    assert.equal(await byTestId(bobPage, "me-email").textContent(), bob.email);
    // The first proof of his address (nobody had verified it) takes the account from
    // whoever set it up before: the password set at sign-up is gone, the emailed code is
    // his way in now, and no hash is ever shown.
    await bobPage.locator('[data-testid="account-row"][data-provider="email"]').waitFor();
    assert.equal(await bobPage.locator('[data-testid="account-row"][data-provider="password"]').count(), 0);
    assert.ok(!(await byTestId(bobPage, "accounts-list").textContent()).includes("argon2"));
    const old = await http("POST", "/auth/sign-in", { body: { email: bob.email, password: bob.password, mode: "token" } });
    assert.equal(old.status, 401, "the password set before the proof no longer signs in");
  });

  await step("sign in with the emailed link (its token in the fragment)", async () => {
    currentPage = bobPage;
    await byTestId(bobPage, "signout-button").click();
    await waitForState(bobPage, "signed-out");
    await byTestId(bobPage, "code-email").fill(bob.email);
    await byTestId(bobPage, "code-send").click();
    await byTestId(bobPage, "code-signin-form").waitFor({ state: "visible" });
    const { link } = await emailed(bob.email, "SignIn");
    assert.ok(link.startsWith(`${BASE}/#sign_in=`), link);
    await bobPage.goto(link);
    await waitForState(bobPage, "signed-in");
    assert.equal(await byTestId(bobPage, "me-email").textContent(), bob.email);
    assert.ok(!bobPage.url().includes("sign_in="), "the token leaves the address bar");
  });

  await step("delete the account (no password: the fresh emailed sign-in stands for it)", async () => {
    bobPage.once("dialog", (dialog) => dialog.accept());
    await byTestId(bobPage, "delete-submit").click();
    await waitForState(bobPage, "signed-out");
    const me = await bobPage.evaluate(async () => (await fetch("/auth/me", { credentials: "same-origin" })).status);
    assert.equal(me, 401);
    const signIn = await http("POST", "/auth/sign-in", { body: { email: bob.email, password: bob.password, mode: "token" } });
    assert.equal(signIn.status, 401);
    assert.equal(signIn.body.error.code, "INVALID_CREDENTIALS");
    // Gone from the organization too.
    currentPage = page;
    const org = page.locator(`[data-testid="group-row"][data-group-name="${orgName}"]`);
    await org.locator('[data-testid="group-members"]').click();
    await page.waitForFunction((name) => !document.getElementById("members-panel").hidden
      && document.getElementById("members-group").textContent === name, orgName);
    await page.locator(`[data-testid="member-row"][data-user-id="${alice.id}"]`).first().waitFor();
    assert.equal(await page.locator(`[data-testid="member-row"][data-user-id="${bob.id}"]`).count(), 0);
  });

  await step("register a passkey, sign out: the email field's passkey autofill signs in, no username typed", async () => {
    // WebAuthn refuses IP addresses: the page's passkeys live on the localhost twin of
    // the server's origin (the example server's relying party), with a virtual CTAP2
    // platform authenticator (resident keys, user verification) through the DevTools
    // WebAuthn domain. Its simulated user picks the first passkey offered, so the page's
    // conditional-UI request (waiting while signed out) signs in as soon as there is one.
    const local = BASE.replace("://127.0.0.1:", "://localhost:");
    const { page: pk } = await openBrowser("passkey", local);
    currentPage = pk;
    carol.page = pk;
    carol.cdp = await pk.context().newCDPSession(pk);
    await carol.cdp.send("WebAuthn.enable");
    ({ authenticatorId: carol.authenticatorId } = await carol.cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));
    await pk.goto("/");
    await waitForState(pk, "signed-out");
    await byTestId(pk, "signup-email").fill(carol.email);
    await byTestId(pk, "signup-password").fill(carol.password);
    await byTestId(pk, "signup-submit").click();
    await waitForState(pk, "signed-in");
    await byTestId(pk, "passkey-register").click();
    await pk.locator('[data-testid="passkey-row"]').waitFor();
    const { credentials } = await carol.cdp.send("WebAuthn.getCredentials", { authenticatorId: carol.authenticatorId });
    assert.equal(credentials.length, 1, "one passkey on the authenticator");
    assert.equal(credentials[0].isResidentCredential, true, "a discoverable credential");
    await byTestId(pk, "signout-button").click();
    await pk.locator('[data-testid="notice"]', { hasText: "Signed in with a passkey." }).waitFor();
    await waitForState(pk, "signed-in");
    assert.equal(await byTestId(pk, "me-email").textContent(), carol.email);
    assert.equal(await byTestId(pk, "me-aal").textContent(), "aal2");
    currentPage = page;
  });

  await step("sign in with the passkey button: the modal request, no username typed", async () => {
    const pk = carol.page;
    currentPage = pk;
    // Without the passkey on the authenticator, the autofill request waits while signed
    // out; the button stops it and asks again, in a modal request.
    const passkey = await takePasskey(carol);
    await byTestId(pk, "signout-button").click();
    await waitForState(pk, "signed-out");
    await givePasskey(carol, passkey);
    await byTestId(pk, "passkey-signin").click();
    await waitForState(pk, "signed-in");
    assert.equal(await byTestId(pk, "me-email").textContent(), carol.email);
    assert.equal(await byTestId(pk, "me-aal").textContent(), "aal2");
    currentPage = page;
  });

  await step("sign in with the password: the passkey is the second step (aal2)", async () => {
    const pk = carol.page;
    currentPage = pk;
    const passkey = await takePasskey(carol);
    await signInToSecondStep(pk, carol, "passkey");
    await givePasskey(carol, passkey);
    await byTestId(pk, "mfa-passkey").click();
    await waitForState(pk, "signed-in");
    assert.equal(await byTestId(pk, "me-email").textContent(), carol.email);
    assert.equal(await byTestId(pk, "me-aal").textContent(), "aal2");
    currentPage = page;
  });

  await step("set up an authenticator app by scanning the QR code; its code turns it on", async () => {
    const { page: dp } = await openBrowser("totp");
    currentPage = dp;
    dave.page = dp;
    await dp.goto("/");
    await waitForState(dp, "signed-out");
    await byTestId(dp, "signup-email").fill(dave.email);
    await byTestId(dp, "signup-password").fill(dave.password);
    await byTestId(dp, "signup-submit").click();
    await waitForState(dp, "signed-in");
    assert.equal(await byTestId(dp, "totp-status").getAttribute("data-state"), "off");
    await byTestId(dp, "totp-enrol").click();
    await byTestId(dp, "totp-setup").waitFor({ state: "visible" });
    const uri = await readQrCode(byTestId(dp, "totp-qr"));
    assert.match(uri, /^otpauth:\/\/totp\//);
    dave.app = new Authenticator(uri);
    assert.equal(dave.app.totp.label, dave.email, "the QR code names the account");
    assert.equal(dave.app.totp.secret.base32, await byTestId(dp, "totp-secret").textContent(),
      "the key shown for typing is the QR code's");
    await byTestId(dp, "totp-confirm-code").fill(dave.app.wrongCode());
    await byTestId(dp, "totp-confirm").click();
    await dp.locator('[data-testid="totp-error"][data-code="CODE_INVALID"]').waitFor();
    await byTestId(dp, "totp-confirm-code").fill(await dave.app.nextCode());
    await byTestId(dp, "totp-confirm").click();
    await byTestId(dp, "recovery-box").waitFor({ state: "visible" });
    assert.equal(await dp.locator('[data-testid="recovery-code"]').count(), 10, "ten recovery codes, shown once");
    await dp.locator('[data-testid="totp-status"][data-state="on"]').waitFor();
    await byTestId(dp, "recovery-dismiss").click();
    currentPage = page;
  });

  await step("new recovery codes need the second step from this aal1 session: step up with a code", async () => {
    const dp = dave.page;
    currentPage = dp;
    assert.equal(await byTestId(dp, "me-aal").textContent(), "aal1");
    await byTestId(dp, "recovery-regenerate").click();
    await dp.locator('[data-testid="totp-error"][data-code="MFA_REQUIRED"]').waitFor();
    await byTestId(dp, "step-up-form").waitFor({ state: "visible" });
    await byTestId(dp, "step-up-code").fill(await dave.app.nextCode());
    await byTestId(dp, "step-up-submit").click();
    await dp.locator('[data-testid="me-aal"]', { hasText: "aal2" }).waitFor();
    await byTestId(dp, "recovery-regenerate").click();
    await byTestId(dp, "recovery-box").waitFor({ state: "visible" });
    dave.recoveryCodes = await dp.locator('[data-testid="recovery-code"]').allTextContents();
    assert.equal(dave.recoveryCodes.length, 10);
    currentPage = page;
  });

  await step("sign in with the password and the app's code as the second step (aal2)", async () => {
    const dp = dave.page;
    currentPage = dp;
    await signInToSecondStep(dp, dave, "totp recovery_code");
    await byTestId(dp, "mfa-code").fill(dave.app.wrongCode());
    await byTestId(dp, "mfa-code-submit").click();
    await dp.locator('[data-testid="mfa-error"][data-code="CODE_INVALID"]').waitFor();
    await byTestId(dp, "mfa-code").fill(await dave.app.nextCode());
    await byTestId(dp, "mfa-code-submit").click();
    await waitForState(dp, "signed-in");
    assert.equal(await byTestId(dp, "me-email").textContent(), dave.email);
    assert.equal(await byTestId(dp, "me-aal").textContent(), "aal2");
    currentPage = page;
  });

  await step("sign in with a recovery code instead; it works once", async () => {
    const dp = dave.page;
    currentPage = dp;
    await signInToSecondStep(dp, dave, "totp recovery_code");
    await byTestId(dp, "mfa-recovery-code").fill(dave.recoveryCodes[0]);
    await byTestId(dp, "mfa-recovery-submit").click();
    await waitForState(dp, "signed-in");
    assert.equal(await byTestId(dp, "me-aal").textContent(), "aal2");
    await dp.locator('[data-testid="totp-status"]', { hasText: "9 recovery code(s) left" }).waitFor();
    await signInToSecondStep(dp, dave, "totp recovery_code");
    await byTestId(dp, "mfa-recovery-code").fill(dave.recoveryCodes[0]);
    await byTestId(dp, "mfa-recovery-submit").click();
    await dp.locator('[data-testid="mfa-error"][data-code="CODE_INVALID"]').waitFor();
    await byTestId(dp, "mfa-recovery-code").fill(dave.recoveryCodes[1]);
    await byTestId(dp, "mfa-recovery-submit").click();
    await waitForState(dp, "signed-in");
    currentPage = page;
  });

  await step("every request stayed on the server's origin, no page errors", async () => {
    assert.deepEqual(problems, []);
  });
}

// ---------------------------------------------------------------------------------------

async function main() {
  if (!/^https?:\/\/[^/]+$/.test(BASE)) {
    console.error("usage: node web.spec.mjs http://127.0.0.1:PORT (or set E2E_BASE_URL)");
    process.exit(2);
  }
  console.log(`e2e: ${BASE} with ${CHROMIUM}`);
  try {
    await run();
    console.log("e2e: all steps passed");
  } catch (err) {
    console.log("FAILED");
    console.error(err && err.stack ? err.stack : err);
    if (problems.length) console.error(`also seen:\n  ${problems.join("\n  ")}`);
    if (currentPage) {
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, `failure-${Date.now()}.png`);
      await currentPage.screenshot({ path: shot, fullPage: true }).catch(() => {});
      console.error(`screenshot: ${shot}`);
    }
    process.exitCode = 1;
  } finally {
    await closeBrowsers();
  }
}

await main();
