//! Verification on the injected clock: the window of one step either side, the replay
//! guard (a step is accepted once per user, also concurrently across nodes), the
//! per-account throttle, and the audit trail.

use std::net::IpAddr;

use time::Duration;

use crate::api_keys::RateLimit;
use crate::conformance::totp::confirmed;
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::{ErrorCode, TotpDomain};

pub async fn a_code_of_the_current_step_or_one_either_side_is_accepted<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (enrolled, _) = confirmed(&env, "ada@example.com").await;
    env.advance(Duration::minutes(10));
    let totp = env.auth.totp();
    // In step order: each accepted step must be later than the last one.
    for offset in [-1, 0, 1] {
        totp.verify(enrolled.user(), &enrolled.code(&env, offset), &meta())
            .await
            .unwrap_or_else(|e| panic!("offset {offset}: {e}"));
    }
    assert_eq!(env.audit_trail("totp.verify").await, vec![(true, None); 3]);
}

pub async fn a_code_outside_the_window_is_refused<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (enrolled, _) = confirmed(&env, "ada@example.com").await;
    env.advance(Duration::minutes(10));
    let totp = env.auth.totp();
    let current = enrolled.code(&env, 0);
    for offset in [-3, -2, 2, 3] {
        let code = enrolled.code(&env, offset);
        if code == current {
            continue;
        }
        assert_code(
            totp.verify(enrolled.user(), &code, &meta()).await,
            ErrorCode::CodeInvalid,
        );
    }
    // Half a minute on, the code that was one step ahead is the current one.
    let ahead = enrolled.code(&env, 1);
    env.advance(Duration::seconds(30));
    totp.verify(enrolled.user(), &ahead, &meta()).await.unwrap();
    let trail = env.audit_trail("totp.verify").await;
    assert_eq!(trail.last(), Some(&(true, None)));
    assert!(
        trail[..trail.len() - 1]
            .iter()
            .all(|e| e == &(false, Some("CODE_INVALID".into())))
    );
}

pub async fn a_code_is_accepted_once<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (enrolled, _) = confirmed(&env, "ada@example.com").await;
    let totp = env.auth.totp();
    let code = enrolled.code(&env, 0);
    totp.verify(enrolled.user(), &code, &meta()).await.unwrap();
    assert_code(
        totp.verify(enrolled.user(), &code, &meta()).await,
        ErrorCode::CodeInvalid,
    );
    // Another node's store sees the same last step.
    let peer = env.node(h.peer);
    assert_code(
        peer.auth
            .totp()
            .verify(enrolled.user(), &code, &meta())
            .await,
        ErrorCode::CodeInvalid,
    );
    // Once a step is accepted, an earlier step's code is refused too, while the next
    // step's is accepted.
    let previous = enrolled.code(&env, -1);
    if previous != code {
        assert_code(
            totp.verify(enrolled.user(), &previous, &meta()).await,
            ErrorCode::CodeInvalid,
        );
    }
    totp.verify(enrolled.user(), &enrolled.code(&env, 1), &meta())
        .await
        .unwrap();
}

pub async fn the_confirming_code_is_not_accepted_again<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let enrolled = crate::conformance::totp::enrol(&env, "ada@example.com").await;
    let code = enrolled.code(&env, 0);
    env.auth
        .totp()
        .confirm(&enrolled.who, &code, &meta())
        .await
        .unwrap();
    assert_code(
        env.auth
            .totp()
            .verify(enrolled.user(), &code, &meta())
            .await,
        ErrorCode::CodeInvalid,
    );
}

pub async fn concurrent_uses_of_one_code_let_exactly_one_through<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::with_config(h.store, |c| c.totp.failure_limit = None);
    let peer = env.node(h.peer);
    let (enrolled, _) = confirmed(&env, "ada@example.com").await;
    let code = enrolled.code(&env, 0);
    let user = enrolled.user().clone();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let auth = if i % 2 == 0 {
            env.auth.clone()
        } else {
            peer.auth.clone()
        };
        let (code, user) = (code.clone(), user.clone());
        tasks.push(tokio::spawn(async move {
            auth.totp().verify(&user, &code, &meta()).await
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => accepted += 1,
            Err(error) => assert_eq!(error.code(), ErrorCode::CodeInvalid, "{error}"),
        }
    }
    assert_eq!(accepted, 1, "one code, one acceptance");
}

pub async fn wrong_codes_are_throttled_per_account_across_ips_and_nodes<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let limit = RateLimit {
        max: 3,
        window: Duration::HOUR,
    };
    let env = Env::with_config(h.store, |c| c.totp.failure_limit = Some(limit));
    let peer = env.node(h.peer);
    let (enrolled, _) = confirmed(&env, "ada@example.com").await;
    let (other, _) = confirmed(&env, "bob@example.com").await;
    let right = enrolled.code(&env, 0);
    let wrong = &enrolled.wrong_code(&env);
    for (i, auth) in [&env.auth, &peer.auth, &env.auth].into_iter().enumerate() {
        let from = meta().with_ip(IpAddr::from([198, 51, 100, i as u8 + 1]));
        assert_code(
            auth.totp().verify(enrolled.user(), wrong, &from).await,
            ErrorCode::CodeInvalid,
        );
    }
    // Now even the right code is refused, from anywhere, without being checked.
    let from = meta().with_ip(IpAddr::from([203, 0, 113, 9]));
    assert_code(
        peer.auth
            .totp()
            .verify(enrolled.user(), &right, &from)
            .await,
        ErrorCode::RateLimited,
    );
    assert_code(
        env.auth
            .totp()
            .use_recovery_code(
                enrolled.user(),
                "abcd-efgh-ijkl-mnop-qrst-uvwx-yz23-4567",
                &from,
            )
            .await,
        ErrorCode::RateLimited,
    );
    // Another account is not affected.
    env.auth
        .totp()
        .verify(other.user(), &other.code(&env, 0), &meta())
        .await
        .unwrap();
    let trail = env.audit_trail("totp.verify").await;
    assert!(trail.contains(&(false, Some("RATE_LIMITED".into()))));
    // The allowance comes back with time (one attempt per window / max).
    env.advance(Duration::minutes(20));
    env.auth
        .totp()
        .verify(enrolled.user(), &enrolled.code(&env, 0), &meta())
        .await
        .unwrap();
}

pub async fn a_right_code_clears_the_accounts_count<S: TotpDomain + Clone>(h: Harness<S>) {
    let limit = RateLimit {
        max: 3,
        window: Duration::HOUR,
    };
    let env = Env::with_config(h.store, |c| c.totp.failure_limit = Some(limit));
    let (enrolled, _) = confirmed(&env, "ada@example.com").await;
    let totp = env.auth.totp();
    for _ in 0..2 {
        let w = enrolled.wrong_code(&env);
        assert_code(
            totp.verify(enrolled.user(), &w, &meta()).await,
            ErrorCode::CodeInvalid,
        );
    }
    totp.verify(enrolled.user(), &enrolled.code(&env, 0), &meta())
        .await
        .unwrap();
    for _ in 0..2 {
        let w = enrolled.wrong_code(&env);
        assert_code(
            totp.verify(enrolled.user(), &w, &meta()).await,
            ErrorCode::CodeInvalid,
        );
    }
    env.advance(Duration::seconds(30));
    totp.verify(enrolled.user(), &enrolled.code(&env, 0), &meta())
        .await
        .unwrap();
}

pub async fn verification_needs_a_confirmed_factor<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let nobody = env.user("plain@example.com").await.user;
    assert_code(
        env.auth.totp().verify(&nobody, "123456", &meta()).await,
        ErrorCode::TotpNotEnrolled,
    );
    assert_eq!(
        env.audit_trail("totp.verify").await,
        vec![(false, Some("TOTP_NOT_ENROLLED".into()))]
    );
}
