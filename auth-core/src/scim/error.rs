//! SCIM errors (RFC 7644 §3.12): an HTTP status, a `scimType` for 400s and 409s, and a
//! detail that names what was wrong without echoing secrets.

use serde_json::{Map, Value, json};

use super::filter::FilterError;
use crate::error::{AuthError, StoreError};

/// The `scimType` of a 400 or 409 error (RFC 7644 §3.12, table 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    /// The filter is malformed or names what cannot be filtered.
    InvalidFilter,
    /// The query would return more results than allowed.
    TooMany,
    /// A value that must be unique is taken.
    Uniqueness,
    /// A change to an immutable or read-only attribute.
    Mutability,
    /// The request body is not a valid SCIM message.
    InvalidSyntax,
    /// A PATCH path is malformed or names an unknown attribute.
    InvalidPath,
    /// A PATCH value filter matched nothing.
    NoTarget,
    /// A value has the wrong type or is not allowed.
    InvalidValue,
    /// `If-Match` named another version.
    InvalidVersion,
}

impl ScimType {
    /// The keyword sent in `scimType`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVersion => "invalidVers",
        }
    }
}

/// A refused SCIM request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SCIM {status}{}: {detail}", scim_type.map(|t| format!(" {}", t.as_str())).unwrap_or_default())]
pub struct ScimError {
    /// The HTTP status.
    pub status: u16,
    /// The `scimType`, for 400s and 409s.
    pub scim_type: Option<ScimType>,
    /// A human-readable explanation.
    pub detail: String,
    /// For a 429, how long until a retry may succeed, in seconds.
    pub retry_after_seconds: Option<u64>,
}

impl ScimError {
    /// An error of `status`.
    pub fn status(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
            retry_after_seconds: None,
        }
    }

    /// A 401: no bearer token, or not one of an enabled connection.
    pub fn unauthorized() -> Self {
        Self::status(401, None, "a valid SCIM bearer token is required")
    }

    /// A 500 for a failure of the server (logged; the client learns nothing more).
    pub fn internal() -> Self {
        Self::status(500, None, "the server could not complete the request")
    }

    /// A 400 of `scim_type`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::status(400, Some(scim_type), detail)
    }

    /// A 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    /// A 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    /// A 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    /// A 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }

    /// A 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::status(409, Some(ScimType::Uniqueness), detail)
    }

    /// A 404 for `what` (`User 3f...`).
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::status(404, None, format!("{} not found", what.into()))
    }

    /// A 412: `If-Match` named another version.
    pub fn version_mismatch() -> Self {
        Self::status(
            412,
            Some(ScimType::InvalidVersion),
            "the resource changed: its version is not the one If-Match named",
        )
    }

    /// The error as its JSON body.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert(
            "schemas".into(),
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        );
        body.insert("status".into(), json!(self.status.to_string()));
        body.insert("detail".into(), json!(self.detail));
        if let Some(t) = self.scim_type {
            body.insert("scimType".into(), json!(t.as_str()));
        }
        Value::Object(body)
    }
}

impl From<AuthError> for ScimError {
    /// What a SCIM client is told of a refusal by the library's services: limits,
    /// conflicts and bad input as such; anything else as a 500 or 503, logged here.
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::RateLimited { retry_after } => Self {
                retry_after_seconds: Some(retry_after.whole_seconds().max(1).unsigned_abs()),
                ..Self::status(429, None, "too many requests; retry later")
            },
            AuthError::EmailInUse => Self::uniqueness("another account uses this email address"),
            AuthError::NotFound(entity) => Self::not_found(format!("{entity:?}")),
            AuthError::InvalidEmail(reason) => {
                Self::invalid_value(format!("the email address is invalid: {reason}"))
            }
            AuthError::InvalidInput { .. } => Self::invalid_value(error.to_string()),
            AuthError::LastOwner => Self::invalid_value(
                "the change would leave a group without an owner; the app must change that",
            ),
            AuthError::Store(StoreError::Unavailable(_)) => {
                tracing::warn!(%error, "SCIM request: the store is unavailable");
                Self::status(503, None, "the server is unavailable; retry later")
            }
            other => {
                tracing::error!(error = %other, "SCIM request failed");
                Self::internal()
            }
        }
    }
}

impl From<StoreError> for ScimError {
    fn from(error: StoreError) -> Self {
        AuthError::from(error).into()
    }
}

impl From<FilterError> for ScimError {
    fn from(e: FilterError) -> Self {
        Self::bad_request(ScimType::InvalidFilter, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_the_message_schema_a_string_status_and_the_type() {
        let body = ScimError::uniqueness("userName is taken").to_json();
        assert_eq!(body["status"], "409");
        assert_eq!(body["scimType"], "uniqueness");
        assert_eq!(
            body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        let body = ScimError::not_found("User 1").to_json();
        assert!(body.get("scimType").is_none());
        assert_eq!(body["detail"], "User 1 not found");
    }
}
