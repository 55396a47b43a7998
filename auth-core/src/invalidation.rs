//! Cache invalidation across nodes: an optional seam between the caches of one process and
//! a bus that carries evictions to every other process sharing the store.
//!
//! Each process caches validated sessions and API keys (for `cache_ttl`). A revocation
//! writes the store and evicts this process's entry at once; without a bus, another node
//! keeps answering from its own cache until the entry's lifetime ends. With a bus
//! ([`AuthBuilder::invalidation`](crate::AuthBuilder::invalidation)), every eviction a
//! service makes after a store write is also published as an [`Invalidation`], and the
//! events other nodes publish are applied here as they arrive. Events carry token hashes
//! and ids, never a token or a key.
//!
//! Delivery is best effort: a lost event leaves the TTL as the bound, as without a bus. A
//! bus therefore reports every (re)connection through [`InvalidationSink::resync`], which
//! clears every cache of the process, since events may have been missed meanwhile.
//!
//! Membership and roles are not cached (every member or permission check reads the store),
//! so removing a member needs no event.

use std::sync::Weak;

use async_trait::async_trait;

use crate::api_keys::ApiKey;
use crate::error::{ConfigError, StoreError};
use crate::ids::{ApiKeyId, UserId};
use crate::secret::TokenHash;

/// One eviction, as applied locally and sent to the other nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidation {
    /// The session with this token hash ended or changed (sign-out, revocation, refresh).
    Session(TokenHash),
    /// Every cached session of this user: the user changed (email, verification, password)
    /// or was deleted.
    User(UserId),
    /// This API key changed or ended (update, revocation, rotation, deletion).
    ApiKey {
        /// The key's id (its cached rate-limit state).
        id: ApiKeyId,
        /// The SHA-256 of the key (its cached verification).
        key_hash: TokenHash,
    },
    /// Every cached API key: a deletion took an unknown set of keys with it (a user's, a
    /// group tree's).
    AllApiKeys,
}

impl Invalidation {
    /// The eviction of `key` (after a store write that changed or ended it).
    pub fn api_key(key: &ApiKey) -> Self {
        Self::ApiKey {
            id: key.id,
            key_hash: key.key_hash,
        }
    }

    /// The event as one short line of ASCII text without spaces at either end (at most 84
    /// bytes), for buses that carry text: `s <hash>`, `u <user id>`, `k <key id> <hash>`,
    /// `K`; hashes in base64url.
    pub fn to_line(&self) -> String {
        match self {
            Self::Session(hash) => format!("s {}", hash.to_base64()),
            Self::User(id) => format!("u {id}"),
            Self::ApiKey { id, key_hash } => format!("k {id} {}", key_hash.to_base64()),
            Self::AllApiKeys => "K".to_owned(),
        }
    }

    /// The evictions after `user`'s sessions with `hashes` ended and the user changed: each
    /// session, then every other cached session of the user.
    pub(crate) fn ended_sessions(user: UserId, hashes: &[TokenHash]) -> Vec<Self> {
        hashes
            .iter()
            .copied()
            .map(Self::Session)
            .chain([Self::User(user)])
            .collect()
    }

    /// Parses [`Self::to_line`] output; `None` for anything else.
    pub fn from_line(line: &str) -> Option<Self> {
        let mut words = line.split(' ');
        let event = match (words.next()?, words.next(), words.next()) {
            ("s", Some(hash), None) => Self::Session(TokenHash::from_base64(hash)?),
            ("u", Some(id), None) => Self::User(id.parse().ok()?),
            ("k", Some(id), Some(hash)) => Self::ApiKey {
                id: id.parse().ok()?,
                key_hash: TokenHash::from_base64(hash)?,
            },
            ("K", None, None) => Self::AllApiKeys,
            _ => return None,
        };
        words.next().is_none().then_some(event)
    }
}

/// Carries [`Invalidation`]s between the nodes that share a store (for example PostgreSQL
/// `LISTEN`/`NOTIFY`: `auth_sqlx::PgInvalidation`).
#[async_trait]
pub trait InvalidationBus: Send + Sync + 'static {
    /// Sends `events` (already applied here) to every other node. Called after the store
    /// write they reflect; a failure is logged by the caller and the write stands (the
    /// other nodes' cache TTL remains the bound).
    async fn publish(&self, events: &[Invalidation]) -> Result<(), StoreError>;

    /// Starts delivering the events other nodes publish to `sink`, and calling
    /// [`InvalidationSink::resync`] whenever the bus (re)connects. Called once, by
    /// [`AuthBuilder::build`](crate::AuthBuilder::build); the delivery may stop once
    /// [`InvalidationSink::is_closed`].
    fn subscribe(&self, sink: InvalidationSink) -> Result<(), ConfigError>;
}

/// The caches of one process, as a bus sees them.
pub(crate) trait LocalCaches: Send + Sync {
    /// Evicts what `event` names.
    fn apply(&self, event: &Invalidation);
    /// Evicts everything.
    fn clear(&self);
}

/// Where a bus delivers remote events: the caches of one [`Auth`](crate::Auth). Cheap to
/// clone; does not keep the `Auth` alive.
#[derive(Clone)]
pub struct InvalidationSink {
    caches: Weak<dyn LocalCaches>,
}

impl std::fmt::Debug for InvalidationSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvalidationSink")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl InvalidationSink {
    pub(crate) fn new(caches: Weak<dyn LocalCaches>) -> Self {
        Self { caches }
    }

    /// Applies events another node published. Returns `false` once the `Auth` is gone.
    pub fn apply(&self, events: &[Invalidation]) -> bool {
        let Some(caches) = self.caches.upgrade() else {
            return false;
        };
        for event in events {
            caches.apply(event);
        }
        true
    }

    /// Clears every cache: the bus (re)connected and may have missed events meanwhile.
    /// Returns `false` once the `Auth` is gone.
    pub fn resync(&self) -> bool {
        let Some(caches) = self.caches.upgrade() else {
            return false;
        };
        caches.clear();
        true
    }

    /// Whether the `Auth` is gone (the bus may stop delivering).
    pub fn is_closed(&self) -> bool {
        self.caches.strong_count() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Invalidation> {
        vec![
            Invalidation::Session(TokenHash::of("a session token")),
            Invalidation::User(UserId::new()),
            Invalidation::ApiKey {
                id: ApiKeyId::new(),
                key_hash: TokenHash::of("an api key"),
            },
            Invalidation::AllApiKeys,
        ]
    }

    #[test]
    fn every_event_survives_its_line() {
        for event in samples() {
            let line = event.to_line();
            assert!(line.len() <= 84, "{line} is too long");
            assert!(!line.contains('\n'));
            assert_eq!(Invalidation::from_line(&line), Some(event), "{line}");
        }
    }

    #[test]
    fn malformed_lines_are_refused() {
        let hash = TokenHash::of("x").to_base64();
        let id = UserId::new();
        for line in [
            String::new(),
            "s".into(),
            "s not-a-hash".into(),
            format!("s {hash} extra"),
            format!("u {hash}"),
            format!("k {id}"),
            format!("k {id} {hash} extra"),
            "K extra".into(),
            format!("x {hash}"),
            format!("s  {hash}"),
        ] {
            assert_eq!(Invalidation::from_line(&line), None, "{line:?}");
        }
    }

    #[test]
    fn a_line_never_contains_the_token_it_names() {
        let token = "a session token";
        let line = Invalidation::Session(TokenHash::of(token)).to_line();
        assert!(!line.contains(token));
    }
}
