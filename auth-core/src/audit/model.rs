use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::context::RequestMeta;
use crate::error::AuthError;
use crate::ids::{ApiKeyId, AuditEventId, SessionId, UserId};
use crate::pagination::{SortField, SortValue, Sortable};

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Actor {
    /// A signed-in user (or one signing in).
    User {
        /// The user.
        id: UserId,
    },
    /// The app itself (admin calls, background jobs).
    System,
    /// An API key acting for its group (a user's key acts as its user).
    ApiKey {
        /// The key.
        id: ApiKeyId,
    },
    /// Nobody identified (a failed sign-in for an unknown email, say).
    Anonymous,
}

impl Actor {
    /// The user, if the actor is one.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::User { id } => Some(*id),
            _ => None,
        }
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// The event's id.
    pub id: AuditEventId,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What happened, dotted: `user.sign_in`, `session.revoke`, ...
    pub action: String,
    /// Who did it.
    pub actor: Actor,
    /// What it was done to, `kind:id` (e.g. `user:0190...`), if anything.
    pub subject: Option<String>,
    /// Whether it succeeded.
    pub ok: bool,
    /// The error code when it did not.
    pub error_code: Option<String>,
    /// The client's IP address.
    pub ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// The session the action was taken in, if any.
    pub session_id: Option<SessionId>,
    /// Action-specific details (never a secret).
    pub detail: Value,
}

impl AuditEvent {
    /// A successful event `action` by `actor` at `at`, with the request's metadata.
    pub fn new(action: &str, actor: Actor, at: OffsetDateTime, meta: &RequestMeta) -> Self {
        Self {
            id: AuditEventId::new(),
            at,
            action: action.to_owned(),
            actor,
            subject: None,
            ok: true,
            error_code: None,
            ip: meta.ip.map(|ip| ip.to_string()),
            user_agent: meta.user_agent.clone(),
            request_id: meta.request_id.clone(),
            session_id: None,
            detail: Value::Null,
        }
    }

    /// Names the subject, `kind:id`.
    pub fn subject(mut self, kind: &str, id: impl std::fmt::Display) -> Self {
        self.subject = Some(format!("{kind}:{id}"));
        self
    }

    /// Marks the event failed with `error`'s code.
    pub fn failed(mut self, error: &AuthError) -> Self {
        self.ok = false;
        self.error_code = Some(error.code().as_str().to_owned());
        self
    }

    /// Records the session the action was taken in.
    pub fn in_session(mut self, session: SessionId) -> Self {
        self.session_id = Some(session);
        self
    }

    /// Adds details.
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

/// Which audit events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Events by this user.
    pub actor_user: Option<UserId>,
    /// Events with this action.
    pub action: Option<String>,
    /// Events about this subject (`kind:id`).
    pub subject: Option<String>,
    /// Only successes (`true`) or failures (`false`).
    pub ok: Option<bool>,
    /// At or after this instant.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// Before this instant.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
}

impl AuditFilter {
    /// Whether `event` passes the filter (for stores that filter in memory).
    pub fn matches(&self, event: &AuditEvent) -> bool {
        self.actor_user
            .is_none_or(|u| event.actor.user_id() == Some(u))
            && self.action.as_ref().is_none_or(|a| &event.action == a)
            && self
                .subject
                .as_ref()
                .is_none_or(|s| event.subject.as_ref() == Some(s))
            && self.ok.is_none_or(|ok| event.ok == ok)
            && self.since.is_none_or(|t| event.at >= t)
            && self.until.is_none_or(|t| event.at < t)
    }
}

/// Order of audit listings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOrder {
    /// By time.
    #[default]
    At,
}

impl SortField for AuditOrder {
    fn name(self) -> &'static str {
        "at"
    }
    fn is_time(self) -> bool {
        true
    }
}

impl Sortable<AuditOrder> for AuditEvent {
    fn sort_key(&self, _: AuditOrder) -> SortValue {
        SortValue::Time(self.at)
    }
    fn sort_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}
