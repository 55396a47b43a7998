//! Who is asking, from where: request metadata the HTTP layer passes into service calls,
//! kept on sessions and in audit events.

use std::net::IpAddr;

use crate::audit::Actor;
use crate::secret::{TokenHash, is_token};
use crate::validate::{MAX_USER_AGENT_CHARS, metadata};

/// Longest request id kept.
const MAX_REQUEST_ID_CHARS: usize = 128;

/// Metadata of the request that causes a service call. All fields are optional; the
/// library never trusts them for decisions, only records them (the one it acts on,
/// `presented_session`, only lets a fresh sign-in end the session of a token the request
/// holds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The client's IP address, as the app determined it (after its proxy rules).
    pub ip: Option<IpAddr>,
    /// The client's `User-Agent`, cut to 512 characters.
    pub user_agent: Option<String>,
    /// The request id, for correlating audit events with logs.
    pub request_id: Option<String>,
    /// Who is making the request, when the caller authenticated it; recorded as the actor
    /// of audit events. Absent for anonymous requests and for the app's own calls.
    pub actor: Option<Actor>,
    /// The SHA-256 of the session token the request presented (a cookie or bearer token
    /// the client still holds), set with [`Self::presenting_session`]: a fresh sign-in ends
    /// that session, whoever's it is, so one client never holds two and a session left
    /// behind in a shared browser does not outlive the next sign-in.
    pub presented_session: Option<TokenHash>,
}

impl RequestMeta {
    /// Metadata with nothing known (background jobs, tests).
    pub fn none() -> Self {
        Self::default()
    }

    /// Sets the IP address.
    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Sets the user agent (cut to 512 characters, control characters dropped).
    pub fn with_user_agent(mut self, user_agent: &str) -> Self {
        self.user_agent = Some(metadata(user_agent, MAX_USER_AGENT_CHARS));
        self
    }

    /// Sets the actor (the authenticated caller).
    pub fn with_actor(mut self, actor: Actor) -> Self {
        self.actor = Some(actor);
        self
    }

    /// Records the session token the request presents, for a sign-in to end (see
    /// [`Self::presented_session`]). Anything that is not a session token's shape (an API
    /// key, garbage) is ignored; only its hash is kept.
    pub fn presenting_session(mut self, token: &str) -> Self {
        if is_token(token) {
            self.presented_session = Some(TokenHash::of(token));
        }
        self
    }

    /// The actor, or `default` when the request did not name one.
    pub fn actor_or(&self, default: Actor) -> Actor {
        self.actor.clone().unwrap_or(default)
    }

    /// Sets the request id (cut to 128 characters, control characters dropped).
    pub fn with_request_id(mut self, request_id: &str) -> Self {
        self.request_id = Some(metadata(request_id, MAX_REQUEST_ID_CHARS));
        self
    }
}
