//! Accounts: linking and unlinking external identities.

use crate::Caller;
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::{CoreStore, ErrorCode, Provider, UserId};

fn oidc() -> Provider {
    Provider::oidc("https://accounts.example.com").unwrap()
}

pub async fn link_and_find_user<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("link@example.com").await.user;
    let account = env
        .auth
        .accounts()
        .link(&Caller::System, user.id, oidc(), "subject-123", &meta())
        .await
        .unwrap();
    assert_eq!(
        account.provider.as_str(),
        "oidc:https://accounts.example.com"
    );
    let found = env
        .auth
        .accounts()
        .find_user(&oidc(), "subject-123")
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.id), Some(user.id));
    assert!(
        env.auth
            .accounts()
            .find_user(&oidc(), "other")
            .await
            .unwrap()
            .is_none()
    );
    let providers: Vec<_> = env
        .auth
        .accounts()
        .list(&Caller::System, user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.provider.as_str().to_owned())
        .collect();
    assert_eq!(providers, ["password", "oidc:https://accounts.example.com"]);
}

pub async fn linked_identity_cannot_be_linked_twice<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let a = env.user("a@example.com").await.user;
    let b = env.user("b@example.com").await.user;
    env.auth
        .accounts()
        .link(&Caller::System, a.id, oidc(), "sub", &meta())
        .await
        .unwrap();
    assert_code(
        env.auth
            .accounts()
            .link(&Caller::System, b.id, oidc(), "sub", &meta())
            .await,
        ErrorCode::AccountAlreadyLinked,
    );
    assert_code(
        env.auth
            .accounts()
            .link(&Caller::System, a.id, oidc(), "sub", &meta())
            .await,
        ErrorCode::AccountAlreadyLinked,
    );
}

pub async fn link_needs_an_existing_user_and_an_external_provider<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    assert_code(
        env.auth
            .accounts()
            .link(&Caller::System, UserId::new(), oidc(), "sub", &meta())
            .await,
        ErrorCode::UserNotFound,
    );
    let user = env.user("p@example.com").await.user;
    assert_code(
        env.auth
            .accounts()
            .link(&Caller::System, user.id, Provider::password(), "x", &meta())
            .await,
        ErrorCode::InvalidInput,
    );
    for bad in ["", "   ", &"x".repeat(256), "a\nb"] {
        assert_code(
            env.auth
                .accounts()
                .link(&Caller::System, user.id, oidc(), bad, &meta())
                .await,
            ErrorCode::InvalidInput,
        );
    }
    assert_code(
        Provider::new("has space").map(|_| ()),
        ErrorCode::InvalidInput,
    );
}

pub async fn unlink_refuses_the_last_sign_in_method<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("u@example.com").await.user;
    let linked = env
        .auth
        .accounts()
        .link(&Caller::System, user.id, oidc(), "s", &meta())
        .await
        .unwrap();
    let password = env
        .auth
        .accounts()
        .list(&Caller::System, user.id)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.provider.as_str() == "password")
        .unwrap();
    env.auth
        .accounts()
        .unlink(&Caller::System, user.id, password.id, &meta())
        .await
        .unwrap();
    assert_code(
        env.auth
            .accounts()
            .unlink(&Caller::System, user.id, linked.id, &meta())
            .await,
        ErrorCode::LastSignInMethod,
    );
    assert_eq!(
        env.auth
            .accounts()
            .list(&Caller::System, user.id)
            .await
            .unwrap()
            .len(),
        1
    );
    // Without the password account, password sign-in fails the usual way.
    assert_code(
        env.auth
            .password()
            .sign_in(
                "u@example.com",
                &crate::Secret::new(crate::conformance::PASSWORD),
                &meta(),
            )
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::InvalidCredentials,
    );
}

pub async fn unlink_of_someone_elses_account_is_not_found<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let a = env.user("a@example.com").await.user;
    let b = env.user("b@example.com").await.user;
    let linked = env
        .auth
        .accounts()
        .link(&Caller::System, a.id, oidc(), "s", &meta())
        .await
        .unwrap();
    assert_code(
        env.auth
            .accounts()
            .unlink(&Caller::System, b.id, linked.id, &meta())
            .await,
        ErrorCode::AccountNotFound,
    );
    assert_code(
        env.auth
            .accounts()
            .unlink(&Caller::System, a.id, crate::AccountId::new(), &meta())
            .await,
        ErrorCode::AccountNotFound,
    );
    assert_eq!(
        env.auth
            .accounts()
            .list(&Caller::System, a.id)
            .await
            .unwrap()
            .len(),
        2
    );
}
