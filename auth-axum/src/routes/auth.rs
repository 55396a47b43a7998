//! `/auth/sign-up`, `/sign-in`, `/sign-out`, `/refresh`, email verification, password reset,
//! `/me`.

use auth_core::sessions::SessionView;
use auth_core::verification::Answer;
use auth_core::{AuthError, CoreStore, ErrorCode, SignInOutcome, SignUp, SignUpOutcome, SignedIn};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{
    AnswerBody, Api, EmailSignInBody, ForgotBody, MeResponse, Meta, MfaChallengeResponse,
    RefreshBody, ResetBody, SendSignInCodeBody, SessionResponse, SignInBody, SignUpBody, TokenMode,
    VerificationPending,
};
use crate::body::ApiJson;
use crate::cookies;
use crate::error::{ApiError, ErrorBody};
use crate::principal::{CurrentSession, Principal, Via, request_origin, session_cookie};

/// A browser signing in for a cookie must do so from the app's origin (no login CSRF):
/// its `Origin` (or `Referer`) must match. Clients that send neither are not browsers
/// (browsers send `Origin` on every cross-origin POST), so are not being tricked.
pub(super) fn check_sign_in_origin(
    headers: &axum::http::HeaderMap,
    state: &crate::AuthState,
    mode: TokenMode,
) -> Result<(), ApiError> {
    if mode != TokenMode::Cookie {
        return Ok(());
    }
    match (request_origin(headers), state.config()) {
        (None, _) => Ok(()),
        (Some(origin), Some(config)) if config.is_allowed_origin(&origin) => Ok(()),
        _ => Err(ApiError::csrf()),
    }
}

/// The metadata of a sign-in, with the session token the request presents (the cookie,
/// else a bearer token): the new session ends it.
pub(super) fn presenting_session(
    meta: auth_core::RequestMeta,
    headers: &axum::http::HeaderMap,
    state: &crate::AuthState,
) -> auth_core::RequestMeta {
    let cookie = state
        .config()
        .and_then(|config| session_cookie(headers, config.cookie_name()));
    let bearer = || crate::principal::bearer(headers).ok().flatten();
    match cookie.or_else(bearer) {
        Some(token) => meta.presenting_session(token),
        None => meta,
    }
}

/// Answers a sign-in: a cookie for browsers, tokens in the body for token clients.
pub(super) fn signed_in<S>(
    api: &Api<S>,
    signed_in: SignedIn,
    mode: TokenMode,
    status: StatusCode,
) -> Response {
    let session = SessionView::of(&signed_in.session, Some(signed_in.session.id));
    let (session_token, refresh_token) = match mode {
        TokenMode::Token => (
            Some(signed_in.session_token.expose().to_owned()),
            Some(signed_in.refresh_token.expose().to_owned()),
        ),
        TokenMode::Cookie => (None, None),
    };
    let body = SessionResponse {
        user: signed_in.user,
        session,
        session_token,
        refresh_token,
    };
    let mut response = (status, Json(body)).into_response();
    if mode == TokenMode::Cookie
        && let Some(config) = api.state.config()
    {
        set_session_cookie(
            &mut response,
            config,
            &signed_in.session,
            &signed_in.session_token,
        );
    }
    response
}

/// Sets the session cookie of a sign-in to `token`, living as long as `session`.
pub(super) fn set_session_cookie(
    response: &mut Response,
    config: &crate::HttpConfig,
    session: &auth_core::Session,
    token: &auth_core::Secret,
) {
    let lifetime = session.expires_at - session.created_at;
    cookies::set_session(response, config, token.expose(), lifetime);
}

/// The answer to a first-factor sign-in: the session ([`signed_in`], `200`), or `202` with
/// the MFA challenge when the user holds a second factor (no session, no cookie).
pub(super) fn sign_in_outcome<S>(
    api: &Api<S>,
    outcome: SignInOutcome,
    mode: TokenMode,
) -> Response {
    match outcome {
        SignInOutcome::SignedIn(done) => signed_in(api, *done, mode, StatusCode::OK),
        SignInOutcome::MfaRequired(challenge) => {
            let body = MfaChallengeResponse {
                code: ErrorCode::MfaRequired.as_str(),
                challenge: challenge.token.expose().to_owned(),
                methods: challenge.factors.methods(),
                expires_at: challenge.expires_at,
            };
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
    }
}

/// The answer to a sign-up: `201` with the session ([`signed_in`]), or `202` with the new
/// user when the address must be verified first.
pub(super) fn sign_up_outcome<S>(
    api: &Api<S>,
    outcome: SignUpOutcome,
    mode: TokenMode,
) -> Response {
    match outcome {
        SignUpOutcome::SignedIn(done) => signed_in(api, *done, mode, StatusCode::CREATED),
        SignUpOutcome::VerificationRequired(user) => (
            StatusCode::ACCEPTED,
            Json(VerificationPending {
                user,
                verification_required: true,
            }),
        )
            .into_response(),
    }
}

/// The answer in a body: a link token, or an address with a code.
pub(super) fn answer(body: &AnswerBody) -> Result<Answer<'_>, ApiError> {
    match (&body.token, &body.email, &body.code) {
        (Some(token), None, None) => Ok(Answer::Link(token.expose())),
        (None, Some(email), Some(code)) => Ok(Answer::Code {
            email,
            code: code.expose(),
        }),
        _ => Err(AuthError::invalid("body", "give either token, or email and code").into()),
    }
}

/// Creates a user with a password and signs them in.
#[utoipa::path(post, path = "/auth/sign-up", tag = "auth", request_body = SignUpBody,
    responses(
        (status = 201, description = "Signed up and signed in", body = SessionResponse),
        (status = 202, description = "Signed up; verify the email address, then sign in", body = VerificationPending),
        (status = 403, description = "CSRF_REJECTED (cookie mode from another origin)", body = ErrorBody),
        (status = 409, description = "EMAIL_IN_USE", body = ErrorBody),
        (status = 422, description = "INVALID_EMAIL, INVALID_INPUT (name), WEAK_PASSWORD, PASSWORD_TOO_COMMON, PASSWORD_BREACHED, INVALID_BODY", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED (too many sign-ups from this network)", body = ErrorBody),
    ))]
pub(crate) async fn sign_up<S: CoreStore>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<SignUpBody>,
) -> Result<Response, ApiError> {
    check_sign_in_origin(&headers, &api.state, body.mode)?;
    let meta = presenting_session(meta, &headers, &api.state);
    let outcome = api
        .auth
        .password()
        .sign_up(
            SignUp {
                email: body.email,
                password: body.password,
                name: body.name,
                extend: None,
            },
            &meta,
        )
        .await?;
    Ok(sign_up_outcome(&api, outcome, body.mode))
}

/// Signs in with email and password. A session the request presents (cookie or bearer)
/// ends: the new one replaces it.
#[utoipa::path(post, path = "/auth/sign-in", tag = "auth", request_body = SignInBody,
    responses(
        (status = 200, description = "Signed in", body = SessionResponse),
        (status = 202, description = "MFA_REQUIRED: the user holds a second factor; no session yet", body = MfaChallengeResponse),
        (status = 401, description = "INVALID_CREDENTIALS", body = ErrorBody),
        (status = 403, description = "EMAIL_NOT_VERIFIED, CSRF_REJECTED (cookie mode from another origin)", body = ErrorBody),
        (status = 422, description = "INVALID_EMAIL, INVALID_BODY", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED (see Retry-After)", body = ErrorBody),
    ))]
pub(crate) async fn sign_in<S: CoreStore>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<SignInBody>,
) -> Result<Response, ApiError> {
    check_sign_in_origin(&headers, &api.state, body.mode)?;
    let meta = presenting_session(meta, &headers, &api.state);
    let done = api
        .auth
        .password()
        .sign_in(&body.email, &body.password, &meta)
        .await?;
    Ok(sign_in_outcome(&api, done, body.mode))
}

/// Sends a sign-in code and link to an address. Always `202` for a valid address, whether
/// or not it has an account (unknown addresses get nothing unless the app lets emailed
/// codes sign up).
#[utoipa::path(post, path = "/auth/sign-in/email/send", tag = "auth",
    request_body = SendSignInCodeBody,
    responses(
        (status = 202, description = "Sent if the address may sign in"),
        (status = 422, description = "INVALID_EMAIL, INVALID_BODY", body = ErrorBody),
        (status = 500, description = "NOT_CONFIGURED (the app has no mailer)", body = ErrorBody),
    ))]
pub(crate) async fn send_sign_in_code<S: CoreStore>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<SendSignInCodeBody>,
) -> Result<StatusCode, ApiError> {
    api.auth
        .email()
        .send_sign_in_code(&body.email, &meta)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Signs in with an emailed code (with its address) or the emailed link's token. Proves
/// the address, so marks it verified.
#[utoipa::path(post, path = "/auth/sign-in/email", tag = "auth", request_body = EmailSignInBody,
    responses(
        (status = 200, description = "Signed in", body = SessionResponse),
        (status = 202, description = "MFA_REQUIRED: the user holds a second factor; no session yet", body = MfaChallengeResponse),
        (status = 400, description = "CODE_INVALID, CODE_EXPIRED", body = ErrorBody),
        (status = 403, description = "CSRF_REJECTED (cookie mode from another origin)", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (neither or both answers), INVALID_EMAIL, INVALID_BODY", body = ErrorBody),
        (status = 429, description = "TOO_MANY_ATTEMPTS", body = ErrorBody),
    ))]
pub(crate) async fn sign_in_email<S: CoreStore>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<EmailSignInBody>,
) -> Result<Response, ApiError> {
    check_sign_in_origin(&headers, &api.state, body.mode)?;
    let meta = presenting_session(meta, &headers, &api.state);
    let answer_body = AnswerBody {
        email: body.email,
        code: body.code,
        token: body.token,
    };
    let done = api
        .auth
        .email()
        .sign_in(answer(&answer_body)?, &meta)
        .await?;
    Ok(sign_in_outcome(&api, done, body.mode))
}

/// Signs out: revokes the current session and clears the cookie. A session cookie that
/// no longer works (expired, revoked) is cleared too, so the browser does not keep it.
#[utoipa::path(post, path = "/auth/sign-out", tag = "auth",
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "NOT_SIGNED_IN", body = ErrorBody),
        (status = 403, description = "FORBIDDEN (an API key), CSRF_REJECTED", body = ErrorBody),
    ))]
pub(crate) async fn sign_out<S: CoreStore>(
    State(api): State<Api<S>>,
    headers: axum::http::HeaderMap,
    principal: Option<Principal>,
    Meta(meta): Meta,
) -> Result<Response, ApiError> {
    let config = api.state.config();
    let via = match principal.map(CurrentSession::of).transpose()? {
        Some(current) => {
            api.auth
                .sessions()
                .revoke(&current.caller(), current.session().id, &meta)
                .await?;
            current.via
        }
        // No credential that works: only a stale cookie is worth answering for.
        None if config.is_some_and(|c| session_cookie(&headers, c.cookie_name()).is_some()) => {
            Via::Cookie
        }
        None => return Err(AuthError::NotSignedIn.into()),
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    if via == Via::Cookie
        && let Some(config) = config
    {
        cookies::clear_session(&mut response, config);
    }
    Ok(response)
}

/// Exchanges a refresh token for new tokens (token clients).
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 200, description = "New session token and refresh token", body = SessionResponse),
        (status = 401, description = "REFRESH_TOKEN_INVALID, REFRESH_TOKEN_REUSED, SESSION_EXPIRED, SESSION_REVOKED", body = ErrorBody),
    ))]
pub(crate) async fn refresh<S: CoreStore>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Response, ApiError> {
    let done = api
        .auth
        .sessions()
        .refresh(body.refresh_token.expose(), &meta)
        .await?;
    Ok(signed_in(&api, done, TokenMode::Token, StatusCode::OK))
}

/// Sends a new verification code and link to the signed-in user's address.
#[utoipa::path(post, path = "/auth/verify-email/send", tag = "auth",
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 202, description = "Sent (or already verified)"),
        (status = 429, description = "RATE_LIMITED", body = ErrorBody),
    ))]
pub(crate) async fn send_verification<S: CoreStore>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
) -> Result<StatusCode, ApiError> {
    api.auth
        .email()
        .send_verification(current.user().id, &meta)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Verifies an email address with the emailed code or link token.
#[utoipa::path(post, path = "/auth/verify-email", tag = "auth", request_body = AnswerBody,
    responses(
        (status = 200, description = "Verified", body = auth_core::User),
        (status = 400, description = "CODE_INVALID, CODE_EXPIRED", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (neither or both answers), INVALID_EMAIL, INVALID_BODY", body = ErrorBody),
        (status = 429, description = "TOO_MANY_ATTEMPTS", body = ErrorBody),
    ))]
pub(crate) async fn verify_email<S: CoreStore>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<AnswerBody>,
) -> Result<Json<auth_core::User>, ApiError> {
    let user = api.auth.email().verify(answer(&body)?, &meta).await?;
    Ok(Json(user))
}

/// Sends a password reset code and link, if the address has an account. Always `202`.
#[utoipa::path(post, path = "/auth/password/forgot", tag = "auth", request_body = ForgotBody,
    responses(
        (status = 202, description = "Sent if the address has an account"),
        (status = 422, description = "INVALID_EMAIL", body = ErrorBody),
    ))]
pub(crate) async fn forgot_password<S: CoreStore>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ForgotBody>,
) -> Result<StatusCode, ApiError> {
    api.auth.password().forgot(&body.email, &meta).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Sets a new password with the emailed code or link; signs out every session.
#[utoipa::path(post, path = "/auth/password/reset", tag = "auth", request_body = ResetBody,
    responses(
        (status = 200, description = "Password replaced; sign in again", body = auth_core::User),
        (status = 400, description = "CODE_INVALID, CODE_EXPIRED", body = ErrorBody),
        (status = 422, description = "WEAK_PASSWORD, PASSWORD_TOO_COMMON, PASSWORD_BREACHED, INVALID_INPUT (neither or both answers), INVALID_EMAIL, INVALID_BODY", body = ErrorBody),
        (status = 429, description = "TOO_MANY_ATTEMPTS", body = ErrorBody),
    ))]
pub(crate) async fn reset_password<S: CoreStore>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<Json<auth_core::User>, ApiError> {
    let answer_body = AnswerBody {
        email: body.email,
        code: body.code,
        token: body.token,
    };
    let user = api
        .auth
        .password()
        .reset(answer(&answer_body)?, &body.password, &meta)
        .await?;
    Ok(Json(user))
}

/// The signed-in user and their current session.
#[utoipa::path(get, path = "/auth/me", tag = "auth",
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = MeResponse),
        (status = 401, description = "NOT_SIGNED_IN, SESSION_EXPIRED, ...", body = ErrorBody),
    ))]
pub(crate) async fn me(current: CurrentSession) -> Json<MeResponse> {
    Json(MeResponse {
        user: current.user().clone(),
        session: SessionView::of(current.session(), Some(current.session().id)),
    })
}
