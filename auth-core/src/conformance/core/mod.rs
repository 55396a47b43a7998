//! The required core: users, accounts, password and emailed-code flows, sessions and
//! refresh tokens, one-time codes, the audit log. Every store passes these.

pub mod accounts;
pub mod audit;
pub mod authorization;
pub mod emails;
pub mod hashing;
pub mod pagination;
pub mod passwords;
pub mod refresh;
pub mod sessions;
pub mod users;
pub mod verification;
