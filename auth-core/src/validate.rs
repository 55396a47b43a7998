//! Validation of input that comes from outside: every string is length-checked before any
//! other work, and every failure is a typed [`AuthError`].

use email_address::{EmailAddress, Options};
use icu_properties::CodePointMapData;
use icu_properties::props::GeneralCategory;
use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

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

/// A validated, normalised email address, so that one mailbox is one account however it is
/// typed. Construct with [`Email::parse`] (lookups) or [`Email::parse_with`] (new
/// addresses, under the app's [`EmailPolicy`]).
///
/// - The domain goes through IDNA (UTS #46): lower-cased, full-width and other compatible
///   forms mapped, NFC, then stored as ASCII (`bücher.de` → `xn--bcher-kva.de`), so a
///   look-alike domain in another script shows as the different `xn--` name it is.
/// - The local part is trimmed, lower-cased and put in Unicode NFC (NFC and NFD `café` are
///   one address). It is refused if it holds compatibility forms (full-width letters,
///   ligatures: anything NFKC would change), since mail systems treat those as other
///   mailboxes, or invisible format characters (Unicode category Cf: bidi controls,
///   zero-width characters).
///
/// Addresses stored before this normalisation keep their old form; lookups normalise the
/// query the same way, so an old row differing from its normal form is found only by
/// its old spelling until it is rewritten.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

/// Which email addresses the app accepts for new accounts and address changes, beyond
/// validity: a confusables policy. Lookups (sign-in) do not apply it, so tightening it
/// never locks out an existing user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmailPolicy {
    /// Refuse local parts (before `@`) with non-ASCII characters, so no address can
    /// imitate another with look-alike letters (Cyrillic `а` for Latin `a`). Default
    /// `false`: any Unicode local part, NFC-normalised.
    #[serde(default)]
    pub ascii_local_part: bool,
}

impl EmailPolicy {
    /// The policy that refuses non-ASCII local parts.
    pub fn ascii_local_part() -> Self {
        Self {
            ascii_local_part: true,
        }
    }

    /// Checks a (normalised) address against the policy: `INVALID_EMAIL` if refused.
    pub fn check(&self, email: &Email) -> Result<(), AuthError> {
        let local = email.0.rsplit_once('@').map_or("", |(l, _)| l);
        if self.ascii_local_part && !local.is_ascii() {
            return Err(AuthError::InvalidEmail(
                "must use only ASCII characters before the @",
            ));
        }
        Ok(())
    }
}

impl Email {
    /// Validates and normalises an address, and checks it against `policy`; for a new
    /// account or a new address.
    pub fn parse_with(input: &str, policy: &EmailPolicy) -> Result<Self, AuthError> {
        let email = Self::parse(input)?;
        policy.check(&email)?;
        Ok(email)
    }

    /// Validates and normalises an address (see [`Email`]); for lookups and anywhere the
    /// app's [`EmailPolicy`] does not apply.
    pub fn parse(input: &str) -> Result<Self, AuthError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(AuthError::InvalidEmail("is empty"));
        }
        if trimmed.len() > MAX_EMAIL_CHARS * 4 || trimmed.chars().count() > MAX_EMAIL_CHARS {
            return Err(AuthError::InvalidEmail("is longer than 254 characters"));
        }
        let not_an_address = AuthError::InvalidEmail("is not an email address");
        let (local, domain) = trimmed.rsplit_once('@').ok_or(not_an_address)?;
        let local = normalise_local_part(local)?;
        let domain = Uts46::new()
            .to_ascii(
                domain.as_bytes(),
                AsciiDenyList::STD3,
                Hyphens::Allow,
                DnsLength::Verify,
            )
            .map_err(|_| AuthError::InvalidEmail("has an invalid domain"))?;
        let normalised = format!("{local}@{domain}");
        if normalised.chars().count() > MAX_EMAIL_CHARS {
            return Err(AuthError::InvalidEmail("is longer than 254 characters"));
        }
        let options = Options::default()
            .without_domain_literal()
            .without_display_text();
        EmailAddress::parse_with_options(&normalised, options)
            .map_err(|_| AuthError::InvalidEmail("is not an email address"))?;
        Ok(Self(normalised))
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

/// The local part, lower-cased and in NFC; refused if it has format characters or
/// compatibility forms.
fn normalise_local_part(local: &str) -> Result<String, AuthError> {
    if local.chars().any(|c| c.is_control() || is_format(c)) {
        return Err(AuthError::InvalidEmail(
            "contains invisible formatting characters",
        ));
    }
    let local: String = local.to_lowercase().nfc().collect();
    if !local.chars().eq(local.nfkc()) {
        return Err(AuthError::InvalidEmail(
            "contains compatibility characters (such as full-width letters)",
        ));
    }
    Ok(local)
}

/// Whether `c` is an invisible format character (Unicode general category Cf: bidi
/// controls and isolates, zero-width space and joiners, the soft hyphen, tags).
pub fn is_format(c: char) -> bool {
    CodePointMapData::<GeneralCategory>::new().get(c) == GeneralCategory::Format
}

/// Checks a short human-readable text (a name): format characters (Unicode Cf: bidi
/// overrides that reorder what is shown, zero-width characters) removed, trimmed, 1 to
/// `max` characters, no control characters. Returns the cleaned text.
pub fn text(field: &'static str, input: &str, max: usize) -> Result<String, AuthError> {
    // Bytes bound first: a huge input is refused before any per-character work.
    if input.len() > max * 8 {
        return Err(AuthError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    let visible: String = input.chars().filter(|&c| !is_format(c)).collect();
    let trimmed = visible.trim();
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

/// Checks an app-defined JSON `extend` document: an object, at most 16 KiB serialised,
/// with no NUL character in any key or string and no number of magnitude 1e308 or more.
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
    if let Some(problem) = unstorable(value) {
        return Err(AuthError::invalid(field, problem));
    }
    Ok(())
}

/// Numbers from this magnitude on do not survive PostgreSQL: `jsonb` writes
/// -1.7976931348623157e308 back as a 309-digit integer, which serde_json refuses to read
/// ("number out of range"), so the row could no longer be loaded.
const MAX_EXTEND_NUMBER: f64 = 1e308;

/// What in `value` PostgreSQL's `jsonb` cannot keep (every store refuses it alike): a NUL
/// character in a key or a string, or a number too large to read back. Walked with a stack
/// of its own: a 16 KiB document may nest thousands deep.
fn unstorable(value: &Value) -> Option<&'static str> {
    const NUL: &str = "must not contain NUL characters (\\u0000)";
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::String(text) if text.contains('\0') => return Some(NUL),
            Value::Number(number)
                if number
                    .as_f64()
                    .is_some_and(|n| n.abs() >= MAX_EXTEND_NUMBER) =>
            {
                return Some("numbers must be smaller than 1e308 in magnitude");
            }
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                if map.keys().any(|key| key.contains('\0')) {
                    return Some(NUL);
                }
                pending.extend(map.values());
            }
            _ => {}
        }
    }
    None
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
    fn one_mailbox_is_one_address_however_it_is_typed() {
        let nfc = Email::parse("Caf\u{e9}@example.com").unwrap();
        let nfd = Email::parse("Cafe\u{301}@example.com").unwrap();
        assert_eq!(nfc, nfd);
        assert_eq!(nfc.as_str(), "caf\u{e9}@example.com");
        // Full-width domains map to ASCII; internationalised ones are kept as A-labels.
        let wide =
            Email::parse("bob@\u{ff45}\u{ff58}\u{ff41}\u{ff4d}\u{ff50}\u{ff4c}\u{ff45}\u{ff0e}com")
                .unwrap();
        assert_eq!(wide.as_str(), "bob@example.com");
        let idn = Email::parse("bob@B\u{fc}cher.de").unwrap();
        assert_eq!(idn.as_str(), "bob@xn--bcher-kva.de");
        assert_eq!(idn.domain(), "xn--bcher-kva.de");
        // A Cyrillic look-alike domain shows as the other name it is.
        let lookalike = Email::parse("bob@ex\u{430}mple.com").unwrap();
        assert!(lookalike.domain().starts_with("xn--"), "{lookalike}");
    }

    #[test]
    fn look_alike_and_invisible_local_parts_are_refused() {
        for bad in [
            "\u{ff42}ob@example.com",  // full-width b
            "\u{fb01}le@example.com",  // the fi ligature
            "bo\u{200b}b@example.com", // zero-width space
            "\u{202e}bob@example.com", // right-to-left override
            "bob@exa_mple.com",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidEmail, "{bad:?}");
        }
        // Other scripts are valid addresses; the ASCII policy refuses them for new ones.
        let cyrillic = "\u{430}lice@example.com";
        assert!(Email::parse(cyrillic).is_ok());
        let policy = EmailPolicy::ascii_local_part();
        let err = Email::parse_with(cyrillic, &policy).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidEmail);
        assert!(Email::parse_with("alice@b\u{fc}cher.de", &policy).is_ok());
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
    fn names_lose_bidi_and_other_format_characters() {
        assert_eq!(
            name("\u{202e}Ad\u{200b}a\u{2066} Lovelace\u{feff}").unwrap(),
            "Ada Lovelace"
        );
        assert_eq!(text("name", " \u{200f}Acme\u{00ad} ", 10).unwrap(), "Acme");
        assert!(name("\u{202e}\u{200b}").is_err());
        assert!(is_format('\u{061c}') && !is_format('a') && !is_format('\u{e9}'));
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
    fn extend_must_not_hold_nul_characters() {
        for bad in [
            serde_json::json!({"a": "x\u{0}y"}),
            serde_json::json!({"a\u{0}": 1}),
            serde_json::json!({"a": [1, {"b": ["\u{0}"]}]}),
        ] {
            assert!(extend("extend", &bad).is_err(), "{bad}");
        }
        assert!(extend("extend", &serde_json::json!({"a": ["x", {"b": "\\u0000"}]})).is_ok());
        for huge in [f64::MIN, f64::MAX, 1e308] {
            assert!(extend("extend", &serde_json::json!({"a": [{"b": huge}]})).is_err());
        }
        let fine = serde_json::json!({"a": [9.9e307, -1e300, u64::MAX, i64::MIN, 0.5]});
        assert!(extend("extend", &fine).is_ok());
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
