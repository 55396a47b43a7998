//! Who may manage API keys, decided in the service: a user's keys are theirs alone, a
//! group's need `api_key:<action>` there, keys never manage keys; and keys act within
//! their scopes on everything else.

use time::Duration;

use crate::api_keys::{ApiKeyFilter, ApiKeyOrder, ApiKeyPatch, KeyOwner, NewApiKey, RateLimit};
use crate::conformance::organizations::authorization::{joining, of_group, org};
use crate::conformance::organizations::groups::group;
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::permissions::Permission;
use crate::{ApiKeyDomain, Caller, ErrorCode, ListQuery};

fn key(owner: KeyOwner, scopes: &[&str]) -> NewApiKey {
    NewApiKey {
        owner,
        name: "k".into(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        expires_at: None,
        rate_limit: None,
        quota: None,
        metadata: None,
    }
}

pub async fn api_keys_act_within_their_scopes<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let o = org(&env).await;
    let id = o.org.id;
    let team = group(&env, "team", Some(id)).await;
    let other = group(&env, "other", None).await;
    let newcomer = env.user("new@example.com").await.user;
    let key_caller = |scopes: &'static [&'static str], owner| {
        let keys = env.auth.api_keys();
        async move {
            let created = keys
                .create(&Caller::System, key(owner, scopes), &meta())
                .await
                .unwrap();
            Caller::ApiKey(keys.verify(created.secret.expose(), &meta()).await.unwrap())
        }
    };
    let members = env.auth.members();
    // The owner's own key, limited to reading members.
    let owners_reader = key_caller(&["member:read"], KeyOwner::User(o.owner.0)).await;
    members.list(&owners_reader, of_group(id)).await.unwrap();
    assert_code(
        members
            .add(&owners_reader, joining(id, newcomer.id, None), &meta())
            .await,
        ErrorCode::InsufficientScope,
    );
    // A member's key with every scope still has only the member's rights.
    let members_all = key_caller(&["*:*"], KeyOwner::User(o.member.0)).await;
    assert_code(
        members
            .add(&members_all, joining(id, newcomer.id, None), &meta())
            .await,
        ErrorCode::Forbidden,
    );
    // The group's key reads its group and the groups below it, nothing else.
    let org_reader = key_caller(&["member:read"], KeyOwner::Group(id)).await;
    members.list(&org_reader, of_group(id)).await.unwrap();
    members.list(&org_reader, of_group(team.id)).await.unwrap();
    assert_code(
        members.list(&org_reader, of_group(other.id)).await,
        ErrorCode::GroupNotFound,
    );
    // It holds no role, so grants none.
    let org_adder = key_caller(&["member:add"], KeyOwner::Group(id)).await;
    assert_code(
        members
            .add(&org_adder, joining(id, newcomer.id, None), &meta())
            .await,
        ErrorCode::Forbidden,
    );
}

pub async fn a_users_keys_are_theirs_alone<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let ada = env.user("ada@example.com").await;
    let bob = env.user("bob@example.com").await;
    let keys = env.auth.api_keys();
    let mine = keys
        .create(
            &ada.caller(),
            key(KeyOwner::User(ada.user.id), &["a:b"]),
            &meta(),
        )
        .await
        .unwrap();
    let id = mine.key.id;
    let b = bob.caller();
    assert_code(keys.get(&b, id).await, ErrorCode::ApiKeyNotFound);
    assert_code(
        keys.update(&b, id, ApiKeyPatch::default(), &meta()).await,
        ErrorCode::ApiKeyNotFound,
    );
    assert_code(
        keys.revoke(&b, id, &meta()).await,
        ErrorCode::ApiKeyNotFound,
    );
    assert_code(
        keys.remove(&b, id, &meta()).await,
        ErrorCode::ApiKeyNotFound,
    );
    assert_code(
        keys.rotate(&b, id, None, &meta()).await,
        ErrorCode::ApiKeyNotFound,
    );
    assert_code(
        keys.create(&b, key(KeyOwner::User(ada.user.id), &["a:b"]), &meta())
            .await,
        ErrorCode::Forbidden,
    );
    let theirs = ListQuery::new(
        ApiKeyFilter {
            owner: Some(KeyOwner::User(ada.user.id)),
            ..ApiKeyFilter::default()
        },
        ApiKeyOrder::CreatedAt,
    );
    assert_code(
        keys.list(&b, theirs.clone()).await,
        ErrorCode::ApiKeyNotFound,
    );
    assert_code(
        keys.list(
            &b,
            ListQuery::new(ApiKeyFilter::default(), ApiKeyOrder::CreatedAt),
        )
        .await,
        ErrorCode::Forbidden,
    );
    assert_eq!(
        keys.list(&ada.caller(), theirs).await.unwrap().items.len(),
        1
    );
    keys.get(&ada.caller(), id).await.unwrap();
    keys.get(&Caller::System, id).await.unwrap();
}

pub async fn keys_never_manage_keys<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let ada = env.user("ada@example.com").await;
    let keys = env.auth.api_keys();
    let created = keys
        .create(
            &ada.caller(),
            key(KeyOwner::User(ada.user.id), &["*:*"]),
            &meta(),
        )
        .await
        .unwrap();
    let as_key = Caller::ApiKey(keys.verify(created.secret.expose(), &meta()).await.unwrap());
    assert_code(
        keys.create(&as_key, key(KeyOwner::User(ada.user.id), &["a:b"]), &meta())
            .await,
        ErrorCode::Forbidden,
    );
    assert_code(
        keys.get(&as_key, created.key.id).await,
        ErrorCode::Forbidden,
    );
    assert_code(
        keys.rotate(&as_key, created.key.id, None, &meta()).await,
        ErrorCode::Forbidden,
    );
    assert_code(
        keys.revoke(&as_key, created.key.id, &meta()).await,
        ErrorCode::Forbidden,
    );
}

pub async fn a_groups_keys_need_the_api_key_permission_there<S: ApiKeyDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let o = org(&env).await;
    let stranger = env.user("stranger@example.com").await.caller();
    let keys = env.auth.api_keys();
    let group_key = keys
        .create(
            &o.admin.1,
            key(KeyOwner::Group(o.org.id), &["group:read"]),
            &meta(),
        )
        .await
        .unwrap();
    let id = group_key.key.id;
    let listing = ListQuery::new(
        ApiKeyFilter {
            owner: Some(KeyOwner::Group(o.org.id)),
            ..ApiKeyFilter::default()
        },
        ApiKeyOrder::CreatedAt,
    );
    // A member without api_key:* is refused; an outsider learns nothing.
    assert_code(keys.get(&o.member.1, id).await, ErrorCode::Forbidden);
    assert_code(
        keys.list(&o.member.1, listing.clone()).await,
        ErrorCode::Forbidden,
    );
    assert_code(
        keys.revoke(&o.member.1, id, &meta()).await,
        ErrorCode::Forbidden,
    );
    assert_code(keys.get(&stranger, id).await, ErrorCode::ApiKeyNotFound);
    assert_code(
        keys.list(&stranger, listing.clone()).await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        keys.revoke(&stranger, id, &meta()).await,
        ErrorCode::ApiKeyNotFound,
    );
    // The admin manages them; the key survives its creator's demotion of nothing else.
    assert_eq!(keys.list(&o.admin.1, listing).await.unwrap().items.len(), 1);
    keys.revoke(&o.owner.1, id, &meta()).await.unwrap();
}

pub async fn changing_a_key_needs_every_scope_it_has<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let o = org(&env).await;
    let keys = env.auth.api_keys();
    // The owner's group key with every scope, limited to 10 requests a minute.
    let mut input = key(KeyOwner::Group(o.org.id), &["*:*"]);
    input.rate_limit = Some(RateLimit {
        max: 10,
        window: Duration::MINUTE,
    });
    let owners = keys.create(&o.owner.1, input, &meta()).await.unwrap().key;
    // The admin has api_key:update, but not *:*: no rename, no lifted limit, no new
    // metadata, no narrowing of its scopes either.
    let patches = [
        ApiKeyPatch {
            name: Some("mine now".into()),
            ..ApiKeyPatch::default()
        },
        ApiKeyPatch {
            rate_limit: Some(None),
            ..ApiKeyPatch::default()
        },
        ApiKeyPatch {
            metadata: Some(serde_json::json!({ "note": "x" })),
            ..ApiKeyPatch::default()
        },
        ApiKeyPatch {
            scopes: Some(vec![Permission::new("group", "read")]),
            ..ApiKeyPatch::default()
        },
    ];
    for patch in patches {
        assert_code(
            keys.update(&o.admin.1, owners.id, patch, &meta()).await,
            ErrorCode::InsufficientScope,
        );
    }
    assert_eq!(keys.get(&o.owner.1, owners.id).await.unwrap(), owners);
    let trail = env.audit_trail("api_key.update").await;
    assert_eq!(trail.len(), 4);
    assert!(
        trail
            .iter()
            .all(|(ok, code)| !ok && code.as_deref() == Some("INSUFFICIENT_SCOPE"))
    );
    // A key within the admin's own rights they change; the owner changes theirs.
    let admins = keys
        .create(
            &o.admin.1,
            key(KeyOwner::Group(o.org.id), &["group:read"]),
            &meta(),
        )
        .await
        .unwrap()
        .key;
    let rename = || ApiKeyPatch {
        name: Some("renamed".into()),
        ..ApiKeyPatch::default()
    };
    keys.update(&o.admin.1, admins.id, rename(), &meta())
        .await
        .unwrap();
    let renamed = keys
        .update(&o.owner.1, owners.id, rename(), &meta())
        .await
        .unwrap();
    assert_eq!(renamed.name, "renamed");
}
