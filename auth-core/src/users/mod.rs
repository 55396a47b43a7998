//! Users: the people who sign in. Create, read, list, patch and delete (with cascade).

mod model;
mod service;
mod store;

pub use model::{DeleteUserOutcome, Dependents, NewUser, User, UserFilter, UserOrder, UserPatch};
pub use service::{Reauth, Users};
pub use store::UserStore;
