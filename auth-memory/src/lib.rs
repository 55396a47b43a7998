//! # auth-memory
//!
//! In-memory storage for `auth-core`: tests, prototypes and single-process apps. It is the
//! reference for how every store must behave and passes the full conformance suite.
//!
//! All data sits in one set of tables behind one `RwLock`; every compound operation
//! (refresh-token rotation, cascade delete, a code attempt) runs inside one write-locked
//! section, so it is atomic. Nothing is persisted: a restart forgets everything.
//!
//! ```
//! use auth_core::{Auth, SecretKey};
//! use auth_memory::MemoryStore;
//!
//! let auth = Auth::builder(MemoryStore::new())
//!     .secret_key(SecretKey::generate())
//!     .build()
//!     .unwrap();
//! # let _ = auth;
//! ```

#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod accounts;
mod api_keys;
mod audit;
mod ceremonies;
mod credentials;
mod groups;
mod invites;
mod members;
mod passkeys;
mod scim;
mod sessions;
mod sso;
mod tables;
mod totp;
mod users;
mod verification;

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tables::Tables;

/// An in-memory store. Cheap to clone: clones share the same data.
#[derive(Clone, Default)]
pub struct MemoryStore {
    tables: Arc<RwLock<Tables>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a group's parent without any check (not even that the parent exists). Only for
    /// tests that need a corrupt hierarchy, such as the conformance suite's planted cycle.
    #[doc(hidden)]
    pub fn plant_group_parent(
        &self,
        group: auth_core::GroupId,
        parent: Option<auth_core::GroupId>,
    ) {
        if let Some(g) = self.write().groups.get_mut(&group) {
            g.parent_id = parent;
        }
    }

    /// Reads the tables. A panic in another thread while it held the lock leaves the
    /// tables as they were (every write section finishes its checks before mutating).
    fn read(&self) -> RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tables> {
        self.tables.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The README's code, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The organizations guide's code, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../docs/organizations.md")]
pub struct OrganizationsDoctests;

/// The SSO guide's code, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../docs/sso.md")]
pub struct SsoDoctests;
