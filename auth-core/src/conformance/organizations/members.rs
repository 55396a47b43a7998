//! Members: add, list, update, remove, the last-owner guard and inherited membership.

use super::groups::{chain, group, named};
use crate::Caller;
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::members::{MemberFilter, MemberOrder, MemberPatch, MemberStatus, NewMember};
use crate::{ErrorCode, GroupId, ListQuery, Member, MemberId, OrganizationStore, User, UserId};

/// How many members of `group` hold the owner role.
async fn owners<S: OrganizationStore + Clone>(env: &Env<S>, group: GroupId) -> usize {
    let filter = MemberFilter {
        group_id: Some(group),
        role: Some("owner".into()),
        ..MemberFilter::default()
    };
    let page = env
        .auth
        .members()
        .list(
            &Caller::System,
            ListQuery::new(filter, MemberOrder::CreatedAt),
        )
        .await
        .unwrap();
    page.items.len()
}

fn new_member(group: GroupId, user: UserId, role: &str) -> NewMember {
    NewMember {
        group_id: group,
        user_id: user,
        role: Some(role.into()),
        status: None,
        extend: None,
    }
}

pub(crate) async fn add<S: OrganizationStore + Clone>(
    env: &Env<S>,
    group: GroupId,
    user: UserId,
    role: &str,
) -> Member {
    env.auth
        .members()
        .add(&Caller::System, new_member(group, user, role), &meta())
        .await
        .unwrap()
}

async fn users<S: OrganizationStore + Clone>(env: &Env<S>, n: usize) -> Vec<User> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(env.user(&format!("u{i}@example.com")).await.user);
    }
    out
}

pub async fn add_get_and_list<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let [a, b] = <[User; 2]>::try_from(users(&env, 2).await).unwrap();
    let org = group(&env, "org", None).await;
    let other = group(&env, "other", None).await;
    let m1 = env
        .auth
        .members()
        .add(
            &Caller::System,
            NewMember {
                group_id: org.id,
                user_id: a.id,
                role: None,
                status: None,
                extend: Some(serde_json::json!({"title": "CTO"})),
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(m1.role, "member", "the policy's default role");
    assert_eq!(m1.status, MemberStatus::Active);
    let m2 = add(&env, org.id, b.id, "admin").await;
    add(&env, other.id, a.id, "owner").await;
    assert_eq!(
        env.auth
            .members()
            .get(&Caller::System, m1.id)
            .await
            .unwrap(),
        m1
    );
    assert_eq!(
        env.auth
            .members()
            .find(&Caller::System, org.id, b.id)
            .await
            .unwrap(),
        Some(m2.clone())
    );
    assert_code(
        env.auth
            .members()
            .get(&Caller::System, MemberId::new())
            .await,
        ErrorCode::MemberNotFound,
    );
    let list = |filter: MemberFilter| {
        let members = env.auth.members();
        async move {
            members
                .list(
                    &Caller::System,
                    ListQuery::new(filter, MemberOrder::CreatedAt),
                )
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|m| m.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(MemberFilter {
            group_id: Some(org.id),
            ..MemberFilter::default()
        })
        .await,
        [m1.id, m2.id]
    );
    assert_eq!(
        list(MemberFilter {
            group_id: Some(org.id),
            role: Some("admin".into()),
            ..MemberFilter::default()
        })
        .await,
        [m2.id]
    );
    assert_eq!(
        list(MemberFilter {
            user_id: Some(a.id),
            ..MemberFilter::default()
        })
        .await
        .len(),
        2
    );
    assert!(
        list(MemberFilter {
            status: Some(MemberStatus::Suspended),
            ..MemberFilter::default()
        })
        .await
        .is_empty()
    );
}

pub async fn duplicate_membership_is_refused<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("dup@example.com").await.user;
    let org = group(&env, "org", None).await;
    add(&env, org.id, user.id, "member").await;
    assert_code(
        env.auth
            .members()
            .add(
                &Caller::System,
                new_member(org.id, user.id, "admin"),
                &meta(),
            )
            .await,
        ErrorCode::DuplicateMembership,
    );
}

pub async fn add_validates_group_user_and_role<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("v@example.com").await.user;
    let org = group(&env, "org", None).await;
    let members = env.auth.members();
    assert_code(
        members
            .add(
                &Caller::System,
                new_member(GroupId::new(), user.id, "member"),
                &meta(),
            )
            .await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        members
            .add(
                &Caller::System,
                new_member(org.id, UserId::new(), "member"),
                &meta(),
            )
            .await,
        ErrorCode::UserNotFound,
    );
    assert_code(
        members
            .add(
                &Caller::System,
                new_member(org.id, user.id, "emperor"),
                &meta(),
            )
            .await,
        ErrorCode::InvalidInput,
    );
    assert_code(
        members
            .add(
                &Caller::System,
                NewMember {
                    extend: Some(serde_json::json!("x")),
                    ..new_member(org.id, user.id, "member")
                },
                &meta(),
            )
            .await,
        ErrorCode::InvalidInput,
    );
}

pub async fn update_and_remove<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let [owner, user] = <[User; 2]>::try_from(users(&env, 2).await).unwrap();
    let org = env
        .auth
        .groups()
        .create_owned_by(&Caller::System, named("org"), owner.id, &meta())
        .await
        .unwrap();
    let m = add(&env, org.id, user.id, "member").await;
    let updated = env
        .auth
        .members()
        .update(
            &Caller::System,
            m.group_id,
            m.id,
            MemberPatch {
                role: Some("admin".into()),
                status: Some(MemberStatus::Suspended),
                extend: Some(serde_json::json!({"note": "x"})),
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(updated.role, "admin");
    assert_eq!(updated.status, MemberStatus::Suspended);
    assert_eq!(
        env.auth.members().get(&Caller::System, m.id).await.unwrap(),
        updated
    );
    assert_code(
        env.auth
            .members()
            .update(
                &Caller::System,
                m.group_id,
                m.id,
                MemberPatch {
                    role: Some("nope".into()),
                    ..MemberPatch::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::InvalidInput,
    );
    env.auth
        .members()
        .remove(&Caller::System, m.group_id, m.id, &meta())
        .await
        .unwrap();
    assert_code(
        env.auth.members().get(&Caller::System, m.id).await,
        ErrorCode::MemberNotFound,
    );
    assert_code(
        env.auth
            .members()
            .remove(&Caller::System, m.group_id, m.id, &meta())
            .await,
        ErrorCode::MemberNotFound,
    );
    assert_code(
        env.auth
            .members()
            .update(
                &Caller::System,
                m.group_id,
                m.id,
                MemberPatch::default(),
                &meta(),
            )
            .await,
        ErrorCode::MemberNotFound,
    );
}

pub async fn last_owner_cannot_be_removed_demoted_or_suspended<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let [owner, second] = <[User; 2]>::try_from(users(&env, 2).await).unwrap();
    let org = env
        .auth
        .groups()
        .create_owned_by(&Caller::System, named("org"), owner.id, &meta())
        .await
        .unwrap();
    let owner_m = env
        .auth
        .members()
        .find(&Caller::System, org.id, owner.id)
        .await
        .unwrap()
        .unwrap();
    let members = env.auth.members();
    assert_code(
        members
            .remove(&Caller::System, owner_m.group_id, owner_m.id, &meta())
            .await,
        ErrorCode::LastOwner,
    );
    assert_code(
        members
            .update(
                &Caller::System,
                owner_m.group_id,
                owner_m.id,
                MemberPatch {
                    role: Some("admin".into()),
                    ..MemberPatch::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::LastOwner,
    );
    assert_code(
        members
            .update(
                &Caller::System,
                owner_m.group_id,
                owner_m.id,
                MemberPatch {
                    status: Some(MemberStatus::Suspended),
                    ..MemberPatch::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::LastOwner,
    );
    // Changing other fields of the last owner is fine.
    members
        .update(
            &Caller::System,
            owner_m.group_id,
            owner_m.id,
            MemberPatch {
                extend: Some(serde_json::json!({"k": 1})),
                ..MemberPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    // With a second owner, the first may go.
    let second_m = add(&env, org.id, second.id, "owner").await;
    members
        .remove(&Caller::System, owner_m.group_id, owner_m.id, &meta())
        .await
        .unwrap();
    assert_code(
        members
            .remove(&Caller::System, second_m.group_id, second_m.id, &meta())
            .await,
        ErrorCode::LastOwner,
    );
}

pub async fn concurrent_owner_removals_keep_one_owner<S: OrganizationStore + Clone>(h: Harness<S>) {
    let node_a = Env::new(h.store);
    let node_b = node_a.node(h.peer);
    let [a, b] = <[User; 2]>::try_from(users(&node_a, 2).await).unwrap();
    let org = node_a
        .auth
        .groups()
        .create_owned_by(&Caller::System, named("org"), a.id, &meta())
        .await
        .unwrap();
    add(&node_a, org.id, b.id, "owner").await;
    let ma = node_a
        .auth
        .members()
        .find(&Caller::System, org.id, a.id)
        .await
        .unwrap()
        .unwrap();
    let mb = node_a
        .auth
        .members()
        .find(&Caller::System, org.id, b.id)
        .await
        .unwrap()
        .unwrap();
    let (meta_a, meta_b) = (meta(), meta());
    let (members_a, members_b) = (node_a.auth.members(), node_b.auth.members());
    let (ra, rb) = tokio::join!(
        members_a.remove(&Caller::System, ma.group_id, ma.id, &meta_a),
        members_b.remove(&Caller::System, mb.group_id, mb.id, &meta_b)
    );
    assert_eq!([ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count(), 1);
    assert_eq!(owners(&node_a, org.id).await, 1);
}

pub async fn groups_of_a_user<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("g@example.com").await.user;
    let a = group(&env, "a", None).await;
    let b = group(&env, "b", None).await;
    group(&env, "c", None).await;
    add(&env, a.id, user.id, "member").await;
    add(&env, b.id, user.id, "admin").await;
    let page = env
        .auth
        .members()
        .groups_of(
            &Caller::System,
            user.id,
            ListQuery::new((), MemberOrder::CreatedAt).limit(1),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].group.id, a.id);
    let next = env
        .auth
        .members()
        .groups_of(
            &Caller::System,
            user.id,
            ListQuery::new((), MemberOrder::CreatedAt).after(page.next_cursor.unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(
        next.items
            .iter()
            .map(|m| (m.group.id, m.member.role.as_str()))
            .collect::<Vec<_>>(),
        [(b.id, "admin")]
    );
}

pub async fn direct_membership_resolves_at_depth_zero<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("d@example.com").await.user;
    let org = group(&env, "org", None).await;
    let m = add(&env, org.id, user.id, "admin").await;
    let r = env
        .auth
        .members()
        .resolve(user.id, org.id, None, None)
        .await
        .unwrap();
    assert_eq!(r.member, Some(m));
    assert_eq!(r.matched_group, Some(org.id));
    assert_eq!(r.depth, Some(0));
    assert!(!r.inherited);
    assert_eq!(r.path, [org.id]);
    assert_code(
        env.auth
            .members()
            .resolve(user.id, GroupId::new(), None, None)
            .await,
        ErrorCode::GroupNotFound,
    );
}

pub async fn membership_is_inherited_from_the_nearest_ancestor<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let user = env.user("i@example.com").await.user;
    let levels = chain(&env, 4).await;
    add(&env, levels[0].id, user.id, "owner").await;
    let near = add(&env, levels[1].id, user.id, "member").await;
    let r = env
        .auth
        .members()
        .resolve(user.id, levels[3].id, None, None)
        .await
        .unwrap();
    assert_eq!(
        r.member.as_ref().map(|m| m.id),
        Some(near.id),
        "the nearest wins"
    );
    assert_eq!(r.matched_group, Some(levels[1].id));
    assert_eq!(r.depth, Some(2));
    assert!(r.inherited);
    assert_eq!(r.path, [levels[3].id, levels[2].id, levels[1].id]);
    // A stranger resolves to nothing, having walked the whole chain.
    let stranger = env.user("s@example.com").await.user;
    let none = env
        .auth
        .members()
        .resolve(stranger.id, levels[3].id, None, None)
        .await
        .unwrap();
    assert!(none.member.is_none() && none.matched_group.is_none());
    assert_eq!(none.path.len(), 4);
}

pub async fn resolution_filters_by_role_and_status<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("r@example.com").await.user;
    let levels = chain(&env, 3).await;
    add(&env, levels[0].id, user.id, "owner").await;
    let suspended = add(&env, levels[1].id, user.id, "admin").await;
    add(&env, levels[2].id, user.id, "member").await;
    env.auth
        .members()
        .update(
            &Caller::System,
            suspended.group_id,
            suspended.id,
            MemberPatch {
                status: Some(MemberStatus::Suspended),
                ..MemberPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    let leaf = levels[2].id;
    let admin = env
        .auth
        .members()
        .resolve(user.id, leaf, Some(&["admin"]), None)
        .await
        .unwrap();
    // The suspended admin membership is skipped; owner (which includes admin) matches.
    assert_eq!(admin.matched_group, Some(levels[0].id));
    assert_eq!(admin.depth, Some(2));
    let member = env
        .auth
        .members()
        .resolve(user.id, leaf, Some(&["member"]), None)
        .await
        .unwrap();
    assert_eq!(member.matched_group, Some(leaf));
}

pub async fn require_refuses_non_members<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("q@example.com").await.user;
    let org = group(&env, "org", None).await;
    assert_code(
        env.auth.members().require(user.id, org.id, None).await,
        ErrorCode::Forbidden,
    );
    add(&env, org.id, user.id, "member").await;
    env.auth
        .members()
        .require(user.id, org.id, None)
        .await
        .unwrap();
    assert_code(
        env.auth
            .members()
            .require(user.id, org.id, Some(&["admin"]))
            .await,
        ErrorCode::Forbidden,
    );
}

pub async fn user_deletion_respects_memberships<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env
        .auth
        .users()
        .create(
            &Caller::System,
            crate::users::NewUser {
                email: "m@example.com".into(),
                ..Default::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    let org = group(&env, "org", None).await;
    add(&env, org.id, user.id, "member").await;
    let err = env
        .auth
        .users()
        .delete(&Caller::System, user.id, false, &meta())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::HasDependents);
    assert!(err.to_string().contains("1 membership"), "{err}");
    env.auth
        .users()
        .delete(&Caller::System, user.id, true, &meta())
        .await
        .unwrap();
    assert!(
        env.auth
            .members()
            .find(&Caller::System, org.id, user.id)
            .await
            .unwrap()
            .is_none()
    );
}

/// Deleting a user is no way around the last-owner guard: the only owner of a group cannot
/// be deleted, and two owners deleted at once on two nodes leave one.
pub async fn the_only_owner_cannot_be_deleted<S: OrganizationStore + Clone>(h: Harness<S>) {
    let node_a = Env::new(h.store);
    let node_b = node_a.node(h.peer);
    let [a, b] = <[User; 2]>::try_from(users(&node_a, 2).await).unwrap();
    let org = node_a
        .auth
        .groups()
        .create_owned_by(&Caller::System, named("org"), a.id, &meta())
        .await
        .unwrap();
    for cascade in [true, false] {
        assert_code(
            node_a
                .auth
                .users()
                .delete(&Caller::System, a.id, cascade, &meta())
                .await,
            ErrorCode::LastOwner,
        );
    }
    // A suspended second owner does not count; an active one does.
    let mb = add(&node_a, org.id, b.id, "owner").await;
    let set_status = |status| {
        let patch = MemberPatch {
            status: Some(status),
            ..MemberPatch::default()
        };
        let members = node_a.auth.members();
        async move {
            members
                .update(&Caller::System, mb.group_id, mb.id, patch, &meta())
                .await
                .unwrap()
        }
    };
    set_status(MemberStatus::Suspended).await;
    assert_code(
        node_a
            .auth
            .users()
            .delete(&Caller::System, a.id, true, &meta())
            .await,
        ErrorCode::LastOwner,
    );
    set_status(MemberStatus::Active).await;
    let (meta_a, meta_b) = (meta(), meta());
    let (users_a, users_b) = (node_a.auth.users(), node_b.auth.users());
    let (ra, rb) = tokio::join!(
        users_a.delete(&Caller::System, a.id, true, &meta_a),
        users_b.delete(&Caller::System, b.id, true, &meta_b)
    );
    assert_eq!(
        [&ra, &rb].iter().filter(|r| r.is_ok()).count(),
        1,
        "{ra:?} {rb:?}"
    );
    assert_eq!(owners(&node_a, org.id).await, 1);
}

/// Deleting one's own account keeps the last-owner guard, and says so in the audit log.
pub async fn the_only_owner_cannot_delete_their_own_account<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let signed_in = env.user("sole@example.com").await;
    env.auth
        .groups()
        .create_owned_by(&Caller::System, named("org"), signed_in.user.id, &meta())
        .await
        .unwrap();
    let password = crate::Secret::new(crate::conformance::PASSWORD);
    assert_code(
        env.auth
            .users()
            .delete_own(
                &signed_in.caller(),
                crate::users::Reauth {
                    password: Some(&password),
                },
                &meta(),
            )
            .await,
        ErrorCode::LastOwner,
    );
    env.auth
        .users()
        .get(&Caller::System, signed_in.user.id)
        .await
        .unwrap();
    assert_eq!(
        env.audit_trail("user.delete").await,
        [(false, Some("LAST_OWNER".to_owned()))]
    );
}

/// A group's effective members: its own, then each ancestor's, nearest first, each marked
/// with the group it is on; readable with `member:read` there, hidden from strangers.
pub async fn effective_members_include_the_ancestors<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let levels = chain(&env, 3).await;
    let [root_owner, root_member, middle_admin, leaf_member, stranger] =
        <[User; 5]>::try_from(users(&env, 5).await).unwrap();
    let m_owner = add(&env, levels[0].id, root_owner.id, "owner").await;
    let m_member = add(&env, levels[0].id, root_member.id, "member").await;
    let m_admin = add(&env, levels[1].id, middle_admin.id, "admin").await;
    let m_leaf = add(&env, levels[2].id, leaf_member.id, "member").await;
    // The same user on the leaf and on the root: both memberships count.
    let m_again = add(&env, levels[2].id, root_member.id, "admin").await;
    let caller = env.caller(leaf_member.id).await;
    let effective = env
        .auth
        .members()
        .list_effective(&caller, levels[2].id)
        .await
        .unwrap();
    let summary: Vec<_> = effective
        .items
        .iter()
        .map(|e| (e.member.id, e.inherited, e.source_group_id, e.depth))
        .collect();
    assert_eq!(
        summary,
        [
            (m_leaf.id, false, levels[2].id, 0),
            (m_again.id, false, levels[2].id, 0),
            (m_admin.id, true, levels[1].id, 1),
            (m_owner.id, true, levels[0].id, 2),
            (m_member.id, true, levels[0].id, 2),
        ]
    );
    assert_eq!(effective.items[2].source_group_name, levels[1].name);
    assert!(!effective.truncated && !effective.cycle_detected && !effective.max_depth_reached);
    // A root's list has nothing inherited.
    let root = env
        .auth
        .members()
        .list_effective(&Caller::System, levels[0].id)
        .await
        .unwrap();
    assert_eq!(root.items.len(), 2);
    assert!(root.items.iter().all(|e| !e.inherited));
    // Strangers learn nothing; unknown groups are not found.
    let stranger = env.caller(stranger.id).await;
    assert_code(
        env.auth
            .members()
            .list_effective(&stranger, levels[2].id)
            .await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        env.auth
            .members()
            .list_effective(&Caller::System, GroupId::new())
            .await,
        ErrorCode::GroupNotFound,
    );
}
