//! [`Access`]: what a [`Caller`](crate::Caller) may do on one group, the single place where the
//! organization services (and the route guards of web adapters) decide.

use std::sync::Arc;

use super::Permissions;
use crate::error::{AuthError, Entity};
use crate::ids::GroupId;
use crate::permissions::{Permission, PermissionSet};

/// What a caller holds on one group: computed with one store query, then asked many
/// questions.
///
/// - the app ([`Caller::System`](crate::Caller::System)) holds everything;
/// - a session holds its user's roles and permissions there (inherited from ancestors);
/// - a user's API key holds the same, limited to its scopes;
/// - a group's API key is a member of its group and of the groups below it, holds no role,
///   and may do what its scopes allow there.
#[derive(Debug, Clone)]
pub struct Access {
    group_id: GroupId,
    standing: Standing,
}

#[derive(Debug, Clone)]
enum Standing {
    System,
    User {
        permissions: Permissions,
        scopes: Option<Arc<PermissionSet>>,
    },
    GroupKey {
        within: bool,
        scopes: Arc<PermissionSet>,
    },
}

impl Access {
    pub(crate) fn system(group_id: GroupId) -> Self {
        Self {
            group_id,
            standing: Standing::System,
        }
    }

    pub(crate) fn user(permissions: Permissions, scopes: Option<Arc<PermissionSet>>) -> Self {
        Self {
            group_id: permissions.group_id,
            standing: Standing::User {
                permissions,
                scopes,
            },
        }
    }

    pub(crate) fn group_key(group_id: GroupId, within: bool, scopes: Arc<PermissionSet>) -> Self {
        Self {
            group_id,
            standing: Standing::GroupKey { within, scopes },
        }
    }

    /// The group.
    pub fn group_id(&self) -> GroupId {
        self.group_id
    }

    /// The user's roles and permissions, when the caller acts as a user.
    pub fn permissions(&self) -> Option<&Permissions> {
        match &self.standing {
            Standing::User { permissions, .. } => Some(permissions),
            _ => None,
        }
    }

    /// Whether the caller belongs to the group (an active membership there or above, a
    /// group key of the group or above, or the app).
    pub fn is_member(&self) -> bool {
        match &self.standing {
            Standing::System => true,
            Standing::User { permissions, .. } => permissions.is_member(),
            Standing::GroupKey { within, .. } => *within,
        }
    }

    /// Whether the caller's scopes (if it has any) allow `permission`.
    pub fn scope_allows(&self, permission: &Permission) -> bool {
        match &self.standing {
            Standing::System | Standing::User { scopes: None, .. } => true,
            Standing::User {
                scopes: Some(scopes),
                ..
            }
            | Standing::GroupKey { scopes, .. } => scopes.allows(permission),
        }
    }

    /// Whether the caller may do `permission` on the group.
    pub fn allows(&self, permission: &Permission) -> bool {
        self.is_member()
            && self.scope_allows(permission)
            && match &self.standing {
                Standing::User { permissions, .. } => permissions.allows(permission),
                Standing::System | Standing::GroupKey { .. } => true,
            }
    }

    /// Whether the caller holds `role` there (or a role that includes it). Keys of a group
    /// hold no role; the app holds every role.
    pub fn holds_role(&self, role: &str) -> bool {
        match &self.standing {
            Standing::System => true,
            Standing::User { permissions, .. } => permissions.has_role(role),
            Standing::GroupKey { .. } => false,
        }
    }

    /// Refuses unless the caller may do `permission`: a caller with no standing in the
    /// group learns nothing (`NotFound(hidden_as)`), a key without the scope gets
    /// `INSUFFICIENT_SCOPE`, a member without the permission `FORBIDDEN`.
    pub fn require(&self, permission: &Permission, hidden_as: Entity) -> Result<(), AuthError> {
        if !self.is_member() {
            return Err(AuthError::NotFound(hidden_as));
        }
        if !self.scope_allows(permission) {
            return Err(AuthError::InsufficientScope {
                required: permission.to_string(),
            });
        }
        if !self.allows(permission) {
            return Err(AuthError::Forbidden(
                format!("missing permission {permission}").into(),
            ));
        }
        Ok(())
    }

    /// Refuses (`FORBIDDEN`) unless the caller holds `role`: nobody grants, changes or
    /// removes a role above their own.
    pub fn require_role(&self, role: &str) -> Result<(), AuthError> {
        if self.holds_role(role) {
            Ok(())
        } else {
            Err(AuthError::Forbidden(
                format!("you do not hold the role {role}").into(),
            ))
        }
    }

    /// The first of `scopes` the caller could not do itself (so may not give a key), if
    /// any.
    pub fn first_not_held<'a>(&self, scopes: &'a [Permission]) -> Option<&'a Permission> {
        scopes.iter().find(|s| !self.allows(s))
    }
}
