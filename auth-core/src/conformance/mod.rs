//! The behaviour suite every storage adapter must pass, one module per domain.
//!
//! Each behaviour is one `pub async fn` of `src/conformance/<domain>/<module>.rs`, generic
//! over the stores of its domain ([`core`]: any [`CoreStore`]; [`organizations`]: any
//! [`OrganizationStore`](crate::OrganizationStore); [`api_keys`]: any [`ApiKeyDomain`](crate::ApiKeyDomain);
//! [`totp`]: any [`TotpDomain`](crate::TotpDomain); [`sso`]: any
//! [`SsoDomain`](crate::SsoDomain)). The
//! list of behaviours is generated from the sources at build time, so a new behaviour runs
//! everywhere without being registered. The [`conformance_tests!`](crate::conformance_tests)
//! macro expands to one `#[tokio::test]` per behaviour of the core and of each domain it is
//! given, so `cargo test` names each behaviour per store (`memory::core::sessions::...`):
//!
//! ```ignore
//! // tests/conformance.rs of a storage adapter (needs tokio as a dev-dependency and
//! // auth-core with feature "conformance"):
//! auth_core::conformance_tests!(memory, || async { auth_memory::MemoryStore::new() },
//!     domains = [organizations, api_keys, totp]);
//!
//! // A store with the core only:
//! auth_core::conformance_tests!(redis, || async { RedisStore::fresh().await });
//!
//! // A store whose nodes need separate connections passes how to open a second one, and
//! // a store that needs a server is skipped, saying so, without its variable:
//! auth_core::conformance_tests!(postgres, || async { fresh_pg().await },
//!     domains = [organizations, api_keys, totp],
//!     peer = |store: PgStore| async move { store.reconnect().await },
//!     skip_unless_env = "AUTH_TEST_POSTGRES_URL");
//! ```
//!
//! Options, each optional, in this order: `domains = [...]` (the optional domains the store
//! implements; the core always runs), `peer = ...` (a second handle on the same data, as
//! another app node would hold; the concurrency behaviours split their calls across both;
//! default: a clone), `plant_parent = ...` (a test-only hook writing a group's parent
//! without checks; the behaviours that need it are skipped, loudly, without it), and
//! `skip_unless_env = "VAR"`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

pub mod api_keys;
pub mod core;
pub mod organizations;
pub mod passkeys;
pub mod scim;
pub mod sso;
pub mod totp;

include!(concat!(env!("OUT_DIR"), "/conformance_behaviours.rs"));

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use time::Duration;

use crate::verification::Outbox;
use crate::{
    Auth, AuthConfig, Caller, CoreStore, RecordingMailer, RequestMeta, Secret, SecretKey, SignUp,
    SignUpOutcome, SignedIn, TestClock,
};

/// Sets a group's parent directly in the store, bypassing the cycle check: how the suite
/// plants a cycle to see that walks report it instead of looping.
pub type PlantParent<S> = Arc<
    dyn Fn(S, crate::GroupId, Option<crate::GroupId>) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// The store under test and a second handle on the same data.
pub struct Harness<S> {
    /// The store.
    pub store: S,
    /// Another node's handle on the same data.
    pub peer: S,
    /// Writes a parent without checks (from the macro's `plant_parent = ...`).
    pub plant_parent: Option<PlantParent<S>>,
}

impl<S> Harness<S> {
    /// Whether the store gave the `plant_parent` hook; without it, says loudly that
    /// `behaviour` is skipped (a third-party store need not offer test-only hooks).
    pub fn can_plant_parent(&self, behaviour: &str) -> bool {
        if self.plant_parent.is_none() {
            eprintln!(
                "SKIPPED {behaviour}: needs `plant_parent = ...` in conformance_tests! \
                 (a hook writing a group's parent without checks)"
            );
        }
        self.plant_parent.is_some()
    }

    /// Plants `parent` as `group`'s parent without any check (see
    /// [`Self::can_plant_parent`]).
    pub async fn plant_parent(&self, group: crate::GroupId, parent: Option<crate::GroupId>)
    where
        S: Clone,
    {
        let plant = self
            .plant_parent
            .as_ref()
            .expect("checked with can_plant_parent first");
        plant(self.store.clone(), group, parent).await;
    }
}

/// Wraps a `plant_parent` closure for [`Harness`]; used by the macro.
#[doc(hidden)]
pub fn planter<S, F, Fut>(f: F) -> Option<PlantParent<S>>
where
    F: Fn(S, crate::GroupId, Option<crate::GroupId>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Some(Arc::new(move |s, g, p| Box::pin(f(s, g, p))))
}

/// The password every conformance user signs up with.
pub const PASSWORD: &str = "correct horse battery staple";

/// An `Auth` over the store under test, with a test clock and a recording mailer.
pub struct Env<S> {
    pub auth: Auth<S>,
    pub clock: TestClock,
    pub mailer: RecordingMailer,
    /// The DNS the app's domain verifier reads (a table the test fills).
    pub dns: crate::sso::StaticTxtRecords,
    key: SecretKey,
    config: AuthConfig,
    outbox: Arc<dyn Outbox>,
}

/// An outbox the test controls: it keeps every delivery until [`HeldOutbox::release`].
#[derive(Debug, Default, Clone)]
pub struct HeldOutbox {
    held: Arc<std::sync::Mutex<Vec<crate::verification::Delivery>>>,
}

impl HeldOutbox {
    /// How many deliveries are held.
    pub fn len(&self) -> usize {
        self.held.lock().unwrap().len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs every held delivery, oldest first.
    pub async fn release(&self) {
        let held = std::mem::take(&mut *self.held.lock().unwrap());
        for delivery in held {
            delivery.run().await;
        }
    }
}

#[async_trait::async_trait]
impl Outbox for HeldOutbox {
    async fn submit(&self, delivery: crate::verification::Delivery) {
        self.held.lock().unwrap().push(delivery);
    }
}

impl<S: CoreStore + Clone> Env<S> {
    /// An environment with the test defaults (cheap hashing, audit into the store).
    pub fn new(store: S) -> Self {
        Self::with_config(store, |_| {})
    }

    /// An environment with edited configuration.
    pub fn with_config(store: S, edit: impl FnOnce(&mut AuthConfig)) -> Self {
        Self::with_outbox(store, Arc::new(crate::verification::InlineOutbox), edit)
    }

    /// An environment whose mail goes through `outbox` (the default runs each delivery
    /// before the request returns, so the suite reads the mailer at once).
    pub fn with_outbox(
        store: S,
        outbox: Arc<dyn Outbox>,
        edit: impl FnOnce(&mut AuthConfig),
    ) -> Self {
        let mut config = AuthConfig::insecure_for_tests();
        edit(&mut config);
        Self::build(
            store,
            TestClock::new(),
            RecordingMailer::new(),
            crate::sso::StaticTxtRecords::new(),
            SecretKey::generate(),
            config,
            outbox,
        )
    }

    fn build(
        store: S,
        clock: TestClock,
        mailer: RecordingMailer,
        dns: crate::sso::StaticTxtRecords,
        key: SecretKey,
        config: AuthConfig,
        outbox: Arc<dyn Outbox>,
    ) -> Self {
        let auth = Auth::builder(store)
            .clock(clock.clone())
            .mailer(mailer.clone())
            .outbox(Arc::clone(&outbox))
            .secret_key(key.clone())
            .config(config.clone())
            .domain_verifier(dns.clone())
            .audit_to_store()
            .build()
            .expect("test configuration is valid");
        Self {
            auth,
            clock,
            mailer,
            dns,
            key,
            config,
            outbox,
        }
    }

    /// Another app node on `store` (a peer handle), sharing clock, key, mailer and config.
    pub fn node(&self, store: S) -> Self {
        self.node_with(store, |_| {})
    }

    /// Another app node with edited configuration.
    pub fn node_with(&self, store: S, edit: impl FnOnce(&mut AuthConfig)) -> Self {
        let mut config = self.config.clone();
        edit(&mut config);
        Self::build(
            store,
            self.clock.clone(),
            self.mailer.clone(),
            self.dns.clone(),
            self.key.clone(),
            config,
            Arc::clone(&self.outbox),
        )
    }

    /// The store.
    pub fn store(&self) -> &S {
        self.auth.store()
    }

    /// Signs up `email` with [`PASSWORD`] and returns the signed-in result.
    pub async fn user(&self, email: &str) -> SignedIn {
        match self
            .auth
            .password()
            .sign_up(
                SignUp {
                    email: email.into(),
                    password: Secret::new(PASSWORD),
                    name: None,
                    extend: None,
                },
                &meta(),
            )
            .await
            .expect("sign-up succeeds")
        {
            SignUpOutcome::SignedIn(s) => *s,
            SignUpOutcome::VerificationRequired(_) => panic!("verification not expected"),
        }
    }

    /// Signs in `email` with [`PASSWORD`].
    pub async fn sign_in(&self, email: &str) -> SignedIn {
        self.auth
            .password()
            .sign_in(email, &Secret::new(PASSWORD), &meta())
            .await
            .and_then(crate::SignInOutcome::signed_in)
            .expect("sign-in succeeds")
    }

    /// Signs in `email` with [`PASSWORD`] where a second factor is due: the challenge's
    /// token, after checking that it offers exactly `methods` (panics on a session).
    pub async fn mfa_challenge(&self, email: &str, methods: &[&str]) -> String {
        match self
            .auth
            .password()
            .sign_in(email, &Secret::new(PASSWORD), &meta())
            .await
            .expect("the password is right")
        {
            crate::SignInOutcome::MfaRequired(challenge) => {
                assert_eq!(challenge.factors.methods(), methods);
                assert_eq!(
                    challenge.expires_at,
                    self.auth.now() + self.config.mfa.challenge_ttl
                );
                challenge.token.expose().to_owned()
            }
            crate::SignInOutcome::SignedIn(_) => {
                panic!("a user with a second factor got a session from a password alone")
            }
        }
    }

    /// Signs in `email` without a password: an emailed sign-in code is sent, and its link
    /// followed (creating the user when the configuration allows passwordless sign-up).
    pub async fn sign_in_by_link(&self, email: &str) -> SignedIn {
        self.auth
            .email()
            .send_sign_in_code(email, &meta())
            .await
            .expect("the code is sent");
        let mail = self
            .mailer
            .last(email, crate::verification::Purpose::SignIn)
            .expect("the code was mailed");
        self.auth
            .email()
            .sign_in(crate::Answer::Link(mail.link_token.expose()), &meta())
            .await
            .and_then(crate::SignInOutcome::signed_in)
            .expect("the link signs in")
    }

    /// A new session of the user `id`, as a [`Caller`]: how the suite acts as a user.
    pub async fn caller(&self, id: crate::UserId) -> Caller {
        let user = self
            .auth
            .users()
            .get(&Caller::System, id)
            .await
            .expect("the user exists");
        self.auth
            .sessions()
            .start(user, crate::Aal::Aal1, &meta())
            .await
            .expect("a session starts")
            .caller()
    }

    /// Moves the test clock.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

impl<S: CoreStore + Clone> Env<S> {
    /// `(ok, error code)` of every audit event with `action`, oldest first.
    pub async fn audit_trail(&self, action: &str) -> Vec<(bool, Option<String>)> {
        self.auth
            .audit()
            .list(
                &Caller::System,
                crate::ListQuery::new(
                    crate::audit::AuditFilter {
                        action: Some(action.into()),
                        ..crate::audit::AuditFilter::default()
                    },
                    crate::audit::AuditOrder::At,
                ),
            )
            .await
            .expect("the audit log lists")
            .items
            .into_iter()
            .map(|e| (e.ok, e.error_code))
            .collect()
    }

    /// The error codes of the failed audit events of each of `actions`, in that order.
    pub async fn audit_failures(&self, actions: &[&str]) -> Vec<Option<String>> {
        let mut out = Vec::new();
        for action in actions {
            for (ok, code) in self.audit_trail(action).await {
                if !ok {
                    out.push(code);
                }
            }
        }
        out
    }
}

/// Request metadata used by the suite.
pub fn meta() -> RequestMeta {
    RequestMeta::none()
        .with_ip(std::net::IpAddr::from([127, 0, 0, 1]))
        .with_user_agent("conformance/1.0")
        .with_request_id("req-conformance")
}

/// Asserts that `result` failed with `code`.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(
    result: Result<T, crate::AuthError>,
    code: crate::ErrorCode,
) {
    match result {
        Ok(value) => panic!("expected {code}, got Ok({value:?})"),
        Err(error) => assert_eq!(error.code(), code, "{error}"),
    }
}

/// Expands to one `#[tokio::test]` per conformance behaviour of the core and of the
/// optional domains given, for a store; see the [module docs](crate::conformance).
#[macro_export]
macro_rules! conformance_tests {
    ($name:ident, $factory:expr
        $(, domains = [$($domain:ident),* $(,)?])?
        $(, peer = $peer:expr)?
        $(, plant_parent = $plant:expr)?
        $(, skip_unless_env = $var:literal)?
        $(,)?) => {
        $crate::__conformance_suite!($name, $factory,
            $crate::__conformance_or!($($peer)?; |store| async move {
                ::std::clone::Clone::clone(&store)
            }),
            $crate::__conformance_or!($(Some($var))?; None::<&str>),
            $crate::__conformance_or!($($crate::conformance::planter($plant))?; None);
            core $($(, $domain)*)?);
    };
}

/// One module of tests per store, one submodule per domain; used by [`conformance_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_suite {
    ($name:ident, $factory:expr, $peer:expr, $skip:expr, $plant:expr; $($domain:ident),*) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(
                $crate::__conformance_domain!($domain, $name, $factory, $peer, $skip, $plant);
            )*
        }
    };
}

/// The given value, or the default when none was given; used by [`conformance_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_or {
    (; $default:expr) => {
        $default
    };
    ($value:expr; $default:expr) => {
        $value
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($name:ident, $domain:ident, $factory:expr, $peer:expr, $skip:expr, $plant:expr;
        $($module:ident : [$($case:ident),* $(,)?]),* $(,)?) => {
        mod $domain {
            $(
                mod $module {
                    // The factory and peer expressions may name items of the invoking scope.
                    #[allow(unused_imports)]
                    use super::super::*;
                    $(
                        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                        async fn $case() {
                            #[allow(clippy::redundant_pattern_matching)]
                            if let ::std::option::Option::Some(var) = $skip {
                                if ::std::env::var_os(var).is_none() {
                                    ::std::eprintln!(
                                        "SKIPPED {}::{}::{}::{}: set {} to run it",
                                        ::std::stringify!($name),
                                        ::std::stringify!($domain),
                                        ::std::stringify!($module),
                                        ::std::stringify!($case),
                                        var
                                    );
                                    return;
                                }
                            }
                            let store = ($factory)().await;
                            let peer = ($peer)(::std::clone::Clone::clone(&store)).await;
                            $crate::conformance::$domain::$module::$case(
                                $crate::conformance::Harness {
                                    store,
                                    peer,
                                    plant_parent: $plant,
                                },
                            )
                            .await;
                        }
                    )*
                }
            )*
        }
    };
}
