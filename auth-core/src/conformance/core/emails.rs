//! Email addresses and names as people type them: one mailbox is one account however it is
//! written, the app's confusables policy, and names without invisible format characters.

use crate::conformance::{Env, Harness, PASSWORD, assert_code, meta};
use crate::{CoreStore, EmailPolicy, ErrorCode, Secret, SignUp, SignUpOutcome};

fn sign_up(email: &str, name: Option<&str>) -> SignUp {
    SignUp {
        email: email.into(),
        password: Secret::new(PASSWORD),
        name: name.map(Into::into),
        extend: None,
    }
}

pub async fn one_mailbox_is_one_account_however_it_is_typed<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    // NFC café, then NFD café (e + combining acute): the same address.
    let user = env.user("Caf\u{e9}@example.com").await.user;
    assert_eq!(user.email.as_str(), "caf\u{e9}@example.com");
    assert_code(
        env.auth
            .password()
            .sign_up(sign_up("cafe\u{301}@EXAMPLE.com", None), &meta())
            .await,
        ErrorCode::EmailInUse,
    );
    let signed_in = env
        .auth
        .password()
        .sign_in("CAFE\u{301}@example.com", &Secret::new(PASSWORD), &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
    assert_eq!(signed_in.user.id, user.id);
    // A full-width domain is the ASCII one.
    let bob = env
        .user("bob@\u{ff45}\u{ff58}\u{ff41}\u{ff4d}\u{ff50}\u{ff4c}\u{ff45}.com")
        .await
        .user;
    assert_eq!(bob.email.as_str(), "bob@example.com");
    assert_code(
        env.auth
            .password()
            .sign_up(sign_up("bob@example.com", None), &meta())
            .await,
        ErrorCode::EmailInUse,
    );
    // A full-width local part or an invisible character is refused, not a new account.
    for bad in ["\u{ff42}ob@example.com", "b\u{200b}ob@example.com"] {
        assert_code(
            env.auth
                .password()
                .sign_up(sign_up(bad, None), &meta())
                .await,
            ErrorCode::InvalidEmail,
        );
    }
}

pub async fn the_ascii_policy_refuses_look_alike_new_addresses_only<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    // Created before the app tightened its policy.
    let before = Env::new(h.store.clone());
    let cyrillic = "\u{430}lice@example.com";
    let existing = before.user(cyrillic).await.user;
    let env = Env::with_config(h.store, |c| {
        c.email_policy = EmailPolicy::ascii_local_part()
    });
    assert_code(
        env.auth
            .password()
            .sign_up(sign_up("\u{43e}scar@example.com", None), &meta())
            .await,
        ErrorCode::InvalidEmail,
    );
    // The existing user still signs in; ASCII addresses sign up as before.
    let signed_in = env
        .auth
        .password()
        .sign_in(cyrillic, &Secret::new(PASSWORD), &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
    assert_eq!(signed_in.user.id, existing.id);
    env.user("oscar@example.com").await;
}

pub async fn names_lose_bidi_and_format_characters<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let outcome = env
        .auth
        .password()
        .sign_up(
            sign_up(
                "mallory@example.com",
                Some("\u{202e}Mal\u{200b}lory\u{2069}"),
            ),
            &meta(),
        )
        .await
        .unwrap();
    let SignUpOutcome::SignedIn(signed_in) = outcome else {
        panic!("signed in");
    };
    assert_eq!(signed_in.user.name.as_deref(), Some("Mallory"));
    // Nothing visible left: refused like an empty name.
    assert_code(
        env.auth
            .password()
            .sign_up(
                sign_up("eve@example.com", Some("\u{202e}\u{200b}")),
                &meta(),
            )
            .await,
        ErrorCode::InvalidInput,
    );
}
