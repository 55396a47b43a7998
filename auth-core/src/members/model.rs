use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{GroupId, MemberId, UserId};
use crate::pagination::{SortField, SortValue, Sortable};
use crate::permissions::{Permission, PermissionSet};

/// Whether a membership counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MemberStatus {
    /// Counts for resolution and permissions.
    #[default]
    Active,
    /// Kept, but grants nothing until reactivated.
    Suspended,
}

impl MemberStatus {
    /// Stable text, for a store column.
    pub const fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Suspended => "suspended",
        }
    }

    /// Parses [`MemberStatus::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(MemberStatus::Active),
            "suspended" => Some(MemberStatus::Suspended),
            _ => None,
        }
    }
}

/// A user's membership of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// The membership's id.
    pub id: MemberId,
    /// The group.
    pub group_id: GroupId,
    /// The user.
    pub user_id: UserId,
    /// The role, one of the policy's.
    pub role: String,
    /// Whether it counts.
    pub status: MemberStatus,
    /// App-defined data (a JSON object).
    pub extend: Value,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Member {
    /// Whether this is an active membership with `role` itself (not through includes).
    pub fn is_active_with_role(&self, role: &str) -> bool {
        self.status == MemberStatus::Active && self.role == role
    }
}

/// Input of [`Members::add`](super::Members::add).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMember {
    /// The group.
    pub group_id: GroupId,
    /// The user.
    pub user_id: UserId,
    /// The role; the policy's default role when absent.
    #[serde(default)]
    pub role: Option<String>,
    /// The status; active when absent.
    #[serde(default)]
    pub status: Option<MemberStatus>,
    /// App-defined data.
    #[serde(default)]
    pub extend: Option<Value>,
}

/// The key, in a membership's `extend`, naming the SSO connection whose directory (SCIM)
/// suspended it: deactivation marks the memberships it suspends, reactivation restores
/// only those. Any other status change clears it (unless it sets `extend` itself), so a
/// membership an admin reactivated and later suspended again stays suspended.
pub const DIRECTORY_SUSPENSION: &str = "scim_suspended_by";

/// A change to a membership.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// New role.
    #[serde(default)]
    pub role: Option<String>,
    /// New status.
    #[serde(default)]
    pub status: Option<MemberStatus>,
    /// Replaces the app-defined data.
    #[serde(default)]
    pub extend: Option<Value>,
}

impl MemberPatch {
    /// Applies the patch to `member` at `now` (for stores that update in memory).
    pub fn apply(&self, member: &mut Member, now: OffsetDateTime) {
        if let Some(role) = &self.role {
            member.role.clone_from(role);
        }
        if let Some(status) = self.status {
            member.status = status;
        }
        if let Some(extend) = &self.extend {
            member.extend = extend.clone();
        }
        member.updated_at = now;
    }
}

/// Which memberships to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFilter {
    /// Of this group.
    pub group_id: Option<GroupId>,
    /// Of this user.
    pub user_id: Option<UserId>,
    /// With this role.
    pub role: Option<String>,
    /// With this status.
    pub status: Option<MemberStatus>,
}

impl MemberFilter {
    /// Whether `member` passes the filter (for stores that filter in memory).
    pub fn matches(&self, member: &Member) -> bool {
        self.group_id.is_none_or(|g| member.group_id == g)
            && self.user_id.is_none_or(|u| member.user_id == u)
            && self.role.as_ref().is_none_or(|r| &member.role == r)
            && self.status.is_none_or(|s| member.status == s)
    }
}

/// Order of membership listings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberOrder {
    /// By creation time.
    #[default]
    CreatedAt,
}

impl SortField for MemberOrder {
    fn name(self) -> &'static str {
        "created_at"
    }
    fn is_time(self) -> bool {
        true
    }
}

impl Sortable<MemberOrder> for Member {
    fn sort_key(&self, _: MemberOrder) -> SortValue {
        SortValue::Time(self.created_at)
    }
    fn sort_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

/// A role every group must keep an active holder of, passed to the store methods that
/// change or end memberships so they check it in the same transaction: a change that
/// leaves a group that has an active member with this role without one is refused. The
/// services pass the policy's owner role; the store knows no role by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepRole {
    /// The role.
    pub role: String,
}

impl KeepRole {
    /// Keep an active holder of `role`.
    pub fn new(role: impl Into<String>) -> Self {
        Self { role: role.into() }
    }
}

/// The result of changing or removing a membership.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MemberChange {
    /// Done; the membership as it is now (or was, when removed).
    Done(Member),
    /// No such membership.
    NotFound,
    /// Refused: the group's last active holder of the [`KeepRole`] role would be removed,
    /// given another role, or suspended.
    LastHolder,
}

/// One level of the ancestor chain with the user's membership there, if any:
/// what [`MemberStore::membership_chain`](super::MemberStore::membership_chain) returns.
#[derive(Debug, Clone, PartialEq)]
pub struct MembershipLink {
    /// The group at this level.
    pub group_id: GroupId,
    /// Its parent.
    pub parent_id: Option<GroupId>,
    /// Levels above the requested group (0 is the group itself).
    pub depth: u32,
    /// The user's membership of this group.
    pub member: Option<Member>,
    /// Whether this group requires a second factor ([`Group::require_mfa`](crate::Group)).
    pub require_mfa: bool,
}

/// How a user belongs to a group: directly, through the nearest ancestor, or not at all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    /// The group asked about.
    pub requested_group: GroupId,
    /// The nearest membership found (active, with one of the asked roles if any).
    pub member: Option<Member>,
    /// The group of that membership.
    pub matched_group: Option<GroupId>,
    /// How many levels above the requested group it is (0: direct).
    pub depth: Option<u32>,
    /// Whether it came from an ancestor.
    pub inherited: bool,
    /// The groups walked, from the requested one up to the match (or the end).
    pub path: Vec<GroupId>,
    /// The parents form a cycle (the walk stopped there).
    pub cycle_detected: bool,
    /// The walk stopped at the depth limit with more ancestors above.
    pub max_depth_reached: bool,
}

/// What a user may do on a group: every active role they hold there or on an ancestor, and
/// the union of those roles' permissions. Cheap to query; compute once per request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Permissions {
    /// The user.
    pub user_id: UserId,
    /// The group.
    pub group_id: GroupId,
    /// Active roles held on the group or its ancestors.
    pub roles: BTreeSet<String>,
    /// The union of their permissions.
    pub permissions: PermissionSet,
    /// Roles implied by `roles` through includes (themselves too).
    pub(crate) implied_roles: BTreeSet<String>,
}

impl Permissions {
    /// Whether the user may do `action` on `resource`.
    pub fn can(&self, resource: &str, action: &str) -> bool {
        self.permissions.can(resource, action)
    }

    /// Whether the user has `permission`.
    pub fn allows(&self, permission: &Permission) -> bool {
        self.permissions.allows(permission)
    }

    /// Whether the user has every one of `permissions`.
    pub fn can_all<'a>(&self, permissions: impl IntoIterator<Item = &'a Permission>) -> bool {
        self.permissions.can_all(permissions)
    }

    /// Whether the user has at least one of `permissions`.
    pub fn can_any<'a>(&self, permissions: impl IntoIterator<Item = &'a Permission>) -> bool {
        self.permissions.can_any(permissions)
    }

    /// Whether the user holds `role` (directly or through a role that includes it).
    pub fn has_role(&self, role: &str) -> bool {
        self.implied_roles.contains(role)
    }

    /// Whether the user belongs to the group at all.
    pub fn is_member(&self) -> bool {
        !self.roles.is_empty()
    }
}
