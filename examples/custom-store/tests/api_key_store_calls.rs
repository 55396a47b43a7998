//! Counted with the metering store: which API-key verifications reach the store at all.

use auth_core::api_keys::{KeyOwner, NewApiKey};
use auth_core::users::NewUser;
use auth_core::{Auth, AuthConfig, Caller, ErrorCode, RequestMeta, SecretKey};
use auth_memory::MemoryStore;
use example_custom_store::MeteredStore;

fn calls(store: &MeteredStore<MemoryStore>, method: &str) -> u64 {
    store.stats().get(method).map_or(0, |s| s.calls)
}

#[tokio::test]
async fn a_corrupted_key_is_rejected_without_a_store_call() {
    let store = MeteredStore::new(MemoryStore::new());
    let auth = Auth::builder(store.clone())
        .secret_key(SecretKey::generate())
        .config(AuthConfig::insecure_for_tests())
        .build()
        .unwrap();
    let meta = RequestMeta::none();
    let user = auth
        .users()
        .create(
            &Caller::System,
            NewUser {
                email: "ci@example.com".into(),
                ..NewUser::default()
            },
            &meta,
        )
        .await
        .unwrap();
    let created = auth
        .api_keys()
        .create(
            &Caller::System,
            NewApiKey {
                owner: KeyOwner::User(user.id),
                name: "ci".into(),
                scopes: vec!["data:read".into()],
                expires_at: None,
                rate_limit: None,
                quota: None,
                metadata: None,
            },
            &meta,
        )
        .await
        .unwrap();
    let key = created.secret.expose().to_owned();

    // One character changed: the checksum fails before any lookup.
    let mut typo = key.clone().into_bytes();
    typo[10] = if typo[10] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).unwrap();
    for bad in [
        typo.as_str(),
        "sk_",
        "not a key at all",
        &key[..key.len() - 1],
    ] {
        let err = auth.api_keys().verify(bad, &meta).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::ApiKeyInvalid);
    }
    assert_eq!(
        calls(&store, "find_api_key"),
        0,
        "no lookup for a malformed key"
    );

    // A well-formed key is looked up once, then answered from the cache.
    for _ in 0..5 {
        auth.api_keys().verify(&key, &meta).await.unwrap();
    }
    assert_eq!(calls(&store, "find_api_key"), 1);
}
