use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::ConfigError;

/// The app's secret key: at least 32 bytes of randomness, from which the library derives one
/// sub-key per purpose (HKDF-SHA256). Zeroized on drop, redacted in `Debug`.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<Vec<u8>>);

impl SecretKey {
    /// Shortest key accepted, in bytes.
    pub const MIN_BYTES: usize = 32;

    /// A key from raw bytes; fails if shorter than [`SecretKey::MIN_BYTES`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfigError> {
        if bytes.len() < Self::MIN_BYTES {
            return Err(ConfigError::WeakSecretKey);
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// A key from base64 (standard or url-safe alphabet), as kept in an environment variable.
    pub fn from_base64(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        let bytes = Zeroizing::new(
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
                .map_err(|_| ConfigError::WeakSecretKey)?,
        );
        Self::from_bytes(&bytes)
    }

    /// A fresh random key (for tests and first-run set-up; print it with
    /// [`SecretKey::to_base64`] and keep it, or everything sealed with it is lost).
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; Self::MIN_BYTES]);
        super::OsRandom.fill_into(&mut bytes);
        Self(bytes)
    }

    /// The key in base64, to store it in a secret manager.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.as_slice())
    }

    /// An id derived from the key itself (8 hex characters), for a keyring of one.
    pub fn derived_id(&self) -> KeyId {
        let digest = Sha256::digest([b"auth-core key id\0".as_slice(), &self.0].concat());
        let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        KeyId(hex)
    }

    /// Derives the 32-byte sub-key for `purpose`.
    pub(crate) fn derive(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        let hk = Hkdf::<Sha256>::new(Some(b"auth-core v1"), &self.0);
        let mut out = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        let _ = hk.expand(purpose.as_bytes(), out.as_mut());
        out
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl super::OsRandom {
    fn fill_into(&self, dest: &mut [u8]) {
        super::Random::fill(self, dest);
    }
}

/// Names one key of a [`Keyring`]; stored beside every ciphertext so the right key opens it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct KeyId(String);

impl KeyId {
    /// A key id: 1 to 32 characters of `[A-Za-z0-9_-]`.
    pub fn new(id: impl Into<String>) -> Result<Self, ConfigError> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(id))
        } else {
            Err(ConfigError::InvalidKeyId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The app's keys: one primary that seals new secrets and signs new codes, and retired ones
/// that still open what they sealed. Rotate by adding a new primary and keeping the old key
/// as retired until everything sealed with it has been resealed
/// ([`SecretBox::needs_reseal`](super::SecretBox::needs_reseal)).
#[derive(Clone, Debug)]
pub struct Keyring {
    primary: (KeyId, SecretKey),
    retired: BTreeMap<KeyId, SecretKey>,
}

impl Keyring {
    /// A keyring of one key, with an id derived from the key.
    pub fn single(key: SecretKey) -> Self {
        let id = key.derived_id();
        Self::new(id, key)
    }

    /// A keyring whose primary key is `key`, named `id`.
    pub fn new(id: KeyId, key: SecretKey) -> Self {
        Self {
            primary: (id, key),
            retired: BTreeMap::new(),
        }
    }

    /// Adds a retired key that still opens secrets sealed under `id`.
    pub fn with_retired(mut self, id: KeyId, key: SecretKey) -> Self {
        if id != self.primary.0 {
            self.retired.insert(id, key);
        }
        self
    }

    /// The id of the key that seals new secrets.
    pub fn primary_id(&self) -> &KeyId {
        &self.primary.0
    }

    pub(crate) fn primary(&self) -> (&KeyId, &SecretKey) {
        (&self.primary.0, &self.primary.1)
    }

    /// The retired keys: they still check what they made before a rotation.
    pub(crate) fn retired(&self) -> impl Iterator<Item = &SecretKey> {
        self.retired.values()
    }

    pub(crate) fn get(&self, id: &str) -> Option<&SecretKey> {
        if self.primary.0.as_str() == id {
            return Some(&self.primary.1);
        }
        self.retired.get(&KeyId(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused() {
        assert!(SecretKey::from_bytes(&[7u8; 31]).is_err());
        assert!(SecretKey::from_bytes(&[7u8; 32]).is_ok());
        assert!(SecretKey::from_base64("c2hvcnQ=").is_err());
        assert!(SecretKey::from_base64("not base64 at all!").is_err());
    }

    #[test]
    fn base64_round_trip_and_redaction() {
        let key = SecretKey::generate();
        let again = SecretKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(key.derived_id(), again.derived_id());
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
    }

    #[test]
    fn sub_keys_differ_per_purpose_and_per_key() {
        let a = SecretKey::from_bytes(&[1u8; 32]).unwrap();
        let b = SecretKey::from_bytes(&[2u8; 32]).unwrap();
        assert_ne!(*a.derive("x"), *a.derive("y"));
        assert_ne!(*a.derive("x"), *b.derive("x"));
        assert_eq!(*a.derive("x"), *a.derive("x"));
    }

    #[test]
    fn key_ids_are_validated() {
        assert!(KeyId::new("2026-11").is_ok());
        assert!(KeyId::new("").is_err());
        assert!(KeyId::new("has space").is_err());
        assert!(KeyId::new("x".repeat(33)).is_err());
    }
}
