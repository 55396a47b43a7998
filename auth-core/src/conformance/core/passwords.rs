//! Password sign-up, sign-in, change and reset.

use crate::Caller;
use time::Duration;

use crate::accounts::{PasswordHash, RevokeSessions};
use crate::conformance::{Env, Harness, PASSWORD, assert_code, meta};
use crate::passwords::Argon2Config;
use crate::validate::Email;
use crate::verification::{Notice, Purpose};
use crate::{
    Answer, Auth, AuthConfig, CoreStore, ErrorCode, Provider, Secret, SignUp, SignUpOutcome,
};

fn sign_up(email: &str, password: &str) -> SignUp {
    SignUp {
        email: email.into(),
        password: Secret::new(password),
        name: Some("Test".into()),
        extend: None,
    }
}

pub async fn sign_up_signs_in<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let signed_in = env.user("New@Example.com").await;
    assert_eq!(signed_in.user.email.as_str(), "new@example.com");
    assert!(!signed_in.user.email_verified);
    assert_ne!(signed_in.session_token, signed_in.refresh_token);
    let me = env
        .auth
        .sessions()
        .validate(signed_in.session_token.expose())
        .await
        .unwrap();
    assert_eq!(me.user.id, signed_in.user.id);
    assert_eq!(me.session.id, signed_in.session.id);
    // The stored hash is Argon2id, never the password.
    let account = env
        .store()
        .get_account(&Provider::password(), &signed_in.user.id.to_string())
        .await
        .unwrap()
        .unwrap();
    let hash = account.password_hash.unwrap();
    assert!(hash.as_str().starts_with("$argon2id$"));
    assert!(!hash.as_str().contains(PASSWORD));
}

pub async fn sign_up_with_taken_email_is_email_in_use<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    env.user("taken@example.com").await;
    assert_code(
        env.auth
            .password()
            .sign_up(
                sign_up("TAKEN@example.com", "another good password"),
                &meta(),
            )
            .await,
        ErrorCode::EmailInUse,
    );
}

pub async fn sign_up_rejects_bad_input<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let megabyte = "p".repeat(1 << 20);
    let long_email = format!("{}@example.com", "a".repeat(300));
    let cases = [
        (sign_up("", PASSWORD), ErrorCode::InvalidEmail),
        (sign_up("no-at-sign", PASSWORD), ErrorCode::InvalidEmail),
        (sign_up(&long_email, PASSWORD), ErrorCode::InvalidEmail),
        (sign_up("w@example.com", "short"), ErrorCode::WeakPassword),
        (sign_up("w@example.com", ""), ErrorCode::WeakPassword),
        (sign_up("w@example.com", &megabyte), ErrorCode::WeakPassword),
        (
            sign_up("w@example.com", "w@example.com"),
            ErrorCode::WeakPassword,
        ),
        (
            SignUp {
                name: Some("n".repeat(10_000)),
                ..sign_up("w@example.com", PASSWORD)
            },
            ErrorCode::InvalidInput,
        ),
        (
            SignUp {
                extend: Some(serde_json::json!([1])),
                ..sign_up("w@example.com", PASSWORD)
            },
            ErrorCode::InvalidInput,
        ),
    ];
    for (input, code) in cases {
        let result = env.auth.password().sign_up(input, &meta()).await;
        let err = result.map(|_| ()).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert!(!err.to_string().contains(PASSWORD));
        assert!(!err.to_string().contains(&megabyte[..64]));
    }
    assert!(
        env.auth
            .users()
            .find_by_email(&Caller::System, "w@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn unknown_email_and_wrong_password_look_the_same<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    env.user("known@example.com").await;
    let wrong = env
        .auth
        .password()
        .sign_in(
            "known@example.com",
            &Secret::new("wrong password!"),
            &meta(),
        )
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap_err();
    let unknown = env
        .auth
        .password()
        .sign_in("unknown@example.com", &Secret::new(PASSWORD), &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap_err();
    assert_eq!(wrong.code(), ErrorCode::InvalidCredentials);
    assert_eq!(unknown.code(), wrong.code());
    assert_eq!(unknown.to_string(), wrong.to_string());
    // The right password still works, case-insensitively on the email.
    env.sign_in("KNOWN@example.com").await;
}

pub async fn oversized_password_is_refused_without_hashing<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    env.user("big@example.com").await;
    let started = std::time::Instant::now();
    assert_code(
        env.auth
            .password()
            .sign_in(
                "big@example.com",
                &Secret::new("x".repeat(1 << 20)),
                &meta(),
            )
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::InvalidCredentials,
    );
    // Not a timing assertion on the library: a guard that the megabyte was not hashed
    // with memory-hard parameters in a loop (it would take far longer than this).
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

pub async fn verified_email_required_when_configured<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| c.require_email_verification = true);
    let outcome = env
        .auth
        .password()
        .sign_up(sign_up("v@example.com", PASSWORD), &meta())
        .await
        .unwrap();
    let SignUpOutcome::VerificationRequired(user) = outcome else {
        panic!("expected a verification step");
    };
    assert!(!user.email_verified);
    assert_code(
        env.auth
            .password()
            .sign_in("v@example.com", &Secret::new(PASSWORD), &meta())
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::EmailNotVerified,
    );
    // A wrong password is still just INVALID_CREDENTIALS (no hint the address exists).
    assert_code(
        env.auth
            .password()
            .sign_in("v@example.com", &Secret::new("not the password"), &meta())
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::InvalidCredentials,
    );
    let mail = env
        .mailer
        .last("v@example.com", Purpose::VerifyEmail)
        .unwrap();
    env.auth
        .email()
        .verify(
            Answer::Code {
                email: "v@example.com",
                code: mail.code.expose(),
            },
            &meta(),
        )
        .await
        .unwrap();
    env.sign_in("v@example.com").await;
}

/// The user's stored password hash.
async fn stored_hash<S: CoreStore + Clone>(env: &Env<S>, user: crate::UserId) -> PasswordHash {
    env.store()
        .get_account(&Provider::password(), &user.to_string())
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap()
}

pub async fn sign_in_rehashes_when_parameters_change<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store.clone());
    let user = env.user("r@example.com").await.user;
    let before = stored_hash(&env, user.id).await.as_str().to_owned();
    assert!(before.contains("m=64,t=1,p=1"), "{before}");
    // The app raises the cost; the next sign-in upgrades the stored hash.
    let upgraded = env.node_with(h.store, |c| {
        c.password.argon2 = Argon2Config {
            memory_kib: 128,
            iterations: 2,
            parallelism: 1,
        };
    });
    upgraded.sign_in("r@example.com").await;
    let after = stored_hash(&upgraded, user.id).await.as_str().to_owned();
    assert!(after.contains("m=128,t=2,p=1"), "{after}");
    upgraded.sign_in("r@example.com").await;
    assert_eq!(
        stored_hash(&upgraded, user.id).await.as_str(),
        after,
        "no rehash when current"
    );
}

/// A re-hash after sign-in replaces only the hash that sign-in verified: a password change
/// that landed in between wins.
pub async fn rehash_never_undoes_a_password_change<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("rc@example.com").await.user;
    let store = env.store().clone();
    let verified = stored_hash(&env, user.id).await;
    let changed = PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1$changed$changed".into());
    let rehashed = PasswordHash::new("$argon2id$v=19$m=128,t=2,p=1$rehash$rehash".into());
    let revoked = store
        .set_password(user.id, &changed, RevokeSessions::None, env.auth.now())
        .await
        .unwrap();
    assert_eq!(revoked, Some(Vec::new()));
    let replaced = store
        .replace_password_hash(user.id, &verified, &rehashed, env.auth.now())
        .await
        .unwrap();
    assert!(
        !replaced,
        "a stale re-hash must not replace the new password"
    );
    assert_eq!(stored_hash(&env, user.id).await, changed);
    assert!(
        store
            .replace_password_hash(user.id, &changed, &rehashed, env.auth.now())
            .await
            .unwrap()
    );
    assert_eq!(stored_hash(&env, user.id).await, rehashed);
    let stranger = crate::UserId::new();
    assert!(
        !store
            .replace_password_hash(stranger, &rehashed, &changed, env.auth.now())
            .await
            .unwrap()
    );
}

pub async fn change_revokes_every_session_and_starts_a_new_one<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let first = env.user("c@example.com").await;
    let second = env.sign_in("c@example.com").await;
    let me = env
        .auth
        .sessions()
        .validate(first.session_token.expose())
        .await
        .unwrap();
    let new_password = Secret::new("a brand new passphrase");
    let fresh = env
        .auth
        .password()
        .change(&me, Some(&Secret::new(PASSWORD)), &new_password, &meta())
        .await
        .unwrap();
    assert_ne!(fresh.session.id, first.session.id);
    // The owner is told (ASVS 2.5.5: a changed authenticator is notified).
    assert_eq!(
        env.mailer.notices(),
        [Notice::PasswordChanged {
            to: Email::parse("c@example.com").unwrap(),
            reset: false,
        }]
    );
    for old in [&first, &second] {
        assert_code(
            env.auth
                .sessions()
                .validate(old.session_token.expose())
                .await,
            ErrorCode::SessionRevoked,
        );
    }
    env.auth
        .sessions()
        .validate(fresh.session_token.expose())
        .await
        .unwrap();
    assert_code(
        env.auth
            .password()
            .sign_in("c@example.com", &Secret::new(PASSWORD), &meta())
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::InvalidCredentials,
    );
    env.auth
        .password()
        .sign_in("c@example.com", &new_password, &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
}

pub async fn change_requires_the_current_password<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let first = env.user("c@example.com").await;
    let me = env
        .auth
        .sessions()
        .validate(first.session_token.expose())
        .await
        .unwrap();
    let new_password = Secret::new("a brand new passphrase");
    for current in [None, Some(Secret::new("wrong current password"))] {
        assert_code(
            env.auth
                .password()
                .change(&me, current.as_ref(), &new_password, &meta())
                .await,
            ErrorCode::InvalidCredentials,
        );
    }
    assert_code(
        env.auth
            .password()
            .change(
                &me,
                Some(&Secret::new(PASSWORD)),
                &Secret::new("short"),
                &meta(),
            )
            .await,
        ErrorCode::WeakPassword,
    );
    // Nothing changed: the session lives and the old password works.
    env.auth
        .sessions()
        .validate(first.session_token.expose())
        .await
        .unwrap();
    env.sign_in("c@example.com").await;
    // Both refusals of the current password were audited.
    let bad = Some("INVALID_CREDENTIALS".to_owned());
    assert_eq!(
        env.audit_trail("user.password_change").await,
        [(false, bad.clone()), (false, bad)]
    );
}

pub async fn change_without_a_password_needs_a_recent_sign_in<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| {
        c.passwordless_sign_up = true;
        c.reauth_window = Duration::minutes(5);
    });
    let sign_in = || async {
        let signed_in = env.sign_in_by_link("nopw@example.com").await;
        env.auth
            .sessions()
            .validate(signed_in.session_token.expose())
            .await
            .unwrap()
    };
    let new_password = Secret::new("a brand new passphrase");
    let old = sign_in().await;
    env.advance(Duration::minutes(5) + Duration::SECOND);
    // A session older than the window, with or without a guess, sets no password.
    for guess in [None, Some(Secret::new("anything at all"))] {
        assert_code(
            env.auth
                .password()
                .change(&old, guess.as_ref(), &new_password, &meta())
                .await,
            ErrorCode::ReauthenticationRequired,
        );
    }
    let reauth = Some("REAUTHENTICATION_REQUIRED".to_owned());
    assert_eq!(
        env.audit_trail("user.password_change").await,
        [(false, reauth.clone()), (false, reauth)]
    );
    // A fresh sign-in does, and the password then signs in.
    let fresh = sign_in().await;
    env.advance(Duration::minutes(4));
    env.auth
        .password()
        .change(&fresh, None, &new_password, &meta())
        .await
        .unwrap();
    env.auth
        .password()
        .sign_in("nopw@example.com", &new_password, &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
}

pub async fn change_guesses_of_the_current_password_are_throttled<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::with_config(h.store, |c| {
        c.sign_in_limit = Some(crate::api_keys::RateLimit {
            max: 2,
            window: Duration::minutes(15),
        });
    });
    let first = env.user("t@example.com").await;
    let me = env
        .auth
        .sessions()
        .validate(first.session_token.expose())
        .await
        .unwrap();
    let new_password = Secret::new("a brand new passphrase");
    for _ in 0..2 {
        assert_code(
            env.auth
                .password()
                .change(
                    &me,
                    Some(&Secret::new("wrong guess")),
                    &new_password,
                    &meta(),
                )
                .await,
            ErrorCode::InvalidCredentials,
        );
    }
    // Even the right password is refused while the limit holds.
    assert_code(
        env.auth
            .password()
            .change(&me, Some(&Secret::new(PASSWORD)), &new_password, &meta())
            .await,
        ErrorCode::RateLimited,
    );
    env.advance(Duration::minutes(16));
    env.auth
        .password()
        .change(&me, Some(&Secret::new(PASSWORD)), &new_password, &meta())
        .await
        .unwrap();
}

pub async fn reset_with_code_replaces_password_and_revokes_sessions<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let signed_in = env.user("reset@example.com").await;
    env.auth
        .password()
        .forgot("Reset@Example.com", &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("reset@example.com", Purpose::ResetPassword)
        .unwrap();
    let new_password = Secret::new("the new password 42");
    // A weak new password is refused before the code is spent.
    assert_code(
        env.auth
            .password()
            .reset(
                Answer::Code {
                    email: "reset@example.com",
                    code: mail.code.expose(),
                },
                &Secret::new("weak"),
                &meta(),
            )
            .await,
        ErrorCode::WeakPassword,
    );
    let user = env
        .auth
        .password()
        .reset(
            Answer::Code {
                email: "reset@example.com",
                code: mail.code.expose(),
            },
            &new_password,
            &meta(),
        )
        .await
        .unwrap();
    assert!(user.email_verified, "a reset proves the address");
    assert_eq!(
        env.mailer.notices(),
        [Notice::PasswordChanged {
            to: Email::parse("reset@example.com").unwrap(),
            reset: true,
        }]
    );
    assert_code(
        env.auth
            .sessions()
            .validate(signed_in.session_token.expose())
            .await,
        ErrorCode::SessionRevoked,
    );
    assert_code(
        env.auth
            .password()
            .sign_in("reset@example.com", &Secret::new(PASSWORD), &meta())
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::InvalidCredentials,
    );
    env.auth
        .password()
        .sign_in("reset@example.com", &new_password, &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
    // The code was single use.
    assert_code(
        env.auth
            .password()
            .reset(
                Answer::Code {
                    email: "reset@example.com",
                    code: mail.code.expose(),
                },
                &Secret::new("yet another password"),
                &meta(),
            )
            .await,
        ErrorCode::CodeInvalid,
    );
}

pub async fn reset_with_link<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    env.user("link@example.com").await;
    env.auth
        .password()
        .forgot("link@example.com", &meta())
        .await
        .unwrap();
    let mail = env
        .mailer
        .last("link@example.com", Purpose::ResetPassword)
        .unwrap();
    let new_password = Secret::new("linked new password");
    env.advance(Duration::minutes(9));
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
        .sign_in("link@example.com", &new_password, &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
    assert_code(
        env.auth
            .password()
            .reset(
                Answer::Link(mail.link_token.expose()),
                &new_password,
                &meta(),
            )
            .await,
        ErrorCode::CodeInvalid,
    );
}

pub async fn forgot_for_unknown_email_sends_nothing<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    env.auth
        .password()
        .forgot("nobody@example.com", &meta())
        .await
        .unwrap();
    assert!(env.mailer.messages().is_empty());
    assert_code(
        env.auth.password().forgot("not an email", &meta()).await,
        ErrorCode::InvalidEmail,
    );
    let email = crate::Email::parse("nobody@example.com").unwrap();
    assert!(
        env.store()
            .get_user_by_email(&email)
            .await
            .unwrap()
            .is_none()
    );
}

/// Asserts `password` is refused with `code` as a new password on sign-up, and as user
/// `who`'s new password on change and on reset, each before anything is spent.
async fn new_password_refused_everywhere<S: CoreStore + Clone>(
    env: &Env<S>,
    who: &str,
    password: &str,
    code: ErrorCode,
) {
    let password = Secret::new(password);
    let email = format!("{who}@example.com");
    assert_code(
        env.auth
            .password()
            .sign_up(sign_up("refused@example.com", password.expose()), &meta())
            .await,
        code,
    );
    let me = env.user(&email).await;
    let me = env
        .auth
        .sessions()
        .validate(me.session_token.expose())
        .await
        .unwrap();
    assert_code(
        env.auth
            .password()
            .change(&me, Some(&Secret::new(PASSWORD)), &password, &meta())
            .await,
        code,
    );
    env.auth.password().forgot(&email, &meta()).await.unwrap();
    let mail = env.mailer.last(&email, Purpose::ResetPassword).unwrap();
    let answer = || Answer::Code {
        email: &email,
        code: mail.code.expose(),
    };
    assert_code(
        env.auth
            .password()
            .reset(answer(), &password, &meta())
            .await,
        code,
    );
    // Refused before anything was spent: the old password works, the code too.
    env.sign_in(&email).await;
    env.auth
        .password()
        .reset(answer(), &Secret::new("a fine new passphrase"), &meta())
        .await
        .unwrap();
}

pub async fn common_passwords_are_refused<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store.clone());
    for (i, common) in [
        "zxcvbnm123456",
        "Zxcvbnm12345",
        "zaq1xsw2cde3",
        "ZXCVBNMASDFGHJKL",
    ]
    .into_iter()
    .enumerate()
    {
        new_password_refused_everywhere(
            &env,
            &format!("u{i}"),
            common,
            ErrorCode::PasswordTooCommon,
        )
        .await;
    }
    // The app may turn the list off.
    let lenient = env.node_with(h.store, |c| c.password.policy.refuse_common = false);
    lenient
        .auth
        .password()
        .sign_up(sign_up("lenient@example.com", "zxcvbnm123456"), &meta())
        .await
        .unwrap();
}

pub async fn a_breach_check_sees_only_a_hash_prefix_and_refuses_breached_passwords<
    S: CoreStore + Clone,
>(
    h: Harness<S>,
) {
    use crate::passwords::{BreachCheck, BreachList, BreachedSuffix};
    use std::sync::Arc;

    let breached = "a breached but long passphrase";
    let list = Arc::new(BreachList::new([breached]));
    let env = Env::new(h.store.clone());
    let config = AuthConfig::insecure_for_tests();
    let with_check = |check: Arc<dyn BreachCheck>| Env {
        auth: Auth::builder(h.store.clone())
            .clock(env.clock.clone())
            .mailer(env.mailer.clone())
            .secret_key(env.key.clone())
            .config(config.clone())
            .outbox(Arc::clone(&env.outbox))
            .breach_check(check)
            .build()
            .unwrap(),
        outbox: Arc::clone(&env.outbox),
        clock: env.clock.clone(),
        mailer: env.mailer.clone(),
        dns: env.dns.clone(),
        key: env.key.clone(),
        config: config.clone(),
    };
    let checked = with_check(list.clone());
    new_password_refused_everywhere(&checked, "b", breached, ErrorCode::PasswordBreached).await;
    // The checker only ever saw 5 hexadecimal characters: SHA-1("a breached ...")'s prefix.
    let asked = list.asked();
    assert!(!asked.is_empty());
    assert!(asked.iter().all(|p| {
        p.len() == 5
            && p.bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    }));
    // A checker that fails lets passwords through (an outage does not stop sign-ups).
    struct Down;
    #[async_trait::async_trait]
    impl BreachCheck for Down {
        async fn range(&self, _: &str) -> Result<Vec<BreachedSuffix>, crate::error::BoxError> {
            Err("breach service unreachable".into())
        }
    }
    with_check(Arc::new(Down))
        .auth
        .password()
        .sign_up(sign_up("outage@example.com", breached), &meta())
        .await
        .unwrap();
}
