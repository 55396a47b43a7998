//! Roles and permissions: the policy applied with inheritance.

use crate::Caller;
use std::collections::BTreeMap;

use super::groups::{chain, group};
use super::members::add;
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::permissions::{Permission, Policy, RoleDef};
use crate::{Auth, AuthConfig, ErrorCode, OrganizationStore, SecretKey};

pub async fn roles_grant_their_permissions_with_inheritance<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let user = env.user("p@example.com").await.user;
    let levels = chain(&env, 3).await;
    add(&env, levels[0].id, user.id, "admin").await;
    let members = env.auth.members();
    let leaf = levels[2].id;
    assert!(members.can(user.id, leaf, "member:remove").await.unwrap());
    assert!(
        members.can(user.id, leaf, "group:read").await.unwrap(),
        "admin includes member"
    );
    assert!(!members.can(user.id, leaf, "group:delete").await.unwrap());
    assert!(
        members
            .can_all(user.id, leaf, &["group:read", "invite:create"])
            .await
            .unwrap()
    );
    assert!(
        !members
            .can_all(user.id, leaf, &["group:read", "group:delete"])
            .await
            .unwrap()
    );
    assert!(
        members
            .can_any(user.id, leaf, &["group:delete", "group:update"])
            .await
            .unwrap()
    );
    let stranger = env.user("x@example.com").await.user;
    let none = members.permissions(stranger.id, leaf).await.unwrap();
    assert!(!none.is_member());
    assert!(!none.can("group", "read"));
}

pub async fn permissions_union_along_the_chain<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("u@example.com").await.user;
    let org = group(&env, "org", None).await;
    let team = group(&env, "team", Some(org.id)).await;
    add(&env, org.id, user.id, "owner").await;
    add(&env, team.id, user.id, "member").await;
    let perms = env
        .auth
        .members()
        .permissions(user.id, team.id)
        .await
        .unwrap();
    assert_eq!(
        perms.roles.iter().map(String::as_str).collect::<Vec<_>>(),
        ["member", "owner"]
    );
    assert!(
        perms.can("group", "delete"),
        "the org owner's rights reach the team"
    );
    assert!(perms.has_role("owner") && perms.has_role("admin") && perms.has_role("member"));
}

pub async fn has_role_follows_role_includes<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("h@example.com").await.user;
    let org = group(&env, "org", None).await;
    add(&env, org.id, user.id, "admin").await;
    let members = env.auth.members();
    assert!(members.has_role(user.id, org.id, "admin").await.unwrap());
    assert!(members.has_role(user.id, org.id, "member").await.unwrap());
    assert!(!members.has_role(user.id, org.id, "owner").await.unwrap());
    assert_code(
        members.has_role(user.id, org.id, "nope").await,
        ErrorCode::InvalidInput,
    );
}

pub async fn custom_policy_with_wildcards<S: OrganizationStore + Clone>(h: Harness<S>) {
    let perms = |list: &[&str]| list.iter().map(|p| Permission::parse(p).unwrap()).collect();
    let roles = BTreeMap::from([
        (
            "editor".to_string(),
            RoleDef {
                permissions: perms(&["doc:*", "*:read"]),
                includes: vec![],
            },
        ),
        (
            "viewer".to_string(),
            RoleDef {
                permissions: perms(&["doc:read"]),
                includes: vec![],
            },
        ),
        (
            "boss".to_string(),
            RoleDef {
                permissions: vec![],
                includes: vec!["editor".into()],
            },
        ),
    ]);
    let policy = Policy::new(roles, "boss", "viewer").unwrap();
    let auth = Auth::builder(h.store)
        .secret_key(SecretKey::generate())
        .config(AuthConfig::insecure_for_tests())
        .policy(policy)
        .build()
        .unwrap();
    let env_user = auth
        .users()
        .create(
            &Caller::System,
            crate::users::NewUser {
                email: "c@example.com".into(),
                ..Default::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    let org = auth
        .groups()
        .create(&Caller::System, super::groups::named("org"), &meta())
        .await
        .unwrap();
    auth.members()
        .add(
            &Caller::System,
            crate::members::NewMember {
                group_id: org.id,
                user_id: env_user.id,
                role: Some("boss".into()),
                status: None,
                extend: None,
            },
            &meta(),
        )
        .await
        .unwrap();
    let p = auth
        .members()
        .permissions(env_user.id, org.id)
        .await
        .unwrap();
    assert!(p.can("doc", "delete"));
    assert!(p.can("billing", "read"));
    assert!(!p.can("billing", "write"));
    assert!(p.has_role("editor") && !p.has_role("viewer"));
    // The default policy's roles are not this policy's.
    assert_code(
        auth.members()
            .add(
                &Caller::System,
                crate::members::NewMember {
                    group_id: org.id,
                    user_id: env_user.id,
                    role: Some("owner".into()),
                    status: None,
                    extend: None,
                },
                &meta(),
            )
            .await,
        ErrorCode::InvalidInput,
    );
}

pub async fn bad_permission_strings_are_refused<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("b@example.com").await.user;
    let org = group(&env, "org", None).await;
    for bad in ["", "noaction", "a:b:c", "UPPER:case", &"x".repeat(10_000)] {
        assert_code(
            env.auth.members().can(user.id, org.id, bad).await,
            ErrorCode::InvalidInput,
        );
    }
}
