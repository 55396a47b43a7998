//! Brute-force limits: password sign-in per account (failures only) and per client
//! network, sign-up per client network, wrong codes per (address, purpose) across codes.

use time::Duration;

use crate::api_keys::RateLimit;
use crate::conformance::{Env, Harness, PASSWORD, assert_code, meta};
use crate::verification::Purpose;
use crate::{
    Actor, Answer, AuthError, Caller, CoreStore, ErrorCode, RequestMeta, Secret, SignUp, SignedIn,
};

/// Request metadata from the client address `ip`.
fn from(ip: &str) -> RequestMeta {
    meta().with_ip(ip.parse().expect("a test address"))
}

async fn sign_in<S: CoreStore + Clone>(
    env: &Env<S>,
    email: &str,
    password: &str,
    meta: &RequestMeta,
) -> Result<SignedIn, AuthError> {
    env.auth
        .password()
        .sign_in(email, &Secret::new(password), meta)
        .await
        .and_then(crate::SignInOutcome::signed_in)
}

/// The wait a `RATE_LIMITED` answer asks for.
fn retry_after<T: std::fmt::Debug>(result: Result<T, AuthError>) -> Duration {
    match result {
        Err(AuthError::RateLimited { retry_after }) => retry_after,
        other => panic!("expected RATE_LIMITED, got {other:?}"),
    }
}

/// The audit log's failed sign-ins refused by a limit: (actor, detail's `limit`, ip).
async fn refused_sign_ins<S: CoreStore + Clone>(
    env: &Env<S>,
) -> Vec<(Actor, String, Option<String>)> {
    env.auth
        .audit()
        .list(
            &Caller::System,
            crate::ListQuery::new(
                crate::audit::AuditFilter {
                    action: Some("user.sign_in".into()),
                    ok: Some(false),
                    ..crate::audit::AuditFilter::default()
                },
                crate::audit::AuditOrder::At,
            )
            .limit(1000),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.error_code.as_deref() == Some("RATE_LIMITED"))
        .map(|e| {
            (
                e.actor,
                e.detail["limit"].as_str().unwrap().to_owned(),
                e.ip,
            )
        })
        .collect()
}

/// The reviewer's scenario: 10 wrong passwords from each of 20 addresses. Refused after the
/// 10th, whatever the address; the right password from a fresh address is refused too
/// while locked (the password is not even checked), and works after the wait.
pub async fn password_guesses_from_many_addresses_lock_the_account<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let victim = env.user("victim@example.com").await.user;
    let mut answers = Vec::new();
    for client in 0..20 {
        let meta = from(&format!("198.51.100.{client}"));
        for _ in 0..10 {
            let result = sign_in(&env, "victim@example.com", "wrong password", &meta).await;
            answers.push(result.unwrap_err().code());
        }
    }
    let wrong = answers
        .iter()
        .filter(|c| **c == ErrorCode::InvalidCredentials)
        .count();
    assert_eq!(wrong, 10, "only the first 10 guesses are checked");
    assert!(answers[10..].iter().all(|c| *c == ErrorCode::RateLimited));
    // The right password, from an address that never guessed, waits too.
    let fresh = from("203.0.113.99");
    // After the burst the allowance comes back one attempt per 90 s.
    let wait = retry_after(sign_in(&env, "victim@example.com", PASSWORD, &fresh).await);
    assert!(
        wait > Duration::ZERO && wait <= Duration::seconds(90),
        "{wait}"
    );
    // Every refusal was audited, naming the account and the address.
    let refused = refused_sign_ins(&env).await;
    assert_eq!(refused.len(), 191);
    assert!(
        refused
            .iter()
            .all(|(actor, limit, _)| *actor == Actor::User { id: victim.id } && limit == "account")
    );
    assert!(
        refused
            .iter()
            .any(|(_, _, ip)| ip.as_deref() == Some("203.0.113.99"))
    );
    env.advance(wait);
    sign_in(&env, "victim@example.com", PASSWORD, &fresh)
        .await
        .unwrap();
}

/// Unknown addresses are limited like known ones, so a 429 tells nothing.
pub async fn unknown_addresses_are_limited_alike<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    for _ in 0..10 {
        assert_code(
            sign_in(&env, "nobody@example.com", PASSWORD, &meta()).await,
            ErrorCode::InvalidCredentials,
        );
    }
    assert_code(
        sign_in(&env, "nobody@example.com", PASSWORD, &meta()).await,
        ErrorCode::RateLimited,
    );
    assert_eq!(refused_sign_ins(&env).await[0].0, Actor::Anonymous);
}

/// A locked account's owner gets through with a password reset or an emailed code, which
/// clear the guesses: an attacker cannot lock them out.
pub async fn reset_and_emailed_codes_unlock_the_account<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    env.user("owner@example.com").await;
    let lock = || async {
        for _ in 0..10 {
            let _ = sign_in(&env, "owner@example.com", "guess", &from("192.0.2.66")).await;
        }
        assert_code(
            sign_in(&env, "owner@example.com", PASSWORD, &meta()).await,
            ErrorCode::RateLimited,
        );
    };
    lock().await;
    env.auth
        .password()
        .forgot("owner@example.com", &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("owner@example.com", Purpose::ResetPassword)
        .unwrap();
    let new_password = Secret::new("the owner's new password");
    env.auth
        .password()
        .reset(
            Answer::Link(mail.link_token.expose()),
            &new_password,
            &meta(),
        )
        .await
        .unwrap();
    env.auth
        .password()
        .sign_in("owner@example.com", &new_password, &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
    // Locked again, an emailed sign-in code gets the owner in and clears the guesses too.
    for _ in 0..10 {
        let _ = sign_in(&env, "owner@example.com", "guess", &from("192.0.2.66")).await;
    }
    assert_code(
        env.auth
            .password()
            .sign_in("owner@example.com", &new_password, &meta())
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::RateLimited,
    );
    env.sign_in_by_link("owner@example.com").await;
    env.auth
        .password()
        .sign_in("owner@example.com", &new_password, &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
}

/// Only failures count: ten and more successful sign-ins in a few minutes, or a success
/// after nine typos, never lock the user out.
pub async fn successful_sign_ins_do_not_lock_the_user<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    env.user("busy@example.com").await;
    for _ in 0..20 {
        env.sign_in("busy@example.com").await;
        env.advance(Duration::seconds(30));
    }
    for _ in 0..3 {
        for _ in 0..9 {
            assert_code(
                sign_in(&env, "busy@example.com", "typo", &meta()).await,
                ErrorCode::InvalidCredentials,
            );
        }
        env.sign_in("busy@example.com").await;
    }
}

/// Users behind one address (a NAT) neither lock themselves out by signing in often nor
/// lock each other out: guesses against one account leave the others alone.
pub async fn users_behind_one_address_do_not_lock_each_other_out<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    // The NAT's failures count against it (10 of 15 here), its successes do not.
    let env = Env::with_config(h.store, |c| {
        c.sign_in_ip_limit = Some(RateLimit {
            max: 15,
            window: Duration::minutes(15),
        });
    });
    let nat = from("192.0.2.1");
    let users: Vec<String> = (0..5).map(|i| format!("staff{i}@example.com")).collect();
    for email in &users {
        env.user(email).await;
    }
    // Someone behind the NAT guesses at one colleague's account until it locks.
    for _ in 0..10 {
        let _ = sign_in(&env, &users[0], "guess", &nat).await;
    }
    assert_code(
        sign_in(&env, &users[0], PASSWORD, &nat).await,
        ErrorCode::RateLimited,
    );
    for _ in 0..12 {
        for email in &users[1..] {
            sign_in(&env, email, PASSWORD, &nat).await.unwrap();
        }
    }
    // Five more failures from the NAT use up its limit; then everyone there waits.
    for i in 0..5 {
        let _ = sign_in(&env, &format!("nobody{i}@example.com"), "guess", &nat).await;
    }
    assert_code(
        sign_in(&env, &users[1], PASSWORD, &nat).await,
        ErrorCode::RateLimited,
    );
}

/// One client network is limited across addresses (credential stuffing); an IPv6 client
/// counts per /64, so a fresh address from the same /64 does not help; other networks are
/// not affected.
pub async fn password_attempts_are_limited_per_client_network<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| {
        c.sign_in_ip_limit = Some(RateLimit {
            max: 5,
            window: Duration::minutes(15),
        });
    });
    env.user("real@example.com").await;
    for i in 0..5 {
        let meta = from(&format!("2001:db8:7:7::{i}"));
        assert_code(
            sign_in(&env, &format!("stuffed{i}@example.com"), "pw", &meta).await,
            ErrorCode::InvalidCredentials,
        );
    }
    // Another address of the same /64, and a right password: refused unchecked.
    assert_code(
        sign_in(
            &env,
            "real@example.com",
            PASSWORD,
            &from("2001:db8:7:7:ffff::1"),
        )
        .await,
        ErrorCode::RateLimited,
    );
    let refused = refused_sign_ins(&env).await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].1, "network");
    // The next /64 is another client.
    sign_in(&env, "real@example.com", PASSWORD, &from("2001:db8:7:8::1"))
        .await
        .unwrap();
    // An IPv4 client counts the same under its IPv4-mapped IPv6 form.
    for i in 0..5 {
        let _ = sign_in(
            &env,
            &format!("v4-{i}@example.com"),
            "pw",
            &from("192.0.2.9"),
        )
        .await;
    }
    assert_code(
        sign_in(
            &env,
            "real@example.com",
            PASSWORD,
            &from("::ffff:192.0.2.9"),
        )
        .await,
        ErrorCode::RateLimited,
    );
}

fn sign_up_input(email: &str) -> SignUp {
    SignUp {
        email: email.into(),
        password: Secret::new(PASSWORD),
        name: None,
        extend: None,
    }
}

/// Sign-up is limited per client network (10 per hour by default): the 11th from one
/// address is refused, creates nothing and is audited; other networks are not affected.
pub async fn sign_ups_are_limited_per_client_network<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let client = from("198.51.100.23");
    for i in 0..10 {
        env.auth
            .password()
            .sign_up(sign_up_input(&format!("bulk{i}@example.com")), &client)
            .await
            .unwrap();
    }
    let wait = retry_after(
        env.auth
            .password()
            .sign_up(sign_up_input("bulk10@example.com"), &client)
            .await,
    );
    assert!(
        wait > Duration::ZERO && wait <= Duration::minutes(6),
        "{wait}"
    );
    let nobody = crate::Email::parse("bulk10@example.com").unwrap();
    assert!(
        env.store()
            .get_user_by_email(&nobody)
            .await
            .unwrap()
            .is_none()
    );
    let rate_limited = Some("RATE_LIMITED".to_owned());
    assert!(
        env.audit_trail("user.sign_up")
            .await
            .contains(&(false, rate_limited))
    );
    env.auth
        .password()
        .sign_up(
            sign_up_input("elsewhere@example.com"),
            &from("198.51.100.24"),
        )
        .await
        .unwrap();
    env.advance(wait);
    env.auth
        .password()
        .sign_up(sign_up_input("bulk10@example.com"), &client)
        .await
        .unwrap();
}

fn wrong_code(right: &str) -> String {
    let first = right.as_bytes()[0];
    let swapped = if first == b'9' {
        '0'
    } else {
        (first + 1) as char
    };
    format!("{swapped}{}", &right[1..])
}

/// Wrong codes count per (address, purpose) across codes: asking for a new code does not
/// start the count again. The 11th typed code in a day is refused (even a right one) and
/// audited; the emailed link, which cannot be guessed, still works; a right code later
/// clears the count.
pub async fn wrong_codes_are_counted_across_codes<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("codes@example.com").await.user;
    let forgot = || async {
        env.auth
            .password()
            .forgot("codes@example.com", &meta())
            .await
            .unwrap();
        env.mailer
            .last("codes@example.com", Purpose::ResetPassword)
            .unwrap()
    };
    let reset = |code: String| {
        let env = &env;
        async move {
            env.auth
                .password()
                .reset(
                    Answer::Code {
                        email: "codes@example.com",
                        code: &code,
                    },
                    &Secret::new("a new password 123"),
                    &meta(),
                )
                .await
        }
    };
    // Two codes, five wrong guesses each: each code's own limit is never reached.
    for _ in 0..2 {
        let mail = forgot().await;
        for _ in 0..5 {
            assert_code(
                reset(wrong_code(mail.code.expose())).await,
                ErrorCode::CodeInvalid,
            );
        }
    }
    let mail = forgot().await;
    let wait = retry_after(reset(mail.code.expose().to_owned()).await);
    assert!(
        wait > Duration::ZERO && wait <= Duration::minutes(144),
        "{wait}"
    );
    let events = env
        .auth
        .audit()
        .list(
            &Caller::System,
            crate::ListQuery::new(
                crate::audit::AuditFilter {
                    action: Some("verification.code".into()),
                    ..crate::audit::AuditFilter::default()
                },
                crate::audit::AuditOrder::At,
            )
            .limit(1000),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].error_code.as_deref(), Some("RATE_LIMITED"));
    assert_eq!(events[0].subject, Some(format!("user:{}", user.id)));
    assert_eq!(events[0].detail["purpose"], "reset_password");
    // Another purpose of the same address is counted apart.
    env.auth
        .email()
        .send_verification(user.id, &meta())
        .await
        .unwrap();
    let verify = env
        .mailer
        .last("codes@example.com", Purpose::VerifyEmail)
        .unwrap();
    env.auth
        .email()
        .verify(
            Answer::Code {
                email: "codes@example.com",
                code: verify.code.expose(),
            },
            &meta(),
        )
        .await
        .unwrap();
    // The link still works while typed codes wait.
    let mail = forgot().await;
    env.auth
        .password()
        .reset(
            Answer::Link(mail.link_token.expose()),
            &Secret::new("a new password 123"),
            &meta(),
        )
        .await
        .unwrap();
    // After the wait a right code goes through, and clears the count.
    env.advance(wait);
    let mail = forgot().await;
    reset(mail.code.expose().to_owned()).await.unwrap();
    let mail = forgot().await;
    for _ in 0..5 {
        assert_code(
            reset(wrong_code(mail.code.expose())).await,
            ErrorCode::CodeInvalid,
        );
    }
}
