use std::collections::{BTreeSet, HashMap};

use std::sync::Arc;

use super::{
    Access, DIRECTORY_SUSPENSION, KeepRole, Member, MemberChange, MemberFilter, MemberOrder,
    MemberPatch, MemberStatus, MembershipLink, NewMember, Permissions, Resolution,
};
use crate::api_keys::KeyOwner;
use crate::audit::AuditEvent;
use crate::auth::Auth;
use crate::caller::Caller;
use crate::context::RequestMeta;
use crate::error::{AuthError, Entity};
use crate::groups::service::{Link, walk};
use crate::groups::{DEFAULT_MAX_DEPTH, Group};
use crate::ids::{GroupId, MemberId, UserId};
use crate::pagination::{ListQuery, Page, PageRequest};
use crate::permissions::{Permission, PermissionSet};
use crate::sessions::Aal;
use crate::store::OrganizationStore;
use crate::validate;

/// Memberships, inheritance and permission checks: `auth.members()`.
pub struct Members<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: OrganizationStore> Auth<S> {
    /// Memberships, inheritance and permission checks.
    pub fn members(&self) -> Members<'_, S> {
        Members { auth: self }
    }
}

impl Link for MembershipLink {
    fn group_id(&self) -> GroupId {
        self.group_id
    }
    fn depth(&self) -> u32 {
        self.depth
    }
}

/// A membership with its group, as listed for a user.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Membership {
    /// The membership.
    pub member: Member,
    /// Its group.
    pub group: Group,
}

/// Most memberships [`Members::list_effective`] returns.
pub const MAX_EFFECTIVE_MEMBERS: usize = 1000;

/// A membership that counts on a group: one of the group's own, or one inherited from an
/// ancestor, with where it comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EffectiveMember {
    /// The membership (on `source_group_id`).
    pub member: Member,
    /// Whether it comes from an ancestor (`false`: a membership of the group itself).
    pub inherited: bool,
    /// The group the membership is on: the group itself, or the ancestor.
    pub source_group_id: GroupId,
    /// That group's name.
    pub source_group_name: String,
    /// Levels above the group (0: the group itself).
    pub depth: u32,
}

/// The memberships that count on a group, its own first, then each ancestor's, nearest
/// first; within a group, oldest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EffectiveMembers {
    /// The memberships (at most [`MAX_EFFECTIVE_MEMBERS`]).
    pub items: Vec<EffectiveMember>,
    /// More memberships exist than were returned.
    pub truncated: bool,
    /// The ancestors form a cycle (the walk stopped there).
    pub cycle_detected: bool,
    /// The walk stopped at the depth limit with more ancestors above.
    pub max_depth_reached: bool,
}

impl<S: OrganizationStore> Members<'_, S> {
    /// The memberships that count on `group_id`: its own and those inherited from its
    /// ancestors (up to the default depth), each marked with the group it is on. Needs
    /// `member:read` on the group (non-members get `GROUP_NOT_FOUND`): whoever may see a
    /// group's members sees everyone who acts as one. One store query per level and page.
    /// To change or remove an inherited membership, act on its `source_group_id`, where
    /// that group's permissions apply.
    #[tracing::instrument(name = "members.list_effective", skip_all, fields(group = %group_id))]
    pub async fn list_effective(
        &self,
        caller: &Caller,
        group_id: GroupId,
    ) -> Result<EffectiveMembers, AuthError> {
        let access = self.access(caller, group_id).await?;
        access.require(&Permission::new("member", "read"), Entity::Group)?;
        let store = self.auth.store();
        // One level more than walked, to learn whether the chain goes on.
        let chain = store.group_chain(group_id, DEFAULT_MAX_DEPTH + 1).await?;
        if chain.is_empty() {
            return Err(AuthError::NotFound(Entity::Group));
        }
        let walk = walk(chain, DEFAULT_MAX_DEPTH);
        let mut items = Vec::new();
        let mut truncated = false;
        'levels: for link in walk.links {
            let mut cursor = None;
            loop {
                let mut query = ListQuery::new(
                    MemberFilter {
                        group_id: Some(link.group.id),
                        ..MemberFilter::default()
                    },
                    MemberOrder::CreatedAt,
                );
                query.limit = Some(crate::pagination::MAX_LIMIT);
                query.cursor = cursor;
                let request = query.validate()?;
                let rows = store.list_members(&request).await?;
                let page = Page::from_fetched(rows, &request);
                for member in page.items {
                    if items.len() == MAX_EFFECTIVE_MEMBERS {
                        truncated = true;
                        break 'levels;
                    }
                    items.push(EffectiveMember {
                        member,
                        inherited: link.depth > 0,
                        source_group_id: link.group.id,
                        source_group_name: link.group.name.clone(),
                        depth: link.depth,
                    });
                }
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        Ok(EffectiveMembers {
            items,
            truncated,
            cycle_detected: walk.cycle_detected,
            max_depth_reached: walk.max_depth_reached,
        })
    }

    /// What `caller` holds on `group_id` (one store query; none for the app). A missing
    /// group is `GROUP_NOT_FOUND`. Inside a group that requires a second factor (itself or
    /// a group above it, [`Group::require_mfa`](crate::Group)), a session must have passed
    /// one (`MFA_REQUIRED` for a user who holds a factor, `MFA_ENROLLMENT_REQUIRED` for one
    /// who does not), and a user's key acts only for a user who holds one; group keys are
    /// the group's own. Leaving a group needs no access, so a member can still leave.
    pub async fn access(&self, caller: &Caller, group_id: GroupId) -> Result<Access, AuthError> {
        Ok(match caller {
            Caller::System => Access::system(group_id),
            Caller::Session(auth) => {
                let (permissions, require_mfa) =
                    self.chain_permissions(auth.user.id, group_id).await?;
                if require_mfa && auth.session.aal < Aal::Aal2 {
                    return Err(self.missing_factor(auth.user.id).await?);
                }
                Access::user(permissions, None)
            }
            Caller::ApiKey(key) => match key.key.owner {
                KeyOwner::User(user) => {
                    let (permissions, require_mfa) = self.chain_permissions(user, group_id).await?;
                    if require_mfa && !self.auth.store().second_factors(user).await?.any() {
                        return Err(AuthError::MfaEnrollmentRequired);
                    }
                    Access::user(permissions, Some(Arc::clone(&key.scopes)))
                }
                KeyOwner::Group(owner) => Access::group_key(
                    group_id,
                    self.auth.groups().is_within(group_id, owner).await?,
                    Arc::clone(&key.scopes),
                ),
            },
        })
    }

    /// [`Self::access`], then [`Access::require`]`(permission, hidden_as)`; a refusal is
    /// audited as a failed `action`.
    pub(crate) async fn authorize(
        &self,
        caller: &Caller,
        group_id: GroupId,
        permission: &Permission,
        hidden_as: Entity,
        action: &str,
        meta: &RequestMeta,
    ) -> Result<Access, AuthError> {
        let result = match self.access(caller, group_id).await {
            Ok(access) => access.require(permission, hidden_as).map(|()| access),
            Err(error) => Err(error),
        };
        self.auth.audit_refusal(action, caller, meta, result).await
    }

    /// Adds a user to a group: the caller needs `member:add` there and must hold the role
    /// they grant (default: the policy's default role). Another user joins only with their
    /// consent, by accepting an invite: adding them directly is `INVITE_REQUIRED` (audited)
    /// unless the app allows it (`AuthConfig::direct_member_add`); users adding themselves
    /// and the app (`Caller::System`) are not limited. `DUPLICATE_MEMBERSHIP` if the user is
    /// a member already.
    #[tracing::instrument(name = "members.add", skip_all)]
    pub async fn add(
        &self,
        caller: &Caller,
        input: NewMember,
        meta: &RequestMeta,
    ) -> Result<Member, AuthError> {
        let access = self
            .authorize(
                caller,
                input.group_id,
                &Permission::new("member", "add"),
                Entity::Group,
                "member.add",
                meta,
            )
            .await?;
        let policy = self.auth.policy();
        let role = input
            .role
            .unwrap_or_else(|| policy.default_role().to_owned());
        policy.check_role(&role)?;
        self.auth
            .audit_refusal("member.add", caller, meta, access.require_role(&role))
            .await?;
        self.require_consent(caller, input.group_id, input.user_id, &role, meta)
            .await?;
        let extend = input.extend.unwrap_or_else(|| serde_json::json!({}));
        validate::extend("extend", &extend)?;
        let now = self.auth.now();
        let member = Member {
            id: MemberId::new(),
            group_id: input.group_id,
            user_id: input.user_id,
            role,
            status: input.status.unwrap_or_default(),
            extend,
            created_at: now,
            updated_at: now,
        };
        self.auth.store().add_member(&member).await?;
        self.audit("member.add", &member, caller, meta).await;
        Ok(member)
    }

    /// The membership with this id: the caller's own, or one of a group where the caller
    /// has `member:read`; anything else is `MEMBER_NOT_FOUND`.
    pub async fn get(&self, caller: &Caller, id: MemberId) -> Result<Member, AuthError> {
        let member = self
            .auth
            .store()
            .get_member(id)
            .await?
            .ok_or(AuthError::NotFound(Entity::Member))?;
        if !caller.is_self_or_system(member.user_id) {
            let access = self.access(caller, member.group_id).await?;
            access.require(&Permission::new("member", "read"), Entity::Member)?;
        }
        Ok(member)
    }

    /// The user's direct membership of the group, if any (the caller's own, or with
    /// `member:read` on the group).
    pub async fn find(
        &self,
        caller: &Caller,
        group_id: GroupId,
        user_id: UserId,
    ) -> Result<Option<Member>, AuthError> {
        if !caller.is_self_or_system(user_id) {
            let access = self.access(caller, group_id).await?;
            access.require(&Permission::new("member", "read"), Entity::Group)?;
        }
        Ok(self
            .auth
            .store()
            .get_member_by_user(group_id, user_id)
            .await?)
    }

    /// Lists memberships: of one group (`filter.group_id`, with `member:read` there), or
    /// the caller's own (`filter.user_id`); the app lists anything.
    pub async fn list(
        &self,
        caller: &Caller,
        query: ListQuery<MemberFilter, MemberOrder>,
    ) -> Result<Page<Member>, AuthError> {
        match (query.filter.group_id, query.filter.user_id) {
            _ if caller.is_system() => {}
            (Some(group), _) => {
                let access = self.access(caller, group).await?;
                access.require(&Permission::new("member", "read"), Entity::Group)?;
            }
            (None, Some(user)) if caller.is_self_or_system(user) => {}
            (None, _) => {
                return Err(AuthError::Forbidden(
                    "list the members of a group, or your own memberships".into(),
                ));
            }
        }
        if let Some(role) = &query.filter.role {
            validate::identifier("role", role, 64, true)?;
        }
        let request = query.validate()?;
        let rows = self.auth.store().list_members(&request).await?;
        Ok(Page::from_fetched(rows, &request))
    }

    /// The groups `user_id` is a direct member of, with the memberships (the user's own
    /// session, or the app).
    pub async fn groups_of(
        &self,
        caller: &Caller,
        user_id: UserId,
        query: ListQuery<(), MemberOrder>,
    ) -> Result<Page<Membership>, AuthError> {
        if !caller.is_self_or_system(user_id) {
            return Err(AuthError::Forbidden(
                "only the user themselves lists their groups".into(),
            ));
        }
        let PageRequest {
            order,
            direction,
            limit,
            after,
            ..
        } = query.validate()?;
        let request = PageRequest {
            filter: MemberFilter {
                user_id: Some(user_id),
                ..MemberFilter::default()
            },
            order,
            direction,
            limit,
            after,
        };
        let members = Page::from_fetched(self.auth.store().list_members(&request).await?, &request);
        let ids: Vec<GroupId> = members.items.iter().map(|m| m.group_id).collect();
        let mut groups: HashMap<GroupId, Group> = self
            .auth
            .store()
            .get_groups(&ids)
            .await?
            .into_iter()
            .map(|g| (g.id, g))
            .collect();
        Ok(Page {
            items: members
                .items
                .into_iter()
                .filter_map(|member| {
                    groups
                        .remove(&member.group_id)
                        .map(|group| Membership { member, group })
                })
                .collect(),
            next_cursor: members.next_cursor,
        })
    }

    /// Changes a membership of `group_id`: the caller needs `member:update` and must hold
    /// both the member's role and any new role. Demoting or suspending the group's last
    /// active owner is `LAST_OWNER`.
    #[tracing::instrument(name = "members.update", skip_all, fields(member = %id))]
    pub async fn update(
        &self,
        caller: &Caller,
        group_id: GroupId,
        id: MemberId,
        patch: MemberPatch,
        meta: &RequestMeta,
    ) -> Result<Member, AuthError> {
        let access = self
            .authorize(
                caller,
                group_id,
                &Permission::new("member", "update"),
                Entity::Group,
                "member.update",
                meta,
            )
            .await?;
        let current = self.member_of(group_id, id).await?;
        let outranked = access
            .require_role(&current.role)
            .and_then(|()| match &patch.role {
                Some(role) => {
                    self.auth.policy().check_role(role)?;
                    access.require_role(role)
                }
                None => Ok(()),
            });
        self.auth
            .audit_refusal("member.update", caller, meta, outranked)
            .await?;
        if let Some(extend) = &patch.extend {
            validate::extend("extend", extend)?;
        }
        let patch = clear_directory_suspension(patch, &current);
        let change = self
            .auth
            .store()
            .update_member(id, &patch, self.auth.now(), &self.keep_owner())
            .await?;
        let member = changed(change)?;
        self.audit("member.update", &member, caller, meta).await;
        Ok(member)
    }

    /// Removes a membership of `group_id`: one's own (leaving), or with `member:remove` and
    /// the member's role. Removing the group's last active owner is `LAST_OWNER`.
    #[tracing::instrument(name = "members.remove", skip_all, fields(member = %id))]
    pub async fn remove(
        &self,
        caller: &Caller,
        group_id: GroupId,
        id: MemberId,
        meta: &RequestMeta,
    ) -> Result<Member, AuthError> {
        let found = self.member_of(group_id, id).await;
        let leaving =
            matches!(&found, Ok(m) if caller.session().is_some_and(|s| s.user.id == m.user_id));
        if !leaving {
            let access = self
                .authorize(
                    caller,
                    group_id,
                    &Permission::new("member", "remove"),
                    Entity::Group,
                    "member.remove",
                    meta,
                )
                .await?;
            let role = &found
                .as_ref()
                .map_err(|_| AuthError::NotFound(Entity::Member))?
                .role;
            self.auth
                .audit_refusal("member.remove", caller, meta, access.require_role(role))
                .await?;
        }
        let change = self
            .auth
            .store()
            .remove_member(found?.id, &self.keep_owner())
            .await?;
        let member = changed(change)?;
        self.audit("member.remove", &member, caller, meta).await;
        Ok(member)
    }

    /// Refuses (`INVITE_REQUIRED`, audited) to add another user without their consent,
    /// unless the caller is the app or the app allows direct adds.
    async fn require_consent(
        &self,
        caller: &Caller,
        group_id: GroupId,
        user_id: UserId,
        role: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        if self.auth.config().direct_member_add
            || caller.is_system()
            || caller.user_id() == Some(user_id)
        {
            return Ok(());
        }
        let error = AuthError::InviteRequired;
        let event = AuditEvent::by("member.add", caller, self.auth.now(), meta)
            .subject("user", user_id)
            .detail(serde_json::json!({ "group_id": group_id, "role": role }))
            .failed(&error);
        self.auth.record_audit(event).await;
        Err(error)
    }

    /// The membership `id` if it is one of `group_id`'s, else `MEMBER_NOT_FOUND`.
    async fn member_of(&self, group_id: GroupId, id: MemberId) -> Result<Member, AuthError> {
        self.auth
            .store()
            .get_member(id)
            .await?
            .filter(|m| m.group_id == group_id)
            .ok_or(AuthError::NotFound(Entity::Member))
    }

    /// The guard every membership change keeps: a group never loses its last owner.
    fn keep_owner(&self) -> KeepRole {
        KeepRole::new(self.auth.policy().owner_role())
    }

    /// How `user_id` belongs to `group_id`: the nearest active membership on the group or an
    /// ancestor (with one of `roles`, when given), found in ONE store query walking at most
    /// `max_depth` levels (default 32). Reports cycles and the depth limit.
    pub async fn resolve(
        &self,
        user_id: UserId,
        group_id: GroupId,
        roles: Option<&[&str]>,
        max_depth: Option<u32>,
    ) -> Result<Resolution, AuthError> {
        let (links, cycle_detected, max_depth_reached) =
            self.chain(user_id, group_id, max_depth).await?;
        let policy = self.auth.policy();
        let mut path = Vec::new();
        for link in links {
            path.push(link.group_id);
            let matched = link.member.filter(|m| {
                m.status == MemberStatus::Active
                    && roles.is_none_or(|wanted| wanted.iter().any(|r| policy.implies(&m.role, r)))
            });
            if let Some(member) = matched {
                return Ok(Resolution {
                    requested_group: group_id,
                    matched_group: Some(link.group_id),
                    depth: Some(link.depth),
                    inherited: link.depth > 0,
                    member: Some(member),
                    path,
                    cycle_detected,
                    max_depth_reached,
                });
            }
        }
        Ok(Resolution {
            requested_group: group_id,
            member: None,
            matched_group: None,
            depth: None,
            inherited: false,
            path,
            cycle_detected,
            max_depth_reached,
        })
    }

    /// Like [`Self::resolve`], but no membership is `FORBIDDEN`.
    pub async fn require(
        &self,
        user_id: UserId,
        group_id: GroupId,
        roles: Option<&[&str]>,
    ) -> Result<Resolution, AuthError> {
        let resolution = self.resolve(user_id, group_id, roles, None).await?;
        if resolution.member.is_none() {
            return Err(AuthError::Forbidden("not a member of this group".into()));
        }
        Ok(resolution)
    }

    /// Everything `user_id` may do on `group_id`: the union of the permissions of every
    /// active role they hold there or on an ancestor (one store query). Compute once per
    /// request and ask it many questions.
    pub async fn permissions(
        &self,
        user_id: UserId,
        group_id: GroupId,
    ) -> Result<Permissions, AuthError> {
        Ok(self.chain_permissions(user_id, group_id).await?.0)
    }

    /// Why a session that did not pass a second factor is refused inside a group that
    /// requires one: `MFA_REQUIRED` if the user holds a factor (sign in with it),
    /// `MFA_ENROLLMENT_REQUIRED` if not (enrol one first).
    async fn missing_factor(&self, user_id: UserId) -> Result<AuthError, AuthError> {
        Ok(if self.auth.store().second_factors(user_id).await?.any() {
            AuthError::MfaRequired
        } else {
            AuthError::MfaEnrollmentRequired
        })
    }

    /// [`Self::permissions`], and whether the group or one above it requires a second
    /// factor: one walk up the chain.
    async fn chain_permissions(
        &self,
        user_id: UserId,
        group_id: GroupId,
    ) -> Result<(Permissions, bool), AuthError> {
        let (links, _, _) = self.chain(user_id, group_id, None).await?;
        let require_mfa = links.iter().any(|l| l.require_mfa);
        let policy = self.auth.policy();
        let roles: BTreeSet<String> = links
            .into_iter()
            .filter_map(|l| l.member)
            .filter(|m| m.status == MemberStatus::Active)
            .map(|m| m.role)
            .collect();
        let mut permissions = PermissionSet::default();
        let mut implied_roles = BTreeSet::new();
        for role in &roles {
            if let Some(set) = policy.permissions_of(role) {
                permissions.extend(set);
            }
            implied_roles.extend(
                policy
                    .roles()
                    .filter(|r| policy.implies(role, r))
                    .map(str::to_owned),
            );
        }
        let permissions = Permissions {
            user_id,
            group_id,
            roles,
            permissions,
            implied_roles,
        };
        Ok((permissions, require_mfa))
    }

    /// Whether the user has `permission` (`resource:action`) on the group.
    pub async fn can(
        &self,
        user_id: UserId,
        group_id: GroupId,
        permission: &str,
    ) -> Result<bool, AuthError> {
        let permission = Permission::parse(permission)?;
        Ok(self
            .permissions(user_id, group_id)
            .await?
            .allows(&permission))
    }

    /// Whether the user has every one of `permissions` on the group.
    pub async fn can_all(
        &self,
        user_id: UserId,
        group_id: GroupId,
        permissions: &[&str],
    ) -> Result<bool, AuthError> {
        let wanted = parse_all(permissions)?;
        Ok(self.permissions(user_id, group_id).await?.can_all(&wanted))
    }

    /// Whether the user has at least one of `permissions` on the group.
    pub async fn can_any(
        &self,
        user_id: UserId,
        group_id: GroupId,
        permissions: &[&str],
    ) -> Result<bool, AuthError> {
        let wanted = parse_all(permissions)?;
        Ok(self.permissions(user_id, group_id).await?.can_any(&wanted))
    }

    /// Whether the user holds `role` on the group (directly, inherited, or through a role
    /// that includes it).
    pub async fn has_role(
        &self,
        user_id: UserId,
        group_id: GroupId,
        role: &str,
    ) -> Result<bool, AuthError> {
        self.auth.policy().check_role(role)?;
        Ok(self.permissions(user_id, group_id).await?.has_role(role))
    }

    /// The membership chain, cut at cycles and the depth limit. `GROUP_NOT_FOUND` if the
    /// group does not exist.
    async fn chain(
        &self,
        user_id: UserId,
        group_id: GroupId,
        max_depth: Option<u32>,
    ) -> Result<(Vec<MembershipLink>, bool, bool), AuthError> {
        let max_depth = match max_depth {
            None => DEFAULT_MAX_DEPTH,
            Some(d) if d <= crate::groups::MAX_DEPTH_LIMIT => d,
            Some(_) => return Err(AuthError::invalid("max_depth", "must be at most 256")),
        };
        let rows = self
            .auth
            .store()
            .membership_chain(user_id, group_id, max_depth + 1)
            .await?;
        if rows.is_empty() {
            return Err(AuthError::NotFound(Entity::Group));
        }
        let walk = walk(rows, max_depth);
        Ok((walk.links, walk.cycle_detected, walk.max_depth_reached))
    }

    async fn audit(&self, action: &str, member: &Member, caller: &Caller, meta: &RequestMeta) {
        self.auth
            .record_audit(
                AuditEvent::by(action, caller, self.auth.now(), meta)
                    .subject("member", member.id)
                    .detail(serde_json::json!({
                        "group_id": member.group_id,
                        "user_id": member.user_id,
                        "role": member.role,
                        "status": member.status,
                    })),
            )
            .await;
    }
}

fn changed(change: MemberChange) -> Result<Member, AuthError> {
    match change {
        MemberChange::Done(member) => Ok(member),
        MemberChange::NotFound => Err(AuthError::NotFound(Entity::Member)),
        MemberChange::LastHolder => Err(AuthError::LastOwner),
    }
}

fn parse_all(permissions: &[&str]) -> Result<Vec<Permission>, AuthError> {
    permissions.iter().map(|p| Permission::parse(p)).collect()
}

/// `patch`, clearing a directory's suspension mark ([`DIRECTORY_SUSPENSION`]) from
/// `current` when the patch changes the status without setting `extend` itself.
fn clear_directory_suspension(mut patch: MemberPatch, current: &Member) -> MemberPatch {
    if patch.status.is_some()
        && patch.extend.is_none()
        && let Some(map) = current.extend.as_object()
        && map.contains_key(DIRECTORY_SUSPENSION)
    {
        let mut cleared = map.clone();
        cleared.remove(DIRECTORY_SUSPENSION);
        patch.extend = Some(serde_json::Value::Object(cleared));
    }
    patch
}
