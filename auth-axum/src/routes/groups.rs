//! `/auth/groups`, their members and invites, and `/auth/invites`.
//!
//! Who may do what comes from the policy, on the group or an ancestor: `group:read`,
//! `group:update`, `group:delete`, `member:read|add|update|remove`,
//! `invite:read|create|revoke`. Whoever creates a group becomes its owner; a subgroup
//! needs `group:create` on its parent. Non-members get `404` for a group, members without
//! the permission `403`. Any signed-in user may leave a group (remove their own
//! membership) and accept an invite.

use auth_core::error::Entity;
use auth_core::groups::{Group, GroupPatch, NewGroup};
use auth_core::invites::{Invite, InviteFilter, InviteOrder, NewInvite};
use auth_core::members::{Member, MemberFilter, MemberOrder, MemberPatch, NewMember};
use auth_core::{AuthError, GroupId, InviteId, ListQuery, MemberId, Page, Store, UserId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{
    AcceptBody, AcceptedResponse, AddMemberBody, Api, CreatedInviteResponse, InviteBody, Meta,
    MyGroup, Paging,
};
use crate::body::{ApiJson, ApiPath, ApiQuery};
use crate::error::{ApiError, ErrorBody};
use crate::principal::CurrentSession;

/// Checks `user` holds `permission` (`resource:action`) on `group`: `404` for
/// non-members (and missing groups), `403` for members without it.
async fn allow<S: Store>(
    api: &Api<S>,
    user: UserId,
    group: GroupId,
    resource: &str,
    action: &str,
) -> Result<(), ApiError> {
    let perms = api.auth.members().permissions(user, group).await?;
    if !perms.is_member() {
        return Err(AuthError::NotFound(Entity::Group).into());
    }
    if !perms.can(resource, action) {
        return Err(
            AuthError::Forbidden(format!("missing permission {resource}:{action}").into()).into(),
        );
    }
    Ok(())
}

/// Checks `user` holds `role` (or a role including it) on `group`: nobody grants, changes
/// or removes a role above their own.
async fn outranks<S: Store>(
    api: &Api<S>,
    user: UserId,
    group: GroupId,
    role: &str,
) -> Result<(), ApiError> {
    if api.auth.members().has_role(user, group, role).await? {
        Ok(())
    } else {
        Err(AuthError::Forbidden(format!("you do not hold the role {role}").into()).into())
    }
}

fn group_id(raw: &str) -> Result<GroupId, ApiError> {
    Ok(raw.parse()?)
}

/// Creates a group; you become its owner.
#[utoipa::path(post, path = "/auth/groups", tag = "groups", request_body = NewGroup,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, body = Group),
        (status = 409, description = "SLUG_TAKEN", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub(crate) async fn create_group<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<NewGroup>,
) -> Result<Response, ApiError> {
    let me = current.user().id;
    if let Some(parent) = body.parent_id {
        allow(&api, me, parent, "group", "create").await?;
    }
    let group = api.auth.groups().create(body, Some(me), &meta).await?;
    Ok((StatusCode::CREATED, Json(group)).into_response())
}

/// The groups you are a direct member of.
#[utoipa::path(get, path = "/auth/groups", tag = "groups", params(Paging),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = Page<MyGroup>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list_my_groups<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<MyGroup>>, ApiError> {
    let mut query = ListQuery::new((), MemberOrder::CreatedAt);
    query.limit = paging.limit;
    query.cursor = paging.cursor;
    let page = api
        .auth
        .members()
        .groups_of(current.user().id, query)
        .await?;
    Ok(Json(page.map(|m| MyGroup {
        group: m.group,
        member: m.member,
    })))
}

/// One group (`group:read`).
#[utoipa::path(get, path = "/auth/groups/{id}", tag = "groups",
    params(("id" = String, Path, description = "Group id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = Group), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_group<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Group>, ApiError> {
    let id = group_id(&id)?;
    allow(&api, current.user().id, id, "group", "read").await?;
    Ok(Json(api.auth.groups().get(id).await?))
}

/// Changes a group (`group:update`), or moves it: a move takes the group out of its
/// tree, so it needs `group:delete` on the group (an owner's right: an admin must not
/// carry a group off to an organization they own), and `group:create` on a new parent.
#[utoipa::path(patch, path = "/auth/groups/{id}", tag = "groups", request_body = GroupPatch,
    params(("id" = String, Path, description = "Group id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = Group),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "SLUG_TAKEN, GROUP_CYCLE", body = ErrorBody),
    ))]
pub(crate) async fn update_group<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<GroupPatch>,
) -> Result<Json<Group>, ApiError> {
    let id = group_id(&id)?;
    let me = current.user().id;
    allow(&api, me, id, "group", "update").await?;
    if let Some(new_parent) = patch.parent_id {
        allow(&api, me, id, "group", "delete").await?;
        if let Some(parent) = new_parent {
            allow(&api, me, parent, "group", "create").await?;
        }
    }
    Ok(Json(api.auth.groups().update(id, patch, &meta).await?))
}

/// How many groups a delete removed.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Deleted {
    /// The group and its descendants.
    pub(crate) groups_deleted: u64,
}

/// Deletes a group with its descendants, members and invites (`group:delete`).
#[utoipa::path(delete, path = "/auth/groups/{id}", tag = "groups",
    params(("id" = String, Path, description = "Group id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = Deleted), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_group<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Deleted>, ApiError> {
    let id = group_id(&id)?;
    allow(&api, current.user().id, id, "group", "delete").await?;
    let groups_deleted = api.auth.groups().delete(id, &meta).await?;
    Ok(Json(Deleted { groups_deleted }))
}

/// The group's direct members (`member:read`).
#[utoipa::path(get, path = "/auth/groups/{id}/members", tag = "groups",
    params(("id" = String, Path, description = "Group id"), Paging),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = Page<Member>), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_members<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(id): ApiPath<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<Member>>, ApiError> {
    let id = group_id(&id)?;
    allow(&api, current.user().id, id, "member", "read").await?;
    let mut query = ListQuery::new(
        MemberFilter {
            group_id: Some(id),
            ..MemberFilter::default()
        },
        MemberOrder::CreatedAt,
    );
    query.limit = paging.limit;
    query.cursor = paging.cursor;
    Ok(Json(api.auth.members().list(query).await?))
}

/// Adds a user to the group (`member:add`).
#[utoipa::path(post, path = "/auth/groups/{id}/members", tag = "groups", request_body = AddMemberBody,
    params(("id" = String, Path, description = "Group id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, body = Member),
        (status = 404, description = "GROUP_NOT_FOUND, USER_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "DUPLICATE_MEMBERSHIP", body = ErrorBody),
    ))]
pub(crate) async fn add_member<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddMemberBody>,
) -> Result<Response, ApiError> {
    let id = group_id(&id)?;
    let me = current.user().id;
    allow(&api, me, id, "member", "add").await?;
    let role = body
        .role
        .clone()
        .unwrap_or_else(|| api.auth.policy().default_role().to_owned());
    outranks(&api, me, id, &role).await?;
    let member = api
        .auth
        .members()
        .add(
            NewMember {
                group_id: id,
                user_id: body.user_id,
                role: body.role,
                status: body.status,
                extend: body.extend,
            },
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(member)).into_response())
}

/// Loads a membership of the group in the path.
async fn member_of<S: Store>(
    api: &Api<S>,
    group: GroupId,
    member: &str,
) -> Result<Member, ApiError> {
    let id: MemberId = member.parse()?;
    let member = api.auth.members().get(id).await?;
    if member.group_id != group {
        return Err(AuthError::NotFound(Entity::Member).into());
    }
    Ok(member)
}

/// Changes a membership's role, status or data (`member:update`; `LAST_OWNER` guards).
#[utoipa::path(patch, path = "/auth/groups/{id}/members/{member_id}", tag = "groups", request_body = MemberPatch,
    params(("id" = String, Path, description = "Group id"), ("member_id" = String, Path, description = "Membership id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = Member), (status = 404, body = ErrorBody), (status = 409, description = "LAST_OWNER", body = ErrorBody)))]
pub(crate) async fn update_member<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath((id, member_id)): ApiPath<(String, String)>,
    ApiJson(patch): ApiJson<MemberPatch>,
) -> Result<Json<Member>, ApiError> {
    let id = group_id(&id)?;
    let me = current.user().id;
    allow(&api, me, id, "member", "update").await?;
    let member = member_of(&api, id, &member_id).await?;
    // An admin cannot touch an owner, nor make someone one.
    outranks(&api, me, id, &member.role).await?;
    if let Some(role) = &patch.role {
        outranks(&api, me, id, role).await?;
    }
    Ok(Json(
        api.auth.members().update(member.id, patch, &meta).await?,
    ))
}

/// Removes a membership (`member:remove`, or your own: leaving).
#[utoipa::path(delete, path = "/auth/groups/{id}/members/{member_id}", tag = "groups",
    params(("id" = String, Path, description = "Group id"), ("member_id" = String, Path, description = "Membership id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, description = "LAST_OWNER", body = ErrorBody)))]
pub(crate) async fn remove_member<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath((id, member_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = group_id(&id)?;
    let me = current.user().id;
    let member = member_of(&api, id, &member_id).await;
    match member {
        Ok(m) if m.user_id == me => {
            api.auth.members().remove(m.id, &meta).await?;
        }
        _ => {
            allow(&api, me, id, "member", "remove").await?;
            let m = member?;
            outranks(&api, me, id, &m.role).await?;
            api.auth.members().remove(m.id, &meta).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The group's invites (`invite:read`).
#[utoipa::path(get, path = "/auth/groups/{id}/invites", tag = "groups",
    params(("id" = String, Path, description = "Group id"), Paging),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = Page<Invite>), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_invites<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(id): ApiPath<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<Invite>>, ApiError> {
    let id = group_id(&id)?;
    allow(&api, current.user().id, id, "invite", "read").await?;
    let mut query = ListQuery::new(
        InviteFilter {
            group_id: Some(id),
            ..InviteFilter::default()
        },
        InviteOrder::CreatedAt,
    );
    query.limit = paging.limit;
    query.cursor = paging.cursor;
    Ok(Json(api.auth.invites().list(query).await?))
}

/// Invites someone into the group (`invite:create`; the role must be one you hold).
#[utoipa::path(post, path = "/auth/groups/{id}/invites", tag = "groups", request_body = InviteBody,
    params(("id" = String, Path, description = "Group id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, body = CreatedInviteResponse),
        (status = 409, description = "DUPLICATE_INVITE", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub(crate) async fn create_invite<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<Response, ApiError> {
    let id = group_id(&id)?;
    let me = current.user().id;
    allow(&api, me, id, "invite", "create").await?;
    if let Some(role) = &body.role {
        api.auth.policy().check_role(role)?;
        if !api.auth.members().has_role(me, id, role).await? {
            return Err(
                AuthError::Forbidden("you cannot grant a role you do not hold".into()).into(),
            );
        }
    }
    let created = api
        .auth
        .invites()
        .create(
            NewInvite {
                group_id: Some(id),
                email: body.email,
                role: body.role,
                expires_at: body.expires_at,
                extend: body.extend,
            },
            Some(me),
            &meta,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedInviteResponse {
            token: created.token.expose().to_owned(),
            invite: created.invite,
        }),
    )
        .into_response())
}

/// Revokes a pending invite (`invite:revoke` on its group; its sender for invites without
/// a group).
#[utoipa::path(post, path = "/auth/invites/{id}/revoke", tag = "groups",
    params(("id" = String, Path, description = "Invite id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = Invite), (status = 404, body = ErrorBody), (status = 409, description = "INVITE_NOT_PENDING", body = ErrorBody)))]
pub(crate) async fn revoke_invite<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Invite>, ApiError> {
    let id: InviteId = id.parse()?;
    let me = current.user().id;
    let invite = api.auth.invites().get(id).await?;
    match invite.group_id {
        Some(group) => allow(&api, me, group, "invite", "revoke")
            .await
            .map_err(|e| {
                if e.status() == StatusCode::NOT_FOUND {
                    AuthError::NotFound(Entity::Invite).into()
                } else {
                    e
                }
            })?,
        None if invite.inviter_id == Some(me) => {}
        None => return Err(AuthError::NotFound(Entity::Invite).into()),
    }
    Ok(Json(api.auth.invites().revoke(id, &meta).await?))
}

/// Accepts an invite as the signed-in user.
#[utoipa::path(post, path = "/auth/invites/accept", tag = "groups", request_body = AcceptBody,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = AcceptedResponse),
        (status = 403, description = "INVITE_EMAIL_MISMATCH", body = ErrorBody),
        (status = 404, description = "INVITE_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "INVITE_NOT_PENDING, DUPLICATE_MEMBERSHIP", body = ErrorBody),
        (status = 410, description = "INVITE_EXPIRED", body = ErrorBody),
    ))]
pub(crate) async fn accept_invite<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<AcceptBody>,
) -> Result<Json<AcceptedResponse>, ApiError> {
    let (invite, member) = api
        .auth
        .invites()
        .accept(body.token.expose(), current.user(), &meta)
        .await?;
    Ok(Json(AcceptedResponse { invite, member }))
}
