//! Who may manage organizations, decided in the services: outsiders learn nothing,
//! members need the permission, nobody grants or touches a role above their own, keys act
//! within their scopes (see the API-keys domain), and refusals are audited.

use super::groups::{group, named};
use super::members::add;
use crate::audit::{AuditFilter, AuditOrder};
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::groups::{GroupPatch, NewGroup};
use crate::invites::NewInvite;
use crate::members::{MemberFilter, MemberOrder, MemberPatch, NewMember};
use crate::{Caller, ErrorCode, Group, GroupId, ListQuery, OrganizationStore, UserId};

/// An organization with an owner, an admin and a member, each with a session.
pub(crate) struct Org {
    pub(crate) org: Group,
    pub(crate) owner: (UserId, Caller),
    pub(crate) admin: (UserId, Caller),
    pub(crate) member: (UserId, Caller),
}

pub(crate) async fn org<S: OrganizationStore + Clone>(env: &Env<S>) -> Org {
    let owner = env.user("owner@example.com").await;
    let org = env
        .auth
        .groups()
        .create(&owner.caller(), named("Org"), &meta())
        .await
        .unwrap();
    let admin = env.user("admin@example.com").await;
    add(env, org.id, admin.user.id, "admin").await;
    let member = env.user("member@example.com").await;
    add(env, org.id, member.user.id, "member").await;
    Org {
        org,
        owner: (owner.user.id, owner.caller()),
        admin: (admin.user.id, admin.caller()),
        member: (member.user.id, member.caller()),
    }
}

pub(crate) fn joining(group: GroupId, user: UserId, role: Option<&str>) -> NewMember {
    NewMember {
        group_id: group,
        user_id: user,
        role: role.map(Into::into),
        status: None,
        extend: None,
    }
}

pub(crate) fn of_group(group: GroupId) -> ListQuery<MemberFilter, MemberOrder> {
    ListQuery::new(
        MemberFilter {
            group_id: Some(group),
            ..MemberFilter::default()
        },
        MemberOrder::CreatedAt,
    )
}

pub async fn outsiders_learn_nothing_of_a_group<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let o = org(&env).await;
    let stranger = env.user("stranger@example.com").await;
    let (s, id) = (stranger.caller(), o.org.id);
    let (groups, members) = (env.auth.groups(), env.auth.members());
    assert_code(groups.get(&s, id).await, ErrorCode::GroupNotFound);
    assert_code(
        groups.get_by_slug(&s, "no-such-slug").await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        groups.update(&s, id, GroupPatch::default(), &meta()).await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        groups.delete(&s, id, &meta()).await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        groups.ancestors(&s, id, true, None).await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        members.list(&s, of_group(id)).await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        members
            .add(&s, joining(id, stranger.user.id, None), &meta())
            .await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        env.auth
            .invites()
            .create(
                &s,
                NewInvite {
                    group_id: Some(id),
                    ..NewInvite::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::GroupNotFound,
    );
    // A subgroup of someone else's organization is just as unknown.
    assert_code(
        groups
            .create(
                &s,
                NewGroup {
                    parent_id: Some(id),
                    ..named("mine now")
                },
                &meta(),
            )
            .await,
        ErrorCode::GroupNotFound,
    );
    // The same answer as for a group that does not exist.
    assert_code(
        groups.get(&s, GroupId::new()).await,
        ErrorCode::GroupNotFound,
    );
    // Members read; the app reads everything.
    groups.get(&o.member.1, id).await.unwrap();
    groups.get(&Caller::System, id).await.unwrap();
}

pub async fn members_without_the_permission_are_forbidden<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    // Direct adds: the app opted in.
    let env = Env::with_config(h.store, |c| c.direct_member_add = true);
    let o = org(&env).await;
    let newcomer = env.user("new@example.com").await.user;
    let (m, id) = (&o.member.1, o.org.id);
    let (groups, members) = (env.auth.groups(), env.auth.members());
    let page = members.list(m, of_group(id)).await.unwrap();
    assert_eq!(page.items.len(), 3, "a member reads the members");
    assert_code(
        members
            .add(m, joining(id, newcomer.id, None), &meta())
            .await,
        ErrorCode::Forbidden,
    );
    let admin_m = members
        .find(&Caller::System, id, o.admin.0)
        .await
        .unwrap()
        .unwrap();
    assert_code(
        members.remove(m, id, admin_m.id, &meta()).await,
        ErrorCode::Forbidden,
    );
    assert_code(
        members
            .update(m, id, admin_m.id, MemberPatch::default(), &meta())
            .await,
        ErrorCode::Forbidden,
    );
    assert_code(
        groups
            .update(
                m,
                id,
                GroupPatch {
                    name: Some("Renamed".into()),
                    ..GroupPatch::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::Forbidden,
    );
    assert_code(groups.delete(m, id, &meta()).await, ErrorCode::Forbidden);
    assert_code(
        env.auth
            .invites()
            .create(
                m,
                NewInvite {
                    group_id: Some(id),
                    ..NewInvite::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::Forbidden,
    );
    // The admin may do what the member may not.
    members
        .add(&o.admin.1, joining(id, newcomer.id, None), &meta())
        .await
        .unwrap();
    // A member of a parent holds their role in the groups below it.
    let team = group(&env, "team", Some(id)).await;
    let page = members.list(&o.admin.1, of_group(team.id)).await.unwrap();
    assert!(page.items.is_empty());
}

pub async fn nobody_grants_changes_or_removes_a_role_above_their_own<
    S: OrganizationStore + Clone,
>(
    h: Harness<S>,
) {
    // Direct adds: the app opted in.
    let env = Env::with_config(h.store, |c| c.direct_member_add = true);
    let o = org(&env).await;
    let (a, id) = (&o.admin.1, o.org.id);
    let members = env.auth.members();
    let newcomer = env.user("new@example.com").await.user;
    let owner_m = members
        .find(&Caller::System, id, o.owner.0)
        .await
        .unwrap()
        .unwrap();
    let member_m = members
        .find(&Caller::System, id, o.member.0)
        .await
        .unwrap()
        .unwrap();
    assert_code(
        members
            .add(a, joining(id, newcomer.id, Some("owner")), &meta())
            .await,
        ErrorCode::Forbidden,
    );
    let promote = MemberPatch {
        role: Some("owner".into()),
        ..MemberPatch::default()
    };
    assert_code(
        members
            .update(a, id, member_m.id, promote.clone(), &meta())
            .await,
        ErrorCode::Forbidden,
    );
    let demote = MemberPatch {
        role: Some("member".into()),
        ..MemberPatch::default()
    };
    assert_code(
        members.update(a, id, owner_m.id, demote, &meta()).await,
        ErrorCode::Forbidden,
    );
    assert_code(
        members.remove(a, id, owner_m.id, &meta()).await,
        ErrorCode::Forbidden,
    );
    assert_code(
        env.auth
            .invites()
            .create(
                a,
                NewInvite {
                    group_id: Some(id),
                    role: Some("owner".into()),
                    ..NewInvite::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::Forbidden,
    );
    // Their own rank and below: fine.
    members
        .add(a, joining(id, newcomer.id, Some("admin")), &meta())
        .await
        .unwrap();
    members.remove(a, id, member_m.id, &meta()).await.unwrap();
    // The owner may promote.
    let newcomer_m = members
        .find(&Caller::System, id, newcomer.id)
        .await
        .unwrap()
        .unwrap();
    let promoted = members
        .update(&o.owner.1, id, newcomer_m.id, promote, &meta())
        .await
        .unwrap();
    assert_eq!(promoted.role, "owner");
    // A membership of another group is not found through this one.
    let other = group(&env, "other", None).await;
    let elsewhere = add(&env, other.id, newcomer.id, "member").await;
    assert_code(
        members.remove(&o.owner.1, id, elsewhere.id, &meta()).await,
        ErrorCode::MemberNotFound,
    );
}

pub async fn anyone_may_leave_but_the_last_owner<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let o = org(&env).await;
    let id = o.org.id;
    let members = env.auth.members();
    let own = |user| {
        let members = env.auth.members();
        async move {
            members
                .find(&Caller::System, id, user)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let member_m = own(o.member.0).await;
    members
        .remove(&o.member.1, id, member_m.id, &meta())
        .await
        .unwrap();
    let owner_m = own(o.owner.0).await;
    assert_code(
        members.remove(&o.owner.1, id, owner_m.id, &meta()).await,
        ErrorCode::LastOwner,
    );
}

pub async fn a_move_needs_delete_on_the_group_and_create_on_the_new_parent<
    S: OrganizationStore + Clone,
>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let o = org(&env).await;
    let team = group(&env, "team", Some(o.org.id)).await;
    let elsewhere = env
        .auth
        .groups()
        .create(&o.admin.1, named("admin's own"), &meta())
        .await
        .unwrap();
    let move_to = |parent| GroupPatch {
        parent_id: Some(parent),
        ..GroupPatch::default()
    };
    let groups = env.auth.groups();
    // The admin may update the team but not carry it off to an organization they own.
    assert_code(
        groups
            .update(&o.admin.1, team.id, move_to(Some(elsewhere.id)), &meta())
            .await,
        ErrorCode::Forbidden,
    );
    // The owner may move it within the organization, not into a group they are not in.
    assert_code(
        groups
            .update(&o.owner.1, team.id, move_to(Some(elsewhere.id)), &meta())
            .await,
        ErrorCode::GroupNotFound,
    );
    let moved = groups
        .update(&o.owner.1, team.id, move_to(None), &meta())
        .await
        .unwrap();
    assert_eq!(moved.parent_id, None);
}

pub async fn refusals_are_audited<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let o = org(&env).await;
    let newcomer = env.user("new@example.com").await.user;
    let stranger = env.user("stranger@example.com").await;
    assert_code(
        env.auth
            .members()
            .add(&o.member.1, joining(o.org.id, newcomer.id, None), &meta())
            .await,
        ErrorCode::Forbidden,
    );
    assert_code(
        env.auth
            .groups()
            .delete(&stranger.caller(), o.org.id, &meta())
            .await,
        ErrorCode::GroupNotFound,
    );
    let failures = env
        .auth
        .audit()
        .list(
            &Caller::System,
            ListQuery::new(
                AuditFilter {
                    ok: Some(false),
                    ..AuditFilter::default()
                },
                AuditOrder::At,
            ),
        )
        .await
        .unwrap();
    let seen: Vec<(&str, Option<&str>, Option<UserId>)> = failures
        .items
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.error_code.as_deref(),
                e.actor.user_id(),
            )
        })
        .collect();
    assert!(
        seen.contains(&("member.add", Some("FORBIDDEN"), Some(o.member.0))),
        "{seen:?}"
    );
    assert!(
        seen.contains(&(
            "group.delete",
            Some("GROUP_NOT_FOUND"),
            Some(stranger.user.id)
        )),
        "{seen:?}"
    );
}

pub async fn a_direct_add_needs_consent_or_the_apps_opt_in<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let o = org(&env).await;
    let (id, members) = (o.org.id, env.auth.members());
    let newcomer = env.user("new@example.com").await.user;
    // The owner may add members, but not another user without their consent, in any role.
    for role in [None, Some("member"), Some("owner")] {
        assert_code(
            members
                .add(&o.owner.1, joining(id, newcomer.id, role), &meta())
                .await,
            ErrorCode::InviteRequired,
        );
    }
    assert!(
        members
            .find(&Caller::System, id, newcomer.id)
            .await
            .unwrap()
            .is_none()
    );
    let trail = env.audit_trail("member.add").await;
    assert_eq!(
        trail
            .iter()
            .filter(|(ok, code)| !ok && code.as_deref() == Some("INVITE_REQUIRED"))
            .count(),
        3
    );
    // An invite is the way: the newcomer consents by accepting it.
    let invite = env
        .auth
        .invites()
        .create(
            &o.owner.1,
            NewInvite {
                group_id: Some(id),
                role: Some("admin".into()),
                ..NewInvite::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    let (_, joined) = env
        .auth
        .invites()
        .accept(
            &env.caller(newcomer.id).await,
            invite.token.expose(),
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(joined.unwrap().role, "admin");
    // Users add themselves (here to a team below the org, where they hold their role),
    // and the app's own code adds anyone.
    let team = group(&env, "team", Some(id)).await;
    members
        .add(
            &o.admin.1,
            joining(team.id, o.admin.0, Some("admin")),
            &meta(),
        )
        .await
        .unwrap();
    members
        .add(&Caller::System, joining(team.id, o.member.0, None), &meta())
        .await
        .unwrap();
    // With the app's opt-in, direct adds work as before.
    let opted_in = env.node_with(env.store().clone(), |c| c.direct_member_add = true);
    let other = env.user("other@example.com").await.user;
    let added = opted_in
        .auth
        .members()
        .add(&o.owner.1, joining(id, other.id, Some("owner")), &meta())
        .await
        .unwrap();
    assert_eq!(added.role, "owner");
}
