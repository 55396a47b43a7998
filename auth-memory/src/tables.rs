//! The tables and their secondary indexes.

use std::collections::HashMap;

use auth_core::accounts::Account;
use auth_core::audit::AuditEvent;
use auth_core::sessions::{RefreshToken, Session};
use auth_core::verification::Verification;
use auth_core::{AccountId, SessionId, TokenHash, User, UserId, VerificationId};

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
}

impl Tables {
    pub(crate) fn account_key(account: &Account) -> (String, String) {
        (
            account.provider.as_str().to_owned(),
            account.provider_account_id.clone(),
        )
    }

    /// Removes a session, its index entry and its refresh tokens.
    pub(crate) fn remove_session(&mut self, id: SessionId) -> Option<Session> {
        let session = self.sessions.remove(&id)?;
        self.session_by_hash.remove(&session.token_hash);
        self.refresh_tokens.retain(|_, r| r.session_id != id);
        Some(session)
    }
}
