//! The organizations domain: groups, members, roles and permissions, invites, and who may
//! manage them (decided in the services, so every store and every web adapter inherits
//! it). Also the domain's part of user deletion: memberships go, a last owner stays.

pub mod authorization;
pub mod groups;
pub mod invites;
pub mod members;
pub mod mfa;
pub mod permissions;
