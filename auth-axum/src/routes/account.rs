//! The signed-in user's own account: `/auth/password/change`, `PATCH /auth/me`.

use auth_core::users::UserPatch;
use auth_core::{CoreStore, User};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::signed_in;
use super::{Api, ChangePasswordBody, Meta, ProfileBody, SessionResponse, TokenMode};
use crate::body::ApiJson;
use crate::error::{ApiError, ErrorBody};
use crate::principal::{CurrentSession, Via};

/// How the answer carries a session that replaces the caller's: the way it came.
fn mode_of(via: Via) -> TokenMode {
    match via {
        Via::Cookie => TokenMode::Cookie,
        Via::Bearer => TokenMode::Token,
    }
}

/// Changes your password. Every session of yours ends, this one included; the answer
/// carries its replacement (a new cookie, or new tokens for a bearer client).
#[utoipa::path(post, path = "/auth/password/change", tag = "account",
    request_body = ChangePasswordBody,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Changed; a new session replaces every old one", body = SessionResponse),
        (status = 401, description = "INVALID_CREDENTIALS (current password missing or wrong), NOT_SIGNED_IN", body = ErrorBody),
        (status = 403, description = "FORBIDDEN (an API key), CSRF_REJECTED", body = ErrorBody),
        (status = 422, description = "WEAK_PASSWORD, INVALID_BODY", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED (too many wrong passwords)", body = ErrorBody),
    ))]
pub(crate) async fn change_password<S: CoreStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> Result<Response, ApiError> {
    let done = api
        .auth
        .password()
        .change(
            &current.auth,
            body.current_password.as_ref(),
            &body.new_password,
            &meta,
        )
        .await?;
    Ok(signed_in(&api, done, mode_of(current.via), StatusCode::OK))
}

/// Changes your profile: name, avatar, app data. The email address changes through
/// `POST /auth/email/change` (an `email` field here is `INVALID_BODY`).
#[utoipa::path(patch, path = "/auth/me", tag = "account", request_body = ProfileBody,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The updated user", body = User),
        (status = 401, description = "NOT_SIGNED_IN", body = ErrorBody),
        (status = 403, description = "FORBIDDEN (an API key), CSRF_REJECTED", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (name, image, extend), INVALID_BODY", body = ErrorBody),
    ))]
pub(crate) async fn update_me<S: CoreStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ProfileBody>,
) -> Result<Json<User>, ApiError> {
    let patch = UserPatch {
        name: body.name,
        image: body.image,
        extend: body.extend,
        email: None,
        email_verified: None,
    };
    let user = api
        .auth
        .users()
        .update(&current.caller(), current.user().id, patch, &meta)
        .await?;
    Ok(Json(user))
}
