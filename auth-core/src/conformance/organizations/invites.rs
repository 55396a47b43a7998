//! Invites: create, list, revoke, accept (atomically with the membership).

use crate::Caller;
use std::sync::Arc;

use time::Duration;

use super::groups::group;
use super::members::add;
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::invites::{InviteFilter, InviteOrder, InviteStatus, NewInvite};
use crate::members::{MemberFilter, MemberOrder};
use crate::users::UserPatch;
use crate::{Email, ErrorCode, GroupId, ListQuery, OrganizationStore, User};

fn into(group: GroupId) -> NewInvite {
    NewInvite {
        group_id: Some(group),
        ..NewInvite::default()
    }
}

async fn verified<S: OrganizationStore + Clone>(env: &Env<S>, email: &str) -> User {
    let user = env.user(email).await.user;
    env.auth
        .users()
        .update(&Caller::System, user.id, UserPatch::default(), &meta())
        .await
        .unwrap();
    env.store()
        .mark_email_verified(user.id, &user.email, env.auth.now())
        .await
        .unwrap();
    env.auth
        .users()
        .get(&Caller::System, user.id)
        .await
        .unwrap()
}

pub async fn create_returns_the_token_once<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let inviter = env.user("boss@example.com").await.user;
    let org = group(&env, "org", None).await;
    add(&env, org.id, inviter.id, "admin").await;
    let created = env
        .auth
        .invites()
        .create(
            &env.caller(inviter.id).await,
            NewInvite {
                group_id: Some(org.id),
                email: Some("New@Example.com".into()),
                role: Some("admin".into()),
                expires_at: Some(env.auth.now() + Duration::days(7)),
                extend: Some(serde_json::json!({"note": "welcome"})),
            },
            &meta(),
        )
        .await
        .unwrap();
    let invite = &created.invite;
    assert_eq!(invite.status, InviteStatus::Pending);
    assert_eq!(
        invite.email.as_ref().map(Email::as_str),
        Some("new@example.com")
    );
    assert_eq!(invite.inviter_id, Some(inviter.id));
    assert_eq!(created.token.expose().len(), 43);
    assert_eq!(
        invite.token_hash,
        crate::TokenHash::of(created.token.expose())
    );
    let by_token = env
        .auth
        .invites()
        .get_by_token(created.token.expose())
        .await
        .unwrap();
    assert_eq!(&by_token, invite);
    assert_eq!(
        &env.auth
            .invites()
            .get(&Caller::System, invite.id)
            .await
            .unwrap(),
        invite
    );
    assert!(!format!("{created:?}").contains(created.token.expose()));
}

pub async fn duplicate_pending_invite_is_refused<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let org = group(&env, "org", None).await;
    let other = group(&env, "other", None).await;
    let to = |g: GroupId, email: &str| NewInvite {
        email: Some(email.into()),
        ..into(g)
    };
    let first = env
        .auth
        .invites()
        .create(&Caller::System, to(org.id, "a@example.com"), &meta())
        .await
        .unwrap();
    assert_code(
        env.auth
            .invites()
            .create(&Caller::System, to(org.id, "A@example.com"), &meta())
            .await,
        ErrorCode::DuplicateInvite,
    );
    // Other group or other address: fine.
    env.auth
        .invites()
        .create(&Caller::System, to(other.id, "a@example.com"), &meta())
        .await
        .unwrap();
    env.auth
        .invites()
        .create(&Caller::System, to(org.id, "b@example.com"), &meta())
        .await
        .unwrap();
    // A revoked one no longer blocks.
    env.auth
        .invites()
        .revoke(&Caller::System, first.invite.id, &meta())
        .await
        .unwrap();
    env.auth
        .invites()
        .create(&Caller::System, to(org.id, "a@example.com"), &meta())
        .await
        .unwrap();
    // Invites without an email never collide.
    env.auth
        .invites()
        .create(&Caller::System, into(org.id), &meta())
        .await
        .unwrap();
    env.auth
        .invites()
        .create(&Caller::System, into(org.id), &meta())
        .await
        .unwrap();
}

pub async fn create_validates_input<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let org = group(&env, "org", None).await;
    let invites = env.auth.invites();
    for (input, code) in [
        (
            NewInvite {
                email: Some("not an email".into()),
                ..into(org.id)
            },
            ErrorCode::InvalidEmail,
        ),
        (
            NewInvite {
                role: Some("emperor".into()),
                ..into(org.id)
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewInvite {
                expires_at: Some(env.auth.now()),
                ..into(org.id)
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewInvite {
                extend: Some(serde_json::json!([])),
                ..into(org.id)
            },
            ErrorCode::InvalidInput,
        ),
        (into(GroupId::new()), ErrorCode::GroupNotFound),
    ] {
        assert_code(invites.create(&Caller::System, input, &meta()).await, code);
    }
}

pub async fn accept_adds_the_membership<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let org = group(&env, "org", None).await;
    let user = env.user("joiner@example.com").await.user;
    let created = env
        .auth
        .invites()
        .create(
            &Caller::System,
            NewInvite {
                role: Some("admin".into()),
                ..into(org.id)
            },
            &meta(),
        )
        .await
        .unwrap();
    env.advance(Duration::minutes(5));
    let (invite, member) = env
        .auth
        .invites()
        .accept(&env.caller(user.id).await, created.token.expose(), &meta())
        .await
        .unwrap();
    assert_eq!(invite.status, InviteStatus::Accepted);
    assert_eq!(invite.accepted_by, Some(user.id));
    assert_eq!(invite.accepted_at, Some(env.auth.now()));
    let member = member.unwrap();
    assert_eq!(member.role, "admin");
    assert_eq!(member.group_id, org.id);
    assert_eq!(
        env.auth
            .members()
            .find(&Caller::System, org.id, user.id)
            .await
            .unwrap(),
        Some(member)
    );
    assert_eq!(
        env.auth
            .invites()
            .get(&Caller::System, invite.id)
            .await
            .unwrap()
            .status,
        InviteStatus::Accepted
    );
    // Without a role, the policy's default role.
    let other = env.user("second@example.com").await.user;
    let created = env
        .auth
        .invites()
        .create(&Caller::System, into(org.id), &meta())
        .await
        .unwrap();
    let (_, member) = env
        .auth
        .invites()
        .accept(&env.caller(other.id).await, created.token.expose(), &meta())
        .await
        .unwrap();
    assert_eq!(member.unwrap().role, "member");
}

pub async fn accept_twice_is_not_pending<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let org = group(&env, "org", None).await;
    let a = env.user("a@example.com").await.user;
    let b = env.user("b@example.com").await.user;
    let created = env
        .auth
        .invites()
        .create(&Caller::System, into(org.id), &meta())
        .await
        .unwrap();
    env.auth
        .invites()
        .accept(&env.caller(a.id).await, created.token.expose(), &meta())
        .await
        .unwrap();
    assert_code(
        env.auth
            .invites()
            .accept(&env.caller(a.id).await, created.token.expose(), &meta())
            .await,
        ErrorCode::InviteNotPending,
    );
    assert_code(
        env.auth
            .invites()
            .accept(&env.caller(b.id).await, created.token.expose(), &meta())
            .await,
        ErrorCode::InviteNotPending,
    );
    assert!(
        env.auth
            .members()
            .find(&Caller::System, org.id, b.id)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn revoked_invite_cannot_be_accepted<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let org = group(&env, "org", None).await;
    let user = env.user("r@example.com").await.user;
    let created = env
        .auth
        .invites()
        .create(&Caller::System, into(org.id), &meta())
        .await
        .unwrap();
    let revoked = env
        .auth
        .invites()
        .revoke(&Caller::System, created.invite.id, &meta())
        .await
        .unwrap();
    assert_eq!(revoked.status, InviteStatus::Revoked);
    assert!(revoked.revoked_at.is_some());
    assert_code(
        env.auth
            .invites()
            .revoke(&Caller::System, created.invite.id, &meta())
            .await,
        ErrorCode::InviteNotPending,
    );
    assert_code(
        env.auth
            .invites()
            .accept(&env.caller(user.id).await, created.token.expose(), &meta())
            .await,
        ErrorCode::InviteNotPending,
    );
    assert_code(
        env.auth
            .invites()
            .revoke(&Caller::System, crate::InviteId::new(), &meta())
            .await,
        ErrorCode::InviteNotFound,
    );
}

pub async fn expired_invite_cannot_be_accepted<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let org = group(&env, "org", None).await;
    let user = env.user("late@example.com").await.user;
    let created = env
        .auth
        .invites()
        .create(
            &Caller::System,
            NewInvite {
                expires_at: Some(env.auth.now() + Duration::hours(1)),
                ..into(org.id)
            },
            &meta(),
        )
        .await
        .unwrap();
    env.advance(Duration::hours(1));
    // Read lazily as expired.
    assert_eq!(
        env.auth
            .invites()
            .get(&Caller::System, created.invite.id)
            .await
            .unwrap()
            .status,
        InviteStatus::Expired
    );
    assert_code(
        env.auth
            .invites()
            .accept(&env.caller(user.id).await, created.token.expose(), &meta())
            .await,
        ErrorCode::InviteExpired,
    );
    assert_code(
        env.auth
            .invites()
            .revoke(&Caller::System, created.invite.id, &meta())
            .await,
        ErrorCode::InviteExpired,
    );
    assert!(
        env.auth
            .members()
            .find(&Caller::System, org.id, user.id)
            .await
            .unwrap()
            .is_none()
    );
    // An invite made without an expiry gets the configured lifetime (7 days).
    let open = env
        .auth
        .invites()
        .create(&Caller::System, into(org.id), &meta())
        .await
        .unwrap();
    assert_eq!(
        open.invite.expires_at,
        Some(env.auth.now() + Duration::days(7))
    );
    env.advance(Duration::days(7));
    assert_code(
        env.auth
            .invites()
            .accept(&env.caller(user.id).await, open.token.expose(), &meta())
            .await,
        ErrorCode::InviteExpired,
    );
}

pub async fn expired_invite_frees_the_email_for_a_new_one<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let org = group(&env, "org", None).await;
    let to = |expires| NewInvite {
        email: Some("again@example.com".into()),
        expires_at: expires,
        ..into(org.id)
    };
    let old = env
        .auth
        .invites()
        .create(
            &Caller::System,
            to(Some(env.auth.now() + Duration::hours(1))),
            &meta(),
        )
        .await
        .unwrap();
    env.advance(Duration::hours(2));
    env.auth
        .invites()
        .create(&Caller::System, to(None), &meta())
        .await
        .unwrap();
    assert_eq!(
        env.auth
            .invites()
            .get(&Caller::System, old.invite.id)
            .await
            .unwrap()
            .status,
        InviteStatus::Expired
    );
}

pub async fn email_bound_invite_needs_that_verified_email<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let org = group(&env, "org", None).await;
    let created = env
        .auth
        .invites()
        .create(
            &Caller::System,
            NewInvite {
                email: Some("bound@example.com".into()),
                ..into(org.id)
            },
            &meta(),
        )
        .await
        .unwrap();
    let token = created.token.expose();
    let other = verified(&env, "other@example.com").await;
    assert_code(
        env.auth
            .invites()
            .accept(&env.caller(other.id).await, token, &meta())
            .await,
        ErrorCode::InviteEmailMismatch,
    );
    let unverified = env.user("bound@example.com").await.user;
    assert_code(
        env.auth
            .invites()
            .accept(&env.caller(unverified.id).await, token, &meta())
            .await,
        ErrorCode::InviteEmailMismatch,
    );
    env.store()
        .mark_email_verified(unverified.id, &unverified.email, env.auth.now())
        .await
        .unwrap();
    let bound = env
        .auth
        .users()
        .get(&Caller::System, unverified.id)
        .await
        .unwrap();
    env.auth
        .invites()
        .accept(&env.caller(bound.id).await, token, &meta())
        .await
        .unwrap();
}

pub async fn accept_by_existing_member_is_duplicate<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let org = group(&env, "org", None).await;
    let user = env.user("in@example.com").await.user;
    add(&env, org.id, user.id, "member").await;
    let created = env
        .auth
        .invites()
        .create(&Caller::System, into(org.id), &meta())
        .await
        .unwrap();
    assert_code(
        env.auth
            .invites()
            .accept(&env.caller(user.id).await, created.token.expose(), &meta())
            .await,
        ErrorCode::DuplicateMembership,
    );
    assert_eq!(
        env.auth
            .invites()
            .get(&Caller::System, created.invite.id)
            .await
            .unwrap()
            .status,
        InviteStatus::Pending
    );
}

pub async fn invite_without_group<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("solo@example.com").await.user;
    let created = env
        .auth
        .invites()
        .create(&Caller::System, NewInvite::default(), &meta())
        .await
        .unwrap();
    let (invite, member) = env
        .auth
        .invites()
        .accept(&env.caller(user.id).await, created.token.expose(), &meta())
        .await
        .unwrap();
    assert_eq!(invite.status, InviteStatus::Accepted);
    assert!(member.is_none());
}

pub async fn list_filters_by_status_group_email_inviter_role<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let org = group(&env, "org", None).await;
    let other = group(&env, "other", None).await;
    let boss = env.user("boss@example.com").await.user;
    add(&env, org.id, boss.id, "admin").await;
    let joiner = env.user("joiner@example.com").await.user;
    let i1 = env
        .auth
        .invites()
        .create(
            &env.caller(boss.id).await,
            NewInvite {
                email: Some("x@example.com".into()),
                role: Some("admin".into()),
                ..into(org.id)
            },
            &meta(),
        )
        .await
        .unwrap();
    let i2 = env
        .auth
        .invites()
        .create(
            &Caller::System,
            NewInvite {
                expires_at: Some(env.auth.now() + Duration::hours(1)),
                ..into(org.id)
            },
            &meta(),
        )
        .await
        .unwrap();
    let i3 = env
        .auth
        .invites()
        .create(&env.caller(boss.id).await, into(org.id), &meta())
        .await
        .unwrap();
    let i4 = env
        .auth
        .invites()
        .create(&Caller::System, into(other.id), &meta())
        .await
        .unwrap();
    env.auth
        .invites()
        .accept(&env.caller(joiner.id).await, i3.token.expose(), &meta())
        .await
        .unwrap();
    env.advance(Duration::hours(2));
    let ids = |filter: InviteFilter| {
        let invites = env.auth.invites();
        async move {
            invites
                .list(
                    &Caller::System,
                    ListQuery::new(filter, InviteOrder::CreatedAt),
                )
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|i| (i.id, i.status))
                .collect::<Vec<_>>()
        }
    };
    let pending = InviteStatus::Pending;
    assert_eq!(
        ids(InviteFilter {
            group_id: Some(org.id),
            ..InviteFilter::default()
        })
        .await,
        [
            (i1.invite.id, pending),
            (i2.invite.id, InviteStatus::Expired),
            (i3.invite.id, InviteStatus::Accepted)
        ]
    );
    assert_eq!(
        ids(InviteFilter {
            status: Some(pending),
            ..InviteFilter::default()
        })
        .await,
        [(i1.invite.id, pending), (i4.invite.id, pending)]
    );
    assert_eq!(
        ids(InviteFilter {
            status: Some(InviteStatus::Expired),
            ..InviteFilter::default()
        })
        .await,
        [(i2.invite.id, InviteStatus::Expired)]
    );
    assert_eq!(
        ids(InviteFilter {
            inviter_id: Some(boss.id),
            ..InviteFilter::default()
        })
        .await
        .len(),
        2
    );
    assert_eq!(
        ids(InviteFilter {
            email: Some(Email::parse("x@example.com").unwrap()),
            ..InviteFilter::default()
        })
        .await,
        [(i1.invite.id, pending)]
    );
    assert_eq!(
        ids(InviteFilter {
            role: Some("admin".into()),
            ..InviteFilter::default()
        })
        .await
        .len(),
        1
    );
}

pub async fn concurrent_accepts_make_exactly_one_membership<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let node_a = Env::new(h.store);
    let node_b = node_a.node(h.peer);
    let org = group(&node_a, "org", None).await;
    let created = node_a
        .auth
        .invites()
        .create(&Caller::System, into(org.id), &meta())
        .await
        .unwrap();
    let mut people = Vec::new();
    for i in 0..10 {
        people.push(node_a.user(&format!("p{i}@example.com")).await.user);
    }
    let token = Arc::new(created.token.expose().to_owned());
    let mut tasks = Vec::new();
    for i in 0..100 {
        let auth = if i % 2 == 0 {
            node_a.auth.clone()
        } else {
            node_b.auth.clone()
        };
        let caller = node_a.caller(people[i % people.len()].id).await;
        let token = Arc::clone(&token);
        tasks.push(tokio::spawn(async move {
            auth.invites().accept(&caller, &token, &meta()).await
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(e) => assert_eq!(e.code(), ErrorCode::InviteNotPending, "{e}"),
        }
    }
    assert_eq!(accepted, 1);
    let members = node_a
        .auth
        .members()
        .list(
            &Caller::System,
            ListQuery::new(
                MemberFilter {
                    group_id: Some(org.id),
                    ..MemberFilter::default()
                },
                MemberOrder::CreatedAt,
            ),
        )
        .await
        .unwrap();
    assert_eq!(members.items.len(), 1, "exactly one membership");
    let invite = node_a
        .auth
        .invites()
        .get(&Caller::System, created.invite.id)
        .await
        .unwrap();
    assert_eq!(invite.status, InviteStatus::Accepted);
    assert_eq!(invite.accepted_by, Some(members.items[0].user_id));
}

pub async fn unknown_and_malformed_tokens<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("t@example.com").await.user;
    let unknown = crate::secret::generate_token(&crate::secret::OsRandom);
    for bad in ["", "short", &"x".repeat(1 << 20), unknown.expose()] {
        assert_code(
            env.auth
                .invites()
                .accept(&env.caller(user.id).await, bad, &meta())
                .await,
            ErrorCode::InviteNotFound,
        );
        assert_code(
            env.auth.invites().get_by_token(bad).await,
            ErrorCode::InviteNotFound,
        );
    }
}

pub async fn an_invite_needs_its_inviters_authority_when_accepted<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let org = group(&env, "org", None).await;
    let admin = env.user("admin@example.com").await.user;
    let admin_membership = add(&env, org.id, admin.id, "admin").await;
    let as_admin = env.caller(admin.id).await;
    let invites = env.auth.invites();
    let as_admin_role = invites
        .create(
            &as_admin,
            NewInvite {
                role: Some("admin".into()),
                ..into(org.id)
            },
            &meta(),
        )
        .await
        .unwrap();
    let as_member_role = invites
        .create(&as_admin, into(org.id), &meta())
        .await
        .unwrap();
    // The admin is demoted to member: they may no longer grant admin, nor invite at all.
    env.auth
        .members()
        .update(
            &Caller::System,
            org.id,
            admin_membership.id,
            crate::members::MemberPatch {
                role: Some("member".into()),
                ..crate::members::MemberPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    let joiner = env.user("joiner@example.com").await.user;
    let as_joiner = env.caller(joiner.id).await;
    for created in [&as_admin_role, &as_member_role] {
        assert_code(
            invites
                .accept(&as_joiner, created.token.expose(), &meta())
                .await,
            ErrorCode::InviteInviterUnauthorized,
        );
    }
    assert!(
        env.auth
            .members()
            .find(&Caller::System, org.id, joiner.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        invites
            .get(&Caller::System, as_admin_role.invite.id)
            .await
            .unwrap()
            .status,
        InviteStatus::Pending
    );
    let trail = env.audit_trail("invite.accept").await;
    assert_eq!(
        trail,
        vec![(false, Some("INVITE_INVITER_UNAUTHORIZED".to_owned())); 2]
    );
    // Back to admin, the invites work again; one whose inviter left the group does not.
    env.auth
        .members()
        .update(
            &Caller::System,
            org.id,
            admin_membership.id,
            crate::members::MemberPatch {
                role: Some("admin".into()),
                ..crate::members::MemberPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    let (_, member) = invites
        .accept(&as_joiner, as_admin_role.token.expose(), &meta())
        .await
        .unwrap();
    assert_eq!(member.unwrap().role, "admin");
    env.auth
        .members()
        .remove(&Caller::System, org.id, admin_membership.id, &meta())
        .await
        .unwrap();
    let second = env.user("second@example.com").await.user;
    assert_code(
        invites
            .accept(
                &env.caller(second.id).await,
                as_member_role.token.expose(),
                &meta(),
            )
            .await,
        ErrorCode::InviteInviterUnauthorized,
    );
}

pub async fn invite_lifetimes_are_capped<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let org = group(&env, "org", None).await;
    let invites = env.auth.invites();
    let now = env.auth.now();
    let far = time::macros::datetime!(9999-12-31 00:00 UTC);
    for expires_at in [now + Duration::days(30) + Duration::SECOND, far] {
        assert_code(
            invites
                .create(
                    &Caller::System,
                    NewInvite {
                        expires_at: Some(expires_at),
                        ..into(org.id)
                    },
                    &meta(),
                )
                .await,
            ErrorCode::InvalidInput,
        );
    }
    let longest = invites
        .create(
            &Caller::System,
            NewInvite {
                expires_at: Some(now + Duration::days(30)),
                ..into(org.id)
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(longest.invite.expires_at, Some(now + Duration::days(30)));
    // The cap is configuration.
    let env = env.node_with(env.store().clone(), |c| {
        c.invite_ttl = Some(Duration::hours(1));
        c.max_invite_ttl = Some(Duration::days(2));
    });
    assert_code(
        env.auth
            .invites()
            .create(
                &Caller::System,
                NewInvite {
                    expires_at: Some(now + Duration::days(3)),
                    email: Some("x@example.com".into()),
                    ..into(org.id)
                },
                &meta(),
            )
            .await,
        ErrorCode::InvalidInput,
    );
}
