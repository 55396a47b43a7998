//! The signed-in user's own account: password change, profile, change of address,
//! deletion, linked accounts.

use auth_core::users::{Reauth, UserPatch};
use auth_core::{AccountId, CoreStore, User};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::auth::{answer, signed_in};
use super::{
    AccountView, AnswerBody, Api, ChangeEmailBody, ChangePasswordBody, DeleteMeBody, Meta,
    ProfileBody, SessionResponse, TokenMode,
};
use crate::body::{ApiJson, ApiPath};
use crate::cookies;
use crate::error::{ApiError, ErrorBody};
use crate::principal::{CurrentSession, Via};

/// How the answer carries a session that replaces the caller's: the way it came.
pub(super) fn mode_of(via: Via) -> TokenMode {
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
        (status = 403, description = "FORBIDDEN (an API key), CSRF_REJECTED, REAUTHENTICATION_REQUIRED (no password yet, and the session began before the re-authentication window)", body = ErrorBody),
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

/// Asks to move your account to a new address: a code and link go to the NEW address, and
/// nothing changes until `POST /auth/email/change/confirm`.
#[utoipa::path(post, path = "/auth/email/change", tag = "account", request_body = ChangeEmailBody,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 202, description = "Sent to the new address"),
        (status = 401, description = "NOT_SIGNED_IN", body = ErrorBody),
        (status = 403, description = "FORBIDDEN (an API key), CSRF_REJECTED", body = ErrorBody),
        (status = 409, description = "EMAIL_IN_USE", body = ErrorBody),
        (status = 422, description = "INVALID_EMAIL, INVALID_INPUT (your address already), INVALID_BODY", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED (too many emails to that address)", body = ErrorBody),
        (status = 502, description = "DELIVERY_FAILED", body = ErrorBody),
    ))]
pub(crate) async fn request_email_change<S: CoreStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ChangeEmailBody>,
) -> Result<StatusCode, ApiError> {
    api.auth
        .email()
        .request_email_change(&current.caller(), &body.email, &meta)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Confirms a change of address with the code sent to the new address (with that
/// address) or the link's token: the address is replaced and verified.
#[utoipa::path(post, path = "/auth/email/change/confirm", tag = "account", request_body = AnswerBody,
    responses(
        (status = 200, description = "The user with the new, verified address", body = User),
        (status = 400, description = "CODE_INVALID, CODE_EXPIRED", body = ErrorBody),
        (status = 409, description = "EMAIL_IN_USE (taken since the code was sent)", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (neither or both answers), INVALID_BODY", body = ErrorBody),
        (status = 429, description = "TOO_MANY_ATTEMPTS", body = ErrorBody),
    ))]
pub(crate) async fn confirm_email_change<S: CoreStore>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<AnswerBody>,
) -> Result<Json<User>, ApiError> {
    let user = api
        .auth
        .email()
        .confirm_email_change(answer(&body)?, &meta)
        .await?;
    Ok(Json(user))
}

/// Deletes your account and everything that is yours, and clears the session cookie.
/// Give your password; an account without one needs a sign-in within the last few
/// minutes (`AuthConfig::reauth_window`, default 5) and takes `{}`.
#[utoipa::path(delete, path = "/auth/me", tag = "account", request_body = DeleteMeBody,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Deleted; the cookie is cleared"),
        (status = 401, description = "INVALID_CREDENTIALS (wrong password), NOT_SIGNED_IN", body = ErrorBody),
        (status = 403, description = "REAUTHENTICATION_REQUIRED (no password given, or no recent sign-in), FORBIDDEN (an API key), CSRF_REJECTED", body = ErrorBody),
        (status = 409, description = "LAST_OWNER (transfer or delete your groups first)", body = ErrorBody),
        (status = 422, description = "INVALID_BODY", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED (too many wrong passwords)", body = ErrorBody),
    ))]
pub(crate) async fn delete_me<S: CoreStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<DeleteMeBody>,
) -> Result<Response, ApiError> {
    let reauth = Reauth {
        password: body.password.as_ref(),
    };
    api.auth
        .users()
        .delete_own(&current.caller(), reauth, &meta)
        .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if current.via == Via::Cookie
        && let Some(config) = api.state.config()
    {
        cookies::clear_session(&mut response, config);
    }
    Ok(response)
}

/// The ways you sign in (password, emailed codes, linked identities), oldest first.
#[utoipa::path(get, path = "/auth/accounts", tag = "account",
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = Vec<AccountView>),
        (status = 401, description = "NOT_SIGNED_IN", body = ErrorBody),
        (status = 403, description = "FORBIDDEN (an API key)", body = ErrorBody),
    ))]
pub(crate) async fn list_accounts<S: CoreStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
) -> Result<Json<Vec<AccountView>>, ApiError> {
    let accounts = api
        .auth
        .accounts()
        .list(&current.caller(), current.user().id)
        .await?;
    Ok(Json(accounts.into_iter().map(AccountView::from).collect()))
}

/// Unlinks one of your ways to sign in; never the last one.
#[utoipa::path(delete, path = "/auth/accounts/{id}", tag = "account",
    params(("id" = String, Path, description = "Account id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, description = "NOT_SIGNED_IN", body = ErrorBody),
        (status = 403, description = "FORBIDDEN (an API key), CSRF_REJECTED", body = ErrorBody),
        (status = 404, description = "ACCOUNT_NOT_FOUND (also for other users' accounts)", body = ErrorBody),
        (status = 409, description = "LAST_SIGN_IN_METHOD", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (malformed id)", body = ErrorBody),
    ))]
pub(crate) async fn unlink_account<S: CoreStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id: AccountId = id.parse()?;
    api.auth
        .accounts()
        .unlink(&current.caller(), current.user().id, id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
