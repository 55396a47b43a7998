use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// SHA-256 of a token: what the store keeps instead of the token.
///
/// Equality is constant-time. `Debug` shows only a short prefix of the hash, which is safe
/// to log (the hash of a 256-bit random token reveals nothing about it) and helps tracing.
#[derive(Clone, Copy, Eq, Serialize, Deserialize)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes `token` (its exact bytes).
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Wraps 32 bytes read back from a store.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Reads a hash from a store column; `None` unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// The 32 bytes, for a store column.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// base64url text of the hash, for stores that keep text.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses [`TokenHash::to_base64`] output.
    pub fn from_base64(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        match URL_SAFE_NO_PAD.decode_slice(text.as_bytes(), &mut out) {
            Ok(32) => Some(Self(out)),
            _ => None,
        }
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

// Consistent with `PartialEq`: equal hashes are equal bytes.
impl std::hash::Hash for TokenHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(f, "TokenHash({a:02x}{b:02x}{c:02x}{d:02x}…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_of_the_token() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let h = TokenHash::of("abc");
        assert_eq!(
            h.as_bytes()[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "known answer for SHA-256"
        );
        assert_eq!(TokenHash::from_base64(&h.to_base64()), Some(h));
        assert_ne!(TokenHash::of("abd"), h);
    }

    #[test]
    fn debug_shows_only_a_prefix() {
        let h = TokenHash::of("abc");
        assert_eq!(format!("{h:?}"), "TokenHash(ba7816bf…)");
    }
}
