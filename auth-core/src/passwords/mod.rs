//! Passwords: Argon2id hashing (OWASP parameters, rehash on sign-in when they change), the
//! bound on concurrent hashing, the password policy (with the offline list of common
//! passwords and the app's optional k-anonymity breach check), and the password flows
//! (sign-up, sign-in, change, forgotten password).

mod breach;
mod hasher;
mod policy;
mod pool;
mod service;

pub use breach::{BreachCheck, BreachList, BreachedSuffix, is_common};
pub use hasher::Argon2Config;
pub use policy::PasswordPolicy;
pub use pool::HashingLimits;
pub use service::{PasswordStore, Passwords, SignUp, SignUpOutcome};

pub(crate) use hasher::{PasswordCheck, PasswordHasher};
pub(crate) use pool::HashPool;
