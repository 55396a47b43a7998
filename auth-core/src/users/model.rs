use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::UserId;
use crate::pagination::{SortField, SortValue, Sortable};
use crate::secret::TokenHash;
use crate::validate::Email;

/// A user.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// Normalised email address (see [`Email`]); unique.
    pub email: Email,
    /// Whether the user proved they own `email`.
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub image: Option<String>,
    /// App-defined data (a JSON object).
    pub extend: Value,
    /// When the user was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the user was last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Input to create a user (without a password; see
/// [`Passwords::sign_up`](crate::passwords::Passwords::sign_up) for that).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    /// Email address (validated and normalised on create).
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub image: Option<String>,
    /// App-defined data (a JSON object); `{}` when absent.
    pub extend: Option<Value>,
    /// Whether the email is known to be verified (e.g. vouched for by an identity provider).
    #[serde(default)]
    pub email_verified: bool,
}

/// A change to a user. `None` leaves a field alone; for optional fields `Some(None)` clears.
/// Changing the email clears `email_verified`, unless the patch sets `email_verified` too
/// (a change of address proved at the new address).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserPatch {
    /// New display name, or clear it.
    #[serde(default, with = "crate::serde_util::double_option")]
    pub name: Option<Option<String>>,
    /// New email address.
    pub email: Option<Email>,
    /// New avatar URL, or clear it.
    #[serde(default, with = "crate::serde_util::double_option")]
    pub image: Option<Option<String>>,
    /// Replaces the app-defined data.
    pub extend: Option<Value>,
    /// Sets whether the email is verified, after the email rule above (the app only).
    #[serde(default)]
    pub email_verified: Option<bool>,
}

impl UserPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.email.is_none()
            && self.image.is_none()
            && self.extend.is_none()
            && self.email_verified.is_none()
    }

    /// Applies the patch to `user` at `now` (for stores that update in memory).
    pub fn apply(&self, user: &mut User, now: OffsetDateTime) {
        if let Some(name) = &self.name {
            user.name.clone_from(name);
        }
        if let Some(email) = &self.email
            && *email != user.email
        {
            user.email = email.clone();
            user.email_verified = false;
        }
        if let Some(image) = &self.image {
            user.image.clone_from(image);
        }
        if let Some(extend) = &self.extend {
            user.extend = extend.clone();
        }
        if let Some(verified) = self.email_verified {
            user.email_verified = verified;
        }
        user.updated_at = now;
    }
}

/// Which users to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFilter {
    /// Exactly this (normalised) email.
    pub email: Option<Email>,
    /// Name contains this text (ASCII case-insensitive).
    pub name_contains: Option<String>,
    /// Created at or after.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_after: Option<OffsetDateTime>,
    /// Created before.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_before: Option<OffsetDateTime>,
}

impl UserFilter {
    /// Whether `user` passes the filter (for stores that filter in memory).
    pub fn matches(&self, user: &User) -> bool {
        self.email.as_ref().is_none_or(|e| &user.email == e)
            && self.name_contains.as_ref().is_none_or(|needle| {
                user.name.as_ref().is_some_and(|name| {
                    name.to_ascii_lowercase()
                        .contains(&needle.to_ascii_lowercase())
                })
            })
            && self.created_after.is_none_or(|t| user.created_at >= t)
            && self.created_before.is_none_or(|t| user.created_at < t)
    }
}

/// Order of user listings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserOrder {
    /// By creation time.
    #[default]
    CreatedAt,
    /// By email address.
    Email,
}

impl SortField for UserOrder {
    fn name(self) -> &'static str {
        match self {
            UserOrder::CreatedAt => "created_at",
            UserOrder::Email => "email",
        }
    }
    fn is_time(self) -> bool {
        self == UserOrder::CreatedAt
    }
}

impl Sortable<UserOrder> for User {
    fn sort_key(&self, field: UserOrder) -> SortValue {
        match field {
            UserOrder::CreatedAt => SortValue::Time(self.created_at),
            UserOrder::Email => SortValue::Text(self.email.as_str().to_owned()),
        }
    }
    fn sort_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

/// What still refers to a user, counted by [`UserStore::delete_user`](super::UserStore::delete_user)
/// when asked not to cascade. The user's own credentials (password, pending codes) are part
/// of the user and never count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dependents {
    /// Sessions (active or not yet purged).
    pub sessions: u64,
    /// Linked external identities (anything but the password account).
    pub linked_accounts: u64,
    /// Group memberships.
    pub memberships: u64,
    /// API keys owned by the user.
    pub api_keys: u64,
}

impl Dependents {
    /// Whether nothing refers to the user.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// A short description, e.g. "2 sessions, 1 linked account".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (count, one, many) in [
            (self.sessions, "session", "sessions"),
            (self.linked_accounts, "linked account", "linked accounts"),
            (self.memberships, "membership", "memberships"),
            (self.api_keys, "API key", "API keys"),
        ] {
            if count > 0 {
                parts.push(format!("{count} {}", if count == 1 { one } else { many }));
            }
        }
        parts.join(", ")
    }
}

/// The result of [`UserStore::delete_user`](super::UserStore::delete_user).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeleteUserOutcome {
    /// The user and everything that belonged to it are gone. Carries the token hashes of
    /// the deleted sessions, so caches can forget them.
    Deleted {
        /// Token hashes of the sessions deleted with the user.
        session_token_hashes: Vec<TokenHash>,
    },
    /// No such user.
    NotFound,
    /// Not deleted: `cascade` was off and these still refer to the user.
    HasDependents(Dependents),
    /// Not deleted: the user is the only active holder of the
    /// [`KeepRole`](crate::members::KeepRole) role in this many groups (deleting them would
    /// leave the groups without one, whatever `cascade` says).
    LastHolder(u64),
}
