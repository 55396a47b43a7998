//! The domain's part of recovery: a password reset and the first emailed sign-in to an
//! unverified account revoke the keys the user owns (not their groups' keys), unless the
//! app turned `recovery_ends_credentials` off.

use crate::api_keys::KeyOwner;
use crate::conformance::api_keys::keys::new_key;
use crate::conformance::core::recovery::{credentials_ended, reset};
use crate::conformance::organizations::groups::group;
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::{ApiKeyDomain, Caller, ErrorCode, UserId};

/// A `*:*` key of the user `id`, made from their session; returns the raw key.
async fn own_key<S: ApiKeyDomain + Clone>(env: &Env<S>, id: UserId) -> String {
    let caller = env.caller(id).await;
    let created = env
        .auth
        .api_keys()
        .create(&caller, new_key(KeyOwner::User(id), &["*:*"]), &meta())
        .await
        .unwrap();
    created.secret.expose().to_owned()
}

pub async fn reset_revokes_the_users_keys_not_their_groups<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("pre-registered@example.com").await.user;
    let key = own_key(&env, user.id).await;
    let team = group(&env, "team", None).await;
    let group_key = env
        .auth
        .api_keys()
        .create(
            &Caller::System,
            new_key(KeyOwner::Group(team.id), &["*:*"]),
            &meta(),
        )
        .await
        .unwrap();
    // Verified once, so it sits in this node's cache: the reset must evict it too.
    env.auth.api_keys().verify(&key, &meta()).await.unwrap();
    reset(&env, "pre-registered@example.com", "the owner's password").await;
    assert_code(
        env.auth.api_keys().verify(&key, &meta()).await,
        ErrorCode::ApiKeyRevoked,
    );
    env.auth
        .api_keys()
        .verify(group_key.secret.expose(), &meta())
        .await
        .unwrap();
    assert_eq!(credentials_ended(&env).await["api_keys"], 1);
}

pub async fn first_email_sign_in_revokes_the_creators_keys<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("squatted@example.com").await.user;
    let key = own_key(&env, user.id).await;
    env.sign_in_by_link("squatted@example.com").await;
    assert_code(
        env.auth.api_keys().verify(&key, &meta()).await,
        ErrorCode::ApiKeyRevoked,
    );
    assert_eq!(credentials_ended(&env).await["api_keys"], 1);
}

pub async fn recovery_keeps_keys_when_configured_to<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| c.recovery_ends_credentials = false);
    let user = env.user("keeps@example.com").await.user;
    let key = own_key(&env, user.id).await;
    reset(&env, "keeps@example.com", "the owner's password").await;
    env.auth.api_keys().verify(&key, &meta()).await.unwrap();
    assert_eq!(credentials_ended(&env).await["api_keys"], 0);
}
