//! Users provisioned into the connection's organization.

use serde_json::json;

use crate::Caller;
use crate::conformance::scim::{directory, library_user, patch, patch_user, person, provision};
use crate::conformance::{Env, Harness, meta};
use crate::members::{MemberPatch, MemberStatus};
use crate::scim::query::ListParams;
use crate::scim::{DeprovisionMode, ResourceKind};
use crate::{ScimDomain, ScimUserId};

/// A new user becomes a library user (address verified on the verified domain) and a
/// member of the organization with the default role; the resource reads back.
pub async fn a_new_user_becomes_a_member_of_the_organization<S: ScimDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (org, directory, _) = directory(&env, "new", DeprovisionMode::Soft).await;
    let created = provision(&env, &directory, "grace", "new.example.org").await;
    assert_eq!(created.version, 1);
    assert_eq!(created.body["userName"], "grace");
    assert_eq!(created.body["externalId"], "ext-grace");
    assert_eq!(created.body["meta"]["resourceType"], "User");
    assert_eq!(
        created.body["meta"]["location"],
        format!("https://app.example.org/scim/v2/Users/{}", created.id())
    );
    let user = library_user(&env, &directory, &created).await.unwrap();
    assert_eq!(user.email.as_str(), "grace@new.example.org");
    assert!(user.email_verified, "the organization verified the domain");
    assert_eq!(user.name.as_deref(), Some("Given grace"));
    let member = env
        .store()
        .get_member_by_user(org.group, user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.role, env.auth.policy().default_role());
    assert_eq!(member.status, MemberStatus::Active);
    let read = env
        .auth
        .scim()
        .get(ResourceKind::User, &directory, created.id())
        .await
        .unwrap();
    assert_eq!(read, created);
    assert_eq!(env.audit_trail("scim.user.create").await, [(true, None)]);
}

/// `userName` is unique per connection, whatever its case; another connection may reuse
/// it, and never sees the first connection's users.
pub async fn user_names_are_unique_per_connection_and_connections_are_apart<
    S: ScimDomain + Clone,
>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (_, first, _) = directory(&env, "una", DeprovisionMode::Soft).await;
    let (_, second, _) = directory(&env, "unb", DeprovisionMode::Soft).await;
    let scim = env.auth.scim();
    let ada = provision(&env, &first, "ada", "una.example.org").await;
    let taken = scim
        .create(
            ResourceKind::User,
            &first,
            &person("ADA", "ada2@una.example.org"),
            &meta(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (taken.status, taken.scim_type.map(|t| t.as_str())),
        (409, Some("uniqueness"))
    );
    provision(&env, &second, "ada", "unb.example.org").await;
    assert_eq!(
        scim.get(ResourceKind::User, &second, ada.id())
            .await
            .unwrap_err()
            .status,
        404
    );
    let listed = scim
        .list(ResourceKind::User, &second, &ListParams::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert_ne!(listed.resources[0].id(), ada.id());
    assert_eq!(
        scim.get(ResourceKind::User, &first, "not-an-id")
            .await
            .unwrap_err()
            .status,
        404
    );
}

/// An existing account is linked on the organization's verified domain and refused
/// elsewhere.
pub async fn existing_accounts_link_only_on_verified_domains<S: ScimDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (_, directory, _) = directory(&env, "lnk", DeprovisionMode::Soft).await;
    let inside = env.user("carol@lnk.example.org").await;
    let outside = env.user("dave@elsewhere.example.com").await;
    let linked = provision(&env, &directory, "carol", "lnk.example.org").await;
    let user = library_user(&env, &directory, &linked).await.unwrap();
    assert_eq!(user.id, inside.user.id);
    let refused = env
        .auth
        .scim()
        .create(
            ResourceKind::User,
            &directory,
            &person("dave", "dave@elsewhere.example.com"),
            &meta(),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.status, 409);
    assert!(
        env.store()
            .get_user(outside.user.id)
            .await
            .unwrap()
            .is_some()
    );
    let again = env
        .auth
        .scim()
        .create(
            ResourceKind::User,
            &directory,
            &person("carol2", "carol@lnk.example.org"),
            &meta(),
        )
        .await
        .unwrap_err();
    assert_eq!(again.status, 409, "one record per account and connection");
}

/// PUT and PATCH carry the address and name to the library user, bump the version and
/// honour `If-Match`.
pub async fn changes_reach_the_library_user_and_if_match_guards_them<S: ScimDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (_, directory, _) = directory(&env, "chg", DeprovisionMode::Soft).await;
    let scim = env.auth.scim();
    let created = provision(&env, &directory, "erin", "chg.example.org").await;
    let mut body = person("erin", "erin.new@chg.example.org");
    body["displayName"] = json!("Erin N.");
    let replaced = scim
        .replace(
            ResourceKind::User,
            &directory,
            created.id(),
            &body,
            Some("W/\"1\""),
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(replaced.version, 2);
    let user = library_user(&env, &directory, &created).await.unwrap();
    assert_eq!(user.email.as_str(), "erin.new@chg.example.org");
    assert_eq!(user.name.as_deref(), Some("Erin N."));
    let stale = scim
        .patch(
            ResourceKind::User,
            &directory,
            created.id(),
            &patch(json!([{"op": "replace", "path": "title", "value": "CTO"}])),
            Some("W/\"1\""),
            &meta(),
        )
        .await
        .unwrap_err();
    assert_eq!(stale.status, 412);
    let patched = scim
        .patch(ResourceKind::User,
            &directory,
            created.id(),
            &patch(json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "erin@chg.example.org"},
                {"op": "Add", "path": "title", "value": "CTO"}
            ])),
            Some("W/\"2\""),
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(patched.version, 3);
    assert_eq!(patched.body["title"], "CTO");
    let user = library_user(&env, &directory, &created).await.unwrap();
    assert_eq!(user.email.as_str(), "erin@chg.example.org");
    // Off the verified domains the directory does not speak for the address: the record
    // changes, the account keeps its address.
    let moved = patch_user(&env, &directory, created.id(), &patch(json!([{"op": "replace", "path": "emails", "value": [{"value": "erin@elsewhere.example.com", "primary": true}]}]))).await
        .unwrap();
    assert_eq!(
        moved.body["emails"][0]["value"],
        "erin@elsewhere.example.com"
    );
    let user = library_user(&env, &directory, &created).await.unwrap();
    assert_eq!(user.email.as_str(), "erin@chg.example.org");
    // An address another account uses: the library refuses, and the directory's record
    // is put back as it was (with a new version).
    env.user("taken@chg.example.org").await;
    let taken = patch_user(&env, &directory, created.id(), &patch(json!([{"op": "replace", "path": "emails", "value": [{"value": "taken@chg.example.org", "primary": true}]}]))).await
        .unwrap_err();
    assert_eq!(taken.status, 409);
    let read = scim
        .get(ResourceKind::User, &directory, created.id())
        .await
        .unwrap();
    assert_eq!(
        read.body["emails"][0]["value"],
        "erin@elsewhere.example.com"
    );
    assert_eq!(read.version, 6);
    let bad = scim
        .replace(
            ResourceKind::User,
            &directory,
            created.id(),
            &json!({"userName": "erin"}),
            None,
            &meta(),
        )
        .await
        .unwrap_err();
    assert_eq!(bad.status, 400);
    assert_eq!(
        scim.get(ResourceKind::User, &directory, created.id())
            .await
            .unwrap()
            .version,
        6,
        "a refused change changes nothing"
    );
}

/// `active: false` suspends the memberships, ends the sessions and revokes the user's own
/// API keys; `true` restores the memberships.
pub async fn deactivation_suspends_memberships_and_ends_sessions<S: ScimDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (org, directory, _) = directory(&env, "dea", DeprovisionMode::Soft).await;
    // An account of the verified domain, signed in, that the directory then links.
    let signed_in = env.user("frank@dea.example.org").await;
    let created = provision(&env, &directory, "frank", "dea.example.org").await;
    let user = library_user(&env, &directory, &created).await.unwrap();
    assert_eq!(user.id, signed_in.user.id);
    let key = env
        .auth
        .api_keys()
        .create(
            &crate::Caller::System,
            crate::api_keys::NewApiKey {
                owner: crate::api_keys::KeyOwner::User(user.id),
                name: "cli".into(),
                scopes: Vec::new(),
                expires_at: None,
                rate_limit: None,
                quota: None,
                metadata: None,
            },
            &meta(),
        )
        .await
        .unwrap();
    let off = patch(json!([{"op": "replace", "value": {"active": "False"}}]));
    let patched = patch_user(&env, &directory, created.id(), &off)
        .await
        .unwrap();
    assert_eq!(patched.body["active"], false);
    let member = env
        .store()
        .get_member_by_user(org.group, user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.status, MemberStatus::Suspended);
    assert!(
        env.auth
            .sessions()
            .validate(signed_in.session_token.expose())
            .await
            .is_err(),
        "the session ended"
    );
    let key = env.store().get_api_key(key.key.id).await.unwrap().unwrap();
    assert!(
        key.revoked_at.is_some(),
        "the user's own API key is revoked"
    );
    let on = patch(json!([{"op": "replace", "path": "active", "value": true}]));
    patch_user(&env, &directory, created.id(), &on)
        .await
        .unwrap();
    let member = env
        .store()
        .get_member_by_user(org.group, user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.status, MemberStatus::Active);
}

/// Reactivation restores only the memberships the directory suspended: one an admin
/// suspended stays suspended; a PUT that leaves `active` out changes nothing of it.
pub async fn reactivation_restores_only_what_the_directory_suspended<S: ScimDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (org, directory, _) = directory(&env, "rea", DeprovisionMode::Soft).await;
    let scim = env.auth.scim();
    let created = provision(&env, &directory, "gail", "rea.example.org").await;
    let user = library_user(&env, &directory, &created).await.unwrap();
    let team = scim
        .create(
            ResourceKind::Group,
            &directory,
            &json!({"displayName": "Team", "members": [{"value": created.id()}]}),
            &meta(),
        )
        .await
        .unwrap();
    let team = env
        .store()
        .get_scim_group(
            directory.connection(),
            crate::ScimGroupId::from_uuid(team.id().parse().unwrap()),
        )
        .await
        .unwrap()
        .unwrap();
    let status = |group| {
        let env = &env;
        async move {
            env.store()
                .get_member_by_user(group, user.id)
                .await
                .unwrap()
                .unwrap()
                .status
        }
    };
    // An admin suspends the team membership, for reasons of their own.
    let held = env
        .store()
        .get_member_by_user(team.group_id, user.id)
        .await
        .unwrap()
        .unwrap();
    let suspend = MemberPatch {
        status: Some(MemberStatus::Suspended),
        ..MemberPatch::default()
    };
    env.auth
        .members()
        .update(&Caller::System, team.group_id, held.id, suspend, &meta())
        .await
        .unwrap();
    let set_active =
        |value: bool| patch(json!([{"op": "replace", "path": "active", "value": value}]));
    patch_user(&env, &directory, created.id(), &set_active(false))
        .await
        .unwrap();
    assert_eq!(status(org.group).await, MemberStatus::Suspended);
    // Okta's PUT of the whole user, here without `active`: the user stays inactive.
    let mut whole = person("gail", "gail@rea.example.org");
    whole.as_object_mut().unwrap().remove("active");
    let replaced = scim
        .replace(
            ResourceKind::User,
            &directory,
            created.id(),
            &whole,
            None,
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(replaced.body["active"], false);
    assert_eq!(status(org.group).await, MemberStatus::Suspended);
    patch_user(&env, &directory, created.id(), &set_active(true))
        .await
        .unwrap();
    assert_eq!(status(org.group).await, MemberStatus::Active);
    assert_eq!(
        status(team.group_id).await,
        MemberStatus::Suspended,
        "the admin's suspension stands"
    );
    // The directory suspends again; an admin reactivates the membership, then suspends it
    // for reasons of their own: that suspension is the admin's, and stands too.
    patch_user(&env, &directory, created.id(), &set_active(false))
        .await
        .unwrap();
    let held = env
        .store()
        .get_member_by_user(org.group, user.id)
        .await
        .unwrap()
        .unwrap();
    for next in [MemberStatus::Active, MemberStatus::Suspended] {
        let patch = MemberPatch {
            status: Some(next),
            ..MemberPatch::default()
        };
        env.auth
            .members()
            .update(&Caller::System, org.group, held.id, patch, &meta())
            .await
            .unwrap();
    }
    patch_user(&env, &directory, created.id(), &set_active(true))
        .await
        .unwrap();
    assert_eq!(status(org.group).await, MemberStatus::Suspended);
}

/// Changes sent at once without `If-Match` all land: a change that loses the race to
/// another is applied again on the current version, not refused with 412.
pub async fn concurrent_changes_without_if_match_all_land<S: ScimDomain + Clone + 'static>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (_, directory, _) = directory(&env, "con", DeprovisionMode::Soft).await;
    let scim = env.auth.scim();
    let group = scim
        .create(
            ResourceKind::Group,
            &directory,
            &json!({"displayName": "Crowd"}),
            &meta(),
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..4 {
        let member = provision(&env, &directory, &format!("c{i}"), "con.example.org").await;
        let add =
            patch(json!([{"op": "add", "path": "members", "value": [{"value": member.id()}]}]));
        let (auth, directory, id) = (env.auth.clone(), directory.clone(), group.id().to_owned());
        tasks.push(tokio::spawn(async move {
            auth.scim()
                .patch(ResourceKind::Group, &directory, &id, &add, None, &meta())
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("every addition lands");
    }
    let read = scim
        .get(ResourceKind::Group, &directory, group.id())
        .await
        .unwrap();
    assert_eq!(read.body["members"].as_array().map(Vec::len), Some(4));
    assert_eq!(read.version, 5);
}

/// DELETE forgets the record and suspends the membership (soft); hard deletes the user
/// unless they belong to another organization or their address is off the organization's
/// verified domains.
pub async fn deletion_deprovisions_by_the_configured_mode<S: ScimDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (org, soft, _) = directory(&env, "dls", DeprovisionMode::Soft).await;
    let scim = env.auth.scim();
    let kept = provision(&env, &soft, "gina", "dls.example.org").await;
    let user = library_user(&env, &soft, &kept).await.unwrap();
    scim.delete(ResourceKind::User, &soft, kept.id(), None, &meta())
        .await
        .unwrap();
    assert_eq!(
        scim.get(ResourceKind::User, &soft, kept.id())
            .await
            .unwrap_err()
            .status,
        404
    );
    assert!(env.store().get_user(user.id).await.unwrap().is_some());
    let member = env
        .store()
        .get_member_by_user(org.group, user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.status, MemberStatus::Suspended);
    assert_eq!(
        scim.delete(ResourceKind::User, &soft, kept.id(), None, &meta())
            .await
            .unwrap_err()
            .status,
        404
    );

    let (_, hard, _) = directory(&env, "dlh", DeprovisionMode::Hard).await;
    let gone = provision(&env, &hard, "hank", "dlh.example.org").await;
    let gone_user = library_user(&env, &hard, &gone).await.unwrap();
    scim.delete(ResourceKind::User, &hard, gone.id(), None, &meta())
        .await
        .unwrap();
    assert!(env.store().get_user(gone_user.id).await.unwrap().is_none());

    // An account off the organization's verified domains is not the directory's to delete.
    let outside = env
        .auth
        .scim()
        .create(
            ResourceKind::User,
            &hard,
            &person("zed", "zed@unverified.example.com"),
            &meta(),
        )
        .await
        .unwrap();
    let outside_user = library_user(&env, &hard, &outside).await.unwrap();
    scim.delete(ResourceKind::User, &hard, outside.id(), None, &meta())
        .await
        .unwrap();
    assert!(
        env.store()
            .get_user(outside_user.id)
            .await
            .unwrap()
            .is_some()
    );

    // A member of another organization stays.
    let stays = provision(&env, &hard, "ivy", "dlh.example.org").await;
    let stays_user = library_user(&env, &hard, &stays).await.unwrap();
    env.auth
        .members()
        .add(
            &crate::Caller::System,
            crate::members::NewMember {
                group_id: org.group,
                user_id: stays_user.id,
                role: None,
                status: None,
                extend: None,
            },
            &meta(),
        )
        .await
        .unwrap();
    scim.delete(ResourceKind::User, &hard, stays.id(), None, &meta())
        .await
        .unwrap();
    assert!(env.store().get_user(stays_user.id).await.unwrap().is_some());
    let record = env
        .store()
        .get_scim_user(
            hard.connection(),
            ScimUserId::from_uuid(stays.id().parse().unwrap()),
        )
        .await
        .unwrap();
    assert!(record.is_none());
}
