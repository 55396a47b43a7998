//! API keys and the clock jumping (docs/security.md, "Clock"): an expiry or a rotation's
//! grace is a point in time, a revocation is final whatever the clock does, and another
//! node's cached key is never trusted for longer than its lifetime plus the jump.

use time::Duration;

use crate::api_keys::{KeyOwner, NewApiKey, RateLimit};
use crate::conformance::api_keys::keys::{new_key, user_key};
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::{ApiKeyDomain, Caller, ErrorCode};

/// How far the clock is set back in these behaviours.
const JUMP: Duration = Duration::hours(1);

pub async fn a_backward_jump_never_revives_a_revoked_key<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let t0 = env.auth.now();
    let user = env.user("revoked@example.com").await.user;
    let keys = env.auth.api_keys();
    let key = |name: &str| NewApiKey {
        name: name.into(),
        ..new_key(KeyOwner::User(user.id), &["a:b"])
    };
    let revoked = keys
        .create(&Caller::System, key("revoked"), &meta())
        .await
        .unwrap();
    keys.verify(revoked.secret.expose(), &meta()).await.unwrap();
    keys.revoke(&Caller::System, revoked.key.id, &meta())
        .await
        .unwrap();
    // Rotated without grace: revoked at once, as final as a revocation.
    let replaced = keys
        .create(&Caller::System, key("replaced"), &meta())
        .await
        .unwrap();
    keys.rotate(&Caller::System, replaced.key.id, None, &meta())
        .await
        .unwrap();
    for back in [Duration::SECOND, JUMP, Duration::days(30)] {
        env.clock.set(t0 - back);
        for secret in [&revoked.secret, &replaced.secret] {
            assert_code(
                keys.verify(secret.expose(), &meta()).await,
                ErrorCode::ApiKeyRevoked,
            );
        }
    }
}

pub async fn expiry_and_grace_are_points_in_time<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let t0 = env.auth.now();
    let user = env.user("grace@example.com").await.user;
    let keys = env.auth.api_keys();
    let expiring = keys
        .create(
            &Caller::System,
            NewApiKey {
                expires_at: Some(t0 + Duration::hours(2)),
                ..new_key(KeyOwner::User(user.id), &["a:b"])
            },
            &meta(),
        )
        .await
        .unwrap();
    let rotated = keys
        .create(
            &Caller::System,
            new_key(KeyOwner::User(user.id), &["a:b"]),
            &meta(),
        )
        .await
        .unwrap();
    keys.rotate(
        &Caller::System,
        rotated.key.id,
        Some(Duration::hours(2)),
        &meta(),
    )
    .await
    .unwrap();
    // A forward jump past the end: both refused.
    env.clock.set(t0 + Duration::hours(2));
    assert_code(
        keys.verify(expiring.secret.expose(), &meta()).await,
        ErrorCode::ApiKeyExpired,
    );
    assert_code(
        keys.verify(rotated.secret.expose(), &meta()).await,
        ErrorCode::ApiKeyRevoked,
    );
    // Set back before the end: accepted until the same end, so at most the jump longer.
    env.clock.set(t0 + Duration::hours(2) - JUMP);
    keys.verify(expiring.secret.expose(), &meta())
        .await
        .unwrap();
    keys.verify(rotated.secret.expose(), &meta()).await.unwrap();
    env.clock.set(t0 + Duration::hours(2));
    assert_code(
        keys.verify(expiring.secret.expose(), &meta()).await,
        ErrorCode::ApiKeyExpired,
    );
    assert_code(
        keys.verify(rotated.secret.expose(), &meta()).await,
        ErrorCode::ApiKeyRevoked,
    );
}

pub async fn a_key_cached_before_a_backward_jump_is_checked_again<S: ApiKeyDomain + Clone>(
    h: Harness<S>,
) {
    let a = Env::new(h.store);
    let b = a.node(h.peer);
    let t0 = a.auth.now();
    let user = a.user("cached-key@example.com").await.user;
    let created = user_key(&a, user.id, &["a:b"]).await;
    // Node B caches the key at t0; the clock is set back; node A revokes it. B's entry is
    // from "the future", so B reads the store again instead of trusting the entry for its
    // lifetime plus the jump.
    b.auth
        .api_keys()
        .verify(created.secret.expose(), &meta())
        .await
        .unwrap();
    a.clock.set(t0 - JUMP);
    a.auth
        .api_keys()
        .revoke(&Caller::System, created.key.id, &meta())
        .await
        .unwrap();
    assert_code(
        b.auth
            .api_keys()
            .verify(created.secret.expose(), &meta())
            .await,
        ErrorCode::ApiKeyRevoked,
    );
}

pub async fn a_backward_jump_never_refills_a_key_rate_limit<S: ApiKeyDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let t0 = env.auth.now();
    let user = env.user("limited-key@example.com").await.user;
    let keys = env.auth.api_keys();
    let limit = RateLimit {
        max: 3,
        window: Duration::MINUTE,
    };
    let created = keys
        .create(
            &Caller::System,
            NewApiKey {
                rate_limit: Some(limit),
                ..new_key(KeyOwner::User(user.id), &["a:b"])
            },
            &meta(),
        )
        .await
        .unwrap();
    let secret = created.secret.expose();
    for _ in 0..limit.max {
        keys.verify(secret, &meta()).await.unwrap();
    }
    assert_code(keys.verify(secret, &meta()).await, ErrorCode::RateLimited);
    for back in [Duration::SECOND, JUMP, Duration::days(1)] {
        env.clock.set(t0 - back);
        assert_code(keys.verify(secret, &meta()).await, ErrorCode::RateLimited);
    }
    // One unit comes back a third of the window after the burst, on the original clock.
    env.clock.set(t0 + Duration::seconds(20));
    keys.verify(secret, &meta()).await.unwrap();
    assert_code(keys.verify(secret, &meta()).await, ErrorCode::RateLimited);
}
