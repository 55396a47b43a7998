//! SCIM errors (RFC 7644 §3.12): an HTTP status, a `scimType` for 400s and 409s, and a
//! detail that names what was wrong without echoing secrets.

use serde_json::{Value, json};

use super::filter::FilterError;

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
}

impl ScimError {
    /// A 400 of `scim_type`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
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
        Self {
            status: 409,
            scim_type: Some(ScimType::Uniqueness),
            detail: detail.into(),
        }
    }

    /// A 404 for `what` (`User 3f...`).
    pub fn not_found(what: impl Into<String>) -> Self {
        Self {
            status: 404,
            scim_type: None,
            detail: format!("{} not found", what.into()),
        }
    }

    /// A 412: `If-Match` named another version.
    pub fn version_mismatch() -> Self {
        Self {
            status: 412,
            scim_type: Some(ScimType::InvalidVersion),
            detail: "the resource changed: its version is not the one If-Match named".into(),
        }
    }

    /// The error as its JSON body.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = Value::from(t.as_str());
        }
        body
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
