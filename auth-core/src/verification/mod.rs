//! One-time codes and links sent by email: email verification, password reset and
//! passwordless sign-in share one mechanism. Each [`Verification`] carries a short numeric
//! code (HMAC-SHA256 under the app key is stored) and a 256-bit link token (SHA-256 is
//! stored); both are single use, expire, and the code allows a limited number of attempts.
//! Delivery goes through the app's [`Mailer`]; the flows whose timing would tell whether an
//! address has an account hand it to an [`Outbox`] instead of waiting for it.

mod deferred;
mod mailer;
mod model;
mod outbox;
mod service;
mod store;

pub use mailer::{Mailer, NoMailer, Notice, OutgoingEmail, RecordingMailer};
pub use model::{AttemptReservation, LinkConsumption, Purpose, Verification};
pub use outbox::{Delivery, InlineOutbox, Outbox, SpawnOutbox};
pub use service::{Answer, EmailFlowStore, EmailFlows};
pub use store::VerificationStore;

pub(crate) use service::CodeChecker;
