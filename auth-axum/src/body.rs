//! Request bodies and query strings, with every failure a typed `422` (or `413`) in the
//! library's JSON error shape instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use auth_core::ErrorCode;

/// A JSON request body of type `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

/// Removes quoted values from a serde message, so an error never echoes what the client
/// sent (it might be a password given the wrong type).
fn redact(message: &str) -> String {
    let keeps_values = !(message.starts_with("invalid type")
        || message.starts_with("invalid value")
        || message.starts_with("invalid length")
        || message.starts_with("unknown variant"));
    if keeps_values {
        return message.to_owned();
    }
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                out.push('…');
                out.push(c);
            }
            Some(_) => {}
            None if c == '"' || c == '`' => {
                quote = Some(c);
                out.push(c);
            }
            None => out.push(c),
        }
    }
    out
}

/// A deserialization error as a `422`, with where it happened but not what was sent.
pub(crate) fn json_error(error: &serde_json::Error) -> ApiError {
    let what = match error.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            "malformed JSON".to_owned()
        }
        serde_json::error::Category::Data | serde_json::error::Category::Io => {
            let full = error.to_string();
            let message = full.split(" at line ").next().unwrap_or("invalid JSON");
            redact(message)
        }
    };
    ApiError::invalid_body(format!(
        "{what} (line {}, column {})",
        error.line(),
        error.column()
    ))
}

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json")
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::invalid_body(
                "expected Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(ErrorCode::PayloadTooLarge, "request body too large")
                } else {
                    ApiError::invalid_body("the request body could not be read")
                }
            })?;
        // Every body of this API is an object; serde would also read a struct from an array.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::invalid_body("expected a JSON object"));
        }
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| json_error(&e))
    }
}

/// Query-string parameters of type `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded_from(query).map(ApiQuery)
    }
}

/// Path parameters of type `T` (the routes take them as text and parse the ids
/// themselves): a parameter that is not valid UTF-8 once percent-decoded is a
/// `422 INVALID_INPUT` in the JSON error shape, not axum's plain-text `400`.
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) if rejection.status().is_client_error() => Err(ApiError::new(
                ErrorCode::InvalidInput,
                redact(&rejection.body_text()),
            )),
            Err(rejection) => {
                tracing::error!(error = %rejection.body_text(), "path parameters");
                Err(auth_core::AuthError::Internal("path parameters").into())
            }
        }
    }
}

/// Parses a query string through `axum`'s own query extractor rules (serde_urlencoded).
fn serde_urlencoded_from<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let uri: axum::http::Uri = format!("/?{query}")
        .parse()
        .map_err(|_| ApiError::invalid_body("malformed query string"))?;
    axum::extract::Query::<T>::try_from_uri(&uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::new(ErrorCode::InvalidInput, redact(&e.body_text())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_errors_do_not_echo_values() {
        let err = serde_json::from_str::<std::collections::HashMap<String, String>>(
            r#"{"password": 123456789}"#,
        )
        .unwrap_err();
        let api = json_error(&err);
        let response = axum::response::IntoResponse::into_response(api);
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            redact("invalid type: string \"hunter2\", expected u32"),
            "invalid type: string \"…\", expected u32"
        );
        assert_eq!(redact("missing field `email`"), "missing field `email`");
    }
}
