//! Sign-in through OpenID Connect (feature `oidc`): an organization's connection (routed
//! by address, domain or id) or one of the app's social providers, one callback for both.
//!
//! The flow's provider reference says which: `connection:<id>` for a connection,
//! `social:<id>` for a social provider. The connection is loaded again when the callback
//! arrives and must still be active.

use std::sync::OnceLock;

use super::provision::{Claimant, LinkPolicy, email_of};
use super::service::{config_checks, not_ready};
use super::sign_in::{refusal, success};
use super::{ExternalIdentity, OidcConnection, ProtocolConfig, SsoConnection, SsoStart, SsoTarget};
use crate::accounts::Provider;
use crate::context::RequestMeta;
use crate::error::{AuthError, ConfigError, Entity, OidcRefusal};
use crate::ids::SsoConnectionId;
use crate::oidc::{ClaimNames, OidcCallback, OidcProvider, VerifiedIdentity};
use crate::secret::{Secret, TokenHash};
use crate::sessions::{Aal, SignedIn};
use crate::store::SsoDomain;
use crate::validate::Email;

/// The flow reference prefix of a connection's sign-ins.
const CONNECTION_REF: &str = "connection:";
/// The flow reference prefix of a social provider's sign-ins.
const SOCIAL_REF: &str = "social:";
/// Longest social provider id (the flow reference is at most 64 characters).
const MAX_SOCIAL_ID: usize = 64 - SOCIAL_REF.len();

/// One of the app's social (app-wide) OpenID providers: "Sign in with Google", with how
/// its sign-ins may link to existing users. Registered with
/// [`AuthBuilder::social_provider`](crate::AuthBuilder::social_provider).
#[derive(Debug, Clone)]
pub struct SocialProvider {
    /// The app's id of it (`google`), what a sign-in names.
    pub(crate) id: String,
    /// The provider, its reference rewritten to `social:<id>`.
    pub(crate) oidc: OidcProvider,
    /// When a sign-in may link to an existing user with the same address.
    pub(crate) link: LinkPolicy,
}

impl SocialProvider {
    /// The social provider `oidc` (its id is the one sign-ins name: 1 to 57 characters of
    /// `[a-z0-9_-]`), linking as `link` says.
    pub fn new(oidc: OidcProvider, link: LinkPolicy) -> Result<Self, ConfigError> {
        let id = oidc.id().to_owned();
        let ok = !id.is_empty()
            && id.len() <= MAX_SOCIAL_ID
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err(ConfigError::Invalid {
                setting: "social_provider",
                reason: "ids are 1 to 57 of [a-z0-9_-]",
            });
        }
        let mut oidc = oidc;
        oidc.id = format!("{SOCIAL_REF}{id}");
        Ok(Self { id, oidc, link })
    }

    /// The id sign-ins name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The account provider of its identities: `oidc:<issuer>`.
    fn account_provider(&self) -> Result<Provider, AuthError> {
        Provider::oidc(self.oidc.issuer())
    }
}

/// A started OIDC flow as an [`SsoStart`].
fn redirect_of(start: crate::oidc::OidcStart) -> SsoStart {
    SsoStart::Redirect {
        url: start.authorization_url.into(),
        state: start.state,
        expires_at: start.expires_at,
    }
}

/// What a callback's flow reference resolved to.
enum Resolved {
    Connection(SsoConnection),
    Social(SocialProvider),
}

/// The OIDC client of an active connection: its stored configuration with the client
/// secret opened; `SSO_CONNECTION_NOT_READY` while a configuration check fails.
fn connection_provider<S>(
    auth: &crate::Auth<S>,
    connection: &SsoConnection,
) -> Result<OidcProvider, AuthError> {
    let ProtocolConfig::Oidc(config) = &connection.config else {
        return Err(AuthError::SsoProtocolNotSupported("SAML"));
    };
    if let Some(error) = not_ready(&config_checks(connection)) {
        return Err(error);
    }
    let sealed = config
        .client_secret
        .as_ref()
        .ok_or(AuthError::SsoConnectionNotReady {
            missing: vec!["oidc.client_secret".into()],
        })?;
    let opened = auth
        .secret_box()
        .open(sealed, &OidcConnection::secret_context(connection.id))?;
    let secret = String::from_utf8(opened.to_vec())
        .map_err(|_| AuthError::internal("client secret is not text"))?;
    let claims = ClaimNames {
        email: config.claims.email.clone(),
        name: config.claims.name.clone(),
        given_name: config.claims.given_name.clone(),
        family_name: config.claims.family_name.clone(),
        groups: config
            .claims
            .groups
            .clone()
            .unwrap_or_else(|| ClaimNames::default().groups),
        ..ClaimNames::default()
    };
    let mut provider = OidcProvider::new(
        format!("{CONNECTION_REF}{}", connection.id),
        config.issuer.clone(),
        config.client_id.clone(),
        Secret::new(secret),
    )?
    .scopes(config.scopes.iter().cloned())?
    .claims(claims)?;
    for (name, value) in &config.extra_params {
        provider = provider.extra_param(name.clone(), value.clone())?;
    }
    Ok(provider)
}

/// The identity provisioning takes from a verified OIDC identity (groups dropped when the
/// connection maps no groups claim).
fn external(identity: VerifiedIdentity, groups_claim: bool) -> ExternalIdentity {
    let mut external = ExternalIdentity::new(identity.subject);
    external.email = identity.email;
    external.email_verified = identity.email_verified;
    external.name = identity.name;
    external.given_name = identity.given_name;
    external.family_name = identity.family_name;
    if groups_claim {
        external.groups = identity.groups;
    }
    external
}

impl<S: SsoDomain> super::Sso<'_, S> {
    /// The OIDC flow of an active connection (routed by [`Self::begin_sign_in`]): the
    /// authorization code flow with `redirect_uri`, the address as `login_hint` when the
    /// target is one.
    pub(super) async fn begin_oidc(
        &self,
        connection: &SsoConnection,
        target: &SsoTarget,
        redirect_uri: &str,
    ) -> Result<SsoStart, AuthError> {
        let provider = connection_provider(self.auth, connection)?;
        let hint = match target {
            SsoTarget::Email(email) => Some(Email::parse(email)?.as_str().to_owned()),
            _ => None,
        };
        self.auth
            .oidc()
            .begin(&provider, redirect_uri, hint.as_deref())
            .await
            .map(redirect_of)
    }

    /// Starts a sign-in with the app's social provider `provider_id`
    /// (`SSO_CONNECTION_NOT_FOUND` for an id the app did not register) and `redirect_uri`
    /// (the same callback as enterprise sign-ins). Counted like [`Self::begin_sign_in`].
    #[tracing::instrument(name = "sso.begin_social_sign_in", skip_all)]
    pub async fn begin_social_sign_in(
        &self,
        provider_id: &str,
        redirect_uri: &str,
        meta: &RequestMeta,
    ) -> Result<SsoStart, AuthError> {
        let result = async {
            self.auth.throttle_flow_start(meta).await?;
            let social = self.social(provider_id)?;
            self.auth
                .oidc()
                .begin(&social.oidc, redirect_uri, None)
                .await
                .map(redirect_of)
        }
        .await;
        let provider = self.social(provider_id).ok().map(|s| s.id.clone());
        self.audit_start(result, serde_json::json!({ "provider": provider }), meta)
            .await
    }

    /// The registered social provider `id`.
    fn social(&self, id: &str) -> Result<&SocialProvider, AuthError> {
        self.auth
            .inner()
            .social
            .iter()
            .find(|s| s.id == id)
            .ok_or(AuthError::NotFound(Entity::SsoConnection))
    }

    /// Finishes an OIDC sign-in from the provider's `callback` (enterprise or social): the
    /// protocol checks of [`Oidc::finish`](crate::oidc::Oidc::finish), the connection
    /// loaded again and still active (`SSO_CONNECTION_INACTIVE` otherwise), then
    /// provisioning and a session as [`SsoStart`]'s connection says (see
    /// `docs/sso.md`). Every refusal, the protocol's too, is audited as `sso.sign_in`
    /// with its code.
    #[tracing::instrument(name = "sso.finish_oidc", skip_all)]
    pub async fn finish_oidc(
        &self,
        callback: &OidcCallback,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        let resolved = OnceLock::new();
        let slot = &resolved;
        let verified = self
            .auth
            .oidc()
            .finish(callback, |reference: String| async move {
                let (provider, found) = self.resolve(&reference).await?;
                let _ = slot.set(found);
                Ok(provider)
            })
            .await;
        match (verified, resolved.into_inner()) {
            (Ok(identity), Some(Resolved::Connection(connection))) => {
                let groups = matches!(&connection.config,
                    ProtocolConfig::Oidc(o) if o.claims.groups.is_some());
                self.sign_in_identity(&connection, &external(identity, groups), meta)
                    .await
            }
            (Ok(identity), Some(Resolved::Social(social))) => {
                self.sign_in_social(&social, identity, meta).await
            }
            (Ok(_), None) => Err(AuthError::internal("flow finished without its provider")),
            (Err(error), found) => {
                let detail = match &found {
                    Some(Resolved::Connection(c)) => {
                        serde_json::json!({ "connection_id": c.id, "protocol": "oidc" })
                    }
                    Some(Resolved::Social(s)) => serde_json::json!({ "provider": s.id }),
                    None => serde_json::json!({ "protocol": "oidc" }),
                };
                let event = refusal(&error, detail, self.auth.now(), meta);
                self.auth.record_audit(event).await;
                Err(error)
            }
        }
    }

    /// [`Self::finish_oidc`] for a browser whose start bound the flow to it (a cookie
    /// holding the `state`): a callback whose `state` is missing or is not `bound_state`
    /// (compared in constant time) is refused with `OIDC_STATE_INVALID` and audited, and
    /// the flow is left as it was: a login CSRF (someone else's flow finished in this
    /// browser) signs nobody in.
    pub async fn finish_oidc_bound(
        &self,
        callback: &OidcCallback,
        bound_state: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        let bound = match (callback.state.as_deref(), bound_state) {
            (Some(state), Some(bound)) => TokenHash::of(state) == TokenHash::of(bound),
            _ => false,
        };
        if !bound {
            let error = AuthError::Oidc(OidcRefusal::StateInvalid);
            let detail =
                serde_json::json!({ "protocol": "oidc", "reason": "not this browser's flow" });
            let event = refusal(&error, detail, self.auth.now(), meta);
            self.auth.record_audit(event).await;
            return Err(error);
        }
        self.finish_oidc(callback, meta).await
    }

    /// The provider a flow reference names, with what it resolved to.
    async fn resolve(&self, reference: &str) -> Result<(OidcProvider, Resolved), AuthError> {
        if let Some(id) = reference.strip_prefix(CONNECTION_REF) {
            let id: SsoConnectionId = id
                .parse()
                .map_err(|_| AuthError::internal("flow names a malformed connection"))?;
            let connection = self
                .auth
                .store()
                .get_sso_connection(id)
                .await?
                .ok_or(AuthError::NotFound(Entity::SsoConnection))?;
            if !connection.is_active() {
                return Err(AuthError::SsoConnectionInactive);
            }
            let provider = connection_provider(self.auth, &connection)?;
            return Ok((provider, Resolved::Connection(connection)));
        }
        let id = reference
            .strip_prefix(SOCIAL_REF)
            .ok_or(AuthError::internal("flow names an unknown provider kind"))?;
        let social = self.social(id)?.clone();
        Ok((social.oidc.clone(), Resolved::Social(social)))
    }

    /// Signs in through a social provider: the address is required and vouched for when
    /// creating a user (`SSO_EMAIL_NOT_VERIFIED`), refused with `SSO_REQUIRED` when its
    /// verified domain requires SSO, and matched by the account `oidc:<issuer>` + subject,
    /// else linked by the provider's [`LinkPolicy`], else created. No membership; an
    /// `aal1` session without a connection. Audited as `sso.sign_in`.
    async fn sign_in_social(
        &self,
        social: &SocialProvider,
        identity: VerifiedIdentity,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        let identity = external(identity, true);
        let result = async {
            let email = email_of(&identity).ok_or(AuthError::SsoEmailNotVerified)?;
            if self.auth.store().sso_required(email.domain()).await? {
                return Err(AuthError::SsoRequired);
            }
            let claimant = Claimant {
                create_needs_verified_email: true,
                ..Claimant::of(&identity, social.account_provider()?, &email, social.link)
            };
            let (user, outcome) = self.auth.match_external(&claimant, meta).await?;
            let signed_in = self
                .auth
                .sessions()
                .start_via(user, Aal::Aal1, None, meta)
                .await?;
            Ok((signed_in, outcome))
        }
        .await;
        let now = self.auth.now();
        let event = match &result {
            Ok((signed_in, outcome)) => success(
                signed_in,
                serde_json::json!({ "provider": social.id, "outcome": outcome.as_str() }),
                now,
                meta,
            ),
            Err(error) => refusal(
                error,
                serde_json::json!({ "provider": social.id }),
                now,
                meta,
            ),
        };
        self.auth.record_audit(event).await;
        result.map(|(signed_in, _)| signed_in)
    }
}
