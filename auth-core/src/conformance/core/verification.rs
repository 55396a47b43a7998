//! Emailed codes and links: verification, attempts, expiry, passwordless sign-in.

use crate::Caller;
use std::sync::Arc;

use time::Duration;

use crate::conformance::{Env, Harness, assert_code, meta};
use crate::users::{NewUser, UserPatch};
use crate::verification::{AttemptReservation, Purpose};
use crate::{Answer, Auth, AuthConfig, CoreStore, Email, ErrorCode, RequestMeta, SecretKey};

fn wrong_code(right: &str) -> String {
    let first = right.as_bytes()[0];
    let swapped = if first == b'9' {
        '0'
    } else {
        (first + 1) as char
    };
    format!("{swapped}{}", &right[1..])
}

pub async fn verify_email_with_code<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let signed_in = env.user("Verify@Example.com").await;
    env.auth
        .email()
        .send_verification(signed_in.user.id, &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("verify@example.com", Purpose::VerifyEmail)
        .unwrap();
    assert_eq!(mail.code.expose().len(), 6);
    assert_eq!(mail.expires_at, env.auth.now() + Duration::minutes(10));
    let user = env
        .auth
        .email()
        .verify(
            Answer::Code {
                email: "VERIFY@example.com",
                code: mail.code.expose(),
            },
            &meta(),
        )
        .await
        .unwrap();
    assert!(user.email_verified);
    // The cached session sees the change at once.
    let me = env
        .auth
        .sessions()
        .validate(signed_in.session_token.expose())
        .await
        .unwrap();
    assert!(me.user.email_verified);
    // Verified users are not sent another code.
    env.auth
        .email()
        .send_verification(signed_in.user.id, &meta())
        .await
        .unwrap();
    assert_eq!(env.mailer.messages().len(), 1);
}

pub async fn verify_email_with_link<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("link@example.com").await.user;
    env.auth
        .email()
        .send_verification(user.id, &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("link@example.com", Purpose::VerifyEmail)
        .unwrap();
    // A link for one purpose does not work for another.
    assert_code(
        env.auth
            .email()
            .sign_in(Answer::Link(mail.link_token.expose()), &meta())
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::CodeInvalid,
    );
    let verified = env
        .auth
        .email()
        .verify(Answer::Link(mail.link_token.expose()), &meta())
        .await
        .unwrap();
    assert!(verified.email_verified);
    assert_code(
        env.auth
            .email()
            .verify(Answer::Link(mail.link_token.expose()), &meta())
            .await,
        ErrorCode::CodeInvalid,
    );
    for bad in ["", "short", &"x".repeat(1 << 20)] {
        assert_code(
            env.auth.email().verify(Answer::Link(bad), &meta()).await,
            ErrorCode::CodeInvalid,
        );
    }
}

pub async fn wrong_codes_count_attempts_until_locked<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("try@example.com").await.user;
    env.auth
        .email()
        .send_verification(user.id, &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("try@example.com", Purpose::VerifyEmail)
        .unwrap();
    let wrong = wrong_code(mail.code.expose());
    let answer = |code| Answer::Code {
        email: "try@example.com",
        code,
    };
    for _ in 0..5 {
        assert_code(
            env.auth.email().verify(answer(&wrong), &meta()).await,
            ErrorCode::CodeInvalid,
        );
    }
    // Five attempts spent: even the right code is refused now.
    assert_code(
        env.auth
            .email()
            .verify(answer(mail.code.expose()), &meta())
            .await,
        ErrorCode::TooManyAttempts,
    );
    // Malformed codes do not even reach the store.
    for bad in ["", "12345", "abcdef", "1234567"] {
        assert_code(
            env.auth.email().verify(answer(bad), &meta()).await,
            ErrorCode::CodeInvalid,
        );
    }
}

pub async fn concurrent_wrong_codes_never_exceed_the_attempt_limit<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let node_a = Env::new(h.store.clone());
    let node_b = node_a.node(h.peer);
    let user = node_a.user("burst@example.com").await.user;
    node_a
        .auth
        .email()
        .send_verification(user.id, &meta())
        .await
        .unwrap();
    let mail = node_a
        .mailer
        .last("burst@example.com", Purpose::VerifyEmail)
        .unwrap();
    let wrong = Arc::new(wrong_code(mail.code.expose()));
    let mut tasks = Vec::new();
    for i in 0..40 {
        let auth: Auth<S> = if i % 2 == 0 {
            node_a.auth.clone()
        } else {
            node_b.auth.clone()
        };
        let wrong = Arc::clone(&wrong);
        tasks.push(tokio::spawn(async move {
            let email = Email::parse("burst@example.com").unwrap();
            auth.store()
                .reserve_code_attempt(&email, Purpose::VerifyEmail, auth.now())
                .await
                .map(|r| (r, wrong))
        }));
    }
    let mut reserved = 0;
    for task in tasks {
        match task.await.unwrap().unwrap().0 {
            AttemptReservation::Reserved(v) => {
                reserved += 1;
                assert!(v.attempts <= v.max_attempts);
            }
            AttemptReservation::Exhausted => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(reserved, 5, "exactly max_attempts attempts were granted");
}

pub async fn codes_expire<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("late@example.com").await.user;
    env.auth
        .email()
        .send_verification(user.id, &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("late@example.com", Purpose::VerifyEmail)
        .unwrap();
    env.advance(Duration::minutes(10));
    assert_code(
        env.auth
            .email()
            .verify(
                Answer::Code {
                    email: "late@example.com",
                    code: mail.code.expose(),
                },
                &meta(),
            )
            .await,
        ErrorCode::CodeExpired,
    );
    assert_code(
        env.auth
            .email()
            .verify(Answer::Link(mail.link_token.expose()), &meta())
            .await,
        ErrorCode::CodeExpired,
    );
    // One second earlier it would have worked: a new code, checked at 14:59.
    env.auth
        .email()
        .send_verification(user.id, &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("late@example.com", Purpose::VerifyEmail)
        .unwrap();
    env.advance(Duration::minutes(10) - Duration::seconds(1));
    env.auth
        .email()
        .verify(Answer::Link(mail.link_token.expose()), &meta())
        .await
        .unwrap();
}

pub async fn codes_are_single_use<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("once@example.com").await.user;
    env.auth
        .email()
        .send_verification(user.id, &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("once@example.com", Purpose::VerifyEmail)
        .unwrap();
    let answer = Answer::Code {
        email: "once@example.com",
        code: mail.code.expose(),
    };
    env.auth.email().verify(answer, &meta()).await.unwrap();
    assert_code(
        env.auth.email().verify(answer, &meta()).await,
        ErrorCode::CodeInvalid,
    );
    // Using the code also spent the link.
    assert_code(
        env.auth
            .email()
            .verify(Answer::Link(mail.link_token.expose()), &meta())
            .await,
        ErrorCode::CodeInvalid,
    );
}

pub async fn a_new_code_replaces_the_old<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("again@example.com").await.user;
    env.auth
        .email()
        .send_verification(user.id, &meta())
        .await
        .unwrap();
    let old = env
        .mailer
        .last("again@example.com", Purpose::VerifyEmail)
        .unwrap();
    env.auth
        .email()
        .send_verification(user.id, &meta())
        .await
        .unwrap();
    let new = env
        .mailer
        .last("again@example.com", Purpose::VerifyEmail)
        .unwrap();
    assert_code(
        env.auth
            .email()
            .verify(Answer::Link(old.link_token.expose()), &meta())
            .await,
        ErrorCode::CodeInvalid,
    );
    env.auth
        .email()
        .verify(
            Answer::Code {
                email: "again@example.com",
                code: new.code.expose(),
            },
            &meta(),
        )
        .await
        .unwrap();
}

pub async fn verification_after_email_change_fails<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("before@example.com").await.user;
    env.auth
        .email()
        .send_verification(user.id, &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("before@example.com", Purpose::VerifyEmail)
        .unwrap();
    env.auth
        .users()
        .update(
            &Caller::System,
            user.id,
            UserPatch {
                email: Some(Email::parse("after@example.com").unwrap()),
                ..UserPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_code(
        env.auth
            .email()
            .verify(Answer::Link(mail.link_token.expose()), &meta())
            .await,
        ErrorCode::CodeInvalid,
    );
    assert!(
        !env.auth
            .users()
            .get(&Caller::System, user.id)
            .await
            .unwrap()
            .email_verified
    );
}

pub async fn sign_in_with_code_for_existing_user<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("code@example.com").await.user;
    env.auth
        .email()
        .send_sign_in_code("Code@Example.com", &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("code@example.com", Purpose::SignIn)
        .unwrap();
    let signed_in = env
        .auth
        .email()
        .sign_in(
            Answer::Code {
                email: "code@example.com",
                code: mail.code.expose(),
            },
            &meta(),
        )
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
    assert_eq!(signed_in.user.id, user.id);
    assert!(signed_in.user.email_verified, "the code proved the address");
    env.auth
        .sessions()
        .validate(signed_in.session_token.expose())
        .await
        .unwrap();
}

pub async fn sign_in_with_link<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("magic@example.com").await.user;
    env.auth
        .email()
        .send_sign_in_code("magic@example.com", &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("magic@example.com", Purpose::SignIn)
        .unwrap();
    let signed_in = env
        .auth
        .email()
        .sign_in(Answer::Link(mail.link_token.expose()), &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
    assert_eq!(signed_in.user.id, user.id);
    assert_code(
        env.auth
            .email()
            .sign_in(Answer::Link(mail.link_token.expose()), &meta())
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::CodeInvalid,
    );
    // The sign-in and the refused replay are both audited.
    assert_eq!(
        env.audit_trail("user.sign_in").await,
        [(true, None), (false, Some("CODE_INVALID".to_owned()))]
    );
}

pub async fn passwordless_sign_up_only_when_enabled<S: CoreStore + Clone>(h: Harness<S>) {
    let closed = Env::new(h.store.clone());
    closed
        .auth
        .email()
        .send_sign_in_code("stranger@example.com", &meta())
        .await
        .unwrap();
    assert!(
        closed.mailer.messages().is_empty(),
        "no mail to unknown addresses"
    );

    let open = closed.node_with(h.store, |c| c.passwordless_sign_up = true);
    open.auth
        .email()
        .send_sign_in_code("stranger@example.com", &meta())
        .await
        .unwrap();
    let mail = open
        .mailer
        .last("stranger@example.com", Purpose::SignIn)
        .unwrap();
    let signed_in = open
        .auth
        .email()
        .sign_in(
            Answer::Code {
                email: "stranger@example.com",
                code: mail.code.expose(),
            },
            &meta(),
        )
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
    assert!(signed_in.user.email_verified);
    let accounts = open
        .auth
        .accounts()
        .list(&Caller::System, signed_in.user.id)
        .await
        .unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].provider.as_str(), "email");
}

pub async fn without_mailer_flows_are_not_configured<S: CoreStore + Clone>(h: Harness<S>) {
    let auth = Auth::builder(h.store)
        .secret_key(SecretKey::generate())
        .config(AuthConfig::insecure_for_tests())
        .build()
        .unwrap();
    let user = auth
        .users()
        .create(
            &Caller::System,
            NewUser {
                email: "m@example.com".into(),
                ..NewUser::default()
            },
            &RequestMeta::none(),
        )
        .await
        .unwrap();
    assert_code(
        auth.email()
            .send_verification(user.id, &RequestMeta::none())
            .await,
        ErrorCode::NotConfigured,
    );
    assert_code(
        auth.password()
            .forgot("m@example.com", &RequestMeta::none())
            .await,
        ErrorCode::NotConfigured,
    );
    // Unknown addresses get the same answer: no hint which exist.
    assert_code(
        auth.password()
            .forgot("x@example.com", &RequestMeta::none())
            .await,
        ErrorCode::NotConfigured,
    );
    for address in ["m@example.com", "x@example.com"] {
        assert_code(
            auth.email()
                .send_sign_in_code(address, &RequestMeta::none())
                .await,
            ErrorCode::NotConfigured,
        );
    }
    let no_mailer = Auth::builder(())
        .secret_key(SecretKey::generate())
        .config({
            let mut c = AuthConfig::insecure_for_tests();
            c.require_email_verification = true;
            c
        })
        .build();
    assert!(no_mailer.is_err(), "verification required without a mailer");
}

pub async fn purge_deletes_old_verifications<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("purge@example.com").await.user;
    env.auth
        .email()
        .send_verification(user.id, &meta())
        .await
        .unwrap();
    env.advance(Duration::minutes(16));
    let purged = env
        .store()
        .purge_verifications(env.auth.now())
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let email = Email::parse("purge@example.com").unwrap();
    assert_eq!(
        env.store()
            .reserve_code_attempt(&email, Purpose::VerifyEmail, env.auth.now())
            .await
            .unwrap(),
        AttemptReservation::NoneActive
    );
    assert!(env.store().get_user(user.id).await.unwrap().is_some());
}

pub async fn emails_per_address_are_limited<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| {
        c.mail_limit = Some(crate::api_keys::RateLimit {
            max: 2,
            window: Duration::HOUR,
        });
    });
    let user = env.user("inbox@example.com").await.user;
    for _ in 0..2 {
        env.auth
            .email()
            .send_verification(user.id, &meta())
            .await
            .unwrap();
    }
    assert_code(
        env.auth.email().send_verification(user.id, &meta()).await,
        ErrorCode::RateLimited,
    );
    // Unauthenticated senders get the same answer as for unknown addresses: success, and
    // no mail.
    for _ in 0..3 {
        env.auth
            .password()
            .forgot("inbox@example.com", &meta())
            .await
            .unwrap();
    }
    let resets = env
        .mailer
        .messages()
        .into_iter()
        .filter(|m| m.purpose == Purpose::ResetPassword)
        .count();
    assert_eq!(resets, 2, "the limit is per purpose");
    assert_eq!(env.mailer.messages().len(), 4);
    env.advance(Duration::HOUR);
    env.auth
        .email()
        .send_verification(user.id, &meta())
        .await
        .unwrap();
}

pub async fn email_change_is_confirmed_at_the_new_address<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let signed_in = env.user("old@example.com").await;
    let caller = Caller::from(
        env.auth
            .sessions()
            .validate(signed_in.session_token.expose())
            .await
            .unwrap(),
    );
    env.auth
        .email()
        .request_email_change(&caller, "New@Example.com", &meta())
        .await
        .unwrap();
    // Sent to the new address; nothing changed yet.
    assert!(
        env.mailer
            .last("old@example.com", Purpose::ChangeEmail)
            .is_none()
    );
    let mail = env
        .mailer
        .last("new@example.com", Purpose::ChangeEmail)
        .unwrap();
    let before = env
        .auth
        .users()
        .get(&Caller::System, signed_in.user.id)
        .await
        .unwrap();
    assert_eq!(before.email.as_str(), "old@example.com");
    // The code answers for the new address only, and only for this purpose.
    assert_code(
        env.auth
            .email()
            .confirm_email_change(
                Answer::Code {
                    email: "old@example.com",
                    code: mail.code.expose(),
                },
                &meta(),
            )
            .await,
        ErrorCode::CodeInvalid,
    );
    assert_code(
        env.auth
            .email()
            .sign_in(Answer::Link(mail.link_token.expose()), &meta())
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::CodeInvalid,
    );
    let user = env
        .auth
        .email()
        .confirm_email_change(
            Answer::Code {
                email: "new@example.com",
                code: mail.code.expose(),
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(user.email.as_str(), "new@example.com");
    assert!(user.email_verified);
    // The cached session sees the new address at once.
    let me = env
        .auth
        .sessions()
        .validate(signed_in.session_token.expose())
        .await
        .unwrap();
    assert_eq!(me.user.email.as_str(), "new@example.com");
    // The old address is told; the password now goes with the new one.
    assert_eq!(
        env.mailer.notices(),
        [crate::verification::Notice::EmailChanged {
            to: Email::parse("old@example.com").unwrap(),
            new: Email::parse("new@example.com").unwrap(),
        }]
    );
    env.sign_in("new@example.com").await;
    assert_code(
        env.auth
            .password()
            .sign_in(
                "old@example.com",
                &crate::Secret::new(crate::conformance::PASSWORD),
                &meta(),
            )
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::InvalidCredentials,
    );
    // Spent.
    assert_code(
        env.auth
            .email()
            .confirm_email_change(Answer::Link(mail.link_token.expose()), &meta())
            .await,
        ErrorCode::CodeInvalid,
    );
    assert_eq!(
        env.audit_trail("email.change_requested").await,
        [(true, None)]
    );
    assert_eq!(
        env.audit_trail("email.changed").await,
        [
            (false, Some("CODE_INVALID".to_owned())),
            (true, None),
            (false, Some("CODE_INVALID".to_owned()))
        ]
    );
}

pub async fn email_change_by_link<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("l1@example.com").await.user;
    let caller = env.caller(user.id).await;
    env.auth
        .email()
        .request_email_change(&caller, "l2@example.com", &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("l2@example.com", Purpose::ChangeEmail)
        .unwrap();
    let changed = env
        .auth
        .email()
        .confirm_email_change(Answer::Link(mail.link_token.expose()), &meta())
        .await
        .unwrap();
    assert_eq!(changed.id, user.id);
    assert_eq!(changed.email.as_str(), "l2@example.com");
    assert!(changed.email_verified);
}

pub async fn email_change_refuses_taken_addresses<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("me@example.com").await.user;
    env.user("taken@example.com").await;
    let caller = env.caller(user.id).await;
    let email = env.auth.email();
    assert_code(
        email
            .request_email_change(&caller, "TAKEN@example.com", &meta())
            .await,
        ErrorCode::EmailInUse,
    );
    assert_code(
        email
            .request_email_change(&caller, "me@example.com", &meta())
            .await,
        ErrorCode::InvalidInput,
    );
    assert_code(
        email
            .request_email_change(&caller, "not an address", &meta())
            .await,
        ErrorCode::InvalidEmail,
    );
    assert_code(
        email
            .request_email_change(&Caller::System, "free@example.com", &meta())
            .await,
        ErrorCode::Forbidden,
    );
    assert!(env.mailer.messages().is_empty());
    // Free when asked, taken by the time of the confirmation: refused, nothing changes.
    email
        .request_email_change(&caller, "free@example.com", &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("free@example.com", Purpose::ChangeEmail)
        .unwrap();
    env.user("free@example.com").await;
    assert_code(
        email
            .confirm_email_change(Answer::Link(mail.link_token.expose()), &meta())
            .await,
        ErrorCode::EmailInUse,
    );
    let still = env
        .auth
        .users()
        .get(&Caller::System, user.id)
        .await
        .unwrap();
    assert_eq!(still.email.as_str(), "me@example.com");
    assert!(env.mailer.notices().is_empty());
    let refused = Some("EMAIL_IN_USE".to_owned());
    assert_eq!(
        env.audit_trail("email.changed").await,
        [(false, refused.clone())]
    );
    let requests = env.audit_trail("email.change_requested").await;
    assert_eq!(requests.first(), Some(&(false, refused)));
    assert_eq!(requests.last(), Some(&(true, None)));
    // A user may not set the verified flag themselves.
    assert_code(
        env.auth
            .users()
            .update(
                &caller,
                user.id,
                UserPatch {
                    email_verified: Some(true),
                    ..UserPatch::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::InvalidInput,
    );
}
