use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::GroupId;
use crate::pagination::{SortField, SortValue, Sortable};

/// How many levels ancestor and descendant walks go by default.
pub const DEFAULT_MAX_DEPTH: u32 = 32;
/// The largest `max_depth` a caller may ask for.
pub const MAX_DEPTH_LIMIT: u32 = 256;

/// A group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    /// The group's id.
    pub id: GroupId,
    /// Display name.
    pub name: String,
    /// Unique, URL-friendly name (`[a-z0-9_-]`).
    pub slug: Option<String>,
    /// The kind of group (`org`, `team`, ...); `group` when not given.
    #[serde(rename = "type")]
    pub kind: String,
    /// The parent group; `None` for a root.
    pub parent_id: Option<GroupId>,
    /// Key/value tags (filterable).
    pub tags: BTreeMap<String, String>,
    /// App-defined data (a JSON object).
    pub extend: Value,
    /// Whether its members (and those of the groups below it) act in it only from a
    /// session that passed a second factor ([`crate::mfa`]).
    #[serde(default)]
    pub require_mfa: bool,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Input of [`Groups::create`](super::Groups::create).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    /// Display name.
    pub name: String,
    /// Unique slug.
    #[serde(default)]
    pub slug: Option<String>,
    /// Kind (`org`, `team`, ...).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Parent group.
    #[serde(default)]
    pub parent_id: Option<GroupId>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// App-defined data (a JSON object).
    #[serde(default)]
    pub extend: Option<Value>,
    /// Require a second factor of members acting in it (and below it).
    #[serde(default)]
    pub require_mfa: bool,
}

/// A change to a group. `None` leaves a field alone; `Some(None)` clears an optional one.
/// Setting `parent_id` moves the group (refused if it would make a cycle).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New slug, or clear it.
    #[serde(default, with = "crate::serde_util::double_option")]
    pub slug: Option<Option<String>>,
    /// New kind.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// New parent, or make it a root.
    #[serde(default, with = "crate::serde_util::double_option")]
    pub parent_id: Option<Option<GroupId>>,
    /// Replaces the tags.
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
    /// Replaces the app-defined data.
    #[serde(default)]
    pub extend: Option<Value>,
    /// Turns the second-factor requirement on or off.
    #[serde(default)]
    pub require_mfa: Option<bool>,
}

impl GroupPatch {
    /// Applies the patch to `group` at `now` (for stores that update in memory).
    pub fn apply(&self, group: &mut Group, now: OffsetDateTime) {
        if let Some(name) = &self.name {
            group.name.clone_from(name);
        }
        if let Some(slug) = &self.slug {
            group.slug.clone_from(slug);
        }
        if let Some(kind) = &self.kind {
            group.kind.clone_from(kind);
        }
        if let Some(parent) = self.parent_id {
            group.parent_id = parent;
        }
        if let Some(tags) = &self.tags {
            group.tags.clone_from(tags);
        }
        if let Some(extend) = &self.extend {
            group.extend = extend.clone();
        }
        if let Some(require_mfa) = self.require_mfa {
            group.require_mfa = require_mfa;
        }
        group.updated_at = now;
    }
}

/// One key/value tag in a filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tag {
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// Which groups to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupFilter {
    /// This slug.
    pub slug: Option<String>,
    /// This kind.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Children of this group.
    pub parent_id: Option<GroupId>,
    /// Only groups without a parent.
    #[serde(default)]
    pub root_only: bool,
    /// Name contains this text (ASCII case-insensitive).
    pub name_contains: Option<String>,
    /// Groups carrying every one of these tags.
    #[serde(default)]
    pub tags_all: Vec<Tag>,
    /// Groups carrying at least one of these tags (ignored when empty).
    #[serde(default)]
    pub tags_any: Vec<Tag>,
}

impl GroupFilter {
    /// Whether `group` passes the filter (for stores that filter in memory).
    pub fn matches(&self, group: &Group) -> bool {
        let has = |t: &Tag| group.tags.get(&t.key) == Some(&t.value);
        self.slug
            .as_ref()
            .is_none_or(|s| group.slug.as_ref() == Some(s))
            && self.kind.as_ref().is_none_or(|k| &group.kind == k)
            && self.parent_id.is_none_or(|p| group.parent_id == Some(p))
            && (!self.root_only || group.parent_id.is_none())
            && self.name_contains.as_ref().is_none_or(|n| {
                group
                    .name
                    .to_ascii_lowercase()
                    .contains(&n.to_ascii_lowercase())
            })
            && self.tags_all.iter().all(has)
            && (self.tags_any.is_empty() || self.tags_any.iter().any(has))
    }
}

/// Order of group listings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GroupOrder {
    /// By creation time.
    #[default]
    CreatedAt,
    /// By name.
    Name,
    /// By slug (groups without one first).
    Slug,
    /// By kind.
    #[serde(rename = "type")]
    Kind,
}

impl SortField for GroupOrder {
    fn name(self) -> &'static str {
        match self {
            GroupOrder::CreatedAt => "created_at",
            GroupOrder::Name => "name",
            GroupOrder::Slug => "slug",
            GroupOrder::Kind => "type",
        }
    }
    fn is_time(self) -> bool {
        self == GroupOrder::CreatedAt
    }
}

impl Sortable<GroupOrder> for Group {
    fn sort_key(&self, field: GroupOrder) -> SortValue {
        match field {
            GroupOrder::CreatedAt => SortValue::Time(self.created_at),
            GroupOrder::Name => SortValue::Text(self.name.clone()),
            GroupOrder::Slug => SortValue::Text(self.slug.clone().unwrap_or_default()),
            GroupOrder::Kind => SortValue::Text(self.kind.clone()),
        }
    }
    fn sort_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

/// The result of [`GroupStore::update_group`](super::GroupStore::update_group).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum UpdateGroupOutcome {
    /// Updated.
    Updated(Group),
    /// No such group.
    NotFound,
    /// The new parent is the group itself or one of its descendants.
    WouldCycle,
}

/// One row of a hierarchy walk: a group and how many levels from the start it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainLink {
    /// The group.
    pub group: Group,
    /// Levels from the starting group (which is at depth 0).
    pub depth: u32,
}

/// A group's ancestors, nearest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ancestry {
    /// The ancestors from the parent up (the group itself first when asked for).
    pub groups: Vec<Group>,
    /// The walk met a group twice: the parents form a cycle (stopped there).
    pub cycle_detected: bool,
    /// The walk stopped at the depth limit with more ancestors above.
    pub max_depth_reached: bool,
}

/// A group's descendants, breadth first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subtree {
    /// The descendants with their depth below the group (children at 1).
    pub groups: Vec<(Group, u32)>,
    /// A group was reached twice (a cycle in the parents).
    pub cycle_detected: bool,
    /// The walk stopped at the depth limit with more descendants below.
    pub max_depth_reached: bool,
}
