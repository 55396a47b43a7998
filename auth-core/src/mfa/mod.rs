//! Multi-factor sign-in: when a user holds a confirmed second factor (a TOTP enrolment or a
//! passkey, in the domains the store implements), a password or emailed-code sign-in does
//! not start a session. It answers [`SignInOutcome::MfaRequired`] with a short-lived
//! challenge, which the second factor completes into an `aal2` session.
//!
//! The challenge is a one-time record of the core ([`Purpose::MfaChallenge`](crate::verification::Purpose)
//! in the verification store: the hash of its token, an expiry, a count of attempts), so
//! every store has it and any node can complete what another started. Its token names the
//! user it is for; each completion attempt counts against the challenge before the factor
//! is checked, and the challenge is consumed by the one attempt that succeeds. A newer
//! sign-in replaces an unfinished challenge.
//!
//! Which factors a user holds is asked of the store ([`CredentialStore::second_factors`](crate::CredentialStore::second_factors)),
//! which answers for every domain it implements, so the core's sign-in needs no knowledge
//! of the domains.
//!
//! Step-up ([`StepUpConfig`], [`Auth::require_step_up`](crate::Auth::require_step_up)):
//! sensitive operations need an `aal2` session from a user who holds a second factor, and
//! optionally a recent sign-in.

mod model;
mod service;
mod step_up;

pub use model::{MfaChallenge, MfaConfig, SecondFactors, SignInOutcome};
pub use service::{Mfa, MfaStore};
pub use step_up::StepUpConfig;
