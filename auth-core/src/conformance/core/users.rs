//! Users: create, read, update, list, delete with cascade.

use crate::Caller;
use serde_json::json;
use time::Duration;

use crate::conformance::{Env, Harness, PASSWORD, assert_code, meta};
use crate::users::{NewUser, Reauth, UserFilter, UserOrder, UserPatch};
use crate::verification::Purpose;
use crate::{CoreStore, Email, ErrorCode, ListQuery, Provider, Secret, UserId};

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        ..NewUser::default()
    }
}

pub async fn create_and_get<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let created = env
        .auth
        .users()
        .create(
            &Caller::System,
            NewUser {
                email: "Ada@Example.com".into(),
                name: Some("  Ada Lovelace ".into()),
                image: Some("https://example.com/ada.png".into()),
                extend: Some(json!({"plan": "pro"})),
                email_verified: true,
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(created.email.as_str(), "ada@example.com");
    assert_eq!(created.name.as_deref(), Some("Ada Lovelace"));
    assert!(created.email_verified);
    assert_eq!(created.created_at, env.auth.now());
    let got = env
        .auth
        .users()
        .get(&Caller::System, created.id)
        .await
        .unwrap();
    assert_eq!(got, created);
}

pub async fn get_by_email_is_case_insensitive<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env
        .auth
        .users()
        .create(&Caller::System, new_user("grace@example.com"), &meta())
        .await
        .unwrap();
    for variant in [
        "grace@example.com",
        "GRACE@EXAMPLE.COM",
        "  Grace@Example.Com ",
    ] {
        let found = env
            .auth
            .users()
            .find_by_email(&Caller::System, variant)
            .await
            .unwrap();
        assert_eq!(found.map(|u| u.id), Some(user.id), "{variant}");
    }
    assert_eq!(
        env.auth
            .users()
            .find_by_email(&Caller::System, "nobody@example.com")
            .await
            .unwrap(),
        None
    );
}

pub async fn duplicate_email_is_email_in_use<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    env.auth
        .users()
        .create(&Caller::System, new_user("dup@example.com"), &meta())
        .await
        .unwrap();
    assert_code(
        env.auth
            .users()
            .create(&Caller::System, new_user("DUP@example.com"), &meta())
            .await,
        ErrorCode::EmailInUse,
    );
}

pub async fn unknown_ids_are_not_found<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let users = env.auth.users();
    let id = UserId::new();
    assert_code(
        users.get(&Caller::System, id).await,
        ErrorCode::UserNotFound,
    );
    assert_code(
        users
            .update(&Caller::System, id, UserPatch::default(), &meta())
            .await,
        ErrorCode::UserNotFound,
    );
    assert_code(
        users.delete(&Caller::System, id, true, &meta()).await,
        ErrorCode::UserNotFound,
    );
}

pub async fn update_changes_fields_and_email_clears_verification<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let user = env
        .auth
        .users()
        .create(
            &Caller::System,
            NewUser {
                email_verified: true,
                name: Some("Old".into()),
                ..new_user("old@example.com")
            },
            &meta(),
        )
        .await
        .unwrap();
    env.advance(Duration::minutes(1));

    // Name only: the email stays verified.
    let renamed = env
        .auth
        .users()
        .update(
            &Caller::System,
            user.id,
            UserPatch {
                name: Some(Some("New".into())),
                extend: Some(json!({"k": 1})),
                ..UserPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(renamed.name.as_deref(), Some("New"));
    assert_eq!(renamed.extend, json!({"k": 1}));
    assert!(renamed.email_verified);
    assert_eq!(renamed.updated_at, user.updated_at + Duration::minutes(1));

    // A new email is unverified and found under the new address only.
    let moved = env
        .auth
        .users()
        .update(
            &Caller::System,
            user.id,
            UserPatch {
                email: Some(Email::parse("New@Example.com").unwrap()),
                name: Some(None),
                ..UserPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(moved.email.as_str(), "new@example.com");
    assert!(!moved.email_verified);
    assert_eq!(moved.name, None);
    let users = env.auth.users();
    assert!(
        users
            .find_by_email(&Caller::System, "old@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        users
            .find_by_email(&Caller::System, "new@example.com")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(user.id)
    );
    // And the old address is free again.
    users
        .create(&Caller::System, new_user("old@example.com"), &meta())
        .await
        .unwrap();
}

pub async fn update_to_a_taken_email_is_email_in_use<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let a = env
        .auth
        .users()
        .create(&Caller::System, new_user("a@example.com"), &meta())
        .await
        .unwrap();
    env.auth
        .users()
        .create(&Caller::System, new_user("b@example.com"), &meta())
        .await
        .unwrap();
    assert_code(
        env.auth
            .users()
            .update(
                &Caller::System,
                a.id,
                UserPatch {
                    email: Some(Email::parse("B@example.com").unwrap()),
                    ..UserPatch::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::EmailInUse,
    );
    // Setting one's own address again is not a conflict.
    env.auth
        .users()
        .update(
            &Caller::System,
            a.id,
            UserPatch {
                email: Some(Email::parse("a@example.com").unwrap()),
                ..UserPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
}

pub async fn bad_input_is_refused<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let users = env.auth.users();
    let megabyte = "x".repeat(1 << 20);
    for (input, code) in [
        (new_user(""), ErrorCode::InvalidEmail),
        (new_user("not-an-email"), ErrorCode::InvalidEmail),
        (
            new_user(&format!("{megabyte}@example.com")),
            ErrorCode::InvalidEmail,
        ),
        (
            NewUser {
                name: Some(megabyte.clone()),
                ..new_user("n@example.com")
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewUser {
                image: Some("javascript:alert(1)".into()),
                ..new_user("i@example.com")
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewUser {
                extend: Some(json!("not an object")),
                ..new_user("e@example.com")
            },
            ErrorCode::InvalidInput,
        ),
    ] {
        assert_code(users.create(&Caller::System, input, &meta()).await, code);
    }
    let user = users
        .create(&Caller::System, new_user("ok@example.com"), &meta())
        .await
        .unwrap();
    assert_code(
        users
            .update(
                &Caller::System,
                user.id,
                UserPatch {
                    name: Some(Some("\u{7}bell".into())),
                    ..UserPatch::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::InvalidInput,
    );
    assert_code(
        users
            .update(
                &Caller::System,
                user.id,
                UserPatch {
                    extend: Some(json!({ "big": megabyte })),
                    ..UserPatch::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::InvalidInput,
    );
    // Nothing was stored by the refused calls.
    let all = users
        .list(
            &Caller::System,
            ListQuery::new(UserFilter::default(), UserOrder::CreatedAt),
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1);
}

pub async fn list_filters<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let users = env.auth.users();
    let t0 = env.auth.now();
    let mut ids = Vec::new();
    for (email, name) in [
        ("ann@example.com", Some("Ann Smith")),
        ("bob@example.com", Some("Bob Jones")),
        ("cat@example.com", None),
        ("dan@example.com", Some("Dan SMITHSON")),
    ] {
        let u = users
            .create(
                &Caller::System,
                NewUser {
                    name: name.map(Into::into),
                    ..new_user(email)
                },
                &meta(),
            )
            .await
            .unwrap();
        ids.push(u.id);
        env.advance(Duration::hours(1));
    }
    let list = |filter: UserFilter| {
        let users = env.auth.users();
        async move {
            users
                .list(
                    &Caller::System,
                    ListQuery::new(filter, UserOrder::CreatedAt),
                )
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|u| u.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(UserFilter::default()).await, ids);
    assert_eq!(
        list(UserFilter {
            email: Some(Email::parse("BOB@example.com").unwrap()),
            ..UserFilter::default()
        })
        .await,
        vec![ids[1]]
    );
    assert_eq!(
        list(UserFilter {
            name_contains: Some("smith".into()),
            ..UserFilter::default()
        })
        .await,
        vec![ids[0], ids[3]]
    );
    assert_eq!(
        list(UserFilter {
            created_after: Some(t0 + Duration::hours(1)),
            created_before: Some(t0 + Duration::hours(3)),
            ..UserFilter::default()
        })
        .await,
        vec![ids[1], ids[2]]
    );
}

pub async fn list_orders<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let users = env.auth.users();
    for email in ["carol@example.com", "alice@example.com", "bob@example.com"] {
        users
            .create(&Caller::System, new_user(email), &meta())
            .await
            .unwrap();
        env.advance(Duration::seconds(1));
    }
    let emails = |order, direction| {
        let users = env.auth.users();
        async move {
            users
                .list(
                    &Caller::System,
                    ListQuery::new(UserFilter::default(), order).direction(direction),
                )
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|u| u.email.as_str().to_owned())
                .collect::<Vec<_>>()
        }
    };
    use crate::Direction::{Asc, Desc};
    assert_eq!(
        emails(UserOrder::Email, Asc).await,
        ["alice@example.com", "bob@example.com", "carol@example.com"]
    );
    assert_eq!(
        emails(UserOrder::Email, Desc).await,
        ["carol@example.com", "bob@example.com", "alice@example.com"]
    );
    assert_eq!(
        emails(UserOrder::CreatedAt, Desc).await,
        ["bob@example.com", "alice@example.com", "carol@example.com"]
    );
}

pub async fn delete_cascades<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let signed_in = env.user("gone@example.com").await;
    let id = signed_in.user.id;
    env.auth
        .accounts()
        .link(
            &Caller::System,
            id,
            Provider::oidc("https://idp.example").unwrap(),
            "sub-1",
            &meta(),
        )
        .await
        .unwrap();
    env.auth
        .email()
        .send_verification(id, &meta())
        .await
        .unwrap();

    env.auth
        .users()
        .delete(&Caller::System, id, true, &meta())
        .await
        .unwrap();

    assert_code(
        env.auth.users().get(&Caller::System, id).await,
        ErrorCode::UserNotFound,
    );
    assert_code(
        env.auth
            .sessions()
            .validate(signed_in.session_token.expose())
            .await,
        ErrorCode::NotSignedIn,
    );
    assert_code(
        env.auth
            .sessions()
            .refresh(signed_in.refresh_token.expose(), &meta())
            .await,
        ErrorCode::RefreshTokenInvalid,
    );
    let store = env.store();
    assert!(store.list_accounts(id).await.unwrap().is_empty());
    assert!(
        store
            .get_account(&Provider::oidc("https://idp.example").unwrap(), "sub-1")
            .await
            .unwrap()
            .is_none()
    );
    // The pending code went with the user.
    let mail = env
        .mailer
        .last("gone@example.com", Purpose::VerifyEmail)
        .unwrap();
    assert_code(
        env.auth
            .email()
            .verify(
                crate::Answer::Code {
                    email: "gone@example.com",
                    code: mail.code.expose(),
                },
                &meta(),
            )
            .await,
        ErrorCode::CodeInvalid,
    );
    // The address can be used again, and the identity linked again.
    let again = env.user("gone@example.com").await;
    env.auth
        .accounts()
        .link(
            &Caller::System,
            again.user.id,
            Provider::oidc("https://idp.example").unwrap(),
            "sub-1",
            &meta(),
        )
        .await
        .unwrap();
}

pub async fn delete_without_cascade_refuses_with_dependents<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let signed_in = env.user("kept@example.com").await;
    let err = env
        .auth
        .users()
        .delete(&Caller::System, signed_in.user.id, false, &meta())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::HasDependents);
    assert!(err.to_string().contains("1 session"), "{err}");
    // Nothing was deleted.
    env.auth
        .users()
        .get(&Caller::System, signed_in.user.id)
        .await
        .unwrap();
    env.auth
        .sessions()
        .validate(signed_in.session_token.expose())
        .await
        .unwrap();
}

pub async fn delete_without_cascade_succeeds_without_dependents<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let user = env
        .auth
        .users()
        .create(&Caller::System, new_user("lonely@example.com"), &meta())
        .await
        .unwrap();
    env.store()
        .set_password(
            user.id,
            &crate::accounts::PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1$x$y".into()),
            crate::accounts::RevokeSessions::None,
            env.auth.now(),
        )
        .await
        .unwrap();
    // A password is the user's own credential, not a dependent.
    env.auth
        .users()
        .delete(&Caller::System, user.id, false, &meta())
        .await
        .unwrap();
    assert!(env.store().get_user(user.id).await.unwrap().is_none());
}

pub async fn delete_own_asks_for_the_password<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let signed_in = env.user("self@example.com").await;
    let id = signed_in.user.id;
    let caller = signed_in.caller();
    let users = env.auth.users();
    // Recent sign-in or not, a user with a password gives it.
    assert_code(
        users.delete_own(&caller, Reauth::default(), &meta()).await,
        ErrorCode::ReauthenticationRequired,
    );
    let wrong = Secret::new("not the password");
    assert_code(
        users
            .delete_own(
                &caller,
                Reauth {
                    password: Some(&wrong),
                },
                &meta(),
            )
            .await,
        ErrorCode::InvalidCredentials,
    );
    // Only the user's own session: not the app, whose way is `delete`.
    assert_code(
        users
            .delete_own(&Caller::System, Reauth::default(), &meta())
            .await,
        ErrorCode::Forbidden,
    );
    users.get(&Caller::System, id).await.unwrap();
    let right = Secret::new(PASSWORD);
    users
        .delete_own(
            &caller,
            Reauth {
                password: Some(&right),
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_code(
        users.get(&Caller::System, id).await,
        ErrorCode::UserNotFound,
    );
    assert_code(
        env.auth
            .sessions()
            .validate(signed_in.session_token.expose())
            .await,
        ErrorCode::NotSignedIn,
    );
    let trail = env.audit_trail("user.delete").await;
    assert_eq!(
        trail,
        [
            (false, Some("REAUTHENTICATION_REQUIRED".to_owned())),
            (false, Some("INVALID_CREDENTIALS".to_owned())),
            (false, Some("FORBIDDEN".to_owned())),
            (true, None),
        ]
    );
}

pub async fn delete_own_without_a_password_needs_a_recent_sign_in<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::with_config(h.store, |c| {
        c.passwordless_sign_up = true;
        c.reauth_window = Duration::minutes(5);
    });
    let first = env.sign_in_by_link("nopw@example.com").await;
    env.advance(Duration::minutes(5) + Duration::SECOND);
    assert_code(
        env.auth
            .users()
            .delete_own(&first.caller(), Reauth::default(), &meta())
            .await,
        ErrorCode::ReauthenticationRequired,
    );
    // A password given by someone who has none proves nothing either.
    let guess = Secret::new("anything at all");
    assert_code(
        env.auth
            .users()
            .delete_own(
                &first.caller(),
                Reauth {
                    password: Some(&guess),
                },
                &meta(),
            )
            .await,
        ErrorCode::ReauthenticationRequired,
    );
    let fresh = env.sign_in_by_link("nopw@example.com").await;
    env.advance(Duration::minutes(4));
    env.auth
        .users()
        .delete_own(&fresh.caller(), Reauth::default(), &meta())
        .await
        .unwrap();
    assert_code(
        env.auth.users().get(&Caller::System, first.user.id).await,
        ErrorCode::UserNotFound,
    );
}
