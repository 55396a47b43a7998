//! The tables and their secondary indexes.

use std::collections::HashMap;

use time::OffsetDateTime;

use auth_core::accounts::Account;
use auth_core::api_keys::ApiKey;
use auth_core::audit::AuditEvent;
use auth_core::ceremonies::Ceremony;
use auth_core::groups::Group;
use auth_core::invites::Invite;
use auth_core::members::Member;
use auth_core::passkeys::Passkey;
use auth_core::scim::{ScimConfig, ScimGroup, ScimUser};
use auth_core::sessions::{RefreshToken, Session};
use auth_core::sso::{OrgDomain, SsoConnection};
use auth_core::totp::TotpFactor;
use auth_core::verification::Verification;
use auth_core::{
    AccountId, ApiKeyId, Conflict, GroupId, InviteId, MemberId, OrgDomainId, PasskeyId,
    ScimGroupId, ScimUserId, SessionId, SsoConnectionId, StoreError, TokenHash, User, UserId,
    VerificationId,
};

#[derive(Default)]
pub(crate) struct Tables {
    pub(crate) users: HashMap<UserId, User>,
    /// Normalised email → user.
    pub(crate) user_by_email: HashMap<String, UserId>,
    pub(crate) accounts: HashMap<AccountId, Account>,
    /// (provider, provider account id) → account.
    pub(crate) account_by_key: HashMap<(String, String), AccountId>,
    pub(crate) sessions: HashMap<SessionId, Session>,
    /// Session token hash → session.
    pub(crate) session_by_hash: HashMap<TokenHash, SessionId>,
    /// Refresh token hash → refresh token.
    pub(crate) refresh_tokens: HashMap<TokenHash, RefreshToken>,
    pub(crate) verifications: HashMap<VerificationId, Verification>,
    pub(crate) audit: Vec<AuditEvent>,
    pub(crate) groups: HashMap<GroupId, Group>,
    /// Slug → group.
    pub(crate) group_by_slug: HashMap<String, GroupId>,
    pub(crate) members: HashMap<MemberId, Member>,
    /// (group, user) → membership.
    pub(crate) member_by_key: HashMap<(GroupId, UserId), MemberId>,
    pub(crate) invites: HashMap<InviteId, Invite>,
    /// Token hash → invite.
    pub(crate) invite_by_token: HashMap<TokenHash, InviteId>,
    pub(crate) api_keys: HashMap<ApiKeyId, ApiKey>,
    /// Key hash → key.
    pub(crate) api_key_by_hash: HashMap<TokenHash, ApiKeyId>,
    /// Ceremonies in progress, by (kind, handle hash).
    pub(crate) ceremonies: HashMap<(&'static str, TokenHash), Ceremony>,
    pub(crate) passkeys: HashMap<PasskeyId, Passkey>,
    /// Credential id → passkey.
    pub(crate) passkey_by_credential: HashMap<Vec<u8>, PasskeyId>,
    /// GCRA buckets: the theoretical arrival time of each, in microseconds.
    pub(crate) rate_limits: HashMap<String, i64>,
    /// Each user's TOTP factor.
    pub(crate) totp: HashMap<UserId, TotpFactor>,
    /// Each user's recovery codes: hash → when it was used.
    pub(crate) recovery_codes: HashMap<UserId, HashMap<TokenHash, Option<OffsetDateTime>>>,
    /// SSO connections.
    pub(crate) sso_connections: HashMap<SsoConnectionId, SsoConnection>,
    /// Organizations' domains (a handful per group: scanned).
    pub(crate) domains: HashMap<OrgDomainId, OrgDomain>,
    /// Connections' SCIM set-ups.
    pub(crate) scim_configs: HashMap<SsoConnectionId, ScimConfig>,
    /// Provisioned users (scanned per connection).
    pub(crate) scim_users: HashMap<ScimUserId, ScimUser>,
    /// Provisioned groups (scanned per connection).
    pub(crate) scim_groups: HashMap<ScimGroupId, ScimGroup>,
}

impl Tables {
    /// Refuses a new user whose id, address or one of whose accounts exists already.
    pub(crate) fn check_new_user(
        &self,
        user: &User,
        accounts: &[Account],
    ) -> Result<(), StoreError> {
        if self.users.contains_key(&user.id) {
            return Err(StoreError::Conflict(Conflict::Id));
        }
        if self.user_by_email.contains_key(user.email.as_str()) {
            return Err(StoreError::Conflict(Conflict::UserEmail));
        }
        if accounts
            .iter()
            .any(|a| self.account_by_key.contains_key(&Tables::account_key(a)))
        {
            return Err(StoreError::Conflict(Conflict::Account));
        }
        Ok(())
    }

    /// Inserts a user and their accounts, checked by [`Self::check_new_user`].
    pub(crate) fn insert_user(&mut self, user: &User, accounts: &[Account]) {
        self.users.insert(user.id, user.clone());
        self.user_by_email
            .insert(user.email.as_str().to_owned(), user.id);
        for account in accounts {
            self.account_by_key
                .insert(Tables::account_key(account), account.id);
            self.accounts.insert(account.id, account.clone());
        }
    }

    pub(crate) fn account_key(account: &Account) -> (String, String) {
        (
            account.provider.as_str().to_owned(),
            account.provider_account_id.clone(),
        )
    }

    /// Inserts a membership and its index entry.
    pub(crate) fn insert_member(&mut self, member: Member) {
        self.member_by_key
            .insert((member.group_id, member.user_id), member.id);
        self.members.insert(member.id, member);
    }

    /// Removes a membership and its index entry.
    pub(crate) fn remove_member(&mut self, id: MemberId) -> Option<Member> {
        let member = self.members.remove(&id)?;
        self.member_by_key
            .remove(&(member.group_id, member.user_id));
        Some(member)
    }

    /// Removes API keys matching `doomed`, with their index entries.
    pub(crate) fn remove_api_keys(&mut self, doomed: impl Fn(&ApiKey) -> bool) {
        let gone: Vec<(ApiKeyId, TokenHash)> = self
            .api_keys
            .values()
            .filter(|k| doomed(k))
            .map(|k| (k.id, k.key_hash))
            .collect();
        for (id, hash) in gone {
            self.api_keys.remove(&id);
            self.api_key_by_hash.remove(&hash);
        }
    }

    /// Removes a passkey and its index entry.
    pub(crate) fn remove_passkey(&mut self, id: PasskeyId) -> Option<Passkey> {
        let passkey = self.passkeys.remove(&id)?;
        self.passkey_by_credential.remove(&passkey.credential_id);
        Some(passkey)
    }

    /// Forgets the SCIM records whose connection, user or group is gone (the cascade of
    /// deleting those).
    pub(crate) fn forget_scim_orphans(&mut self) {
        let connections = &self.sso_connections;
        self.scim_configs
            .retain(|id, _| connections.contains_key(id));
        let users = &self.users;
        self.scim_users.retain(|_, u| {
            connections.contains_key(&u.connection_id) && users.contains_key(&u.user_id)
        });
        let groups = &self.groups;
        self.scim_groups.retain(|_, g| {
            connections.contains_key(&g.connection_id) && groups.contains_key(&g.group_id)
        });
    }

    /// Removes a session, its index entry and its refresh tokens.
    pub(crate) fn remove_session(&mut self, id: SessionId) -> Option<Session> {
        let session = self.sessions.remove(&id)?;
        self.session_by_hash.remove(&session.token_hash);
        self.refresh_tokens.retain(|_, r| r.session_id != id);
        Some(session)
    }
}
