//! Groups: organizations, teams and any other unit an app nests. A group has a name, an
//! optional unique slug, a type (`org`, `team`, ...), an optional parent, key/value tags and
//! app-defined JSON. Parents form a tree; the store refuses moves that would make a cycle,
//! and walks report cycles planted by other means instead of looping.

mod model;
pub(crate) mod service;
mod store;

pub use model::{
    Ancestry, ChainLink, DEFAULT_MAX_DEPTH, Group, GroupFilter, GroupOrder, GroupPatch,
    MAX_DEPTH_LIMIT, NewGroup, Subtree, Tag, UpdateGroupOutcome,
};
pub use service::Groups;
pub use store::GroupStore;
