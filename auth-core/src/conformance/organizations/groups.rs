//! Groups: create, slug, update and move, cascade delete, lists, ancestry and cycles.

use crate::Caller;
use std::collections::BTreeMap;

use time::Duration;

use crate::conformance::{Env, Harness, assert_code, meta};
use crate::groups::{GroupFilter, GroupOrder, GroupPatch, NewGroup, Tag};
use crate::invites::NewInvite;
use crate::members::NewMember;
use crate::{Direction, ErrorCode, Group, GroupId, ListQuery, OrganizationStore, UserId};

pub(crate) fn named(name: &str) -> NewGroup {
    NewGroup {
        name: name.into(),
        ..NewGroup::default()
    }
}

pub(crate) async fn group<S: OrganizationStore + Clone>(
    env: &Env<S>,
    name: &str,
    parent: Option<GroupId>,
) -> Group {
    env.auth
        .groups()
        .create(
            &Caller::System,
            NewGroup {
                parent_id: parent,
                ..named(name)
            },
            &meta(),
        )
        .await
        .unwrap()
}

/// A chain of `n` groups, root first; each the parent of the next.
pub(crate) async fn chain<S: OrganizationStore + Clone>(env: &Env<S>, n: usize) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for i in 0..n {
        let parent = out.last().map(|g| g.id);
        out.push(group(env, &format!("level {i}"), parent).await);
    }
    out
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub async fn create_get_and_get_by_slug<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let created = env
        .auth
        .groups()
        .create(
            &Caller::System,
            NewGroup {
                name: "  Acme Corp ".into(),
                slug: Some("acme".into()),
                kind: Some("org".into()),
                parent_id: None,
                tags: tags(&[("plan", "pro"), ("region", "eu")]),
                extend: Some(serde_json::json!({"billing": 42})),
                require_mfa: false,
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(created.name, "Acme Corp");
    assert_eq!(created.kind, "org");
    assert_eq!(
        env.auth
            .groups()
            .get(&Caller::System, created.id)
            .await
            .unwrap(),
        created
    );
    assert_eq!(
        env.auth
            .groups()
            .get_by_slug(&Caller::System, "acme")
            .await
            .unwrap(),
        created
    );
    let plain = group(&env, "Plain", None).await;
    assert_eq!(plain.kind, "group");
    assert_eq!(plain.slug, None);
    assert!(plain.tags.is_empty());
    assert_code(
        env.auth.groups().get(&Caller::System, GroupId::new()).await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        env.auth.groups().get_by_slug(&Caller::System, "nope").await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        env.auth
            .groups()
            .get_by_slug(&Caller::System, "Bad Slug")
            .await,
        ErrorCode::InvalidInput,
    );
}

pub async fn slugs_are_unique<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let with_slug = |slug: &str| NewGroup {
        slug: Some(slug.into()),
        ..named("G")
    };
    let a = env
        .auth
        .groups()
        .create(&Caller::System, with_slug("taken"), &meta())
        .await
        .unwrap();
    assert_code(
        env.auth
            .groups()
            .create(&Caller::System, with_slug("taken"), &meta())
            .await,
        ErrorCode::SlugTaken,
    );
    let b = env
        .auth
        .groups()
        .create(&Caller::System, with_slug("other"), &meta())
        .await
        .unwrap();
    assert_code(
        env.auth
            .groups()
            .update(
                &Caller::System,
                b.id,
                GroupPatch {
                    slug: Some(Some("taken".into())),
                    ..GroupPatch::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::SlugTaken,
    );
    // Clearing a slug frees it.
    env.auth
        .groups()
        .update(
            &Caller::System,
            a.id,
            GroupPatch {
                slug: Some(None),
                ..GroupPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    env.auth
        .groups()
        .update(
            &Caller::System,
            b.id,
            GroupPatch {
                slug: Some(Some("taken".into())),
                ..GroupPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(
        env.auth
            .groups()
            .get_by_slug(&Caller::System, "taken")
            .await
            .unwrap()
            .id,
        b.id
    );
}

pub async fn create_validates_input<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let groups = env.auth.groups();
    let big = "x".repeat(1 << 20);
    let many_tags: BTreeMap<String, String> =
        (0..33).map(|i| (format!("k{i}"), "v".into())).collect();
    for (input, code) in [
        (named(""), ErrorCode::InvalidInput),
        (named(&big), ErrorCode::InvalidInput),
        (
            NewGroup {
                slug: Some("Has Space".into()),
                ..named("g")
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewGroup {
                slug: Some(big.clone()),
                ..named("g")
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewGroup {
                kind: Some("ORG".into()),
                ..named("g")
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewGroup {
                tags: many_tags,
                ..named("g")
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewGroup {
                tags: tags(&[("Bad Key", "v")]),
                ..named("g")
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewGroup {
                tags: tags(&[("k", &big)]),
                ..named("g")
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewGroup {
                extend: Some(serde_json::json!(1)),
                ..named("g")
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewGroup {
                parent_id: Some(GroupId::new()),
                ..named("g")
            },
            ErrorCode::InvalidInput,
        ),
    ] {
        assert_code(groups.create(&Caller::System, input, &meta()).await, code);
    }
    assert_code(
        groups
            .create_owned_by(&Caller::System, named("g"), UserId::new(), &meta())
            .await,
        ErrorCode::UserNotFound,
    );
    let page = groups
        .list(
            &Caller::System,
            ListQuery::new(GroupFilter::default(), GroupOrder::CreatedAt),
        )
        .await
        .unwrap();
    assert!(
        page.items.is_empty(),
        "nothing was created by refused calls"
    );
}

pub async fn create_with_owner_adds_the_owner_atomically<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let user = env.user("founder@example.com").await.user;
    let org = env
        .auth
        .groups()
        .create_owned_by(&Caller::System, named("Founded"), user.id, &meta())
        .await
        .unwrap();
    let member = env
        .auth
        .members()
        .find(&Caller::System, org.id, user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.role, "owner");
    assert!(
        env.auth
            .members()
            .has_role(user.id, org.id, "owner")
            .await
            .unwrap()
    );
}

pub async fn update_renames_retags_and_moves<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let a = group(&env, "A", None).await;
    let b = group(&env, "B", None).await;
    let child = group(&env, "Child", Some(a.id)).await;
    env.advance(Duration::minutes(1));
    let moved = env
        .auth
        .groups()
        .update(
            &Caller::System,
            child.id,
            GroupPatch {
                name: Some("Renamed".into()),
                kind: Some("team".into()),
                parent_id: Some(Some(b.id)),
                tags: Some(tags(&[("env", "prod")])),
                extend: Some(serde_json::json!({"x": 1})),
                ..GroupPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(moved.name, "Renamed");
    assert_eq!(moved.kind, "team");
    assert_eq!(moved.parent_id, Some(b.id));
    assert_eq!(moved.tags, tags(&[("env", "prod")]));
    assert_eq!(moved.updated_at, child.created_at + Duration::minutes(1));
    assert_eq!(
        env.auth
            .groups()
            .get(&Caller::System, child.id)
            .await
            .unwrap(),
        moved
    );
    // Make it a root.
    let root = env
        .auth
        .groups()
        .update(
            &Caller::System,
            child.id,
            GroupPatch {
                parent_id: Some(None),
                ..GroupPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(root.parent_id, None);
    assert_eq!(root.tags, tags(&[("env", "prod")]), "untouched fields stay");
    assert_code(
        env.auth
            .groups()
            .update(
                &Caller::System,
                GroupId::new(),
                GroupPatch::default(),
                &meta(),
            )
            .await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        env.auth
            .groups()
            .update(
                &Caller::System,
                child.id,
                GroupPatch {
                    parent_id: Some(Some(GroupId::new())),
                    ..GroupPatch::default()
                },
                &meta(),
            )
            .await,
        ErrorCode::InvalidInput,
    );
}

pub async fn moves_that_would_make_a_cycle_are_refused<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let levels = chain(&env, 4).await;
    let move_under = |id: GroupId, parent: GroupId| {
        let groups = env.auth.groups();
        async move {
            groups
                .update(
                    &Caller::System,
                    id,
                    GroupPatch {
                        parent_id: Some(Some(parent)),
                        ..GroupPatch::default()
                    },
                    &meta(),
                )
                .await
        }
    };
    assert_code(
        move_under(levels[0].id, levels[0].id).await,
        ErrorCode::GroupCycle,
    );
    assert_code(
        move_under(levels[0].id, levels[3].id).await,
        ErrorCode::GroupCycle,
    );
    assert_code(
        move_under(levels[1].id, levels[2].id).await,
        ErrorCode::GroupCycle,
    );
    // Nothing moved.
    assert_eq!(
        env.auth
            .groups()
            .get(&Caller::System, levels[0].id)
            .await
            .unwrap()
            .parent_id,
        None
    );
    // Moving a subtree sideways is fine.
    let other = group(&env, "other", None).await;
    move_under(levels[2].id, other.id).await.unwrap();
}

pub async fn concurrent_opposite_moves_never_make_a_cycle<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let node_a = Env::new(h.store);
    let node_b = node_a.node(h.peer);
    for _ in 0..10 {
        let x = group(&node_a, "x", None).await;
        let y = group(&node_a, "y", None).await;
        let under = |env: &Env<S>, id: GroupId, parent: GroupId| {
            let auth = env.auth.clone();
            async move {
                auth.groups()
                    .update(
                        &Caller::System,
                        id,
                        GroupPatch {
                            parent_id: Some(Some(parent)),
                            ..GroupPatch::default()
                        },
                        &meta(),
                    )
                    .await
            }
        };
        let (a, b) = tokio::join!(under(&node_a, x.id, y.id), under(&node_b, y.id, x.id));
        let oks = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
        assert_eq!(oks, 1, "exactly one of two opposite moves succeeds");
        let ancestry = node_a
            .auth
            .groups()
            .ancestors(&Caller::System, x.id, true, None)
            .await
            .unwrap();
        assert!(!ancestry.cycle_detected);
    }
}

pub async fn delete_cascades_to_descendants_members_and_invites<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let user = env.user("member@example.com").await.user;
    let org = group(&env, "Org", None).await;
    let team = group(&env, "Team", Some(org.id)).await;
    let squad = group(&env, "Squad", Some(team.id)).await;
    let sibling = group(&env, "Other org", None).await;
    for g in [&org, &team, &squad, &sibling] {
        env.auth
            .members()
            .add(
                &Caller::System,
                NewMember {
                    group_id: g.id,
                    user_id: user.id,
                    role: None,
                    status: None,
                    extend: None,
                },
                &meta(),
            )
            .await
            .unwrap();
    }
    let invite = env
        .auth
        .invites()
        .create(
            &Caller::System,
            NewInvite {
                group_id: Some(squad.id),
                ..NewInvite::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(
        env.auth
            .groups()
            .delete(&Caller::System, org.id, &meta())
            .await
            .unwrap(),
        3
    );
    for gone in [&org, &team, &squad] {
        assert_code(
            env.auth.groups().get(&Caller::System, gone.id).await,
            ErrorCode::GroupNotFound,
        );
        assert!(
            env.auth
                .members()
                .find(&Caller::System, gone.id, user.id)
                .await
                .unwrap()
                .is_none()
        );
    }
    assert_code(
        env.auth
            .invites()
            .get(&Caller::System, invite.invite.id)
            .await,
        ErrorCode::InviteNotFound,
    );
    env.auth
        .groups()
        .get(&Caller::System, sibling.id)
        .await
        .unwrap();
    assert!(
        env.auth
            .members()
            .find(&Caller::System, sibling.id, user.id)
            .await
            .unwrap()
            .is_some()
    );
    assert_code(
        env.auth
            .groups()
            .delete(&Caller::System, org.id, &meta())
            .await,
        ErrorCode::GroupNotFound,
    );
}

pub async fn list_filters<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let create = |name: &str,
                  slug: Option<&str>,
                  kind: &str,
                  parent: Option<GroupId>,
                  t: &[(&str, &str)]| {
        let input = NewGroup {
            name: name.into(),
            slug: slug.map(Into::into),
            kind: Some(kind.into()),
            parent_id: parent,
            tags: tags(t),
            extend: None,
            require_mfa: false,
        };
        let groups = env.auth.groups();
        async move {
            groups
                .create(&Caller::System, input, &meta())
                .await
                .unwrap()
        }
    };
    let acme = create(
        "Acme",
        Some("acme"),
        "org",
        None,
        &[("plan", "pro"), ("region", "eu")],
    )
    .await;
    let globex = create(
        "Globex",
        None,
        "org",
        None,
        &[("plan", "free"), ("region", "eu")],
    )
    .await;
    let red = create("Red team", None, "team", Some(acme.id), &[("plan", "pro")]).await;
    let blue = create("Blue Team", Some("blue"), "team", Some(acme.id), &[]).await;
    let ids = |filter: GroupFilter| {
        let groups = env.auth.groups();
        async move {
            groups
                .list(
                    &Caller::System,
                    ListQuery::new(filter, GroupOrder::CreatedAt),
                )
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|g| g.id)
                .collect::<Vec<_>>()
        }
    };
    let tag = |k: &str, v: &str| Tag {
        key: k.into(),
        value: v.into(),
    };
    assert_eq!(
        ids(GroupFilter::default()).await,
        [acme.id, globex.id, red.id, blue.id]
    );
    assert_eq!(
        ids(GroupFilter {
            slug: Some("blue".into()),
            ..GroupFilter::default()
        })
        .await,
        [blue.id]
    );
    assert_eq!(
        ids(GroupFilter {
            kind: Some("org".into()),
            ..GroupFilter::default()
        })
        .await,
        [acme.id, globex.id]
    );
    assert_eq!(
        ids(GroupFilter {
            parent_id: Some(acme.id),
            ..GroupFilter::default()
        })
        .await,
        [red.id, blue.id]
    );
    assert_eq!(
        ids(GroupFilter {
            root_only: true,
            ..GroupFilter::default()
        })
        .await,
        [acme.id, globex.id]
    );
    assert_eq!(
        ids(GroupFilter {
            name_contains: Some("TEAM".into()),
            ..GroupFilter::default()
        })
        .await,
        [red.id, blue.id]
    );
    assert_eq!(
        ids(GroupFilter {
            tags_all: vec![tag("plan", "pro"), tag("region", "eu")],
            ..GroupFilter::default()
        })
        .await,
        [acme.id]
    );
    assert_eq!(
        ids(GroupFilter {
            tags_any: vec![tag("plan", "free"), tag("plan", "pro")],
            ..GroupFilter::default()
        })
        .await,
        [acme.id, globex.id, red.id]
    );
    assert_eq!(
        ids(GroupFilter {
            kind: Some("team".into()),
            tags_any: vec![tag("plan", "pro")],
            ..GroupFilter::default()
        })
        .await,
        [red.id]
    );
    assert!(
        ids(GroupFilter {
            tags_all: vec![tag("plan", "gold")],
            ..GroupFilter::default()
        })
        .await
        .is_empty()
    );
}

pub async fn list_orders_and_paginates<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    for (name, slug, kind) in [
        ("Charlie", Some("c"), "team"),
        ("alpha", None, "org"),
        ("Bravo", Some("b"), "org"),
        ("Delta", Some("a"), "unit"),
    ] {
        env.auth
            .groups()
            .create(
                &Caller::System,
                NewGroup {
                    slug: slug.map(Into::into),
                    kind: Some(kind.into()),
                    ..named(name)
                },
                &meta(),
            )
            .await
            .unwrap();
        env.advance(Duration::seconds(1));
    }
    let names = |order, direction, limit| {
        let groups = env.auth.groups();
        async move {
            let mut out = Vec::new();
            let mut cursor = None;
            loop {
                let mut q = ListQuery::new(GroupFilter::default(), order)
                    .direction(direction)
                    .limit(limit);
                q.cursor = cursor;
                let page = groups.list(&Caller::System, q).await.unwrap();
                out.extend(page.items.into_iter().map(|g| g.name));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => return out,
                }
            }
        }
    };
    assert_eq!(
        names(GroupOrder::Name, Direction::Asc, 1).await,
        ["Bravo", "Charlie", "Delta", "alpha"]
    );
    assert_eq!(
        names(GroupOrder::Slug, Direction::Asc, 2).await,
        ["alpha", "Delta", "Bravo", "Charlie"]
    );
    assert_eq!(
        names(GroupOrder::Kind, Direction::Asc, 3).await,
        ["alpha", "Bravo", "Charlie", "Delta"]
    );
    assert_eq!(
        names(GroupOrder::CreatedAt, Direction::Desc, 3).await,
        ["Delta", "Bravo", "alpha", "Charlie"]
    );
}

pub async fn ancestors_nearest_first<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let levels = chain(&env, 4).await;
    let leaf = levels[3].id;
    let ancestry = env
        .auth
        .groups()
        .ancestors(&Caller::System, leaf, false, None)
        .await
        .unwrap();
    let ids: Vec<_> = ancestry.groups.iter().map(|g| g.id).collect();
    assert_eq!(ids, [levels[2].id, levels[1].id, levels[0].id]);
    assert!(!ancestry.cycle_detected && !ancestry.max_depth_reached);
    let with_self = env
        .auth
        .groups()
        .ancestors(&Caller::System, leaf, true, None)
        .await
        .unwrap();
    assert_eq!(with_self.groups.first().map(|g| g.id), Some(leaf));
    assert_eq!(with_self.groups.len(), 4);
    let root = env
        .auth
        .groups()
        .ancestors(&Caller::System, levels[0].id, false, None)
        .await
        .unwrap();
    assert!(root.groups.is_empty());
    assert_code(
        env.auth
            .groups()
            .ancestors(&Caller::System, GroupId::new(), false, None)
            .await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        env.auth
            .groups()
            .ancestors(&Caller::System, leaf, false, Some(100_000))
            .await,
        ErrorCode::InvalidInput,
    );
}

pub async fn ancestors_stop_at_max_depth<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let levels = chain(&env, 6).await;
    let leaf = levels[5].id;
    let two = env
        .auth
        .groups()
        .ancestors(&Caller::System, leaf, false, Some(2))
        .await
        .unwrap();
    assert_eq!(
        two.groups.iter().map(|g| g.id).collect::<Vec<_>>(),
        [levels[4].id, levels[3].id]
    );
    assert!(two.max_depth_reached);
    assert!(!two.cycle_detected);
    let exact = env
        .auth
        .groups()
        .ancestors(&Caller::System, leaf, false, Some(5))
        .await
        .unwrap();
    assert_eq!(exact.groups.len(), 5);
    assert!(
        !exact.max_depth_reached,
        "the root was reached exactly at the limit"
    );
}

pub async fn planted_cycle_is_reported_not_looped<S: OrganizationStore + Clone>(h: Harness<S>) {
    if !h.can_plant_parent("planted_cycle_is_reported_not_looped") {
        return;
    }
    let env = Env::new(h.store.clone());
    let levels = chain(&env, 3).await;
    let user = env.user("cyclic@example.com").await.user;
    // Plant root -> leaf directly in the store: a -> b -> c -> a.
    h.plant_parent(levels[0].id, Some(levels[2].id)).await;
    let ancestry = env
        .auth
        .groups()
        .ancestors(&Caller::System, levels[2].id, true, None)
        .await
        .unwrap();
    assert!(ancestry.cycle_detected);
    assert!(!ancestry.max_depth_reached);
    assert_eq!(ancestry.groups.len(), 3, "each group once");
    let below = env
        .auth
        .groups()
        .descendants(&Caller::System, levels[0].id, None)
        .await
        .unwrap();
    assert!(below.cycle_detected);
    let resolution = env
        .auth
        .members()
        .resolve(user.id, levels[2].id, None, None)
        .await
        .unwrap();
    assert!(resolution.cycle_detected);
    assert!(resolution.member.is_none());
    assert_eq!(resolution.path.len(), 3);
    // Permission checks on a cyclic hierarchy still answer (no membership: nothing).
    assert!(
        !env.auth
            .members()
            .can(user.id, levels[1].id, "group:read")
            .await
            .unwrap()
    );
    // Deleting a group of the cycle terminates and removes the whole cycle.
    assert_eq!(
        env.auth
            .groups()
            .delete(&Caller::System, levels[1].id, &meta())
            .await
            .unwrap(),
        3
    );
}

pub async fn descendants_breadth_first<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let org = group(&env, "org", None).await;
    let t1 = group(&env, "t1", Some(org.id)).await;
    let t2 = group(&env, "t2", Some(org.id)).await;
    let s1 = group(&env, "s1", Some(t1.id)).await;
    let below = env
        .auth
        .groups()
        .descendants(&Caller::System, org.id, None)
        .await
        .unwrap();
    let mut level1: Vec<_> = below
        .groups
        .iter()
        .filter(|(_, d)| *d == 1)
        .map(|(g, _)| g.id)
        .collect();
    level1.sort();
    let mut expected = vec![t1.id, t2.id];
    expected.sort();
    assert_eq!(level1, expected);
    assert_eq!(
        below.groups.last().map(|(g, d)| (g.id, *d)),
        Some((s1.id, 2))
    );
    assert!(!below.cycle_detected && !below.max_depth_reached);
    let shallow = env
        .auth
        .groups()
        .descendants(&Caller::System, org.id, Some(1))
        .await
        .unwrap();
    assert_eq!(shallow.groups.len(), 2);
    assert!(shallow.max_depth_reached);
    assert!(
        env.auth
            .groups()
            .descendants(&Caller::System, s1.id, None)
            .await
            .unwrap()
            .groups
            .is_empty()
    );
}

pub async fn a_64_level_chain_resolves<S: OrganizationStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("deep@example.com").await.user;
    let levels = chain(&env, 65).await;
    env.auth
        .members()
        .add(
            &Caller::System,
            NewMember {
                group_id: levels[0].id,
                user_id: user.id,
                role: Some("admin".into()),
                status: None,
                extend: None,
            },
            &meta(),
        )
        .await
        .unwrap();
    let leaf = levels[64].id;
    let resolution = env
        .auth
        .members()
        .resolve(user.id, leaf, None, Some(64))
        .await
        .unwrap();
    assert_eq!(resolution.matched_group, Some(levels[0].id));
    assert_eq!(resolution.depth, Some(64));
    assert!(resolution.inherited);
    assert_eq!(resolution.path.len(), 65);
    assert!(!resolution.max_depth_reached && !resolution.cycle_detected);
    // The default depth limit (32) does not reach the root.
    let limited = env
        .auth
        .members()
        .resolve(user.id, leaf, None, None)
        .await
        .unwrap();
    assert!(limited.member.is_none());
    assert!(limited.max_depth_reached);
    let ancestry = env
        .auth
        .groups()
        .ancestors(&Caller::System, leaf, false, Some(64))
        .await
        .unwrap();
    assert_eq!(ancestry.groups.len(), 64);
}
