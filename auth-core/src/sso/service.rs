use std::collections::BTreeMap;

use super::metadata::parse_idp_metadata;
use super::{
    AttributeMapping, CHECK_ACTIVE, CHECK_VERIFIED_DOMAIN, ClaimMapping, DnsError,
    NewSsoConnection, OidcConnection, OidcInput, OrgDomain, ProtocolConfig, ProtocolInput,
    Readiness, ReadinessCheck, SSO_FORMAT_VERSION, SamlConnection, SamlInput, SsoConnection,
    SsoConnectionFilter, SsoConnectionOrder, SsoConnectionPatch, SsoConnectionView, SsoTarget,
    VerifyDomainOutcome,
};
use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::caller::Caller;
use crate::context::RequestMeta;
use crate::credentials::CredentialStore;
use crate::error::{AuthError, Entity};
use crate::ids::{GroupId, OrgDomainId, SsoConnectionId};
use crate::invalidation::Invalidation;
use crate::members::Access;
use crate::pagination::{ListQuery, Page};
use crate::permissions::Permission;
use crate::secret::generate_token;
use crate::store::SsoDomain;
use crate::validate::{self, Email};

/// Longest connection name.
const MAX_NAME: usize = 128;
/// Longest URL (issuer, ACS, SSO URL).
const MAX_URL: usize = 2048;
/// Longest client id, entity id, claim or attribute name.
const MAX_FIELD: usize = 1024;
/// Longest client secret, in bytes.
const MAX_SECRET: usize = 1024;
/// Most scopes.
const MAX_SCOPES: usize = 32;
/// Most extra authorization parameters.
const MAX_PARAMS: usize = 16;
/// Most entries of a role mapping.
const MAX_ROLE_MAPPING: usize = 100;
/// Most domains of one organization.
pub const MAX_DOMAINS_PER_GROUP: usize = 100;
/// Authorization parameters the flow sets itself, which a connection may not override.
const RESERVED_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "request",
    "request_uri",
];

/// Enterprise SSO set-up: connections and domains of organizations, sign-in routing and
/// the SSO requirement: `auth.sso()`.
///
/// Managing a connection or a domain needs `sso:manage` on the organization, reading them
/// `sso:read` (owners have both; the default policy gives admins `sso:*`); a caller with no
/// standing in the organization gets `SSO_CONNECTION_NOT_FOUND` / `DOMAIN_NOT_FOUND`.
/// Every change and every refusal is audited (`sso.connection.*`, `sso.domain.*`).
pub struct Sso<'a, S> {
    pub(super) auth: &'a Auth<S>,
}

impl<S: SsoDomain> Auth<S> {
    /// Enterprise SSO set-up.
    pub fn sso(&self) -> Sso<'_, S> {
        Sso { auth: self }
    }
}

impl<S: CredentialStore> Auth<S> {
    /// Refuses a password or emailed-code sign-in for an address whose verified domain
    /// requires SSO (`SSO_REQUIRED`), auditing the refusal as a failed `action`.
    pub(crate) async fn refuse_if_sso_required(
        &self,
        email: &Email,
        action: &str,
        method: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        if !self.store().sso_required(email.domain()).await? {
            return Ok(());
        }
        let error = AuthError::SsoRequired;
        let event = AuditEvent::new(action, meta.actor_or(Actor::Anonymous), self.now(), meta)
            .detail(serde_json::json!({ "method": method, "domain": email.domain() }))
            .failed(&error);
        self.record_audit(event).await;
        Err(error)
    }
}

fn read() -> Permission {
    Permission::new("sso", "read")
}

fn manage() -> Permission {
    Permission::new("sso", "manage")
}

/// Normalises and checks a domain: trimmed, one trailing dot dropped, IDNA to lowercase
/// ASCII, at most 253 characters, at least two labels of 1 to 63 letters, digits and
/// hyphens (not at either end), no wildcard, and a top-level label that is not all digits
/// (no IP address).
pub fn normalize_domain(input: &str) -> Result<String, AuthError> {
    let bad = |reason: &'static str| AuthError::invalid("domain", reason);
    if input.len() > 1024 {
        return Err(bad("must be at most 253 characters"));
    }
    let trimmed = input.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if trimmed.contains('*') {
        return Err(bad("must not be a wildcard"));
    }
    let ascii = idna::domain_to_ascii(trimmed).map_err(|_| bad("is not a valid domain name"))?;
    if ascii.is_empty() || ascii.len() > 253 {
        return Err(bad("must be 1 to 253 characters"));
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(bad("must have at least two labels (example.com)"));
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !labels.iter().all(label_ok) {
        return Err(bad(
            "labels are 1 to 63 of [a-z0-9-], not starting or ending with -",
        ));
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad("must be a domain name, not an IP address"));
    }
    Ok(ascii)
}

/// Checks a URL: `https://`, or `http://` on a loopback host (local test providers); no
/// fragment, no credentials.
fn check_url(field: &'static str, input: &str) -> Result<String, AuthError> {
    let input = input.trim();
    if input.len() > MAX_URL {
        return Err(AuthError::invalid(field, "must be at most 2048 characters"));
    }
    let url = url::Url::parse(input).map_err(|_| AuthError::invalid(field, "is not a URL"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(AuthError::invalid(
                field,
                "must be https:// (http:// only on a loopback address)",
            ));
        }
    }
    if url.host().is_none() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(AuthError::invalid(
            field,
            "must have a host, and no fragment or credentials",
        ));
    }
    Ok(input.to_owned())
}

/// A short single-line field that may be empty (not configured yet).
fn optional_field(field: &'static str, input: &str) -> Result<String, AuthError> {
    if input.trim().is_empty() {
        Ok(String::new())
    } else {
        validate::text(field, input, MAX_FIELD)
    }
}

fn check_claim(field: &'static str, name: &str) -> Result<String, AuthError> {
    validate::text(field, name, MAX_FIELD)
}

fn check_claims(claims: ClaimMapping) -> Result<ClaimMapping, AuthError> {
    Ok(ClaimMapping {
        email: check_claim("claims.email", &claims.email)?,
        name: check_claim("claims.name", &claims.name)?,
        given_name: check_claim("claims.given_name", &claims.given_name)?,
        family_name: check_claim("claims.family_name", &claims.family_name)?,
        groups: claims
            .groups
            .map(|g| check_claim("claims.groups", &g))
            .transpose()?,
    })
}

fn check_attributes(a: AttributeMapping) -> Result<AttributeMapping, AuthError> {
    let opt =
        |field: &'static str, v: Option<String>| v.map(|v| check_claim(field, &v)).transpose();
    Ok(AttributeMapping {
        subject: opt("attributes.subject", a.subject)?,
        email: check_claim("attributes.email", &a.email)?,
        name: opt("attributes.name", a.name)?,
        given_name: opt("attributes.given_name", a.given_name)?,
        family_name: opt("attributes.family_name", a.family_name)?,
        groups: opt("attributes.groups", a.groups)?,
    })
}

fn check_scopes(scopes: Option<Vec<String>>) -> Result<Vec<String>, AuthError> {
    let mut scopes = scopes.unwrap_or_else(|| {
        ["openid", "email", "profile"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    });
    if scopes.len() > MAX_SCOPES {
        return Err(AuthError::invalid("scopes", "at most 32 scopes"));
    }
    for scope in &scopes {
        let ok = !scope.is_empty()
            && scope.len() <= 128
            && scope
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
        if !ok {
            return Err(AuthError::invalid(
                "scopes",
                "each scope is 1 to 128 printable ASCII characters without spaces",
            ));
        }
    }
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".to_owned());
    }
    scopes.dedup();
    Ok(scopes)
}

fn check_params(params: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, AuthError> {
    if params.len() > MAX_PARAMS {
        return Err(AuthError::invalid("extra_params", "at most 16 parameters"));
    }
    for (key, value) in &params {
        let key_ok = !key.is_empty()
            && key.len() <= 64
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if !key_ok {
            return Err(AuthError::invalid(
                "extra_params",
                "names are 1 to 64 of [A-Za-z0-9_.-]",
            ));
        }
        if RESERVED_PARAMS.contains(&key.as_str()) {
            return Err(AuthError::invalid(
                "extra_params",
                "must not set a parameter the flow sets itself (state, nonce, scope, ...)",
            ));
        }
        if value.len() > 512 || value.chars().any(char::is_control) {
            return Err(AuthError::invalid(
                "extra_params",
                "values are at most 512 characters, without control characters",
            ));
        }
    }
    Ok(params)
}

/// Every readiness check of a connection's configuration (and its status), in order.
pub(super) fn config_checks(connection: &SsoConnection) -> Vec<ReadinessCheck> {
    let check = |name: &str, ok: bool, missing: &str| ReadinessCheck {
        check: name.to_owned(),
        ok,
        detail: (!ok).then(|| missing.to_owned()),
    };
    let mut checks = Vec::new();
    match &connection.config {
        ProtocolConfig::Oidc(o) => {
            checks.push(check("oidc.issuer", !o.issuer.is_empty(), "no issuer URL"));
            checks.push(check(
                "oidc.client_id",
                !o.client_id.is_empty(),
                "no client id",
            ));
            checks.push(check(
                "oidc.client_secret",
                o.client_secret.is_some(),
                "no client secret",
            ));
            checks.push(check(
                "oidc.scopes",
                o.scopes.iter().any(|s| s == "openid"),
                "the scopes lack openid",
            ));
            checks.push(check(
                "oidc.claims.email",
                !o.claims.email.is_empty(),
                "no email claim",
            ));
        }
        ProtocolConfig::Saml(s) => {
            checks.push(check(
                "saml.idp_metadata",
                !s.idp_metadata_xml.is_empty(),
                "no IdP metadata",
            ));
            checks.push(check(
                "saml.idp_entity_id",
                !s.idp_entity_id.is_empty(),
                "no IdP entity id",
            ));
            checks.push(check(
                "saml.sso_url",
                !s.sso_url.is_empty(),
                "no IdP SSO URL",
            ));
            checks.push(check(
                "saml.signing_certificate",
                !s.signing_certificates.is_empty(),
                "no IdP signing certificate",
            ));
            checks.push(check(
                "saml.sp_entity_id",
                !s.sp_entity_id.is_empty(),
                "no SP entity id",
            ));
            checks.push(check("saml.acs_url", !s.acs_url.is_empty(), "no ACS URL"));
            checks.push(check(
                "saml.attributes.email",
                !s.attributes.email.is_empty(),
                "no email attribute",
            ));
        }
    }
    checks
}

pub(super) fn not_ready(checks: &[ReadinessCheck]) -> Option<AuthError> {
    let missing: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.check.clone())
        .collect();
    (!missing.is_empty()).then_some(AuthError::SsoConnectionNotReady { missing })
}

impl<S: SsoDomain> Sso<'_, S> {
    /// The caller's access to `group_id`, refusing without `permission` (a caller with no
    /// standing there learns nothing: `hidden_as` not found).
    async fn require(
        &self,
        caller: &Caller,
        group_id: GroupId,
        permission: &Permission,
        hidden_as: Entity,
    ) -> Result<Access, AuthError> {
        let access = self.auth.members().access(caller, group_id).await?;
        access.require(permission, hidden_as)?;
        Ok(access)
    }

    /// Records the event of `action` by `caller` on `subject`, successful or failed.
    async fn audit<T>(
        &self,
        action: &str,
        caller: &Caller,
        meta: &RequestMeta,
        subject: (&str, String),
        detail: serde_json::Value,
        result: &Result<T, AuthError>,
    ) {
        let mut event =
            AuditEvent::by(action, caller, self.auth.now(), meta).subject(subject.0, subject.1);
        if !detail.is_null() {
            event = event.detail(detail);
        }
        if let Err(error) = result {
            event = event.failed(error);
        }
        self.auth.record_audit(event).await;
    }

    /// Checks that the caller may grant `role` (it is defined, and the caller holds it:
    /// nobody provisions members above their own role).
    fn check_role(
        &self,
        access: &Access,
        field: &'static str,
        role: &str,
    ) -> Result<(), AuthError> {
        if self.auth.policy().permissions_of(role).is_none() {
            return Err(AuthError::invalid(field, "is not a role of the policy"));
        }
        access.require_role(role)
    }

    fn check_roles(
        &self,
        access: &Access,
        default_role: Option<&str>,
        mapping: &BTreeMap<String, String>,
    ) -> Result<(), AuthError> {
        if let Some(role) = default_role {
            self.check_role(access, "default_role", role)?;
        }
        if mapping.len() > MAX_ROLE_MAPPING {
            return Err(AuthError::invalid("role_mapping", "at most 100 entries"));
        }
        for (idp_group, role) in mapping {
            validate::text("role_mapping", idp_group, MAX_FIELD)?;
            self.check_role(access, "role_mapping", role)?;
        }
        Ok(())
    }

    /// Builds the stored protocol configuration from `input` (for connection `id`), keeping
    /// `previous`'s client secret when an OIDC input gives none.
    fn build_config(
        &self,
        id: SsoConnectionId,
        input: ProtocolInput,
        previous: Option<&ProtocolConfig>,
    ) -> Result<ProtocolConfig, AuthError> {
        match input {
            ProtocolInput::Oidc(o) => self.build_oidc(id, o, previous).map(ProtocolConfig::Oidc),
            ProtocolInput::Saml(s) => {
                let base = self.auth.config().saml_sp_base_url.as_deref();
                build_saml(s, id, base).map(ProtocolConfig::Saml)
            }
        }
    }

    fn build_oidc(
        &self,
        id: SsoConnectionId,
        input: OidcInput,
        previous: Option<&ProtocolConfig>,
    ) -> Result<OidcConnection, AuthError> {
        let issuer = if input.issuer.trim().is_empty() {
            String::new()
        } else {
            check_url("issuer", &input.issuer)?
                .trim_end_matches('/')
                .to_owned()
        };
        let client_secret = match (&input.client_secret, input.clear_client_secret) {
            (_, true) => None,
            (Some(secret), false) => {
                let raw = secret.expose();
                if raw.is_empty() || raw.len() > MAX_SECRET || raw.chars().any(char::is_control) {
                    return Err(AuthError::invalid(
                        "client_secret",
                        "must be 1 to 1024 bytes, without control characters",
                    ));
                }
                Some(self.auth.secret_box().seal(
                    self.auth.inner().random.as_ref(),
                    raw.as_bytes(),
                    &OidcConnection::secret_context(id),
                )?)
            }
            (None, false) => match previous {
                Some(ProtocolConfig::Oidc(old)) => old.client_secret.clone(),
                _ => None,
            },
        };
        Ok(OidcConnection {
            issuer,
            client_id: optional_field("client_id", &input.client_id)?,
            client_secret,
            scopes: check_scopes(input.scopes)?,
            extra_params: check_params(input.extra_params)?,
            claims: check_claims(input.claims.unwrap_or_default())?,
        })
    }

    /// Creates a connection for an organization (`sso:manage`); a draft unless `status`
    /// says otherwise, and active only when every configuration check passes
    /// (`SSO_CONNECTION_NOT_READY`). The default role and mapped roles must be roles of the
    /// policy the caller holds. Audited as `sso.connection.create`.
    #[tracing::instrument(name = "sso.create_connection", skip_all)]
    pub async fn create_connection(
        &self,
        caller: &Caller,
        input: NewSsoConnection,
        meta: &RequestMeta,
    ) -> Result<SsoConnectionView, AuthError> {
        let id = SsoConnectionId::new();
        let group_id = input.group_id;
        let result = self.create_inner(caller, id, input).await;
        let subject = match &result {
            Ok(_) => ("sso_connection", id.to_string()),
            Err(_) => ("group", group_id.to_string()),
        };
        let detail = match &result {
            Ok(c) => serde_json::json!({
                "group_id": group_id,
                "protocol": c.config.protocol().as_str(),
                "status": c.status.as_str(),
            }),
            Err(_) => serde_json::Value::Null,
        };
        self.audit(
            "sso.connection.create",
            caller,
            meta,
            subject,
            detail,
            &result,
        )
        .await;
        result.map(|c| c.view())
    }

    async fn create_inner(
        &self,
        caller: &Caller,
        id: SsoConnectionId,
        input: NewSsoConnection,
    ) -> Result<SsoConnection, AuthError> {
        let access = self
            .require(caller, input.group_id, &manage(), Entity::Group)
            .await?;
        self.check_roles(&access, input.default_role.as_deref(), &input.role_mapping)?;
        let extend = input.extend.unwrap_or_else(|| serde_json::json!({}));
        validate::extend("extend", &extend)?;
        let now = self.auth.now();
        let connection = SsoConnection {
            id,
            group_id: input.group_id,
            name: validate::text("name", &input.name, MAX_NAME)?,
            status: input.status.unwrap_or_default(),
            config: self.build_config(id, input.config, None)?,
            default_role: input.default_role,
            role_mapping: input.role_mapping,
            extend,
            format_version: SSO_FORMAT_VERSION,
            created_at: now,
            updated_at: now,
        };
        if connection.is_active()
            && let Some(error) = not_ready(&config_checks(&connection))
        {
            return Err(error);
        }
        self.auth.store().create_sso_connection(&connection).await?;
        Ok(connection)
    }

    /// The connection `id` of the organization `group_id`, with its access checked.
    async fn load(
        &self,
        caller: &Caller,
        group_id: GroupId,
        id: SsoConnectionId,
        permission: &Permission,
    ) -> Result<(SsoConnection, Access), AuthError> {
        let access = self
            .require(caller, group_id, permission, Entity::SsoConnection)
            .await?;
        let connection = self
            .auth
            .store()
            .get_sso_connection(id)
            .await?
            .filter(|c| c.group_id == group_id)
            .ok_or(AuthError::NotFound(Entity::SsoConnection))?;
        Ok((connection, access))
    }

    /// The connection `id` of the organization `group_id` (`sso:read`), without its
    /// secret.
    pub async fn get_connection(
        &self,
        caller: &Caller,
        group_id: GroupId,
        id: SsoConnectionId,
    ) -> Result<SsoConnectionView, AuthError> {
        let result = self.load(caller, group_id, id, &read()).await;
        self.auth
            .audit_refusal("sso.connection.read", caller, &RequestMeta::none(), result)
            .await
            .map(|(c, _)| c.view())
    }

    /// An organization's connections, a page at a time (`sso:read`).
    pub async fn list_connections(
        &self,
        caller: &Caller,
        query: ListQuery<SsoConnectionFilter, SsoConnectionOrder>,
    ) -> Result<Page<SsoConnectionView>, AuthError> {
        let group_id = query.filter.group_id;
        let allowed = self.require(caller, group_id, &read(), Entity::Group).await;
        self.auth
            .audit_refusal("sso.connection.list", caller, &RequestMeta::none(), allowed)
            .await?;
        let request = query.validate()?;
        let rows = self.auth.store().list_sso_connections(&request).await?;
        Ok(Page::from_fetched(rows, &request).map(|c| c.view()))
    }

    /// Changes a connection (`sso:manage`). A new configuration of the same protocol keeps
    /// the stored client secret unless it gives one (or clears it); activating needs every
    /// configuration check to pass (`SSO_CONNECTION_NOT_READY`), and an active connection
    /// whose new configuration fails a check is refused the same way. Audited as
    /// `sso.connection.update`.
    #[tracing::instrument(name = "sso.update_connection", skip_all, fields(connection = %id))]
    pub async fn update_connection(
        &self,
        caller: &Caller,
        group_id: GroupId,
        id: SsoConnectionId,
        patch: SsoConnectionPatch,
        meta: &RequestMeta,
    ) -> Result<SsoConnectionView, AuthError> {
        let result = self.update_inner(caller, group_id, id, patch).await;
        let detail = match &result {
            Ok((c, fields)) => serde_json::json!({ "status": c.status.as_str(), "fields": fields }),
            Err(_) => serde_json::Value::Null,
        };
        self.audit(
            "sso.connection.update",
            caller,
            meta,
            ("sso_connection", id.to_string()),
            detail,
            &result,
        )
        .await;
        result.map(|(c, _)| c.view())
    }

    async fn update_inner(
        &self,
        caller: &Caller,
        group_id: GroupId,
        id: SsoConnectionId,
        patch: SsoConnectionPatch,
    ) -> Result<(SsoConnection, Vec<&'static str>), AuthError> {
        let (old, access) = self.load(caller, group_id, id, &manage()).await?;
        let mut fields = Vec::new();
        let mut next = old.clone();
        if let Some(name) = patch.name {
            next.name = validate::text("name", &name, MAX_NAME)?;
            fields.push("name");
        }
        if let Some(status) = patch.status {
            next.status = status;
            fields.push("status");
        }
        if let Some(config) = patch.config {
            next.config = self.build_config(id, config, Some(&old.config))?;
            fields.push("config");
        }
        if let Some(default_role) = patch.default_role {
            next.default_role = default_role;
            fields.push("default_role");
        }
        if let Some(mapping) = patch.role_mapping {
            next.role_mapping = mapping;
            fields.push("role_mapping");
        }
        if let Some(extend) = patch.extend {
            validate::extend("extend", &extend)?;
            next.extend = extend;
            fields.push("extend");
        }
        if fields.contains(&"default_role") || fields.contains(&"role_mapping") {
            self.check_roles(&access, next.default_role.as_deref(), &next.role_mapping)?;
        }
        if next.is_active()
            && let Some(error) = not_ready(&config_checks(&next))
        {
            return Err(error);
        }
        next.updated_at = self.auth.now();
        if !self.auth.store().update_sso_connection(&next).await? {
            return Err(AuthError::NotFound(Entity::SsoConnection));
        }
        Ok((next, fields))
    }

    /// Deletes a connection (`sso:manage`). Audited as `sso.connection.delete`.
    #[tracing::instrument(name = "sso.delete_connection", skip_all, fields(connection = %id))]
    pub async fn delete_connection(
        &self,
        caller: &Caller,
        group_id: GroupId,
        id: SsoConnectionId,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let result = async {
            self.load(caller, group_id, id, &manage()).await?;
            if self.auth.store().delete_sso_connection(id).await? {
                Ok(())
            } else {
                Err(AuthError::NotFound(Entity::SsoConnection))
            }
        }
        .await;
        self.audit(
            "sso.connection.delete",
            caller,
            meta,
            ("sso_connection", id.to_string()),
            serde_json::Value::Null,
            &result,
        )
        .await;
        result
    }

    /// Every readiness check of a connection (`sso:read`): what is configured, what is
    /// missing, its status, and whether its organization has a verified domain. Never
    /// stops at the first failure.
    pub async fn readiness(
        &self,
        caller: &Caller,
        group_id: GroupId,
        id: SsoConnectionId,
    ) -> Result<Readiness, AuthError> {
        let result = self.load(caller, group_id, id, &read()).await;
        let (connection, _) = self
            .auth
            .audit_refusal("sso.connection.read", caller, &RequestMeta::none(), result)
            .await?;
        let mut checks = config_checks(&connection);
        let configured = checks.iter().all(|c| c.ok);
        let active = connection.is_active();
        checks.push(ReadinessCheck {
            check: CHECK_ACTIVE.to_owned(),
            ok: active,
            detail: (!active).then(|| format!("the status is {}", connection.status.as_str())),
        });
        let verified = self
            .auth
            .store()
            .list_domains(group_id)
            .await?
            .iter()
            .any(OrgDomain::is_verified);
        checks.push(ReadinessCheck {
            check: CHECK_VERIFIED_DOMAIN.to_owned(),
            ok: verified,
            detail: (!verified)
                .then(|| "the organization has no verified domain to route by".to_owned()),
        });
        Ok(Readiness {
            connection_id: id,
            status: connection.status,
            configured,
            routable: configured && active && verified,
            checks,
        })
    }

    /// Adds a domain to an organization (`sso:manage`), unverified, with a new random
    /// verification token: publish [`OrgDomain::txt_value`] as a TXT record at
    /// [`OrgDomain::txt_name`], then call [`Self::verify_domain`]. `DOMAIN_TAKEN` if the
    /// organization has it already or another one verified it. Audited as
    /// `sso.domain.add`.
    #[tracing::instrument(name = "sso.add_domain", skip_all)]
    pub async fn add_domain(
        &self,
        caller: &Caller,
        group_id: GroupId,
        domain: &str,
        meta: &RequestMeta,
    ) -> Result<OrgDomain, AuthError> {
        let result = async {
            self.require(caller, group_id, &manage(), Entity::Group)
                .await?;
            let domain = normalize_domain(domain)?;
            let store = self.auth.store();
            if store.list_domains(group_id).await?.len() >= MAX_DOMAINS_PER_GROUP {
                return Err(AuthError::invalid(
                    "domain",
                    "an organization has at most 100 domains",
                ));
            }
            let record = OrgDomain {
                id: OrgDomainId::new(),
                group_id,
                domain,
                verification_token: generate_token(self.auth.inner().random.as_ref())
                    .expose()
                    .to_owned(),
                verified_at: None,
                require_sso: false,
                created_at: self.auth.now(),
            };
            store.add_domain(&record).await?;
            Ok(record)
        }
        .await;
        let (subject, detail) = match &result {
            Ok(d) => (
                ("domain", d.id.to_string()),
                serde_json::json!({ "group_id": group_id, "domain": d.domain }),
            ),
            Err(_) => (("group", group_id.to_string()), serde_json::Value::Null),
        };
        self.audit("sso.domain.add", caller, meta, subject, detail, &result)
            .await;
        result
    }

    /// An organization's domains (`sso:read`), by name.
    pub async fn list_domains(
        &self,
        caller: &Caller,
        group_id: GroupId,
    ) -> Result<Vec<OrgDomain>, AuthError> {
        let allowed = self.require(caller, group_id, &read(), Entity::Group).await;
        self.auth
            .audit_refusal("sso.domain.list", caller, &RequestMeta::none(), allowed)
            .await?;
        Ok(self.auth.store().list_domains(group_id).await?)
    }

    async fn load_domain(
        &self,
        caller: &Caller,
        group_id: GroupId,
        id: OrgDomainId,
        permission: &Permission,
    ) -> Result<OrgDomain, AuthError> {
        self.require(caller, group_id, permission, Entity::Domain)
            .await?;
        self.auth
            .store()
            .get_domain(id)
            .await?
            .filter(|d| d.group_id == group_id)
            .ok_or(AuthError::NotFound(Entity::Domain))
    }

    /// Removes a domain from its organization (`sso:manage`); a verified one becomes free
    /// for others. Audited as `sso.domain.remove`.
    #[tracing::instrument(name = "sso.remove_domain", skip_all, fields(domain = %id))]
    pub async fn remove_domain(
        &self,
        caller: &Caller,
        group_id: GroupId,
        id: OrgDomainId,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let result = async {
            let domain = self.load_domain(caller, group_id, id, &manage()).await?;
            if self.auth.store().delete_domain(id).await? {
                Ok(domain)
            } else {
                Err(AuthError::NotFound(Entity::Domain))
            }
        }
        .await;
        let detail = match &result {
            Ok(d) => serde_json::json!({ "domain": d.domain }),
            Err(_) => serde_json::Value::Null,
        };
        self.audit(
            "sso.domain.remove",
            caller,
            meta,
            ("domain", id.to_string()),
            detail,
            &result,
        )
        .await;
        result.map(|_| ())
    }

    /// Verifies a domain by DNS (`sso:manage`): looks up the TXT records at
    /// `_auth-rs-challenge.<domain>` through the app's
    /// [`DomainVerifier`](super::DomainVerifier) and marks the domain verified if one of
    /// them is `auth-rs-domain-verification=<token>`. `DOMAIN_VERIFICATION_FAILED` if
    /// none is, `DNS_UNAVAILABLE` if the lookup failed, `DOMAIN_TAKEN` if another
    /// organization verified the domain first, `NOT_CONFIGURED` without a verifier. A
    /// verified domain is returned as it is. Audited as `sso.domain.verify`.
    #[tracing::instrument(name = "sso.verify_domain", skip_all, fields(domain = %id))]
    pub async fn verify_domain(
        &self,
        caller: &Caller,
        group_id: GroupId,
        id: OrgDomainId,
        meta: &RequestMeta,
    ) -> Result<OrgDomain, AuthError> {
        let result = async {
            let domain = self.load_domain(caller, group_id, id, &manage()).await?;
            if domain.is_verified() {
                return Ok(domain);
            }
            let verifier =
                self.auth
                    .inner()
                    .domain_verifier
                    .as_ref()
                    .ok_or(AuthError::NotConfigured(
                        "a domain verifier (AuthBuilder::domain_verifier)",
                    ))?;
            let records =
                verifier
                    .txt_records(&domain.txt_name())
                    .await
                    .map_err(|DnsError(error)| {
                        tracing::warn!(%error, "a domain verification's DNS lookup failed");
                        AuthError::DnsUnavailable
                    })?;
            let expected = domain.txt_value();
            if records.is_empty() {
                return Err(AuthError::DomainVerificationFailed(
                    "no TXT record at _auth-rs-challenge.<domain>",
                ));
            }
            if !records.iter().any(|r| r.trim() == expected) {
                return Err(AuthError::DomainVerificationFailed(
                    "no TXT record at _auth-rs-challenge.<domain> holds the expected value",
                ));
            }
            self.mark(id).await
        }
        .await;
        self.audit_verify(caller, meta, id, "dns", &result).await;
        result
    }

    async fn mark(&self, id: OrgDomainId) -> Result<OrgDomain, AuthError> {
        match self
            .auth
            .store()
            .mark_domain_verified(id, self.auth.now())
            .await?
        {
            VerifyDomainOutcome::Verified(domain) => Ok(domain),
            VerifyDomainOutcome::NotFound => Err(AuthError::NotFound(Entity::Domain)),
            VerifyDomainOutcome::Taken => Err(AuthError::DomainTaken),
        }
    }

    async fn audit_verify(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        id: OrgDomainId,
        method: &str,
        result: &Result<OrgDomain, AuthError>,
    ) {
        let detail = match result {
            Ok(d) => serde_json::json!({ "method": method, "domain": d.domain }),
            Err(_) => serde_json::json!({ "method": method }),
        };
        self.audit(
            "sso.domain.verify",
            caller,
            meta,
            ("domain", id.to_string()),
            detail,
            result,
        )
        .await;
    }

    /// Marks a domain verified without the DNS proof: the app's own call only
    /// ([`Caller::System`], e.g. its operators' console after checking by other means).
    /// Organization owners and admins may not: a verified domain routes and can lock every
    /// address of the domain out of password sign-in, so claiming one without proof is not
    /// a tenant's right. `DOMAIN_TAKEN` if another organization verified it. Audited as
    /// `sso.domain.verify` with method `manual`.
    #[tracing::instrument(name = "sso.mark_domain_verified", skip_all, fields(domain = %id))]
    pub async fn mark_domain_verified(
        &self,
        caller: &Caller,
        group_id: GroupId,
        id: OrgDomainId,
        meta: &RequestMeta,
    ) -> Result<OrgDomain, AuthError> {
        let result = async {
            if !caller.is_system() {
                // Hidden as not found from callers without standing, forbidden otherwise.
                self.load_domain(caller, group_id, id, &manage()).await?;
                return Err(AuthError::Forbidden(
                    "only the app marks a domain verified without DNS proof".into(),
                ));
            }
            let domain = self.load_domain(caller, group_id, id, &manage()).await?;
            if domain.is_verified() {
                return Ok(domain);
            }
            self.mark(id).await
        }
        .await;
        self.audit_verify(caller, meta, id, "manual", &result).await;
        result
    }

    /// Sets whether a verified domain requires SSO (`sso:manage`): when on, password,
    /// emailed-code and passkey sign-in are refused with `SSO_REQUIRED` for its addresses,
    /// and the sessions of its users that the organization's connections did not create
    /// are revoked (in the store, and evicted from every node's cache).
    /// `DOMAIN_NOT_VERIFIED` for a domain not verified yet. Audited as
    /// `sso.domain.update`.
    #[tracing::instrument(name = "sso.set_require_sso", skip_all, fields(domain = %id))]
    pub async fn set_require_sso(
        &self,
        caller: &Caller,
        group_id: GroupId,
        id: OrgDomainId,
        require_sso: bool,
        meta: &RequestMeta,
    ) -> Result<OrgDomain, AuthError> {
        let result = async {
            let domain = self.load_domain(caller, group_id, id, &manage()).await?;
            if require_sso && !domain.is_verified() {
                return Err(AuthError::DomainNotVerified);
            }
            let domain = self
                .auth
                .store()
                .set_domain_require_sso(id, require_sso)
                .await?
                .ok_or(AuthError::NotFound(Entity::Domain))?;
            let ended = if require_sso {
                self.end_sessions_outside_sso(&domain).await?
            } else {
                0
            };
            Ok((domain, ended))
        }
        .await;
        let ended = result.as_ref().map_or(0, |(_, n)| *n);
        let detail = serde_json::json!({ "require_sso": require_sso, "sessions_revoked": ended });
        let result = result.map(|(domain, _)| domain);
        self.audit(
            "sso.domain.update",
            caller,
            meta,
            ("domain", id.to_string()),
            detail,
            &result,
        )
        .await;
        result
    }

    /// Revokes the sessions of `domain`'s users that its organization's connections did
    /// not create, and evicts them from every node's cache; how many.
    async fn end_sessions_outside_sso(&self, domain: &OrgDomain) -> Result<usize, AuthError> {
        let hashes = self
            .auth
            .store()
            .revoke_sessions_outside_sso(&domain.domain, domain.group_id, self.auth.now())
            .await?;
        let events: Vec<_> = hashes.iter().copied().map(Invalidation::Session).collect();
        self.auth.invalidate(&events).await;
        Ok(hashes.len())
    }

    /// The active connection a sign-in goes to: by an email address's domain, by a domain
    /// (only a VERIFIED domain routes, to its organization's oldest active connection), or
    /// by connection id. `SSO_CONNECTION_NOT_FOUND` when nothing routes,
    /// `SSO_CONNECTION_INACTIVE` for a connection that is a draft or disabled,
    /// `INVALID_EMAIL` / `INVALID_INPUT` for a malformed address or domain. No caller: this
    /// is asked before anyone is signed in.
    pub async fn route(&self, target: &SsoTarget) -> Result<SsoConnection, AuthError> {
        let domain = match target {
            SsoTarget::Email(email) => Email::parse(email)?.domain().to_owned(),
            SsoTarget::Domain(domain) => normalize_domain(domain)?,
            SsoTarget::Connection(id) => {
                let connection = self
                    .auth
                    .store()
                    .get_sso_connection(*id)
                    .await?
                    .ok_or(AuthError::NotFound(Entity::SsoConnection))?;
                if !connection.is_active() {
                    return Err(AuthError::SsoConnectionInactive);
                }
                return Ok(connection);
            }
        };
        self.auth
            .store()
            .active_sso_connection_for_domain(&domain)
            .await?
            .ok_or(AuthError::NotFound(Entity::SsoConnection))
    }

    /// Whether `email`'s domain is verified by an organization that requires SSO for it:
    /// then password and emailed-code sign-in refuse the address with `SSO_REQUIRED`.
    pub async fn sso_required_for(&self, email: &str) -> Result<bool, AuthError> {
        let email = Email::parse(email)?;
        Ok(self.auth.store().sso_required(email.domain()).await?)
    }

    /// Every organization's claim on `domain` (the app only: who claims what is not a
    /// tenant's business), verified first.
    pub async fn find_domain(
        &self,
        caller: &Caller,
        domain: &str,
    ) -> Result<Vec<OrgDomain>, AuthError> {
        if !caller.is_system() {
            return Err(AuthError::Forbidden(
                "looking up any organization's domains is for the app".into(),
            ));
        }
        let domain = normalize_domain(domain)?;
        Ok(self.auth.store().find_domain(&domain).await?)
    }
}

/// The SAML configuration from `input`; an empty SP entity id or ACS URL takes its
/// default under `sp_base` ([`AuthConfig::saml_sp_base_url`](crate::AuthConfig)), if set.
fn build_saml(
    input: SamlInput,
    id: SsoConnectionId,
    sp_base: Option<&str>,
) -> Result<SamlConnection, AuthError> {
    let (idp_metadata_xml, idp_entity_id, sso_url, signing_certificates) =
        if input.idp_metadata_xml.trim().is_empty() {
            (String::new(), String::new(), String::new(), Vec::new())
        } else {
            let metadata = parse_idp_metadata(&input.idp_metadata_xml)?;
            let sso_url = check_url("idp_metadata_xml", &metadata.sso_url)?;
            let entity_id = validate::text("idp_metadata_xml", &metadata.entity_id, MAX_FIELD)?;
            (
                input.idp_metadata_xml,
                entity_id,
                sso_url,
                metadata.signing_certificates,
            )
        };
    let by_default = |endpoint: &str| {
        sp_base
            .map(|base| format!("{base}/{id}/{endpoint}"))
            .unwrap_or_default()
    };
    let acs_url = if input.acs_url.trim().is_empty() {
        by_default("acs")
    } else {
        check_url("acs_url", &input.acs_url)?
    };
    let sp_entity_id = if input.sp_entity_id.trim().is_empty() {
        by_default("metadata")
    } else {
        optional_field("sp_entity_id", &input.sp_entity_id)?
    };
    Ok(SamlConnection {
        idp_metadata_xml,
        idp_entity_id,
        sso_url,
        signing_certificates,
        sp_entity_id,
        acs_url,
        attributes: check_attributes(input.attributes.unwrap_or_default())?,
        sign_authn_requests: input.sign_authn_requests,
        allow_idp_initiated: input.allow_idp_initiated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised_and_checked() {
        assert_eq!(normalize_domain(" Example.COM. ").unwrap(), "example.com");
        assert_eq!(normalize_domain("bücher.de").unwrap(), "xn--bcher-kva.de");
        for bad in [
            "",
            "com",
            "*.example.com",
            "exa mple.com",
            "-a.example.com",
            "a..example.com",
            "127.0.0.1",
            "example.com/path",
            "user@example.com",
            &format!("{}.com", "a".repeat(64)),
            &"ab.".repeat(90),
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_https_or_loopback_http() {
        assert!(check_url("issuer", "https://idp.example.com").is_ok());
        assert!(check_url("issuer", "http://127.0.0.1:8080").is_ok());
        assert!(check_url("issuer", "http://localhost:8080").is_ok());
        for bad in [
            "http://idp.example.com",
            "ftp://x.example",
            "https://u:p@idp.example.com",
            "https://idp.example.com/#x",
            "not a url",
            "javascript:alert(1)",
        ] {
            assert!(check_url("issuer", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_get_openid_and_reserved_params_are_refused() {
        assert_eq!(
            check_scopes(Some(vec!["email".into()])).unwrap(),
            vec!["openid".to_owned(), "email".to_owned()]
        );
        assert!(check_scopes(Some(vec!["a b".into()])).is_err());
        let params = BTreeMap::from([("state".to_owned(), "x".to_owned())]);
        assert!(check_params(params).is_err());
        let params = BTreeMap::from([("prompt".to_owned(), "login".to_owned())]);
        assert!(check_params(params).is_ok());
    }
}
