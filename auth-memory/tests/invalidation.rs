//! The cross-node invalidation seam of auth-core, with two `Auth`s ("nodes") over one
//! store joined by an in-process bus: whatever one node revokes, the other's cache drops at
//! once, while a third node without a bus keeps answering from its cache (what the bus is
//! for); a resync clears everything; a failing bus does not fail the revocation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use auth_core::api_keys::{KeyOwner, NewApiKey};
use auth_core::{
    Auth, AuthConfig, AuthError, Caller, ConfigError, Invalidation, InvalidationBus,
    InvalidationSink, RequestMeta, Secret, SecretKey, SignUp, SignUpOutcome, SignedIn, StoreError,
};
use auth_memory::MemoryStore;

const PASSWORD: &str = "a long and quite unusual passphrase";

/// The nodes joined in one process: what one publishes, the others receive.
#[derive(Clone, Default)]
struct Hub {
    sinks: Arc<Mutex<Vec<(usize, InvalidationSink)>>>,
    published: Arc<Mutex<Vec<Invalidation>>>,
}

impl Hub {
    fn bus(&self, node: usize) -> HubBus {
        HubBus {
            hub: self.clone(),
            node,
        }
    }

    fn published(&self) -> Vec<Invalidation> {
        self.published.lock().unwrap().clone()
    }

    fn resync_all(&self) {
        for (_, sink) in self.sinks.lock().unwrap().iter() {
            assert!(sink.resync());
        }
    }
}

struct HubBus {
    hub: Hub,
    node: usize,
}

#[async_trait]
impl InvalidationBus for HubBus {
    async fn publish(&self, events: &[Invalidation]) -> Result<(), StoreError> {
        self.hub.published.lock().unwrap().extend_from_slice(events);
        for (node, sink) in self.hub.sinks.lock().unwrap().iter() {
            if *node != self.node {
                sink.apply(events);
            }
        }
        Ok(())
    }

    fn subscribe(&self, sink: InvalidationSink) -> Result<(), ConfigError> {
        sink.resync();
        self.hub.sinks.lock().unwrap().push((self.node, sink));
        Ok(())
    }
}

/// A bus that cannot publish.
struct BrokenBus;

#[async_trait]
impl InvalidationBus for BrokenBus {
    async fn publish(&self, _: &[Invalidation]) -> Result<(), StoreError> {
        Err(StoreError::unavailable("the bus is down"))
    }

    fn subscribe(&self, _: InvalidationSink) -> Result<(), ConfigError> {
        Ok(())
    }
}

struct Nodes {
    a: Auth<MemoryStore>,
    b: Auth<MemoryStore>,
    /// No bus: learns of revocations only when its cache entries expire.
    lone: Auth<MemoryStore>,
    hub: Hub,
}

fn node(store: &MemoryStore, key: &SecretKey, bus: Option<HubBus>) -> Auth<MemoryStore> {
    let builder = Auth::builder(store.clone())
        .secret_key(SecretKey::from_base64(&key.to_base64()).unwrap())
        .config(AuthConfig::insecure_for_tests());
    match bus {
        Some(bus) => builder.invalidation(bus),
        None => builder,
    }
    .build()
    .unwrap()
}

fn nodes() -> Nodes {
    let store = MemoryStore::new();
    let key = SecretKey::generate();
    let hub = Hub::default();
    Nodes {
        a: node(&store, &key, Some(hub.bus(0))),
        b: node(&store, &key, Some(hub.bus(1))),
        lone: node(&store, &key, None),
        hub,
    }
}

async fn sign_up(auth: &Auth<MemoryStore>, email: &str) -> SignedIn {
    let outcome = auth
        .password()
        .sign_up(
            SignUp {
                email: email.into(),
                password: Secret::new(PASSWORD),
                name: None,
                extend: None,
            },
            &RequestMeta::none(),
        )
        .await
        .unwrap();
    let SignUpOutcome::SignedIn(signed_in) = outcome else {
        panic!("signed in at once");
    };
    *signed_in
}

impl Nodes {
    /// Caches `token` on B and on the lone node.
    async fn cache_session(&self, token: &str) {
        for auth in [&self.b, &self.lone] {
            auth.sessions().validate(token).await.unwrap();
            assert!(auth.sessions().validate_cached(token).is_some());
        }
    }

    /// B refuses `token` at once; the lone node still answers from its cache.
    fn assert_session_dropped_on_b_only(&self, token: &str) {
        assert!(
            self.b.sessions().validate_cached(token).is_none(),
            "B dropped the session"
        );
        assert!(
            self.lone.sessions().validate_cached(token).is_some(),
            "without a bus the cache would still answer"
        );
    }

    async fn create_key(&self, user: &SignedIn) -> (auth_core::ApiKey, String) {
        let caller = Caller::Session(
            self.a
                .sessions()
                .validate(user.session_token.expose())
                .await
                .unwrap(),
        );
        let created = self
            .a
            .api_keys()
            .create(
                &caller,
                NewApiKey {
                    owner: KeyOwner::User(user.user.id),
                    name: "k".into(),
                    scopes: vec!["data:read".into()],
                    expires_at: None,
                    rate_limit: None,
                    quota: None,
                    metadata: None,
                },
                &RequestMeta::none(),
            )
            .await
            .unwrap();
        (created.key, created.secret.expose().to_owned())
    }

    async fn cache_key(&self, raw: &str) {
        for auth in [&self.b, &self.lone] {
            auth.api_keys()
                .verify(raw, &RequestMeta::none())
                .await
                .unwrap();
            assert!(auth.api_keys().verify_cached(raw).is_some());
        }
    }

    fn assert_key_dropped_on_b_only(&self, raw: &str) {
        assert!(
            self.b.api_keys().verify_cached(raw).is_none(),
            "B dropped the key"
        );
        assert!(
            self.lone.api_keys().verify_cached(raw).is_some(),
            "without a bus the cache would still answer"
        );
    }
}

#[tokio::test]
async fn a_sign_out_on_one_node_drops_the_session_on_the_other() {
    let nodes = nodes();
    let user = sign_up(&nodes.a, "out@example.com").await;
    let token = user.session_token.expose();
    nodes.cache_session(token).await;
    nodes
        .a
        .sessions()
        .sign_out(token, &RequestMeta::none())
        .await
        .unwrap();
    nodes.assert_session_dropped_on_b_only(token);
    assert!(matches!(
        nodes.b.sessions().validate(token).await,
        Err(AuthError::SessionRevoked)
    ));
    assert_eq!(
        nodes.hub.published(),
        [Invalidation::Session(user.session.token_hash)]
    );
}

#[tokio::test]
async fn revoking_all_sessions_and_changing_the_password_reach_the_other_node() {
    let nodes = nodes();
    let user = sign_up(&nodes.a, "all@example.com").await;
    let token = user.session_token.expose();
    nodes.cache_session(token).await;
    nodes
        .a
        .sessions()
        .revoke_all(&Caller::System, user.user.id, &RequestMeta::none())
        .await
        .unwrap();
    nodes.assert_session_dropped_on_b_only(token);

    let signed_in = nodes
        .a
        .password()
        .sign_in(
            "all@example.com",
            &Secret::new(PASSWORD),
            &RequestMeta::none(),
        )
        .await
        .and_then(auth_core::SignInOutcome::signed_in)
        .unwrap();
    let token = signed_in.session_token.expose();
    nodes.cache_session(token).await;
    let current = nodes.a.sessions().validate(token).await.unwrap();
    nodes
        .a
        .password()
        .change(
            &current,
            Some(&Secret::new(PASSWORD)),
            &Secret::new("another long unusual passphrase"),
            &RequestMeta::none(),
        )
        .await
        .unwrap();
    nodes.assert_session_dropped_on_b_only(token);
    assert!(
        nodes
            .hub
            .published()
            .contains(&Invalidation::User(user.user.id))
    );
}

#[tokio::test]
async fn a_key_revoked_on_one_node_is_dropped_on_the_other() {
    let nodes = nodes();
    let user = sign_up(&nodes.a, "keys@example.com").await;
    let (key, raw) = nodes.create_key(&user).await;
    nodes.cache_key(&raw).await;
    let caller = Caller::Session(
        nodes
            .a
            .sessions()
            .validate(user.session_token.expose())
            .await
            .unwrap(),
    );
    nodes
        .a
        .api_keys()
        .revoke(&caller, key.id, &RequestMeta::none())
        .await
        .unwrap();
    nodes.assert_key_dropped_on_b_only(&raw);
    assert!(matches!(
        nodes.b.api_keys().verify(&raw, &RequestMeta::none()).await,
        Err(AuthError::ApiKeyRevoked)
    ));
    assert!(nodes.hub.published().contains(&Invalidation::api_key(&key)));
}

#[tokio::test]
async fn deleting_a_user_drops_their_sessions_and_keys_on_the_other_node() {
    let nodes = nodes();
    let user = sign_up(&nodes.a, "gone@example.com").await;
    let (_, raw) = nodes.create_key(&user).await;
    let token = user.session_token.expose();
    nodes.cache_session(token).await;
    nodes.cache_key(&raw).await;
    nodes
        .a
        .users()
        .delete(&Caller::System, user.user.id, true, &RequestMeta::none())
        .await
        .unwrap();
    nodes.assert_session_dropped_on_b_only(token);
    nodes.assert_key_dropped_on_b_only(&raw);
    let published = nodes.hub.published();
    assert!(published.contains(&Invalidation::User(user.user.id)));
    assert!(published.contains(&Invalidation::AllApiKeys));
}

#[tokio::test]
async fn a_resync_clears_every_cache() {
    let nodes = nodes();
    let user = sign_up(&nodes.a, "resync@example.com").await;
    let (_, raw) = nodes.create_key(&user).await;
    let token = user.session_token.expose();
    nodes.cache_session(token).await;
    nodes.cache_key(&raw).await;
    nodes.hub.resync_all();
    assert!(nodes.b.sessions().validate_cached(token).is_none());
    assert!(nodes.b.api_keys().verify_cached(&raw).is_none());
    assert!(
        nodes.hub.published().is_empty(),
        "a resync publishes nothing"
    );
}

#[tokio::test]
async fn a_bus_that_cannot_publish_does_not_fail_the_revocation() {
    let store = MemoryStore::new();
    let auth = Auth::builder(store)
        .secret_key(SecretKey::generate())
        .config(AuthConfig::insecure_for_tests())
        .invalidation(BrokenBus)
        .build()
        .unwrap();
    let user = sign_up(&auth, "broken@example.com").await;
    let token = user.session_token.expose();
    auth.sessions().validate(token).await.unwrap();
    auth.sessions()
        .sign_out(token, &RequestMeta::none())
        .await
        .unwrap();
    assert!(
        auth.sessions().validate_cached(token).is_none(),
        "evicted here all the same"
    );
}

#[tokio::test]
async fn a_sink_reports_when_its_auth_is_gone() {
    let hub = Hub::default();
    let auth = node(
        &MemoryStore::new(),
        &SecretKey::generate(),
        Some(hub.bus(0)),
    );
    let sink = hub.sinks.lock().unwrap()[0].1.clone();
    assert!(!sink.is_closed());
    drop(auth);
    assert!(sink.is_closed());
    assert!(!sink.apply(&[Invalidation::AllApiKeys]));
    assert!(!sink.resync());
}
