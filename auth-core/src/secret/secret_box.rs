use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use super::{KeyId, Keyring, Random};
use crate::error::AuthError;

const FORMAT_VERSION: &str = "v1";
const NONCE_BYTES: usize = 24;
const SUBKEY_PURPOSE: &str = "secret-box xchacha20poly1305";

/// A secret encrypted at rest: the format version, the id of the key that sealed it, and
/// nonce plus ciphertext. Its text form `v1.<key id>.<base64url>` fits one store column.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    key_id: String,
    payload: Vec<u8>,
}

impl SealedSecret {
    /// The id of the key that sealed this secret.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The text form, for a store column.
    pub fn to_text(&self) -> String {
        format!(
            "{FORMAT_VERSION}.{}.{}",
            self.key_id,
            URL_SAFE_NO_PAD.encode(&self.payload)
        )
    }

    /// Parses the text form; `None` if it is not one.
    pub fn from_text(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '.');
        let (version, key_id, payload) = (parts.next()?, parts.next()?, parts.next()?);
        if version != FORMAT_VERSION || KeyId::new(key_id).is_err() {
            return None;
        }
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        (payload.len() > NONCE_BYTES).then(|| Self {
            key_id: key_id.to_owned(),
            payload,
        })
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .field("bytes", &self.payload.len())
            .finish()
    }
}

/// Authenticated encryption (XChaCha20-Poly1305, random 192-bit nonces) for secrets that must
/// be read back: TOTP seeds, SSO client secrets, SAML keys, webhook secrets.
///
/// Every call names a `context` (e.g. `"totp:<user id>"`), bound as associated data: a
/// ciphertext copied to another row or purpose does not open there.
#[derive(Clone)]
pub struct SecretBox {
    keys: Keyring,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretBox")
            .field("primary", self.keys.primary_id())
            .finish()
    }
}

impl SecretBox {
    /// A box over `keys`.
    pub fn new(keys: Keyring) -> Self {
        Self { keys }
    }

    /// Seals `plaintext` under the primary key, bound to `context`.
    pub fn seal(
        &self,
        random: &dyn Random,
        plaintext: &[u8],
        context: &str,
    ) -> Result<SealedSecret, AuthError> {
        let (key_id, key) = self.keys.primary();
        let cipher = cipher_for(key);
        let mut nonce = [0u8; NONCE_BYTES];
        random.fill(&mut nonce);
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &associated_data(key_id.as_str(), context),
                },
            )
            .map_err(|_| AuthError::internal("secret could not be sealed"))?;
        let mut payload = nonce.to_vec();
        payload.extend_from_slice(&ciphertext);
        Ok(SealedSecret {
            key_id: key_id.as_str().to_owned(),
            payload,
        })
    }

    /// Opens a sealed secret; fails if the key is unknown, the context differs, or the
    /// ciphertext was altered.
    pub fn open(
        &self,
        sealed: &SealedSecret,
        context: &str,
    ) -> Result<Zeroizing<Vec<u8>>, AuthError> {
        let key = self
            .keys
            .get(&sealed.key_id)
            .ok_or_else(|| AuthError::internal("secret sealed under an unknown key"))?;
        let (nonce, ciphertext) = sealed
            .payload
            .split_at_checked(NONCE_BYTES)
            .ok_or_else(|| AuthError::internal("sealed secret is truncated"))?;
        let nonce: [u8; NONCE_BYTES] = nonce
            .try_into()
            .map_err(|_| AuthError::internal("sealed secret is truncated"))?;
        cipher_for(key)
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &associated_data(&sealed.key_id, context),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| AuthError::internal("sealed secret failed authentication"))
    }

    /// Whether `sealed` was made under a key other than the primary, i.e. should be opened
    /// and sealed again to finish a key rotation.
    pub fn needs_reseal(&self, sealed: &SealedSecret) -> bool {
        sealed.key_id != self.keys.primary_id().as_str()
    }

    /// The rewrite step of a key rotation: `sealed` opened and sealed again under the
    /// primary key, or `None` when the primary sealed it already. A store writes the
    /// result back in place of the old ciphertext.
    pub fn reseal(
        &self,
        random: &dyn Random,
        sealed: &SealedSecret,
        context: &str,
    ) -> Result<Option<SealedSecret>, AuthError> {
        if !self.needs_reseal(sealed) {
            return Ok(None);
        }
        let plaintext = self.open(sealed, context)?;
        self.seal(random, &plaintext, context).map(Some)
    }
}

fn cipher_for(key: &super::SecretKey) -> XChaCha20Poly1305 {
    let subkey = key.derive(SUBKEY_PURPOSE);
    XChaCha20Poly1305::new(&(*subkey).into())
}

fn associated_data(key_id: &str, context: &str) -> Vec<u8> {
    [
        FORMAT_VERSION.as_bytes(),
        b"\0",
        key_id.as_bytes(),
        b"\0",
        context.as_bytes(),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{OsRandom, SecretKey};

    fn keyring(byte: u8, id: &str) -> Keyring {
        Keyring::new(
            KeyId::new(id).unwrap(),
            SecretKey::from_bytes(&[byte; 32]).unwrap(),
        )
    }

    #[test]
    fn seal_then_open_round_trips() {
        let sb = SecretBox::new(keyring(1, "k1"));
        let sealed = sb.seal(&OsRandom, b"JBSWY3DPEHPK3PXP", "totp:u1").unwrap();
        assert_eq!(sealed.key_id(), "k1");
        let text = sealed.to_text();
        assert!(text.starts_with("v1.k1."));
        assert!(!text.contains("JBSWY3DPEHPK3PXP"));
        let parsed = SealedSecret::from_text(&text).unwrap();
        assert_eq!(&*sb.open(&parsed, "totp:u1").unwrap(), b"JBSWY3DPEHPK3PXP");
    }

    #[test]
    fn nonces_differ_between_seals() {
        let sb = SecretBox::new(keyring(1, "k1"));
        let a = sb.seal(&OsRandom, b"same", "c").unwrap();
        let b = sb.seal(&OsRandom, b"same", "c").unwrap();
        assert_ne!(a.to_text(), b.to_text());
    }

    #[test]
    fn wrong_context_tampering_and_unknown_keys_fail() {
        let sb = SecretBox::new(keyring(1, "k1"));
        let sealed = sb.seal(&OsRandom, b"seed", "totp:u1").unwrap();
        assert!(sb.open(&sealed, "totp:u2").is_err());

        let mut tampered = sealed.clone();
        if let Some(last) = tampered.payload.last_mut() {
            *last ^= 1;
        }
        assert!(sb.open(&tampered, "totp:u1").is_err());

        let other = SecretBox::new(keyring(2, "k2"));
        assert!(other.open(&sealed, "totp:u1").is_err());

        // Same id, different key material: authentication fails.
        let impostor = SecretBox::new(keyring(3, "k1"));
        assert!(impostor.open(&sealed, "totp:u1").is_err());
    }

    #[test]
    fn rotation_keeps_old_secrets_readable_and_flags_them() {
        let old = SecretBox::new(keyring(1, "k1"));
        let sealed = old.seal(&OsRandom, b"seed", "ctx").unwrap();
        let rotated = SecretBox::new(keyring(2, "k2").with_retired(
            KeyId::new("k1").unwrap(),
            SecretKey::from_bytes(&[1; 32]).unwrap(),
        ));
        assert_eq!(&*rotated.open(&sealed, "ctx").unwrap(), b"seed");
        assert!(rotated.needs_reseal(&sealed));
        let resealed = rotated.reseal(&OsRandom, &sealed, "ctx").unwrap().unwrap();
        assert!(!rotated.needs_reseal(&resealed));
        assert_eq!(resealed.key_id(), "k2");
        assert_eq!(&*rotated.open(&resealed, "ctx").unwrap(), b"seed");
        assert_eq!(rotated.reseal(&OsRandom, &resealed, "ctx").unwrap(), None);
        // Resealing checks what it opens: another row's ciphertext does not move.
        assert!(rotated.reseal(&OsRandom, &sealed, "other").is_err());
        // After the old key is dropped, only the resealed copy opens.
        let new_only = SecretBox::new(keyring(2, "k2"));
        assert!(new_only.open(&sealed, "ctx").is_err());
        assert_eq!(&*new_only.open(&resealed, "ctx").unwrap(), b"seed");
    }

    #[test]
    fn malformed_text_is_rejected() {
        for bad in [
            "",
            "v1",
            "v1.k1",
            "v2.k1.AAAA",
            "v1.bad id.AAAA",
            "v1.k1.!!!",
            "v1.k1.AAAA",
        ] {
            assert!(SealedSecret::from_text(bad).is_none(), "{bad}");
        }
    }
}
