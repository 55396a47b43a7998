//! `/auth/groups/{id}/sso/connections` and `/auth/groups/{id}/domains`: an organization's
//! identity providers and the email domains it claims, for its admins.
//!
//! Reading needs `sso:read` on the organization, changing `sso:manage` (the service
//! decides): a caller with no standing there gets `404`, a member without the permission
//! `403`. A connection or domain of another organization is `404`. The OIDC client secret
//! is write-only: no response carries it (`has_client_secret` says whether one is stored).

use std::collections::BTreeMap;

use auth_core::sso::{
    ConnectionStatus, NewSsoConnection, OrgDomain, ProtocolInput, Readiness, SsoConnectionFilter,
    SsoConnectionOrder, SsoConnectionPatch, SsoConnectionView,
};
use auth_core::{
    AuthError, Caller, GroupId, ListQuery, OrgDomainId, Page, SsoConnectionId, SsoDomain,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{Api, Domain, Meta};
use crate::body::{ApiJson, ApiPath, ApiQuery};
use crate::error::{ApiError, ErrorBody};
use crate::principal::CurrentSession;
use crate::state::AuthState;

/// The SSO management domain.
pub(crate) fn domain<S: SsoDomain>() -> Domain {
    Domain {
        name: "sso",
        routes: routes::<S>,
        doc: Doc::openapi,
    }
}

fn routes<S: SsoDomain>(state: &AuthState) -> Option<Router> {
    let api = Api::<S>::of(state)?;
    let routes = Router::new()
        .route(
            "/auth/groups/{id}/sso/connections",
            get(list_connections::<S>).post(create_connection::<S>),
        )
        .route(
            "/auth/groups/{id}/sso/connections/{connection_id}",
            get(get_connection::<S>)
                .patch(update_connection::<S>)
                .delete(delete_connection::<S>),
        )
        .route(
            "/auth/groups/{id}/sso/connections/{connection_id}/readiness",
            get(readiness::<S>),
        )
        .route(
            "/auth/groups/{id}/domains",
            get(list_domains::<S>).post(add_domain::<S>),
        )
        .route(
            "/auth/groups/{id}/domains/{domain_id}",
            axum::routing::delete(remove_domain::<S>),
        )
        .route(
            "/auth/groups/{id}/domains/{domain_id}/verify",
            post(verify_domain::<S>),
        )
        .route(
            "/auth/groups/{id}/domains/{domain_id}/require-sso",
            put(set_require_sso::<S>),
        )
        .with_state(api);
    Some(routes)
}

/// The OpenAPI paths of the SSO management domain.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_connections,
        create_connection,
        get_connection,
        update_connection,
        delete_connection,
        readiness,
        list_domains,
        add_domain,
        remove_domain,
        verify_domain,
        set_require_sso,
    ),
    tags((name = "sso", description = "An organization's SSO connections and domains"))
)]
pub(crate) struct Doc;

/// `POST /auth/groups/{id}/sso/connections`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnectionBody {
    /// A name for admins.
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// The protocol (`"protocol": "oidc"` or `"saml"`) and its configuration, which may be
    /// incomplete while a draft.
    pub config: ProtocolInput,
    /// The status (default `draft`; `active` only once every configuration check passes).
    #[serde(default)]
    pub status: Option<ConnectionStatus>,
    /// The role of members provisioned just in time (default: the policy's default role).
    #[serde(default)]
    pub default_role: Option<String>,
    /// IdP group → role.
    #[serde(default)]
    pub role_mapping: BTreeMap<String, String>,
    /// App-defined JSON (default `{}`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub extend: Option<Value>,
}

impl NewConnectionBody {
    /// The service's input for organization `group_id`.
    fn into_input(self, group_id: GroupId) -> NewSsoConnection {
        NewSsoConnection {
            group_id,
            name: self.name,
            config: self.config,
            status: self.status,
            default_role: self.default_role,
            role_mapping: self.role_mapping,
            extend: self.extend,
        }
    }
}

/// The query of `GET /auth/groups/{id}/sso/connections`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConnectionQuery {
    /// Only connections with this status.
    pub status: Option<ConnectionStatus>,
    /// Page size, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `POST /auth/groups/{id}/domains`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddDomainBody {
    /// The domain (`example.com`; IDNA names are converted to ASCII).
    #[schema(max_length = 253)]
    pub domain: String,
}

/// `PUT /auth/groups/{id}/domains/{domain_id}/require-sso`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequireSsoBody {
    /// Whether the domain's addresses must sign in through SSO.
    pub require_sso: bool,
}

/// A domain with the DNS TXT record that proves control of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainResponse {
    /// The domain.
    #[serde(flatten)]
    pub domain: OrgDomain,
    /// Where to publish the TXT record (`_auth-rs-challenge.<domain>`).
    pub txt_name: String,
    /// The TXT record's value (`auth-rs-domain-verification=<token>`).
    pub txt_value: String,
}

impl From<OrgDomain> for DomainResponse {
    fn from(domain: OrgDomain) -> Self {
        Self {
            txt_name: domain.txt_name(),
            txt_value: domain.txt_value(),
            domain,
        }
    }
}

/// An organization's domains.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainList {
    /// Every domain, by name.
    pub items: Vec<DomainResponse>,
}

fn group_id(raw: &str) -> Result<GroupId, ApiError> {
    Ok(raw.parse()?)
}

/// The path of one connection.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConnectionPath {
    /// Group id.
    id: String,
    /// Connection id.
    connection_id: String,
}

impl ConnectionPath {
    /// The organization's and the connection's ids.
    pub(crate) fn ids(&self) -> Result<(GroupId, SsoConnectionId), ApiError> {
        Ok((self.id.parse()?, self.connection_id.parse()?))
    }
}

/// The path of one domain.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DomainPath {
    /// Group id.
    id: String,
    /// Domain id.
    domain_id: String,
}

impl DomainPath {
    /// The organization's and the domain's ids.
    fn ids(&self) -> Result<(GroupId, OrgDomainId), ApiError> {
        Ok((self.id.parse()?, self.domain_id.parse()?))
    }
}

/// The organization's connections, a page at a time (`sso:read`).
#[utoipa::path(get, path = "/auth/groups/{id}/sso/connections", tag = "sso",
    params(("id" = String, Path, description = "Group id"), ConnectionQuery),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = Page<SsoConnectionView>),
        (status = 403, description = "FORBIDDEN (no sso:read)", body = ErrorBody),
        (status = 404, description = "GROUP_NOT_FOUND (also for non-members)", body = ErrorBody),
        (status = 422, description = "INVALID_CURSOR, INVALID_INPUT", body = ErrorBody),
    ))]
pub(crate) async fn list_connections<S: SsoDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ConnectionQuery>,
) -> Result<Json<Page<SsoConnectionView>>, ApiError> {
    let filter = SsoConnectionFilter {
        status: q.status,
        ..SsoConnectionFilter::group(group_id(&id)?)
    };
    let mut query = ListQuery::new(filter, SsoConnectionOrder::CreatedAt);
    query.limit = q.limit;
    query.cursor = q.cursor;
    Ok(Json(
        api.auth
            .sso()
            .list_connections(&current.caller(), query)
            .await?,
    ))
}

/// Creates a connection (`sso:manage`): a draft unless `status` says otherwise. The client
/// secret is sealed and never returned.
#[utoipa::path(post, path = "/auth/groups/{id}/sso/connections", tag = "sso",
    request_body = NewConnectionBody,
    params(("id" = String, Path, description = "Group id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, body = SsoConnectionView),
        (status = 403, description = "FORBIDDEN (no sso:manage, or a role above yours)", body = ErrorBody),
        (status = 404, description = "GROUP_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "SSO_CONNECTION_NOT_READY (active but a check fails)", body = ErrorBody),
        (status = 413, description = "PAYLOAD_TOO_LARGE", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (name, URLs, metadata, scopes, roles), INVALID_BODY", body = ErrorBody),
    ))]
pub(crate) async fn create_connection<S: SsoDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewConnectionBody>,
) -> Result<Response, ApiError> {
    let input = body.into_input(group_id(&id)?);
    let view = api
        .auth
        .sso()
        .create_connection(&current.caller(), input, &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// One connection (`sso:read`).
#[utoipa::path(get, path = "/auth/groups/{id}/sso/connections/{connection_id}", tag = "sso",
    params(ConnectionPath),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = SsoConnectionView),
        (status = 403, body = ErrorBody),
        (status = 404, description = "SSO_CONNECTION_NOT_FOUND (also another group's)", body = ErrorBody),
    ))]
pub(crate) async fn get_connection<S: SsoDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(path): ApiPath<ConnectionPath>,
) -> Result<Json<SsoConnectionView>, ApiError> {
    let (group, id) = path.ids()?;
    Ok(Json(
        api.auth
            .sso()
            .get_connection(&current.caller(), group, id)
            .await?,
    ))
}

/// Changes a connection (`sso:manage`): name, status (`active` once ready, `disabled`),
/// configuration (an OIDC one without `client_secret` keeps the stored secret;
/// `clear_client_secret` removes it), roles, `extend`.
#[utoipa::path(patch, path = "/auth/groups/{id}/sso/connections/{connection_id}", tag = "sso",
    request_body = SsoConnectionPatch,
    params(ConnectionPath),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = SsoConnectionView),
        (status = 403, body = ErrorBody),
        (status = 404, description = "SSO_CONNECTION_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "SSO_CONNECTION_NOT_READY", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT, INVALID_BODY", body = ErrorBody),
    ))]
pub(crate) async fn update_connection<S: SsoDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(path): ApiPath<ConnectionPath>,
    ApiJson(patch): ApiJson<SsoConnectionPatch>,
) -> Result<Json<SsoConnectionView>, ApiError> {
    let (group, id) = path.ids()?;
    Ok(Json(
        api.auth
            .sso()
            .update_connection(&current.caller(), group, id, patch, &meta)
            .await?,
    ))
}

/// Deletes a connection (`sso:manage`).
#[utoipa::path(delete, path = "/auth/groups/{id}/sso/connections/{connection_id}", tag = "sso",
    params(ConnectionPath),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 204),
        (status = 403, body = ErrorBody),
        (status = 404, description = "SSO_CONNECTION_NOT_FOUND", body = ErrorBody),
    ))]
pub(crate) async fn delete_connection<S: SsoDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(path): ApiPath<ConnectionPath>,
) -> Result<StatusCode, ApiError> {
    let (group, id) = path.ids()?;
    api.auth
        .sso()
        .delete_connection(&current.caller(), group, id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every readiness check of a connection (`sso:read`), passed or failed: what is
/// configured, what is missing, its status, and whether the organization has a verified
/// domain.
#[utoipa::path(get, path = "/auth/groups/{id}/sso/connections/{connection_id}/readiness", tag = "sso",
    params(ConnectionPath),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = Readiness),
        (status = 403, body = ErrorBody),
        (status = 404, description = "SSO_CONNECTION_NOT_FOUND", body = ErrorBody),
    ))]
pub(crate) async fn readiness<S: SsoDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(path): ApiPath<ConnectionPath>,
) -> Result<Json<Readiness>, ApiError> {
    let (group, id) = path.ids()?;
    Ok(Json(
        api.auth
            .sso()
            .readiness(&current.caller(), group, id)
            .await?,
    ))
}

/// The organization's domains (`sso:read`), by name, each with its TXT record.
#[utoipa::path(get, path = "/auth/groups/{id}/domains", tag = "sso",
    params(("id" = String, Path, description = "Group id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = DomainList),
        (status = 403, body = ErrorBody),
        (status = 404, description = "GROUP_NOT_FOUND", body = ErrorBody),
    ))]
pub(crate) async fn list_domains<S: SsoDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DomainList>, ApiError> {
    let domains = api
        .auth
        .sso()
        .list_domains(&current.caller(), group_id(&id)?)
        .await?;
    Ok(Json(DomainList {
        items: domains.into_iter().map(DomainResponse::from).collect(),
    }))
}

/// Claims a domain for the organization (`sso:manage`), unverified: publish `txt_value`
/// as a TXT record at `txt_name`, then verify.
#[utoipa::path(post, path = "/auth/groups/{id}/domains", tag = "sso", request_body = AddDomainBody,
    params(("id" = String, Path, description = "Group id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, body = DomainResponse),
        (status = 403, body = ErrorBody),
        (status = 404, description = "GROUP_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "DOMAIN_TAKEN (claimed here already, or verified by another organization)", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT (not a domain; too many), INVALID_BODY", body = ErrorBody),
    ))]
pub(crate) async fn add_domain<S: SsoDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddDomainBody>,
) -> Result<Response, ApiError> {
    let domain = api
        .auth
        .sso()
        .add_domain(&current.caller(), group_id(&id)?, &body.domain, &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(DomainResponse::from(domain))).into_response())
}

/// Removes a domain from the organization (`sso:manage`).
#[utoipa::path(delete, path = "/auth/groups/{id}/domains/{domain_id}", tag = "sso",
    params(DomainPath),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 204),
        (status = 403, body = ErrorBody),
        (status = 404, description = "DOMAIN_NOT_FOUND", body = ErrorBody),
    ))]
pub(crate) async fn remove_domain<S: SsoDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(path): ApiPath<DomainPath>,
) -> Result<StatusCode, ApiError> {
    let (group, id) = path.ids()?;
    api.auth
        .sso()
        .remove_domain(&current.caller(), group, id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Verifies a domain (`sso:manage`) by its DNS TXT record, read through the app's
/// `DomainVerifier`. When the record is missing or wrong, the error's message names the
/// TXT record to publish.
#[utoipa::path(post, path = "/auth/groups/{id}/domains/{domain_id}/verify", tag = "sso",
    params(DomainPath),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = DomainResponse),
        (status = 400, description = "DOMAIN_VERIFICATION_FAILED (the message names the record to publish)", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "DOMAIN_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "DOMAIN_TAKEN (another organization verified it first)", body = ErrorBody),
        (status = 500, description = "NOT_CONFIGURED (the app has no domain verifier)", body = ErrorBody),
        (status = 503, description = "DNS_UNAVAILABLE (retry)", body = ErrorBody),
    ))]
pub(crate) async fn verify_domain<S: SsoDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(path): ApiPath<DomainPath>,
) -> Result<Json<DomainResponse>, ApiError> {
    let (group, id) = path.ids()?;
    let caller = current.caller();
    let sso = api.auth.sso();
    match sso.verify_domain(&caller, group, id, &meta).await {
        Ok(domain) => Ok(Json(domain.into())),
        Err(error @ AuthError::DomainVerificationFailed(_)) => {
            Err(with_record_to_publish(&api, &caller, group, id, error).await)
        }
        Err(error) => Err(error.into()),
    }
}

/// `error` (a failed verification) with the TXT record to publish in its message.
async fn with_record_to_publish<S: SsoDomain>(
    api: &Api<S>,
    caller: &Caller,
    group: GroupId,
    id: OrgDomainId,
    error: AuthError,
) -> ApiError {
    let domain = match api.auth.sso().list_domains(caller, group).await {
        Ok(domains) => domains.into_iter().find(|d| d.id == id),
        Err(_) => None,
    };
    match domain {
        Some(domain) => ApiError::new(
            error.code(),
            format!(
                "{}: publish a TXT record at {} with the value {}",
                error.public_message(),
                domain.txt_name(),
                domain.txt_value()
            ),
        ),
        None => error.into(),
    }
}

/// Turns the SSO requirement of a verified domain on or off (`sso:manage`): when on,
/// password, emailed-code and passkey sign-in are refused for its addresses with
/// `SSO_REQUIRED`.
#[utoipa::path(put, path = "/auth/groups/{id}/domains/{domain_id}/require-sso", tag = "sso",
    request_body = RequireSsoBody,
    params(DomainPath),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, body = DomainResponse),
        (status = 403, body = ErrorBody),
        (status = 404, description = "DOMAIN_NOT_FOUND", body = ErrorBody),
        (status = 409, description = "DOMAIN_NOT_VERIFIED", body = ErrorBody),
        (status = 422, description = "INVALID_BODY", body = ErrorBody),
    ))]
pub(crate) async fn set_require_sso<S: SsoDomain>(
    State(api): State<Api<S>>,
    current: CurrentSession,
    Meta(meta): Meta,
    ApiPath(path): ApiPath<DomainPath>,
    ApiJson(body): ApiJson<RequireSsoBody>,
) -> Result<Json<DomainResponse>, ApiError> {
    let (group, id) = path.ids()?;
    let domain = api
        .auth
        .sso()
        .set_require_sso(&current.caller(), group, id, body.require_sso, &meta)
        .await?;
    Ok(Json(domain.into()))
}
