use async_trait::async_trait;
use time::OffsetDateTime;

use super::{RefreshToken, RotationOutcome, RotationPlan, Session, SessionFilter, SessionOrder};
use crate::error::StoreError;
use crate::ids::{SessionId, UserId};
use crate::pagination::PageRequest;
use crate::secret::TokenHash;
use crate::users::User;

/// Storage of sessions and their refresh tokens.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Inserts a session and its first refresh token, atomically.
    async fn create_session(
        &self,
        session: &Session,
        refresh: &RefreshToken,
    ) -> Result<(), StoreError>;

    /// The session with this token hash and its user, in ONE indexed lookup (the hot path on
    /// a cache miss). Returns revoked and expired sessions too; the caller decides.
    async fn find_session_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<(Session, User)>, StoreError>;

    /// The session with this id.
    async fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError>;

    /// Sessions matching the filter, sorted by `(created_at, id)`, strictly after
    /// `request.after`, at most `request.fetch_limit()`.
    async fn list_sessions(
        &self,
        request: &PageRequest<SessionFilter, SessionOrder>,
    ) -> Result<Vec<Session>, StoreError>;

    /// Records use of an active session: sets `last_seen_at` and `idle_expires_at`.
    /// Returns `false` if it is gone or revoked.
    async fn touch_session(
        &self,
        id: SessionId,
        last_seen_at: OffsetDateTime,
        idle_expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Revokes one session if it is not revoked yet; returns its token hash if it did.
    async fn revoke_session(
        &self,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<Option<TokenHash>, StoreError>;

    /// Revokes all of a user's unrevoked sessions, except `except`; returns their token hashes.
    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<TokenHash>, StoreError>;

    /// Refreshes a session, atomically: if the refresh token `presented` is unused and its
    /// session active at `plan.now`, marks it used, stores a new refresh token
    /// (`plan.new_refresh_hash`, expiring with the session), and sets the session's token
    /// hash, `last_seen_at` and `idle_expires_at` from the plan. If the refresh token was
    /// used before, revokes its session instead ([`RotationOutcome::Reused`]). Under
    /// concurrent calls with one token, exactly one rotates.
    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        plan: &RotationPlan,
    ) -> Result<RotationOutcome, StoreError>;

    /// Deletes sessions (and their refresh tokens) that expired or were revoked before
    /// `before`; returns how many.
    async fn purge_sessions(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
