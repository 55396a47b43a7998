//! The required core: users, accounts, password and emailed-code flows, sessions and
//! refresh tokens, one-time codes, the audit log, rate limits. Every store passes these.

pub mod accounts;
pub mod audit;
pub mod authorization;
pub mod clock;
pub mod emails;
pub mod enumeration;
pub mod hashing;
pub mod limits;
pub mod pagination;
pub mod passwords;
pub mod presented;
pub mod rate_limits;
pub mod recovery;
pub mod refresh;
pub mod sessions;
pub mod step_up;
pub mod users;
pub mod verification;
