use std::fmt;

use serde_json::Value;

use super::{Ceremony, CeremonyKind, CeremonyStore};
use crate::auth::Auth;
use crate::error::AuthError;
use crate::ids::UserId;
use crate::secret::{Secret, TokenHash, generate_token, is_token};

/// A ceremony just started: the handle to give the client (once; only its hash is
/// stored) and the ceremony as stored.
pub struct StartedCeremony {
    /// The handle the client sends back to finish.
    pub handle: Secret,
    /// The stored ceremony.
    pub ceremony: Ceremony,
}

impl fmt::Debug for StartedCeremony {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartedCeremony")
            .field("handle", &self.handle)
            .field("kind", &self.ceremony.kind)
            .finish_non_exhaustive()
    }
}

/// Starting and finishing ceremonies: `auth.ceremonies()`. The building block of the
/// flows that span requests (passkeys today); apps rarely call it directly.
pub struct Ceremonies<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: CeremonyStore> Auth<S> {
    /// Ceremonies in progress.
    pub fn ceremonies(&self) -> Ceremonies<'_, S> {
        Ceremonies { auth: self }
    }
}

impl<S: CeremonyStore> Ceremonies<'_, S> {
    /// Starts a ceremony of `kind` (for `user_id`, when known) holding `payload`, valid
    /// for [`AuthConfig::ceremony_ttl`](crate::AuthConfig::ceremony_ttl) on the injected
    /// clock. Returns a new random handle (256 bits) for the client.
    pub async fn begin(
        &self,
        kind: CeremonyKind,
        user_id: Option<UserId>,
        payload: Value,
    ) -> Result<StartedCeremony, AuthError> {
        let handle = generate_token(self.auth.inner().random.as_ref());
        let now = self.auth.now();
        let ceremony = Ceremony {
            handle_hash: TokenHash::of(handle.expose()),
            kind,
            user_id,
            payload,
            created_at: now,
            expires_at: now + self.auth.config().ceremony_ttl,
        };
        self.auth.store().put_ceremony(&ceremony).await?;
        Ok(StartedCeremony { handle, ceremony })
    }

    /// Takes the ceremony of `kind` with this handle, spending it whatever happens next:
    /// `CEREMONY_INVALID` if the handle is malformed, unknown, of another kind or used
    /// already; `CEREMONY_EXPIRED` if it is past its expiry.
    pub async fn finish(&self, kind: CeremonyKind, handle: &str) -> Result<Ceremony, AuthError> {
        if !is_token(handle) {
            return Err(AuthError::CeremonyInvalid);
        }
        let ceremony = self
            .auth
            .store()
            .take_ceremony(kind, &TokenHash::of(handle))
            .await?
            .ok_or(AuthError::CeremonyInvalid)?;
        if ceremony.is_expired(self.auth.now()) {
            return Err(AuthError::CeremonyExpired);
        }
        Ok(ceremony)
    }

    /// Deletes ceremonies that expired before `before` (maintenance).
    pub async fn purge(&self, before: time::OffsetDateTime) -> Result<u64, AuthError> {
        Ok(self.auth.store().purge_ceremonies(before).await?)
    }
}
