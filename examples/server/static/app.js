// The demo page: plain JavaScript over the JSON API in cookie mode.
//
// The session lives in an HttpOnly cookie the page never sees; every call sends it with
// `credentials: "same-origin"`, and the browser adds the Origin header the server checks
// on POST/PATCH/DELETE. Errors come back as {"error": {"code", "message"}}.
"use strict";

// ---------------------------------------------------------------------------------------
// Small helpers

const $ = (id) => document.getElementById(id);

/** An error answer of the API (or of the network), with its stable code. */
class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** Reads a response body as JSON, or null when there is none (204) or it is not JSON. */
async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The ApiError of a failed response. */
function errorOf(response, body) {
  const detail = body && body.error;
  if (detail && detail.code) {
    return new ApiError(response.status, detail.code, detail.message || "", body);
  }
  return new ApiError(response.status, `HTTP_${response.status}`, response.statusText, body);
}

/** Calls the JSON API with the session cookie; returns the parsed body or throws ApiError. */
async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "NETWORK_ERROR", String(err.message || err));
  }
  const data = await readJson(response);
  if (!response.ok) throw errorOf(response, data);
  return data;
}

/** Builds an element: el("td", { className: "x" }, "text", otherNode). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("aria-") || key === "title") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function formatTime(iso) {
  if (!iso) return "never";
  const date = new Date(iso);
  return el("time", { dateTime: iso, title: iso }, date.toLocaleString());
}

function showError(id, err) {
  const box = $(id);
  const code = err instanceof ApiError ? err.code : "ERROR";
  box.textContent = `${code}: ${err.message}`;
  box.dataset.code = code;
  box.hidden = false;
  // A sensitive operation from a session without the second step: offer the step-up.
  if (code === "MFA_REQUIRED" && me) offerStepUp();
}

function clearError(id) {
  const box = $(id);
  box.textContent = "";
  delete box.dataset.code;
  box.hidden = true;
}

function notify(text) {
  $("notice").textContent = text;
}

/** Runs `action` with `button` disabled; a failure is shown in the error box `errorId`. */
async function guarded(button, errorId, action) {
  clearError(errorId);
  if (button) button.disabled = true;
  try {
    await action();
  } catch (err) {
    showError(errorId, err);
  } finally {
    if (button) button.disabled = false;
  }
}

/** Copies `text`; falls back to selecting it when the Clipboard API is not allowed. */
async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el("textarea", { value: text, readOnly: true });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => (button.textContent = label), 1500);
}

// ---------------------------------------------------------------------------------------
// Who is signed in

let me = null; // the GET /auth/me answer while signed in

// Tokens in links (an invitation, an emailed sign-in or change-of-address link) travel in
// the URL's fragment (/#invite=...), which the browser never sends to a server nor puts in
// a Referer header; the page reads it, POSTs it, and removes it from the address bar.
let linkParams = new URLSearchParams(location.hash.slice(1));
let inviteToken = linkParams.get("invite");

/** Removes a link's token from the address bar once it is used or dismissed. */
function clearLinkFragment() {
  history.replaceState(null, "", location.pathname + location.search);
}

/** Shows one view: "signed-in", "signed-out" or "mfa" (the second step of a sign-in). */
function setView(state) {
  $("app").dataset.state = state;
  $("signed-in").hidden = state !== "signed-in";
  $("signed-out").hidden = state !== "signed-out";
  $("mfa-challenge").hidden = state !== "mfa";
  if (state === "signed-out") startConditionalPasskey();
  else stopConditionalPasskey();
  $("who").textContent = me ? `Signed in as ${me.user.email}` : "Not signed in";
  renderInvite();
}

function renderMe() {
  $("me-email").textContent = me.user.email;
  $("me-name").textContent = me.user.name || "—";
  $("profile-name").value = me.user.name || "";
  $("profile-image").value = me.user.image || "";
  $("me-user-id").textContent = me.user.id;
  $("me-session-id").textContent = me.session.id;
  $("me-aal").textContent = me.session.aal;
}

/** Asks the server who we are, then shows the matching view. */
async function loadMe() {
  try {
    me = await api("GET", "/auth/me");
  } catch (err) {
    me = null;
    if (err.status !== 401) showError("signin-error", err);
  }
  if (!me) {
    clearSignedInData();
    setView("signed-out");
    return;
  }
  renderMe();
  await Promise.all([loadSessions(), loadKeys(), loadGroups(), loadAccounts(), loadPasskeys(), loadTotp()]);
  setView("signed-in");
}

function clearSignedInData() {
  for (const id of ["sessions-list", "keys-list", "groups-list", "accounts-list", "members-list", "passkeys-list",
    "totp-qr", "recovery-codes"]) {
    $(id).replaceChildren();
  }
  for (const id of ["totp-setup", "recovery-box", "step-up-form", "step-up-hint"]) $(id).hidden = true;
  hideNewKey();
  // The SSO panel (sso-admin.js, loaded after this file).
  if (typeof hideSso === "function") hideSso();
  $("invite-link-box").hidden = true;
  $("members-panel").hidden = true;
  $("email-confirm-form").hidden = true;
}

async function signUp(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await guarded($("signup-submit"), "signup-error", async () => {
    const body = {
      email: $("signup-email").value.trim(),
      password: $("signup-password").value,
    };
    const name = $("signup-name").value.trim();
    if (name) body.name = name;
    const answer = await api("POST", "/auth/sign-up", body);
    form.reset();
    if (answer && answer.verification_required) {
      // Later: a "verify your email" code form (POST /auth/verify-email) goes here.
      notify("Account created. Verify your email address (the code was emailed), then sign in.");
      return;
    }
    notify(`Welcome, ${answer.user.email}.`);
    await loadMe();
  });
}

async function signIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await guarded($("signin-submit"), "signin-error", async () => {
    const answer = await api("POST", "/auth/sign-in", {
      email: $("signin-email").value.trim(),
      password: $("signin-password").value,
    });
    form.reset();
    await signedInOrMfa(answer);
  });
}

async function signOut() {
  await guarded($("signout-button"), "me-error", async () => {
    await api("POST", "/auth/sign-out");
    me = null;
    clearSignedInData();
    notify("Signed out.");
    setView("signed-out");
  });
}

// ---------------------------------------------------------------------------------------
// Passkeys (WebAuthn). The server answers {handle, options}; the browser's JSON helpers turn
// the options into what navigator.credentials takes, and toJSON() the credential back.

function passkeysSupported() {
  return window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON;
}

async function registerPasskey() {
  await guarded($("passkey-register"), "passkey-error", async () => {
    if (!passkeysSupported()) throw new Error("This browser does not support passkeys.");
    const started = await api("POST", "/auth/passkeys/register/start");
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(started.options.publicKey);
    const credential = await navigator.credentials.create({ publicKey });
    await api("POST", "/auth/passkeys/register/finish", {
      handle: started.handle,
      name: "This device",
      response: credential.toJSON(),
    });
    notify("Passkey registered.");
    await loadPasskeys();
  });
}

function passkeyRow(passkey) {
  return el("li", { dataset: { testid: "passkey-row", passkeyId: passkey.id } },
    el("span", {}, passkey.name), el("span", { className: "muted" }, "added ", formatTime(passkey.created_at)),
    el("button", {
      type: "button",
      className: "secondary",
      dataset: { testid: "passkey-rename" },
      "aria-label": `Rename passkey ${passkey.name}`,
      onclick: (e) => renamePasskey(passkey, e.currentTarget),
    }, "Rename"),
    el("button", {
      type: "button",
      className: "danger",
      dataset: { testid: "passkey-remove" },
      "aria-label": `Remove passkey ${passkey.name}`,
      onclick: (e) => removePasskey(passkey, e.currentTarget),
    }, "Remove"));
}

async function loadPasskeys() {
  await guarded(null, "passkey-error", async () => {
    const passkeys = await api("GET", "/auth/passkeys");
    $("passkeys-list").replaceChildren(...passkeys.map(passkeyRow));
  });
}

async function renamePasskey(passkey, button) {
  const name = window.prompt("A name for this passkey", passkey.name);
  if (!name || name.trim() === passkey.name) return;
  await guarded(button, "passkey-error", async () => {
    await api("PATCH", `/auth/passkeys/${encodeURIComponent(passkey.id)}`, { name: name.trim() });
    await loadPasskeys();
  });
}

async function removePasskey(passkey, button) {
  await guarded(button, "passkey-error", async () => {
    await api("DELETE", `/auth/passkeys/${encodeURIComponent(passkey.id)}`);
    notify(`Passkey "${passkey.name}" removed.`);
    await loadPasskeys();
  });
}

/**
 * Asks the authenticator for an assertion to the options of a started ceremony. A modal
 * request first stops the background (conditional) one: one request at a time.
 */
async function passkeyAssertion(started, extra = {}) {
  if (!extra.mediation) await stopConditionalPasskey();
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(started.options.publicKey);
  const credential = await navigator.credentials.get({ publicKey, ...extra });
  return credential.toJSON();
}

async function finishPasskeySignIn(started, response) {
  await api("POST", "/auth/passkeys/sign-in/finish", { handle: started.handle, response });
  notify("Signed in with a passkey.");
  await loadMe();
}

/** Discoverable sign-in: no username typed; the authenticator offers its passkeys. */
async function signInWithPasskey() {
  await guarded($("passkey-signin"), "signin-error", async () => {
    if (!passkeysSupported()) throw new Error("This browser does not support passkeys.");
    const started = await api("POST", "/auth/passkeys/sign-in/start", {});
    await finishPasskeySignIn(started, await passkeyAssertion(started));
  });
}

// Conditional UI: while signed out, a passkey request waits in the background, and the
// browser offers the passkeys in the email field's autofill (autocomplete="... webauthn").
// Picking one signs in. It is stopped before any other WebAuthn call (one at a time).

let conditional = null; // { abort: AbortController, done: Promise } while one waits

async function startConditionalPasskey() {
  if (conditional || !passkeysSupported() || !PublicKeyCredential.isConditionalMediationAvailable) return;
  const abort = new AbortController();
  const run = async () => {
    if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
    const started = await api("POST", "/auth/passkeys/sign-in/start", {});
    const response = await passkeyAssertion(started, { mediation: "conditional", signal: abort.signal });
    await finishPasskeySignIn(started, response);
  };
  const current = { abort, done: null };
  current.done = run()
    .catch((err) => {
      // Aborted, or no passkey for this origin: the page's other ways to sign in remain.
      if (!abort.signal.aborted && err instanceof ApiError) showError("signin-error", err);
    })
    .finally(() => {
      if (conditional === current) conditional = null;
    });
  conditional = current;
}

/** Stops the background passkey request (if any) and waits until it has settled. */
async function stopConditionalPasskey() {
  const current = conditional;
  if (!current) return;
  conditional = null;
  current.abort.abort();
  await current.done;
}

// ---------------------------------------------------------------------------------------
// The second step of a sign-in (202 MFA_REQUIRED) and step-up

let mfa = null; // the MFA_REQUIRED answer being completed

/** After a first factor: signed in, or on to the second step. */
async function signedInOrMfa(answer) {
  if (answer && answer.code === "MFA_REQUIRED") {
    mfa = answer;
    $("mfa-code-form").hidden = !answer.methods.includes("totp");
    $("mfa-recovery-form").hidden = !answer.methods.includes("recovery_code");
    $("mfa-passkey").hidden = !answer.methods.includes("passkey");
    $("mfa-challenge").dataset.methods = answer.methods.join(" ");
    clearError("mfa-error");
    setView("mfa");
    notify("One more step: confirm it is you with your second factor.");
    return;
  }
  notify("Signed in.");
  await loadMe();
}

function endMfa() {
  mfa = null;
  $("mfa-code-form").reset();
  $("mfa-recovery-form").reset();
}

/** Completes the challenge with `finish`; a dead challenge sends back to the sign-in. */
async function completeMfa(button, finish) {
  await guarded(button, "mfa-error", async () => {
    try {
      await finish(mfa.challenge);
    } catch (err) {
      if (["MFA_CHALLENGE_INVALID", "MFA_CHALLENGE_EXPIRED", "TOO_MANY_ATTEMPTS"].includes(err.code)) {
        endMfa();
        setView("signed-out");
        showError("signin-error", err);
        return;
      }
      throw err;
    }
    endMfa();
    notify("Signed in.");
    await loadMe();
  });
}

function mfaWithCode(event) {
  event.preventDefault();
  return completeMfa($("mfa-code-submit"), (challenge) =>
    api("POST", "/auth/mfa/challenge", { challenge, code: $("mfa-code").value.trim() }));
}

function mfaWithRecoveryCode(event) {
  event.preventDefault();
  return completeMfa($("mfa-recovery-submit"), (challenge) =>
    api("POST", "/auth/mfa/challenge", { challenge, recovery_code: $("mfa-recovery-code").value.trim() }));
}

function mfaWithPasskey() {
  return completeMfa($("mfa-passkey"), async (challenge) => {
    if (!passkeysSupported()) throw new Error("This browser does not support passkeys.");
    const started = await api("POST", "/auth/mfa/challenge/passkey/start", { challenge });
    const response = await passkeyAssertion(started);
    await api("POST", "/auth/mfa/challenge/passkey/finish", { challenge, handle: started.handle, response });
  });
}

function cancelMfa() {
  endMfa();
  notify("");
  setView("signed-out");
}

function offerStepUp() {
  $("step-up-form").hidden = false;
  $("step-up-hint").hidden = false;
  $("step-up-code").focus();
}

/** Steps this session up with a TOTP code: a new aal2 session (and cookie) replaces it. */
async function stepUp(event) {
  event.preventDefault();
  await guarded($("step-up-submit"), "totp-error", async () => {
    await api("POST", "/auth/mfa/step-up", { code: $("step-up-code").value.trim() });
    $("step-up-form").reset();
    $("step-up-form").hidden = true;
    $("step-up-hint").hidden = true;
    notify("Confirmed. Try again what you were doing.");
    await loadMe();
  });
}

// ---------------------------------------------------------------------------------------
// TOTP: enrol (QR code), confirm, recovery codes, remove

function renderTotp(status) {
  const on = status.confirmed;
  const box = $("totp-status");
  box.dataset.state = on ? "on" : status.enrolled ? "pending" : "off";
  box.textContent = on
    ? `On. ${status.recovery_codes_left} recovery code(s) left.`
    : status.enrolled ? "Set up, not confirmed yet." : "Off.";
  $("totp-enrol").hidden = on;
  $("recovery-regenerate").hidden = !on;
  $("totp-disable").hidden = !status.enrolled;
}

async function loadTotp() {
  await guarded(null, "totp-error", async () => renderTotp(await api("GET", "/auth/mfa/totp")));
}

async function enrolTotp() {
  await guarded($("totp-enrol"), "totp-error", async () => {
    const enrolment = await api("POST", "/auth/mfa/totp");
    // The server's own SVG (no script, no style): parsed, not injected as HTML.
    const svg = new DOMParser().parseFromString(enrolment.qr_svg, "image/svg+xml").documentElement;
    $("totp-qr").replaceChildren(document.importNode(svg, true));
    $("totp-secret").textContent = enrolment.secret_base32;
    $("totp-setup").hidden = false;
    $("totp-confirm-code").focus();
    await loadTotp();
  });
}

function showRecoveryCodes(answer) {
  $("recovery-codes").replaceChildren(...answer.recovery_codes.map((code) =>
    el("li", { dataset: { testid: "recovery-code" } }, code)));
  $("recovery-box").hidden = false;
}

async function confirmTotp(event) {
  event.preventDefault();
  await guarded($("totp-confirm"), "totp-error", async () => {
    const answer = await api("POST", "/auth/mfa/totp/confirm", { code: $("totp-confirm-code").value.trim() });
    $("totp-confirm-form").reset();
    $("totp-setup").hidden = true;
    $("totp-qr").replaceChildren();
    showRecoveryCodes(answer);
    notify("Authenticator app on: sign-ins now ask for its code.");
    await loadTotp();
  });
}

async function regenerateRecoveryCodes() {
  await guarded($("recovery-regenerate"), "totp-error", async () => {
    showRecoveryCodes(await api("POST", "/auth/mfa/recovery-codes"));
    notify("New recovery codes: the old ones no longer work.");
    await loadTotp();
  });
}

function hideRecoveryCodes() {
  $("recovery-codes").replaceChildren();
  $("recovery-box").hidden = true;
}

async function disableTotp() {
  await guarded($("totp-disable"), "totp-error", async () => {
    await api("DELETE", "/auth/mfa/totp");
    $("totp-setup").hidden = true;
    hideRecoveryCodes();
    notify("Authenticator app removed.");
    await loadTotp();
  });
}

// ---------------------------------------------------------------------------------------
// Sessions

function sessionRow(session) {
  const ua = session.user_agent || "no user agent";
  const device = session.device ? `${session.device.browser} on ${session.device.os}` : ua;
  const action = session.current
    ? el("span", { className: "badge ok" }, "this session")
    : el("button", {
        type: "button",
        className: "danger",
        dataset: { testid: "session-revoke" },
        "aria-label": `Revoke the session started ${new Date(session.created_at).toLocaleString()}`,
        onclick: (e) => revokeSession(session.id, e.currentTarget),
      }, "Revoke");
  return el("tr", { dataset: { testid: "session-row", sessionId: session.id, current: String(session.current) } },
    el("td", { title: ua, dataset: { testid: "session-device" } }, device),
    el("td", {}, session.ip || "—"),
    el("td", {}, formatTime(session.created_at)),
    el("td", {}, formatTime(session.last_seen_at)),
    el("td", {}, action));
}

async function loadSessions() {
  await guarded(null, "sessions-error", async () => {
    const page = await api("GET", "/auth/sessions?limit=100");
    $("sessions-list").replaceChildren(...page.items.map(sessionRow));
  });
}

async function revokeSession(id, button) {
  await guarded(button, "sessions-error", async () => {
    await api("DELETE", `/auth/sessions/${encodeURIComponent(id)}`);
    notify("Session revoked.");
    await loadSessions();
  });
}

async function revokeOthers() {
  await guarded($("revoke-others-button"), "sessions-error", async () => {
    const answer = await api("POST", "/auth/sessions/revoke-others");
    notify(`Signed out ${answer.revoked} other session(s).`);
    await loadSessions();
  });
}

// ---------------------------------------------------------------------------------------
// API keys

function keyStatus(key) {
  if (key.revoked_at) return "revoked";
  if (key.expires_at && new Date(key.expires_at) <= new Date()) return "expired";
  return "active";
}

function keyRow(key) {
  const status = keyStatus(key);
  const revoke = status === "active"
    ? el("button", {
        type: "button",
        className: "danger",
        dataset: { testid: "key-revoke" },
        "aria-label": `Revoke key ${key.name}`,
        onclick: (e) => revokeKey(key.id, e.currentTarget),
      }, "Revoke")
    : null;
  return el("tr", { dataset: { testid: "key-row", keyId: key.id, keyName: key.name, status } },
    el("td", {}, key.name),
    el("td", {}, el("code", {}, `${key.start}…`)),
    el("td", {}, key.scopes.join(" ") || "—"),
    el("td", {}, formatTime(key.last_used_at)),
    el("td", {}, el("span", { className: `badge ${status === "active" ? "ok" : "off"}`,
      dataset: { testid: "key-status" } }, status)),
    el("td", {}, revoke));
}

async function loadKeys() {
  await guarded(null, "keys-error", async () => {
    const page = await api("GET", "/auth/api-keys?limit=100");
    $("keys-list").replaceChildren(...page.items.map(keyRow));
  });
}

function parseScopes(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

function showNewKey(created) {
  $("new-key-name").textContent = created.key.name;
  $("new-key-secret").textContent = created.secret;
  $("new-key").dataset.keyId = created.key.id;
  $("new-key").hidden = false;
}

function hideNewKey() {
  $("new-key-secret").textContent = "";
  $("new-key").hidden = true;
}

async function createKey(event) {
  event.preventDefault();
  await guarded($("key-submit"), "keys-error", async () => {
    const created = await api("POST", "/auth/api-keys", {
      name: $("key-name").value.trim(),
      scopes: parseScopes($("key-scopes").value),
    });
    showNewKey(created);
    notify(`API key "${created.key.name}" created.`);
    await loadKeys();
  });
}

async function revokeKey(id, button) {
  await guarded(button, "keys-error", async () => {
    const key = await api("POST", `/auth/api-keys/${encodeURIComponent(id)}/revoke`);
    if ($("new-key").dataset.keyId === id) hideNewKey();
    notify(`API key "${key.name}" revoked.`);
    await loadKeys();
  });
}

// ---------------------------------------------------------------------------------------
// Organizations and invitations

function groupRow({ group, member }) {
  return el("tr", { dataset: { testid: "group-row", groupId: group.id, groupName: group.name } },
    el("td", {}, group.name, group.slug ? el("span", { className: "muted" }, ` (${group.slug})`) : null),
    el("td", {}, group.type),
    el("td", { dataset: { testid: "group-role" } }, member.role),
    el("td", {}, el("div", { className: "actions" },
      el("button", {
        type: "button",
        className: "secondary",
        dataset: { testid: "group-members" },
        "aria-label": `Show the members of ${group.name}`,
        onclick: (e) => showMembers(group, e.currentTarget),
      }, "Members"),
      el("button", {
        type: "button",
        className: "secondary",
        dataset: { testid: "group-invite" },
        "aria-label": `Create an invitation link to ${group.name}`,
        onclick: (e) => createInvite(group, e.currentTarget),
      }, "Invite link"),
      // SSO is managed by owners and admins (the server decides); see sso-admin.js.
      member.role === "owner" || member.role === "admin"
        ? el("button", {
          type: "button",
          className: "secondary",
          dataset: { testid: "group-sso" },
          "aria-label": `Manage the SSO of ${group.name}`,
          onclick: (e) => showSso(group, e.currentTarget),
        }, "SSO")
        : null)));
}

async function loadGroups() {
  await guarded(null, "groups-error", async () => {
    const page = await api("GET", "/auth/groups?limit=100");
    $("groups-list").replaceChildren(...page.items.map(groupRow));
    const parent = $("org-parent");
    const chosen = parent.value;
    parent.replaceChildren(el("option", { value: "" }, "— a new organization —"),
      ...page.items.map(({ group }) => el("option", { value: group.id }, group.name)));
    parent.value = chosen;
  });
}

async function createOrg(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await guarded($("org-submit"), "groups-error", async () => {
    // The API names a group's kind "type".
    const parentId = $("org-parent").value;
    const body = { name: $("org-name").value.trim(), type: parentId ? "team" : "org" };
    const slug = $("org-slug").value.trim();
    if (slug) body.slug = slug;
    if (parentId) body.parent_id = parentId;
    const group = await api("POST", "/auth/groups", body);
    form.reset();
    notify(`Organization "${group.name}" created.`);
    await loadGroups();
  });
}

async function createInvite(group, button) {
  await guarded(button, "groups-error", async () => {
    const created = await api("POST", `/auth/groups/${encodeURIComponent(group.id)}/invites`, {});
    const link = `${location.origin}/#invite=${encodeURIComponent(created.token)}`;
    $("invite-link-group").textContent = group.name;
    $("invite-link").textContent = link;
    $("invite-link-box").hidden = false;
    notify(`Invitation link to "${group.name}" created.`);
  });
}

// Members, with those inherited from parent groups.

const ROLES = ["owner", "admin", "member"];
let membersGroup = null; // the group whose members are shown

/** The caller's strongest active role that counts on the listed group. */
function myRole(items) {
  const mine = items.filter((e) => e.member.user_id === me.user.id && e.member.status === "active");
  for (const role of ROLES) if (mine.some((e) => e.member.role === role)) return role;
  return null;
}

function memberRow(entry, canManage) {
  const { member } = entry;
  const who = member.user_id === me.user.id ? "you" : `${member.user_id.slice(0, 8)}…`;
  const from = entry.inherited
    ? el("span", {}, entry.source_group_name, " ",
        el("span", { className: "badge", dataset: { testid: "member-inherited" } }, "inherited"))
    : el("span", { className: "muted" }, "this group");
  let role = member.role;
  let actions = null;
  if (canManage) {
    const select = el("select", { "aria-label": `Role of ${who}`, dataset: { testid: "member-role-select" } },
      ...ROLES.map((r) => el("option", { value: r, selected: r === member.role }, r)));
    role = select;
    actions = el("div", { className: "actions" },
      el("button", {
        type: "button",
        className: "secondary",
        dataset: { testid: "member-role-save" },
        onclick: (e) => changeRole(entry, select.value, e.currentTarget),
      }, "Save role"),
      el("button", {
        type: "button",
        className: "danger",
        dataset: { testid: "member-remove" },
        onclick: (e) => removeMember(entry, e.currentTarget),
      }, member.user_id === me.user.id ? "Leave" : "Remove"));
  }
  return el("tr", {
    dataset: {
      testid: "member-row",
      memberId: member.id,
      userId: member.user_id,
      role: member.role,
      inherited: String(entry.inherited),
    },
  },
    el("td", { title: member.user_id }, who),
    el("td", { dataset: { testid: "member-role" } }, role),
    el("td", {}, from),
    el("td", {}, member.status),
    el("td", {}, actions));
}

async function loadMembers() {
  const group = membersGroup;
  const answer = await api("GET", `/auth/groups/${encodeURIComponent(group.id)}/effective-members`);
  // Managing is offered to owners and admins; the server decides on each change.
  const role = myRole(answer.items);
  const canManage = role === "owner" || role === "admin";
  $("members-group").textContent = group.name;
  $("members-list").replaceChildren(...answer.items.map((e) => memberRow(e, canManage)));
  $("members-panel").dataset.groupId = group.id;
  $("members-panel").hidden = false;
}

async function showMembers(group, button) {
  membersGroup = group;
  await guarded(button, "members-error", loadMembers);
}

async function changeRole(entry, role, button) {
  await guarded(button, "members-error", async () => {
    const path = `/auth/groups/${encodeURIComponent(entry.source_group_id)}/members/${encodeURIComponent(entry.member.id)}`;
    await api("PATCH", path, { role });
    notify(`Role changed to ${role}.`);
    await Promise.all([loadMembers(), loadGroups()]);
  });
}

async function removeMember(entry, button) {
  await guarded(button, "members-error", async () => {
    const path = `/auth/groups/${encodeURIComponent(entry.source_group_id)}/members/${encodeURIComponent(entry.member.id)}`;
    await api("DELETE", path);
    notify("Member removed.");
    await loadGroups();
    try {
      await loadMembers();
    } catch (err) {
      // Leaving a group ends the right to read its members.
      if (err.status !== 404) throw err;
      $("members-panel").hidden = true;
    }
  });
}

/** The banner for a link /#invite=<token>: accept once signed in. */
function renderInvite() {
  const banner = $("invite-banner");
  banner.hidden = !inviteToken || banner.dataset.done === "true";
  const signedIn = Boolean(me);
  $("invite-accept").hidden = !signedIn;
  $("invite-text").textContent = signedIn
    ? `Accept the invitation as ${me.user.email}?`
    : "Sign in or sign up, then accept the invitation.";
}

function forgetInvite() {
  $("invite-banner").dataset.done = "true";
  clearLinkFragment();
  renderInvite();
}

async function acceptInvite() {
  await guarded($("invite-accept"), "invite-error", async () => {
    const accepted = await api("POST", "/auth/invites/accept", { token: inviteToken });
    forgetInvite();
    const role = accepted.member ? ` as ${accepted.member.role}` : "";
    notify(`Invitation accepted: you joined${role}.`);
    await loadGroups();
  });
}

// ---------------------------------------------------------------------------------------
// Your account: profile, password, email, ways to sign in, deletion

async function saveProfile(event) {
  event.preventDefault();
  await guarded($("profile-submit"), "profile-error", async () => {
    const name = $("profile-name").value.trim();
    const image = $("profile-image").value.trim();
    // An empty field clears the value.
    const user = await api("PATCH", "/auth/me", { name: name || null, image: image || null });
    me.user = user;
    renderMe();
    setView("signed-in");
    notify("Profile saved.");
  });
}

async function changePassword(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await guarded($("password-submit"), "password-error", async () => {
    const body = { new_password: $("password-new").value };
    const current = $("password-current").value;
    if (current) body.current_password = current;
    // Every session ends; the answer sets this browser's new session cookie.
    await api("POST", "/auth/password/change", body);
    form.reset();
    notify("Password changed. Your other sessions were signed out.");
    await loadMe();
  });
}

let pendingEmail = null; // the new address a code was sent to

async function requestEmailChange(event) {
  event.preventDefault();
  await guarded($("email-submit"), "email-error", async () => {
    const email = $("email-new").value.trim();
    await api("POST", "/auth/email/change", { email });
    pendingEmail = email;
    $("email-confirm-form").hidden = false;
    notify(`A code was sent to ${email}. Your address changes once you enter it.`);
  });
}

async function confirmEmailChange(event) {
  event.preventDefault();
  await guarded($("email-confirm"), "email-error", async () => {
    const user = await api("POST", "/auth/email/change/confirm", {
      email: pendingEmail,
      code: $("email-code").value.trim(),
    });
    $("email-form").reset();
    $("email-confirm-form").reset();
    $("email-confirm-form").hidden = true;
    notify(`Your address is now ${user.email}.`);
    await loadMe();
  });
}

function accountRow(account) {
  return el("tr", { dataset: { testid: "account-row", accountId: account.id, provider: account.provider } },
    el("td", {}, account.provider),
    el("td", {}, account.provider_account_id || "—"),
    el("td", {}, formatTime(account.created_at)),
    el("td", {}, el("button", {
      type: "button",
      className: "danger",
      dataset: { testid: "account-unlink" },
      "aria-label": `Unlink ${account.provider}`,
      onclick: (e) => unlinkAccount(account, e.currentTarget),
    }, "Unlink")));
}

async function loadAccounts() {
  await guarded(null, "accounts-error", async () => {
    const accounts = await api("GET", "/auth/accounts");
    $("accounts-list").replaceChildren(...accounts.map(accountRow));
  });
}

async function unlinkAccount(account, button) {
  await guarded(button, "accounts-error", async () => {
    await api("DELETE", `/auth/accounts/${encodeURIComponent(account.id)}`);
    notify(`Unlinked ${account.provider}.`);
    await loadAccounts();
  });
}

async function deleteAccount(event) {
  event.preventDefault();
  if (!window.confirm("Delete your account and everything that is yours? This cannot be undone.")) return;
  await guarded($("delete-submit"), "delete-error", async () => {
    const password = $("delete-password").value;
    await api("DELETE", "/auth/me", password ? { password } : {});
    $("delete-form").reset();
    me = null;
    clearSignedInData();
    notify("Your account was deleted.");
    setView("signed-out");
  });
}

// ---------------------------------------------------------------------------------------
// Sign in with an emailed code (or the emailed link: /#sign_in=<token>)

let codeEmail = null;

async function sendSignInCode(event) {
  event.preventDefault();
  await guarded($("code-send"), "code-error", async () => {
    codeEmail = $("code-email").value.trim();
    await api("POST", "/auth/sign-in/email/send", { email: codeEmail });
    $("code-signin-form").hidden = false;
    $("code-value").focus();
    notify(`If ${codeEmail} has an account, a code is on its way.`);
  });
}

async function signInWithCode(event) {
  event.preventDefault();
  await guarded($("code-submit"), "code-error", async () => {
    const answer = await api("POST", "/auth/sign-in/email", { email: codeEmail, code: $("code-value").value.trim() });
    $("code-send-form").reset();
    $("code-signin-form").reset();
    $("code-signin-form").hidden = true;
    await signedInOrMfa(answer);
  });
}

/**
 * Answers an emailed link opened on this page (#sign_in=... or #change_email=...). True when
 * it led to the second step of a sign-in (the page stays there).
 */
async function followEmailLink() {
  const signin = linkParams.get("sign_in");
  const change = linkParams.get("change_email");
  if (!signin && !change) return false;
  clearLinkFragment();
  try {
    if (signin) {
      const answer = await api("POST", "/auth/sign-in/email", { token: signin });
      if (answer && answer.code === "MFA_REQUIRED") {
        await signedInOrMfa(answer);
        return true;
      }
      notify("Signed in with the emailed link.");
    } else {
      const user = await api("POST", "/auth/email/change/confirm", { token: change });
      notify(`Your address is now ${user.email}.`);
    }
  } catch (err) {
    showError(signin ? "code-error" : "signin-error", err);
  }
  return false;
}

/** Follows a link in the fragment, then shows who is signed in (unless at the second step). */
async function start() {
  if (!(await followEmailLink())) await loadMe();
}

// ---------------------------------------------------------------------------------------
// GET /api/whoami with a pasted API key

async function callWhoami(event) {
  event.preventDefault();
  const output = $("whoami-output");
  await guarded($("whoami-submit"), "whoami-error", async () => {
    output.hidden = true;
    // The key alone authenticates (x-api-key wins over any cookie): send no cookie at all.
    const response = await fetch("/api/whoami", {
      credentials: "omit",
      headers: { Accept: "application/json", "x-api-key": $("whoami-key").value.trim() },
    });
    const body = await readJson(response);
    $("whoami-status").textContent = `HTTP ${response.status}`;
    output.textContent = JSON.stringify(body, null, 2);
    output.dataset.status = String(response.status);
    output.hidden = false;
    if (!response.ok) throw errorOf(response, body);
  });
}

function tryNewKey() {
  $("whoami-key").value = $("new-key-secret").textContent;
  $("whoami-key").focus();
}

// ---------------------------------------------------------------------------------------
// Sign in with SSO: the address routes to its organization's identity provider. The
// server answers the provider's URL (and binds the flow to this browser with a cookie);
// the provider sends the browser back to the server's callback, which lands here again,
// signed in, or with ?sso_error=<CODE>.

async function signInWithSso(event) {
  event.preventDefault();
  await guarded($("sso-submit"), "sso-error", async () => {
    const answer = await api("POST", "/auth/sso/sign-in", { email: $("sso-email").value.trim() });
    location.assign(answer.url);
  });
}

const SSO_ERRORS = {
  SSO_EMAIL_NOT_ALLOWED: "Your identity provider may not sign in this address.",
  SSO_LINK_REFUSED: "An account with this address exists and cannot be joined to this sign-in: sign in as usual.",
  SSO_EMAIL_NOT_VERIFIED: "The provider did not verify your address.",
  SSO_REQUIRED: "This address signs in through its organization's SSO.",
  SSO_CONNECTION_INACTIVE: "Your organization's SSO is turned off.",
  OIDC_STATE_INVALID: "The sign-in was not started in this browser, or was used already: start again.",
  OIDC_FLOW_EXPIRED: "The sign-in took too long: start again.",
  OIDC_PROVIDER_ERROR: "The identity provider refused the sign-in.",
};

/** Shows the code the SSO callback sent back (?sso_error=...), and drops it from the URL. */
function showSsoError() {
  const params = new URLSearchParams(location.search);
  const code = params.get("sso_error");
  if (!code) return;
  const known = /^[A-Z0-9_]{1,64}$/.test(code) ? code : "ERROR";
  const box = $("sso-error");
  box.textContent = `${known}: ${SSO_ERRORS[known] || "The SSO sign-in was refused."}`;
  box.dataset.code = known;
  box.hidden = false;
  params.delete("sso_error");
  const rest = params.toString();
  history.replaceState(null, "", `${location.pathname}${rest ? `?${rest}` : ""}${location.hash}`);
}

// ---------------------------------------------------------------------------------------
// Wiring

function bind() {
  $("signup-form").addEventListener("submit", signUp);
  $("signin-form").addEventListener("submit", signIn);
  $("signout-button").addEventListener("click", signOut);
  $("passkey-register").addEventListener("click", registerPasskey);
  $("passkey-signin").addEventListener("click", signInWithPasskey);
  $("revoke-others-button").addEventListener("click", revokeOthers);
  $("key-form").addEventListener("submit", createKey);
  $("new-key-copy").addEventListener("click", (e) =>
    copyText($("new-key-secret").textContent, e.currentTarget));
  $("new-key-try").addEventListener("click", tryNewKey);
  $("new-key-dismiss").addEventListener("click", hideNewKey);
  $("org-form").addEventListener("submit", createOrg);
  $("invite-link-copy").addEventListener("click", (e) =>
    copyText($("invite-link").textContent, e.currentTarget));
  $("invite-accept").addEventListener("click", acceptInvite);
  $("invite-dismiss").addEventListener("click", forgetInvite);
  $("whoami-form").addEventListener("submit", callWhoami);
  $("profile-form").addEventListener("submit", saveProfile);
  $("password-form").addEventListener("submit", changePassword);
  $("email-form").addEventListener("submit", requestEmailChange);
  $("email-confirm-form").addEventListener("submit", confirmEmailChange);
  $("delete-form").addEventListener("submit", deleteAccount);
  $("code-send-form").addEventListener("submit", sendSignInCode);
  $("code-signin-form").addEventListener("submit", signInWithCode);
  $("sso-form").addEventListener("submit", signInWithSso);
  $("members-close").addEventListener("click", () => ($("members-panel").hidden = true));
  $("mfa-code-form").addEventListener("submit", mfaWithCode);
  $("mfa-recovery-form").addEventListener("submit", mfaWithRecoveryCode);
  $("mfa-passkey").addEventListener("click", mfaWithPasskey);
  $("mfa-cancel").addEventListener("click", cancelMfa);
  $("totp-enrol").addEventListener("click", enrolTotp);
  $("totp-confirm-form").addEventListener("submit", confirmTotp);
  $("recovery-regenerate").addEventListener("click", regenerateRecoveryCodes);
  $("recovery-copy").addEventListener("click", (e) =>
    copyText([...$("recovery-codes").children].map((li) => li.textContent).join("\n"), e.currentTarget));
  $("recovery-dismiss").addEventListener("click", hideRecoveryCodes);
  $("totp-disable").addEventListener("click", disableTotp);
  $("step-up-form").addEventListener("submit", stepUp);
}

bind();
showSsoError();
start();
// A link opened while the page is already open changes only the fragment: no reload.
window.addEventListener("hashchange", () => {
  linkParams = new URLSearchParams(location.hash.slice(1));
  if (linkParams.get("invite")) {
    inviteToken = linkParams.get("invite");
    delete $("invite-banner").dataset.done;
    renderInvite();
  }
  start();
});
