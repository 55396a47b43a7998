//! Enrolment: pending until a valid code confirms it, replaced while pending, refused once
//! confirmed, expired and purged, disabled; what deletion and recovery do to it.

use time::Duration;

use crate::conformance::core::recovery::reset;
use crate::conformance::totp::{aal2, code_from_uri, confirmed, enrol};
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::totp::{FactorState, TOTP_FORMAT_VERSION};
use crate::{Caller, ErrorCode, TotpDomain};

pub async fn enrolment_is_pending_until_a_code_confirms_it<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| c.totp.issuer = "Example App".into());
    let enrolled = enrol(&env, "ada@example.com").await;
    let uri = enrolled.enrolment.otpauth_uri.expose();
    assert!(
        uri.starts_with("otpauth://totp/Example%20App:ada%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains("issuer=Example%20App"), "{uri}");
    assert!(
        uri.contains(&format!(
            "secret={}",
            enrolled.enrolment.secret_base32.expose()
        )),
        "the URI carries the seed shown in base32"
    );
    assert_eq!(enrolled.enrolment.secret_base32.expose().len(), 32);
    assert!(enrolled.enrolment.qr_svg.expose().starts_with("<svg"));

    let totp = env.auth.totp();
    let status = totp.status(&enrolled.who).await.unwrap();
    assert!(status.enrolled && !status.confirmed);
    assert_eq!(status.recovery_codes_left, 0);
    // A pending factor is no second factor yet.
    assert_code(
        totp.verify(enrolled.user(), &enrolled.code(&env, 0), &meta())
            .await,
        ErrorCode::TotpNotEnrolled,
    );

    let codes = totp
        .confirm(&enrolled.who, &enrolled.code(&env, 0), &meta())
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    let status = totp.status(&enrolled.who).await.unwrap();
    assert!(status.enrolled && status.confirmed);
    assert_eq!(status.confirmed_at, Some(env.auth.now()));
    assert_eq!(status.recovery_codes_left, 10);
    assert_eq!(env.audit_trail("totp.enrol").await, vec![(true, None)]);
    assert_eq!(env.audit_trail("totp.confirm").await, vec![(true, None)]);
}

pub async fn confirmation_takes_a_neighbouring_step_but_not_a_wrong_code<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let enrolled = enrol(&env, "ada@example.com").await;
    let totp = env.auth.totp();
    for wrong in ["000000", "12345", "abcdef", ""] {
        if wrong == enrolled.code(&env, 0) {
            continue;
        }
        assert_code(
            totp.confirm(&enrolled.who, wrong, &meta()).await,
            ErrorCode::CodeInvalid,
        );
    }
    assert_code(
        totp.confirm(&enrolled.who, &enrolled.code(&env, 2), &meta())
            .await,
        ErrorCode::CodeInvalid,
    );
    assert!(!totp.status(&enrolled.who).await.unwrap().confirmed);
    // The app's clock one step behind, and a code typed with a space.
    let code = enrolled.code(&env, -1);
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    totp.confirm(&enrolled.who, &spaced, &meta()).await.unwrap();
    let trail = env.audit_trail("totp.confirm").await;
    assert_eq!(trail.last(), Some(&(true, None)));
    assert!(
        trail[..trail.len() - 1]
            .iter()
            .all(|e| e == &(false, Some("CODE_INVALID".into())))
    );
}

pub async fn enrolling_again_replaces_a_pending_enrolment<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let first = enrol(&env, "ada@example.com").await;
    let second = env.auth.totp().enrol(&first.who, &meta()).await.unwrap();
    assert_ne!(
        first.enrolment.secret_base32.expose(),
        second.secret_base32.expose()
    );
    let old_code = first.code(&env, 0);
    let new_code = code_from_uri(second.otpauth_uri.expose(), &env, 0);
    if old_code != new_code {
        assert_code(
            env.auth
                .totp()
                .confirm(&first.who, &old_code, &meta())
                .await,
            ErrorCode::CodeInvalid,
        );
    }
    env.auth
        .totp()
        .confirm(&first.who, &new_code, &meta())
        .await
        .unwrap();
}

pub async fn enrolling_is_refused_while_a_confirmed_factor_exists<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (enrolled, _) = confirmed(&env, "ada@example.com").await;
    let totp = env.auth.totp();
    assert_code(
        totp.enrol(&enrolled.who, &meta()).await,
        ErrorCode::TotpAlreadyEnrolled,
    );
    assert_code(
        totp.confirm(&enrolled.who, &enrolled.code(&env, 0), &meta())
            .await,
        ErrorCode::TotpAlreadyEnrolled,
    );
    // The factor in use is untouched.
    totp.verify(enrolled.user(), &enrolled.code(&env, 0), &meta())
        .await
        .unwrap();
    assert_eq!(
        env.audit_trail("totp.enrol").await,
        vec![(true, None), (false, Some("TOTP_ALREADY_ENROLLED".into()))]
    );
}

pub async fn a_stale_pending_enrolment_is_refused_and_purged<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let stale = enrol(&env, "stale@example.com").await;
    env.advance(Duration::minutes(30));
    let fresh = enrol(&env, "fresh@example.com").await;
    env.advance(Duration::minutes(31));
    assert_code(
        env.auth
            .totp()
            .confirm(&stale.who, &stale.code(&env, 0), &meta())
            .await,
        ErrorCode::TotpNotEnrolled,
    );
    assert_eq!(env.auth.totp().purge_pending().await.unwrap(), 1);
    assert!(!env.auth.totp().status(&stale.who).await.unwrap().enrolled);
    env.auth
        .totp()
        .confirm(&fresh.who, &fresh.code(&env, 0), &meta())
        .await
        .unwrap();
    env.advance(Duration::DAY);
    assert_eq!(
        env.auth.totp().purge_pending().await.unwrap(),
        0,
        "a confirmed factor is never purged"
    );
    assert!(env.auth.totp().status(&fresh.who).await.unwrap().confirmed);
}

pub async fn the_seed_is_sealed_at_rest<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let enrolled = enrol(&env, "ada@example.com").await;
    let stored = env
        .store()
        .get_totp(enrolled.user().id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.format_version, TOTP_FORMAT_VERSION);
    assert_eq!(stored.state, FactorState::Pending);
    assert_eq!(stored.created_at, env.auth.now());
    assert_eq!(stored.params, env.auth.config().totp.params);
    let text = stored.seed.to_text();
    let base32 = enrolled.enrolment.secret_base32.expose();
    assert!(!text.contains(base32) && !text.to_uppercase().contains(base32));
    assert!(!format!("{stored:?}").contains(base32));
    assert!(!format!("{:?}", enrolled.enrolment).contains(base32));
    let opened = env
        .auth
        .secret_box()
        .open(
            &stored.seed,
            &crate::totp::TotpFactor::seal_context(stored.user_id),
        )
        .unwrap();
    assert_eq!(opened.len(), 20);
}

pub async fn disabling_removes_the_factor_and_its_recovery_codes<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (enrolled, codes) = confirmed(&env, "ada@example.com").await;
    let totp = env.auth.totp();
    // A sensitive operation: from an aal2 session.
    totp.disable(&*aal2(&env, &enrolled.who).await, &meta())
        .await
        .unwrap();
    let status = totp.status(&enrolled.who).await.unwrap();
    assert!(!status.enrolled && !status.confirmed);
    assert_eq!(
        env.store()
            .count_recovery_codes(enrolled.user().id)
            .await
            .unwrap(),
        0
    );
    assert_code(
        totp.verify(enrolled.user(), &enrolled.code(&env, 0), &meta())
            .await,
        ErrorCode::TotpNotEnrolled,
    );
    assert_code(
        totp.use_recovery_code(enrolled.user(), codes.codes()[0].expose(), &meta())
            .await,
        ErrorCode::CodeInvalid,
    );
    assert_code(
        totp.disable(&enrolled.who, &meta()).await,
        ErrorCode::TotpNotEnrolled,
    );
    assert_eq!(
        env.audit_trail("totp.disable").await,
        vec![(true, None), (false, Some("TOTP_NOT_ENROLLED".into()))]
    );
    // Enrolling again starts afresh.
    let again = totp.enrol(&enrolled.who, &meta()).await.unwrap();
    totp.confirm(
        &enrolled.who,
        &code_from_uri(again.otpauth_uri.expose(), &env, 0),
        &meta(),
    )
    .await
    .unwrap();
}

pub async fn deleting_the_user_deletes_their_factor_and_codes<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (enrolled, _) = confirmed(&env, "ada@example.com").await;
    let (other, _) = confirmed(&env, "bob@example.com").await;
    let id = enrolled.user().id;
    env.auth
        .users()
        .delete(&Caller::System, id, true, &meta())
        .await
        .unwrap();
    assert!(env.store().get_totp(id).await.unwrap().is_none());
    assert_eq!(env.store().count_recovery_codes(id).await.unwrap(), 0);
    // Another user's are untouched.
    let status = env.auth.totp().status(&other.who).await.unwrap();
    assert!(status.confirmed);
    assert_eq!(status.recovery_codes_left, 10);
    // A pending enrolment goes with its user too.
    let pending = enrol(&env, "carol@example.com").await;
    env.auth
        .users()
        .delete(&Caller::System, pending.user().id, true, &meta())
        .await
        .unwrap();
    assert!(
        env.store()
            .get_totp(pending.user().id)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn a_password_reset_keeps_the_second_factor<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (enrolled, codes) = confirmed(&env, "ada@example.com").await;
    reset(&env, "ada@example.com", "the owner's new password").await;
    let status = env.auth.totp().status(&enrolled.who).await.unwrap();
    assert!(
        status.confirmed,
        "whoever controls the mailbox still needs the second factor"
    );
    assert_eq!(status.recovery_codes_left, 10);
    env.auth
        .totp()
        .use_recovery_code(enrolled.user(), codes.codes()[0].expose(), &meta())
        .await
        .unwrap();
}

pub async fn the_store_refuses_a_factor_for_a_missing_user<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let enrolled = enrol(&env, "ada@example.com").await;
    let mut factor = env
        .store()
        .get_totp(enrolled.user().id)
        .await
        .unwrap()
        .unwrap();
    factor.user_id = crate::UserId::new();
    match env.store().put_pending_totp(&factor).await {
        Err(crate::StoreError::MissingReference(crate::Entity::User)) => {}
        other => panic!("expected MissingReference(User), got {other:?}"),
    }
}
