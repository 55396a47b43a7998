use std::fmt;

use time::OffsetDateTime;

use super::{
    AcceptOutcome, Acceptance, Invite, InviteChange, InviteFilter, InviteOrder, InviteStatus,
    NewInvite,
};
use crate::audit::AuditEvent;
use crate::auth::Auth;
use crate::caller::Caller;
use crate::context::RequestMeta;
use crate::error::{AuthError, Entity};
use crate::ids::{InviteId, MemberId};
use crate::members::{Access, Member};
use crate::pagination::{ListQuery, Page};
use crate::permissions::Permission;
use crate::secret::{Secret, TokenHash, generate_token, is_token};
use crate::store::OrganizationStore;
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

impl<S: OrganizationStore> Auth<S> {
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

impl<S: OrganizationStore> Invites<'_, S> {
    /// Creates an invite and returns its token once. An invite into a group needs
    /// `invite:create` there, and a role the caller holds; one without a group is a
    /// user's (or the app's) own. Without an `expires_at` it expires after the configured
    /// `invite_ttl` (7 days by default); an `expires_at` beyond `max_invite_ttl` (30 days by
    /// default) is `INVALID_INPUT`. A second pending invite for the same email and group is
    /// `DUPLICATE_INVITE`.
    #[tracing::instrument(name = "invites.create", skip_all)]
    pub async fn create(
        &self,
        caller: &Caller,
        input: NewInvite,
        meta: &RequestMeta,
    ) -> Result<CreatedInvite, AuthError> {
        match input.group_id {
            Some(group) => {
                let access = self
                    .auth
                    .members()
                    .authorize(
                        caller,
                        group,
                        &Permission::new("invite", "create"),
                        Entity::Group,
                        "invite.create",
                        meta,
                    )
                    .await?;
                if let Some(role) = &input.role {
                    self.auth.policy().check_role(role)?;
                    let held = access.require_role(role).map_err(|_| {
                        AuthError::Forbidden("you cannot grant a role you do not hold".into())
                    });
                    self.auth
                        .audit_refusal("invite.create", caller, meta, held)
                        .await?;
                }
            }
            None if caller.is_system() || caller.session().is_some() => {}
            None => {
                let refused = Err(AuthError::Forbidden(
                    "an invite without a group is sent by a signed-in user or the app".into(),
                ));
                return self
                    .auth
                    .audit_refusal("invite.create", caller, meta, refused)
                    .await;
            }
        }
        let now = self.auth.now();
        let policy = &self.auth.config().email_policy;
        let email = input
            .email
            .as_deref()
            .map(|e| Email::parse_with(e, policy))
            .transpose()?;
        if let Some(role) = &input.role {
            self.auth.policy().check_role(role)?;
        }
        if input.expires_at.is_some_and(|e| e <= now) {
            return Err(AuthError::invalid("expires_at", "must be in the future"));
        }
        if let (Some(expires_at), Some(max)) = (input.expires_at, self.auth.config().max_invite_ttl)
            && now
                .checked_add(max)
                .is_some_and(|latest| expires_at > latest)
        {
            return Err(AuthError::invalid(
                "expires_at",
                format!("must be at most {max} from now (max_invite_ttl)"),
            ));
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
            inviter_id: caller.user_id(),
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
        self.auth.store().create_invite(&invite).await?;
        self.auth
            .record_audit(
                AuditEvent::by("invite.create", caller, now, meta)
                    .subject("invite", invite.id)
                    .detail(
                        serde_json::json!({ "group_id": invite.group_id, "role": invite.role }),
                    ),
            )
            .await;
        Ok(CreatedInvite { invite, token })
    }

    /// The invite with this id (status as of now): `invite:read` on its group, or its
    /// sender for an invite without one; anything else is `INVITE_NOT_FOUND`.
    pub async fn get(&self, caller: &Caller, id: InviteId) -> Result<Invite, AuthError> {
        let invite = self
            .auth
            .store()
            .get_invite(id)
            .await?
            .ok_or(AuthError::NotFound(Entity::Invite))?;
        self.check(caller, &invite, "read").await?;
        Ok(self.effective(invite))
    }

    /// Checks `caller` may `action` (`read`, `revoke`) `invite`: `invite:<action>` on its
    /// group, or being its sender when it has none. Refusals hide the invite.
    async fn check(&self, caller: &Caller, invite: &Invite, action: &str) -> Result<(), AuthError> {
        if caller.is_system() {
            return Ok(());
        }
        match invite.group_id {
            Some(group) => {
                let access = self.auth.members().access(caller, group).await;
                let access = access.map_err(|e| match e {
                    AuthError::NotFound(_) => AuthError::NotFound(Entity::Invite),
                    other => other,
                })?;
                access.require(&Permission::new("invite", action), Entity::Invite)
            }
            None if caller.session().is_some() && invite.inviter_id == caller.user_id() => Ok(()),
            None => Err(AuthError::NotFound(Entity::Invite)),
        }
    }

    /// The invite with this raw token (status as of now), or `INVITE_NOT_FOUND`. The token
    /// is the proof: whoever holds it may see the invite it opens.
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

    /// Lists invites (statuses as of now): of one group (`filter.group_id`, with
    /// `invite:read` there), or those the caller sent (`filter.inviter_id`); the app lists
    /// anything.
    pub async fn list(
        &self,
        caller: &Caller,
        query: ListQuery<InviteFilter, InviteOrder>,
    ) -> Result<Page<Invite>, AuthError> {
        match (query.filter.group_id, query.filter.inviter_id) {
            _ if caller.is_system() => {}
            (Some(group), _) => {
                let access = self.auth.members().access(caller, group).await?;
                access.require(&Permission::new("invite", "read"), Entity::Group)?;
            }
            (None, Some(inviter)) if caller.is_self_or_system(inviter) => {}
            (None, _) => {
                return Err(AuthError::Forbidden(
                    "list the invites of a group, or those you sent".into(),
                ));
            }
        }
        if let Some(role) = &query.filter.role {
            validate::identifier("role", role, 64, true)?;
        }
        let request = query.validate()?;
        let now = self.auth.now();
        let rows = self.auth.store().list_invites(&request, now).await?;
        Ok(Page::from_fetched(rows, &request).map(|i| self.effective(i)))
    }

    /// Revokes a pending invite (`invite:revoke` on its group; its sender for an invite
    /// without one); anything else is `INVITE_NOT_PENDING` (or `INVITE_EXPIRED`).
    #[tracing::instrument(name = "invites.revoke", skip_all, fields(invite = %id))]
    pub async fn revoke(
        &self,
        caller: &Caller,
        id: InviteId,
        meta: &RequestMeta,
    ) -> Result<Invite, AuthError> {
        let invite = self
            .auth
            .store()
            .get_invite(id)
            .await?
            .ok_or(AuthError::NotFound(Entity::Invite))?;
        let allowed = self.check(caller, &invite, "revoke").await;
        self.auth
            .audit_refusal("invite.revoke", caller, meta, allowed)
            .await?;
        let now = self.auth.now();
        let invite = match self.auth.store().revoke_invite(id, now).await? {
            InviteChange::Done(invite) => invite,
            InviteChange::NotFound => return Err(AuthError::NotFound(Entity::Invite)),
            InviteChange::NotPending(status) => return Err(not_pending(status)),
        };
        self.auth
            .record_audit(AuditEvent::by("invite.revoke", caller, now, meta).subject("invite", id))
            .await;
        Ok(invite)
    }

    /// Accepts an invite as the caller's user (a session, or a user's key): marks it
    /// accepted and, for a group invite, adds the membership, in one store call. An invite
    /// bound to an email needs that address, verified (`INVITE_EMAIL_MISMATCH`); accepted
    /// or revoked invites are `INVITE_NOT_PENDING`, expired ones `INVITE_EXPIRED`; a member
    /// already is `DUPLICATE_MEMBERSHIP`. A group invite sent by a user is accepted only
    /// while that user may still grant it (a member of the group with `invite:create`, and
    /// the invite's role): else `INVITE_INVITER_UNAUTHORIZED`, audited.
    #[tracing::instrument(name = "invites.accept", skip_all)]
    pub async fn accept(
        &self,
        caller: &Caller,
        token: &str,
        meta: &RequestMeta,
    ) -> Result<(Invite, Option<Member>), AuthError> {
        let user = match (caller.session(), caller.user_id()) {
            (Some(auth), _) => User::clone(&auth.user),
            (None, Some(id)) => self.auth.users().get(&Caller::System, id).await?,
            (None, None) => {
                return Err(AuthError::Forbidden(
                    "an invite is accepted by a user".into(),
                ));
            }
        };
        if !is_token(token) {
            return Err(AuthError::NotFound(Entity::Invite));
        }
        let now = self.auth.now();
        let token_hash = TokenHash::of(token);
        let mut event = AuditEvent::by("invite.accept", caller, now, meta);
        if let Some(invite) = self.unauthorized_invite(&token_hash, now).await? {
            let error = AuthError::InviteInviterUnauthorized;
            let detail = serde_json::json!({
                "group_id": invite.group_id,
                "inviter_id": invite.inviter_id,
                "role": invite.role,
            });
            event = event.subject("invite", invite.id).detail(detail);
            self.auth.record_audit(event.failed(&error)).await;
            return Err(error);
        }
        let acceptance = Acceptance {
            token_hash,
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
        match &result {
            Ok((invite, _)) => event = event.subject("invite", invite.id),
            Err(error) => event = event.failed(error),
        }
        self.auth.record_audit(event).await;
        result
    }

    /// The pending group invite with this token, if a user sent it who may no longer
    /// grant it: no longer a member of the group (there or above), or without
    /// `invite:create` or the invite's role there. Anything else (unknown, not pending,
    /// sent by the app) is left for the store's acceptance to answer.
    async fn unauthorized_invite(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<Invite>, AuthError> {
        let Some(invite) = self.auth.store().get_invite_by_token(token_hash).await? else {
            return Ok(None);
        };
        let (Some(group), Some(inviter)) = (invite.group_id, invite.inviter_id) else {
            return Ok(None);
        };
        if invite.status_at(now) != InviteStatus::Pending {
            return Ok(None);
        }
        let permissions = match self.auth.members().permissions(inviter, group).await {
            Err(AuthError::NotFound(_)) => return Ok(None),
            other => other?,
        };
        let access = Access::user(permissions, None);
        let may_grant = access.allows(&Permission::new("invite", "create"))
            && invite
                .role
                .as_deref()
                .is_none_or(|role| access.holds_role(role));
        Ok((!may_grant).then_some(invite))
    }

    fn effective(&self, mut invite: Invite) -> Invite {
        invite.status = invite.status_at(self.auth.now());
        invite
    }
}
