use std::fmt;

use super::{
    AcceptOutcome, Acceptance, Invite, InviteChange, InviteFilter, InviteOrder, InviteStatus,
    InviteStore, NewInvite,
};
use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::context::RequestMeta;
use crate::error::{AuthError, Conflict, Entity, StoreError};
use crate::ids::{InviteId, MemberId, UserId};
use crate::members::Member;
use crate::pagination::{ListQuery, Page};
use crate::secret::{Secret, TokenHash, generate_token, is_token};
use crate::users::User;
use crate::validate::{self, Email};

/// A new invite and its token, shown once.
pub struct CreatedInvite {
    /// The invite.
    pub invite: Invite,
    /// The raw token: put it in the invitation link.
    pub token: Secret,
}

impl fmt::Debug for CreatedInvite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedInvite")
            .field("invite", &self.invite.id)
            .field("token", &self.token)
            .finish()
    }
}

/// Invitations: `auth.invites()`.
pub struct Invites<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: InviteStore + 'static> Auth<S> {
    /// Invitations.
    pub fn invites(&self) -> Invites<'_, S> {
        Invites { auth: self }
    }
}

fn not_pending(status: InviteStatus) -> AuthError {
    match status {
        InviteStatus::Expired => AuthError::InviteExpired,
        other => AuthError::InviteNotPending(other.as_str()),
    }
}

impl<S: InviteStore + 'static> Invites<'_, S> {
    /// Creates an invite and returns its token once. Without an `expires_at` it expires
    /// after the configured `invite_ttl` (7 days by default). A second pending invite for
    /// the same email and group is `DUPLICATE_INVITE`.
    #[tracing::instrument(name = "invites.create", skip_all)]
    pub async fn create(
        &self,
        input: NewInvite,
        inviter: Option<UserId>,
        meta: &RequestMeta,
    ) -> Result<CreatedInvite, AuthError> {
        let now = self.auth.now();
        let email = input.email.as_deref().map(Email::parse).transpose()?;
        if let Some(role) = &input.role {
            self.auth.policy().check_role(role)?;
        }
        if input.expires_at.is_some_and(|e| e <= now) {
            return Err(AuthError::invalid("expires_at", "must be in the future"));
        }
        let extend = input.extend.unwrap_or_else(|| serde_json::json!({}));
        validate::extend("extend", &extend)?;
        let token = generate_token(self.auth.inner().random.as_ref());
        let invite = Invite {
            id: InviteId::new(),
            group_id: input.group_id,
            email,
            role: input.role,
            status: InviteStatus::Pending,
            token_hash: TokenHash::of(token.expose()),
            inviter_id: inviter,
            expires_at: input
                .expires_at
                .or_else(|| self.auth.config().invite_ttl.map(|ttl| now + ttl))
                .map(crate::clock::truncate_to_micros),
            accepted_by: None,
            accepted_at: None,
            revoked_at: None,
            extend,
            created_at: now,
            updated_at: now,
        };
        match self.auth.store().create_invite(&invite).await {
            Ok(true) => {}
            Ok(false) => return Err(AuthError::NotFound(Entity::Group)),
            Err(StoreError::Conflict(Conflict::Invite)) => return Err(AuthError::DuplicateInvite),
            Err(other) => return Err(other.into()),
        }
        let actor = meta.actor_or(inviter.map_or(Actor::System, |id| Actor::User { id }));
        self.auth
            .record_audit(
                AuditEvent::new("invite.create", actor, now, meta)
                    .subject("invite", invite.id)
                    .detail(
                        serde_json::json!({ "group_id": invite.group_id, "role": invite.role }),
                    ),
            )
            .await;
        Ok(CreatedInvite { invite, token })
    }

    /// The invite with this id (status as of now), or `INVITE_NOT_FOUND`.
    pub async fn get(&self, id: InviteId) -> Result<Invite, AuthError> {
        let invite = self
            .auth
            .store()
            .get_invite(id)
            .await?
            .ok_or(AuthError::NotFound(Entity::Invite))?;
        Ok(self.effective(invite))
    }

    /// The invite with this raw token (status as of now), or `INVITE_NOT_FOUND`.
    pub async fn get_by_token(&self, token: &str) -> Result<Invite, AuthError> {
        if !is_token(token) {
            return Err(AuthError::NotFound(Entity::Invite));
        }
        let invite = self
            .auth
            .store()
            .get_invite_by_token(&TokenHash::of(token))
            .await?
            .ok_or(AuthError::NotFound(Entity::Invite))?;
        Ok(self.effective(invite))
    }

    /// Lists invites (statuses as of now).
    pub async fn list(
        &self,
        query: ListQuery<InviteFilter, InviteOrder>,
    ) -> Result<Page<Invite>, AuthError> {
        if let Some(role) = &query.filter.role {
            validate::identifier("role", role, 64, true)?;
        }
        let request = query.validate()?;
        let now = self.auth.now();
        let rows = self.auth.store().list_invites(&request, now).await?;
        Ok(Page::from_fetched(rows, &request).map(|i| self.effective(i)))
    }

    /// Revokes a pending invite; anything else is `INVITE_NOT_PENDING` (or
    /// `INVITE_EXPIRED`).
    #[tracing::instrument(name = "invites.revoke", skip_all, fields(invite = %id))]
    pub async fn revoke(&self, id: InviteId, meta: &RequestMeta) -> Result<Invite, AuthError> {
        let now = self.auth.now();
        let invite = match self.auth.store().revoke_invite(id, now).await? {
            InviteChange::Done(invite) => invite,
            InviteChange::NotFound => return Err(AuthError::NotFound(Entity::Invite)),
            InviteChange::NotPending(status) => return Err(not_pending(status)),
        };
        self.auth
            .record_audit(
                AuditEvent::new("invite.revoke", meta.actor_or(Actor::System), now, meta)
                    .subject("invite", id),
            )
            .await;
        Ok(invite)
    }

    /// Accepts an invite for `user`: marks it accepted and, for a group invite, adds the
    /// membership, in one store call. An invite bound to an email needs that address,
    /// verified (`INVITE_EMAIL_MISMATCH`); accepted or revoked invites are
    /// `INVITE_NOT_PENDING`, expired ones `INVITE_EXPIRED`; a member already is
    /// `DUPLICATE_MEMBERSHIP`.
    #[tracing::instrument(name = "invites.accept", skip_all, fields(user = %user.id))]
    pub async fn accept(
        &self,
        token: &str,
        user: &User,
        meta: &RequestMeta,
    ) -> Result<(Invite, Option<Member>), AuthError> {
        if !is_token(token) {
            return Err(AuthError::NotFound(Entity::Invite));
        }
        let now = self.auth.now();
        let acceptance = Acceptance {
            token_hash: TokenHash::of(token),
            user_id: user.id,
            user_email: user.email.clone(),
            email_verified: user.email_verified,
            member_id: MemberId::new(),
            default_role: self.auth.policy().default_role().to_owned(),
            now,
        };
        let result = match self.auth.store().accept_invite(&acceptance).await? {
            AcceptOutcome::Accepted { invite, member } => Ok((invite, member)),
            AcceptOutcome::NotFound => Err(AuthError::NotFound(Entity::Invite)),
            AcceptOutcome::NotPending(status) => Err(not_pending(status)),
            AcceptOutcome::Expired => Err(AuthError::InviteExpired),
            AcceptOutcome::EmailMismatch => Err(AuthError::InviteEmailMismatch),
            AcceptOutcome::AlreadyMember => Err(AuthError::DuplicateMembership),
        };
        let mut event = AuditEvent::new(
            "invite.accept",
            meta.actor_or(Actor::User { id: user.id }),
            now,
            meta,
        );
        match &result {
            Ok((invite, _)) => event = event.subject("invite", invite.id),
            Err(error) => event = event.failed(error),
        }
        self.auth.record_audit(event).await;
        result
    }

    fn effective(&self, mut invite: Invite) -> Invite {
        invite.status = invite.status_at(self.auth.now());
        invite
    }
}
