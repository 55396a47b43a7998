//! SCIM 2.0 (RFC 7643, RFC 7644): the protocol model a provisioning server is built on.
//!
//! - [`filter`]: the `filter` query parameter's grammar (RFC 7644 §3.4.2.2) and PATCH
//!   paths (§3.5.2): parsed into a tree that never panics on any input, printed back to
//!   an equivalent filter.

pub mod filter;

pub use filter::{AttrPath, CompareOp, CompareValue, Filter, FilterError, PatchPath};
