use std::collections::{BTreeMap, HashSet};

use super::{
    Ancestry, ChainLink, DEFAULT_MAX_DEPTH, Group, GroupFilter, GroupOrder, GroupPatch,
    MAX_DEPTH_LIMIT, NewGroup, Subtree, UpdateGroupOutcome,
};
use crate::audit::AuditEvent;
use crate::auth::Auth;
use crate::caller::Caller;
use crate::context::RequestMeta;
use crate::error::{AuthError, Entity, StoreError};
use crate::ids::{GroupId, MemberId, UserId};
use crate::invalidation::Invalidation;
use crate::members::{Member, MemberStatus};
use crate::pagination::{ListQuery, Page};
use crate::permissions::Permission;
use crate::sessions::Aal;
use crate::store::OrganizationStore;
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

impl<S: OrganizationStore> Auth<S> {
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

fn no_parent() -> AuthError {
    AuthError::invalid("parent_id", "no such group")
}

impl<S: OrganizationStore> Groups<'_, S> {
    /// Creates a group; the caller's user becomes its owner (the app's own groups have
    /// none: see [`Self::create_owned_by`]). A subgroup needs `group:create` on its parent;
    /// a root group needs a user (an API key also needs the scope `group:create`).
    #[tracing::instrument(name = "groups.create", skip_all)]
    pub async fn create(
        &self,
        caller: &Caller,
        input: NewGroup,
        meta: &RequestMeta,
    ) -> Result<Group, AuthError> {
        self.create_with(caller, input, caller.user_id(), meta)
            .await
    }

    /// Creates a group owned by `owner`: the app creating an organization for a user
    /// (a caller other than the app may only name itself).
    #[tracing::instrument(name = "groups.create", skip_all)]
    pub async fn create_owned_by(
        &self,
        caller: &Caller,
        input: NewGroup,
        owner: UserId,
        meta: &RequestMeta,
    ) -> Result<Group, AuthError> {
        if !caller.is_system() && caller.user_id() != Some(owner) {
            let refused = Err(AuthError::Forbidden(
                "only the app creates a group for someone else".into(),
            ));
            return self
                .auth
                .audit_refusal("group.create", caller, meta, refused)
                .await;
        }
        self.create_with(caller, input, Some(owner), meta).await
    }

    async fn create_with(
        &self,
        caller: &Caller,
        input: NewGroup,
        owner: Option<UserId>,
        meta: &RequestMeta,
    ) -> Result<Group, AuthError> {
        self.auth
            .audit_refusal(
                "group.create",
                caller,
                meta,
                may_require_mfa(caller, input.require_mfa),
            )
            .await?;
        let create = Permission::new("group", "create");
        match input.parent_id {
            Some(parent) => {
                self.auth
                    .members()
                    .authorize(caller, parent, &create, Entity::Group, "group.create", meta)
                    .await?;
            }
            None => {
                let allowed = match caller.api_key() {
                    Some(_) if caller.user_id().is_none() => Err(AuthError::Forbidden(
                        "a group's key creates groups only inside its group".into(),
                    )),
                    Some(key) if !key.scopes.allows(&create) => Err(AuthError::InsufficientScope {
                        required: create.to_string(),
                    }),
                    _ => Ok(()),
                };
                self.auth
                    .audit_refusal("group.create", caller, meta, allowed)
                    .await?;
            }
        }
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
            require_mfa: input.require_mfa,
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
        match self.auth.store().create_group(&group, owner.as_ref()).await {
            Ok(()) => {}
            Err(StoreError::MissingReference(Entity::Group)) => return Err(no_parent()),
            Err(other) => return Err(other.into()),
        }
        let mut event =
            AuditEvent::by("group.create", caller, now, meta).subject("group", group.id);
        if let Some(owner) = &owner {
            event = event.detail(serde_json::json!({ "owner": owner.user_id }));
        }
        self.auth.record_audit(event).await;
        Ok(group)
    }

    /// The group with this id: `group:read` on it (members have it by default); a group
    /// the caller has no standing in is `GROUP_NOT_FOUND`.
    pub async fn get(&self, caller: &Caller, id: GroupId) -> Result<Group, AuthError> {
        self.check_read(caller, id).await?;
        self.auth
            .store()
            .get_group(id)
            .await?
            .ok_or(AuthError::NotFound(Entity::Group))
    }

    /// The group with this slug, like [`Self::get`].
    pub async fn get_by_slug(&self, caller: &Caller, slug: &str) -> Result<Group, AuthError> {
        let slug = check_slug(slug)?;
        let group = self
            .auth
            .store()
            .get_group_by_slug(&slug)
            .await?
            .ok_or(AuthError::NotFound(Entity::Group))?;
        self.check_read(caller, group.id).await?;
        Ok(group)
    }

    async fn check_read(&self, caller: &Caller, id: GroupId) -> Result<(), AuthError> {
        if caller.is_system() {
            return Ok(());
        }
        let access = self.auth.members().access(caller, id).await?;
        access.require(&Permission::new("group", "read"), Entity::Group)
    }

    /// Lists every group (an administrative view: the app only; users list their own
    /// groups with [`Members::groups_of`](crate::members::Members::groups_of)).
    #[tracing::instrument(name = "groups.list", skip_all)]
    pub async fn list(
        &self,
        caller: &Caller,
        query: ListQuery<GroupFilter, GroupOrder>,
    ) -> Result<Page<Group>, AuthError> {
        if !caller.is_system() {
            return Err(AuthError::Forbidden(
                "listing every group is for the app; list your own groups".into(),
            ));
        }
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

    /// Changes a group (`group:update`). A move takes the group out of its tree, so it
    /// also needs `group:delete` on the group (an owner's right: an admin must not carry a
    /// group off to an organization they own) and `group:create` on the new parent. Moving
    /// it under itself or a descendant is `GROUP_CYCLE`.
    #[tracing::instrument(name = "groups.update", skip_all, fields(group = %id))]
    pub async fn update(
        &self,
        caller: &Caller,
        id: GroupId,
        patch: GroupPatch,
        meta: &RequestMeta,
    ) -> Result<Group, AuthError> {
        let members = self.auth.members();
        let access = members
            .authorize(
                caller,
                id,
                &Permission::new("group", "update"),
                Entity::Group,
                "group.update",
                meta,
            )
            .await?;
        if let Some(new_parent) = patch.parent_id {
            let moving = access.require(&Permission::new("group", "delete"), Entity::Group);
            self.auth
                .audit_refusal("group.update", caller, meta, moving)
                .await?;
            if let Some(parent) = new_parent {
                members
                    .authorize(
                        caller,
                        parent,
                        &Permission::new("group", "create"),
                        Entity::Group,
                        "group.update",
                        meta,
                    )
                    .await?;
            }
        }
        self.auth
            .audit_refusal(
                "group.update",
                caller,
                meta,
                may_require_mfa(caller, patch.require_mfa == Some(true)),
            )
            .await?;
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
        let group = match self.auth.store().update_group(id, &patch, now).await {
            Ok(UpdateGroupOutcome::Updated(group)) => group,
            Ok(UpdateGroupOutcome::NotFound) => return Err(AuthError::NotFound(Entity::Group)),
            Ok(UpdateGroupOutcome::WouldCycle) => return Err(AuthError::GroupCycle),
            Err(StoreError::MissingReference(Entity::Group)) => return Err(no_parent()),
            Err(other) => return Err(other.into()),
        };
        self.auth
            .record_audit(AuditEvent::by("group.update", caller, now, meta).subject("group", id))
            .await;
        Ok(group)
    }

    /// Deletes a group with its descendants and their members and invites
    /// (`group:delete`). Returns how many groups were deleted.
    #[tracing::instrument(name = "groups.delete", skip_all, fields(group = %id))]
    pub async fn delete(
        &self,
        caller: &Caller,
        id: GroupId,
        meta: &RequestMeta,
    ) -> Result<u64, AuthError> {
        self.auth
            .members()
            .authorize(
                caller,
                id,
                &Permission::new("group", "delete"),
                Entity::Group,
                "group.delete",
                meta,
            )
            .await?;
        let deleted = self
            .auth
            .store()
            .delete_group(id)
            .await?
            .ok_or(AuthError::NotFound(Entity::Group))?;
        // The tree's group-owned keys went with it.
        self.auth.invalidate(&[Invalidation::AllApiKeys]).await;
        self.auth
            .record_audit(
                AuditEvent::by("group.delete", caller, self.auth.now(), meta)
                    .subject("group", id)
                    .detail(serde_json::json!({ "groups_deleted": deleted })),
            )
            .await;
        Ok(deleted)
    }

    /// Whether `group` is `ancestor` or lies below it (walking at most the default depth;
    /// a cycle ends the walk). A structural question, asked by the authorization of group
    /// keys; `GROUP_NOT_FOUND` if `group` does not exist.
    pub async fn is_within(&self, group: GroupId, ancestor: GroupId) -> Result<bool, AuthError> {
        let chain = self
            .auth
            .store()
            .group_chain(group, DEFAULT_MAX_DEPTH + 1)
            .await?;
        if chain.is_empty() {
            return Err(AuthError::NotFound(Entity::Group));
        }
        let walk = walk(chain, DEFAULT_MAX_DEPTH);
        Ok(walk.links.iter().any(|l| l.group.id == ancestor))
    }

    /// The group's ancestors, nearest first (with the group itself first when
    /// `include_self`), walking at most `max_depth` levels (default 32, at most 256).
    /// Reports a cycle or the depth limit instead of looping.
    pub async fn ancestors(
        &self,
        caller: &Caller,
        id: GroupId,
        include_self: bool,
        max_depth: Option<u32>,
    ) -> Result<Ancestry, AuthError> {
        self.check_read(caller, id).await?;
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
        caller: &Caller,
        id: GroupId,
        max_depth: Option<u32>,
    ) -> Result<Subtree, AuthError> {
        self.check_read(caller, id).await?;
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
/// Turning on [`Group::require_mfa`] is for the app or a session that passed a second
/// factor itself (`MFA_REQUIRED` for an `aal1` session, which it would lock out of the
/// group; `FORBIDDEN` for an API key, which shows no factor).
fn may_require_mfa(caller: &Caller, turning_on: bool) -> Result<(), AuthError> {
    if !turning_on {
        return Ok(());
    }
    match caller {
        Caller::System => Ok(()),
        Caller::Session(auth) if auth.session.aal >= Aal::Aal2 => Ok(()),
        Caller::Session(_) => Err(AuthError::MfaRequired),
        Caller::ApiKey(_) => Err(AuthError::Forbidden(
            "a second-factor requirement is turned on from a session that passed one".into(),
        )),
    }
}
