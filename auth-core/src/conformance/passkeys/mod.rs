//! The passkeys domain: ceremonies (single use across nodes, expiry), registration,
//! sign-up and sign-in with a software authenticator, the refusals, credential
//! management, and the domain's part of deletion and recovery.

pub mod authenticator;
pub mod ceremonies;
pub mod credentials;
pub mod refusals;
pub mod second_factor;
pub mod sign_up;

use std::sync::Arc;

use authenticator::{SoftAuthenticator, Tweak};

use crate::conformance::{Env, meta};
use crate::passkeys::Passkey;
use crate::{AuthConfig, AuthError, Authenticated, PasskeyDomain, SignedIn};

/// An environment with the suite's relying party.
pub(crate) fn env<S: PasskeyDomain + Clone>(store: S) -> Env<S> {
    env_with(store, |_| {})
}

/// [`env`] with edited configuration.
pub(crate) fn env_with<S: PasskeyDomain + Clone>(
    store: S,
    edit: impl FnOnce(&mut AuthConfig),
) -> Env<S> {
    Env::with_config(store, |c| {
        c.passkeys = Some(authenticator::config());
        edit(c);
    })
}

/// The validated session of `signed_in`.
pub(crate) async fn session<S: PasskeyDomain + Clone>(
    env: &Env<S>,
    signed_in: &SignedIn,
) -> Arc<Authenticated> {
    env.auth
        .sessions()
        .validate(signed_in.session_token.expose())
        .await
        .unwrap()
}

/// Registers a new passkey of `soft` for the signed-in user, named `name`.
pub(crate) async fn register<S: PasskeyDomain + Clone>(
    env: &Env<S>,
    soft: &SoftAuthenticator,
    signed_in: &SignedIn,
    name: &str,
) -> Passkey {
    let session = session(env, signed_in).await;
    let started = env.auth.passkeys().register_start(&session).await.unwrap();
    let response = soft.register(&started.options);
    env.auth
        .passkeys()
        .register_finish(
            &session,
            started.handle.expose(),
            Some(name),
            &response,
            &meta(),
        )
        .await
        .unwrap()
}

/// A password user `email` with one passkey on a new authenticator.
pub(crate) async fn with_passkey<S: PasskeyDomain + Clone>(
    env: &Env<S>,
    email: &str,
) -> (SignedIn, SoftAuthenticator, Passkey) {
    let signed_in = env.user(email).await;
    let soft = SoftAuthenticator::new();
    let passkey = register(env, &soft, &signed_in, "laptop").await;
    (signed_in, soft, passkey)
}

/// A passkey sign-in with `soft` (discoverable without `email`), its response made by
/// `tweak`.
pub(crate) async fn sign_in<S: PasskeyDomain + Clone>(
    env: &Env<S>,
    soft: &SoftAuthenticator,
    email: Option<&str>,
    tweak: Tweak,
) -> Result<SignedIn, AuthError> {
    let started = env
        .auth
        .passkeys()
        .sign_in_start(email, &meta())
        .await
        .unwrap();
    let response = soft.assert_with(&started.options, tweak);
    env.auth
        .passkeys()
        .sign_in_finish(started.handle.expose(), &response, &meta())
        .await
}
