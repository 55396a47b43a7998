//! `/auth/api-keys`: your keys, and your groups' keys where your role allows.
//!
//! Keys are managed from a signed-in session, never with another key. A user-owned key is
//! visible to its user only (others get `404`); a group-owned key needs `api_key:<action>`
//! on the group (`404` for non-members, `403` for members without the permission).

use auth_core::api_keys::{ApiKey, ApiKeyFilter, ApiKeyOrder, ApiKeyPatch, KeyOwner, NewApiKey};
use auth_core::{ApiKeyDomain, ApiKeyId, ListQuery, Page};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use super::{Api, CreateKeyBody, CreatedKeyResponse, Domain, KeyQuery, Meta, RotateBody};
use crate::body::{ApiJson, ApiPath, ApiQuery};
use crate::error::{ApiError, ErrorBody};
use crate::principal::CurrentSession;
use crate::state::AuthState;

/// The API-keys domain.
pub(crate) fn domain<S: ApiKeyDomain>() -> Domain {
    Domain {
        name: "api_keys",
        routes: routes::<S>,
        doc: Doc::openapi,
    }
}

fn routes<S: ApiKeyDomain>(state: &AuthState) -> Option<Router> {
    let api = Api::<S>::of(state)?;
    let routes = Router::new()
        .route("/auth/api-keys", post(create_key::<S>).get(list_keys::<S>))
        .route(
            "/auth/api-keys/{id}",
            get(get_key::<S>)
                .patch(update_key::<S>)
                .delete(delete_key::<S>),
        )
        .route("/auth/api-keys/{id}/revoke", post(revoke_key::<S>))
        .route("/auth/api-keys/{id}/rotate", post(rotate_key::<S>))
        .with_state(api);
    Some(routes)
}

/// The OpenAPI paths of the API-keys domain.
#[derive(OpenApi)]
#[openapi(
    paths(create_key, list_keys, get_key, update_key, delete_key, revoke_key, rotate_key),
    tags((name = "api-keys", description = "API keys"))
)]
pub(crate) struct Doc;

fn key_id(raw: &str) -> Result<ApiKeyId, ApiError> {
    Ok(raw.parse()?)
}

/// Creates a key (yours, or a group's) and returns it once.
#[utoipa::path(post, path = "/auth/api-keys", tag = "api-keys", request_body = CreateKeyBody,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, body = CreatedKeyResponse),
        (status = 403, description = "FORBIDDEN, INSUFFICIENT_SCOPE (more than you hold)", body = ErrorBody),
        (status = 404, description = "GROUP_NOT_FOUND", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT", body = ErrorBody),
    ))]
pub(crate) async fn create_key<S: ApiKeyDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<CreateKeyBody>,
) -> Result<Response, ApiError> {
    let owner = match body.group_id {
        Some(group) => KeyOwner::Group(group),
        None => KeyOwner::User(current.user().id),
    };
    let created = api
        .auth
        .api_keys()
        .create(
            &current.caller(),
            NewApiKey {
                owner,
                name: body.name,
                scopes: body.scopes,
                expires_at: body.expires_at,
                rate_limit: body.rate_limit,
                quota: body.quota,
                metadata: body.metadata,
            },
            &meta,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyResponse {
            secret: created.secret.expose().to_owned(),
            key: created.key,
        }),
    )
        .into_response())
}

/// Lists your keys, or a group's (`group_id`).
#[utoipa::path(get, path = "/auth/api-keys", tag = "api-keys", params(KeyQuery),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = Page<ApiKey>),
        (status = 403, description = "FORBIDDEN (a member without api_key:read)", body = ErrorBody),
        (status = 404, description = "GROUP_NOT_FOUND (also for non-members)", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (limit, group_id, revoked), INVALID_CURSOR", body = ErrorBody),
    ))]
pub(crate) async fn list_keys<S: ApiKeyDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiQuery(q): ApiQuery<KeyQuery>,
) -> Result<Json<Page<ApiKey>>, ApiError> {
    let owner = match q.group_id {
        Some(group) => KeyOwner::Group(group),
        None => KeyOwner::User(current.user().id),
    };
    let mut query = ListQuery::new(
        ApiKeyFilter {
            owner: Some(owner),
            revoked: q.revoked,
            ..ApiKeyFilter::default()
        },
        ApiKeyOrder::CreatedAt,
    );
    query.limit = q.limit;
    query.cursor = q.cursor;
    Ok(Json(
        api.auth.api_keys().list(&current.caller(), query).await?,
    ))
}

/// One key (never the key itself).
#[utoipa::path(get, path = "/auth/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "Key id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = ApiKey), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_key<S: ApiKeyDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApiKey>, ApiError> {
    Ok(Json(
        api.auth
            .api_keys()
            .get(&current.caller(), key_id(&id)?)
            .await?,
    ))
}

/// Changes a key's name, scopes, rate limit or metadata.
#[utoipa::path(patch, path = "/auth/api-keys/{id}", tag = "api-keys", request_body = ApiKeyPatch,
    params(("id" = String, Path, description = "Key id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = ApiKey), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update_key<S: ApiKeyDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<ApiKeyPatch>,
) -> Result<Json<ApiKey>, ApiError> {
    let id = key_id(&id)?;
    let caller = current.caller();
    Ok(Json(
        api.auth
            .api_keys()
            .update(&caller, id, patch, &meta)
            .await?,
    ))
}

/// Deletes a key for good.
#[utoipa::path(delete, path = "/auth/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "Key id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_key<S: ApiKeyDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = key_id(&id)?;
    api.auth
        .api_keys()
        .remove(&current.caller(), id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a key (kept, for the audit trail).
#[utoipa::path(post, path = "/auth/api-keys/{id}/revoke", tag = "api-keys",
    params(("id" = String, Path, description = "Key id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = ApiKey), (status = 404, body = ErrorBody)))]
pub(crate) async fn revoke_key<S: ApiKeyDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApiKey>, ApiError> {
    let id = key_id(&id)?;
    Ok(Json(
        api.auth
            .api_keys()
            .revoke(&current.caller(), id, &meta)
            .await?,
    ))
}

/// Replaces a key with a new one; the old one works for `grace_seconds` more.
#[utoipa::path(post, path = "/auth/api-keys/{id}/rotate", tag = "api-keys", request_body = RotateBody,
    params(("id" = String, Path, description = "Key id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 201, body = CreatedKeyResponse), (status = 403, description = "INSUFFICIENT_SCOPE", body = ErrorBody), (status = 409, description = "API_KEY_NOT_ACTIVE", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn rotate_key<S: ApiKeyDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RotateBody>,
) -> Result<Response, ApiError> {
    let id = key_id(&id)?;
    let grace = body.grace_seconds.map(time::Duration::seconds);
    let created = api
        .auth
        .api_keys()
        .rotate(&current.caller(), id, grace, &meta)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyResponse {
            secret: created.secret.expose().to_owned(),
            key: created.key,
        }),
    )
        .into_response())
}
