//! Secrets: generation, one-way hashing for secrets that are only ever compared, and
//! authenticated encryption for secrets that must be read back.
//!
//! - [`Secret`]: a value shown once (a token, a code, a password in flight). Redacts itself
//!   in `Debug`, has no `Display`, and zeroizes its memory on drop.
//! - [`TokenHash`]: SHA-256 of a token; what the store keeps. Compared in constant time.
//! - [`SecretBox`] and [`Keyring`]: AEAD (XChaCha20-Poly1305) under an app key with a key
//!   id beside every ciphertext, so keys can rotate.

mod hash;
mod keys;
mod random;
mod secret_box;
mod token;

pub use hash::TokenHash;
pub use keys::{KeyId, Keyring, SecretKey};
pub use random::{OsRandom, Random};
pub use secret_box::{SealedSecret, SecretBox};
pub use token::{Secret, TOKEN_BYTES, TOKEN_CHARS, generate_token, is_token};
