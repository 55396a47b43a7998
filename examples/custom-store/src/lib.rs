//! `MeteredStore<S>`: a storage adapter that wraps any store and records, per store
//! method, how many calls were made, how many failed and how long they took.
//!
//! It shows what implementing the storage traits takes: one `impl` per trait, every
//! method answering with the trait's types (`Option` for "not there", `StoreError` for
//! "the store failed"), and no change to behaviour, which the conformance suite checks
//! (`tests/conformance.rs`). A team with its own database writes the same `impl` blocks with
//! queries instead of delegation; see `docs/custom-store.md`.

#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use auth_core::accounts::{Account, PasswordHash, RevokeSessions, UnlinkOutcome};
use auth_core::api_keys::{
    ApiKey, ApiKeyFilter, ApiKeyOrder, ApiKeyPatch, QuotaOutcome, RateDecision, RateLimit,
    RotateOutcome, Successor,
};
use auth_core::audit::{AuditEvent, AuditFilter, AuditOrder};
use auth_core::credentials::{EndCredentials, EndedCredentials};
use auth_core::groups::{
    ChainLink, Group, GroupFilter, GroupOrder, GroupPatch, UpdateGroupOutcome,
};
use auth_core::invites::{
    AcceptOutcome, Acceptance, Invite, InviteChange, InviteFilter, InviteOrder,
};
use auth_core::members::{
    KeepRole, Member, MemberChange, MemberFilter, MemberOrder, MemberPatch, MembershipLink,
};
use auth_core::mfa::SecondFactors;
use auth_core::pagination::PageRequest;
use auth_core::secret::SealedSecret;
use auth_core::sessions::{
    RefreshToken, RotationOutcome, RotationPlan, Session, SessionFilter, SessionOrder,
};
use auth_core::totp::{ConfirmOutcome, PutPendingOutcome, TotpFactor};
use auth_core::users::{DeleteUserOutcome, User, UserFilter, UserOrder, UserPatch};
use auth_core::verification::{AttemptReservation, LinkConsumption, Purpose, Verification};
use auth_core::{
    AccountId, AccountStore, ApiKeyId, ApiKeyStore, AuditStore, CredentialStore, Email, GroupId,
    GroupStore, InviteId, InviteStore, MemberId, MemberStore, Provider, RateLimitStore, SessionId,
    SessionStore, StoreError, TokenHash, TotpStore, UserId, UserStore, VerificationId,
    VerificationStore,
};
use time::OffsetDateTime;

/// Calls, failures and total time of one store method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MethodStats {
    /// Calls made.
    pub calls: u64,
    /// Calls that returned an error.
    pub errors: u64,
    /// Time spent in the inner store.
    pub total: Duration,
}

/// Wraps a store and meters every call. Cheap to clone; clones share the numbers.
#[derive(Clone, Debug)]
pub struct MeteredStore<S> {
    inner: S,
    stats: Arc<Mutex<BTreeMap<&'static str, MethodStats>>>,
}

impl<S> MeteredStore<S> {
    /// Meters `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            stats: Arc::default(),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The numbers so far, by method name.
    pub fn stats(&self) -> BTreeMap<&'static str, MethodStats> {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs one inner call, recording it under `method`.
    async fn observe<T>(
        &self,
        method: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        let elapsed = started.elapsed();
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = stats.entry(method).or_default();
        entry.calls += 1;
        entry.errors += u64::from(result.is_err());
        entry.total += elapsed;
        result
    }
}

#[async_trait]
impl<S: UserStore> UserStore for MeteredStore<S> {
    async fn create_user(&self, user: &User, accounts: &[Account]) -> Result<(), StoreError> {
        self.observe("create_user", self.inner.create_user(user, accounts))
            .await
    }
    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.observe("get_user", self.inner.get_user(id)).await
    }
    async fn get_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.observe("get_user_by_email", self.inner.get_user_by_email(email))
            .await
    }
    async fn list_users(
        &self,
        request: &PageRequest<UserFilter, UserOrder>,
    ) -> Result<Vec<User>, StoreError> {
        self.observe("list_users", self.inner.list_users(request))
            .await
    }
    async fn update_user(
        &self,
        id: UserId,
        patch: &UserPatch,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError> {
        self.observe("update_user", self.inner.update_user(id, patch, now))
            .await
    }
    async fn mark_email_verified(
        &self,
        id: UserId,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.observe(
            "mark_email_verified",
            self.inner.mark_email_verified(id, email, now),
        )
        .await
    }
    async fn delete_user(
        &self,
        id: UserId,
        cascade: bool,
        keep: &KeepRole,
    ) -> Result<DeleteUserOutcome, StoreError> {
        self.observe("delete_user", self.inner.delete_user(id, cascade, keep))
            .await
    }
}

#[async_trait]
impl<S: AccountStore> AccountStore for MeteredStore<S> {
    async fn get_account(
        &self,
        provider: &Provider,
        provider_account_id: &str,
    ) -> Result<Option<Account>, StoreError> {
        self.observe(
            "get_account",
            self.inner.get_account(provider, provider_account_id),
        )
        .await
    }
    async fn list_accounts(&self, user_id: UserId) -> Result<Vec<Account>, StoreError> {
        self.observe("list_accounts", self.inner.list_accounts(user_id))
            .await
    }
    async fn link_account(&self, account: &Account) -> Result<(), StoreError> {
        self.observe("link_account", self.inner.link_account(account))
            .await
    }
    async fn unlink_account(
        &self,
        user_id: UserId,
        account_id: AccountId,
    ) -> Result<UnlinkOutcome, StoreError> {
        self.observe(
            "unlink_account",
            self.inner.unlink_account(user_id, account_id),
        )
        .await
    }
    async fn set_password(
        &self,
        user_id: UserId,
        hash: &PasswordHash,
        revoke: RevokeSessions,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<TokenHash>>, StoreError> {
        self.observe(
            "set_password",
            self.inner.set_password(user_id, hash, revoke, now),
        )
        .await
    }
    async fn replace_password_hash(
        &self,
        user_id: UserId,
        current: &PasswordHash,
        new: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.observe(
            "replace_password_hash",
            self.inner.replace_password_hash(user_id, current, new, now),
        )
        .await
    }
}

#[async_trait]
impl<S: CredentialStore> CredentialStore for MeteredStore<S> {
    async fn end_credentials(
        &self,
        user_id: UserId,
        end: EndCredentials,
        at: OffsetDateTime,
    ) -> Result<Option<EndedCredentials>, StoreError> {
        self.observe(
            "end_credentials",
            self.inner.end_credentials(user_id, end, at),
        )
        .await
    }

    async fn second_factors(&self, user_id: UserId) -> Result<SecondFactors, StoreError> {
        self.observe("second_factors", self.inner.second_factors(user_id))
            .await
    }

    async fn sso_required(&self, domain: &str) -> Result<bool, StoreError> {
        self.observe("sso_required", self.inner.sso_required(domain))
            .await
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for MeteredStore<S> {
    async fn create_session(
        &self,
        session: &Session,
        refresh: &RefreshToken,
    ) -> Result<(), StoreError> {
        self.observe(
            "create_session",
            self.inner.create_session(session, refresh),
        )
        .await
    }
    async fn find_session_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<(Session, User)>, StoreError> {
        self.observe(
            "find_session_by_token",
            self.inner.find_session_by_token(token_hash),
        )
        .await
    }
    async fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.observe("get_session", self.inner.get_session(id))
            .await
    }
    async fn list_sessions(
        &self,
        request: &PageRequest<SessionFilter, SessionOrder>,
    ) -> Result<Vec<Session>, StoreError> {
        self.observe("list_sessions", self.inner.list_sessions(request))
            .await
    }
    async fn touch_session(
        &self,
        id: SessionId,
        last_seen_at: OffsetDateTime,
        idle_expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.observe(
            "touch_session",
            self.inner.touch_session(id, last_seen_at, idle_expires_at),
        )
        .await
    }
    async fn revoke_session(
        &self,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<Option<TokenHash>, StoreError> {
        self.observe("revoke_session", self.inner.revoke_session(id, now))
            .await
    }
    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<TokenHash>, StoreError> {
        self.observe(
            "revoke_user_sessions",
            self.inner.revoke_user_sessions(user_id, except, now),
        )
        .await
    }
    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        plan: &RotationPlan,
    ) -> Result<RotationOutcome, StoreError> {
        self.observe(
            "rotate_refresh_token",
            self.inner.rotate_refresh_token(presented, plan),
        )
        .await
    }
    async fn purge_sessions(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        self.observe("purge_sessions", self.inner.purge_sessions(before))
            .await
    }
}

#[async_trait]
impl<S: VerificationStore> VerificationStore for MeteredStore<S> {
    async fn replace_verification(&self, verification: &Verification) -> Result<(), StoreError> {
        self.observe(
            "replace_verification",
            self.inner.replace_verification(verification),
        )
        .await
    }
    async fn active_verification(
        &self,
        email: &Email,
        purpose: Purpose,
    ) -> Result<Option<Verification>, StoreError> {
        self.observe(
            "active_verification",
            self.inner.active_verification(email, purpose),
        )
        .await
    }
    async fn reserve_code_attempt(
        &self,
        email: &Email,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> Result<AttemptReservation, StoreError> {
        self.observe(
            "reserve_code_attempt",
            self.inner.reserve_code_attempt(email, purpose, now),
        )
        .await
    }
    async fn consume_verification(
        &self,
        id: VerificationId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.observe(
            "consume_verification",
            self.inner.consume_verification(id, now),
        )
        .await
    }
    async fn consume_link(
        &self,
        purpose: Purpose,
        link_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<LinkConsumption, StoreError> {
        self.observe(
            "consume_link",
            self.inner.consume_link(purpose, link_hash, now),
        )
        .await
    }
    async fn purge_verifications(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        self.observe(
            "purge_verifications",
            self.inner.purge_verifications(before),
        )
        .await
    }
}

#[async_trait]
impl<S: AuditStore> AuditStore for MeteredStore<S> {
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.observe("append_audit", self.inner.append_audit(event))
            .await
    }
    async fn list_audit(
        &self,
        request: &PageRequest<AuditFilter, AuditOrder>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.observe("list_audit", self.inner.list_audit(request))
            .await
    }
}

#[async_trait]
impl<S: GroupStore> GroupStore for MeteredStore<S> {
    async fn create_group(&self, group: &Group, owner: Option<&Member>) -> Result<(), StoreError> {
        self.observe("create_group", self.inner.create_group(group, owner))
            .await
    }
    async fn get_group(&self, id: GroupId) -> Result<Option<Group>, StoreError> {
        self.observe("get_group", self.inner.get_group(id)).await
    }
    async fn get_group_by_slug(&self, slug: &str) -> Result<Option<Group>, StoreError> {
        self.observe("get_group_by_slug", self.inner.get_group_by_slug(slug))
            .await
    }
    async fn get_groups(&self, ids: &[GroupId]) -> Result<Vec<Group>, StoreError> {
        self.observe("get_groups", self.inner.get_groups(ids)).await
    }
    async fn list_groups(
        &self,
        request: &PageRequest<GroupFilter, GroupOrder>,
    ) -> Result<Vec<Group>, StoreError> {
        self.observe("list_groups", self.inner.list_groups(request))
            .await
    }
    async fn update_group(
        &self,
        id: GroupId,
        patch: &GroupPatch,
        now: OffsetDateTime,
    ) -> Result<UpdateGroupOutcome, StoreError> {
        self.observe("update_group", self.inner.update_group(id, patch, now))
            .await
    }
    async fn delete_group(&self, id: GroupId) -> Result<Option<u64>, StoreError> {
        self.observe("delete_group", self.inner.delete_group(id))
            .await
    }
    async fn group_chain(&self, id: GroupId, max_depth: u32) -> Result<Vec<ChainLink>, StoreError> {
        self.observe("group_chain", self.inner.group_chain(id, max_depth))
            .await
    }
    async fn group_subtree(
        &self,
        id: GroupId,
        max_depth: u32,
        limit: u32,
    ) -> Result<Vec<ChainLink>, StoreError> {
        self.observe(
            "group_subtree",
            self.inner.group_subtree(id, max_depth, limit),
        )
        .await
    }
}

#[async_trait]
impl<S: MemberStore> MemberStore for MeteredStore<S> {
    async fn add_member(&self, member: &Member) -> Result<(), StoreError> {
        self.observe("add_member", self.inner.add_member(member))
            .await
    }
    async fn get_member(&self, id: MemberId) -> Result<Option<Member>, StoreError> {
        self.observe("get_member", self.inner.get_member(id)).await
    }
    async fn get_member_by_user(
        &self,
        group_id: GroupId,
        user_id: UserId,
    ) -> Result<Option<Member>, StoreError> {
        self.observe(
            "get_member_by_user",
            self.inner.get_member_by_user(group_id, user_id),
        )
        .await
    }
    async fn list_members(
        &self,
        request: &PageRequest<MemberFilter, MemberOrder>,
    ) -> Result<Vec<Member>, StoreError> {
        self.observe("list_members", self.inner.list_members(request))
            .await
    }
    async fn update_member(
        &self,
        id: MemberId,
        patch: &MemberPatch,
        now: OffsetDateTime,
        keep: &KeepRole,
    ) -> Result<MemberChange, StoreError> {
        self.observe(
            "update_member",
            self.inner.update_member(id, patch, now, keep),
        )
        .await
    }
    async fn remove_member(
        &self,
        id: MemberId,
        keep: &KeepRole,
    ) -> Result<MemberChange, StoreError> {
        self.observe("remove_member", self.inner.remove_member(id, keep))
            .await
    }
    async fn membership_chain(
        &self,
        user_id: UserId,
        group_id: GroupId,
        max_depth: u32,
    ) -> Result<Vec<MembershipLink>, StoreError> {
        self.observe(
            "membership_chain",
            self.inner.membership_chain(user_id, group_id, max_depth),
        )
        .await
    }
}

#[async_trait]
impl<S: InviteStore> InviteStore for MeteredStore<S> {
    async fn create_invite(&self, invite: &Invite) -> Result<(), StoreError> {
        self.observe("create_invite", self.inner.create_invite(invite))
            .await
    }
    async fn get_invite(&self, id: InviteId) -> Result<Option<Invite>, StoreError> {
        self.observe("get_invite", self.inner.get_invite(id)).await
    }
    async fn get_invite_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<Invite>, StoreError> {
        self.observe(
            "get_invite_by_token",
            self.inner.get_invite_by_token(token_hash),
        )
        .await
    }
    async fn list_invites(
        &self,
        request: &PageRequest<InviteFilter, InviteOrder>,
        now: OffsetDateTime,
    ) -> Result<Vec<Invite>, StoreError> {
        self.observe("list_invites", self.inner.list_invites(request, now))
            .await
    }
    async fn revoke_invite(
        &self,
        id: InviteId,
        now: OffsetDateTime,
    ) -> Result<InviteChange, StoreError> {
        self.observe("revoke_invite", self.inner.revoke_invite(id, now))
            .await
    }
    async fn accept_invite(&self, acceptance: &Acceptance) -> Result<AcceptOutcome, StoreError> {
        self.observe("accept_invite", self.inner.accept_invite(acceptance))
            .await
    }
}

#[async_trait]
impl<S: ApiKeyStore> ApiKeyStore for MeteredStore<S> {
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.observe("create_api_key", self.inner.create_api_key(key))
            .await
    }
    async fn get_api_key(&self, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        self.observe("get_api_key", self.inner.get_api_key(id))
            .await
    }
    async fn find_api_key(&self, key_hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        self.observe("find_api_key", self.inner.find_api_key(key_hash))
            .await
    }
    async fn list_api_keys(
        &self,
        request: &PageRequest<ApiKeyFilter, ApiKeyOrder>,
        now: OffsetDateTime,
    ) -> Result<Vec<ApiKey>, StoreError> {
        self.observe("list_api_keys", self.inner.list_api_keys(request, now))
            .await
    }
    async fn update_api_key(
        &self,
        id: ApiKeyId,
        patch: &ApiKeyPatch,
        now: OffsetDateTime,
    ) -> Result<Option<ApiKey>, StoreError> {
        self.observe("update_api_key", self.inner.update_api_key(id, patch, now))
            .await
    }
    async fn revoke_api_key(
        &self,
        id: ApiKeyId,
        at: OffsetDateTime,
    ) -> Result<Option<ApiKey>, StoreError> {
        self.observe("revoke_api_key", self.inner.revoke_api_key(id, at))
            .await
    }
    async fn rotate_api_key(
        &self,
        old: ApiKeyId,
        successor: &Successor,
        revoke_old_at: OffsetDateTime,
    ) -> Result<RotateOutcome, StoreError> {
        self.observe(
            "rotate_api_key",
            self.inner.rotate_api_key(old, successor, revoke_old_at),
        )
        .await
    }
    async fn delete_api_key(&self, id: ApiKeyId) -> Result<bool, StoreError> {
        self.observe("delete_api_key", self.inner.delete_api_key(id))
            .await
    }
    async fn touch_api_key(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), StoreError> {
        self.observe("touch_api_key", self.inner.touch_api_key(id, at))
            .await
    }
    async fn take_quota(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
    ) -> Result<QuotaOutcome, StoreError> {
        self.observe("take_quota", self.inner.take_quota(id, now))
            .await
    }
}

#[async_trait]
impl<S: RateLimitStore> RateLimitStore for MeteredStore<S> {
    async fn take_rate_limit(
        &self,
        bucket: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        self.observe(
            "take_rate_limit",
            self.inner.take_rate_limit(bucket, limit, now),
        )
        .await
    }
    async fn peek_rate_limit(
        &self,
        bucket: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        self.observe(
            "peek_rate_limit",
            self.inner.peek_rate_limit(bucket, limit, now),
        )
        .await
    }
    async fn reset_rate_limit(&self, bucket: &str) -> Result<(), StoreError> {
        self.observe("reset_rate_limit", self.inner.reset_rate_limit(bucket))
            .await
    }
    async fn purge_rate_limits(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        self.observe("purge_rate_limits", self.inner.purge_rate_limits(before))
            .await
    }
}

#[async_trait]
impl<S: TotpStore> TotpStore for MeteredStore<S> {
    async fn put_pending_totp(&self, factor: &TotpFactor) -> Result<PutPendingOutcome, StoreError> {
        self.observe("put_pending_totp", self.inner.put_pending_totp(factor))
            .await
    }
    async fn get_totp(&self, user_id: UserId) -> Result<Option<TotpFactor>, StoreError> {
        self.observe("get_totp", self.inner.get_totp(user_id)).await
    }
    async fn confirm_totp(
        &self,
        user_id: UserId,
        seed: &SealedSecret,
        step: i64,
        codes: &[TokenHash],
        at: OffsetDateTime,
    ) -> Result<ConfirmOutcome, StoreError> {
        self.observe(
            "confirm_totp",
            self.inner.confirm_totp(user_id, seed, step, codes, at),
        )
        .await
    }
    async fn accept_totp_step(
        &self,
        user_id: UserId,
        seed: &SealedSecret,
        step: i64,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.observe(
            "accept_totp_step",
            self.inner.accept_totp_step(user_id, seed, step, at),
        )
        .await
    }
    async fn consume_recovery_code(
        &self,
        user_id: UserId,
        code_hash: &TokenHash,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.observe(
            "consume_recovery_code",
            self.inner.consume_recovery_code(user_id, code_hash, at),
        )
        .await
    }
    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[TokenHash],
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.observe(
            "replace_recovery_codes",
            self.inner.replace_recovery_codes(user_id, codes, at),
        )
        .await
    }
    async fn count_recovery_codes(&self, user_id: UserId) -> Result<u32, StoreError> {
        self.observe(
            "count_recovery_codes",
            self.inner.count_recovery_codes(user_id),
        )
        .await
    }
    async fn delete_totp(&self, user_id: UserId) -> Result<bool, StoreError> {
        self.observe("delete_totp", self.inner.delete_totp(user_id))
            .await
    }
    async fn purge_pending_totp(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        self.observe("purge_pending_totp", self.inner.purge_pending_totp(before))
            .await
    }
}
