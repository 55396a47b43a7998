//! The sign-in challenge with TOTP: a user with a confirmed factor gets `MFA_REQUIRED` and a
//! challenge instead of a session, completes it with a code or a recovery code into an
//! `aal2` session; the challenge's attempts, expiry, single use and replacement; step-up.

use std::sync::Arc;

use time::Duration;

use super::{aal2, confirmed};
use crate::conformance::{Env, Harness, PASSWORD, assert_code, meta};
use crate::{Aal, AuthError, ErrorCode, Secret, SignInOutcome, SignedIn, TotpDomain};

/// Signs in with the password; the challenge token (panics on a session).
async fn challenge<S: TotpDomain + Clone>(env: &Env<S>, email: &str) -> String {
    env.mfa_challenge(email, &["totp", "recovery_code"]).await
}

/// Completes the challenge `token` with the TOTP `code`.
async fn complete<S: TotpDomain + Clone>(
    env: &Env<S>,
    token: &str,
    code: &str,
) -> Result<SignedIn, AuthError> {
    env.auth
        .totp()
        .complete_challenge(token, code, &meta())
        .await
}

pub async fn the_store_reports_a_confirmed_factor_only<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let pending = super::enrol(&env, "pending@example.com").await;
    let store = env.auth.store();
    assert!(!store.second_factors(pending.user().id).await.unwrap().any());
    // Pending: the password alone still signs in.
    env.sign_in("pending@example.com").await;
    let (done, _) = confirmed(&env, "done@example.com").await;
    assert!(store.second_factors(done.user().id).await.unwrap().totp);
    env.auth
        .totp()
        .disable(&*aal2(&env, &done.who).await, &meta())
        .await
        .unwrap();
    assert!(!store.second_factors(done.user().id).await.unwrap().any());
    env.sign_in("done@example.com").await;
}

pub async fn a_password_sign_in_asks_for_the_second_factor<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (enrolled, _) = confirmed(&env, "mfa@example.com").await;
    let token = challenge(&env, "mfa@example.com").await;
    let done = complete(&env, &token, &enrolled.code(&env, 0))
        .await
        .unwrap();
    assert_eq!(done.session.aal, Aal::Aal2);
    assert_eq!(done.user.id, enrolled.user().id);
    let me = env
        .auth
        .sessions()
        .validate(done.session_token.expose())
        .await
        .unwrap();
    assert_eq!(me.session.aal, Aal::Aal2);
    // Used: the same challenge gives nothing more.
    env.advance(Duration::seconds(30));
    assert_code(
        complete(&env, &token, &enrolled.code(&env, 0)).await,
        ErrorCode::MfaChallengeInvalid,
    );
    // Audited: the first factor refused with MFA_REQUIRED, then the completion.
    let sign_ins = env.audit_trail("user.sign_in").await;
    assert!(sign_ins.contains(&(false, Some("MFA_REQUIRED".into()))));
    assert_eq!(
        env.audit_trail("mfa.challenge").await,
        [(true, None), (false, Some("MFA_CHALLENGE_INVALID".into()))]
    );
}

pub async fn a_recovery_code_completes_the_challenge_once<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (_, codes) = confirmed(&env, "lost@example.com").await;
    let recovery = codes.codes()[0].expose().to_owned();
    let token = challenge(&env, "lost@example.com").await;
    let done = env
        .auth
        .totp()
        .complete_challenge_with_recovery_code(&token, &recovery, &meta())
        .await
        .unwrap();
    assert_eq!(done.session.aal, Aal::Aal2);
    let token = challenge(&env, "lost@example.com").await;
    assert_code(
        env.auth
            .totp()
            .complete_challenge_with_recovery_code(&token, &recovery, &meta())
            .await,
        ErrorCode::CodeInvalid,
    );
}

pub async fn wrong_codes_spend_the_challenges_attempts<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| c.mfa.challenge_attempts = 3);
    let (enrolled, _) = confirmed(&env, "guess@example.com").await;
    let token = challenge(&env, "guess@example.com").await;
    let wrong = &enrolled.wrong_code(&env);
    for _ in 0..3 {
        assert_code(complete(&env, &token, wrong).await, ErrorCode::CodeInvalid);
    }
    // The right code no longer helps: sign in again.
    assert_code(
        complete(&env, &token, &enrolled.code(&env, 0)).await,
        ErrorCode::TooManyAttempts,
    );
    let token = challenge(&env, "guess@example.com").await;
    complete(&env, &token, &enrolled.code(&env, 0))
        .await
        .unwrap();
}

pub async fn a_challenge_expires_and_a_newer_sign_in_replaces_it<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (enrolled, _) = confirmed(&env, "slow@example.com").await;
    let token = challenge(&env, "slow@example.com").await;
    env.advance(Duration::minutes(5) + Duration::seconds(1));
    assert_code(
        complete(&env, &token, &enrolled.code(&env, 0)).await,
        ErrorCode::MfaChallengeExpired,
    );
    let first = challenge(&env, "slow@example.com").await;
    let second = challenge(&env, "slow@example.com").await;
    assert_code(
        complete(&env, &first, &enrolled.code(&env, 0)).await,
        ErrorCode::MfaChallengeInvalid,
    );
    // Malformed and foreign tokens are refused alike.
    let (other, _) = confirmed(&env, "other@example.com").await;
    let random = second.split_once('.').unwrap().1;
    let foreign = format!("{}.{random}", other.user().id.as_uuid().simple());
    for bad in ["", "nonsense", random, foreign.as_str()] {
        assert_code(
            complete(&env, bad, &enrolled.code(&env, 0)).await,
            ErrorCode::MfaChallengeInvalid,
        );
    }
    complete(&env, &second, &enrolled.code(&env, 0))
        .await
        .unwrap();
}

pub async fn concurrent_completions_give_one_session<S: TotpDomain + Clone>(h: Harness<S>) {
    let env = Arc::new(Env::new(h.store.clone()));
    let peer = Arc::new(env.node(h.peer));
    let (_, codes) = confirmed(&env, "race@example.com").await;
    let token = challenge(&env, "race@example.com").await;
    // Ten different recovery codes at once on two nodes: one challenge, one session.
    let mut tasks = Vec::new();
    for (i, code) in codes.codes().iter().enumerate() {
        let node = if i % 2 == 0 {
            env.clone()
        } else {
            peer.clone()
        };
        let (token, code) = (token.clone(), code.expose().to_owned());
        tasks.push(tokio::spawn(async move {
            node.auth
                .totp()
                .complete_challenge_with_recovery_code(&token, &code, &meta())
                .await
                .is_ok()
        }));
    }
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap());
    }
    assert_eq!(won, 1);
}

pub async fn an_emailed_sign_in_asks_for_the_second_factor_too<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (enrolled, _) = confirmed(&env, "link@example.com").await;
    let user = enrolled.user();
    env.store()
        .mark_email_verified(user.id, &user.email, env.auth.now())
        .await
        .unwrap();
    let outcome = sign_in_by_link(&env, "link@example.com").await;
    let Some(challenge) = outcome.challenge() else {
        panic!("an emailed sign-in of a user with TOTP got a session");
    };
    complete(&env, challenge.token.expose(), &enrolled.code(&env, 0))
        .await
        .unwrap();
}

pub async fn the_first_emailed_sign_in_to_an_unverified_account_removes_its_factor<
    S: TotpDomain + Clone,
>(
    h: Harness<S>,
) {
    // Whoever signed up with the address before its owner proved it set the factor up.
    let env = Env::new(h.store);
    let (enrolled, _) = confirmed(&env, "squatted@example.com").await;
    let outcome = sign_in_by_link(&env, "squatted@example.com").await;
    assert!(outcome.challenge().is_none(), "the owner signs in");
    let store = env.auth.store();
    assert!(
        !store
            .second_factors(enrolled.user().id)
            .await
            .unwrap()
            .any()
    );
    assert!(store.get_totp(enrolled.user().id).await.unwrap().is_none());
    assert_eq!(
        store
            .count_recovery_codes(enrolled.user().id)
            .await
            .unwrap(),
        0
    );
}

/// Sends an emailed sign-in code to `email` and follows its link.
async fn sign_in_by_link<S: TotpDomain + Clone>(env: &Env<S>, email: &str) -> SignInOutcome {
    env.auth
        .email()
        .send_sign_in_code(email, &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last(email, crate::verification::Purpose::SignIn)
        .unwrap();
    env.auth
        .email()
        .sign_in(crate::Answer::Link(mail.link_token.expose()), &meta())
        .await
        .unwrap()
}

pub async fn sensitive_operations_need_aal2_and_step_up_gives_it<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    // The session that enrolled began before the factor: aal1.
    let (enrolled, _) = confirmed(&env, "step@example.com").await;
    let who = &enrolled.who;
    assert_eq!(who.session.aal, Aal::Aal1);
    assert_code(
        env.auth.totp().disable(who, &meta()).await,
        ErrorCode::MfaRequired,
    );
    assert_code(
        env.auth
            .password()
            .change(
                who,
                Some(&Secret::new(PASSWORD)),
                &Secret::new("a brand new passphrase"),
                &meta(),
            )
            .await,
        ErrorCode::MfaRequired,
    );
    assert_code(
        env.auth
            .totp()
            .regenerate_recovery_codes(who, &meta())
            .await,
        ErrorCode::MfaRequired,
    );
    assert_eq!(
        env.audit_failures(&["totp.disable", "user.password_change"])
            .await,
        [Some("MFA_REQUIRED".into()), Some("MFA_REQUIRED".into())]
    );
    // A wrong code does not step up; the right one replaces the session with an aal2 one.
    let wrong = &enrolled.wrong_code(&env);
    assert_code(
        env.auth.totp().step_up(who, wrong, &meta()).await,
        ErrorCode::CodeInvalid,
    );
    let stepped = env
        .auth
        .totp()
        .step_up(who, &enrolled.code(&env, 0), &meta())
        .await
        .unwrap();
    assert_eq!(stepped.session.aal, Aal::Aal2);
    assert_ne!(stepped.session.id, who.session.id);
    // The old session ended with it.
    let old = env
        .auth
        .store()
        .get_session(who.session.id)
        .await
        .unwrap()
        .unwrap();
    assert!(old.revoked_at.is_some());
    let strong = Arc::new(stepped.caller().session().unwrap().clone());
    env.auth
        .totp()
        .regenerate_recovery_codes(&strong, &meta())
        .await
        .unwrap();
    env.auth.totp().disable(&strong, &meta()).await.unwrap();
}

pub async fn a_forged_token_spends_none_of_the_challenges_attempts<S: TotpDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::with_config(h.store, |c| c.mfa.challenge_attempts = 2);
    let (enrolled, _) = confirmed(&env, "target@example.com").await;
    let token = challenge(&env, "target@example.com").await;
    // Someone who knows the user id (it is no secret) but not the token's random part.
    let user_part = token.split_once('.').unwrap().0;
    for guess in ['A', 'B', 'C'] {
        let forged = format!("{user_part}.{}", guess.to_string().repeat(43));
        assert_code(
            complete(&env, &forged, &enrolled.code(&env, 0)).await,
            ErrorCode::MfaChallengeInvalid,
        );
    }
    // The holder's challenge still has both of its attempts.
    let wrong = &enrolled.wrong_code(&env);
    assert_code(complete(&env, &token, wrong).await, ErrorCode::CodeInvalid);
    complete(&env, &token, &enrolled.code(&env, 0))
        .await
        .unwrap();
}
