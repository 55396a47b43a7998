//! `/auth/api-keys`: your keys, and your groups' keys where your role allows.
//!
//! Keys are managed from a signed-in session, never with another key. A user-owned key is
//! visible to its user only (others get `404`); a group-owned key needs `api_key:<action>`
//! on the group (`404` for non-members, `403` for members without the permission).

use auth_core::api_keys::{ApiKey, ApiKeyFilter, ApiKeyOrder, ApiKeyPatch, KeyOwner, NewApiKey};
use auth_core::error::Entity;
use auth_core::{ApiKeyId, AuthError, ListQuery, Page, Store, UserId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{Api, CreateKeyBody, CreatedKeyResponse, KeyQuery, Meta, RotateBody};
use crate::body::{ApiJson, ApiPath, ApiQuery};
use crate::error::{ApiError, ErrorBody};
use crate::principal::CurrentSession;

/// Checks that `user` may do `action` on `key`.
async fn authorize<S: Store>(
    api: &Api<S>,
    user: UserId,
    owner: KeyOwner,
    action: &str,
) -> Result<(), ApiError> {
    match owner {
        KeyOwner::User(owner) if owner == user => Ok(()),
        KeyOwner::User(_) => Err(AuthError::NotFound(Entity::ApiKey).into()),
        KeyOwner::Group(group) => {
            let perms = api.auth.members().permissions(user, group).await?;
            if !perms.is_member() {
                Err(AuthError::NotFound(Entity::ApiKey).into())
            } else if !perms.can("api_key", action) {
                Err(
                    AuthError::Forbidden(format!("missing permission api_key:{action}").into())
                        .into(),
                )
            } else {
                Ok(())
            }
        }
    }
}

/// Loads a key by its path id and checks `action` on it.
async fn load<S: Store>(
    api: &Api<S>,
    current: &CurrentSession,
    id: &str,
    action: &str,
) -> Result<ApiKey, ApiError> {
    let id: ApiKeyId = id.parse()?;
    let key = api.auth.api_keys().get(id).await?;
    authorize(api, current.user().id, key.owner, action).await?;
    Ok(key)
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
pub(crate) async fn create_key<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<CreateKeyBody>,
) -> Result<Response, ApiError> {
    let me = current.user().id;
    let owner = match body.group_id {
        Some(group) => {
            // Non-members learn nothing: a group they are not in is "not found".
            authorize(&api, me, KeyOwner::Group(group), "create")
                .await
                .map_err(|e| {
                    if e.status() == StatusCode::NOT_FOUND {
                        AuthError::NotFound(Entity::Group).into()
                    } else {
                        e
                    }
                })?;
            KeyOwner::Group(group)
        }
        None => KeyOwner::User(me),
    };
    let created = api
        .auth
        .api_keys()
        .create(
            NewApiKey {
                owner,
                name: body.name,
                scopes: body.scopes,
                expires_at: body.expires_at,
                rate_limit: body.rate_limit,
                quota: body.quota,
                metadata: body.metadata,
            },
            Some(me),
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
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub(crate) async fn list_keys<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiQuery(q): ApiQuery<KeyQuery>,
) -> Result<Json<Page<ApiKey>>, ApiError> {
    let me = current.user().id;
    let owner = match q.group_id {
        Some(group) => {
            authorize(&api, me, KeyOwner::Group(group), "read")
                .await
                .map_err(|e| {
                    if e.status() == StatusCode::NOT_FOUND {
                        AuthError::NotFound(Entity::Group).into()
                    } else {
                        e
                    }
                })?;
            KeyOwner::Group(group)
        }
        None => KeyOwner::User(me),
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
    Ok(Json(api.auth.api_keys().list(query).await?))
}

/// One key (never the key itself).
#[utoipa::path(get, path = "/auth/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "Key id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = ApiKey), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_key<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApiKey>, ApiError> {
    Ok(Json(load(&api, &current, &id, "read").await?))
}

/// Changes a key's name, scopes, rate limit or metadata.
#[utoipa::path(patch, path = "/auth/api-keys/{id}", tag = "api-keys", request_body = ApiKeyPatch,
    params(("id" = String, Path, description = "Key id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = ApiKey), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update_key<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<ApiKeyPatch>,
) -> Result<Json<ApiKey>, ApiError> {
    let key = load(&api, &current, &id, "update").await?;
    // A group key's new scopes must all be the caller's own (checked by the service).
    let by = Some(current.user().id);
    Ok(Json(
        api.auth.api_keys().update(key.id, patch, by, &meta).await?,
    ))
}

/// Deletes a key for good.
#[utoipa::path(delete, path = "/auth/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "Key id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_key<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let key = load(&api, &current, &id, "delete").await?;
    api.auth.api_keys().remove(key.id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a key (kept, for the audit trail).
#[utoipa::path(post, path = "/auth/api-keys/{id}/revoke", tag = "api-keys",
    params(("id" = String, Path, description = "Key id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = ApiKey), (status = 404, body = ErrorBody)))]
pub(crate) async fn revoke_key<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApiKey>, ApiError> {
    let key = load(&api, &current, &id, "revoke").await?;
    Ok(Json(api.auth.api_keys().revoke(key.id, &meta).await?))
}

/// Replaces a key with a new one; the old one works for `grace_seconds` more.
#[utoipa::path(post, path = "/auth/api-keys/{id}/rotate", tag = "api-keys", request_body = RotateBody,
    params(("id" = String, Path, description = "Key id")),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 201, body = CreatedKeyResponse), (status = 403, description = "INSUFFICIENT_SCOPE", body = ErrorBody), (status = 409, description = "API_KEY_NOT_ACTIVE", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn rotate_key<S: Store>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RotateBody>,
) -> Result<Response, ApiError> {
    let key = load(&api, &current, &id, "rotate").await?;
    let grace = body.grace_seconds.map(time::Duration::seconds);
    // The caller receives the new secret, so must hold every scope of the key.
    let by = Some(current.user().id);
    let created = api.auth.api_keys().rotate(key.id, grace, by, &meta).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyResponse {
            secret: created.secret.expose().to_owned(),
            key: created.key,
        }),
    )
        .into_response())
}
