//! Members: a user's membership of a group, with a role and a status. Membership is
//! inherited down the group tree: a member of an organization is, for permission checks,
//! a member of its teams. Resolution walks the ancestor chain in ONE store query.

mod model;
mod service;
mod store;

pub use model::{
    AddMemberOutcome, Member, MemberChange, MemberFilter, MemberOrder, MemberPatch, MemberStatus,
    MembershipLink, NewMember, Permissions, Resolution,
};
pub use service::{Members, Membership, MembershipStore};
pub use store::MemberStore;
