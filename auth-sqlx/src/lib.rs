//! # auth-sqlx
//!
//! SQLite (embedded default) and PostgreSQL (production, many nodes) storage for
//! `auth-core`, with migrations for both. This crate is filled by the storage issue; it is
//! a placeholder in the workspace until then and exports nothing.

#![deny(missing_docs)]
