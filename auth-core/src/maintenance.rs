//! Housekeeping an app schedules: deleting what ended (sessions, one-time codes, rate-limit
//! buckets). Nothing depends on it for correctness — every expiry is checked when a record
//! is read — but without it the store keeps ended rows (and the rate-limit rows of every
//! address and IP ever seen, as keyed hashes) for good.

use crate::Auth;
use crate::error::AuthError;
use crate::store::CoreStore;

/// What [`Auth::purge_expired`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Sessions that ended (expired or revoked) before now.
    pub sessions: u64,
    /// Emailed codes and links that expired or were used.
    pub verifications: u64,
    /// Rate-limit buckets whose allowance is whole again.
    pub rate_limits: u64,
}

impl<S: CoreStore> Auth<S> {
    /// Deletes everything that ended before now, on the injected clock. Run it from a
    /// periodic job (every few minutes to every hour; the example server runs it every 10
    /// minutes); any number of nodes may run it at once.
    pub async fn purge_expired(&self) -> Result<Purged, AuthError> {
        let now = self.now();
        let store = self.store();
        Ok(Purged {
            sessions: store.purge_sessions(now).await?,
            verifications: store.purge_verifications(now).await?,
            rate_limits: store.purge_rate_limits(now).await?,
        })
    }
}
