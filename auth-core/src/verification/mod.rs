//! One-time codes and links sent by email: email verification, password reset and
//! passwordless sign-in share one mechanism. Each [`Verification`] carries a short numeric
//! code (HMAC-SHA256 under the app key is stored) and a 256-bit link token (SHA-256 is
//! stored); both are single use, expire, and the code allows a limited number of attempts.
//! Delivery goes through the app's [`Mailer`].

mod mailer;
mod model;
mod service;
mod store;

pub use mailer::{Mailer, NoMailer, Notice, OutgoingEmail, RecordingMailer};
pub use model::{AttemptReservation, LinkConsumption, Purpose, Verification};
pub use service::{Answer, EmailFlowStore, EmailFlows};
pub use store::VerificationStore;

pub(crate) use service::CodeChecker;
