use async_trait::async_trait;
use auth_core::pagination::PageRequest;
use auth_core::sessions::{
    RefreshToken, RotationOutcome, RotationPlan, SessionFilter, SessionOrder, SessionState,
};
use auth_core::{Conflict, Session, SessionId, SessionStore, StoreError, TokenHash, User, UserId};
use time::OffsetDateTime;

use crate::MemoryStore;
use crate::tables::Tables;

impl Tables {
    pub(crate) fn revoke_user_sessions(
        &mut self,
        user_id: UserId,
        except: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Vec<TokenHash> {
        self.sessions
            .values_mut()
            .filter(|s| s.user_id == user_id && Some(s.id) != except && s.revoked_at.is_none())
            .map(|s| {
                s.revoked_at = Some(now);
                s.token_hash
            })
            .collect()
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create_session(
        &self,
        session: &Session,
        refresh: &RefreshToken,
    ) -> Result<(), StoreError> {
        let mut t = self.write();
        if t.sessions.contains_key(&session.id)
            || t.session_by_hash.contains_key(&session.token_hash)
            || t.refresh_tokens.contains_key(&refresh.token_hash)
        {
            return Err(StoreError::Conflict(Conflict::Id));
        }
        if !t.users.contains_key(&session.user_id) {
            return Err(StoreError::corrupt("session for a missing user"));
        }
        t.session_by_hash.insert(session.token_hash, session.id);
        t.sessions.insert(session.id, session.clone());
        t.refresh_tokens.insert(refresh.token_hash, refresh.clone());
        Ok(())
    }

    async fn find_session_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<(Session, User)>, StoreError> {
        let t = self.read();
        let found = t
            .session_by_hash
            .get(token_hash)
            .and_then(|id| t.sessions.get(id))
            .and_then(|s| t.users.get(&s.user_id).map(|u| (s.clone(), u.clone())));
        Ok(found)
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        Ok(self.read().sessions.get(&id).cloned())
    }

    async fn list_sessions(
        &self,
        request: &PageRequest<SessionFilter, SessionOrder>,
    ) -> Result<Vec<Session>, StoreError> {
        let t = self.read();
        Ok(request.select(
            t.sessions
                .values()
                .filter(|s| request.filter.matches(s))
                .cloned(),
        ))
    }

    async fn touch_session(
        &self,
        id: SessionId,
        last_seen_at: OffsetDateTime,
        idle_expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut t = self.write();
        match t.sessions.get_mut(&id) {
            Some(s) if s.revoked_at.is_none() => {
                s.last_seen_at = s.last_seen_at.max(last_seen_at);
                s.idle_expires_at = s.idle_expires_at.max(idle_expires_at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<Option<TokenHash>, StoreError> {
        let mut t = self.write();
        match t.sessions.get_mut(&id) {
            Some(s) if s.revoked_at.is_none() => {
                s.revoked_at = Some(now);
                Ok(Some(s.token_hash))
            }
            _ => Ok(None),
        }
    }

    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<TokenHash>, StoreError> {
        Ok(self.write().revoke_user_sessions(user_id, except, now))
    }

    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        plan: &RotationPlan,
    ) -> Result<RotationOutcome, StoreError> {
        let mut guard = self.write();
        let t = &mut *guard;
        let Some(refresh) = t.refresh_tokens.get(presented).cloned() else {
            return Ok(RotationOutcome::Unknown);
        };
        let Some(session) = t.sessions.get_mut(&refresh.session_id) else {
            return Ok(RotationOutcome::Unknown);
        };
        if refresh.used_at.is_some() {
            if session.revoked_at.is_none() {
                session.revoked_at = Some(plan.now);
            }
            return Ok(RotationOutcome::Reused {
                session_id: session.id,
                token_hash: session.token_hash,
            });
        }
        match session.state(plan.now) {
            SessionState::Active if plan.now < refresh.expires_at => {}
            SessionState::Active => return Ok(RotationOutcome::Ended(SessionState::Expired)),
            ended => return Ok(RotationOutcome::Ended(ended)),
        }
        let previous_token_hash = session.token_hash;
        session.token_hash = plan.new_token_hash;
        session.last_seen_at = plan.now;
        session.idle_expires_at = plan.idle_expires_at;
        let updated = session.clone();
        t.session_by_hash.remove(&previous_token_hash);
        t.session_by_hash.insert(updated.token_hash, updated.id);
        if let Some(old) = t.refresh_tokens.get_mut(presented) {
            old.used_at = Some(plan.now);
        }
        t.refresh_tokens.insert(
            plan.new_refresh_hash,
            RefreshToken {
                token_hash: plan.new_refresh_hash,
                session_id: updated.id,
                created_at: plan.now,
                expires_at: updated.expires_at,
                used_at: None,
            },
        );
        Ok(RotationOutcome::Rotated {
            session: updated,
            previous_token_hash,
        })
    }

    async fn purge_sessions(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let mut t = self.write();
        let ended: Vec<SessionId> = t
            .sessions
            .values()
            .filter(|s| {
                s.revoked_at.is_some_and(|r| r < before)
                    || s.expires_at < before
                    || s.idle_expires_at < before
            })
            .map(|s| s.id)
            .collect();
        let count = ended.len() as u64;
        for id in ended {
            t.remove_session(id);
        }
        Ok(count)
    }
}
