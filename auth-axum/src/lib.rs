//! # auth-axum
//!
//! axum integration for `auth-core`: extractors (`CurrentUser`, `Principal`, ...), route
//! guards, and ready routers for the JSON API. This crate is filled by the axum issue; it
//! is a placeholder in the workspace until then and exports nothing.

#![deny(missing_docs)]
