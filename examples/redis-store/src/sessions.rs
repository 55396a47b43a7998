//! [`SessionStore`]: sessions as JSON under `session:{id}`, found by
//! `session-token:{hash}`; refresh tokens under `refresh:{hash}`, gathered per session in
//! `session:{id}:refresh`. All of them expire with the session's absolute expiry. Listed
//! per user through `user:{id}:sessions`; purged through `sessions:ends`.

use std::sync::LazyLock;

use async_trait::async_trait;
use auth_core::pagination::PageRequest;
use auth_core::sessions::{
    RefreshToken, RotationOutcome, RotationPlan, SessionFilter, SessionOrder, SessionState,
};
use auth_core::{
    Conflict, Entity, Session, SessionId, SessionStore, StoreError, TokenHash, User, UserId,
};
use redis::Pipeline;
use time::OffsetDateTime;

use crate::list::Index;
use crate::records::{RefreshRecord, SessionRecord};
use crate::tx::{MAX_ATTEMPTS, Tx, contention, decode, encode};
use crate::{RedisStore, micros, millis_ceil, redis_error};

/// The session and its user in one round trip: token index → session → the user it
/// names. Read-only; the session and user keys are derived from the prefix (`ARGV[1]`),
/// which a single Redis server allows (a cluster would want them declared).
static FIND_BY_TOKEN: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local id = redis.call('GET', KEYS[1])
if not id then return false end
local session = redis.call('GET', ARGV[1] .. 'session:' .. id)
if not session then return false end
local ok, record = pcall(cjson.decode, session)
if not ok or type(record.user_id) ~= 'string' then return false end
local user = redis.call('GET', ARGV[1] .. 'user:' .. record.user_id)
if not user then return false end
return {session, user}
",
    )
});

/// When a session stops being usable: what `sessions:ends` is scored by.
fn end_of(session: &Session) -> OffsetDateTime {
    let ends = session.expires_at.min(session.idle_expires_at);
    session.revoked_at.map_or(ends, |r| r.min(ends))
}

impl RedisStore {
    /// Watches and reads a session.
    async fn watch_session(&self, tx: &mut Tx, id: &str) -> Result<Option<Session>, StoreError> {
        let key = self.key(format_args!("session:{id}"));
        tx.watch_json::<SessionRecord>(&key, "session")
            .await?
            .map(Session::try_from)
            .transpose()
    }

    /// The member of `sessions:ends` for a session.
    fn ends_member(session: &Session) -> String {
        format!("{}:{}", session.id, session.user_id)
    }

    /// Queues the write of `session`, expiring at its absolute expiry.
    fn queue_session_write(
        &self,
        pipe: &mut Pipeline,
        session: &Session,
    ) -> Result<(), StoreError> {
        pipe.cmd("SET")
            .arg(self.session_key(session.id))
            .arg(encode(&SessionRecord::from(session))?)
            .arg("PXAT")
            .arg(millis_ceil(session.expires_at))
            .ignore();
        pipe.cmd("ZADD")
            .arg(self.sessions_ends_key())
            .arg(micros(end_of(session)))
            .arg(Self::ends_member(session))
            .ignore();
        Ok(())
    }

    /// Watches a user's sessions and queues the revocation of the unrevoked ones (but
    /// `except`); returns their token hashes.
    pub(crate) async fn queue_revoke_user_sessions(
        &self,
        tx: &mut Tx,
        pipe: &mut Pipeline,
        user: UserId,
        except: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<TokenHash>, StoreError> {
        let set = self.user_sessions_key(user);
        tx.watch(&[&set]).await?;
        let ids: Vec<String> = tx
            .query(redis::cmd("ZRANGE").arg(&set).arg(0).arg(-1))
            .await?;
        let keys: Vec<String> = ids
            .iter()
            .map(|id| self.key(format_args!("session:{id}")))
            .collect();
        tx.watch(&keys).await?;
        let mut revoked = Vec::new();
        for record in tx
            .get_many_json::<SessionRecord>(&keys, "session")
            .await?
            .into_iter()
            .flatten()
        {
            let mut session = Session::try_from(record)?;
            if session.revoked_at.is_none() && Some(session.id) != except {
                session.revoked_at = Some(now);
                self.queue_session_write(pipe, &session)?;
                revoked.push(session.token_hash);
            }
        }
        Ok(revoked)
    }

    /// Watches a session's refresh set and queues the deletion of the session with its
    /// refresh tokens and index entries.
    async fn queue_session_removal(
        &self,
        tx: &mut Tx,
        pipe: &mut Pipeline,
        session: &Session,
    ) -> Result<(), StoreError> {
        let refresh_set = self.session_refresh_key(session.id);
        tx.watch(&[&refresh_set]).await?;
        let hashes: Vec<String> = tx.query(redis::cmd("SMEMBERS").arg(&refresh_set)).await?;
        for hash in hashes {
            pipe.cmd("DEL")
                .arg(self.key(format_args!("refresh:{hash}")))
                .ignore();
        }
        pipe.cmd("DEL")
            .arg(self.session_key(session.id))
            .arg(self.session_token_key(&session.token_hash))
            .arg(&refresh_set)
            .ignore();
        pipe.cmd("ZREM")
            .arg(self.user_sessions_key(session.user_id))
            .arg(session.id.to_string())
            .ignore();
        pipe.cmd("ZREM")
            .arg(self.sessions_ends_key())
            .arg(Self::ends_member(session))
            .ignore();
        Ok(())
    }

    /// Queues the write of a refresh token (expiring with `expires_at`) and its place in
    /// the session's refresh set.
    fn queue_refresh_write(
        &self,
        pipe: &mut Pipeline,
        refresh: &RefreshToken,
        session_expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let expires = millis_ceil(session_expires_at);
        let set = self.session_refresh_key(refresh.session_id);
        pipe.cmd("SET")
            .arg(self.refresh_key(&refresh.token_hash))
            .arg(encode(&RefreshRecord::from(refresh))?)
            .arg("PXAT")
            .arg(expires)
            .ignore();
        pipe.cmd("SADD")
            .arg(&set)
            .arg(refresh.token_hash.to_base64())
            .ignore();
        pipe.cmd("PEXPIREAT").arg(&set).arg(expires).ignore();
        Ok(())
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    /// A transaction watching the new keys and the user.
    async fn create_session(
        &self,
        session: &Session,
        refresh: &RefreshToken,
    ) -> Result<(), StoreError> {
        let key = self.session_key(session.id);
        let token = self.session_token_key(&session.token_hash);
        let refresh_key = self.refresh_key(&refresh.token_hash);
        let user_key = self.user_key(session.user_id);
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            tx.watch(&[&key, &token, &refresh_key, &user_key]).await?;
            if tx.exists(&key).await? || tx.exists(&token).await? || tx.exists(&refresh_key).await?
            {
                tx.unwatch().await?;
                return Err(StoreError::Conflict(Conflict::Id));
            }
            if !tx.exists(&user_key).await? {
                tx.unwatch().await?;
                return Err(StoreError::MissingReference(Entity::User));
            }
            let mut pipe = redis::pipe();
            self.queue_session_write(&mut pipe, session)?;
            pipe.cmd("SET")
                .arg(&token)
                .arg(session.id.to_string())
                .arg("PXAT")
                .arg(millis_ceil(session.expires_at))
                .ignore();
            self.queue_refresh_write(&mut pipe, refresh, session.expires_at)?;
            pipe.cmd("ZADD")
                .arg(self.user_sessions_key(session.user_id))
                .arg(micros(session.created_at))
                .arg(session.id.to_string())
                .ignore();
            if tx.exec(&mut pipe).await? {
                return Ok(());
            }
        }
        Err(contention())
    }

    /// One Lua script, one round trip.
    async fn find_session_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<(Session, User)>, StoreError> {
        let found: Option<(String, String)> = FIND_BY_TOKEN
            .key(self.session_token_key(token_hash))
            .arg(self.prefix())
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        let Some((session, user)) = found else {
            return Ok(None);
        };
        let session = Session::try_from(decode::<SessionRecord>(&session, "session")?)?;
        let user = decode::<User>(&user, "user")?;
        Ok(Some((session, user)))
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let json: Option<String> = redis::cmd("GET")
            .arg(self.session_key(id))
            .query_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        json.map(|json| Session::try_from(decode::<SessionRecord>(&json, "session")?))
            .transpose()
    }

    async fn list_sessions(
        &self,
        request: &PageRequest<SessionFilter, SessionOrder>,
    ) -> Result<Vec<Session>, StoreError> {
        self.walk(
            &self.user_sessions_key(request.filter.user_id),
            Index::Time,
            request,
            |id| self.key(format_args!("session:{id}")),
            |json| Session::try_from(decode::<SessionRecord>(json, "session")?),
            |session| request.filter.matches(session),
        )
        .await
    }

    /// A transaction on the session: a touch never undoes a revocation that raced it.
    async fn touch_session(
        &self,
        id: SessionId,
        last_seen_at: OffsetDateTime,
        idle_expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let id = id.to_string();
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            let mut session = match self.watch_session(&mut tx, &id).await? {
                Some(s) if s.revoked_at.is_none() => s,
                _ => {
                    tx.unwatch().await?;
                    return Ok(false);
                }
            };
            session.last_seen_at = session.last_seen_at.max(last_seen_at);
            session.idle_expires_at = session.idle_expires_at.max(idle_expires_at);
            let mut pipe = redis::pipe();
            self.queue_session_write(&mut pipe, &session)?;
            if tx.exec(&mut pipe).await? {
                return Ok(true);
            }
        }
        Err(contention())
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<Option<TokenHash>, StoreError> {
        let id = id.to_string();
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            let mut session = match self.watch_session(&mut tx, &id).await? {
                Some(s) if s.revoked_at.is_none() => s,
                _ => {
                    tx.unwatch().await?;
                    return Ok(None);
                }
            };
            session.revoked_at = Some(now);
            let mut pipe = redis::pipe();
            self.queue_session_write(&mut pipe, &session)?;
            if tx.exec(&mut pipe).await? {
                return Ok(Some(session.token_hash));
            }
        }
        Err(contention())
    }

    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<TokenHash>, StoreError> {
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            let mut pipe = redis::pipe();
            let revoked = self
                .queue_revoke_user_sessions(&mut tx, &mut pipe, user_id, except, now)
                .await?;
            if revoked.is_empty() {
                tx.unwatch().await?;
                return Ok(revoked);
            }
            if tx.exec(&mut pipe).await? {
                return Ok(revoked);
            }
        }
        Err(contention())
    }

    /// A transaction watching the presented refresh token and its session: of concurrent
    /// calls with one token, one commits the rotation; the others' `EXEC` aborts, they
    /// start again, see the token used and revoke the session.
    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        plan: &RotationPlan,
    ) -> Result<RotationOutcome, StoreError> {
        let refresh_key = self.refresh_key(presented);
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            let refresh = tx
                .watch_json::<RefreshRecord>(&refresh_key, "refresh token")
                .await?
                .map(RefreshToken::try_from)
                .transpose()?;
            let Some(mut refresh) = refresh else {
                tx.unwatch().await?;
                return Ok(RotationOutcome::Unknown);
            };
            let session_id = refresh.session_id.to_string();
            let Some(mut session) = self.watch_session(&mut tx, &session_id).await? else {
                tx.unwatch().await?;
                return Ok(RotationOutcome::Unknown);
            };
            let mut pipe = redis::pipe();
            if refresh.used_at.is_some() {
                let reused = RotationOutcome::Reused {
                    session_id: session.id,
                    token_hash: session.token_hash,
                };
                if session.revoked_at.is_some() {
                    tx.unwatch().await?;
                    return Ok(reused);
                }
                session.revoked_at = Some(plan.now);
                self.queue_session_write(&mut pipe, &session)?;
                if tx.exec(&mut pipe).await? {
                    return Ok(reused);
                }
                continue;
            }
            match session.state(plan.now) {
                SessionState::Active if plan.now < refresh.expires_at => {}
                SessionState::Active => {
                    tx.unwatch().await?;
                    return Ok(RotationOutcome::Ended(SessionState::Expired));
                }
                ended => {
                    tx.unwatch().await?;
                    return Ok(RotationOutcome::Ended(ended));
                }
            }
            let previous_token_hash = session.token_hash;
            session.token_hash = plan.new_token_hash;
            session.last_seen_at = plan.now;
            session.idle_expires_at = plan.idle_expires_at;
            self.queue_session_write(&mut pipe, &session)?;
            pipe.cmd("DEL")
                .arg(self.session_token_key(&previous_token_hash))
                .ignore();
            pipe.cmd("SET")
                .arg(self.session_token_key(&session.token_hash))
                .arg(&session_id)
                .arg("PXAT")
                .arg(millis_ceil(session.expires_at))
                .ignore();
            refresh.used_at = Some(plan.now);
            self.queue_refresh_write(&mut pipe, &refresh, session.expires_at)?;
            let next = RefreshToken {
                token_hash: plan.new_refresh_hash,
                session_id: session.id,
                created_at: plan.now,
                expires_at: session.expires_at,
                used_at: None,
            };
            self.queue_refresh_write(&mut pipe, &next, session.expires_at)?;
            if tx.exec(&mut pipe).await? {
                return Ok(RotationOutcome::Rotated {
                    session,
                    previous_token_hash,
                });
            }
        }
        Err(contention())
    }

    /// Walks `sessions:ends` up to `before`; each session goes in its own transaction.
    async fn purge_sessions(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let ends = self.sessions_ends_key();
        let members = self.ended(&ends, before).await?;
        let mut purged = 0;
        let mut tx = self.tx().await?;
        'sessions: for member in members {
            let Some((id, user)) = member.split_once(':') else {
                return Err(StoreError::corrupt("sessions:ends member"));
            };
            for _ in 0..MAX_ATTEMPTS {
                let mut pipe = redis::pipe();
                match self.watch_session(&mut tx, id).await? {
                    // Expired in Redis already: only the index entries are left.
                    None => {
                        pipe.cmd("ZREM").arg(&ends).arg(&member).ignore();
                        pipe.cmd("ZREM")
                            .arg(self.key(format_args!("user:{user}:sessions")))
                            .arg(id)
                            .ignore();
                        if tx.exec(&mut pipe).await? {
                            continue 'sessions;
                        }
                    }
                    Some(s)
                        if s.revoked_at.is_some_and(|r| r < before)
                            || s.expires_at < before
                            || s.idle_expires_at < before =>
                    {
                        self.queue_session_removal(&mut tx, &mut pipe, &s).await?;
                        if tx.exec(&mut pipe).await? {
                            purged += 1;
                            continue 'sessions;
                        }
                    }
                    Some(_) => {
                        tx.unwatch().await?;
                        continue 'sessions;
                    }
                }
            }
            return Err(contention());
        }
        Ok(purged)
    }
}
