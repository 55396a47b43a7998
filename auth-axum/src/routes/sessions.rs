//! `/auth/sessions`: the caller's own sessions.

use auth_core::sessions::{SessionOrder, SessionView};
use auth_core::{CoreStore, ListQuery, Page, SessionId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::{Api, Meta, Paging, SessionItem};
use crate::body::{ApiPath, ApiQuery};
use crate::error::{ApiError, ErrorBody};
use crate::principal::CurrentSession;

/// Your active sessions (the current one marked), each with its device (browser and OS
/// read from the user agent).
#[utoipa::path(get, path = "/auth/sessions", tag = "sessions", params(Paging),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = Page<SessionItem>),
        (status = 401, body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (limit), INVALID_CURSOR", body = ErrorBody),
    ))]
pub(crate) async fn list_sessions<S: CoreStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<SessionItem>>, ApiError> {
    let mut query = ListQuery::new((), SessionOrder::CreatedAt);
    query.limit = paging.limit;
    query.cursor = paging.cursor;
    let page = api
        .auth
        .sessions()
        .list(&current.caller(), current.user().id, query)
        .await?;
    let me = Some(current.session().id);
    Ok(Json(page.map(|s| SessionItem::of(SessionView::of(&s, me)))))
}

/// Revokes one of your sessions.
#[utoipa::path(delete, path = "/auth/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "SESSION_NOT_FOUND (also for other users' sessions)", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (malformed id)", body = ErrorBody),
    ))]
pub(crate) async fn revoke_session<S: CoreStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id: SessionId = id.parse()?;
    api.auth
        .sessions()
        .revoke(&current.caller(), id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many sessions were revoked.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Revoked {
    /// The count.
    pub(crate) revoked: usize,
}

/// Revokes every session of yours except the current one.
#[utoipa::path(post, path = "/auth/sessions/revoke-others", tag = "sessions",
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = Revoked), (status = 401, body = ErrorBody)))]
pub(crate) async fn revoke_others<S: CoreStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
) -> Result<Json<Revoked>, ApiError> {
    let revoked = api
        .auth
        .sessions()
        .revoke_others(&current.auth, &meta)
        .await?;
    Ok(Json(Revoked { revoked }))
}
