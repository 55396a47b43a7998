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
const inviteToken = new URLSearchParams(location.search).get("invite");

function setView(state) {
  $("app").dataset.state = state;
  $("signed-in").hidden = state !== "signed-in";
  $("signed-out").hidden = state !== "signed-out";
  $("who").textContent = me ? `Signed in as ${me.user.email}` : "Not signed in";
  renderInvite();
}

function renderMe() {
  $("me-email").textContent = me.user.email;
  $("me-name").textContent = me.user.name || "—";
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
  await Promise.all([loadSessions(), loadKeys(), loadGroups()]);
  setView("signed-in");
}

function clearSignedInData() {
  for (const id of ["sessions-list", "keys-list", "groups-list"]) $(id).replaceChildren();
  hideNewKey();
  $("invite-link-box").hidden = true;
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
    await api("POST", "/auth/sign-in", {
      email: $("signin-email").value.trim(),
      password: $("signin-password").value,
    });
    form.reset();
    notify("Signed in.");
    await loadMe();
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
// Sessions

function sessionRow(session) {
  const device = session.user_agent || "unknown device";
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
    el("td", { title: device }, device.length > 60 ? `${device.slice(0, 57)}…` : device),
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
    el("td", {}, el("button", {
      type: "button",
      className: "secondary",
      dataset: { testid: "group-invite" },
      "aria-label": `Create an invitation link to ${group.name}`,
      onclick: (e) => createInvite(group, e.currentTarget),
    }, "Invite link")));
}

async function loadGroups() {
  await guarded(null, "groups-error", async () => {
    const page = await api("GET", "/auth/groups?limit=100");
    $("groups-list").replaceChildren(...page.items.map(groupRow));
  });
}

async function createOrg(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await guarded($("org-submit"), "groups-error", async () => {
    // The API names a group's kind "type".
    const body = { name: $("org-name").value.trim(), type: "org" };
    const slug = $("org-slug").value.trim();
    if (slug) body.slug = slug;
    const group = await api("POST", "/auth/groups", body);
    form.reset();
    notify(`Organization "${group.name}" created.`);
    await loadGroups();
  });
}

async function createInvite(group, button) {
  await guarded(button, "groups-error", async () => {
    const created = await api("POST", `/auth/groups/${encodeURIComponent(group.id)}/invites`, {});
    const link = `${location.origin}/?invite=${encodeURIComponent(created.token)}`;
    $("invite-link-group").textContent = group.name;
    $("invite-link").textContent = link;
    $("invite-link-box").hidden = false;
    notify(`Invitation link to "${group.name}" created.`);
  });
}

/** The banner for a link /?invite=<token>: accept once signed in. */
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
  const url = new URL(location.href);
  url.searchParams.delete("invite");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
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
// Wiring

function bind() {
  $("signup-form").addEventListener("submit", signUp);
  $("signin-form").addEventListener("submit", signIn);
  $("signout-button").addEventListener("click", signOut);
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
}

bind();
loadMe();
