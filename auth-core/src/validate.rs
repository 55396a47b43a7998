//! Validation of input that comes from outside: every string is length-checked before any
//! other work, and every failure is a typed [`AuthError`].

use email_address::{EmailAddress, Options};
use serde_json::Value;

use crate::error::AuthError;

/// Longest email address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest display name accepted.
pub const MAX_NAME_CHARS: usize = 256;
/// Longest image URL accepted.
pub const MAX_URL_CHARS: usize = 2048;
/// Largest JSON `extend` document accepted, serialised.
pub const MAX_EXTEND_BYTES: usize = 16 * 1024;
/// Longest user agent kept on a session (longer ones are cut, not refused).
pub const MAX_USER_AGENT_CHARS: usize = 512;

/// A validated, normalised email address: trimmed and lower-cased, so lookups are
/// case-insensitive. Construct with [`Email::parse`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Validates and normalises an address.
    pub fn parse(input: &str) -> Result<Self, AuthError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(AuthError::InvalidEmail("is empty"));
        }
        if trimmed.chars().count() > MAX_EMAIL_CHARS {
            return Err(AuthError::InvalidEmail("is longer than 254 characters"));
        }
        let options = Options::default()
            .without_domain_literal()
            .without_display_text();
        EmailAddress::parse_with_options(trimmed, options)
            .map_err(|_| AuthError::InvalidEmail("is not an email address"))?;
        Ok(Self(trimmed.to_lowercase()))
    }

    /// Wraps an address read back from a store (already normalised when it was written).
    pub fn from_trusted(normalised: String) -> Self {
        Self(normalised)
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Email::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Checks a short human-readable text (a name): trimmed, 1 to `max` characters, no control
/// characters. Returns the trimmed text.
pub fn text(field: &'static str, input: &str, max: usize) -> Result<String, AuthError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(AuthError::invalid(field, "must not be empty"));
    }
    if trimmed.len() > max * 4 || trimmed.chars().count() > max {
        return Err(AuthError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(AuthError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Checks a machine name (a slug, a group type, a tag key): 1 to `max` characters of
/// `[a-z0-9_-]` (plus `.` and `:` when `dots` is set), starting with a letter or digit.
pub fn identifier(
    field: &'static str,
    input: &str,
    max: usize,
    dots: bool,
) -> Result<String, AuthError> {
    let ok = !input.is_empty()
        && input.len() <= max
        && input
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && input.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || b == b'-'
                || b == b'_'
                || (dots && (b == b'.' || b == b':'))
        });
    if ok {
        Ok(input.to_owned())
    } else {
        Err(AuthError::invalid(
            field,
            format!("must be 1 to {max} of [a-z0-9_-], starting with a letter or digit"),
        ))
    }
}

/// Checks a display name.
pub fn name(input: &str) -> Result<String, AuthError> {
    text("name", input, MAX_NAME_CHARS)
}

/// Checks an image URL: `https://` or `http://`, at most 2048 characters, no whitespace.
pub fn image_url(input: &str) -> Result<String, AuthError> {
    let url = input.trim();
    if url.len() > MAX_URL_CHARS {
        return Err(AuthError::invalid(
            "image",
            "must be at most 2048 characters",
        ));
    }
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    let host_ok = url
        .split_once("://")
        .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'));
    if !scheme_ok || !host_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AuthError::invalid("image", "must be an http(s) URL"));
    }
    Ok(url.to_owned())
}

/// Checks an app-defined JSON `extend` document: an object, at most 16 KiB serialised.
pub fn extend(field: &'static str, value: &Value) -> Result<(), AuthError> {
    if !value.is_object() {
        return Err(AuthError::invalid(field, "must be a JSON object"));
    }
    let size = serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_EXTEND_BYTES {
        return Err(AuthError::invalid(field, "must be at most 16 KiB"));
    }
    Ok(())
}

/// Cuts a client-supplied header value to `max` characters and drops control characters;
/// for metadata kept on records (never refused, since it is informational).
pub fn metadata(input: &str, max: usize) -> String {
    input
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn emails_are_normalised() {
        let e = Email::parse("  Alice.Smith@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "alice.smith@example.com");
        assert_eq!(e.domain(), "example.com");
    }

    #[test]
    fn bad_emails_are_typed_errors() {
        let long = format!("{}@example.com", "a".repeat(250));
        let huge = "a".repeat(1 << 20);
        for bad in [
            "",
            "   ",
            "no-at-sign",
            "@example.com",
            "a@",
            "Alice <a@example.com>",
            "a@[127.0.0.1]",
            long.as_str(),
            huge.as_str(),
            "a b@example.com",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidEmail, "{bad:.40}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("  Ada  ").unwrap(), "Ada");
        assert!(name("").is_err());
        assert!(name("a\u{0}b").is_err());
        assert!(name(&"x".repeat(257)).is_err());
        assert!(name(&"é".repeat(256)).is_ok());
    }

    #[test]
    fn image_urls_must_be_http() {
        assert!(image_url("https://example.com/a.png").is_ok());
        for bad in [
            "javascript:alert(1)",
            "https://",
            "ftp://x",
            "https:///x",
            "https://a b",
        ] {
            assert!(image_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn extend_must_be_a_small_object() {
        assert!(extend("extend", &serde_json::json!({"plan": "pro"})).is_ok());
        assert!(extend("extend", &serde_json::json!([1, 2])).is_err());
        let big = serde_json::json!({ "x": "y".repeat(MAX_EXTEND_BYTES) });
        assert!(extend("extend", &big).is_err());
    }

    #[test]
    fn metadata_is_cut_not_refused() {
        assert_eq!(metadata("curl/8\n", 100), "curl/8");
        assert_eq!(metadata(&"x".repeat(1000), 10).len(), 10);
    }
}
