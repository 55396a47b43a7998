//! API keys: create, verify, scopes, revoke, rotate, rate limits, quotas, lists.

use crate::Caller;
use std::sync::Arc;

use time::Duration;

use crate::api_keys::{
    ApiKeyFilter, ApiKeyOrder, ApiKeyPatch, CreatedKey, KeyOwner, NewApiKey, QuotaSpec, RateLimit,
};
use crate::audit::{AuditFilter, AuditOrder};
use crate::conformance::organizations::groups::{group, named};
use crate::conformance::organizations::members::add;
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::permissions::Permission;
use crate::{ApiKeyDomain, ErrorCode, ListQuery, TokenHash, UserId};

pub(crate) fn new_key(owner: KeyOwner, scopes: &[&str]) -> NewApiKey {
    NewApiKey {
        owner,
        name: "ci".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: None,
        rate_limit: None,
        quota: None,
        metadata: None,
    }
}

/// A key `user` owns with `scopes`, created by the app itself (`Caller::System`).
pub(crate) async fn user_key<S: ApiKeyDomain>(
    env: &Env<S>,
    user: UserId,
    scopes: &[&str],
) -> CreatedKey {
    env.auth
        .api_keys()
        .create(
            &Caller::System,
            new_key(KeyOwner::User(user), scopes),
            &meta(),
        )
        .await
        .unwrap()
}

pub async fn create_returns_the_key_once<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("k@example.com").await.user;
    let created = env
        .auth
        .api_keys()
        .create(
            &env.caller(user.id).await,
            NewApiKey {
                metadata: Some(serde_json::json!({"team": "infra"})),
                ..new_key(
                    KeyOwner::User(user.id),
                    &["data:read", "data:read", "reports:*"],
                )
            },
            &meta(),
        )
        .await
        .unwrap();
    let secret = created.secret.expose();
    assert!(secret.starts_with("sk_") && secret.len() == 3 + 49);
    assert!(secret.starts_with(&created.key.start) && created.key.start.len() == 9);
    assert_eq!(created.key.key_hash, TokenHash::of(secret));
    assert_eq!(created.key.scopes.len(), 2, "duplicate scopes collapse");
    assert_eq!(created.key.created_by, Some(user.id));
    assert!(!format!("{created:?}").contains(secret));
    let stored = env
        .auth
        .api_keys()
        .get(&Caller::System, created.key.id)
        .await
        .unwrap();
    assert_eq!(stored, created.key);
    assert!(
        !serde_json::to_string(&stored)
            .unwrap()
            .contains(&TokenHash::of(secret).to_base64())
    );
}

pub async fn verify_returns_owner_and_scopes<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("v@example.com").await.user;
    let org = env
        .auth
        .groups()
        .create_owned_by(&Caller::System, named("org"), user.id, &meta())
        .await
        .unwrap();
    let mine = env
        .auth
        .api_keys()
        .create(
            &env.caller(user.id).await,
            new_key(KeyOwner::User(user.id), &["data:read"]),
            &meta(),
        )
        .await
        .unwrap();
    let orgs = env
        .auth
        .api_keys()
        .create(
            &env.caller(user.id).await,
            new_key(KeyOwner::Group(org.id), &["billing:*"]),
            &meta(),
        )
        .await
        .unwrap();
    let v = env
        .auth
        .api_keys()
        .verify(mine.secret.expose(), &meta())
        .await
        .unwrap();
    assert_eq!(v.key.owner, KeyOwner::User(user.id));
    assert!(v.can("data", "read") && !v.can("data", "write"));
    assert!(v.rate.is_none());
    let v = env
        .auth
        .api_keys()
        .verify(orgs.secret.expose(), &meta())
        .await
        .unwrap();
    assert_eq!(v.key.owner, KeyOwner::Group(org.id));
    assert!(v.can("billing", "refund"));
    // Again, from the cache.
    let again = env
        .auth
        .api_keys()
        .verify(orgs.secret.expose(), &meta())
        .await
        .unwrap();
    assert_eq!(again.key.id, orgs.key.id);
}

pub async fn create_validates_input<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("c@example.com").await.user;
    let owner = KeyOwner::User(user.id);
    let keys = env.auth.api_keys();
    let many: Vec<String> = (0..33).map(|i| format!("r{i}:read")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let cases = vec![
        (
            NewApiKey {
                name: "".into(),
                ..new_key(owner, &["a:b"])
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewApiKey {
                name: "n".repeat(1 << 20),
                ..new_key(owner, &["a:b"])
            },
            ErrorCode::InvalidInput,
        ),
        (new_key(owner, &[""]), ErrorCode::InvalidInput),
        (new_key(owner, &[" "]), ErrorCode::InvalidInput),
        (new_key(owner, &["data: read"]), ErrorCode::InvalidInput),
        (new_key(owner, &["data"]), ErrorCode::InvalidInput),
        (new_key(owner, &many), ErrorCode::InvalidInput),
        (
            NewApiKey {
                expires_at: Some(env.auth.now()),
                ..new_key(owner, &["a:b"])
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewApiKey {
                rate_limit: Some(RateLimit {
                    max: 0,
                    window: Duration::MINUTE,
                }),
                ..new_key(owner, &["a:b"])
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewApiKey {
                rate_limit: Some(RateLimit {
                    max: 5,
                    window: Duration::days(2),
                }),
                ..new_key(owner, &["a:b"])
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewApiKey {
                quota: Some(QuotaSpec {
                    limit: 0,
                    refill_every: None,
                }),
                ..new_key(owner, &["a:b"])
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewApiKey {
                metadata: Some(serde_json::json!([])),
                ..new_key(owner, &["a:b"])
            },
            ErrorCode::InvalidInput,
        ),
        (
            new_key(KeyOwner::User(UserId::new()), &["a:b"]),
            ErrorCode::UserNotFound,
        ),
        (
            new_key(KeyOwner::Group(crate::GroupId::new()), &["a:b"]),
            ErrorCode::GroupNotFound,
        ),
    ];
    for (input, code) in cases {
        assert_code(keys.create(&Caller::System, input, &meta()).await, code);
    }
    let page = keys
        .list(
            &Caller::System,
            ListQuery::new(ApiKeyFilter::default(), ApiKeyOrder::CreatedAt),
        )
        .await
        .unwrap();
    assert!(page.items.is_empty());
}

pub async fn keys_never_exceed_their_creator<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let owner = env.user("owner@example.com").await.user;
    let admin = env.user("admin@example.com").await.user;
    let member = env.user("member@example.com").await.user;
    let stranger = env.user("stranger@example.com").await.user;
    let org = env
        .auth
        .groups()
        .create_owned_by(&Caller::System, named("org"), owner.id, &meta())
        .await
        .unwrap();
    add(&env, org.id, admin.id, "admin").await;
    add(&env, org.id, member.id, "member").await;
    let keys = env.auth.api_keys();
    let group_key = |scopes: &[&str]| new_key(KeyOwner::Group(org.id), scopes);
    let (owner_c, admin_c) = (env.caller(owner.id).await, env.caller(admin.id).await);
    let (member_c, stranger_c) = (env.caller(member.id).await, env.caller(stranger.id).await);
    // An admin holds api_key:* and group:read, but not group:delete.
    keys.create(&admin_c, group_key(&["group:read"]), &meta())
        .await
        .unwrap();
    let err = keys
        .create(
            &admin_c,
            group_key(&["group:read", "group:delete"]),
            &meta(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientScope);
    assert!(err.to_string().contains("group:delete"));
    assert_code(
        keys.create(&admin_c, group_key(&["*:*"]), &meta()).await,
        ErrorCode::InsufficientScope,
    );
    // A plain member may not make the group's keys at all.
    assert_code(
        keys.create(&member_c, group_key(&["group:read"]), &meta())
            .await,
        ErrorCode::Forbidden,
    );
    // The owner holds everything.
    let powerful = keys
        .create(&owner_c, group_key(&["*:*"]), &meta())
        .await
        .unwrap();
    // Nor may an update or a rotation give anyone more than they have: the rotating
    // admin would receive the secret of a key holding scopes they lack.
    let modest = keys
        .create(&admin_c, group_key(&["group:read"]), &meta())
        .await
        .unwrap();
    assert_code(
        keys.rotate(&admin_c, powerful.key.id, None, &meta()).await,
        ErrorCode::InsufficientScope,
    );
    let widen = ApiKeyPatch {
        scopes: Some(vec![Permission::parse("group:delete").unwrap()]),
        ..ApiKeyPatch::default()
    };
    assert_code(
        keys.update(&admin_c, modest.key.id, widen.clone(), &meta())
            .await,
        ErrorCode::InsufficientScope,
    );
    // Outsiders learn nothing of the group's keys.
    assert_code(
        keys.update(&stranger_c, modest.key.id, ApiKeyPatch::default(), &meta())
            .await,
        ErrorCode::ApiKeyNotFound,
    );
    keys.update(&owner_c, modest.key.id, widen, &meta())
        .await
        .unwrap();
    keys.rotate(&owner_c, modest.key.id, None, &meta())
        .await
        .unwrap();
    keys.rotate(&owner_c, powerful.key.id, None, &meta())
        .await
        .unwrap();
    // Outsiders cannot make keys for the group; nobody makes keys for another user.
    assert_code(
        keys.create(&stranger_c, group_key(&["group:read"]), &meta())
            .await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        keys.create(
            &member_c,
            new_key(KeyOwner::User(owner.id), &["a:b"]),
            &meta(),
        )
        .await,
        ErrorCode::Forbidden,
    );
}

pub async fn malformed_and_unknown_keys_are_invalid<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("m@example.com").await.user;
    let created = user_key(&env, user.id, &["a:b"]).await;
    let secret = created.secret.expose();
    let mut typo = secret.to_owned().into_bytes();
    let i = typo.len() - 10;
    typo[i] = if typo[i] == b'x' { b'y' } else { b'x' };
    let typo = String::from_utf8(typo).unwrap();
    let other_env = crate::api_keys::KeyFormat::new("sk", Some("test")).unwrap();
    let (foreign, _) = other_env.generate(&crate::secret::OsRandom);
    let (unknown, _) = crate::api_keys::KeyFormat::default().generate(&crate::secret::OsRandom);
    for bad in [
        "",
        "sk_",
        &typo,
        &"x".repeat(1 << 20),
        foreign.expose(),
        unknown.expose(),
        &secret[..secret.len() - 1],
    ] {
        assert_code(
            env.auth.api_keys().verify(bad, &meta()).await,
            ErrorCode::ApiKeyInvalid,
        );
    }
}

pub async fn revoked_and_expired_keys_have_distinct_errors<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("r@example.com").await.user;
    let keys = env.auth.api_keys();
    let revoked = keys
        .create(
            &Caller::System,
            new_key(KeyOwner::User(user.id), &["a:b"]),
            &meta(),
        )
        .await
        .unwrap();
    keys.verify(revoked.secret.expose(), &meta()).await.unwrap();
    let after = keys
        .revoke(&Caller::System, revoked.key.id, &meta())
        .await
        .unwrap();
    assert_eq!(after.revoked_at, Some(env.auth.now()));
    assert_code(
        keys.verify(revoked.secret.expose(), &meta()).await,
        ErrorCode::ApiKeyRevoked,
    );
    let expiring = keys
        .create(
            &Caller::System,
            NewApiKey {
                expires_at: Some(env.auth.now() + Duration::hours(1)),
                ..new_key(KeyOwner::User(user.id), &["a:b"])
            },
            &meta(),
        )
        .await
        .unwrap();
    keys.verify(expiring.secret.expose(), &meta())
        .await
        .unwrap();
    env.advance(Duration::hours(1));
    assert_code(
        keys.verify(expiring.secret.expose(), &meta()).await,
        ErrorCode::ApiKeyExpired,
    );
    assert_code(
        keys.revoke(&Caller::System, crate::ApiKeyId::new(), &meta())
            .await,
        ErrorCode::ApiKeyNotFound,
    );
}

pub async fn revocation_on_one_node_is_seen_by_an_uncached_node<S: ApiKeyDomain + Clone>(
    h: Harness<S>,
) {
    let node_a = Env::new(h.store);
    let node_b = node_a.node_with(h.peer, |c| c.api_keys.cache_ttl = Duration::ZERO);
    let user = node_a.user("n@example.com").await.user;
    let created = user_key(&node_a, user.id, &["a:b"]).await;
    node_b
        .auth
        .api_keys()
        .verify(created.secret.expose(), &meta())
        .await
        .unwrap();
    node_a
        .auth
        .api_keys()
        .revoke(&Caller::System, created.key.id, &meta())
        .await
        .unwrap();
    assert_code(
        node_b
            .auth
            .api_keys()
            .verify(created.secret.expose(), &meta())
            .await,
        ErrorCode::ApiKeyRevoked,
    );
    assert_code(
        node_a
            .auth
            .api_keys()
            .verify(created.secret.expose(), &meta())
            .await,
        ErrorCode::ApiKeyRevoked,
    );
}

pub async fn rotation_with_and_without_grace<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("rot@example.com").await.user;
    let keys = env.auth.api_keys();
    let old = keys
        .create(
            &env.caller(user.id).await,
            NewApiKey {
                rate_limit: Some(RateLimit {
                    max: 100,
                    window: Duration::MINUTE,
                }),
                metadata: Some(serde_json::json!({"a": 1})),
                ..new_key(KeyOwner::User(user.id), &["data:read"])
            },
            &meta(),
        )
        .await
        .unwrap();
    keys.verify(old.secret.expose(), &meta()).await.unwrap();
    let new = keys
        .rotate(
            &Caller::System,
            old.key.id,
            Some(Duration::hours(1)),
            &meta(),
        )
        .await
        .unwrap();
    assert_ne!(new.key.id, old.key.id);
    assert_ne!(new.secret, old.secret);
    assert_eq!(new.key.scopes, old.key.scopes);
    assert_eq!(new.key.rate_limit, old.key.rate_limit);
    assert_eq!(new.key.metadata, old.key.metadata);
    assert_eq!(new.key.owner, old.key.owner);
    // Both work during the grace period; the old one stops after it.
    env.advance(Duration::minutes(59));
    keys.verify(old.secret.expose(), &meta()).await.unwrap();
    keys.verify(new.secret.expose(), &meta()).await.unwrap();
    env.advance(Duration::minutes(1));
    assert_code(
        keys.verify(old.secret.expose(), &meta()).await,
        ErrorCode::ApiKeyRevoked,
    );
    keys.verify(new.secret.expose(), &meta()).await.unwrap();
    // Without grace: at once. A revoked key cannot be rotated.
    let newer = keys
        .rotate(&Caller::System, new.key.id, None, &meta())
        .await
        .unwrap();
    assert_code(
        keys.verify(new.secret.expose(), &meta()).await,
        ErrorCode::ApiKeyRevoked,
    );
    keys.verify(newer.secret.expose(), &meta()).await.unwrap();
    assert_code(
        keys.rotate(&Caller::System, new.key.id, None, &meta())
            .await,
        ErrorCode::ApiKeyNotActive,
    );
    // A key in its grace period is already being replaced: no second successor.
    keys.rotate(
        &Caller::System,
        newer.key.id,
        Some(Duration::hours(1)),
        &meta(),
    )
    .await
    .unwrap();
    assert_code(
        keys.rotate(
            &Caller::System,
            newer.key.id,
            Some(Duration::hours(1)),
            &meta(),
        )
        .await,
        ErrorCode::ApiKeyNotActive,
    );
    assert_code(
        keys.rotate(
            &Caller::System,
            old.key.id,
            Some(Duration::days(31)),
            &meta(),
        )
        .await,
        ErrorCode::InvalidInput,
    );
}

pub async fn rate_limit_holds_exactly_across_nodes<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let node_a = Arc::new(Env::new(h.store));
    let node_b = Arc::new(node_a.node(h.peer));
    let user = node_a.user("rl@example.com").await.user;
    let created = node_a
        .auth
        .api_keys()
        .create(
            &Caller::System,
            NewApiKey {
                rate_limit: Some(RateLimit {
                    max: 10,
                    window: Duration::MINUTE,
                }),
                ..new_key(KeyOwner::User(user.id), &["a:b"])
            },
            &meta(),
        )
        .await
        .unwrap();
    let secret = Arc::new(created.secret.expose().to_owned());
    let burst = |round: usize| {
        let mut tasks = Vec::new();
        for i in 0..64 {
            let node = if i % 2 == 0 {
                Arc::clone(&node_a)
            } else {
                Arc::clone(&node_b)
            };
            let secret = Arc::clone(&secret);
            tasks.push(tokio::spawn(async move {
                node.auth.api_keys().verify(&secret, &meta()).await
            }));
        }
        async move {
            let mut allowed = 0;
            for task in tasks {
                match task.await.unwrap() {
                    Ok(v) => {
                        allowed += 1;
                        assert!(v.rate.unwrap().remaining < 10);
                    }
                    Err(crate::AuthError::RateLimited { retry_after }) => {
                        assert!(retry_after > Duration::ZERO && retry_after <= Duration::MINUTE);
                    }
                    Err(other) => panic!("round {round}: unexpected {other}"),
                }
            }
            allowed
        }
    };
    // A GCRA: a burst of the limit, then one request per window/max (6 s).
    assert_eq!(burst(1).await, 10, "exactly the limit in a burst");
    node_a.advance(Duration::seconds(5));
    assert_eq!(burst(2).await, 0, "nothing came back yet");
    node_a.advance(Duration::seconds(1));
    assert_eq!(burst(3).await, 1, "one request per interval");
    node_a.advance(Duration::minutes(2));
    assert_eq!(burst(4).await, 10, "the whole allowance, no more");
}

pub async fn quota_is_used_up_and_refills<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("q@example.com").await.user;
    let keys = env.auth.api_keys();
    let created = keys
        .create(
            &Caller::System,
            NewApiKey {
                quota: Some(QuotaSpec {
                    limit: 3,
                    refill_every: Some(Duration::hours(1)),
                }),
                ..new_key(KeyOwner::User(user.id), &["a:b"])
            },
            &meta(),
        )
        .await
        .unwrap();
    for _ in 0..3 {
        keys.verify(created.secret.expose(), &meta()).await.unwrap();
    }
    let err = keys
        .verify(created.secret.expose(), &meta())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::QuotaExceeded);
    assert!(
        matches!(err, crate::AuthError::QuotaExceeded { retry_after: Some(d) } if d == Duration::hours(1))
    );
    env.advance(Duration::hours(1));
    keys.verify(created.secret.expose(), &meta()).await.unwrap();
    assert_eq!(
        keys.get(&Caller::System, created.key.id)
            .await
            .unwrap()
            .quota
            .unwrap()
            .remaining,
        2
    );
    // Rotating hands the successor what remains, not a fresh quota.
    let rotated = keys
        .rotate(&Caller::System, created.key.id, None, &meta())
        .await
        .unwrap();
    assert_eq!(rotated.key.quota.unwrap().remaining, 2);
    for _ in 0..2 {
        keys.verify(rotated.secret.expose(), &meta()).await.unwrap();
    }
    assert_code(
        keys.verify(rotated.secret.expose(), &meta()).await,
        ErrorCode::QuotaExceeded,
    );
}

pub async fn use_is_recorded_at_most_once_per_interval<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("lu@example.com").await.user;
    let keys = env.auth.api_keys();
    let created = keys
        .create(
            &Caller::System,
            new_key(KeyOwner::User(user.id), &["a:b"]),
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(
        keys.get(&Caller::System, created.key.id)
            .await
            .unwrap()
            .last_used_at,
        None
    );
    let first = env.auth.now();
    keys.verify(created.secret.expose(), &meta()).await.unwrap();
    env.advance(Duration::seconds(10));
    keys.verify(created.secret.expose(), &meta()).await.unwrap();
    assert_eq!(
        keys.get(&Caller::System, created.key.id)
            .await
            .unwrap()
            .last_used_at,
        Some(first)
    );
}

pub async fn cached_verification_answers_only_what_verify_would<S: ApiKeyDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let user = env.user("fast@example.com").await.user;
    let keys = env.auth.api_keys();
    let plain = keys
        .create(
            &Caller::System,
            new_key(KeyOwner::User(user.id), &["a:read"]),
            &meta(),
        )
        .await
        .unwrap();
    let secret = plain.secret.expose();
    assert!(keys.verify_cached(secret).is_none(), "not verified yet");
    keys.verify(secret, &meta()).await.unwrap();
    let hit = keys.verify_cached(secret).expect("a cache hit");
    assert_eq!(hit.key.id, plain.key.id);
    assert!(hit.can("a", "read") && !hit.can("a", "write"));
    // Another key of the same length is not this one.
    let mut forged = secret.to_owned();
    let last = if forged.ends_with('A') { "B" } else { "A" };
    forged.replace_range(forged.len() - 1.., last);
    assert!(keys.verify_cached(&forged).is_none());
    // A use to record: the synchronous path steps aside.
    env.advance(env.auth.config().api_keys.touch_interval);
    assert!(keys.verify_cached(secret).is_none());
    keys.verify(secret, &meta()).await.unwrap();
    assert!(keys.verify_cached(secret).is_some());
    keys.revoke(&Caller::System, plain.key.id, &meta())
        .await
        .unwrap();
    assert!(keys.verify_cached(secret).is_none(), "revoked");
    // Rate limits count in the store: never answered from the cache.
    let limited = keys
        .create(
            &Caller::System,
            NewApiKey {
                rate_limit: Some(RateLimit {
                    max: 100,
                    window: Duration::MINUTE,
                }),
                ..new_key(KeyOwner::User(user.id), &["a:read"])
            },
            &meta(),
        )
        .await
        .unwrap();
    keys.verify(limited.secret.expose(), &meta()).await.unwrap();
    assert!(keys.verify_cached(limited.secret.expose()).is_none());
}

pub async fn list_filters_and_orders<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let a = env.user("a@example.com").await.user;
    let b = env.user("b@example.com").await.user;
    let keys = env.auth.api_keys();
    let named_key = |owner, name: &str| NewApiKey {
        name: name.into(),
        ..new_key(owner, &["a:b"])
    };
    let k1 = keys
        .create(
            &Caller::System,
            named_key(KeyOwner::User(a.id), "Deploy bot"),
            &meta(),
        )
        .await
        .unwrap();
    let k2 = keys
        .create(
            &Caller::System,
            named_key(KeyOwner::User(a.id), "analytics"),
            &meta(),
        )
        .await
        .unwrap();
    let k3 = keys
        .create(
            &Caller::System,
            named_key(KeyOwner::User(b.id), "Backup"),
            &meta(),
        )
        .await
        .unwrap();
    keys.revoke(&Caller::System, k2.key.id, &meta())
        .await
        .unwrap();
    let ids = |filter: ApiKeyFilter, order| {
        let keys = env.auth.api_keys();
        async move {
            keys.list(&Caller::System, ListQuery::new(filter, order))
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|k| k.id)
                .collect::<Vec<_>>()
        }
    };
    let all = ApiKeyFilter::default;
    assert_eq!(
        ids(
            ApiKeyFilter {
                owner: Some(KeyOwner::User(a.id)),
                ..all()
            },
            ApiKeyOrder::CreatedAt
        )
        .await,
        [k1.key.id, k2.key.id]
    );
    assert_eq!(
        ids(
            ApiKeyFilter {
                revoked: Some(true),
                ..all()
            },
            ApiKeyOrder::CreatedAt
        )
        .await,
        [k2.key.id]
    );
    assert_eq!(
        ids(
            ApiKeyFilter {
                revoked: Some(false),
                ..all()
            },
            ApiKeyOrder::CreatedAt
        )
        .await,
        [k1.key.id, k3.key.id]
    );
    assert_eq!(
        ids(
            ApiKeyFilter {
                name_contains: Some("BOT".into()),
                ..all()
            },
            ApiKeyOrder::CreatedAt
        )
        .await,
        [k1.key.id]
    );
    assert_eq!(
        ids(
            ApiKeyFilter {
                start: Some(k3.key.start.clone()),
                ..all()
            },
            ApiKeyOrder::CreatedAt
        )
        .await,
        [k3.key.id]
    );
    assert_eq!(
        ids(all(), ApiKeyOrder::Name).await,
        [k3.key.id, k1.key.id, k2.key.id]
    );
}

pub async fn update_takes_effect_at_once<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("u@example.com").await.user;
    let keys = env.auth.api_keys();
    let created = keys
        .create(
            &Caller::System,
            new_key(KeyOwner::User(user.id), &["data:read"]),
            &meta(),
        )
        .await
        .unwrap();
    assert!(
        !keys
            .verify(created.secret.expose(), &meta())
            .await
            .unwrap()
            .can("data", "write")
    );
    let updated = keys
        .update(
            &Caller::System,
            created.key.id,
            ApiKeyPatch {
                name: Some("renamed".into()),
                scopes: Some(vec![Permission::parse("data:*").unwrap()]),
                rate_limit: Some(Some(RateLimit {
                    max: 1,
                    window: Duration::HOUR,
                })),
                metadata: Some(serde_json::json!({"v": 2})),
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "renamed");
    let v = keys.verify(created.secret.expose(), &meta()).await.unwrap();
    assert!(v.can("data", "write"), "the cached key was refreshed");
    assert_code(
        keys.verify(created.secret.expose(), &meta()).await,
        ErrorCode::RateLimited,
    );
    assert_code(
        keys.update(
            &Caller::System,
            created.key.id,
            ApiKeyPatch {
                name: Some(String::new()),
                ..ApiKeyPatch::default()
            },
            &meta(),
        )
        .await,
        ErrorCode::InvalidInput,
    );
    assert_code(
        keys.update(
            &Caller::System,
            crate::ApiKeyId::new(),
            ApiKeyPatch::default(),
            &meta(),
        )
        .await,
        ErrorCode::ApiKeyNotFound,
    );
}

pub async fn remove_deletes_for_good<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("rm@example.com").await.user;
    let keys = env.auth.api_keys();
    let created = keys
        .create(
            &Caller::System,
            new_key(KeyOwner::User(user.id), &["a:b"]),
            &meta(),
        )
        .await
        .unwrap();
    keys.verify(created.secret.expose(), &meta()).await.unwrap();
    keys.remove(&Caller::System, created.key.id, &meta())
        .await
        .unwrap();
    assert_code(
        keys.get(&Caller::System, created.key.id).await,
        ErrorCode::ApiKeyNotFound,
    );
    assert_code(
        keys.verify(created.secret.expose(), &meta()).await,
        ErrorCode::ApiKeyInvalid,
    );
    assert_code(
        keys.remove(&Caller::System, created.key.id, &meta()).await,
        ErrorCode::ApiKeyNotFound,
    );
}

pub async fn owners_deletion_deletes_their_keys<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("del@example.com").await.user;
    let org = group(&env, "org", None).await;
    let keys = env.auth.api_keys();
    let user_key = keys
        .create(
            &Caller::System,
            new_key(KeyOwner::User(user.id), &["a:b"]),
            &meta(),
        )
        .await
        .unwrap();
    let group_key = keys
        .create(
            &Caller::System,
            new_key(KeyOwner::Group(org.id), &["a:b"]),
            &meta(),
        )
        .await
        .unwrap();
    // Both verified, so both are in this node's cache.
    for created in [&user_key, &group_key] {
        keys.verify(created.secret.expose(), &meta()).await.unwrap();
    }
    let err = env
        .auth
        .users()
        .delete(&Caller::System, user.id, false, &meta())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("1 API key"), "{err}");
    env.auth
        .users()
        .delete(&Caller::System, user.id, true, &meta())
        .await
        .unwrap();
    assert_code(
        keys.get(&Caller::System, user_key.key.id).await,
        ErrorCode::ApiKeyNotFound,
    );
    assert_code(
        keys.verify(user_key.secret.expose(), &meta()).await,
        ErrorCode::ApiKeyInvalid,
    );
    assert!(keys.verify_cached(user_key.secret.expose()).is_none());
    keys.verify(group_key.secret.expose(), &meta())
        .await
        .unwrap();
    env.auth
        .groups()
        .delete(&Caller::System, org.id, &meta())
        .await
        .unwrap();
    assert_code(
        keys.get(&Caller::System, group_key.key.id).await,
        ErrorCode::ApiKeyNotFound,
    );
    assert_code(
        keys.verify(group_key.secret.expose(), &meta()).await,
        ErrorCode::ApiKeyInvalid,
    );
}

pub async fn group_keys_survive_their_creator<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let creator = env.user("leaver@example.com").await.user;
    let org = env
        .auth
        .groups()
        .create_owned_by(&Caller::System, named("org"), creator.id, &meta())
        .await
        .unwrap();
    let created = env
        .auth
        .api_keys()
        .create(
            &env.caller(creator.id).await,
            new_key(KeyOwner::Group(org.id), &["group:read"]),
            &meta(),
        )
        .await
        .unwrap();
    // The creator leaves (a second owner keeps the group owned).
    let heir = env.user("heir@example.com").await.user;
    add(&env, org.id, heir.id, "owner").await;
    env.auth
        .users()
        .delete(&Caller::System, creator.id, true, &meta())
        .await
        .unwrap();
    let v = env
        .auth
        .api_keys()
        .verify(created.secret.expose(), &meta())
        .await
        .unwrap();
    assert_eq!(v.key.owner, KeyOwner::Group(org.id));
    assert_eq!(
        env.auth
            .api_keys()
            .get(&Caller::System, created.key.id)
            .await
            .unwrap()
            .created_by,
        None
    );
}

pub async fn changes_and_failures_are_audited<S: ApiKeyDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("au@example.com").await.user;
    let keys = env.auth.api_keys();
    let created = keys
        .create(
            &env.caller(user.id).await,
            new_key(KeyOwner::User(user.id), &["a:b"]),
            &meta(),
        )
        .await
        .unwrap();
    keys.update(
        &Caller::System,
        created.key.id,
        ApiKeyPatch {
            name: Some("x".into()),
            ..ApiKeyPatch::default()
        },
        &meta(),
    )
    .await
    .unwrap();
    let rotated = keys
        .rotate(&Caller::System, created.key.id, None, &meta())
        .await
        .unwrap();
    keys.revoke(&Caller::System, rotated.key.id, &meta())
        .await
        .unwrap();
    keys.remove(&Caller::System, rotated.key.id, &meta())
        .await
        .unwrap();
    for _ in 0..20 {
        let _ = keys.verify(created.secret.expose(), &meta()).await;
        let _ = keys.verify("sk_garbage", &meta()).await;
    }
    let events = env
        .auth
        .audit()
        .list(
            &Caller::System,
            ListQuery::new(AuditFilter::default(), AuditOrder::At).limit(1000),
        )
        .await
        .unwrap()
        .items;
    let actions: Vec<_> = events
        .iter()
        .filter(|e| e.action.starts_with("api_key."))
        .map(|e| (e.action.as_str(), e.ok))
        .collect();
    assert_eq!(
        actions,
        [
            ("api_key.create", true),
            ("api_key.update", true),
            ("api_key.rotate", true),
            ("api_key.revoke", true),
            ("api_key.remove", true),
            ("api_key.verify", false),
            ("api_key.verify", false),
        ],
        "forty failed verifications, audited once per key and error a minute"
    );
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains(created.secret.expose()) && !all.contains(rotated.secret.expose()));

    // Refusals for the rate limit are audited too, as rarely.
    let limited = keys
        .create(
            &Caller::System,
            NewApiKey {
                rate_limit: Some(RateLimit {
                    max: 1,
                    window: Duration::HOUR,
                }),
                ..new_key(KeyOwner::User(user.id), &["a:b"])
            },
            &meta(),
        )
        .await
        .unwrap();
    for _ in 0..5 {
        let _ = keys.verify(limited.secret.expose(), &meta()).await;
    }
    let filter = AuditFilter {
        subject: Some(format!("api_key:{}", limited.key.id)),
        ok: Some(false),
        ..AuditFilter::default()
    };
    let refusals = env
        .auth
        .audit()
        .list(&Caller::System, ListQuery::new(filter, AuditOrder::At))
        .await
        .unwrap()
        .items;
    let codes: Vec<_> = refusals.iter().map(|e| e.error_code.as_deref()).collect();
    assert_eq!(codes, [Some("RATE_LIMITED")]);
}
