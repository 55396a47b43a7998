//! A fresh sign-in ends the session the request presented, whoever's it is.

use crate::conformance::{Env, Harness, PASSWORD, assert_code, meta};
use crate::{CoreStore, ErrorCode, Secret};

pub async fn a_sign_in_ends_the_session_the_request_presented<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let a = env.user("a@example.com").await;
    let b = env.user("b@example.com").await;
    let presenting_a = meta().presenting_session(a.session_token.expose());
    // A failed sign-in ends nothing.
    assert_code(
        env.auth
            .password()
            .sign_in(
                "b@example.com",
                &Secret::new("not the password"),
                &presenting_a,
            )
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::InvalidCredentials,
    );
    env.auth
        .sessions()
        .validate(a.session_token.expose())
        .await
        .unwrap();
    let b2 = env
        .auth
        .password()
        .sign_in("b@example.com", &Secret::new(PASSWORD), &presenting_a)
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
    assert_code(
        env.auth.sessions().validate(a.session_token.expose()).await,
        ErrorCode::SessionRevoked,
    );
    for kept in [&b2, &b] {
        env.auth
            .sessions()
            .validate(kept.session_token.expose())
            .await
            .unwrap();
    }
    assert_eq!(
        env.audit_trail("session.replaced").await,
        [(true, None)],
        "the replacement is audited"
    );
    // Something that is not a session token is ignored.
    let ignored = meta().presenting_session("sk_not_a_session");
    assert!(ignored.presented_session.is_none());
}
