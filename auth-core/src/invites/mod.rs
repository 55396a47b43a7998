//! Invites: an invitation, optionally into a group, optionally bound to an email address,
//! with an optional role and expiry. The raw token is shown once (only its SHA-256 is
//! stored); accepting marks the invite accepted and adds the membership in ONE store call.

mod model;
mod service;
mod store;

pub use model::{
    AcceptOutcome, Acceptance, Invite, InviteChange, InviteFilter, InviteOrder, InviteStatus,
    NewInvite,
};
pub use service::{CreatedInvite, Invites};
pub use store::InviteStore;
