use std::sync::Arc;

use time::OffsetDateTime;

use super::{
    Aal, Authenticated, RefreshToken, RotationOutcome, RotationPlan, Session, SessionFilter,
    SessionOrder, SessionState, SignedIn,
};
use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::caller::Caller;
use crate::context::RequestMeta;
use crate::error::{AuthError, Entity};
use crate::ids::{SessionId, SsoConnectionId, UserId};
use crate::invalidation::Invalidation;
use crate::pagination::{ListQuery, Page, PageRequest};
use crate::secret::{TOKEN_CHARS, TokenHash, generate_token, is_token};
use crate::sessions::SessionStore;
use crate::users::{User, UserStore};

/// Session operations: `auth.sessions()`.
pub struct Sessions<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: SessionStore + UserStore + 'static> Auth<S> {
    /// Session operations.
    pub fn sessions(&self) -> Sessions<'_, S> {
        Sessions { auth: self }
    }
}

impl<S: SessionStore + UserStore + 'static> Sessions<'_, S> {
    /// Validates a session token: the hot path of every authenticated request.
    ///
    /// Malformed tokens fail with `INVALID_TOKEN` before any lookup; unknown tokens with
    /// `NOT_SIGNED_IN`; then `SESSION_REVOKED` or `SESSION_EXPIRED`. A cache hit costs a
    /// SHA-256 and a hash-map lookup; use is written to the store at most once per touch
    /// interval.
    pub async fn validate(&self, token: &str) -> Result<Arc<Authenticated>, AuthError> {
        if !is_token(token) {
            return Err(AuthError::InvalidToken);
        }
        let hash = TokenHash::of(token);
        if let Some(hit) = self.cached(&hash, self.auth.now_nanos()) {
            return Ok(hit);
        }
        self.validate_from_store(hash, self.auth.now()).await
    }

    /// The synchronous part of [`Self::validate`]: the session of `token` when this
    /// process's cache has it, active and not due to have its use recorded. `None` means
    /// "ask [`Self::validate`]" (which also explains any refusal); no store call is made.
    ///
    /// Only the token's length is checked before hashing: the cache holds only hashes of
    /// well-formed tokens, so anything else misses and [`Self::validate`] refuses it.
    pub fn validate_cached(&self, token: &str) -> Option<Arc<Authenticated>> {
        if token.len() != TOKEN_CHARS {
            return None;
        }
        self.cached(&TokenHash::of(token), self.auth.now_nanos())
    }

    /// The cached session of `hash`, active and not due to be touched at `now` (Unix
    /// nanoseconds): the cache decides both with one comparison.
    fn cached(&self, hash: &TokenHash, now: i64) -> Option<Arc<Authenticated>> {
        self.auth.inner().session_cache.get(hash, now)
    }

    #[tracing::instrument(name = "sessions.validate_from_store", skip_all)]
    async fn validate_from_store(
        &self,
        hash: TokenHash,
        now: OffsetDateTime,
    ) -> Result<Arc<Authenticated>, AuthError> {
        let cache = &self.auth.inner().session_cache;
        let ticket = cache.ticket();
        let Some((mut session, user)) = self.auth.store().find_session_by_token(&hash).await?
        else {
            cache.evict(&hash);
            return Err(AuthError::NotSignedIn);
        };
        match session.state(now) {
            SessionState::Active => {}
            SessionState::Revoked => {
                cache.evict(&hash);
                return Err(AuthError::SessionRevoked);
            }
            SessionState::Expired => {
                cache.evict(&hash);
                return Err(AuthError::SessionExpired);
            }
        }
        if self.needs_touch(&session, now) {
            let idle_expires_at = now + self.auth.config().session.idle_timeout;
            if !self
                .auth
                .store()
                .touch_session(session.id, now, idle_expires_at)
                .await?
            {
                cache.evict(&hash);
                return Err(AuthError::SessionRevoked);
            }
            session.last_seen_at = now;
            session.idle_expires_at = idle_expires_at;
        }
        let authenticated = Arc::new(Authenticated {
            session,
            user: Arc::new(user),
        });
        cache.insert(ticket, hash, Arc::clone(&authenticated), now);
        Ok(authenticated)
    }

    fn needs_touch(&self, session: &Session, now: OffsetDateTime) -> bool {
        now - session.last_seen_at >= self.auth.config().session.touch_interval
    }

    /// Starts a new session for `user` (after any successful sign-in). Every sign-in gets a
    /// new session id and new tokens, and ends the session the request presented
    /// ([`RequestMeta::presented_session`]), whoever's it is.
    pub(crate) async fn start(
        &self,
        user: User,
        aal: Aal,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        self.start_via(user, aal, None, meta).await
    }

    /// [`Self::start`], recording the SSO connection that signed the user in.
    pub(crate) async fn start_via(
        &self,
        user: User,
        aal: Aal,
        sso_connection_id: Option<SsoConnectionId>,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        let inner = self.auth.inner();
        let now = self.auth.now();
        let config = &inner.config.session;
        let session_token = generate_token(inner.random.as_ref());
        let refresh_token = generate_token(inner.random.as_ref());
        let session = Session {
            id: SessionId::new(),
            user_id: user.id,
            token_hash: TokenHash::of(session_token.expose()),
            aal,
            ip: meta.ip.map(|ip| ip.to_string()),
            user_agent: meta.user_agent.clone(),
            created_at: now,
            last_seen_at: now,
            idle_expires_at: now + config.idle_timeout,
            expires_at: now + config.absolute_timeout,
            revoked_at: None,
            sso_connection_id,
        };
        let refresh = RefreshToken {
            token_hash: TokenHash::of(refresh_token.expose()),
            session_id: session.id,
            created_at: now,
            expires_at: session.expires_at,
            used_at: None,
        };
        let ticket = inner.session_cache.ticket();
        self.auth.store().create_session(&session, &refresh).await?;
        if let Some(presented) = meta.presented_session {
            self.end_presented(presented, &session, meta).await?;
        }
        inner.session_cache.insert(
            ticket,
            session.token_hash,
            Arc::new(Authenticated {
                session: session.clone(),
                user: Arc::new(user.clone()),
            }),
            now,
        );
        Ok(SignedIn {
            user,
            session,
            session_token,
            refresh_token,
        })
    }

    /// Ends the session whose token the request presented, now that `replacement` started:
    /// audited as `session.replaced` (nothing to do if it is unknown or ended).
    async fn end_presented(
        &self,
        presented: TokenHash,
        replacement: &Session,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let store = self.auth.store();
        let Some((session, _)) = store.find_session_by_token(&presented).await? else {
            return Ok(());
        };
        let revoked = store
            .revoke_session(session.id, replacement.created_at)
            .await?;
        self.auth
            .invalidate(&[Invalidation::Session(presented)])
            .await;
        if revoked.is_some() {
            self.auth
                .record_audit(
                    AuditEvent::new(
                        "session.replaced",
                        Actor::User {
                            id: replacement.user_id,
                        },
                        replacement.created_at,
                        meta,
                    )
                    .subject("session", session.id)
                    .in_session(replacement.id)
                    .detail(serde_json::json!({ "user": session.user_id })),
                )
                .await;
        }
        Ok(())
    }

    /// Starts a session for a user who just proved who they are with `method` (`password`,
    /// `email`, ...), and audits the sign-in.
    pub(crate) async fn sign_in(
        &self,
        user: User,
        aal: Aal,
        method: &str,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        let signed_in = self.start(user, aal, meta).await?;
        self.auth
            .record_audit(
                AuditEvent::new(
                    "user.sign_in",
                    Actor::User {
                        id: signed_in.user.id,
                    },
                    signed_in.session.created_at,
                    meta,
                )
                .in_session(signed_in.session.id)
                .detail(serde_json::json!({ "method": method })),
            )
            .await;
        Ok(signed_in)
    }

    /// Exchanges a refresh token for a new session token and a new refresh token. The old
    /// ones stop working. Presenting a refresh token a second time revokes the whole
    /// session (`REFRESH_TOKEN_REUSED`): one of the two presenters is not the client.
    #[tracing::instrument(name = "sessions.refresh", skip_all)]
    pub async fn refresh(
        &self,
        refresh_token: &str,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        if !is_token(refresh_token) {
            return Err(AuthError::RefreshTokenInvalid);
        }
        let inner = self.auth.inner();
        let now = self.auth.now();
        let session_token = generate_token(inner.random.as_ref());
        let new_refresh = generate_token(inner.random.as_ref());
        let plan = RotationPlan {
            new_token_hash: TokenHash::of(session_token.expose()),
            new_refresh_hash: TokenHash::of(new_refresh.expose()),
            now,
            idle_expires_at: now + inner.config.session.idle_timeout,
        };
        let outcome = self
            .auth
            .store()
            .rotate_refresh_token(&TokenHash::of(refresh_token), &plan)
            .await?;
        let session = match outcome {
            RotationOutcome::Rotated {
                session,
                previous_token_hash,
            } => {
                self.auth
                    .invalidate(&[Invalidation::Session(previous_token_hash)])
                    .await;
                session
            }
            RotationOutcome::Reused {
                session_id,
                token_hash,
            } => {
                self.auth
                    .invalidate(&[Invalidation::Session(token_hash)])
                    .await;
                let error = AuthError::RefreshTokenReused;
                self.auth
                    .record_audit(
                        AuditEvent::new("session.refresh", Actor::Anonymous, now, meta)
                            .subject("session", session_id)
                            .in_session(session_id)
                            .failed(&error),
                    )
                    .await;
                tracing::warn!(session = %session_id, "refresh token reused; session revoked");
                return Err(error);
            }
            RotationOutcome::Ended(SessionState::Revoked) => return Err(AuthError::SessionRevoked),
            RotationOutcome::Ended(_) => return Err(AuthError::SessionExpired),
            RotationOutcome::Unknown => return Err(AuthError::RefreshTokenInvalid),
        };
        let user = self
            .auth
            .store()
            .get_user(session.user_id)
            .await?
            .ok_or(AuthError::NotFound(Entity::User))?;
        self.auth
            .record_audit(
                AuditEvent::new("session.refresh", Actor::User { id: user.id }, now, meta)
                    .subject("session", session.id)
                    .in_session(session.id),
            )
            .await;
        Ok(SignedIn {
            user,
            session,
            session_token,
            refresh_token: new_refresh,
        })
    }

    /// Signs out: revokes the session of `token`. Signing out an unknown or ended session
    /// is not an error.
    #[tracing::instrument(name = "sessions.sign_out", skip_all)]
    pub async fn sign_out(&self, token: &str, meta: &RequestMeta) -> Result<(), AuthError> {
        if !is_token(token) {
            return Err(AuthError::InvalidToken);
        }
        let hash = TokenHash::of(token);
        let cache = &self.auth.inner().session_cache;
        let Some((session, user)) = self.auth.store().find_session_by_token(&hash).await? else {
            cache.evict(&hash);
            return Ok(());
        };
        let now = self.auth.now();
        let revoked = self.auth.store().revoke_session(session.id, now).await?;
        self.auth.invalidate(&[Invalidation::Session(hash)]).await;
        if revoked.is_some() {
            self.auth
                .record_audit(
                    AuditEvent::new("session.sign_out", Actor::User { id: user.id }, now, meta)
                        .subject("session", session.id)
                        .in_session(session.id),
                )
                .await;
        }
        Ok(())
    }

    /// A user's active sessions, newest last by default (the user themselves, or the app).
    #[tracing::instrument(name = "sessions.list", skip_all, fields(user = %user_id))]
    pub async fn list(
        &self,
        caller: &Caller,
        user_id: UserId,
        query: ListQuery<(), SessionOrder>,
    ) -> Result<Page<Session>, AuthError> {
        if !caller.is_self_or_system(user_id) {
            return Err(AuthError::NotFound(Entity::User));
        }
        let PageRequest {
            order,
            direction,
            limit,
            after,
            ..
        } = query.validate()?;
        let request = PageRequest {
            filter: SessionFilter {
                user_id,
                active_at: Some(self.auth.now()),
            },
            order,
            direction,
            limit,
            after,
        };
        let rows = self.auth.store().list_sessions(&request).await?;
        Ok(Page::from_fetched(rows, &request))
    }

    /// Revokes a session: one of the caller's own (another user's is `SESSION_NOT_FOUND`),
    /// or any for the app.
    #[tracing::instrument(name = "sessions.revoke", skip_all, fields(session = %session_id))]
    pub async fn revoke(
        &self,
        caller: &Caller,
        session_id: SessionId,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let store = self.auth.store();
        let session = store
            .get_session(session_id)
            .await?
            .filter(|s| caller.is_self_or_system(s.user_id))
            .ok_or(AuthError::NotFound(Entity::Session))?;
        let now = self.auth.now();
        let revoked = store.revoke_session(session.id, now).await?;
        // Evict even when another node revoked it first.
        self.auth
            .invalidate(&[Invalidation::Session(session.token_hash)])
            .await;
        if revoked.is_some() {
            self.auth
                .record_audit(
                    AuditEvent::by("session.revoke", caller, now, meta)
                        .subject("session", session_id),
                )
                .await;
        }
        Ok(())
    }

    /// Revokes all of the user's sessions except `current`. Returns how many were revoked.
    #[tracing::instrument(name = "sessions.revoke_others", skip_all)]
    pub async fn revoke_others(
        &self,
        current: &Authenticated,
        meta: &RequestMeta,
    ) -> Result<usize, AuthError> {
        let actor = meta.actor_or(Actor::User {
            id: current.user.id,
        });
        self.revoke_many(current.user.id, Some(current.session.id), actor, meta)
            .await
    }

    /// Revokes all of a user's sessions (the user themselves, or the app: an admin
    /// action, or after a compromise). Returns how many were revoked.
    #[tracing::instrument(name = "sessions.revoke_all", skip_all, fields(user = %user_id))]
    pub async fn revoke_all(
        &self,
        caller: &Caller,
        user_id: UserId,
        meta: &RequestMeta,
    ) -> Result<usize, AuthError> {
        if !caller.is_self_or_system(user_id) {
            return Err(AuthError::NotFound(Entity::User));
        }
        self.revoke_many(user_id, None, caller.actor(), meta).await
    }

    async fn revoke_many(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
        actor: Actor,
        meta: &RequestMeta,
    ) -> Result<usize, AuthError> {
        let now = self.auth.now();
        let hashes = self
            .auth
            .store()
            .revoke_user_sessions(user_id, except, now)
            .await?;
        let events: Vec<_> = hashes.iter().copied().map(Invalidation::Session).collect();
        self.auth.invalidate(&events).await;
        let action = if except.is_some() {
            "session.revoke_others"
        } else {
            "session.revoke_all"
        };
        let count = hashes.len();
        self.auth
            .record_audit(
                AuditEvent::new(action, actor, now, meta)
                    .subject("user", user_id)
                    .detail(serde_json::json!({ "revoked": count })),
            )
            .await;
        Ok(count)
    }

    /// Deletes sessions that ended before `before` (run it from a periodic job).
    pub async fn purge(&self, before: OffsetDateTime) -> Result<u64, AuthError> {
        Ok(self.auth.store().purge_sessions(before).await?)
    }
}
