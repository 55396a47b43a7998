//! `/auth/passkeys`: register a passkey (signed in), sign up and sign in with one, list,
//! rename and remove yours.
//!
//! Each ceremony is two calls: `start` answers a single-use `handle` and the WebAuthn
//! options for the browser; `finish` takes the handle and the browser's response. The
//! ceremony's state stays in the store, so any node can finish it.

use auth_core::passkeys::{PasskeyChallenge, PasskeyView};
use auth_core::{PasskeyDomain, PasskeyId};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use super::auth::{check_sign_in_origin, presenting_session, sign_up_outcome, signed_in};
use super::{
    Api, Domain, Meta, MfaPasskeyFinishBody, MfaPasskeyStartBody, PasskeyChallengeResponse,
    PasskeyFinishBody, PasskeyRegisterFinishBody, PasskeyRenameBody, PasskeySignInStartBody,
    PasskeySignUpStartBody, SessionResponse, VerificationPending,
};
use crate::body::{ApiJson, ApiPath};
use crate::error::{ApiError, ErrorBody};
use crate::principal::CurrentSession;
use crate::state::AuthState;

/// The passkeys domain.
pub(crate) fn domain<S: PasskeyDomain>() -> Domain {
    Domain {
        name: "passkeys",
        routes: routes::<S>,
        doc: Doc::openapi,
    }
}

fn routes<S: PasskeyDomain>(state: &AuthState) -> Option<Router> {
    let api = Api::<S>::of(state)?;
    let routes = Router::new()
        .route("/auth/passkeys", get(list_passkeys::<S>))
        .route(
            "/auth/passkeys/{id}",
            patch(rename_passkey::<S>).delete(delete_passkey::<S>),
        )
        .route("/auth/passkeys/register/start", post(register_start::<S>))
        .route("/auth/passkeys/register/finish", post(register_finish::<S>))
        .route("/auth/passkeys/sign-in/start", post(sign_in_start::<S>))
        .route("/auth/passkeys/sign-in/finish", post(sign_in_finish::<S>))
        .route("/auth/passkeys/sign-up/start", post(sign_up_start::<S>))
        .route("/auth/passkeys/sign-up/finish", post(sign_up_finish::<S>))
        .route(
            "/auth/mfa/challenge/passkey/start",
            post(challenge_start::<S>),
        )
        .route(
            "/auth/mfa/challenge/passkey/finish",
            post(challenge_finish::<S>),
        )
        .with_state(api);
    Some(routes)
}

/// The OpenAPI paths of the passkeys domain.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_passkeys,
        rename_passkey,
        delete_passkey,
        register_start,
        register_finish,
        sign_in_start,
        sign_in_finish,
        sign_up_start,
        sign_up_finish,
        challenge_start,
        challenge_finish
    ),
    tags((name = "passkeys", description = "Passkeys (WebAuthn)"))
)]
pub(crate) struct Doc;

fn challenge(started: PasskeyChallenge) -> Json<PasskeyChallengeResponse> {
    Json(PasskeyChallengeResponse {
        handle: started.handle.expose().to_owned(),
        options: started.options,
    })
}

fn passkey_id(raw: &str) -> Result<PasskeyId, ApiError> {
    Ok(raw.parse()?)
}

/// Your passkeys, oldest first.
#[utoipa::path(get, path = "/auth/passkeys", tag = "passkeys",
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<PasskeyView>)))]
pub(crate) async fn list_passkeys<S: PasskeyDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
) -> Result<Json<Vec<PasskeyView>>, ApiError> {
    let list = api
        .auth
        .passkeys()
        .list(&current.caller(), current.user().id)
        .await?;
    Ok(Json(list.iter().map(|p| p.view()).collect()))
}

/// Renames one of your passkeys.
#[utoipa::path(patch, path = "/auth/passkeys/{id}", tag = "passkeys",
    request_body = PasskeyRenameBody,
    params(("id" = String, Path, description = "Passkey id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = PasskeyView),
        (status = 404, description = "PASSKEY_NOT_FOUND", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (name)", body = ErrorBody),
    ))]
pub(crate) async fn rename_passkey<S: PasskeyDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PasskeyRenameBody>,
) -> Result<Json<PasskeyView>, ApiError> {
    let id = passkey_id(&id)?;
    let renamed = api
        .auth
        .passkeys()
        .rename(&current.caller(), id, &body.name, &meta)
        .await?;
    Ok(Json(renamed.view()))
}

/// Removes one of your passkeys; never your last way to sign in.
#[utoipa::path(delete, path = "/auth/passkeys/{id}", tag = "passkeys",
    params(("id" = String, Path, description = "Passkey id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 204),
        (status = 404, description = "PASSKEY_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "LAST_SIGN_IN_METHOD (no password, linked identity or other passkey would remain)", body = ErrorBody),
    ))]
pub(crate) async fn delete_passkey<S: PasskeyDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = passkey_id(&id)?;
    api.auth
        .passkeys()
        .remove(&current.caller(), id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts registering a passkey for you: creation options excluding your passkeys.
#[utoipa::path(post, path = "/auth/passkeys/register/start", tag = "passkeys",
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, body = PasskeyChallengeResponse)))]
pub(crate) async fn register_start<S: PasskeyDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
) -> Result<Json<PasskeyChallengeResponse>, ApiError> {
    Ok(challenge(
        api.auth.passkeys().register_start(&current.auth).await?,
    ))
}

/// Finishes a registration and stores the passkey. The handle is spent, even when the
/// response is refused.
#[utoipa::path(post, path = "/auth/passkeys/register/finish", tag = "passkeys",
    request_body = PasskeyRegisterFinishBody,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, body = PasskeyView),
        (status = 400, description = "CEREMONY_INVALID, CEREMONY_EXPIRED, PASSKEY_REJECTED, PASSKEY_ORIGIN_MISMATCH, PASSKEY_RP_ID_MISMATCH", body = ErrorBody),
        (status = 409, description = "PASSKEY_ALREADY_REGISTERED", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (name, response)", body = ErrorBody),
    ))]
pub(crate) async fn register_finish<S: PasskeyDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<PasskeyRegisterFinishBody>,
) -> Result<Response, ApiError> {
    let passkey = api
        .auth
        .passkeys()
        .register_finish(
            &current.auth,
            body.handle.expose(),
            body.name.as_deref(),
            &body.response,
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(passkey.view())).into_response())
}

/// Starts a passkey sign-in: discoverable without `email` (no username typed; the
/// options carry `mediation: "conditional"` for autofill), else for that address.
#[utoipa::path(post, path = "/auth/passkeys/sign-in/start", tag = "passkeys",
    request_body = PasskeySignInStartBody,
    responses(
        (status = 200, body = PasskeyChallengeResponse),
        (status = 422, description = "INVALID_EMAIL", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED (flows started from this client network; see Retry-After)", body = ErrorBody),
    ))]
pub(crate) async fn sign_in_start<S: PasskeyDomain>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<PasskeySignInStartBody>,
) -> Result<Json<PasskeyChallengeResponse>, ApiError> {
    Ok(challenge(
        api.auth
            .passkeys()
            .sign_in_start(body.email.as_deref(), &meta)
            .await?,
    ))
}

/// Finishes a passkey sign-in: a session (a cookie for browsers, tokens in token mode),
/// `aal2` when the authenticator verified the user. A session the request presents ends.
#[utoipa::path(post, path = "/auth/passkeys/sign-in/finish", tag = "passkeys",
    request_body = PasskeyFinishBody,
    responses(
        (status = 200, description = "Signed in", body = SessionResponse),
        (status = 400, description = "CEREMONY_INVALID, CEREMONY_EXPIRED, PASSKEY_REJECTED, PASSKEY_UNKNOWN_CREDENTIAL, PASSKEY_USER_MISMATCH, PASSKEY_ORIGIN_MISMATCH, PASSKEY_RP_ID_MISMATCH, PASSKEY_COUNTER_REGRESSION", body = ErrorBody),
        (status = 403, description = "EMAIL_NOT_VERIFIED, CSRF_REJECTED (cookie mode from another origin)", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (response)", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED (attempts against this account; see Retry-After)", body = ErrorBody),
    ))]
pub(crate) async fn sign_in_finish<S: PasskeyDomain>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<PasskeyFinishBody>,
) -> Result<Response, ApiError> {
    check_sign_in_origin(&headers, &api.state, body.mode)?;
    let meta = presenting_session(meta, &headers, &api.state);
    let done = api
        .auth
        .passkeys()
        .sign_in_finish(body.handle.expose(), &body.response, &meta)
        .await?;
    Ok(signed_in(&api, done, body.mode, StatusCode::OK))
}

/// Starts a passwordless sign-up: creation options for a new account with this address.
#[utoipa::path(post, path = "/auth/passkeys/sign-up/start", tag = "passkeys",
    request_body = PasskeySignUpStartBody,
    responses(
        (status = 200, body = PasskeyChallengeResponse),
        (status = 409, description = "EMAIL_IN_USE (unless enumeration-safe sign-up is on)", body = ErrorBody),
        (status = 422, description = "INVALID_EMAIL, INVALID_INPUT (name)", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED (too many sign-ups from this network)", body = ErrorBody),
    ))]
pub(crate) async fn sign_up_start<S: PasskeyDomain>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<PasskeySignUpStartBody>,
) -> Result<Json<PasskeyChallengeResponse>, ApiError> {
    Ok(challenge(
        api.auth
            .passkeys()
            .sign_up_start(&body.email, body.name.as_deref(), &meta)
            .await?,
    ))
}

/// Finishes a passwordless sign-up: the account is created with the passkey as its first
/// credential, and signed in (or, when the app requires a verified address, a code is
/// sent first, as for password sign-up).
#[utoipa::path(post, path = "/auth/passkeys/sign-up/finish", tag = "passkeys",
    request_body = PasskeyFinishBody,
    responses(
        (status = 201, description = "Signed up and signed in", body = SessionResponse),
        (status = 202, description = "Signed up; verify the email address, then sign in", body = VerificationPending),
        (status = 400, description = "CEREMONY_INVALID, CEREMONY_EXPIRED, PASSKEY_REJECTED, PASSKEY_ORIGIN_MISMATCH, PASSKEY_RP_ID_MISMATCH", body = ErrorBody),
        (status = 403, description = "CSRF_REJECTED (cookie mode from another origin)", body = ErrorBody),
        (status = 409, description = "EMAIL_IN_USE, PASSKEY_ALREADY_REGISTERED", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (response)", body = ErrorBody),
    ))]
pub(crate) async fn sign_up_finish<S: PasskeyDomain>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<PasskeyFinishBody>,
) -> Result<Response, ApiError> {
    check_sign_in_origin(&headers, &api.state, body.mode)?;
    let meta = presenting_session(meta, &headers, &api.state);
    let outcome = api
        .auth
        .passkeys()
        .sign_up_finish(body.handle.expose(), &body.response, &meta)
        .await?;
    Ok(sign_up_outcome(&api, outcome, body.mode))
}

/// Starts completing a sign-in that answered `202 MFA_REQUIRED` with a passkey: the
/// options for the challenged user's passkeys (for the challenge's holder only; counts no
/// attempt).
#[utoipa::path(post, path = "/auth/mfa/challenge/passkey/start", tag = "mfa",
    request_body = MfaPasskeyStartBody,
    responses(
        (status = 200, body = PasskeyChallengeResponse),
        (status = 400, description = "MFA_CHALLENGE_INVALID, MFA_CHALLENGE_EXPIRED", body = ErrorBody),
        (status = 404, description = "PASSKEY_NOT_FOUND (the user has no passkey)", body = ErrorBody),
        (status = 422, description = "INVALID_BODY", body = ErrorBody),
        (status = 429, description = "TOO_MANY_ATTEMPTS (sign in again)", body = ErrorBody),
    ))]
pub(crate) async fn challenge_start<S: PasskeyDomain>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<MfaPasskeyStartBody>,
) -> Result<Json<PasskeyChallengeResponse>, ApiError> {
    let started = api
        .auth
        .passkeys()
        .start_challenge(body.challenge.expose(), &meta)
        .await?;
    Ok(challenge(started))
}

/// Completes a sign-in that answered `202 MFA_REQUIRED` with the passkey response: signs
/// in at `aal2` (a cookie, or tokens in token mode).
#[utoipa::path(post, path = "/auth/mfa/challenge/passkey/finish", tag = "mfa",
    request_body = MfaPasskeyFinishBody,
    responses(
        (status = 200, description = "Signed in at aal2", body = SessionResponse),
        (status = 400, description = "MFA_CHALLENGE_INVALID, MFA_CHALLENGE_EXPIRED, CEREMONY_INVALID, CEREMONY_EXPIRED, PASSKEY_REJECTED, PASSKEY_UNKNOWN_CREDENTIAL, PASSKEY_USER_MISMATCH, PASSKEY_ORIGIN_MISMATCH, PASSKEY_RP_ID_MISMATCH, PASSKEY_COUNTER_REGRESSION", body = ErrorBody),
        (status = 403, description = "CSRF_REJECTED (cookie mode from another origin)", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (response), INVALID_BODY", body = ErrorBody),
        (status = 429, description = "TOO_MANY_ATTEMPTS (sign in again), RATE_LIMITED", body = ErrorBody),
    ))]
pub(crate) async fn challenge_finish<S: PasskeyDomain>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<MfaPasskeyFinishBody>,
) -> Result<Response, ApiError> {
    check_sign_in_origin(&headers, &api.state, body.mode)?;
    let meta = presenting_session(meta, &headers, &api.state);
    let done = api
        .auth
        .passkeys()
        .finish_challenge(
            body.challenge.expose(),
            body.handle.expose(),
            &body.response,
            &meta,
        )
        .await?;
    Ok(signed_in(&api, done, body.mode, StatusCode::OK))
}
