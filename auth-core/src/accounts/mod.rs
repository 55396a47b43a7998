//! Accounts: the ways a user signs in. A password, an emailed code, or an external identity
//! (`oidc:<issuer>`, `saml:<connection>`, an app-defined OAuth provider). Link and unlink,
//! never leaving a user without a way in.

mod model;
mod service;
mod store;

pub use model::{Account, AccountView, PasswordHash, Provider, RevokeSessions, UnlinkOutcome};
pub use service::Accounts;
pub use store::AccountStore;
