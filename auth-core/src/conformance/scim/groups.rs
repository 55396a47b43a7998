//! Groups as child groups of the connection's organization, members as memberships.

use serde_json::{Value, json};

use crate::conformance::scim::{directory, library_user, patch, provision};
use crate::conformance::{Env, Harness, meta};
use crate::scim::{DeprovisionMode, ResourceKind, SCIM_GROUP_KIND, ScimResource};
use crate::{GroupId, ScimDomain, ScimGroupId};

fn member_ids(resource: &ScimResource) -> Vec<String> {
    let mut ids: Vec<String> = resource.body["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|v| v["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(ids: &[&ScimResource]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|r| r.id().to_owned()).collect();
    ids.sort();
    ids
}

/// The library group behind a group's resource.
async fn library_group<S: ScimDomain + Clone>(
    env: &Env<S>,
    directory: &crate::scim::Directory,
    resource: &ScimResource,
) -> Option<GroupId> {
    let id = ScimGroupId::from_uuid(resource.id().parse().unwrap());
    env.store()
        .get_scim_group(directory.connection(), id)
        .await
        .unwrap()
        .map(|g| g.group_id)
}

/// A group with members becomes a child group of the organization with those
/// memberships; the users list it in `groups`.
pub async fn a_group_is_a_child_group_with_memberships<S: ScimDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (org, directory, _) = directory(&env, "grp", DeprovisionMode::Soft).await;
    let scim = env.auth.scim();
    let ann = provision(&env, &directory, "ann", "grp.example.org").await;
    let bob = provision(&env, &directory, "bob", "grp.example.org").await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering",
        "externalId": "eng",
        "members": [{"value": ann.id()}, {"value": bob.id(), "display": "ignored"}]
    });
    let group = scim
        .create(ResourceKind::Group, &directory, &body, &meta())
        .await
        .unwrap();
    assert_eq!(group.body["displayName"], "Engineering");
    assert_eq!(member_ids(&group), sorted(&[&ann, &bob]));
    let library = library_group(&env, &directory, &group).await.unwrap();
    let stored = env.store().get_group(library).await.unwrap().unwrap();
    assert_eq!(stored.parent_id, Some(org.group));
    assert_eq!(stored.kind, SCIM_GROUP_KIND);
    assert_eq!(stored.name, "Engineering");
    let ann_user = library_user(&env, &directory, &ann).await.unwrap();
    assert!(
        env.store()
            .get_member_by_user(library, ann_user.id)
            .await
            .unwrap()
            .is_some()
    );
    let ann_read = scim
        .get(ResourceKind::User, &directory, ann.id())
        .await
        .unwrap();
    assert_eq!(ann_read.body["groups"][0]["value"], Value::from(group.id()));
    assert_eq!(ann_read.body["groups"][0]["display"], "Engineering");
    let stranger =
        json!({"displayName": "X", "members": [{"value": "00000000-0000-0000-0000-000000000001"}]});
    assert_eq!(
        scim.create(ResourceKind::Group, &directory, &stranger, &meta())
            .await
            .unwrap_err()
            .status,
        400
    );
}

/// Okta's batched member changes and Entra ID's member lists add and remove
/// memberships; a rename renames the library group; PUT replaces the member list.
pub async fn member_changes_in_both_dialects_reach_the_memberships<S: ScimDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (_, directory, _) = directory(&env, "mem", DeprovisionMode::Soft).await;
    let scim = env.auth.scim();
    let a = provision(&env, &directory, "a", "mem.example.org").await;
    let b = provision(&env, &directory, "b", "mem.example.org").await;
    let c = provision(&env, &directory, "c", "mem.example.org").await;
    let group = scim
        .create(
            ResourceKind::Group,
            &directory,
            &json!({"displayName": "Ops"}),
            &meta(),
        )
        .await
        .unwrap();
    let okta = patch(json!([
        {"op": "add", "path": "members", "value": [{"value": a.id()}, {"value": b.id()}]},
        {"op": "replace", "value": {"id": group.id(), "displayName": "Operations"}}
    ]));
    let after = scim
        .patch(
            ResourceKind::Group,
            &directory,
            group.id(),
            &okta,
            None,
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(member_ids(&after), sorted(&[&a, &b]));
    assert_eq!(after.body["displayName"], "Operations");
    let library = library_group(&env, &directory, &group).await.unwrap();
    assert_eq!(
        env.store().get_group(library).await.unwrap().unwrap().name,
        "Operations"
    );
    let entra = patch(json!([
        {"op": "Remove", "path": "members", "value": [{"$ref": null, "value": a.id()}]},
        {"op": "Add", "path": "members", "value": [{"$ref": null, "value": c.id()}]}
    ]));
    let after = scim
        .patch(
            ResourceKind::Group,
            &directory,
            group.id(),
            &entra,
            None,
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(member_ids(&after), sorted(&[&b, &c]));
    let a_user = library_user(&env, &directory, &a).await.unwrap();
    assert!(
        env.store()
            .get_member_by_user(library, a_user.id)
            .await
            .unwrap()
            .is_none()
    );
    let okta_remove = patch(json!([
        {"op": "remove", "path": format!("members[value eq \"{}\"]", b.id())}
    ]));
    let after = scim
        .patch(
            ResourceKind::Group,
            &directory,
            group.id(),
            &okta_remove,
            None,
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(member_ids(&after), sorted(&[&c]));
    let put = json!({"displayName": "Operations", "members": [{"value": a.id()}]});
    let after = scim
        .replace(
            ResourceKind::Group,
            &directory,
            group.id(),
            &put,
            Some(&after.etag()),
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(member_ids(&after), sorted(&[&a]));
}

/// DELETE removes the library group with its memberships; the users stay.
pub async fn deleting_a_group_removes_the_library_group<S: ScimDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (_, directory, _) = directory(&env, "gdl", DeprovisionMode::Soft).await;
    let scim = env.auth.scim();
    let a = provision(&env, &directory, "a", "gdl.example.org").await;
    let group = scim
        .create(
            ResourceKind::Group,
            &directory,
            &json!({"displayName": "Temp", "members": [{"value": a.id()}]}),
            &meta(),
        )
        .await
        .unwrap();
    let library = library_group(&env, &directory, &group).await.unwrap();
    scim.delete(ResourceKind::Group, &directory, group.id(), None, &meta())
        .await
        .unwrap();
    assert!(env.store().get_group(library).await.unwrap().is_none());
    assert_eq!(
        scim.get(ResourceKind::Group, &directory, group.id())
            .await
            .unwrap_err()
            .status,
        404
    );
    assert!(library_user(&env, &directory, &a).await.is_some());
    assert!(
        scim.get(ResourceKind::User, &directory, a.id())
            .await
            .unwrap()
            .body
            .get("groups")
            .is_none()
    );
    assert_eq!(env.audit_trail("scim.group.delete").await, [(true, None)]);
}
