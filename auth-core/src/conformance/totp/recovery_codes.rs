//! Recovery codes: shown once at confirmation, each accepted once (also when 20 attempts
//! with one code race across nodes), however typed, only for their user; regeneration
//! replaces them all.

use crate::conformance::totp::{aal2, confirmed, enrol};
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::{ErrorCode, TotpDomain};

pub async fn a_recovery_code_works_once<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (enrolled, codes) = confirmed(&env, "ada@example.com").await;
    let totp = env.auth.totp();
    let code = codes.codes()[3].expose();
    assert_eq!(
        totp.use_recovery_code(enrolled.user(), code, &meta())
            .await
            .unwrap(),
        9
    );
    assert_code(
        totp.use_recovery_code(enrolled.user(), code, &meta()).await,
        ErrorCode::CodeInvalid,
    );
    // Typed without dashes, in capitals: the same code.
    let other = codes.codes()[4].expose().replace('-', "").to_uppercase();
    assert_eq!(
        totp.use_recovery_code(enrolled.user(), &other, &meta())
            .await
            .unwrap(),
        8
    );
    assert_eq!(
        totp.status(&enrolled.who)
            .await
            .unwrap()
            .recovery_codes_left,
        8
    );
    assert_eq!(
        env.audit_trail("recovery_code.use").await,
        vec![
            (true, None),
            (false, Some("CODE_INVALID".into())),
            (true, None)
        ]
    );
}

pub async fn recovery_codes_are_distinct_and_only_their_users<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (ada, ada_codes) = confirmed(&env, "ada@example.com").await;
    let (bob, bob_codes) = confirmed(&env, "bob@example.com").await;
    let mut all: Vec<&str> = ada_codes
        .codes()
        .iter()
        .chain(bob_codes.codes())
        .map(|c| c.expose())
        .collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 20);
    let totp = env.auth.totp();
    assert_code(
        totp.use_recovery_code(ada.user(), bob_codes.codes()[0].expose(), &meta())
            .await,
        ErrorCode::CodeInvalid,
    );
    for garbage in ["", "abcd", "not a code at all", &"x".repeat(10_000)] {
        assert_code(
            totp.use_recovery_code(ada.user(), garbage, &meta()).await,
            ErrorCode::CodeInvalid,
        );
    }
    totp.use_recovery_code(bob.user(), bob_codes.codes()[0].expose(), &meta())
        .await
        .unwrap();
}

pub async fn twenty_concurrent_uses_of_one_code_let_exactly_one_through<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::with_config(h.store, |c| c.totp.failure_limit = None);
    let peer = env.node(h.peer);
    let (enrolled, codes) = confirmed(&env, "ada@example.com").await;
    let code = codes.codes()[0].expose().to_owned();
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
            auth.totp().use_recovery_code(&user, &code, &meta()).await
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(error) => assert_eq!(error.code(), ErrorCode::CodeInvalid, "{error}"),
        }
    }
    assert_eq!(accepted, 1, "one recovery code, one use");
    assert_eq!(
        env.auth
            .totp()
            .status(&enrolled.who)
            .await
            .unwrap()
            .recovery_codes_left,
        9
    );
}

pub async fn regenerating_replaces_every_code<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (enrolled, old) = confirmed(&env, "ada@example.com").await;
    let totp = env.auth.totp();
    totp.use_recovery_code(enrolled.user(), old.codes()[0].expose(), &meta())
        .await
        .unwrap();
    let new = totp
        .regenerate_recovery_codes(&*aal2(&env, &enrolled.who).await, &meta())
        .await
        .unwrap();
    assert_eq!(new.len(), 10);
    assert_eq!(
        totp.status(&enrolled.who)
            .await
            .unwrap()
            .recovery_codes_left,
        10
    );
    assert_code(
        totp.use_recovery_code(enrolled.user(), old.codes()[1].expose(), &meta())
            .await,
        ErrorCode::CodeInvalid,
    );
    totp.use_recovery_code(enrolled.user(), new.codes()[1].expose(), &meta())
        .await
        .unwrap();
    assert_eq!(
        env.audit_trail("recovery_code.regenerate").await,
        vec![(true, None)]
    );
}

pub async fn regenerating_needs_a_confirmed_factor<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let pending = enrol(&env, "ada@example.com").await;
    assert_code(
        env.auth
            .totp()
            .regenerate_recovery_codes(&pending.who, &meta())
            .await,
        ErrorCode::TotpNotEnrolled,
    );
    assert_eq!(
        env.store()
            .count_recovery_codes(pending.user().id)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        env.audit_trail("recovery_code.regenerate").await,
        vec![(false, Some("TOTP_NOT_ENROLLED".into()))]
    );
}

pub async fn wrong_recovery_codes_share_the_accounts_throttle<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let limit = crate::api_keys::RateLimit {
        max: 3,
        window: time::Duration::HOUR,
    };
    let env = Env::with_config(h.store, |c| c.totp.failure_limit = Some(limit));
    let (enrolled, codes) = confirmed(&env, "ada@example.com").await;
    let totp = env.auth.totp();
    for _ in 0..3 {
        assert_code(
            totp.use_recovery_code(
                enrolled.user(),
                "aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa",
                &meta(),
            )
            .await,
            ErrorCode::CodeInvalid,
        );
    }
    assert_code(
        totp.use_recovery_code(enrolled.user(), codes.codes()[0].expose(), &meta())
            .await,
        ErrorCode::RateLimited,
    );
    assert_code(
        totp.verify(enrolled.user(), &enrolled.code(&env, 0), &meta())
            .await,
        ErrorCode::RateLimited,
    );
    assert_eq!(
        env.audit_trail("recovery_code.use").await.last(),
        Some(&(false, Some("RATE_LIMITED".into())))
    );
}
