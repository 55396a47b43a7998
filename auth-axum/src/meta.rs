//! Request metadata for sessions and audit events: client address, user agent, request id.

use std::net::{IpAddr, SocketAddr};

use auth_core::RequestMeta;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderName, header};

use crate::config::HttpConfig;

/// The request id header, set by the API router when the client sent none.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Reads the metadata of a request.
pub(crate) fn request_meta(parts: &Parts, config: &HttpConfig) -> RequestMeta {
    let mut meta = RequestMeta::none();
    let forwarded = config
        .trust_forwarded_for
        .then(|| {
            parts
                .headers
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .split(',')
                .next()?
                .trim()
                .parse::<IpAddr>()
                .ok()
        })
        .flatten();
    let connected = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = forwarded.or(connected) {
        meta = meta.with_ip(ip);
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
