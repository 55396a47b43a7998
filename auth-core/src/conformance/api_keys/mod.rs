//! The API-keys domain: keys owned by users and groups, verification, limits, rotation,
//! who may manage them, and the domain's part of user and group deletion.

pub mod authorization;
pub mod clock;
pub mod keys;
pub mod recovery;
