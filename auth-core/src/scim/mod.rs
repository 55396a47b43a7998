//! SCIM 2.0 (RFC 7643, RFC 7644): the protocol model a provisioning server is built on.
//!
//! - [`schema`]: the User (with the Enterprise User extension) and Group schemas this
//!   server supports, as one static description that drives everything below.
//! - [`filter`]: the `filter` query parameter's grammar (RFC 7644 §3.4.2.2) and PATCH
//!   paths (§3.5.2): parsed into a tree that never panics on any input, printed back to
//!   an equivalent filter.
//! - [`document`]: a resource's attributes checked and normalised against its schema.
//! - [`patch`]: PATCH operations applied to a document, in the dialects directories send.
//! - [`query`]: list requests, with filters resolved to the fields every store indexes.
//! - [`eval`]: a filter evaluated against a resource or a multi-valued attribute's value.
//! - [`error`]: SCIM error responses.
//! - [`render`]: resources as served, and the `attributes` projection.
//! - [`bulk`]: `/Bulk` requests, many operations with `bulkId` references.
//!
//! On top of them, [`Scim`] (`auth.scim()`) serves a connection's directory: `/Users`
//! become library users and members of the connection's organization, `/Groups` child
//! groups of it; [`ScimStore`] is the optional store domain it needs.

pub mod bulk;
pub mod document;
pub mod error;
pub mod eval;
pub mod filter;
mod groups;
mod model;
pub mod patch;
pub mod query;
pub mod render;
mod resources;
pub mod schema;
mod service;
mod store;
mod users;

pub use error::{ScimError, ScimType};
pub use filter::{AttrPath, CompareOp, CompareValue, Filter, FilterError, PatchPath};
pub use groups::SCIM_GROUP_KIND;
pub use model::{
    DeprovisionMode, ScimConfig, ScimGroup, ScimMember, ScimPage, ScimSettings, ScimUser,
};
pub use render::{Projection, ScimResource};
pub use resources::ResourceKind;
pub use service::{Directory, Scim, ScimConfigView};
pub use store::ScimStore;
pub use users::ScimList;
