// The page's "Organization SSO" panel: an organization's SSO connections (create, see
// readiness, activate, disable, delete) and domains (add, the TXT record to publish,
// verify, require SSO, remove), over /auth/groups/{id}/sso/connections and
// /auth/groups/{id}/domains.
//
// Loaded after app.js, whose helpers it uses ($, api, el, guarded, notify, clearError).
// Server data only ever goes into text nodes and attributes, never parsed as HTML.
"use strict";

let ssoGroup = null; // the organization whose SSO is shown

function ssoBase() {
  return `/auth/groups/${encodeURIComponent(ssoGroup.id)}`;
}

function connectionPath(connection) {
  return `${ssoBase()}/sso/connections/${encodeURIComponent(connection.id)}`;
}

function domainPath(domain) {
  return `${ssoBase()}/domains/${encodeURIComponent(domain.id)}`;
}

function statusBadge(text, ok) {
  return el("span", { className: ok ? "badge ok" : "badge off", dataset: { testid: "sso-status" } }, text);
}

function actionButton(label, testid, onclick, className = "secondary") {
  return el("button", { type: "button", className, dataset: { testid }, onclick: (e) => onclick(e.currentTarget) }, label);
}

// ---------------------------------------------------------------------------------------
// Connections

function connectionRow(connection) {
  const active = connection.status === "active";
  return el("tr", {
    dataset: { testid: "sso-connection-row", connectionId: connection.id, status: connection.status },
  },
    el("td", {}, connection.name),
    el("td", {}, connection.config.protocol === "saml" ? "SAML 2.0" : "OpenID Connect"),
    el("td", {}, statusBadge(connection.status, active)),
    el("td", {}, el("div", { className: "actions" },
      actionButton("Readiness", "sso-readiness-show", (b) => showReadiness(connection, b)),
      active
        ? actionButton("Disable", "sso-disable", (b) => setStatus(connection, "disabled", b), "danger")
        : actionButton("Activate", "sso-activate", (b) => setStatus(connection, "active", b)),
      actionButton("Delete", "sso-delete", (b) => deleteConnection(connection, b), "danger"))));
}

async function loadConnections() {
  const page = await api("GET", `${ssoBase()}/sso/connections?limit=100`);
  $("sso-connections").replaceChildren(...page.items.map(connectionRow));
}

function renderReadiness(connection, readiness) {
  $("sso-readiness-name").textContent = connection.name;
  const summary = readiness.routable
    ? "Signs people in."
    : readiness.configured
      ? "Configured: it can be activated."
      : "Not configured yet: fix the failed checks before activating.";
  $("sso-readiness-summary").textContent = summary;
  $("sso-readiness").replaceChildren(...readiness.checks.map((check) =>
    el("li", { dataset: { testid: "sso-check", check: check.check, ok: String(check.ok) } },
      statusBadge(check.ok ? "ok" : "missing", check.ok), " ",
      el("code", {}, check.check),
      check.detail ? el("span", { className: "muted" }, ` — ${check.detail}`) : null)));
  $("sso-readiness-box").dataset.connectionId = connection.id;
  $("sso-readiness-box").hidden = false;
}

async function showReadiness(connection, button) {
  await guarded(button, "sso-admin-error", async () => {
    renderReadiness(connection, await api("GET", `${connectionPath(connection)}/readiness`));
  });
}

async function setStatus(connection, status, button) {
  await guarded(button, "sso-admin-error", async () => {
    try {
      await api("PATCH", connectionPath(connection), { status });
    } finally {
      // Refused or not, show where it stands (a refusal names the failed checks).
      await loadConnections();
      await showReadiness(connection, null);
    }
    notify(`Connection "${connection.name}" is ${status}.`);
  });
}

async function deleteConnection(connection, button) {
  await guarded(button, "sso-admin-error", async () => {
    await api("DELETE", connectionPath(connection));
    if ($("sso-readiness-box").dataset.connectionId === connection.id) $("sso-readiness-box").hidden = true;
    notify(`Connection "${connection.name}" deleted.`);
    await loadConnections();
  });
}

/** The protocol part of the new connection, from the visible fieldset. */
function protocolInput() {
  if ($("sso-protocol").value === "saml") {
    return {
      protocol: "saml",
      idp_metadata_xml: $("sso-metadata").value.trim(),
      sp_entity_id: $("sso-sp-entity-id").value.trim(),
      acs_url: $("sso-acs-url").value.trim(),
      allow_idp_initiated: $("sso-allow-idp-initiated").checked,
    };
  }
  const config = {
    protocol: "oidc",
    issuer: $("sso-issuer").value.trim(),
    client_id: $("sso-client-id").value.trim(),
    scopes: $("sso-scopes").value.split(/\s+/).filter(Boolean),
  };
  const secret = $("sso-client-secret").value;
  if (secret) config.client_secret = secret;
  return config;
}

async function createConnection(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await guarded($("sso-connection-submit"), "sso-admin-error", async () => {
    const created = await api("POST", `${ssoBase()}/sso/connections`,
      { name: $("sso-name").value.trim(), config: protocolInput() });
    form.reset();
    showProtocolFields();
    notify(`Connection "${created.name}" created as a draft.`);
    await loadConnections();
    await showReadiness(created, null);
  });
}

function showProtocolFields() {
  const saml = $("sso-protocol").value === "saml";
  $("sso-oidc-fields").hidden = saml;
  $("sso-saml-fields").hidden = !saml;
}

// ---------------------------------------------------------------------------------------
// Domains

function txtRecord(domain) {
  if (domain.verified_at) return el("span", { className: "muted" }, "verified");
  return el("div", { className: "txt", dataset: { testid: "sso-txt" } },
    el("code", { dataset: { testid: "sso-txt-name" } }, domain.txt_name),
    el("code", { dataset: { testid: "sso-txt-value" } }, domain.txt_value));
}

function domainRow(domain) {
  const verified = Boolean(domain.verified_at);
  const requireSso = el("input", {
    type: "checkbox",
    checked: domain.require_sso,
    disabled: !verified,
    title: verified ? "Password, emailed-code and passkey sign-in are refused for its addresses" : "Verify the domain first",
    "aria-label": `Require SSO for ${domain.domain}`,
    dataset: { testid: "sso-require" },
    onchange: (e) => setRequireSso(domain, e.currentTarget),
  });
  return el("tr", { dataset: { testid: "sso-domain-row", domainId: domain.id, verified: String(verified) } },
    el("td", {}, domain.domain),
    el("td", {}, statusBadge(verified ? "verified" : "unverified", verified)),
    el("td", {}, txtRecord(domain)),
    el("td", {}, requireSso),
    el("td", {}, el("div", { className: "actions" },
      verified ? null : actionButton("Verify", "sso-verify", (b) => verifyDomain(domain, b)),
      actionButton("Remove", "sso-domain-remove", (b) => removeDomain(domain, b), "danger"))));
}

async function loadDomains() {
  const list = await api("GET", `${ssoBase()}/domains`);
  $("sso-domains").replaceChildren(...list.items.map(domainRow));
}

async function addDomain(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await guarded($("sso-domain-submit"), "sso-admin-error", async () => {
    const added = await api("POST", `${ssoBase()}/domains`, { domain: $("sso-domain").value.trim() });
    form.reset();
    notify(`Publish the TXT record shown for ${added.domain}, then verify it.`);
    await loadDomains();
  });
}

async function verifyDomain(domain, button) {
  await guarded(button, "sso-admin-error", async () => {
    const verified = await api("POST", `${domainPath(domain)}/verify`);
    notify(`${verified.domain} is verified.`);
    await loadDomains();
  });
}

async function setRequireSso(domain, checkbox) {
  const wanted = checkbox.checked;
  await guarded(checkbox, "sso-admin-error", async () => {
    try {
      await api("PUT", `${domainPath(domain)}/require-sso`, { require_sso: wanted });
      notify(wanted ? `Sign-in for ${domain.domain} now requires SSO.` : `${domain.domain} no longer requires SSO.`);
    } finally {
      await loadDomains();
    }
  });
}

async function removeDomain(domain, button) {
  await guarded(button, "sso-admin-error", async () => {
    await api("DELETE", domainPath(domain));
    notify(`${domain.domain} removed.`);
    await loadDomains();
  });
}

// ---------------------------------------------------------------------------------------
// The panel

/** Shows the SSO panel of `group` (called from the organizations table). */
async function showSso(group, button) {
  ssoGroup = group;
  await guarded(button, "sso-admin-error", async () => {
    $("sso-group").textContent = group.name;
    $("sso-panel").dataset.groupId = group.id;
    $("sso-readiness-box").hidden = true;
    $("sso-panel").hidden = false;
    await Promise.all([loadConnections(), loadDomains()]);
  });
}

/** Hides the panel and forgets what it showed (on close and on sign-out). */
function hideSso() {
  ssoGroup = null;
  for (const id of ["sso-connections", "sso-domains", "sso-readiness"]) $(id).replaceChildren();
  $("sso-readiness-box").hidden = true;
  $("sso-panel").hidden = true;
  clearError("sso-admin-error");
}

$("sso-connection-form").addEventListener("submit", createConnection);
$("sso-protocol").addEventListener("change", showProtocolFields);
$("sso-domain-form").addEventListener("submit", addDomain);
$("sso-close").addEventListener("click", hideSso);
