//! Counted with the metering store: the flows anyone may call make the same store calls,
//! in the same numbers, for an address with an account and one without, so their timing
//! on the request path does not depend on the account (issue 12, item 11). The mail is
//! held by an outbox the test controls, so the counts are the request path's alone.

use std::collections::BTreeMap;
use std::sync::Arc;

use auth_core::conformance::HeldOutbox;
use auth_core::users::NewUser;
use auth_core::{Auth, AuthConfig, Caller, RecordingMailer, RequestMeta, SecretKey};
use auth_memory::MemoryStore;
use example_custom_store::MeteredStore;

fn counts(store: &MeteredStore<MemoryStore>) -> BTreeMap<&'static str, u64> {
    store
        .stats()
        .into_iter()
        .map(|(method, stats)| (method, stats.calls))
        .collect()
}

/// The store calls `call` makes, by method.
async fn calls_of<F: Future<Output = ()>>(
    store: &MeteredStore<MemoryStore>,
    call: F,
) -> BTreeMap<&'static str, u64> {
    let before = counts(store);
    call.await;
    counts(store)
        .into_iter()
        .map(|(method, n)| (method, n - before.get(method).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[tokio::test]
async fn forgot_password_and_sign_in_codes_make_the_same_store_calls_for_every_address() {
    let store = MeteredStore::new(MemoryStore::new());
    let outbox = HeldOutbox::default();
    let auth = Auth::builder(store.clone())
        .secret_key(SecretKey::generate())
        .config(AuthConfig::insecure_for_tests())
        .mailer(RecordingMailer::new())
        .outbox(Arc::new(outbox.clone()))
        .audit_to_store()
        .build()
        .unwrap();
    let meta = RequestMeta::none();
    auth.users()
        .create(
            &Caller::System,
            NewUser {
                email: "known@example.com".into(),
                ..NewUser::default()
            },
            &meta,
        )
        .await
        .unwrap();
    let forgot = |email: &'static str| {
        let auth = auth.clone();
        let meta = meta.clone();
        async move { auth.password().forgot(email, &meta).await.unwrap() }
    };
    let known = calls_of(&store, forgot("known@example.com")).await;
    let unknown = calls_of(&store, forgot("unknown@example.com")).await;
    assert!(known.contains_key("get_user_by_email"), "{known:?}");
    assert_eq!(known, unknown, "forgot password: known vs unknown address");
    assert_eq!(outbox.len(), 2);

    let send_code = |email: &'static str| {
        let auth = auth.clone();
        let meta = meta.clone();
        async move { auth.email().send_sign_in_code(email, &meta).await.unwrap() }
    };
    let known = calls_of(&store, send_code("known@example.com")).await;
    let unknown = calls_of(&store, send_code("unknown@example.com")).await;
    assert_eq!(known, unknown, "sign-in code: known vs unknown address");

    // The store work that does differ happens when the outbox runs the deliveries.
    let deferred = calls_of(&store, outbox.release()).await;
    assert_eq!(
        deferred.get("replace_verification"),
        Some(&2),
        "{deferred:?}"
    );
}
