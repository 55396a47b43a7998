use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;
use uuid::Uuid;
use webauthn_rs::prelude::{
    Credential, DiscoverableAuthentication, Passkey as WebauthnPasskey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Webauthn,
    WebauthnBuilder, WebauthnError,
};

use super::{DeletePasskeyOutcome, PASSKEY_FORMAT, Passkey, PasskeyChallenge, PasskeyUse};
use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::caller::Caller;
use crate::ceremonies::{Ceremony, CeremonyKind};
use crate::context::RequestMeta;
use crate::error::{AuthError, ConfigError, Conflict, Entity, PasskeyRefusal, StoreError};
use crate::ids::{PasskeyId, UserId};
use crate::passwords::SignUpOutcome;
use crate::sessions::{Aal, Authenticated, SignedIn};
use crate::store::PasskeyDomain;
use crate::throttle::{Throttle, network_key};
use crate::users::User;
use crate::validate::{self, Email};
use crate::verification::{Notice, Purpose};

/// Longest passkey name.
const MAX_PASSKEY_NAME: usize = 64;
/// Most origins one relying party allows.
const MAX_ORIGINS: usize = 16;

/// The WebAuthn relying party: who the passkeys are for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PasskeyConfig {
    /// The relying party id: the app's registrable domain (`example.com`, or `localhost`
    /// in development). Passkeys are bound to it; changing it strands them.
    pub rp_id: String,
    /// The name an authenticator may show (`Example`).
    pub rp_name: String,
    /// The origins the app is served on (`https://example.com`,
    /// `https://app.example.com:8443`), 1 to 16, each on `rp_id` or a subdomain of it.
    /// webauthn-rs refuses IP-address origins: use `http://localhost:PORT` locally.
    pub origins: Vec<String>,
}

impl PasskeyConfig {
    /// A relying party `rp_id` named `rp_name`, served on `origins`.
    pub fn new<O: Into<String>>(
        rp_id: impl Into<String>,
        rp_name: impl Into<String>,
        origins: impl IntoIterator<Item = O>,
    ) -> Self {
        Self {
            rp_id: rp_id.into(),
            rp_name: rp_name.into(),
            origins: origins.into_iter().map(Into::into).collect(),
        }
    }

    /// Checks the settings and builds webauthn-rs' relying party.
    pub(crate) fn relying_party(&self) -> Result<Webauthn, ConfigError> {
        self.relying_party_with(std::time::Duration::from_secs(300))
    }

    /// [`Self::relying_party`] with the time the client is told a ceremony may take.
    pub(crate) fn relying_party_with(
        &self,
        timeout: std::time::Duration,
    ) -> Result<Webauthn, ConfigError> {
        let invalid = |reason| ConfigError::Invalid {
            setting: "passkeys",
            reason,
        };
        if self.rp_id.is_empty() || self.rp_id.len() > 253 {
            return Err(invalid("rp_id must be a domain name"));
        }
        let name = self.rp_name.trim();
        if name.is_empty() || name.chars().count() > 128 {
            return Err(invalid("rp_name must be 1 to 128 characters"));
        }
        if self.origins.is_empty() || self.origins.len() > MAX_ORIGINS {
            return Err(invalid("origins: 1 to 16 origins"));
        }
        let origins = self
            .origins
            .iter()
            .map(|o| Url::parse(o).map_err(|_| invalid("origins: each must be a URL")))
            .collect::<Result<Vec<_>, _>>()?;
        for origin in &origins {
            if !matches!(origin.scheme(), "https" | "http") {
                return Err(invalid("origins: http or https only"));
            }
            // Each origin alone: on rp_id (or a subdomain), not an IP address.
            WebauthnBuilder::new(&self.rp_id, origin).map_err(|_| {
                invalid(
                    "origins: each must be on rp_id or a subdomain of it, and not an IP address",
                )
            })?;
        }
        let (first, rest) = origins
            .split_first()
            .ok_or_else(|| invalid("origins: 1 to 16 origins"))?;
        let mut builder = WebauthnBuilder::new(&self.rp_id, first)
            .map_err(|_| invalid("rp_id does not match the first origin"))?
            .rp_name(name)
            .timeout(timeout);
        for origin in rest {
            builder = builder.append_allowed_origin(origin);
        }
        builder
            .build()
            .map_err(|_| invalid("webauthn-rs refused the relying party"))
    }
}

/// A ceremony's state for registration (and sign-up: the new user's id, email and name).
#[derive(Serialize, Deserialize)]
struct RegistrationPayload {
    state: PasskeyRegistration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sign_up: Option<SignUpData>,
}

#[derive(Serialize, Deserialize)]
struct SignUpData {
    user_id: UserId,
    email: String,
    name: Option<String>,
}

/// A ceremony's state for an assertion: discoverable (any user's credential) or for a
/// user identified before (their credentials only).
#[derive(Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
enum AssertionPayload {
    Discoverable { state: DiscoverableAuthentication },
    Allowed { state: PasskeyAuthentication },
}

/// A verified assertion.
struct Verified {
    passkey: Passkey,
    user_verified: bool,
}

/// Maps webauthn-rs' refusal to the typed error (logged at debug, it names no secret).
fn refused(error: &WebauthnError) -> AuthError {
    tracing::debug!(%error, "passkey response refused");
    AuthError::Passkey(match error {
        WebauthnError::InvalidRPOrigin => PasskeyRefusal::OriginMismatch,
        WebauthnError::InvalidRPIDHash => PasskeyRefusal::RpIdMismatch,
        WebauthnError::CredentialPossibleCompromise => PasskeyRefusal::CounterRegression,
        WebauthnError::CredentialNotFound => PasskeyRefusal::UnknownCredential,
        _ => PasskeyRefusal::Rejected,
    })
}

fn corrupt(_: serde_json::Error) -> AuthError {
    AuthError::Store(StoreError::corrupt("ceremony or passkey state"))
}

/// The AAGUID in a registration's attestation object (`authData` bytes 37..53); `None`
/// when absent or all zeros.
fn aaguid(attestation_object: &[u8]) -> Option<Uuid> {
    use serde_cbor_2::Value as Cbor;
    let Ok(Cbor::Map(map)) = serde_cbor_2::from_slice::<Cbor>(attestation_object) else {
        return None;
    };
    let Some(Cbor::Bytes(auth_data)) = map.get(&Cbor::Text("authData".into())) else {
        return None;
    };
    let raw: [u8; 16] = auth_data.get(37..53)?.try_into().ok()?;
    let id = Uuid::from_bytes(raw);
    (!id.is_nil()).then_some(id)
}

/// The stored form of a credential webauthn-rs just registered or updated.
fn credential_fields(passkey: &WebauthnPasskey) -> Result<(String, Credential), AuthError> {
    let text = serde_json::to_string(passkey).map_err(|_| AuthError::internal("passkey"))?;
    Ok((text, Credential::from(passkey.clone())))
}

/// The transports the client reported (webauthn-rs keeps them only for some attestation
/// formats; they are hints, never security properties): the known names, at most 8.
fn transports(response: &Value) -> Vec<String> {
    const KNOWN: &[&str] = &["usb", "nfc", "ble", "smart-card", "hybrid", "internal"];
    let mut names: Vec<String> = response
        .get("response")
        .and_then(|r| r.get("transports"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|t| KNOWN.contains(t))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// webauthn-rs' credential of a stored passkey.
fn webauthn_passkey(passkey: &Passkey) -> Result<WebauthnPasskey, AuthError> {
    if passkey.format != PASSKEY_FORMAT {
        return Err(AuthError::Store(StoreError::corrupt(
            "passkey of an unknown format",
        )));
    }
    serde_json::from_str(&passkey.credential).map_err(corrupt)
}

/// The options a client passes to `navigator.credentials.create()`, with a resident
/// (discoverable) key preferred, so the passkey can sign in with no username typed.
fn creation_options(ccr: &impl Serialize) -> Result<Value, AuthError> {
    let mut options = serde_json::to_value(ccr).map_err(|_| AuthError::internal("options"))?;
    if let Some(selection) = options
        .get_mut("publicKey")
        .and_then(|p| p.get_mut("authenticatorSelection"))
        .and_then(Value::as_object_mut)
    {
        selection.insert("residentKey".into(), json!("preferred"));
        selection.insert("requireResidentKey".into(), json!(false));
    }
    Ok(options)
}

fn to_options(rcr: &impl Serialize) -> Result<Value, AuthError> {
    serde_json::to_value(rcr).map_err(|_| AuthError::internal("options"))
}

/// Passkeys: `auth.passkeys()`.
pub struct Passkeys<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: PasskeyDomain> Auth<S> {
    /// Passkeys (WebAuthn).
    pub fn passkeys(&self) -> Passkeys<'_, S> {
        Passkeys { auth: self }
    }
}

impl<S: PasskeyDomain> Passkeys<'_, S> {
    fn webauthn(&self) -> Result<&Webauthn, AuthError> {
        self.auth
            .inner()
            .webauthn
            .as_deref()
            .ok_or(AuthError::NotConfigured("passkeys (AuthConfig::passkeys)"))
    }

    async fn audit(&self, event: AuditEvent) {
        self.auth.record_audit(event).await;
    }

    fn event(&self, action: &str, actor: Option<UserId>, meta: &RequestMeta) -> AuditEvent {
        let actor = actor.map_or(Actor::Anonymous, |id| Actor::User { id });
        AuditEvent::new(action, actor, self.auth.now(), meta)
    }

    /// Starts registering a passkey for the signed-in user: the creation options exclude
    /// the credentials they have, prefer a discoverable (resident) key, and require user
    /// verification (webauthn-rs' passkey profile).
    #[tracing::instrument(name = "passkeys.register_start", skip_all)]
    pub async fn register_start(
        &self,
        session: &Authenticated,
    ) -> Result<PasskeyChallenge, AuthError> {
        let webauthn = self.webauthn()?;
        let user = &session.user;
        let exclude = self
            .auth
            .store()
            .list_passkeys(user.id)
            .await?
            .iter()
            .map(|p| p.credential_id.clone())
            .collect::<Vec<_>>();
        let display = display_name(user.name.as_deref(), user.email.as_str());
        let (ccr, state) = webauthn
            .start_passkey_registration(
                user.id.as_uuid(),
                user.email.as_str(),
                display,
                Some(exclude),
            )
            .map_err(|_| AuthError::internal("passkey registration start"))?;
        let payload = RegistrationPayload {
            state,
            sign_up: None,
        };
        self.begin_creation(CeremonyKind::PasskeyRegistration, user.id, &payload, &ccr)
            .await
    }

    /// Finishes a registration: verifies the authenticator's response (origin, rp id,
    /// challenge, user verification) and stores the passkey under `name` (default
    /// "Passkey"). The ceremony is spent whatever the outcome. A credential id registered
    /// already, to anyone, is `PASSKEY_ALREADY_REGISTERED`. Audited as `passkey.register`.
    #[tracing::instrument(name = "passkeys.register_finish", skip_all)]
    pub async fn register_finish(
        &self,
        session: &Authenticated,
        handle: &str,
        name: Option<&str>,
        response: &Value,
        meta: &RequestMeta,
    ) -> Result<Passkey, AuthError> {
        let user_id = session.user.id;
        let result = self.register(user_id, handle, name, response).await;
        let event = self
            .event("passkey.register", Some(user_id), meta)
            .in_session(session.session.id);
        match &result {
            Ok(passkey) => {
                self.audit(event.subject("passkey", passkey.id).detail(json!({
                    "name": passkey.name,
                    "backup_eligible": passkey.backup_eligible,
                })))
                .await;
                self.auth
                    .send_notice(Notice::PasskeyAdded {
                        to: session.user.email.clone(),
                        name: passkey.name.clone(),
                    })
                    .await;
            }
            Err(error) => self.audit(event.failed(error)).await,
        }
        result
    }

    async fn register(
        &self,
        user_id: UserId,
        handle: &str,
        name: Option<&str>,
        response: &Value,
    ) -> Result<Passkey, AuthError> {
        let webauthn = self.webauthn()?;
        let ceremony = self
            .auth
            .ceremonies()
            .finish(CeremonyKind::PasskeyRegistration, handle)
            .await?;
        if ceremony.user_id != Some(user_id) {
            return Err(AuthError::CeremonyInvalid);
        }
        let name = passkey_name(name)?;
        let payload: RegistrationPayload =
            serde_json::from_value(ceremony.payload).map_err(corrupt)?;
        let credential = parse_registration(response)?;
        self.refuse_registered(&credential).await?;
        let passkey = verify_registration(webauthn, &payload.state, &credential)?;
        let passkey = self.stored(user_id, &passkey, response, name)?;
        self.auth.store().create_passkey(&passkey).await?;
        Ok(passkey)
    }

    /// Refuses a credential id registered already, to anyone (webauthn-rs leaves this to
    /// its caller; the store's unique index catches a race).
    async fn refuse_registered(
        &self,
        credential: &RegisterPublicKeyCredential,
    ) -> Result<(), AuthError> {
        match self
            .auth
            .store()
            .find_passkey_by_credential(&credential.raw_id)
            .await?
        {
            Some(_) => Err(AuthError::Passkey(PasskeyRefusal::AlreadyRegistered)),
            None => Ok(()),
        }
    }

    /// The model of a passkey webauthn-rs just registered.
    fn stored(
        &self,
        user_id: UserId,
        registered: &WebauthnPasskey,
        response: &Value,
        name: String,
    ) -> Result<Passkey, AuthError> {
        let (text, credential) = credential_fields(registered)?;
        let aaguid = response
            .get("response")
            .and_then(|r| r.get("attestationObject"))
            .and_then(Value::as_str)
            .and_then(decode_base64url)
            .and_then(|bytes| aaguid(&bytes));
        Ok(Passkey {
            id: PasskeyId::new(),
            user_id,
            credential_id: registered.cred_id().to_vec(),
            credential: text,
            format: PASSKEY_FORMAT,
            counter: credential.counter,
            backup_eligible: credential.backup_eligible,
            backup_state: credential.backup_state,
            transports: transports(response),
            aaguid,
            name,
            created_at: self.auth.now(),
            last_used_at: None,
        })
    }

    /// Starts a passwordless sign-up: `email` and `name` are checked as password sign-up
    /// checks them (and the sign-up limit per client network applies); the account is
    /// created when the passkey is, at [`Self::sign_up_finish`]. A taken address is
    /// `EMAIL_IN_USE` here, as password sign-up says it, unless
    /// [`AuthConfig::enumeration_safe_sign_up`](crate::AuthConfig) is on: then it is
    /// answered as a new address all the way through.
    #[tracing::instrument(name = "passkeys.sign_up_start", skip_all)]
    pub async fn sign_up_start(
        &self,
        email: &str,
        name: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<PasskeyChallenge, AuthError> {
        let webauthn = self.webauthn()?;
        let config = self.auth.config();
        let email = Email::parse_with(email, &config.email_policy)?;
        // A sign-up signs in: not with a passkey where the domain requires SSO.
        self.auth
            .refuse_if_sso_required(&email, "user.sign_up", "passkey", meta)
            .await?;
        let name = name.map(validate::name).transpose()?;
        if let Some(network) = network_key(meta)
            && let Err(error) = self.auth.throttle(Throttle::SignUpNetwork, &network).await
        {
            let event = self.event("user.sign_up", None, meta);
            self.audit(event.detail(json!({ "method": "passkey" })).failed(&error))
                .await;
            return Err(error);
        }
        if !config.enumeration_safe_sign_up
            && self.auth.store().get_user_by_email(&email).await?.is_some()
        {
            let error = AuthError::EmailInUse;
            let event = self.event("user.sign_up", None, meta);
            self.audit(event.detail(json!({ "method": "passkey" })).failed(&error))
                .await;
            return Err(error);
        }
        let user_id = UserId::new();
        let display = display_name(name.as_deref(), email.as_str());
        let (ccr, state) = webauthn
            .start_passkey_registration(user_id.as_uuid(), email.as_str(), display, None)
            .map_err(|_| AuthError::internal("passkey registration start"))?;
        let payload = RegistrationPayload {
            state,
            sign_up: Some(SignUpData {
                user_id,
                email: email.as_str().to_owned(),
                name,
            }),
        };
        self.begin_creation(CeremonyKind::PasskeySignUp, user_id, &payload, &ccr)
            .await
    }

    /// Keeps a registration's state in a ceremony of `kind` and answers its creation
    /// options (registering a passkey, or signing up with one).
    async fn begin_creation(
        &self,
        kind: CeremonyKind,
        user_id: UserId,
        payload: &RegistrationPayload,
        ccr: &impl Serialize,
    ) -> Result<PasskeyChallenge, AuthError> {
        let payload = serde_json::to_value(payload).map_err(corrupt)?;
        let started = self
            .auth
            .ceremonies()
            .begin(kind, Some(user_id), payload)
            .await?;
        Ok(PasskeyChallenge {
            handle: started.handle,
            options: creation_options(ccr)?,
        })
    }

    /// Finishes a passwordless sign-up: verifies the registration and creates the user
    /// with the passkey as its first credential, in one store call. Signs them in
    /// (`aal2` when the authenticator verified the user), or, when the app requires a
    /// verified address, mails a code and answers `VerificationRequired`, as password
    /// sign-up does (and as it does for a taken address in enumeration-safe mode).
    #[tracing::instrument(name = "passkeys.sign_up_finish", skip_all)]
    pub async fn sign_up_finish(
        &self,
        handle: &str,
        response: &Value,
        meta: &RequestMeta,
    ) -> Result<SignUpOutcome, AuthError> {
        let result = self.sign_up(handle, response, meta).await;
        if let Err(error) = &result {
            let event = self.event("user.sign_up", None, meta);
            self.audit(event.detail(json!({ "method": "passkey" })).failed(error))
                .await;
        }
        result
    }

    async fn sign_up(
        &self,
        handle: &str,
        response: &Value,
        meta: &RequestMeta,
    ) -> Result<SignUpOutcome, AuthError> {
        let webauthn = self.webauthn()?;
        let ceremony = self
            .auth
            .ceremonies()
            .finish(CeremonyKind::PasskeySignUp, handle)
            .await?;
        let payload: RegistrationPayload =
            serde_json::from_value(ceremony.payload).map_err(corrupt)?;
        let data = payload.sign_up.ok_or(AuthError::CeremonyInvalid)?;
        let credential = parse_registration(response)?;
        self.refuse_registered(&credential).await?;
        let registered = verify_registration(webauthn, &payload.state, &credential)?;
        let email = Email::parse(&data.email)?;
        let now = self.auth.now();
        let user = User {
            id: data.user_id,
            email,
            email_verified: false,
            name: data.name,
            image: None,
            extend: json!({}),
            created_at: now,
            updated_at: now,
        };
        let passkey = self.stored(user.id, &registered, response, "Passkey".into())?;
        let store = self.auth.store();
        match store.create_user_with_passkey(&user, &[], &passkey).await {
            Ok(()) => {}
            Err(StoreError::Conflict(Conflict::UserEmail))
                if self.auth.config().enumeration_safe_sign_up =>
            {
                let event = self
                    .event("user.sign_up", None, meta)
                    .detail(json!({ "method": "passkey" }));
                return self.auth.answer_taken_address(user, event).await;
            }
            Err(StoreError::Conflict(Conflict::UserEmail)) => return Err(AuthError::EmailInUse),
            Err(other) => return Err(other.into()),
        }
        let aal = if Credential::from(registered).user_verified {
            Aal::Aal2
        } else {
            Aal::Aal1
        };
        self.audit(
            AuditEvent::new("user.sign_up", Actor::User { id: user.id }, now, meta)
                .subject("user", user.id)
                .detail(json!({ "method": "passkey", "passkey": passkey.id })),
        )
        .await;
        if self.auth.config().require_email_verification {
            let allowed = self
                .auth
                .mail_allowed(Purpose::VerifyEmail, &user.email)
                .await?;
            self.auth
                .hand_to_outbox(allowed, || {
                    self.auth.verification_delivery(
                        Purpose::VerifyEmail,
                        user.email.clone(),
                        Some(user.id),
                    )
                })
                .await;
            return Ok(SignUpOutcome::VerificationRequired(user));
        }
        let signed_in = self.auth.sessions().start(user, aal, meta).await?;
        Ok(SignUpOutcome::SignedIn(Box::new(signed_in)))
    }

    /// Starts a passkey sign-in. Without `email`: discoverable (the authenticator offers
    /// the passkeys it holds for this site; `mediation: "conditional"` for autofill UI).
    /// With `email`: the options allow that user's credentials only. An address without
    /// an account or passkeys gets discoverable options (no `allowCredentials`): the
    /// options tell whether an address has passkeys, which discoverable sign-in avoids.
    /// Counted in the client network's
    /// [`flow_start_limit`](crate::AuthConfig::flow_start_limit) (`RATE_LIMITED`).
    #[tracing::instrument(name = "passkeys.sign_in_start", skip_all)]
    pub async fn sign_in_start(
        &self,
        email: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<PasskeyChallenge, AuthError> {
        let webauthn = self.webauthn()?;
        self.auth.throttle_flow_start(meta).await?;
        let store = self.auth.store();
        let mut allowed = Vec::new();
        let mut user_id = None;
        if let Some(email) = email {
            let email = Email::parse(email)?;
            if let Some(user) = store.get_user_by_email(&email).await? {
                for passkey in store.list_passkeys(user.id).await? {
                    allowed.push(webauthn_passkey(&passkey)?);
                }
                user_id = (!allowed.is_empty()).then_some(user.id);
            }
        }
        let (options, payload) = if allowed.is_empty() {
            let (rcr, state) = webauthn
                .start_discoverable_authentication()
                .map_err(|_| AuthError::internal("passkey sign-in start"))?;
            let mut options = to_options(&rcr)?;
            if email.is_some()
                && let Some(object) = options.as_object_mut()
            {
                object.remove("mediation");
            }
            (options, AssertionPayload::Discoverable { state })
        } else {
            let (rcr, state) = webauthn
                .start_passkey_authentication(&allowed)
                .map_err(|_| AuthError::internal("passkey sign-in start"))?;
            (to_options(&rcr)?, AssertionPayload::Allowed { state })
        };
        let payload = serde_json::to_value(&payload).map_err(corrupt)?;
        let started = self
            .auth
            .ceremonies()
            .begin(CeremonyKind::PasskeySignIn, user_id, payload)
            .await?;
        Ok(PasskeyChallenge {
            handle: started.handle,
            options,
        })
    }

    /// Finishes a passkey sign-in and starts a session: `aal2` when the authenticator
    /// verified the user (webauthn-rs' passkey profile requires it), else `aal1`. The
    /// ceremony is spent on this first attempt whatever its outcome; attempts against one
    /// account count against [`AuthConfig::sign_in_limit`](crate::AuthConfig), across
    /// nodes. Each refusal is typed (`PASSKEY_*`, `CEREMONY_*`, `RATE_LIMITED`,
    /// `EMAIL_NOT_VERIFIED`, `SSO_REQUIRED`) and audited as a failed `user.sign_in`.
    #[tracing::instrument(name = "passkeys.sign_in_finish", skip_all)]
    pub async fn sign_in_finish(
        &self,
        handle: &str,
        response: &Value,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        let (actor, result) = self.sign_in(handle, response).await;
        match result {
            Ok((user, aal)) => {
                self.auth
                    .sessions()
                    .sign_in(user, aal, "passkey", meta)
                    .await
            }
            Err(error) => {
                let event = self.event("user.sign_in", actor, meta);
                self.audit(event.detail(json!({ "method": "passkey" })).failed(&error))
                    .await;
                Err(error)
            }
        }
    }

    async fn sign_in(
        &self,
        handle: &str,
        response: &Value,
    ) -> (Option<UserId>, Result<(User, Aal), AuthError>) {
        let ceremony = match self
            .auth
            .ceremonies()
            .finish(CeremonyKind::PasskeySignIn, handle)
            .await
        {
            Ok(ceremony) => ceremony,
            Err(error) => return (None, Err(error)),
        };
        let expected = ceremony.user_id;
        let (owner, verified) = self.verify_assertion(ceremony, expected, response).await;
        let verified = match verified {
            Ok(verified) => verified,
            Err(error) => return (owner, Err(error)),
        };
        let user_id = verified.passkey.user_id;
        let user = match self.auth.store().get_user(user_id).await {
            Ok(Some(user)) => user,
            Ok(None) => {
                return (
                    None,
                    Err(AuthError::Passkey(PasskeyRefusal::UnknownCredential)),
                );
            }
            Err(error) => return (owner, Err(error.into())),
        };
        if self.auth.config().require_email_verification && !user.email_verified {
            return (owner, Err(AuthError::EmailNotVerified));
        }
        // An address whose verified domain requires SSO signs in through it only, as with
        // a password or an emailed code.
        match self.auth.store().sso_required(user.email.domain()).await {
            Ok(false) => {}
            Ok(true) => return (owner, Err(AuthError::SsoRequired)),
            Err(error) => return (owner, Err(error.into())),
        }
        let aal = if verified.user_verified {
            Aal::Aal2
        } else {
            Aal::Aal1
        };
        (owner, Ok((user, aal)))
    }

    /// Starts a passkey check of a user identified already (the second factor after a
    /// password, or a step-up): options allowing their credentials only.
    /// `PASSKEY_NOT_FOUND` if they have none.
    #[tracing::instrument(name = "passkeys.start_for_user", skip_all, fields(user = %user_id))]
    pub async fn start_for_user(&self, user_id: UserId) -> Result<PasskeyChallenge, AuthError> {
        let webauthn = self.webauthn()?;
        let allowed = self
            .auth
            .store()
            .list_passkeys(user_id)
            .await?
            .iter()
            .map(webauthn_passkey)
            .collect::<Result<Vec<_>, _>>()?;
        if allowed.is_empty() {
            return Err(AuthError::NotFound(Entity::Passkey));
        }
        let (rcr, state) = webauthn
            .start_passkey_authentication(&allowed)
            .map_err(|_| AuthError::internal("passkey check start"))?;
        let payload = serde_json::to_value(AssertionPayload::Allowed { state }).map_err(corrupt)?;
        let started = self
            .auth
            .ceremonies()
            .begin(CeremonyKind::PasskeySecondFactor, Some(user_id), payload)
            .await?;
        Ok(PasskeyChallenge {
            handle: started.handle,
            options: to_options(&rcr)?,
        })
    }

    /// Finishes a check started with [`Self::start_for_user`] for the same user: `Ok(uv)`
    /// (whether the authenticator verified the user) when the passkey verified, with the
    /// refusals of [`Self::sign_in_finish`] otherwise. Starts no session: the caller (the
    /// MFA challenge) decides. Audited as `passkey.verify`.
    #[tracing::instrument(name = "passkeys.finish_for_user", skip_all, fields(user = %user_id))]
    pub async fn finish_for_user(
        &self,
        user_id: UserId,
        handle: &str,
        response: &Value,
        meta: &RequestMeta,
    ) -> Result<bool, AuthError> {
        let result = match self
            .auth
            .ceremonies()
            .finish(CeremonyKind::PasskeySecondFactor, handle)
            .await
        {
            Ok(ceremony) if ceremony.user_id == Some(user_id) => {
                self.verify_assertion(ceremony, Some(user_id), response)
                    .await
                    .1
            }
            Ok(_) => Err(AuthError::CeremonyInvalid),
            Err(error) => Err(error),
        };
        let event = self
            .event("passkey.verify", Some(user_id), meta)
            .subject("user", user_id);
        match result {
            Ok(verified) => {
                self.audit(event.detail(json!({
                    "passkey": verified.passkey.id,
                    "user_verified": verified.user_verified,
                })))
                .await;
                Ok(verified.user_verified)
            }
            Err(error) => {
                self.audit(event.failed(&error)).await;
                Err(error)
            }
        }
    }

    /// Verifies an assertion against a ceremony (spent already), for `expected` when the
    /// user was identified before. Returns the credential's owner as far as known (for
    /// the audit) and the result. On success the new counter is stored, compare-and-set,
    /// and the account's attempt count cleared.
    async fn verify_assertion(
        &self,
        ceremony: Ceremony,
        expected: Option<UserId>,
        response: &Value,
    ) -> (Option<UserId>, Result<Verified, AuthError>) {
        let mut owner = expected;
        let result = self
            .verify_assertion_inner(ceremony, expected, response, &mut owner)
            .await;
        (owner, result)
    }

    async fn verify_assertion_inner(
        &self,
        ceremony: Ceremony,
        expected: Option<UserId>,
        response: &Value,
        owner: &mut Option<UserId>,
    ) -> Result<Verified, AuthError> {
        let webauthn = self.webauthn()?;
        let payload: AssertionPayload =
            serde_json::from_value(ceremony.payload).map_err(corrupt)?;
        let credential: PublicKeyCredential = serde_json::from_value(response.clone())
            .map_err(|_| AuthError::invalid("response", "not a WebAuthn assertion (JSON)"))?;
        let store = self.auth.store();
        let stored = store
            .find_passkey_by_credential(&credential.raw_id)
            .await?
            .ok_or(AuthError::Passkey(PasskeyRefusal::UnknownCredential))?;
        *owner = Some(stored.user_id);
        let mismatch = AuthError::Passkey(PasskeyRefusal::UserMismatch);
        match credential.get_user_unique_id() {
            Some(handle) if Uuid::from_slice(handle).ok() != Some(stored.user_id.as_uuid()) => {
                return Err(mismatch);
            }
            None if matches!(payload, AssertionPayload::Discoverable { .. }) => {
                return Err(AuthError::Passkey(PasskeyRefusal::Rejected));
            }
            _ => {}
        }
        if expected.is_some_and(|user| user != stored.user_id) {
            return Err(mismatch);
        }
        let account = stored.user_id.to_string();
        self.auth
            .throttle(Throttle::PasskeyAccount, &account)
            .await?;
        let mut passkey = webauthn_passkey(&stored)?;
        let result = match payload {
            AssertionPayload::Discoverable { state } => {
                webauthn.finish_discoverable_authentication_v2(&credential, state, &passkey)
            }
            AssertionPayload::Allowed { state } => {
                webauthn.finish_passkey_authentication(&credential, &state)
            }
        }
        .map_err(|e| refused(&e))?;
        // webauthn-rs compares the counter with the credential in the ceremony state, a
        // copy taken at the start; compare with the stored one, read just now, too.
        let counter = result.counter();
        if (counter > 0 || stored.counter > 0) && counter <= stored.counter {
            return Err(AuthError::Passkey(PasskeyRefusal::CounterRegression));
        }
        passkey.update_credential(&result);
        let (text, updated) = credential_fields(&passkey)?;
        let update = PasskeyUse {
            credential: text,
            counter: updated.counter,
            backup_eligible: updated.backup_eligible,
            backup_state: updated.backup_state,
            at: self.auth.now(),
        };
        if !store
            .record_passkey_use(stored.id, stored.counter, &update)
            .await?
        {
            // Another use moved the counter between our read and this write: of two
            // assertions with one counter value, one is a replay or a clone.
            return Err(AuthError::Passkey(PasskeyRefusal::CounterRegression));
        }
        self.auth
            .clear_throttle(Throttle::PasskeyAccount, &account)
            .await;
        let passkey = Passkey {
            credential: update.credential,
            counter: update.counter,
            backup_eligible: update.backup_eligible,
            backup_state: update.backup_state,
            last_used_at: Some(update.at),
            ..stored
        };
        Ok(Verified {
            passkey,
            user_verified: result.user_verified(),
        })
    }

    /// Checks that `caller` may manage `user_id`'s passkeys: the user from a session, or
    /// the app; never with an API key.
    fn check_owner(caller: &Caller, user_id: UserId) -> Result<(), AuthError> {
        match caller {
            Caller::ApiKey(_) => Err(AuthError::Forbidden(
                "passkeys are managed from a signed-in session, never with a key".into(),
            )),
            _ if caller.is_self_or_system(user_id) => Ok(()),
            _ => Err(AuthError::NotFound(Entity::Passkey)),
        }
    }

    async fn load(&self, caller: &Caller, id: PasskeyId) -> Result<Passkey, AuthError> {
        let passkey = self
            .auth
            .store()
            .get_passkey(id)
            .await?
            .ok_or(AuthError::NotFound(Entity::Passkey))?;
        Self::check_owner(caller, passkey.user_id)?;
        Ok(passkey)
    }

    /// The passkeys of `user_id`, oldest first (the user from a session, or the app).
    pub async fn list(&self, caller: &Caller, user_id: UserId) -> Result<Vec<Passkey>, AuthError> {
        Self::check_owner(caller, user_id).map_err(|e| match e {
            AuthError::NotFound(_) => AuthError::NotFound(Entity::User),
            other => other,
        })?;
        Ok(self.auth.store().list_passkeys(user_id).await?)
    }

    /// Renames a passkey (1 to 64 characters). Audited as `passkey.rename`.
    #[tracing::instrument(name = "passkeys.rename", skip_all, fields(passkey = %id))]
    pub async fn rename(
        &self,
        caller: &Caller,
        id: PasskeyId,
        name: &str,
        meta: &RequestMeta,
    ) -> Result<Passkey, AuthError> {
        let loaded = self.load(caller, id).await;
        let passkey = self
            .auth
            .audit_refusal("passkey.rename", caller, meta, loaded)
            .await?;
        let name = validate::text("name", name, MAX_PASSKEY_NAME)?;
        let renamed = self
            .auth
            .store()
            .rename_passkey(passkey.user_id, id, &name)
            .await?
            .ok_or(AuthError::NotFound(Entity::Passkey))?;
        self.audit(
            AuditEvent::by("passkey.rename", caller, self.auth.now(), meta)
                .subject("passkey", id)
                .detail(json!({ "user": renamed.user_id, "name": renamed.name })),
        )
        .await;
        Ok(renamed)
    }

    /// Starts completing a sign-in's MFA challenge ([`crate::mfa`]) with a passkey: the
    /// options for the challenged user's passkeys. Counts no attempt (the finish does), but
    /// the options name the user's credentials, so only a live challenge's holder gets
    /// them: `MFA_CHALLENGE_INVALID`, `MFA_CHALLENGE_EXPIRED`, `TOO_MANY_ATTEMPTS` for the
    /// challenge; `PASSKEY_NOT_FOUND` if the user has no passkey.
    #[tracing::instrument(name = "passkeys.start_challenge", skip_all)]
    pub async fn start_challenge(
        &self,
        challenge: &str,
        meta: &RequestMeta,
    ) -> Result<PasskeyChallenge, AuthError> {
        let user = self
            .auth
            .mfa()
            .challenged_user(challenge, "passkey", meta)
            .await?;
        self.start_for_user(user.id).await
    }

    /// Completes a sign-in's MFA challenge with the passkey response to
    /// [`Self::start_challenge`]'s options: a new `aal2` session. Errors: the passkey
    /// refusals and those of the challenge.
    #[tracing::instrument(name = "passkeys.finish_challenge", skip_all)]
    pub async fn finish_challenge(
        &self,
        challenge: &str,
        handle: &str,
        response: &Value,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        self.auth
            .mfa()
            .complete(challenge, "passkey", meta, |user| async move {
                self.finish_for_user(user.id, handle, response, meta)
                    .await
                    .map(|_| user)
            })
            .await
    }

    /// Removes a passkey. Refused with `LAST_SIGN_IN_METHOD` (audited) when it is the
    /// user's last way to sign in: no other passkey, no password, no linked identity.
    /// From a session, a sensitive operation ([`Auth::require_step_up`]). Audited as
    /// `passkey.delete`.
    #[tracing::instrument(name = "passkeys.remove", skip_all, fields(passkey = %id))]
    pub async fn remove(
        &self,
        caller: &Caller,
        id: PasskeyId,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let loaded = self.load(caller, id).await;
        let passkey = self
            .auth
            .audit_refusal("passkey.delete", caller, meta, loaded)
            .await?;
        if let Some(session) = caller.session() {
            self.auth
                .require_step_up(session, "passkey.delete", meta)
                .await?;
        }
        let outcome = self
            .auth
            .store()
            .delete_passkey(passkey.user_id, id, true)
            .await?;
        let event = AuditEvent::by("passkey.delete", caller, self.auth.now(), meta)
            .subject("passkey", id)
            .detail(json!({ "user": passkey.user_id, "name": passkey.name }));
        let result = match outcome {
            DeletePasskeyOutcome::Deleted => Ok(()),
            DeletePasskeyOutcome::NotFound => Err(AuthError::NotFound(Entity::Passkey)),
            DeletePasskeyOutcome::LastSignInMethod => Err(AuthError::LastSignInMethod),
        };
        match &result {
            Ok(()) => {
                self.audit(event).await;
                // The owner's address, read after the write: a failed read only loses the
                // notice (logged), never the removal.
                match self.auth.store().get_user(passkey.user_id).await {
                    Ok(Some(user)) => {
                        self.auth
                            .send_notice(Notice::PasskeyRemoved {
                                to: user.email,
                                name: passkey.name.clone(),
                            })
                            .await
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "passkey removal notice not sent"),
                }
            }
            Err(error) => self.audit(event.failed(error)).await,
        }
        result
    }
}

/// The name an authenticator shows for the account: the display name, else the address
/// (webauthn-rs refuses an empty one).
fn display_name<'a>(name: Option<&'a str>, email: &'a str) -> &'a str {
    name.filter(|n| !n.trim().is_empty()).unwrap_or(email)
}

fn passkey_name(name: Option<&str>) -> Result<String, AuthError> {
    match name.map(str::trim) {
        None | Some("") => Ok("Passkey".into()),
        Some(name) => validate::text("name", name, MAX_PASSKEY_NAME),
    }
}

fn parse_registration(response: &Value) -> Result<RegisterPublicKeyCredential, AuthError> {
    serde_json::from_value(response.clone())
        .map_err(|_| AuthError::invalid("response", "not a WebAuthn registration (JSON)"))
}

fn verify_registration(
    webauthn: &Webauthn,
    state: &PasskeyRegistration,
    credential: &RegisterPublicKeyCredential,
) -> Result<WebauthnPasskey, AuthError> {
    webauthn
        .finish_passkey_registration(credential, state)
        .map_err(|e| refused(&e))
}

fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_checked_at_build() {
        let ok = PasskeyConfig::new(
            "example.com",
            "Example",
            ["https://example.com", "https://app.example.com:8443"],
        );
        let webauthn = ok.relying_party().unwrap();
        assert_eq!(webauthn.get_allowed_origins().len(), 2);
        assert!(
            PasskeyConfig::new("localhost", "Dev", ["http://localhost:3000"])
                .relying_party()
                .is_ok()
        );
        for bad in [
            PasskeyConfig::new("example.com", "E", ["https://example.org"]),
            PasskeyConfig::new(
                "example.com",
                "E",
                ["https://example.com", "https://evil.com"],
            ),
            PasskeyConfig::new("127.0.0.1", "E", ["http://127.0.0.1:3000"]),
            PasskeyConfig::new("example.com", "E", ["not a url"]),
            PasskeyConfig::new("example.com", "E", ["ftp://example.com"]),
            PasskeyConfig::new("example.com", " ", ["https://example.com"]),
            PasskeyConfig::new("", "E", ["https://example.com"]),
            PasskeyConfig::new("example.com", "E", Vec::<String>::new()),
        ] {
            assert!(bad.relying_party().is_err(), "{bad:?}");
        }
        let mut config = crate::AuthConfig {
            passkeys: Some(PasskeyConfig::new(
                "example.com",
                "E",
                ["https://example.org"],
            )),
            ..crate::AuthConfig::default()
        };
        assert!(config.validate().is_err());
        config.passkeys = None;
        config.ceremony_ttl = time::Duration::seconds(5);
        assert!(config.validate().is_err());
    }

    #[test]
    fn transports_keep_known_names_only() {
        let response =
            json!({"response": {"transports": ["usb", "internal", "usb", "<script>", 7]}});
        assert_eq!(transports(&response), vec!["internal", "usb"]);
        assert!(transports(&json!({})).is_empty());
    }

    #[test]
    fn an_aaguid_is_read_from_the_attestation_object() {
        use serde_cbor_2::Value as Cbor;
        let mut auth_data = vec![0u8; 37];
        auth_data.extend_from_slice(&[7u8; 16]);
        let mut map = std::collections::BTreeMap::new();
        map.insert(Cbor::Text("authData".into()), Cbor::Bytes(auth_data));
        let bytes = serde_cbor_2::to_vec(&Cbor::Map(map)).unwrap();
        assert_eq!(aaguid(&bytes), Some(Uuid::from_bytes([7; 16])));
        assert_eq!(aaguid(b"garbage"), None);
        assert_eq!(aaguid(&[]), None);
    }
}
