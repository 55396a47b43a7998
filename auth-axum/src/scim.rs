//! The SCIM 2.0 server (RFC 7644) a connection's directory provisions through: mount
//! [`AuthState::scim_router`] at `/scim/v2`. Every request carries the connection's bearer
//! token; answers are `application/scim+json`, errors SCIM error messages. This protocol
//! is described by its own discovery endpoints (`/ServiceProviderConfig`,
//! `/ResourceTypes`, `/Schemas`), not by the JSON API's OpenAPI document.

use auth_core::scim::query::ListParams;
use auth_core::scim::render::{list_of, service_provider_config};
use auth_core::scim::schema::{RESOURCE_TYPES, ResourceType, SCHEMAS};
use auth_core::scim::{Directory, Projection, ResourceKind, ScimError, ScimList, ScimResource};
use auth_core::{Auth, RequestMeta, ScimDomain};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use crate::meta::request_meta;
use crate::state::AuthState;

/// Largest SCIM request body (a group's whole member list, or a bulk request, fits).
pub const SCIM_BODY_LIMIT: usize = auth_core::scim::bulk::MAX_PAYLOAD_SIZE;

/// The SCIM media type.
const SCIM_JSON: &str = "application/scim+json";

/// The handlers' state.
struct Scim<S> {
    auth: Auth<S>,
    state: AuthState,
    base_url: String,
    /// The resources of the routes this state serves (`/Users` or `/Groups`).
    kind: ResourceKind,
}

impl<S> Clone for Scim<S> {
    fn clone(&self) -> Self {
        Self {
            auth: self.auth.clone(),
            state: self.state.clone(),
            base_url: self.base_url.clone(),
            kind: self.kind,
        }
    }
}

/// The SCIM routes over `state`'s `Auth`, served under `<origin>/scim/v2`; `None` if the
/// state is over another store.
pub(crate) fn router<S: ScimDomain>(state: &AuthState) -> Option<Router> {
    let auth = state.auth::<S>()?.clone();
    let config = state.config()?;
    let scim = Scim {
        auth,
        state: state.clone(),
        base_url: format!("{}/scim/v2", config.origin),
        kind: ResourceKind::User,
    };
    let routes = Router::new()
        .route("/ServiceProviderConfig", get(provider_config::<S>))
        .route("/ResourceTypes", get(resource_types::<S>))
        .route("/ResourceTypes/{name}", get(resource_type::<S>))
        .route("/Schemas", get(schemas::<S>))
        .route("/Schemas/{id}", get(schema::<S>))
        .route("/.search", post(not_implemented))
        .route("/Bulk", post(bulk::<S>))
        .with_state(scim.clone())
        .merge(resources(scim.clone()))
        .merge(resources(Scim {
            kind: ResourceKind::Group,
            ..scim
        }))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(SCIM_BODY_LIMIT));
    Some(crate::meta::with_request_ids(
        Router::new().nest("/scim/v2", routes),
    ))
}

/// The routes of one resource kind (`/Users` or `/Groups`), over `scim` with its kind.
fn resources<S: ScimDomain>(scim: Scim<S>) -> Router {
    let endpoint = scim.kind.resource_type().endpoint;
    Router::new()
        .route(endpoint, get(list::<S>).post(create::<S>))
        .route(&format!("{endpoint}/.search"), post(search::<S>))
        .route(
            &format!("{endpoint}/{{id}}"),
            get(get_one::<S>)
                .put(replace::<S>)
                .patch(patch::<S>)
                .delete(delete::<S>),
        )
        .with_state(scim)
}

/// A SCIM answer: a JSON body with the SCIM media type, and an `ETag` for a resource.
struct ScimJson {
    status: StatusCode,
    body: Value,
    etag: Option<String>,
    location: Option<String>,
}

impl ScimJson {
    fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            etag: None,
            location: None,
        }
    }

    fn resource(
        status: StatusCode,
        resource: ScimResource,
        projection: &Projection,
        rt: &ResourceType,
    ) -> Self {
        let location = resource
            .body
            .get("meta")
            .and_then(|m| m.get("location"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let etag = Some(resource.etag());
        let mut body = resource.body;
        projection.apply(rt, &mut body);
        Self {
            status,
            body,
            etag,
            location: location.filter(|_| status == StatusCode::CREATED),
        }
    }
}

impl IntoResponse for ScimJson {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON))],
            self.body.to_string(),
        )
            .into_response();
        let headers = response.headers_mut();
        if let Some(tag) = self.etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
            headers.insert(header::ETAG, tag);
        }
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        response
    }
}

/// A refused request, as a SCIM error message.
struct ScimFailure(ScimError);

impl From<ScimError> for ScimFailure {
    fn from(error: ScimError) -> Self {
        Self(error)
    }
}

impl IntoResponse for ScimFailure {
    fn into_response(self) -> Response {
        let error = self.0;
        let status =
            StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON))],
            error.to_json().to_string(),
        )
            .into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        if let Some(seconds) = error.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

type Answer = Result<ScimJson, ScimFailure>;

/// The authenticated directory and the request's metadata.
struct Authed {
    directory: Directory,
    meta: RequestMeta,
}

impl<S: ScimDomain> FromRequestParts<Scim<S>> for Authed {
    type Rejection = ScimFailure;

    async fn from_request_parts(parts: &mut Parts, scim: &Scim<S>) -> Result<Self, ScimFailure> {
        let meta = match scim.state.config() {
            Some(config) => request_meta(parts, config),
            None => RequestMeta::none(),
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then_some(token.trim())
            });
        let directory = scim
            .auth
            .scim()
            .authenticate(token, &scim.base_url, &meta)
            .await?;
        Ok(Authed { directory, meta })
    }
}

/// The list and projection parameters of the query string.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl Params {
    fn projection(&self) -> Result<Projection, ScimError> {
        Projection::parse(
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        )
    }

    fn list(&self) -> Result<ListParams, ScimError> {
        Ok(ListParams {
            filter: self.filter.clone(),
            sort_by: self.sort_by.clone(),
            sort_order: self.sort_order.clone(),
            start_index: integer(self.start_index.as_deref(), "startIndex")?,
            count: integer(self.count.as_deref(), "count")?,
        })
    }
}

fn integer(text: Option<&str>, name: &str) -> Result<Option<i64>, ScimError> {
    text.map(|t| {
        t.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::invalid_value(format!("{name} is an integer")))
    })
    .transpose()
}

/// The query string, or a SCIM 400 for one that does not parse.
fn params(query: Result<Query<Params>, QueryRejection>) -> Result<Params, ScimError> {
    query
        .map(|Query(p)| p)
        .map_err(|_| ScimError::invalid_syntax("the query string is malformed"))
}

/// A JSON request body (any JSON media type); a SCIM 413 beyond [`SCIM_BODY_LIMIT`].
struct ScimBody(Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimFailure;

    async fn from_request(request: Request, state: &S) -> Result<Self, ScimFailure> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ScimError::status(
                        413,
                        None,
                        format!("a SCIM request body is at most {SCIM_BODY_LIMIT} bytes"),
                    )
                } else {
                    ScimError::invalid_syntax("the body could not be read")
                }
            })?;
        Ok(Self(json_body(&bytes)?))
    }
}

fn json_body(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body).map_err(|e| {
        ScimError::invalid_syntax(format!(
            "the body is not JSON: line {} column {}",
            e.line(),
            e.column()
        ))
    })
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

/// A `/.search` body (RFC 7644 §3.4.3).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchRequest {
    filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<Vec<String>>,
    excluded_attributes: Option<Vec<String>>,
}

impl SearchRequest {
    fn parse(body: Value) -> Result<(ListParams, Projection), ScimError> {
        let request: SearchRequest = serde_json::from_value(body).map_err(|e| {
            ScimError::invalid_syntax(format!("the search request is malformed: {e}"))
        })?;
        let projection = Projection::parse(
            request.attributes.map(|a| a.join(",")).as_deref(),
            request.excluded_attributes.map(|a| a.join(",")).as_deref(),
        )?;
        Ok((
            ListParams {
                filter: request.filter,
                sort_by: request.sort_by,
                sort_order: request.sort_order,
                start_index: request.start_index,
                count: request.count,
            },
            projection,
        ))
    }
}

fn listed(list: ScimList, projection: &Projection, rt: &ResourceType) -> ScimJson {
    ScimJson::ok(list.to_json(|body| projection.apply(rt, body)))
}

async fn provider_config<S: ScimDomain>(State(scim): State<Scim<S>>, _: Authed) -> ScimJson {
    ScimJson::ok(service_provider_config(&scim.base_url))
}

async fn resource_types<S: ScimDomain>(State(scim): State<Scim<S>>, _: Authed) -> ScimJson {
    ScimJson::ok(list_of(
        RESOURCE_TYPES
            .iter()
            .map(|rt| rt.describe(&scim.base_url))
            .collect(),
    ))
}

async fn resource_type<S: ScimDomain>(
    State(scim): State<Scim<S>>,
    _: Authed,
    Path(name): Path<String>,
) -> Answer {
    RESOURCE_TYPES
        .iter()
        .find(|rt| rt.name == name)
        .map(|rt| ScimJson::ok(rt.describe(&scim.base_url)))
        .ok_or_else(|| ScimError::not_found(format!("ResourceType {name}")).into())
}

async fn schemas<S: ScimDomain>(State(scim): State<Scim<S>>, _: Authed) -> ScimJson {
    ScimJson::ok(list_of(
        SCHEMAS.iter().map(|s| s.describe(&scim.base_url)).collect(),
    ))
}

async fn schema<S: ScimDomain>(
    State(scim): State<Scim<S>>,
    _: Authed,
    Path(id): Path<String>,
) -> Answer {
    SCHEMAS
        .iter()
        .find(|s| s.id == id)
        .map(|s| ScimJson::ok(s.describe(&scim.base_url)))
        .ok_or_else(|| ScimError::not_found(format!("Schema {id}")).into())
}

async fn list<S: ScimDomain>(
    State(scim): State<Scim<S>>,
    who: Authed,
    query: Result<Query<Params>, QueryRejection>,
) -> Answer {
    let params = params(query)?;
    let list = scim
        .auth
        .scim()
        .list(scim.kind, &who.directory, &params.list()?)
        .await?;
    Ok(listed(
        list,
        &params.projection()?,
        scim.kind.resource_type(),
    ))
}

async fn search<S: ScimDomain>(
    State(scim): State<Scim<S>>,
    who: Authed,
    ScimBody(body): ScimBody,
) -> Answer {
    let (list, projection) = SearchRequest::parse(body)?;
    let list = scim
        .auth
        .scim()
        .list(scim.kind, &who.directory, &list)
        .await?;
    Ok(listed(list, &projection, scim.kind.resource_type()))
}

async fn create<S: ScimDomain>(
    State(scim): State<Scim<S>>,
    who: Authed,
    query: Result<Query<Params>, QueryRejection>,
    ScimBody(body): ScimBody,
) -> Answer {
    let projection = params(query)?.projection()?;
    let created = scim
        .auth
        .scim()
        .create(scim.kind, &who.directory, &body, &who.meta)
        .await?;
    Ok(ScimJson::resource(
        StatusCode::CREATED,
        created,
        &projection,
        scim.kind.resource_type(),
    ))
}

async fn get_one<S: ScimDomain>(
    State(scim): State<Scim<S>>,
    who: Authed,
    Path(id): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
) -> Answer {
    let projection = params(query)?.projection()?;
    let found = scim.auth.scim().get(scim.kind, &who.directory, &id).await?;
    Ok(ScimJson::resource(
        StatusCode::OK,
        found,
        &projection,
        scim.kind.resource_type(),
    ))
}

async fn replace<S: ScimDomain>(
    State(scim): State<Scim<S>>,
    who: Authed,
    Path(id): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Answer {
    let projection = params(query)?.projection()?;
    let replaced = scim
        .auth
        .scim()
        .replace(
            scim.kind,
            &who.directory,
            &id,
            &body,
            if_match(&headers),
            &who.meta,
        )
        .await?;
    Ok(ScimJson::resource(
        StatusCode::OK,
        replaced,
        &projection,
        scim.kind.resource_type(),
    ))
}

async fn patch<S: ScimDomain>(
    State(scim): State<Scim<S>>,
    who: Authed,
    Path(id): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Answer {
    let projection = params(query)?.projection()?;
    let patched = scim
        .auth
        .scim()
        .patch(
            scim.kind,
            &who.directory,
            &id,
            &body,
            if_match(&headers),
            &who.meta,
        )
        .await?;
    Ok(ScimJson::resource(
        StatusCode::OK,
        patched,
        &projection,
        scim.kind.resource_type(),
    ))
}

async fn delete<S: ScimDomain>(
    State(scim): State<Scim<S>>,
    who: Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ScimFailure> {
    scim.auth
        .scim()
        .delete(
            scim.kind,
            &who.directory,
            &id,
            if_match(&headers),
            &who.meta,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn bulk<S: ScimDomain>(
    State(scim): State<Scim<S>>,
    who: Authed,
    ScimBody(body): ScimBody,
) -> Answer {
    let answer = scim
        .auth
        .scim()
        .bulk(&who.directory, &body, &who.meta)
        .await?;
    Ok(ScimJson::ok(answer))
}

async fn not_implemented() -> ScimFailure {
    ScimFailure(ScimError::status(501, None, "not supported by this server"))
}

async fn not_found() -> ScimFailure {
    ScimFailure(ScimError::not_found("the endpoint"))
}

async fn method_not_allowed() -> ScimFailure {
    ScimFailure(ScimError::status(
        405,
        None,
        "method not allowed on this endpoint",
    ))
}
