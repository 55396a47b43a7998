use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::Random;

/// Bytes of randomness in every generated token: 256 bits.
pub const TOKEN_BYTES: usize = 32;
/// Length of a generated token in base64url without padding.
pub const TOKEN_CHARS: usize = 43;

/// A secret value in flight: a token shown once, a one-time code, a password being checked.
///
/// It never prints: `Debug` shows `Secret(<redacted>)` and there is no `Display`. Read it
/// with [`Secret::expose`] at the one place it leaves the library (a response, an email).
/// Its memory is zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value as secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret value. Call this only where the value must leave the process.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// A fresh 256-bit token in base64url without padding (43 characters).
pub fn generate_token(random: &dyn Random) -> Secret {
    let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
    random.fill(bytes.as_mut());
    Secret::new(URL_SAFE_NO_PAD.encode(bytes.as_ref()))
}

/// Whether `token` has the shape of a generated token (43 base64url characters), checked
/// without touching any store. A token that passes may still be unknown.
pub fn is_token(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::OsRandom;

    #[test]
    fn tokens_are_43_chars_of_base64url_and_unique() {
        let a = generate_token(&OsRandom);
        let b = generate_token(&OsRandom);
        assert_eq!(a.expose().len(), TOKEN_CHARS);
        assert_ne!(a, b);
        assert!(is_token(a.expose()));
    }

    #[test]
    fn secrets_redact_themselves() {
        let s = Secret::new("hunter2-hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
    }

    #[test]
    fn malformed_tokens_do_not_decode() {
        for bad in [
            "",
            "short",
            &"a".repeat(42),
            &"a".repeat(44),
            &"!".repeat(43),
            &"é".repeat(22),
        ] {
            assert!(!is_token(bad), "{bad:?}");
        }
    }
}
