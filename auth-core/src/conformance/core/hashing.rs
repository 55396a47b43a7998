//! The bound on concurrent password hashing: every password flow, unknown emails included,
//! goes through it, and is refused at once when it is full.

use crate::conformance::{Env, Harness, PASSWORD, assert_code, meta};
use crate::passwords::HashingLimits;
use crate::{CoreStore, ErrorCode, Secret, SignUp};

pub async fn password_flows_are_refused_at_once_when_hashing_is_saturated<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    // One worker, no queue: while the worker is held, nobody may hash.
    let env = Env::with_config(h.store, |c| c.password.hashing = HashingLimits::new(1, 0));
    env.user("known@example.com").await;
    let busy = env.auth.inner().hash_pool.admit().await.unwrap();
    let password = Secret::new(PASSWORD);
    // An unknown email (which hashes a dummy), a known one, a sign-up: OVERLOADED at once.
    for email in ["nobody@example.com", "known@example.com"] {
        assert_code(
            env.auth
                .password()
                .sign_in(email, &password, &meta())
                .await
                .and_then(crate::SignInOutcome::signed_in),
            ErrorCode::Overloaded,
        );
    }
    assert_code(
        env.auth
            .password()
            .sign_up(
                SignUp {
                    email: "new@example.com".into(),
                    password: password.clone(),
                    name: None,
                    extend: None,
                },
                &meta(),
            )
            .await,
        ErrorCode::Overloaded,
    );
    // The sign-up created nothing.
    assert!(
        env.store()
            .get_user_by_email(&crate::Email::parse("new@example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    // Both refused sign-ins are in the audit log.
    let overloaded = Some("OVERLOADED".to_owned());
    assert_eq!(
        env.audit_trail("user.sign_in").await,
        [(false, overloaded.clone()), (false, overloaded)]
    );
    // Once the worker is free, the same sign-in works.
    drop(busy);
    env.auth
        .password()
        .sign_in("known@example.com", &password, &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
}
