//! `/auth/groups/{id}/sso/connections/{connection_id}/scim`: turning a connection's SCIM
//! provisioning on and off, and its bearer token, for the organization's admins
//! (`sso:manage`; the service decides). The token is shown once, when issued.

use auth_core::scim::{DeprovisionMode, ScimConfigView, ScimSettings};
use auth_core::{AuthError, Entity, ScimDomain};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{OpenApi, ToSchema};

use super::sso::ConnectionPath;
use super::{Api, Domain, Meta};
use crate::body::{ApiJson, ApiPath};
use crate::error::{ApiError, ErrorBody};
use crate::principal::CurrentSession;
use crate::state::AuthState;

/// The SCIM set-up domain.
pub(crate) fn domain<S: ScimDomain>() -> Domain {
    Domain {
        name: "scim",
        routes: routes::<S>,
        doc: Doc::openapi,
    }
}

fn routes<S: ScimDomain>(state: &AuthState) -> Option<Router> {
    let api = Api::<S>::of(state)?;
    let routes = Router::new()
        .route(
            "/auth/groups/{id}/sso/connections/{connection_id}/scim",
            get(get_scim::<S>).put(configure_scim::<S>),
        )
        .route(
            "/auth/groups/{id}/sso/connections/{connection_id}/scim/token",
            post(rotate_scim_token::<S>),
        )
        .with_state(api);
    Some(routes)
}

/// The OpenAPI paths of the SCIM set-up.
#[derive(OpenApi)]
#[openapi(paths(get_scim, configure_scim, rotate_scim_token))]
pub(crate) struct Doc;

/// What deprovisioning does.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Deprovision {
    /// Suspend the user's memberships in the organization and end their sessions.
    Soft,
    /// As `soft`, and a DELETE deletes the user when they belong to no other
    /// organization.
    Hard,
}

impl From<Deprovision> for DeprovisionMode {
    fn from(d: Deprovision) -> Self {
        match d {
            Deprovision::Soft => DeprovisionMode::Soft,
            Deprovision::Hard => DeprovisionMode::Hard,
        }
    }
}

impl From<DeprovisionMode> for Deprovision {
    fn from(d: DeprovisionMode) -> Self {
        match d {
            DeprovisionMode::Hard => Deprovision::Hard,
            _ => Deprovision::Soft,
        }
    }
}

/// Body of `PUT .../scim`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimSettingsBody {
    /// Whether the directory's requests are accepted.
    pub enabled: bool,
    /// What deprovisioning does (`soft` when absent).
    #[serde(default)]
    pub deprovision: Option<Deprovision>,
}

/// A connection's SCIM set-up; `token` only when it was just issued.
#[derive(Serialize, ToSchema)]
pub struct ScimConfigResponse {
    /// The connection.
    pub connection_id: String,
    /// Whether the directory's requests are accepted.
    pub enabled: bool,
    /// What deprovisioning does.
    pub deprovision: Deprovision,
    /// When the current token was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub token_created_at: OffsetDateTime,
    /// The bearer token for the directory: copy it now, it cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl std::fmt::Debug for ScimConfigResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimConfigResponse")
            .field("connection_id", &self.connection_id)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl ScimConfigResponse {
    fn of(view: ScimConfigView, token: Option<String>) -> Self {
        Self {
            connection_id: view.connection_id.to_string(),
            enabled: view.enabled,
            deprovision: view.deprovision.into(),
            token_created_at: view.token_created_at,
            token,
        }
    }
}

/// A newly issued token.
#[derive(Serialize, ToSchema)]
pub struct ScimTokenResponse {
    /// The bearer token for the directory: copy it now, it cannot be shown again.
    pub token: String,
}

impl std::fmt::Debug for ScimTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScimTokenResponse { .. }")
    }
}

/// The connection's SCIM set-up.
#[utoipa::path(get, path = "/auth/groups/{id}/sso/connections/{connection_id}/scim", tag = "sso",
    params(ConnectionPath),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = ScimConfigResponse),
        (status = 403, description = "FORBIDDEN (no sso:manage)", body = ErrorBody),
        (status = 404, description = "SSO_CONNECTION_NOT_FOUND (also when SCIM was never set up)", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (a malformed id)", body = ErrorBody),
    ))]
pub(crate) async fn get_scim<S: ScimDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(path): ApiPath<ConnectionPath>,
) -> Result<Json<ScimConfigResponse>, ApiError> {
    let (group, connection) = path.ids()?;
    let view = api
        .auth
        .scim()
        .get_config(&current.caller(), group, connection)
        .await?
        .ok_or(AuthError::NotFound(Entity::SsoConnection))?;
    Ok(Json(ScimConfigResponse::of(view, None)))
}

/// Turns SCIM on or off for the connection, or changes how it deprovisions. The first
/// call issues the directory's bearer token and returns it, the only time it is shown.
#[utoipa::path(put, path = "/auth/groups/{id}/sso/connections/{connection_id}/scim", tag = "sso",
    request_body = ScimSettingsBody,
    params(ConnectionPath),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = ScimConfigResponse),
        (status = 403, description = "FORBIDDEN (no sso:manage)", body = ErrorBody),
        (status = 404, description = "SSO_CONNECTION_NOT_FOUND", body = ErrorBody),
        (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT, INVALID_BODY", body = ErrorBody),
    ))]
pub(crate) async fn configure_scim<S: ScimDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(path): ApiPath<ConnectionPath>,
    ApiJson(body): ApiJson<ScimSettingsBody>,
) -> Result<Json<ScimConfigResponse>, ApiError> {
    let (group, connection) = path.ids()?;
    let settings = ScimSettings {
        enabled: body.enabled,
        deprovision: body.deprovision.map_or(DeprovisionMode::Soft, Into::into),
    };
    let (view, token) = api
        .auth
        .scim()
        .configure(&current.caller(), group, connection, settings, &meta)
        .await?;
    let token = token.map(|t| t.expose().to_owned());
    Ok(Json(ScimConfigResponse::of(view, token)))
}

/// Issues a new bearer token for the directory; the old one stops working at once.
#[utoipa::path(post, path = "/auth/groups/{id}/sso/connections/{connection_id}/scim/token", tag = "sso",
    params(ConnectionPath),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = ScimTokenResponse),
        (status = 403, description = "FORBIDDEN (no sso:manage)", body = ErrorBody),
        (status = 404, description = "SSO_CONNECTION_NOT_FOUND (also when SCIM was never set up)", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (a malformed id)", body = ErrorBody),
    ))]
pub(crate) async fn rotate_scim_token<S: ScimDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(path): ApiPath<ConnectionPath>,
) -> Result<Json<ScimTokenResponse>, ApiError> {
    let (group, connection) = path.ids()?;
    let token = api
        .auth
        .scim()
        .rotate_token(&current.caller(), group, connection, &meta)
        .await?;
    Ok(Json(ScimTokenResponse {
        token: token.expose().to_owned(),
    }))
}
