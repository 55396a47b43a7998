//! Request metadata for sessions and audit events: client address, user agent, request id.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use auth_core::RequestMeta;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::config::HttpConfig;

/// The header through which proxies report the client address.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The request id header, set by the API router when the client sent none.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives every request of `router` an `x-request-id` (keeping the client's if it sent
/// one), returns it on the response, and opens a tracing span carrying it. The API router
/// has this already; wrap the whole app in it (outside `AuthState::layer`) so that audit
/// events and spans of your own guarded routes carry the id too.
pub fn with_request_ids(router: Router) -> Router {
    router
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, RequestIds::new()))
}

/// Request ids `<process prefix>-<counter>`: a random 64-bit prefix per process (so ids of
/// different nodes and restarts do not collide) and a counter, with no system call per
/// request (a v4 UUID asks the OS for randomness on every request).
#[derive(Clone)]
struct RequestIds {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        let random = uuid::Uuid::new_v4().as_u64_pair().0;
        Self {
            prefix: format!("{random:016x}").into(),
            next: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n:x}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// The tracing span of a request, carrying its request id.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

/// Reads the metadata of a request; the client address is the connecting peer's, or the
/// one trusted proxies report (see [`HttpConfig::behind_proxy`]).
pub(crate) fn request_meta(parts: &Parts, config: &HttpConfig) -> RequestMeta {
    let mut meta = RequestMeta::none();
    if let Some(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        let forwarded = parts.headers.get_all(X_FORWARDED_FOR).iter();
        meta = meta.with_ip(config.trusted_proxies.client(peer.0.ip(), forwarded));
    }
    if let Some(agent) = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        meta = meta.with_user_agent(agent);
    }
    if let Some(id) = parts.headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
        meta = meta.with_request_id(id);
    }
    meta
}
