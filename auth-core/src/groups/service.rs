use std::collections::{BTreeMap, HashSet};

use super::{
    Ancestry, ChainLink, CreateGroupOutcome, DEFAULT_MAX_DEPTH, Group, GroupFilter, GroupOrder,
    GroupPatch, GroupStore, MAX_DEPTH_LIMIT, NewGroup, Subtree, UpdateGroupOutcome,
};
use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::context::RequestMeta;
use crate::error::{AuthError, Conflict, Entity, StoreError};
use crate::ids::{GroupId, MemberId, UserId};
use crate::members::{Member, MemberStatus};
use crate::pagination::{ListQuery, Page};
use crate::validate;

/// Longest group name.
const MAX_GROUP_NAME: usize = 128;
/// Longest slug.
const MAX_SLUG: usize = 64;
/// Longest group kind.
const MAX_KIND: usize = 32;
/// Most tags on one group.
const MAX_TAGS: usize = 32;
/// Longest tag key.
const MAX_TAG_KEY: usize = 64;
/// Longest tag value.
const MAX_TAG_VALUE: usize = 256;
/// Most groups a descendant walk returns.
const MAX_SUBTREE_ROWS: u32 = 10_000;

/// Groups: `auth.groups()`.
pub struct Groups<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: GroupStore + 'static> Auth<S> {
    /// Groups.
    pub fn groups(&self) -> Groups<'_, S> {
        Groups { auth: self }
    }
}

/// Checks a slug.
pub(crate) fn check_slug(slug: &str) -> Result<String, AuthError> {
    validate::identifier("slug", slug, MAX_SLUG, false)
}

fn check_kind(kind: &str) -> Result<String, AuthError> {
    validate::identifier("type", kind, MAX_KIND, false)
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), AuthError> {
    if tags.len() > MAX_TAGS {
        return Err(AuthError::invalid("tags", "at most 32 tags"));
    }
    for (key, value) in tags {
        validate::identifier("tags", key, MAX_TAG_KEY, true)?;
        if value.chars().count() > MAX_TAG_VALUE || value.chars().any(char::is_control) {
            return Err(AuthError::invalid(
                "tags",
                "values are at most 256 characters, without control characters",
            ));
        }
    }
    Ok(())
}

fn check_depth(max_depth: Option<u32>) -> Result<u32, AuthError> {
    match max_depth {
        None => Ok(DEFAULT_MAX_DEPTH),
        Some(d) if d <= MAX_DEPTH_LIMIT => Ok(d),
        Some(_) => Err(AuthError::invalid("max_depth", "must be at most 256")),
    }
}

fn slug_conflict(error: StoreError) -> AuthError {
    match error {
        StoreError::Conflict(Conflict::GroupSlug) => AuthError::SlugTaken,
        other => other.into(),
    }
}

fn no_parent() -> AuthError {
    AuthError::invalid("parent_id", "no such group")
}

impl<S: GroupStore + 'static> Groups<'_, S> {
    /// Creates a group. With `owner`, that user becomes its first member with the policy's
    /// owner role, in the same store call.
    #[tracing::instrument(name = "groups.create", skip_all)]
    pub async fn create(
        &self,
        input: NewGroup,
        owner: Option<UserId>,
        meta: &RequestMeta,
    ) -> Result<Group, AuthError> {
        let now = self.auth.now();
        let extend = input.extend.unwrap_or_else(|| serde_json::json!({}));
        validate::extend("extend", &extend)?;
        check_tags(&input.tags)?;
        let group = Group {
            id: GroupId::new(),
            name: validate::text("name", &input.name, MAX_GROUP_NAME)?,
            slug: input.slug.as_deref().map(check_slug).transpose()?,
            kind: check_kind(input.kind.as_deref().unwrap_or("group"))?,
            parent_id: input.parent_id,
            tags: input.tags,
            extend,
            created_at: now,
            updated_at: now,
        };
        let owner = owner.map(|user_id| Member {
            id: MemberId::new(),
            group_id: group.id,
            user_id,
            role: self.auth.policy().owner_role().to_owned(),
            status: MemberStatus::Active,
            extend: serde_json::json!({}),
            created_at: now,
            updated_at: now,
        });
        match self
            .auth
            .store()
            .create_group(&group, owner.as_ref())
            .await
            .map_err(slug_conflict)?
        {
            CreateGroupOutcome::Created => {}
            CreateGroupOutcome::ParentNotFound => return Err(no_parent()),
            CreateGroupOutcome::OwnerNotFound => return Err(AuthError::NotFound(Entity::User)),
        }
        let actor = meta.actor_or(
            owner
                .as_ref()
                .map_or(Actor::System, |m| Actor::User { id: m.user_id }),
        );
        self.auth
            .record_audit(
                AuditEvent::new("group.create", actor, now, meta).subject("group", group.id),
            )
            .await;
        Ok(group)
    }

    /// The group with this id, or `GROUP_NOT_FOUND`.
    pub async fn get(&self, id: GroupId) -> Result<Group, AuthError> {
        self.auth
            .store()
            .get_group(id)
            .await?
            .ok_or(AuthError::NotFound(Entity::Group))
    }

    /// The group with this slug, or `GROUP_NOT_FOUND`.
    pub async fn get_by_slug(&self, slug: &str) -> Result<Group, AuthError> {
        let slug = check_slug(slug)?;
        self.auth
            .store()
            .get_group_by_slug(&slug)
            .await?
            .ok_or(AuthError::NotFound(Entity::Group))
    }

    /// Lists groups.
    #[tracing::instrument(name = "groups.list", skip_all)]
    pub async fn list(
        &self,
        query: ListQuery<GroupFilter, GroupOrder>,
    ) -> Result<Page<Group>, AuthError> {
        let f = &query.filter;
        if let Some(slug) = &f.slug {
            check_slug(slug)?;
        }
        if let Some(kind) = &f.kind {
            check_kind(kind)?;
        }
        if let Some(name) = &f.name_contains {
            validate::text("name_contains", name, MAX_GROUP_NAME)?;
        }
        if f.tags_all.len() > MAX_TAGS || f.tags_any.len() > MAX_TAGS {
            return Err(AuthError::invalid("tags", "at most 32 tags in a filter"));
        }
        let request = query.validate()?;
        let rows = self.auth.store().list_groups(&request).await?;
        Ok(Page::from_fetched(rows, &request))
    }

    /// Changes a group; moving it under itself or a descendant is `GROUP_CYCLE`.
    #[tracing::instrument(name = "groups.update", skip_all, fields(group = %id))]
    pub async fn update(
        &self,
        id: GroupId,
        patch: GroupPatch,
        meta: &RequestMeta,
    ) -> Result<Group, AuthError> {
        if patch.parent_id == Some(Some(id)) {
            return Err(AuthError::GroupCycle);
        }
        if let Some(tags) = &patch.tags {
            check_tags(tags)?;
        }
        if let Some(extend) = &patch.extend {
            validate::extend("extend", extend)?;
        }
        let patch = GroupPatch {
            name: patch
                .name
                .map(|n| validate::text("name", &n, MAX_GROUP_NAME))
                .transpose()?,
            slug: patch
                .slug
                .map(|s| s.as_deref().map(check_slug).transpose())
                .transpose()?,
            kind: patch.kind.as_deref().map(check_kind).transpose()?,
            ..patch
        };
        let now = self.auth.now();
        let group = match self
            .auth
            .store()
            .update_group(id, &patch, now)
            .await
            .map_err(slug_conflict)?
        {
            UpdateGroupOutcome::Updated(group) => group,
            UpdateGroupOutcome::NotFound => return Err(AuthError::NotFound(Entity::Group)),
            UpdateGroupOutcome::ParentNotFound => return Err(no_parent()),
            UpdateGroupOutcome::WouldCycle => return Err(AuthError::GroupCycle),
        };
        self.auth
            .record_audit(
                AuditEvent::new("group.update", meta.actor_or(Actor::System), now, meta)
                    .subject("group", id),
            )
            .await;
        Ok(group)
    }

    /// Deletes a group with its descendants and their members and invites. Returns how
    /// many groups were deleted.
    #[tracing::instrument(name = "groups.delete", skip_all, fields(group = %id))]
    pub async fn delete(&self, id: GroupId, meta: &RequestMeta) -> Result<u64, AuthError> {
        let deleted = self
            .auth
            .store()
            .delete_group(id)
            .await?
            .ok_or(AuthError::NotFound(Entity::Group))?;
        // The tree's group-owned keys went with it.
        self.auth.inner().api_key_cache.evict_all();
        self.auth
            .record_audit(
                AuditEvent::new(
                    "group.delete",
                    meta.actor_or(Actor::System),
                    self.auth.now(),
                    meta,
                )
                .subject("group", id)
                .detail(serde_json::json!({ "groups_deleted": deleted })),
            )
            .await;
        Ok(deleted)
    }

    /// The group's ancestors, nearest first (with the group itself first when
    /// `include_self`), walking at most `max_depth` levels (default 32, at most 256).
    /// Reports a cycle or the depth limit instead of looping.
    pub async fn ancestors(
        &self,
        id: GroupId,
        include_self: bool,
        max_depth: Option<u32>,
    ) -> Result<Ancestry, AuthError> {
        let max_depth = check_depth(max_depth)?;
        // One level more than asked, to learn whether the chain goes on.
        let chain = self.auth.store().group_chain(id, max_depth + 1).await?;
        if chain.is_empty() {
            return Err(AuthError::NotFound(Entity::Group));
        }
        let walk = walk(chain, max_depth);
        let groups = walk
            .links
            .into_iter()
            .filter(|l| include_self || l.depth > 0)
            .map(|l| l.group)
            .collect();
        Ok(Ancestry {
            groups,
            cycle_detected: walk.cycle_detected,
            max_depth_reached: walk.max_depth_reached,
        })
    }

    /// The group's descendants, breadth first, at most `max_depth` levels down (default 32)
    /// and at most 10,000 groups. Reports a cycle or the depth limit instead of looping.
    pub async fn descendants(
        &self,
        id: GroupId,
        max_depth: Option<u32>,
    ) -> Result<Subtree, AuthError> {
        let max_depth = check_depth(max_depth)?;
        let rows = self
            .auth
            .store()
            .group_subtree(id, max_depth + 1, MAX_SUBTREE_ROWS)
            .await?;
        if rows.is_empty() {
            return Err(AuthError::NotFound(Entity::Group));
        }
        let walk = walk(rows, max_depth);
        Ok(Subtree {
            groups: walk
                .links
                .into_iter()
                .filter(|l| l.depth > 0)
                .map(|l| (l.group, l.depth))
                .collect(),
            cycle_detected: walk.cycle_detected,
            max_depth_reached: walk.max_depth_reached,
        })
    }
}

/// A hierarchy walk read from the store, cut at the first repeat and at `max_depth`.
pub(crate) struct Walk<T> {
    pub(crate) links: Vec<T>,
    pub(crate) cycle_detected: bool,
    pub(crate) max_depth_reached: bool,
}

/// A row of a hierarchy walk.
pub(crate) trait Link {
    fn group_id(&self) -> GroupId;
    fn depth(&self) -> u32;
}

impl Link for ChainLink {
    fn group_id(&self) -> GroupId {
        self.group.id
    }
    fn depth(&self) -> u32 {
        self.depth
    }
}

/// Cuts rows (ordered by depth, fetched one level deeper than `max_depth`) at the first
/// group seen twice and at `max_depth`, and says which happened.
pub(crate) fn walk<T: Link>(rows: Vec<T>, max_depth: u32) -> Walk<T> {
    let mut seen = HashSet::new();
    let mut links = Vec::with_capacity(rows.len());
    let mut cycle_detected = false;
    let mut max_depth_reached = false;
    for row in rows {
        if !seen.insert(row.group_id()) {
            cycle_detected = true;
            break;
        }
        if row.depth() > max_depth {
            max_depth_reached = true;
            continue;
        }
        links.push(row);
    }
    Walk {
        links,
        cycle_detected,
        max_depth_reached,
    }
}
