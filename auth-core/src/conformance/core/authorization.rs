//! Who may act on a user's records, decided in the services: the user themselves or the
//! app; others learn nothing; identities are linked only by the app.

use crate::accounts::Provider;
use crate::audit::{AuditFilter, AuditOrder};
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::sessions::SessionOrder;
use crate::users::{NewUser, UserFilter, UserOrder, UserPatch};
use crate::{Caller, CoreStore, Email, ErrorCode, ListQuery};

pub async fn a_user_acts_on_their_own_records_only<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let ada = env.user("ada@example.com").await;
    let bob = env.user("bob@example.com").await;
    let (a, b) = (ada.caller(), bob.user.id);
    let users = env.auth.users();
    assert_code(users.get(&a, b).await, ErrorCode::UserNotFound);
    assert_code(
        users.update(&a, b, UserPatch::default(), &meta()).await,
        ErrorCode::UserNotFound,
    );
    assert_code(
        users.delete(&a, b, true, &meta()).await,
        ErrorCode::UserNotFound,
    );
    assert_code(
        env.auth
            .sessions()
            .list(&a, b, ListQuery::new((), SessionOrder::CreatedAt))
            .await,
        ErrorCode::UserNotFound,
    );
    assert_code(
        env.auth.sessions().revoke_all(&a, b, &meta()).await,
        ErrorCode::UserNotFound,
    );
    assert_code(
        env.auth.accounts().list(&a, b).await,
        ErrorCode::UserNotFound,
    );
    // Their own: fine.
    users.get(&a, ada.user.id).await.unwrap();
    let renamed = users
        .update(
            &a,
            ada.user.id,
            UserPatch {
                name: Some(Some("Ada L.".into())),
                ..UserPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(renamed.name.as_deref(), Some("Ada L."));
    env.auth.accounts().list(&a, ada.user.id).await.unwrap();
    // Bob is untouched.
    users.get(&Caller::System, b).await.unwrap();
}

pub async fn administration_is_for_the_app<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let ada = env.user("ada@example.com").await;
    let a = ada.caller();
    let users = env.auth.users();
    let newcomer = NewUser {
        email: "new@example.com".into(),
        name: None,
        image: None,
        extend: None,
        email_verified: false,
    };
    assert_code(
        users.create(&a, newcomer.clone(), &meta()).await,
        ErrorCode::Forbidden,
    );
    assert_code(
        users
            .list(
                &a,
                ListQuery::new(UserFilter::default(), UserOrder::CreatedAt),
            )
            .await,
        ErrorCode::Forbidden,
    );
    assert_code(
        users.find_by_email(&a, "ada@example.com").await,
        ErrorCode::Forbidden,
    );
    // A user does not set their address directly: it is verified first.
    assert_code(
        users
            .update(
                &a,
                ada.user.id,
                UserPatch {
                    email: Some(Email::parse("elsewhere@example.com").unwrap()),
                    ..UserPatch::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::InvalidInput,
    );
    // Claiming an external identity is not proof of it.
    assert_code(
        env.auth
            .accounts()
            .link(
                &a,
                ada.user.id,
                Provider::new("oidc:acme").unwrap(),
                "ada-at-acme",
                &meta(),
            )
            .await,
        ErrorCode::Forbidden,
    );
    // The audit log: a user reads their own events, the app everything.
    let own = ListQuery::new(
        AuditFilter {
            actor_user: Some(ada.user.id),
            ..AuditFilter::default()
        },
        AuditOrder::At,
    );
    env.auth.audit().list(&a, own).await.unwrap();
    assert_code(
        env.auth
            .audit()
            .list(&a, ListQuery::new(AuditFilter::default(), AuditOrder::At))
            .await,
        ErrorCode::Forbidden,
    );
    // The app does all of it.
    let created = users
        .create(&Caller::System, newcomer, &meta())
        .await
        .unwrap();
    env.auth
        .accounts()
        .link(
            &Caller::System,
            created.id,
            Provider::new("oidc:acme").unwrap(),
            "new-at-acme",
            &meta(),
        )
        .await
        .unwrap();
    users
        .update(
            &Caller::System,
            created.id,
            UserPatch {
                email: Some(Email::parse("renamed@example.com").unwrap()),
                ..UserPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
}
