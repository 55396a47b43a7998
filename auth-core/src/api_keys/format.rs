//! The API key format: `<prefix>_<env>_<43 base62 characters><6 base62 checksum>`, e.g.
//! `sk_live_3hG...x9QZ2a1b`. 43 base62 characters carry 256 bits of randomness; the checksum
//! is CRC32 of everything before it, so a client (and this library, before any lookup) can
//! reject a mistyped key, and secret scanners can match the shape:
//! `sk_live_[0-9A-Za-z]{49}`.

use std::fmt;

use crate::error::{AuthError, ConfigError};
use crate::secret::{Random, Secret, is_token};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Random characters in a key.
const BODY_CHARS: usize = 43;
/// Checksum characters at the end of a key.
const CHECKSUM_CHARS: usize = 6;
/// Random characters kept in the display prefix.
const START_CHARS: usize = 6;

/// How this app's keys look: a prefix and an optional environment tag.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyFormat {
    /// `"<prefix>_"` or `"<prefix>_<env>_"`.
    head: String,
}

impl fmt::Debug for KeyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyFormat({}…)", self.head)
    }
}

impl Default for KeyFormat {
    /// Keys of the form `sk_<...>`.
    fn default() -> Self {
        Self { head: "sk_".into() }
    }
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 16
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl KeyFormat {
    /// A format with `prefix` (default `sk`) and an optional environment tag (`live`,
    /// `test`): keys then start `sk_live_`. Each is 1 to 16 of `[a-z0-9]`.
    pub fn new(prefix: &str, env: Option<&str>) -> Result<Self, ConfigError> {
        let invalid = ConfigError::Invalid {
            setting: "api_keys.format",
            reason: "prefix and environment are 1 to 16 of [a-z0-9]",
        };
        if !valid_tag(prefix) || env.is_some_and(|e| !valid_tag(e)) {
            return Err(invalid);
        }
        let head = match env {
            Some(env) => format!("{prefix}_{env}_"),
            None => format!("{prefix}_"),
        };
        Ok(Self { head })
    }

    /// Total length of a key of this format.
    pub fn key_len(&self) -> usize {
        self.head.len() + BODY_CHARS + CHECKSUM_CHARS
    }

    /// A new key and its display prefix (the head and 6 random characters, e.g.
    /// `sk_live_3hG0aQ`: enough to tell keys apart, 36 of 256 bits).
    pub fn generate(&self, random: &dyn Random) -> (Secret, String) {
        let mut key = String::with_capacity(self.key_len());
        key.push_str(&self.head);
        let mut produced = 0;
        let mut buf = [0u8; 64];
        while produced < BODY_CHARS {
            random.fill(&mut buf);
            // Rejection sampling: 248 = 4 * 62, so each kept byte is uniform over 62.
            for b in buf.iter().filter(|b| **b < 248) {
                if produced == BODY_CHARS {
                    break;
                }
                key.push(base62_digit(u64::from(*b)));
                produced += 1;
            }
        }
        let checksum = checksum(&key);
        key.push_str(&checksum);
        let start = key.chars().take(self.head.len() + START_CHARS).collect();
        (Secret::new(key), start)
    }

    /// Checks a presented key's shape and checksum, without any lookup. `API_KEY_INVALID`
    /// if the prefix, environment, length, alphabet or checksum is wrong.
    pub fn check(&self, key: &str) -> Result<(), AuthError> {
        if key.len() != self.key_len() || !key.starts_with(&self.head) {
            return Err(AuthError::ApiKeyInvalid);
        }
        // Checked: in a non-ASCII key the split may fall inside a character.
        let (payload, sum) = key
            .split_at_checked(key.len() - CHECKSUM_CHARS)
            .ok_or(AuthError::ApiKeyInvalid)?;
        let body = payload.get(self.head.len()..).unwrap_or_default();
        if !body
            .bytes()
            .chain(sum.bytes())
            .all(|b| b.is_ascii_alphanumeric())
        {
            return Err(AuthError::ApiKeyInvalid);
        }
        if checksum_digits(payload) != sum.as_bytes() {
            return Err(AuthError::ApiKeyInvalid);
        }
        Ok(())
    }

    /// Whether `text` starts like a key of this format and is not shaped as a session
    /// token (to tell an API key from a session token in an `Authorization` header). A
    /// session token is 43 base64url characters, which may start `sk_` too (one in
    /// 262,144 does); a key is always longer.
    pub fn looks_like_key(&self, text: &str) -> bool {
        text.starts_with(&self.head) && !is_token(text)
    }
}

/// CRC32 of `payload` in 6 base62 digits.
fn checksum(payload: &str) -> String {
    String::from_utf8_lossy(&checksum_digits(payload)).into_owned()
}

/// [`checksum`] without allocating (the verification hot path).
fn checksum_digits(payload: &str) -> [u8; CHECKSUM_CHARS] {
    let mut n = u64::from(crc32fast::hash(payload.as_bytes()));
    let mut out = [b'0'; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = base62_digit(n) as u8;
        n /= 62;
    }
    out
}

/// The base62 digit for `n % 62`.
fn base62_digit(n: u64) -> char {
    // `n % 62` is always a valid index; the fallback is unreachable.
    ALPHABET
        .get((n % 62) as usize)
        .map_or('0', |b| char::from(*b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::OsRandom;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let format = KeyFormat::new("sk", Some("live")).unwrap();
        let (key, start) = format.generate(&OsRandom);
        let key = key.expose();
        assert_eq!(key.len(), 8 + 49);
        assert!(key.starts_with("sk_live_"));
        assert!(key[8..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(start, key[..14]);
        format.check(key).unwrap();
        assert!(format.looks_like_key(key));
    }

    #[test]
    fn a_session_token_that_starts_like_a_key_is_no_key() {
        // Such a token sent as `Bearer` used to be taken for a malformed key (a 401
        // API_KEY_INVALID for a valid session): the one way a cross-node test's session
        // request got that answer.
        let token = "sk_JSnjJVi0twffXiP6D9xZ2ere9q0daJOGMd7coJ7D";
        assert_eq!(token.len(), 43);
        assert!(!KeyFormat::default().looks_like_key(token));
        assert!(
            KeyFormat::default().looks_like_key("sk_short"),
            "a malformed key is one"
        );
    }

    #[test]
    fn keys_are_unique() {
        let format = KeyFormat::default();
        let a = format.generate(&OsRandom).0;
        let b = format.generate(&OsRandom).0;
        assert_ne!(a, b);
    }

    #[test]
    fn any_single_character_change_fails_the_checksum() {
        let format = KeyFormat::default();
        let (key, _) = format.generate(&OsRandom);
        let key = key.expose().to_owned();
        for i in 3..key.len() {
            let mut bytes = key.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert!(format.check(&typo).is_err(), "typo at {i} accepted");
        }
    }

    #[test]
    fn wrong_prefix_environment_or_length_is_invalid() {
        let live = KeyFormat::new("sk", Some("live")).unwrap();
        let test = KeyFormat::new("sk", Some("test")).unwrap();
        let (key, _) = test.generate(&OsRandom);
        assert!(
            live.check(key.expose()).is_err(),
            "a test key on a live server"
        );
        for bad in [
            "",
            "sk_live_",
            "sk_live_short",
            &"x".repeat(1 << 20),
            "sk_live_ä",
        ] {
            assert!(live.check(bad).is_err());
        }
    }

    #[test]
    fn a_multibyte_character_across_the_checksum_is_invalid_not_a_panic() {
        // Found by the `api_keys` fuzz target: the right length, but the checksum split
        // falls inside `\u{35e}`.
        let format = KeyFormat::new("acme0", Some("test")).unwrap();
        let key = format!("acme0_test_{}\u{35e}{}", "a".repeat(42), "b".repeat(5));
        assert_eq!(key.len(), format.key_len());
        assert!(!key.is_char_boundary(key.len() - CHECKSUM_CHARS));
        let err = format.check(&key).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::ApiKeyInvalid);
    }

    #[test]
    fn bad_formats_are_config_errors() {
        assert!(KeyFormat::new("", None).is_err());
        assert!(KeyFormat::new("SK", None).is_err());
        assert!(KeyFormat::new("sk", Some("live_x")).is_err());
        assert!(KeyFormat::new("sk", Some("live")).is_ok());
    }
}
