//! `/auth/groups`, their members and invites, and `/auth/invites`.
//!
//! Who may do what comes from the policy, on the group or an ancestor: `group:read`,
//! `group:update`, `group:delete`, `member:read|add|update|remove`,
//! `invite:read|create|revoke`. Whoever creates a group becomes its owner; a subgroup
//! needs `group:create` on its parent. Non-members get `404` for a group, members without
//! the permission `403`. Any signed-in user may leave a group (remove their own
//! membership) and accept an invite.

use auth_core::groups::{Group, GroupPatch, NewGroup};
use auth_core::invites::{Invite, InviteFilter, InviteOrder, NewInvite};
use auth_core::members::{
    EffectiveMembers, Member, MemberFilter, MemberOrder, MemberPatch, NewMember,
};
use auth_core::{GroupId, InviteId, ListQuery, MemberId, OrganizationStore, Page};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use super::{
    AcceptBody, AcceptedResponse, AddMemberBody, Api, CreatedInviteResponse, Domain, InviteBody,
    Meta, MyGroup, Paging,
};
use crate::body::{ApiJson, ApiPath, ApiQuery};
use crate::error::{ApiError, ErrorBody};
use crate::principal::CurrentSession;
use crate::state::AuthState;

/// The organizations domain.
pub(crate) fn domain<S: OrganizationStore>() -> Domain {
    Domain {
        name: "organizations",
        routes: routes::<S>,
        doc: Doc::openapi,
    }
}

fn routes<S: OrganizationStore>(state: &AuthState) -> Option<Router> {
    let api = Api::<S>::of(state)?;
    let routes = Router::new()
        .route(
            "/auth/groups",
            post(create_group::<S>).get(list_my_groups::<S>),
        )
        .route(
            "/auth/groups/{id}",
            get(get_group::<S>)
                .patch(update_group::<S>)
                .delete(delete_group::<S>),
        )
        .route(
            "/auth/groups/{id}/members",
            get(list_members::<S>).post(add_member::<S>),
        )
        .route(
            "/auth/groups/{id}/effective-members",
            get(list_effective_members::<S>),
        )
        .route(
            "/auth/groups/{id}/members/{member_id}",
            patch(update_member::<S>).delete(remove_member::<S>),
        )
        .route(
            "/auth/groups/{id}/invites",
            get(list_invites::<S>).post(create_invite::<S>),
        )
        .route("/auth/invites/{id}/revoke", post(revoke_invite::<S>))
        .route("/auth/invites/accept", post(accept_invite::<S>))
        .with_state(api);
    Some(routes)
}

/// The OpenAPI paths of the organizations domain.
#[derive(OpenApi)]
#[openapi(
    paths(
        create_group,
        list_my_groups,
        get_group,
        update_group,
        delete_group,
        list_members,
        list_effective_members,
        add_member,
        update_member,
        remove_member,
        list_invites,
        create_invite,
        revoke_invite,
        accept_invite,
    ),
    tags((name = "groups", description = "Organizations, members, invites"))
)]
pub(crate) struct Doc;

fn group_id(raw: &str) -> Result<GroupId, ApiError> {
    Ok(raw.parse()?)
}

/// Creates a group; you become its owner.
#[utoipa::path(post, path = "/auth/groups", tag = "groups", request_body = NewGroup,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, body = Group),
        (status = 403, description = "FORBIDDEN (no group:create on the parent)", body = ErrorBody),
        (status = 404, description = "GROUP_NOT_FOUND (the parent; also for non-members)", body = ErrorBody),
        (status = 409, description = "SLUG_TAKEN", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (name, slug, type, tags, extend), INVALID_BODY", body = ErrorBody),
    ))]
pub(crate) async fn create_group<S: OrganizationStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<NewGroup>,
) -> Result<Response, ApiError> {
    let group = api
        .auth
        .groups()
        .create(&current.caller(), body, &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(group)).into_response())
}

/// The groups you are a direct member of.
#[utoipa::path(get, path = "/auth/groups", tag = "groups", params(Paging),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = Page<MyGroup>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list_my_groups<S: OrganizationStore>(
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
        .groups_of(&current.caller(), current.user().id, query)
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
pub(crate) async fn get_group<S: OrganizationStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Group>, ApiError> {
    let id = group_id(&id)?;
    Ok(Json(api.auth.groups().get(&current.caller(), id).await?))
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
pub(crate) async fn update_group<S: OrganizationStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<GroupPatch>,
) -> Result<Json<Group>, ApiError> {
    let id = group_id(&id)?;
    let caller = current.caller();
    Ok(Json(
        api.auth.groups().update(&caller, id, patch, &meta).await?,
    ))
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
pub(crate) async fn delete_group<S: OrganizationStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Deleted>, ApiError> {
    let id = group_id(&id)?;
    let groups_deleted = api
        .auth
        .groups()
        .delete(&current.caller(), id, &meta)
        .await?;
    Ok(Json(Deleted { groups_deleted }))
}

/// The group's direct members (`member:read`).
#[utoipa::path(get, path = "/auth/groups/{id}/members", tag = "groups",
    params(("id" = String, Path, description = "Group id"), Paging),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = Page<Member>), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_members<S: OrganizationStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(id): ApiPath<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<Member>>, ApiError> {
    let id = group_id(&id)?;
    let mut query = ListQuery::new(
        MemberFilter {
            group_id: Some(id),
            ..MemberFilter::default()
        },
        MemberOrder::CreatedAt,
    );
    query.limit = paging.limit;
    query.cursor = paging.cursor;
    Ok(Json(
        api.auth.members().list(&current.caller(), query).await?,
    ))
}

/// Everyone who counts as a member of the group (`member:read`): its own members, then
/// those inherited from each ancestor, nearest first, each with the group the membership
/// is on (`source_group_id`). Change or remove an inherited one on that group's routes,
/// where that group's permissions apply. At most 1000 (`truncated` says when more exist).
#[utoipa::path(get, path = "/auth/groups/{id}/effective-members", tag = "groups",
    params(("id" = String, Path, description = "Group id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = EffectiveMembers),
        (status = 401, description = "NOT_SIGNED_IN", body = ErrorBody),
        (status = 403, description = "FORBIDDEN (a member without member:read)", body = ErrorBody),
        (status = 404, description = "GROUP_NOT_FOUND (also for non-members)", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (malformed id)", body = ErrorBody),
    ))]
pub(crate) async fn list_effective_members<S: OrganizationStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<EffectiveMembers>, ApiError> {
    let id = group_id(&id)?;
    Ok(Json(
        api.auth
            .members()
            .list_effective(&current.caller(), id)
            .await?,
    ))
}

/// Adds a user to the group (`member:add`).
#[utoipa::path(post, path = "/auth/groups/{id}/members", tag = "groups", request_body = AddMemberBody,
    params(("id" = String, Path, description = "Group id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, body = Member),
        (status = 403, description = "FORBIDDEN, INVITE_REQUIRED (another user joins by invite unless the app allows direct adds)", body = ErrorBody),
        (status = 404, description = "GROUP_NOT_FOUND, USER_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "DUPLICATE_MEMBERSHIP", body = ErrorBody),
    ))]
pub(crate) async fn add_member<S: OrganizationStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddMemberBody>,
) -> Result<Response, ApiError> {
    let id = group_id(&id)?;
    let member = api
        .auth
        .members()
        .add(
            &current.caller(),
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

/// Changes a membership's role, status or data (`member:update`; `LAST_OWNER` guards).
#[utoipa::path(patch, path = "/auth/groups/{id}/members/{member_id}", tag = "groups", request_body = MemberPatch,
    params(("id" = String, Path, description = "Group id"), ("member_id" = String, Path, description = "Membership id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = Member), (status = 404, body = ErrorBody), (status = 409, description = "LAST_OWNER", body = ErrorBody)))]
pub(crate) async fn update_member<S: OrganizationStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath((id, member_id)): ApiPath<(String, String)>,
    ApiJson(patch): ApiJson<MemberPatch>,
) -> Result<Json<Member>, ApiError> {
    let id = group_id(&id)?;
    let member_id: MemberId = member_id.parse()?;
    let caller = current.caller();
    Ok(Json(
        api.auth
            .members()
            .update(&caller, id, member_id, patch, &meta)
            .await?,
    ))
}

/// Removes a membership (`member:remove`, or your own: leaving).
#[utoipa::path(delete, path = "/auth/groups/{id}/members/{member_id}", tag = "groups",
    params(("id" = String, Path, description = "Group id"), ("member_id" = String, Path, description = "Membership id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, description = "LAST_OWNER", body = ErrorBody)))]
pub(crate) async fn remove_member<S: OrganizationStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath((id, member_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = group_id(&id)?;
    let member_id: MemberId = member_id.parse()?;
    api.auth
        .members()
        .remove(&current.caller(), id, member_id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The group's invites (`invite:read`).
#[utoipa::path(get, path = "/auth/groups/{id}/invites", tag = "groups",
    params(("id" = String, Path, description = "Group id"), Paging),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = Page<Invite>), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_invites<S: OrganizationStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(id): ApiPath<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<Invite>>, ApiError> {
    let id = group_id(&id)?;
    let mut query = ListQuery::new(
        InviteFilter {
            group_id: Some(id),
            ..InviteFilter::default()
        },
        InviteOrder::CreatedAt,
    );
    query.limit = paging.limit;
    query.cursor = paging.cursor;
    Ok(Json(
        api.auth.invites().list(&current.caller(), query).await?,
    ))
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
pub(crate) async fn create_invite<S: OrganizationStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<Response, ApiError> {
    let id = group_id(&id)?;
    let created = api
        .auth
        .invites()
        .create(
            &current.caller(),
            NewInvite {
                group_id: Some(id),
                email: body.email,
                role: body.role,
                expires_at: body.expires_at,
                extend: body.extend,
            },
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
pub(crate) async fn revoke_invite<S: OrganizationStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Invite>, ApiError> {
    let id: InviteId = id.parse()?;
    Ok(Json(
        api.auth
            .invites()
            .revoke(&current.caller(), id, &meta)
            .await?,
    ))
}

/// Accepts an invite as the signed-in user.
#[utoipa::path(post, path = "/auth/invites/accept", tag = "groups", request_body = AcceptBody,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = AcceptedResponse),
        (status = 403, description = "INVITE_EMAIL_MISMATCH, INVITE_INVITER_UNAUTHORIZED", body = ErrorBody),
        (status = 404, description = "INVITE_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "INVITE_NOT_PENDING, DUPLICATE_MEMBERSHIP", body = ErrorBody),
        (status = 410, description = "INVITE_EXPIRED", body = ErrorBody),
    ))]
pub(crate) async fn accept_invite<S: OrganizationStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<AcceptBody>,
) -> Result<Json<AcceptedResponse>, ApiError> {
    let (invite, member) = api
        .auth
        .invites()
        .accept(&current.caller(), body.token.expose(), &meta)
        .await?;
    Ok(Json(AcceptedResponse { invite, member }))
}
