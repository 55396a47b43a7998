//! SSO sign-in starts count in the client network's `flow_start_limit`, like passkey
//! sign-in starts: each one would keep a flow record in the store until it expires.
//! Needs no identity provider: a refused route is counted as well.

#![allow(clippy::unwrap_used)]

use auth_core::api_keys::RateLimit;
use auth_core::sso::SsoTarget;
use auth_core::{Auth, AuthConfig, ErrorCode, RequestMeta, SecretKey};
use auth_memory::MemoryStore;

fn from(ip: [u8; 4]) -> RequestMeta {
    RequestMeta::none().with_ip(std::net::IpAddr::from(ip))
}

#[tokio::test]
async fn sso_sign_in_starts_are_limited_per_client_network() {
    let mut config = AuthConfig::default();
    config.flow_start_limit = Some(RateLimit {
        max: 2,
        window: time::Duration::minutes(10),
    });
    let auth = Auth::builder(MemoryStore::new())
        .secret_key(SecretKey::generate())
        .config(config)
        .build()
        .unwrap();
    let sso = auth.sso();
    let start = |ip| {
        let target = SsoTarget::Email("someone@nowhere.example".into());
        let sso = &sso;
        async move {
            sso.begin_sign_in(&target, "http://127.0.0.1:3000/cb", &from(ip))
                .await
                .unwrap_err()
                .code()
        }
    };
    let routed = start([198, 51, 100, 7]).await;
    assert_ne!(routed, ErrorCode::RateLimited);
    assert_eq!(start([198, 51, 100, 7]).await, routed);
    assert_eq!(start([198, 51, 100, 7]).await, ErrorCode::RateLimited);
    assert_eq!(start([198, 51, 100, 8]).await, routed);
    let social = sso
        .begin_social_sign_in(
            "google",
            "http://127.0.0.1:3000/cb",
            &from([198, 51, 100, 7]),
        )
        .await
        .unwrap_err();
    assert_eq!(social.code(), ErrorCode::RateLimited);
}
