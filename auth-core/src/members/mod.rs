//! Members: a user's membership of a group, with a role and a status. Membership is
//! inherited down the group tree: a member of an organization is, for permission checks,
//! a member of its teams. Resolution walks the ancestor chain in ONE store query.

pub(crate) mod access;
mod model;
mod service;
mod store;

pub use access::Access;
pub use model::{
    DIRECTORY_SUSPENSION, KeepRole, Member, MemberChange, MemberFilter, MemberOrder, MemberPatch,
    MemberStatus, MembershipLink, NewMember, Permissions, Resolution,
};
pub use service::{EffectiveMember, EffectiveMembers, MAX_EFFECTIVE_MEMBERS, Members, Membership};
pub use store::MemberStore;
