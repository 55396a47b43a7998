//! `/auth/mfa/totp` and `/auth/mfa/recovery-codes`: the signed-in user's TOTP second factor
//! and recovery codes. Session only (an API key gets `403`); every decision and audit
//! event is `auth.totp()`'s.

use auth_core::TotpDomain;
use auth_core::totp::{RecoveryCodes, TotpStatus};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use utoipa::OpenApi;

use super::account::mode_of;
use super::auth::{check_sign_in_origin, presenting_session, signed_in};
use super::{
    Api, Domain, Meta, MfaChallengeBody, RecoveryCodesResponse, SessionResponse, StepUpBody,
    TotpCodeBody, TotpEnrolmentResponse,
};
use crate::body::ApiJson;
use crate::error::{ApiError, ErrorBody};
use crate::principal::CurrentSession;
use crate::state::AuthState;

/// The TOTP domain.
pub(crate) fn domain<S: TotpDomain>() -> Domain {
    Domain {
        name: "totp",
        routes: routes::<S>,
        doc: Doc::openapi,
    }
}

fn routes<S: TotpDomain>(state: &AuthState) -> Option<Router> {
    let api = Api::<S>::of(state)?;
    let routes = Router::new()
        .route(
            "/auth/mfa/totp",
            post(enrol::<S>).get(status::<S>).delete(disable::<S>),
        )
        .route("/auth/mfa/totp/confirm", post(confirm::<S>))
        .route("/auth/mfa/recovery-codes", post(regenerate::<S>))
        .route("/auth/mfa/challenge", post(complete_challenge::<S>))
        .route("/auth/mfa/step-up", post(step_up::<S>))
        .with_state(api);
    Some(routes)
}

/// The OpenAPI paths of the TOTP domain.
#[derive(OpenApi)]
#[openapi(
    paths(enrol, status, disable, confirm, regenerate, complete_challenge, step_up),
    tags((name = "mfa", description = "TOTP second factor and recovery codes"))
)]
pub(crate) struct Doc;

fn codes_response(codes: &RecoveryCodes) -> RecoveryCodesResponse {
    RecoveryCodesResponse {
        recovery_codes: codes
            .codes()
            .iter()
            .map(|c| c.expose().to_owned())
            .collect(),
    }
}

/// Starts TOTP enrolment (or starts it again while pending): returns the `otpauth://` URI,
/// its QR code (SVG) and the seed in base32, once. Pending until confirmed.
#[utoipa::path(post, path = "/auth/mfa/totp", tag = "mfa",
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, body = TotpEnrolmentResponse),
        (status = 409, description = "TOTP_ALREADY_ENROLLED (disable it first)", body = ErrorBody),
    ))]
pub(crate) async fn enrol<S: TotpDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
) -> Result<Response, ApiError> {
    let enrolment = api.auth.totp().enrol(&current.auth, &meta).await?;
    Ok((
        StatusCode::CREATED,
        Json(TotpEnrolmentResponse {
            otpauth_uri: enrolment.otpauth_uri.expose().to_owned(),
            qr_svg: enrolment.qr_svg.expose().to_owned(),
            secret_base32: enrolment.secret_base32.expose().to_owned(),
        }),
    )
        .into_response())
}

/// Your TOTP state: enrolled, confirmed, recovery codes left.
#[utoipa::path(get, path = "/auth/mfa/totp", tag = "mfa",
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = TotpStatus)))]
pub(crate) async fn status<S: TotpDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
) -> Result<Json<TotpStatus>, ApiError> {
    Ok(Json(api.auth.totp().status(&current.auth).await?))
}

/// Removes your TOTP factor (pending or confirmed) and your recovery codes.
#[utoipa::path(delete, path = "/auth/mfa/totp", tag = "mfa",
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 204),
        (status = 409, description = "TOTP_NOT_ENROLLED", body = ErrorBody),
    ))]
pub(crate) async fn disable<S: TotpDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
) -> Result<StatusCode, ApiError> {
    api.auth.totp().disable(&current.auth, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confirms the pending enrolment with the code your app shows, and returns your
/// recovery codes, once.
#[utoipa::path(post, path = "/auth/mfa/totp/confirm", tag = "mfa", request_body = TotpCodeBody,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = RecoveryCodesResponse),
        (status = 400, description = "CODE_INVALID", body = ErrorBody),
        (status = 409, description = "TOTP_NOT_ENROLLED (no pending enrolment, or it expired), TOTP_ALREADY_ENROLLED", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED (too many wrong codes for this account)", body = ErrorBody),
    ))]
pub(crate) async fn confirm<S: TotpDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<TotpCodeBody>,
) -> Result<Json<RecoveryCodesResponse>, ApiError> {
    let codes = api
        .auth
        .totp()
        .confirm(&current.auth, body.code.expose(), &meta)
        .await?;
    Ok(Json(codes_response(&codes)))
}

/// Replaces your recovery codes (used or not) with new ones, shown once.
#[utoipa::path(post, path = "/auth/mfa/recovery-codes", tag = "mfa",
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = RecoveryCodesResponse),
        (status = 409, description = "TOTP_NOT_ENROLLED (no confirmed factor)", body = ErrorBody),
    ))]
pub(crate) async fn regenerate<S: TotpDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
) -> Result<Json<RecoveryCodesResponse>, ApiError> {
    let codes = api
        .auth
        .totp()
        .regenerate_recovery_codes(&current.auth, &meta)
        .await?;
    Ok(Json(codes_response(&codes)))
}

/// Completes a sign-in that answered `202 MFA_REQUIRED`: the challenge and a TOTP code or a
/// recovery code. Signs in at `aal2` (a cookie, or tokens in token mode).
#[utoipa::path(post, path = "/auth/mfa/challenge", tag = "mfa", request_body = MfaChallengeBody,
    responses(
        (status = 200, description = "Signed in at aal2", body = SessionResponse),
        (status = 400, description = "CODE_INVALID, MFA_CHALLENGE_INVALID, MFA_CHALLENGE_EXPIRED", body = ErrorBody),
        (status = 403, description = "CSRF_REJECTED (cookie mode from another origin)", body = ErrorBody),
        (status = 409, description = "TOTP_NOT_ENROLLED (the factor was removed meanwhile)", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (not exactly one of code and recovery_code), INVALID_BODY", body = ErrorBody),
        (status = 429, description = "TOO_MANY_ATTEMPTS (sign in again), RATE_LIMITED", body = ErrorBody),
    ))]
pub(crate) async fn complete_challenge<S: TotpDomain>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<MfaChallengeBody>,
) -> Result<Response, ApiError> {
    check_sign_in_origin(&headers, &api.state, body.mode)?;
    let meta = presenting_session(meta, &headers, &api.state);
    let totp = api.auth.totp();
    let challenge = body.challenge.expose();
    let done = match (&body.code, &body.recovery_code) {
        (Some(code), None) => {
            totp.complete_challenge(challenge, code.expose(), &meta)
                .await?
        }
        (None, Some(code)) => {
            totp.complete_challenge_with_recovery_code(challenge, code.expose(), &meta)
                .await?
        }
        _ => {
            return Err(auth_core::AuthError::invalid(
                "code",
                "give exactly one of code and recovery_code",
            )
            .into());
        }
    };
    Ok(signed_in(&api, done, body.mode, StatusCode::OK))
}

/// Steps your session up with a TOTP code: a new `aal2` session, begun now, replaces this
/// one (a new cookie, or new tokens for a bearer client).
#[utoipa::path(post, path = "/auth/mfa/step-up", tag = "mfa", request_body = StepUpBody,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "A new aal2 session replaces this one", body = SessionResponse),
        (status = 400, description = "CODE_INVALID", body = ErrorBody),
        (status = 409, description = "TOTP_NOT_ENROLLED", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED (too many wrong codes for this account)", body = ErrorBody),
    ))]
pub(crate) async fn step_up<S: TotpDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<StepUpBody>,
) -> Result<Response, ApiError> {
    let done = api
        .auth
        .totp()
        .step_up(&current.auth, body.code.expose(), &meta)
        .await?;
    Ok(signed_in(&api, done, mode_of(current.via), StatusCode::OK))
}
