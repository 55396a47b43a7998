//! A SAML connection's service-provider endpoints (feature `saml`): the ACS, where the
//! identity provider's page posts its response (HTTP-POST binding), and the SP metadata an
//! organization's admin gives their IdP. Both are public: the ACS proves itself with the
//! response's signature and the browser's flow cookie, the metadata holds no secret.

use auth_core::saml::MAX_RESPONSE_BYTES;
use auth_core::{AuthError, ErrorCode, SsoConnectionId, SsoDomain};
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::auth::presenting_session;
use super::sso_sign_in::landing;
use super::{Api, Meta};
use crate::body::ApiPath;
use crate::cookies;
use crate::error::{ApiError, ErrorBody};
use crate::principal::session_cookie;

/// The form fields of the HTTP-POST binding on top of the response itself.
const FORM_OVERHEAD: usize = 4 * 1024;

/// The ACS and metadata routes.
pub(super) fn routes<S: SsoDomain>(state: &crate::AuthState) -> Option<Router> {
    let api = Api::<S>::of(state)?;
    let routes = Router::new()
        .route(
            "/auth/sso/saml/{connection_id}/acs",
            post(acs::<S>).layer(DefaultBodyLimit::max(MAX_RESPONSE_BYTES + FORM_OVERHEAD)),
        )
        .route(
            "/auth/sso/saml/{connection_id}/metadata",
            get(metadata::<S>),
        )
        .with_state(api);
    Some(routes)
}

/// The SAML paths.
#[derive(OpenApi)]
#[openapi(paths(acs, metadata))]
pub(super) struct Doc;

/// What the identity provider's page posts (HTTP-POST binding).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AcsForm {
    /// The base64 SAML response.
    #[serde(rename = "SAMLResponse")]
    #[schema(max_length = 262144)]
    saml_response: String,
    /// The RelayState of the request (the flow's handle), or the IdP's.
    #[serde(rename = "RelayState", default)]
    #[schema(max_length = 80)]
    relay_state: Option<String>,
}

/// A SAML connection's Assertion Consumer Service: takes the identity provider's response
/// (posted by the user's browser from the IdP's page), verifies it for the connection and
/// the browser's flow, and signs the person in (see `docs/sso.md`). Always answers 303 to
/// the app's post-sign-in path: with the session cookie, or with `?sso_error=<CODE>`.
#[utoipa::path(post, path = "/auth/sso/saml/{connection_id}/acs", tag = "sso",
    params(("connection_id" = String, Path, description = "The SAML connection")),
    request_body(content = AcsForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "To the post-sign-in path; `?sso_error=<CODE>` when refused (SAML_RESPONSE_INVALID, SAML_SIGNATURE_INVALID, SAML_AUDIENCE_MISMATCH, SAML_DESTINATION_MISMATCH, SAML_EXPIRED, SAML_REQUEST_UNKNOWN, SAML_IDP_INITIATED_REFUSED, SAML_REPLAYED, SAML_STATUS, SSO_EMAIL_NOT_ALLOWED, SSO_LINK_REFUSED, SSO_CONNECTION_INACTIVE, SSO_CONNECTION_NOT_FOUND, INVALID_INPUT, ...)",
            headers(("location" = String, description = "Where the browser goes next"))),
        (status = 413, description = "PAYLOAD_TOO_LARGE (a response over 256 KiB)", body = ErrorBody),
    ))]
pub(crate) async fn acs<S: SsoDomain>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    headers: HeaderMap,
    axum::extract::Path(connection_id): axum::extract::Path<String>,
    form: Result<Form<AcsForm>, FormRejection>,
) -> Response {
    let Some(config) = api.state.config() else {
        return ApiError::not_configured().into_response();
    };
    if let Err(rejection) = &form
        && rejection.status() == StatusCode::PAYLOAD_TOO_LARGE
    {
        return ApiError::new(ErrorCode::PayloadTooLarge, "request body too large").into_response();
    }
    let bound = session_cookie(&headers, cookies::sso_flow_name(config));
    let result = match (connection_id.parse::<SsoConnectionId>(), form) {
        (Ok(id), Ok(Form(posted))) => {
            let meta = presenting_session(meta, &headers, &api.state);
            api.auth
                .sso()
                .finish_saml(
                    id,
                    &posted.saml_response,
                    posted.relay_state.as_deref(),
                    bound,
                    &meta,
                )
                .await
        }
        (Err(error), _) => Err(error),
        (_, Err(_)) => Err(AuthError::invalid("body", "not a SAML HTTP-POST form")),
    };
    landing(config, result)
}

/// This service provider's metadata for the SAML connection (any status): what the
/// organization's admin gives their identity provider (entity id, ACS URL).
#[utoipa::path(get, path = "/auth/sso/saml/{connection_id}/metadata", tag = "sso",
    params(("connection_id" = String, Path, description = "The SAML connection")),
    responses(
        (status = 200, description = "SAML 2.0 SP metadata", body = String,
            content_type = "application/samlmetadata+xml"),
        (status = 404, description = "SSO_CONNECTION_NOT_FOUND", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (a malformed id, or not a SAML connection)", body = ErrorBody),
    ))]
pub(crate) async fn metadata<S: SsoDomain>(
    State(api): State<Api<S>>,
    ApiPath(connection_id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id: SsoConnectionId = connection_id.parse()?;
    let xml = api.auth.saml().sp_metadata(id).await?;
    let content_type = HeaderValue::from_static("application/samlmetadata+xml");
    Ok(([(header::CONTENT_TYPE, content_type)], xml).into_response())
}
