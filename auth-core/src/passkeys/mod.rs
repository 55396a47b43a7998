//! Passkeys (WebAuthn, through webauthn-rs): register one for a signed-in user, sign up
//! with one (no password), sign in with one (discoverable, with no username typed, or for
//! a named user), use one as a second factor; list, rename and remove them.
//!
//! Every ceremony's state lives in the store ([`crate::ceremonies`]) and is spent on the
//! first finish attempt, success or not. The library does what webauthn-rs leaves to its
//! caller: a credential id is registered to one account only; a discoverable response's
//! `userHandle` must name the credential's owner; the counter is stored after every use,
//! compare-and-set, so a cloned credential's regression is refused even across nodes.
//! A password reset does not remove passkeys (they are phishing resistant); deleting the
//! user does.

mod model;
mod service;
mod store;

pub use model::{
    DeletePasskeyOutcome, PASSKEY_FORMAT, Passkey, PasskeyChallenge, PasskeyUse, PasskeyView,
};
pub use service::{PasskeyConfig, Passkeys};
pub use store::PasskeyStore;
