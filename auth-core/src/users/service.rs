use super::{DeleteUserOutcome, NewUser, User, UserFilter, UserOrder, UserPatch, UserStore};
use crate::accounts::Account;
use crate::audit::AuditEvent;
use crate::auth::Auth;
use crate::caller::Caller;
use crate::context::RequestMeta;
use crate::error::{AuthError, Entity};
use crate::ids::UserId;
use crate::invalidation::Invalidation;
use crate::members::KeepRole;
use crate::pagination::{ListQuery, Page};
use crate::validate::{self, Email};

/// User management: `auth.users()`.
pub struct Users<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: UserStore + 'static> Auth<S> {
    /// User management.
    pub fn users(&self) -> Users<'_, S> {
        Users { auth: self }
    }
}

/// Refuses anyone but the app: user administration.
fn app_only(caller: &Caller) -> Result<(), AuthError> {
    if caller.is_system() {
        Ok(())
    } else {
        Err(AuthError::Forbidden(
            "user administration is for the app".into(),
        ))
    }
}

/// Refuses anyone but the user's own session and the app; others learn nothing.
fn self_or_app(caller: &Caller, id: UserId) -> Result<(), AuthError> {
    if caller.is_self_or_system(id) {
        Ok(())
    } else {
        Err(AuthError::NotFound(Entity::User))
    }
}

impl<S: UserStore + 'static> Users<'_, S> {
    /// Creates a user without any way to sign in yet (an admin invite, a provisioning
    /// call; the app only). `EMAIL_IN_USE` if the address is taken.
    #[tracing::instrument(name = "users.create", skip_all)]
    pub async fn create(
        &self,
        caller: &Caller,
        input: NewUser,
        meta: &RequestMeta,
    ) -> Result<User, AuthError> {
        app_only(caller)?;
        let user = self.build(input)?;
        self.insert(caller, user, &[], meta).await
    }

    /// A new user from `input`, checked (not stored).
    pub(crate) fn build(&self, input: NewUser) -> Result<User, AuthError> {
        let now = self.auth.now();
        let extend = input.extend.unwrap_or_else(|| serde_json::json!({}));
        validate::extend("extend", &extend)?;
        Ok(User {
            id: UserId::new(),
            email: Email::parse_with(&input.email, &self.auth.config().email_policy)?,
            email_verified: input.email_verified,
            name: input.name.as_deref().map(validate::name).transpose()?,
            image: input
                .image
                .as_deref()
                .map(validate::image_url)
                .transpose()?,
            extend,
            created_at: now,
            updated_at: now,
        })
    }

    /// Stores `user` with its first `accounts` (atomically), audited as `user.create`.
    pub(crate) async fn insert(
        &self,
        caller: &Caller,
        user: User,
        accounts: &[Account],
        meta: &RequestMeta,
    ) -> Result<User, AuthError> {
        self.auth.store().create_user(&user, accounts).await?;
        self.auth
            .record_audit(
                AuditEvent::by("user.create", caller, user.created_at, meta)
                    .subject("user", user.id),
            )
            .await;
        Ok(user)
    }

    /// The user with this id (the user themselves, or the app), or `USER_NOT_FOUND`.
    pub async fn get(&self, caller: &Caller, id: UserId) -> Result<User, AuthError> {
        self_or_app(caller, id)?;
        self.auth
            .store()
            .get_user(id)
            .await?
            .ok_or(AuthError::NotFound(Entity::User))
    }

    /// The user with this email (case-insensitive), if any (the app only).
    pub async fn find_by_email(
        &self,
        caller: &Caller,
        email: &str,
    ) -> Result<Option<User>, AuthError> {
        app_only(caller)?;
        let email = Email::parse(email)?;
        Ok(self.auth.store().get_user_by_email(&email).await?)
    }

    /// Lists users (the app only).
    #[tracing::instrument(name = "users.list", skip_all)]
    pub async fn list(
        &self,
        caller: &Caller,
        query: ListQuery<UserFilter, UserOrder>,
    ) -> Result<Page<User>, AuthError> {
        app_only(caller)?;
        if let Some(needle) = &query.filter.name_contains {
            validate::text("name_contains", needle, validate::MAX_NAME_CHARS)?;
        }
        let request = query.validate()?;
        let rows = self.auth.store().list_users(&request).await?;
        Ok(Page::from_fetched(rows, &request))
    }

    /// Changes a user: their own profile (name, image, data), or anything for the app.
    /// Only the app sets the email directly (and that clears `email_verified`); a user
    /// changes theirs through the verified change-of-address flow.
    #[tracing::instrument(name = "users.update", skip_all, fields(user = %id))]
    pub async fn update(
        &self,
        caller: &Caller,
        id: UserId,
        patch: UserPatch,
        meta: &RequestMeta,
    ) -> Result<User, AuthError> {
        self_or_app(caller, id)?;
        if patch.email.is_some() && !caller.is_system() {
            return Err(AuthError::invalid(
                "email",
                "is changed through the verified change of address",
            ));
        }
        if patch.email_verified.is_some() && !caller.is_system() {
            return Err(AuthError::invalid(
                "email_verified",
                "is proved with an emailed code, not set",
            ));
        }
        let patch = UserPatch {
            name: patch
                .name
                .map(|n| n.as_deref().map(validate::name).transpose())
                .transpose()?,
            image: patch
                .image
                .map(|i| i.as_deref().map(validate::image_url).transpose())
                .transpose()?,
            extend: patch
                .extend
                .map(|e| validate::extend("extend", &e).map(|()| e))
                .transpose()?,
            email: patch.email,
            email_verified: patch.email_verified,
        };
        let now = self.auth.now();
        let user = self
            .auth
            .store()
            .update_user(id, &patch, now)
            .await?
            .ok_or(AuthError::NotFound(Entity::User))?;
        self.auth.invalidate(&[Invalidation::User(id)]).await;
        let fields: Vec<&str> = [
            ("name", patch.name.is_some()),
            ("email", patch.email.is_some()),
            ("image", patch.image.is_some()),
            ("extend", patch.extend.is_some()),
            ("email_verified", patch.email_verified.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, changed)| changed.then_some(f))
        .collect();
        self.auth
            .record_audit(
                AuditEvent::by("user.update", caller, now, meta)
                    .subject("user", id)
                    .detail(serde_json::json!({ "fields": fields })),
            )
            .await;
        Ok(user)
    }

    /// Deletes a user and everything that is theirs. Refuses with `LAST_OWNER` while the
    /// user is the only owner of a group (transfer it or delete the group first); with
    /// `cascade` off, with `HAS_DEPENDENTS` while sessions, linked identities, memberships
    /// or keys remain.
    ///
    /// The user themselves or the app; a user deleting their own account from a session
    /// should have proved it is them again first (the HTTP route asks for the password).
    #[tracing::instrument(name = "users.delete", skip_all, fields(user = %id))]
    pub async fn delete(
        &self,
        caller: &Caller,
        id: UserId,
        cascade: bool,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        self_or_app(caller, id)?;
        let keep = KeepRole::new(self.auth.policy().owner_role());
        let outcome = self.auth.store().delete_user(id, cascade, &keep).await?;
        match outcome {
            DeleteUserOutcome::Deleted {
                session_token_hashes,
            } => {
                let mut events = Invalidation::ended_sessions(id, &session_token_hashes);
                // The user's own keys went with them.
                events.push(Invalidation::AllApiKeys);
                self.auth.invalidate(&events).await;
                self.auth
                    .record_audit(
                        AuditEvent::by("user.delete", caller, self.auth.now(), meta)
                            .subject("user", id)
                            .detail(serde_json::json!({ "cascade": cascade })),
                    )
                    .await;
                Ok(())
            }
            DeleteUserOutcome::NotFound => Err(AuthError::NotFound(Entity::User)),
            DeleteUserOutcome::HasDependents(dependents) => Err(AuthError::HasDependents {
                entity: "user",
                dependents: dependents.describe(),
            }),
            DeleteUserOutcome::LastHolder(_) => Err(AuthError::LastOwner),
        }
    }
}

/// Proof a user gives again before deleting their own account.
#[derive(Clone, Copy, Default)]
pub struct Reauth<'a> {
    /// Their current password (required when they have one).
    pub password: Option<&'a crate::secret::Secret>,
}

impl std::fmt::Debug for Reauth<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reauth")
            .field("password", &self.password.map(|_| "<redacted>"))
            .finish()
    }
}

impl<S: crate::passwords::PasswordStore + 'static> Users<'_, S> {
    /// Deletes the caller's own account, with everything that is theirs, once they proved
    /// again it is them: a user with a password gives it (`REAUTHENTICATION_REQUIRED`
    /// without it, `INVALID_CREDENTIALS` if wrong, both counted against the sign-in limit
    /// of their address); a user without one must have signed in within
    /// [`AuthConfig::reauth_window`](crate::AuthConfig::reauth_window)
    /// (`REAUTHENTICATION_REQUIRED` otherwise). A session only (`FORBIDDEN` for API keys
    /// and the app, which uses [`Self::delete`]). `LAST_OWNER` while they are a group's
    /// only owner. A sensitive operation ([`Auth::require_step_up`]) before all that.
    /// Refusals and the deletion are audited (`user.delete`).
    #[tracing::instrument(name = "users.delete_own", skip_all)]
    pub async fn delete_own(
        &self,
        caller: &Caller,
        reauth: Reauth<'_>,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let Some(session) = caller.session() else {
            let error = AuthError::Forbidden("an account is deleted from its own session".into());
            return self
                .auth
                .audit_refusal("user.delete", caller, meta, Err(error))
                .await;
        };
        let user_id = session.user.id;
        self.auth
            .require_step_up(session, "user.delete", meta)
            .await?;
        let account = self
            .auth
            .store()
            .get_account(&crate::Provider::password(), &user_id.to_string())
            .await?;
        match account.and_then(|a| a.password_hash) {
            Some(stored) => {
                let Some(password) = reauth.password else {
                    return self.refuse_reauth(caller, user_id, meta).await;
                };
                self.auth
                    .password()
                    .check_current(session, Some(password), stored, "user.delete", meta)
                    .await?;
            }
            None => {
                if !self.auth.signed_in_recently(&session.session) {
                    return self.refuse_reauth(caller, user_id, meta).await;
                }
            }
        }
        let result = self.delete(caller, user_id, true, meta).await;
        if let Err(error @ (AuthError::LastOwner | AuthError::HasDependents { .. })) = &result {
            self.auth
                .record_audit(
                    AuditEvent::by("user.delete", caller, self.auth.now(), meta)
                        .subject("user", user_id)
                        .failed(error),
                )
                .await;
        }
        result
    }

    async fn refuse_reauth(
        &self,
        caller: &Caller,
        user_id: UserId,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let error = AuthError::ReauthenticationRequired;
        self.auth
            .record_audit(
                AuditEvent::by("user.delete", caller, self.auth.now(), meta)
                    .subject("user", user_id)
                    .failed(&error),
            )
            .await;
        Err(error)
    }
}
