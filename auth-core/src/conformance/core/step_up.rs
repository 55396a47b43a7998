//! Step-up: sensitive operations from a session older than `step_up.max_age` need a fresh
//! sign-in; without `max_age`, the session's age does not matter.

use time::Duration;

use crate::conformance::{Env, Harness, PASSWORD, assert_code, meta};
use crate::users::Reauth;
use crate::{Caller, CoreStore, ErrorCode, Secret};

pub async fn sensitive_operations_need_a_recent_sign_in_when_configured<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::with_config(h.store, |c| c.step_up.max_age = Some(Duration::minutes(10)));
    let signed_up = env.user("stale@example.com").await;
    let me = env
        .auth
        .sessions()
        .validate(signed_up.session_token.expose())
        .await
        .unwrap();
    env.advance(Duration::minutes(11));
    let password = Secret::new(PASSWORD);
    let new_password = Secret::new("a brand new passphrase");
    assert_code(
        env.auth
            .password()
            .change(&me, Some(&password), &new_password, &meta())
            .await,
        ErrorCode::ReauthenticationRequired,
    );
    assert_code(
        env.auth
            .email()
            .request_email_change(&Caller::Session(me.clone()), "moved@example.com", &meta())
            .await,
        ErrorCode::ReauthenticationRequired,
    );
    let reauth = Reauth {
        password: Some(&password),
    };
    assert_code(
        env.auth
            .users()
            .delete_own(&Caller::Session(me.clone()), reauth, &meta())
            .await,
        ErrorCode::ReauthenticationRequired,
    );
    // Each refusal is audited with its operation.
    let stale = Some("REAUTHENTICATION_REQUIRED".to_owned());
    assert_eq!(
        env.audit_failures(&[
            "user.password_change",
            "email.change_requested",
            "user.delete"
        ])
        .await,
        [stale.clone(), stale.clone(), stale]
    );
    // A fresh sign-in may, within max_age.
    let fresh = env.sign_in("stale@example.com").await;
    let fresh = env
        .auth
        .sessions()
        .validate(fresh.session_token.expose())
        .await
        .unwrap();
    env.advance(Duration::minutes(9));
    env.auth
        .password()
        .change(&fresh, Some(&password), &new_password, &meta())
        .await
        .unwrap();
}

pub async fn without_max_age_an_old_session_may_change_the_password<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let signed_up = env.user("old@example.com").await;
    let me = env
        .auth
        .sessions()
        .validate(signed_up.session_token.expose())
        .await
        .unwrap();
    // Within the idle timeout, but a day past the sign-in.
    for _ in 0..4 {
        env.advance(Duration::hours(6));
        env.auth
            .sessions()
            .validate(signed_up.session_token.expose())
            .await
            .unwrap();
    }
    env.auth
        .password()
        .change(
            &me,
            Some(&Secret::new(PASSWORD)),
            &Secret::new("a brand new passphrase"),
            &meta(),
        )
        .await
        .unwrap();
}
