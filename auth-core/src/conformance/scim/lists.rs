//! Lists: filters on the indexed attributes, sorting, paging, and what deleting the
//! connection or a user does to the records.

use serde_json::json;

use crate::conformance::scim::{directory, library_user, patch, provision};
use crate::conformance::{Env, Harness, meta};
use crate::scim::query::ListParams;
use crate::scim::{DeprovisionMode, ResourceKind};
use crate::{ScimDomain, ScimUserId};

fn filter(text: &str) -> ListParams {
    ListParams {
        filter: Some(text.into()),
        ..ListParams::default()
    }
}

/// The users' `userName`s a list returns, in order.
async fn names<S: ScimDomain + Clone>(
    env: &Env<S>,
    directory: &crate::scim::Directory,
    params: ListParams,
) -> (u64, Vec<String>) {
    let list = env
        .auth
        .scim()
        .list(ResourceKind::User, directory, &params)
        .await
        .unwrap();
    let names = list
        .resources
        .iter()
        .map(|r| r.body["userName"].as_str().unwrap().to_owned())
        .collect();
    (list.total, names)
}

/// Filters on every indexed user attribute, with `and`, `or`, `not` and value paths.
pub async fn user_filters_answer_the_same_on_every_store<S: ScimDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (_, directory, _) = directory(&env, "flt", DeprovisionMode::Soft).await;
    for name in ["Alice", "bob", "carol", "dave"] {
        provision(&env, &directory, name, "flt.example.org").await;
        env.advance(time::Duration::seconds(10));
    }
    let bob = env
        .auth
        .scim()
        .list(
            ResourceKind::User,
            &directory,
            &filter(r#"userName eq "BOB""#),
        )
        .await
        .unwrap();
    let bob_id = bob.resources[0].id().to_owned();
    let off = patch(json!([{"op": "replace", "path": "active", "value": false}]));
    env.auth
        .scim()
        .patch(ResourceKind::User, &directory, &bob_id, &off, None, &meta())
        .await
        .unwrap();
    let cases: &[(&str, &[&str])] = &[
        (r#"userName eq "alice""#, &["Alice"]),
        (r#"externalId eq "ext-carol""#, &["carol"]),
        (r#"externalId eq "EXT-CAROL""#, &[]),
        (r#"emails.value eq "DAVE@flt.example.org""#, &["dave"]),
        (
            r#"emails[value ew "@flt.example.org"]"#,
            &["Alice", "bob", "carol", "dave"],
        ),
        (r#"userName sw "c" or userName co "av""#, &["carol", "dave"]),
        ("active eq false", &["bob"]),
        (
            r#"not (active eq false) and userName ne "alice""#,
            &["carol", "dave"],
        ),
        ("displayName pr", &[]),
        (r#"userName gt "bob""#, &["carol", "dave"]),
        (&format!(r#"id eq "{bob_id}""#), &["bob"]),
        (r#"id eq "nope""#, &[]),
        (
            r#"meta.created ge "2000-01-01T00:00:00Z""#,
            &["Alice", "bob", "carol", "dave"],
        ),
    ];
    for (text, expected) in cases {
        let (total, found) = names(&env, &directory, filter(text)).await;
        assert_eq!(found, *expected, "{text}");
        assert_eq!(total, expected.len() as u64, "{text}");
    }
    let modified = env
        .auth
        .scim()
        .get(ResourceKind::User, &directory, &bob_id)
        .await
        .unwrap()
        .body["meta"]["lastModified"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, found) = names(
        &env,
        &directory,
        filter(&format!(r#"meta.lastModified ge "{modified}""#)),
    )
    .await;
    assert_eq!(found, ["bob"]);
    let refused = env
        .auth
        .scim()
        .list(ResourceKind::User, &directory, &filter(r#"title eq "x""#))
        .await
        .unwrap_err();
    assert_eq!(refused.scim_type.map(|t| t.as_str()), Some("invalidFilter"));
}

/// Sorting and paging: `totalResults` counts every match, `startIndex` is 1-based.
pub async fn lists_sort_and_page<S: ScimDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (_, directory, _) = directory(&env, "pg", DeprovisionMode::Soft).await;
    for name in ["d", "B", "a", "c", "e"] {
        provision(&env, &directory, name, "pg.example.org").await;
    }
    let (total, all) = names(&env, &directory, ListParams::default()).await;
    assert_eq!(
        (total, all),
        (
            5,
            vec!["d".into(), "B".into(), "a".into(), "c".into(), "e".into()]
        )
    );
    let sorted = ListParams {
        sort_by: Some("userName".into()),
        sort_order: Some("descending".into()),
        start_index: Some(2),
        count: Some(2),
        ..ListParams::default()
    };
    let list = env
        .auth
        .scim()
        .list(ResourceKind::User, &directory, &sorted)
        .await
        .unwrap();
    assert_eq!((list.total, list.start_index), (5, 2));
    let page: Vec<&str> = list
        .resources
        .iter()
        .map(|r| r.body["userName"].as_str().unwrap())
        .collect();
    assert_eq!(page, ["d", "c"], "userName sorts case-insensitively");
    let counted = ListParams {
        count: Some(0),
        ..ListParams::default()
    };
    let (total, none) = names(&env, &directory, counted).await;
    assert_eq!((total, none.len()), (5, 0));
}

/// Groups filter by name and by member.
pub async fn group_filters_find_by_name_and_member<S: ScimDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let (_, directory, _) = directory(&env, "gfl", DeprovisionMode::Soft).await;
    let scim = env.auth.scim();
    let a = provision(&env, &directory, "a", "gfl.example.org").await;
    for (name, members) in [("Eng", vec![a.id()]), ("Ops", vec![])] {
        let members: Vec<_> = members.iter().map(|m| json!({"value": m})).collect();
        scim.create(
            ResourceKind::Group,
            &directory,
            &json!({"displayName": name, "members": members}),
            &meta(),
        )
        .await
        .unwrap();
    }
    for (text, expected) in [
        (r#"displayName eq "eng""#.to_owned(), vec!["Eng"]),
        (format!(r#"members[value eq "{}"]"#, a.id()), vec!["Eng"]),
        ("not (members pr)".to_owned(), vec!["Ops"]),
        (r#"members[value eq "not-an-id"]"#.to_owned(), vec![]),
        (
            r#"not (members[value eq "not-an-id"])"#.to_owned(),
            vec!["Eng", "Ops"],
        ),
    ] {
        let list = scim
            .list(ResourceKind::Group, &directory, &filter(&text))
            .await
            .unwrap();
        let found: Vec<&str> = list
            .resources
            .iter()
            .map(|r| r.body["displayName"].as_str().unwrap())
            .collect();
        assert_eq!(found, expected, "{text}");
    }
}

/// Deleting the library user forgets its record; deleting the connection forgets them
/// all.
pub async fn deleting_the_user_or_the_connection_forgets_the_records<S: ScimDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (org, directory, token) = directory(&env, "cas", DeprovisionMode::Soft).await;
    let a = provision(&env, &directory, "a", "cas.example.org").await;
    let b = provision(&env, &directory, "b", "cas.example.org").await;
    let user = library_user(&env, &directory, &a).await.unwrap();
    env.auth
        .users()
        .delete(&crate::Caller::System, user.id, true, &meta())
        .await
        .unwrap();
    let id = |r: &crate::scim::ScimResource| ScimUserId::from_uuid(r.id().parse().unwrap());
    let store = env.store();
    assert!(
        store
            .get_scim_user(directory.connection(), id(&a))
            .await
            .unwrap()
            .is_none()
    );
    env.auth
        .sso()
        .delete_connection(&org.admin, org.group, directory.connection(), &meta())
        .await
        .unwrap();
    assert!(
        store
            .get_scim_user(directory.connection(), id(&b))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_scim_config(directory.connection())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        env.auth
            .scim()
            .authenticate(
                Some(token.expose()),
                crate::conformance::scim::BASE,
                &meta()
            )
            .await
            .unwrap_err()
            .status,
        401
    );
}
