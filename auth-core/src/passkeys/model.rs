use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{PasskeyId, UserId};
use crate::secret::Secret;

/// The format version of [`Passkey::credential`]: 1 is webauthn-rs 0.6's serialised
/// `Passkey` (JSON). A later webauthn-rs with another format gets a new number, and the
/// service converts old rows, so an upgrade never strands a user.
pub const PASSKEY_FORMAT: u16 = 1;

/// A registered passkey.
#[derive(Clone, PartialEq, Eq)]
pub struct Passkey {
    /// Its id.
    pub id: PasskeyId,
    /// Whose.
    pub user_id: UserId,
    /// The WebAuthn credential id (raw bytes): unique across all users.
    pub credential_id: Vec<u8>,
    /// The credential as webauthn-rs serialises it (public key, counter, flags), in
    /// format [`Self::format`]. Public data, but kept out of `Debug`.
    pub credential: String,
    /// The format version of `credential` ([`PASSKEY_FORMAT`]).
    pub format: u16,
    /// The signature counter last seen (0 for authenticators without one, such as synced
    /// passkeys).
    pub counter: u32,
    /// Whether the credential may be backed up or synced.
    pub backup_eligible: bool,
    /// Whether it is backed up or synced now.
    pub backup_state: bool,
    /// How the client can reach the authenticator (`internal`, `usb`, `hybrid`, ...).
    pub transports: Vec<String>,
    /// The authenticator model's AAGUID, when the authenticator gave one (all zeros is
    /// stored as `None`).
    pub aaguid: Option<Uuid>,
    /// The user's name for it.
    pub name: String,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When it last signed in.
    pub last_used_at: Option<OffsetDateTime>,
}

impl fmt::Debug for Passkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passkey")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("counter", &self.counter)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Passkey {
    /// What its owner sees of it.
    pub fn view(&self) -> PasskeyView {
        PasskeyView {
            id: self.id,
            name: self.name.clone(),
            backup_eligible: self.backup_eligible,
            backup_state: self.backup_state,
            transports: self.transports.clone(),
            aaguid: self.aaguid,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        }
    }
}

/// A passkey as listed to its owner: no credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyView {
    /// Its id.
    pub id: PasskeyId,
    /// The user's name for it.
    pub name: String,
    /// Whether it may be backed up or synced.
    pub backup_eligible: bool,
    /// Whether it is backed up or synced now.
    pub backup_state: bool,
    /// How the client reaches the authenticator.
    pub transports: Vec<String>,
    /// The authenticator model's AAGUID, if given.
    pub aaguid: Option<Uuid>,
    /// Registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last used to sign in.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// What a successful use changes in a stored passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyUse {
    /// The credential as updated by webauthn-rs (new counter, backup flags).
    pub credential: String,
    /// The new counter.
    pub counter: u32,
    /// The backup eligibility now.
    pub backup_eligible: bool,
    /// The backup state now.
    pub backup_state: bool,
    /// When it was used.
    pub at: OffsetDateTime,
}

/// The result of [`PasskeyStore::delete_passkey`](super::PasskeyStore::delete_passkey).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeletePasskeyOutcome {
    /// Removed.
    Deleted,
    /// The user has no such passkey.
    NotFound,
    /// Refused: it is the user's last way to sign in.
    LastSignInMethod,
}

/// The start of a passkey ceremony: the handle to send back with the response, and the
/// options for `navigator.credentials.create()` or `.get()` (WebAuthn JSON, base64url
/// binary fields, as webauthn-rs produces them: `{"publicKey": {...}}`).
pub struct PasskeyChallenge {
    /// The ceremony handle (a secret of this attempt; send it back to finish).
    pub handle: Secret,
    /// The WebAuthn options.
    pub options: Value,
}

impl fmt::Debug for PasskeyChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasskeyChallenge")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}
