//! `auth.scim()`: a connection's SCIM set-up (for the organization's admins), and the
//! directory's requests, authenticated by the connection's bearer token.

use serde_json::json;
use time::OffsetDateTime;

use super::error::ScimError;
use super::model::{DeprovisionMode, ScimConfig, ScimSettings};
use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::caller::Caller;
use crate::context::RequestMeta;
use crate::error::{AuthError, Entity};
use crate::ids::{GroupId, SsoConnectionId};
use crate::permissions::Permission;
use crate::secret::{Secret, TokenHash, generate_token};
use crate::store::ScimDomain;
use crate::throttle::{Throttle, network_key};

/// SCIM provisioning: `auth.scim()`.
///
/// Setting a connection's SCIM up needs `sso:manage` on its organization. The directory
/// authenticates with the connection's bearer token ([`Scim::authenticate`]); each
/// request then acts within that connection only. Every change and every refusal that
/// matters to a security team is audited (`scim.*`).
pub struct Scim<'a, S> {
    pub(super) auth: &'a Auth<S>,
}

impl<S: ScimDomain> Auth<S> {
    /// SCIM provisioning.
    pub fn scim(&self) -> Scim<'_, S> {
        Scim { auth: self }
    }
}

/// A connection's SCIM set-up as its admins see it (never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimConfigView {
    /// The connection.
    pub connection_id: SsoConnectionId,
    /// Whether requests are accepted.
    pub enabled: bool,
    /// What deprovisioning does.
    pub deprovision: DeprovisionMode,
    /// When the current token was issued.
    pub token_created_at: OffsetDateTime,
}

impl ScimConfig {
    /// The set-up without its token hash.
    pub fn view(&self) -> ScimConfigView {
        ScimConfigView {
            connection_id: self.connection_id,
            enabled: self.enabled,
            deprovision: self.deprovision,
            token_created_at: self.token_created_at,
        }
    }
}

/// A directory authenticated by its connection's token: what every SCIM request acts
/// within.
#[derive(Debug, Clone)]
pub struct Directory {
    /// The connection's set-up.
    pub config: ScimConfig,
    /// The server's SCIM base URL, for `meta.location` (`https://app.example/scim/v2`).
    pub base_url: String,
}

impl Directory {
    /// The connection.
    pub fn connection(&self) -> SsoConnectionId {
        self.config.connection_id
    }
}

fn manage() -> Permission {
    Permission::new("sso", "manage")
}

impl<S: ScimDomain> Scim<'_, S> {
    /// Turns SCIM on or changes its settings for the connection `connection_id` of the
    /// organization `group_id`. The first call issues the bearer token and returns it,
    /// the only time it is shown; later calls return `None`.
    pub async fn configure(
        &self,
        caller: &Caller,
        group_id: GroupId,
        connection_id: SsoConnectionId,
        settings: ScimSettings,
        meta: &RequestMeta,
    ) -> Result<(ScimConfigView, Option<Secret>), AuthError> {
        let result = self
            .configure_inner(caller, group_id, connection_id, settings)
            .await;
        let detail = json!({
            "enabled": settings.enabled,
            "deprovision": settings.deprovision.as_str(),
        });
        self.audit_admin(
            "scim.configure",
            caller,
            connection_id,
            meta,
            &result,
            detail,
        )
        .await;
        result
    }

    async fn configure_inner(
        &self,
        caller: &Caller,
        group_id: GroupId,
        connection_id: SsoConnectionId,
        settings: ScimSettings,
    ) -> Result<(ScimConfigView, Option<Secret>), AuthError> {
        self.require_connection(caller, group_id, connection_id)
            .await?;
        let store = self.auth.store();
        let now = self.auth.now();
        // Only the settings change: a token rotated meanwhile stays rotated.
        if let Some(config) = store
            .update_scim_settings(connection_id, settings, now)
            .await?
        {
            return Ok((config.view(), None));
        }
        let token = generate_token(self.auth.inner().random.as_ref());
        let config = ScimConfig {
            connection_id,
            group_id,
            enabled: settings.enabled,
            deprovision: settings.deprovision,
            token_hash: TokenHash::of(token.expose()),
            token_created_at: now,
            created_at: now,
            updated_at: now,
        };
        if store.create_scim_config(&config).await? {
            return Ok((config.view(), Some(token)));
        }
        // Another request set SCIM up first: its token stands, these settings apply.
        let config = store
            .update_scim_settings(connection_id, settings, now)
            .await?
            .ok_or(AuthError::NotFound(Entity::SsoConnection))?;
        Ok((config.view(), None))
    }

    /// Issues a new bearer token for the connection (the old one stops working at once)
    /// and returns it, the only time it is shown.
    pub async fn rotate_token(
        &self,
        caller: &Caller,
        group_id: GroupId,
        connection_id: SsoConnectionId,
        meta: &RequestMeta,
    ) -> Result<Secret, AuthError> {
        let result = async {
            self.require_connection(caller, group_id, connection_id)
                .await?;
            let token = generate_token(self.auth.inner().random.as_ref());
            let replaced = self
                .auth
                .store()
                .replace_scim_token(
                    connection_id,
                    &TokenHash::of(token.expose()),
                    self.auth.now(),
                )
                .await?;
            if !replaced {
                return Err(AuthError::NotFound(Entity::SsoConnection));
            }
            Ok(token)
        }
        .await;
        self.audit_admin(
            "scim.token.rotate",
            caller,
            connection_id,
            meta,
            &result,
            json!({}),
        )
        .await;
        result
    }

    /// The connection's SCIM set-up, `None` when SCIM was never configured.
    pub async fn get_config(
        &self,
        caller: &Caller,
        group_id: GroupId,
        connection_id: SsoConnectionId,
    ) -> Result<Option<ScimConfigView>, AuthError> {
        self.require_connection(caller, group_id, connection_id)
            .await?;
        Ok(self
            .auth
            .store()
            .get_scim_config(connection_id)
            .await?
            .map(|c| c.view()))
    }

    /// Refuses without `sso:manage` on `group_id`, or when the connection is not the
    /// group's (not found, as for a caller with no standing).
    async fn require_connection(
        &self,
        caller: &Caller,
        group_id: GroupId,
        connection_id: SsoConnectionId,
    ) -> Result<(), AuthError> {
        let access = self.auth.members().access(caller, group_id).await?;
        access.require(&manage(), Entity::SsoConnection)?;
        self.auth
            .store()
            .get_sso_connection(connection_id)
            .await?
            .filter(|c| c.group_id == group_id)
            .ok_or(AuthError::NotFound(Entity::SsoConnection))?;
        Ok(())
    }

    async fn audit_admin<T>(
        &self,
        action: &str,
        caller: &Caller,
        connection_id: SsoConnectionId,
        meta: &RequestMeta,
        result: &Result<T, AuthError>,
        detail: serde_json::Value,
    ) {
        let mut event = AuditEvent::by(action, caller, self.auth.now(), meta)
            .subject("sso_connection", connection_id)
            .detail(detail);
        if let Err(error) = result {
            event = event.failed(error);
        }
        self.auth.record_audit(event).await;
    }

    /// The directory presenting `token`, for requests served under `base_url`. A missing,
    /// unknown or disabled connection's token is refused with 401 and audited
    /// (`scim.authenticate`); wrong tokens are limited per client network
    /// ([`AuthConfig::sign_in_ip_limit`](crate::AuthConfig::sign_in_ip_limit): 429 once
    /// used up).
    pub async fn authenticate(
        &self,
        token: Option<&str>,
        base_url: &str,
        meta: &RequestMeta,
    ) -> Result<Directory, ScimError> {
        let network = network_key(meta);
        if let Some(network) = &network {
            self.auth
                .throttle_check(Throttle::ScimTokenNetwork, network)
                .await?;
        }
        let found = match token.map(str::trim).filter(|t| !t.is_empty()) {
            Some(token) => {
                self.auth
                    .store()
                    .scim_config_by_token(&TokenHash::of(token))
                    .await?
            }
            None => None,
        };
        match found {
            Some(config) if config.enabled => Ok(Directory {
                config,
                base_url: base_url.trim_end_matches('/').to_owned(),
            }),
            found => {
                if let Some(network) = &network {
                    self.auth
                        .count_failure(Throttle::ScimTokenNetwork, network)
                        .await;
                }
                let reason = match (&found, token.is_some()) {
                    (Some(_), _) => "connection_disabled",
                    (None, true) => "unknown_token",
                    (None, false) => "no_token",
                };
                let mut event =
                    AuditEvent::new("scim.authenticate", Actor::Anonymous, self.auth.now(), meta)
                        .detail(json!({ "reason": reason }));
                if let Some(config) = &found {
                    event = event.subject("sso_connection", config.connection_id);
                }
                event.ok = false;
                event.error_code = Some("SCIM_UNAUTHORIZED".into());
                self.auth.record_audit(event).await;
                Err(ScimError::unauthorized())
            }
        }
    }

    /// Records what the directory did (`action`) to `subject`, or that it was refused.
    pub(super) async fn audit_directory<T>(
        &self,
        directory: &Directory,
        action: &str,
        subject: Option<(&str, String)>,
        meta: &RequestMeta,
        result: &Result<T, ScimError>,
    ) {
        let mut event = AuditEvent::new(action, Actor::System, self.auth.now(), meta)
            .detail(json!({ "via": "scim", "connection": directory.connection().to_string() }));
        if let Some((kind, id)) = subject {
            event = event.subject(kind, id);
        }
        if let Err(error) = result {
            // Bad input that changed nothing is the directory's business, not a
            // security event; refusals and failures are recorded.
            if error.status == 400 {
                return;
            }
            event.ok = false;
            event.error_code = Some(format!("SCIM_{}", error.status));
        }
        self.auth.record_audit(event).await;
    }
}
