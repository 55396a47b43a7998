use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::Purpose;
use crate::error::BoxError;
use crate::secret::Secret;
use crate::validate::Email;

/// An email the library asks the app to deliver: a one-time code and a link token for one
/// purpose. The app renders it (the link is its own page carrying `link_token`, best built
/// with [`OutgoingEmail::link`]) and sends it.
#[derive(Clone)]
pub struct OutgoingEmail {
    /// Recipient.
    pub to: Email,
    /// What it is for.
    pub purpose: Purpose,
    /// The numeric code to type in.
    pub code: Secret,
    /// The token to put in a link: in the URL's fragment (`https://app.example/#sign_in=...`,
    /// see [`OutgoingEmail::link`]), never its query, which servers, proxies and `Referer`
    /// headers record.
    pub link_token: Secret,
    /// When both stop working.
    pub expires_at: OffsetDateTime,
}

impl OutgoingEmail {
    /// The link to `page` (the app's page that answers it) carrying the token in the URL's
    /// fragment, `<page>#<purpose>=<token>` (purpose as in [`Purpose::as_str`], e.g.
    /// `sign_in`). Browsers never send a fragment to a server nor put it in `Referer`, so
    /// the token stays out of access logs; the page's script reads it and POSTs it.
    pub fn link(&self, page: &str) -> Secret {
        let page = page.split('#').next().unwrap_or_default();
        Secret::new(format!(
            "{page}#{}={}",
            self.purpose.as_str(),
            self.link_token.expose()
        ))
    }
}

impl fmt::Debug for OutgoingEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("to", &self.to)
            .field("purpose", &self.purpose)
            .field("code", &self.code)
            .field("link_token", &self.link_token)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A mailer's error with every secret of the email it was handed replaced by
/// `[redacted]`, its chain of sources flattened into one message, so it can be logged and
/// kept as the source of `DELIVERY_FAILED`: a mailer, or the server it talks to, may quote
/// the message it refused, code and link included.
pub(crate) fn scrubbed(error: BoxError, secrets: &[&str]) -> BoxError {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, "[redacted]");
    }
    text.into()
}

/// A notice the library asks the app to deliver: it carries no code and asks for no
/// answer; it tells the owner of an address that something happened to their account.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// The account's address changed from `to` (where the notice goes) to `new`.
    EmailChanged {
        /// The old address, the recipient.
        to: Email,
        /// The new address.
        new: Email,
    },
    /// The account's password was changed (by its signed-in user) or reset (through an
    /// emailed code or link): tell the owner, who should reset it if it was not them.
    PasswordChanged {
        /// The account's address, the recipient.
        to: Email,
        /// Reset through an emailed code or link, rather than changed while signed in.
        reset: bool,
    },
    /// Someone tried to sign up with `to`, which has an account already
    /// ([`AuthConfig::enumeration_safe_sign_up`](crate::AuthConfig)): tell its owner they
    /// can sign in, or reset their password, and to ignore it if it was not them.
    SignUpAttempted {
        /// The address, the recipient.
        to: Email,
    },
    /// A passkey was registered on the account: tell the owner, who should remove it (and
    /// secure the account) if it was not them.
    PasskeyAdded {
        /// The account's address, the recipient.
        to: Email,
        /// The passkey's name.
        name: String,
    },
    /// A passkey was removed from the account.
    PasskeyRemoved {
        /// The account's address, the recipient.
        to: Email,
        /// The passkey's name.
        name: String,
    },
}

/// Delivers emails; implemented by the app (SMTP, an email API, a queue).
#[async_trait]
pub trait Mailer: Send + Sync + fmt::Debug {
    /// Sends one email. An error is reported to the caller as `DELIVERY_FAILED` where that
    /// reveals nothing (email verification), and only logged where it would reveal whether
    /// an address has an account (password reset, passwordless sign-in).
    async fn send(&self, email: OutgoingEmail) -> Result<(), BoxError>;

    /// Delivers a [`Notice`]. A failure is logged, never reported: the change it tells
    /// of is done. The default sends nothing.
    async fn notify(&self, notice: Notice) -> Result<(), BoxError> {
        let _ = notice;
        Ok(())
    }
}

/// The default mailer: refuses, so a flow that needs email fails loudly with
/// `NOT_CONFIGURED` until the app sets one.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMailer;

#[async_trait]
impl Mailer for NoMailer {
    async fn send(&self, _: OutgoingEmail) -> Result<(), BoxError> {
        Err("no mailer configured".into())
    }
}

/// A development mailer that keeps every email in memory, for tests and demos.
#[derive(Debug, Clone, Default)]
pub struct RecordingMailer {
    sent: Arc<Mutex<Vec<OutgoingEmail>>>,
    notices: Arc<Mutex<Vec<Notice>>>,
}

impl RecordingMailer {
    /// An empty mailer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every email sent so far, oldest first.
    pub fn messages(&self) -> Vec<OutgoingEmail> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every notice sent so far, oldest first.
    pub fn notices(&self) -> Vec<Notice> {
        self.notices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The newest email to `to` for `purpose`.
    pub fn last(&self, to: &str, purpose: Purpose) -> Option<OutgoingEmail> {
        let to = to.trim().to_lowercase();
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .rev()
            .find(|m| m.to.as_str() == to && m.purpose == purpose)
            .cloned()
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, email: OutgoingEmail) -> Result<(), BoxError> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(email);
        Ok(())
    }

    async fn notify(&self, notice: Notice) -> Result<(), BoxError> {
        self.notices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(notice);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailer_error_is_scrubbed_of_the_secrets_it_quotes() {
        let io = std::io::Error::other("smtp said: bad line 'code 123456, link tok3n'");
        let error: BoxError = Box::new(io);
        let scrubbed = scrubbed(error, &["123456", "tok3n", ""]);
        assert_eq!(
            scrubbed.to_string(),
            "smtp said: bad line 'code [redacted], link [redacted]'"
        );
        assert!(!format!("{scrubbed:?}").contains("123456"));
    }

    #[test]
    fn links_carry_the_token_in_the_fragment_only() {
        let email = OutgoingEmail {
            to: Email::parse("a@example.com").unwrap(),
            purpose: Purpose::SignIn,
            code: Secret::new("123456"),
            link_token: Secret::new("tok3n"),
            expires_at: OffsetDateTime::UNIX_EPOCH,
        };
        let link = email.link("https://app.example/welcome?from=mail#old");
        assert_eq!(
            link.expose(),
            "https://app.example/welcome?from=mail#sign_in=tok3n"
        );
        let (before_fragment, _) = link.expose().split_once('#').unwrap();
        assert!(!before_fragment.contains("tok3n"));
    }
}
