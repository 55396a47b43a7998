//! TOTP (RFC 6238) as a second factor, with single-use recovery codes.
//!
//! A signed-in user enrols: a 160-bit seed is generated, sealed with the app's
//! [`SecretBox`](crate::secret::SecretBox) and stored pending, and the user gets an
//! `otpauth://` URI, its QR code (SVG) and the seed in base32. The first valid code
//! confirms it and returns ten recovery codes, shown once and stored as SHA-256 hashes.
//! Verification accepts the code of the current step or one step either side, and each
//! step at most once per user (the last accepted step is kept in the store and advanced
//! atomically, so a code is not accepted twice, even by two nodes at once). Wrong codes
//! and recovery codes are throttled per account across IPs (`RATE_LIMITED`), and every
//! step is audited (`totp.*`, `recovery_code.*`).

mod model;
mod service;
mod store;

pub use model::{
    ConfirmOutcome, FactorState, PutPendingOutcome, RecoveryCodes, TOTP_FORMAT_VERSION,
    TotpAlgorithm, TotpFactor, TotpParams, TotpStatus,
};
pub use service::{Totp, TotpConfig, TotpEnrolment};
pub use store::TotpStore;
