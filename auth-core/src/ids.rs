//! Typed identifiers: one newtype over a UUID v7 per entity, so a `UserId` can never be
//! passed where a `SessionId` is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AuthError;

/// Declares a typed id: a UUID v7 newtype with parsing, display and serde as a plain string.
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident, $label:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id (UUID v7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID (for storage adapters reading rows back).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// What this id names, for error messages ("user", "session", ...).
            pub const LABEL: &'static str = $label;
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = AuthError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_uuid(s, $label).map(Self)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

/// Parses a UUID given by a client, with a typed error naming the field.
fn parse_uuid(s: &str, label: &'static str) -> Result<Uuid, AuthError> {
    // A UUID is at most 45 characters in any accepted form; refuse long input before parsing.
    if s.len() > 45 {
        return Err(AuthError::invalid(label, "is not a valid id"));
    }
    Uuid::parse_str(s).map_err(|_| AuthError::invalid(label, "is not a valid id"))
}

typed_id!(
    /// Identifies a [`User`](crate::users::User).
    UserId, "user_id"
);
typed_id!(
    /// Identifies an [`Account`](crate::accounts::Account) (one way a user signs in).
    AccountId, "account_id"
);
typed_id!(
    /// Identifies a [`Session`](crate::sessions::Session).
    SessionId, "session_id"
);
typed_id!(
    /// Identifies a [`Verification`](crate::verification::Verification) (an emailed code or link).
    VerificationId, "verification_id"
);
typed_id!(
    /// Identifies an [`AuditEvent`](crate::audit::AuditEvent).
    AuditEventId, "audit_event_id"
);
typed_id!(
    /// Identifies a [`Group`](crate::groups::Group) (an organization, a team, ...).
    GroupId, "group_id"
);
typed_id!(
    /// Identifies a [`Member`](crate::members::Member) (a user's membership of a group).
    MemberId, "member_id"
);
typed_id!(
    /// Identifies an [`Invite`](crate::invites::Invite).
    InviteId, "invite_id"
);
typed_id!(
    /// Identifies an [`ApiKey`](crate::api_keys::ApiKey).
    ApiKeyId, "api_key_id"
);

typed_id!(
    /// Identifies a [`Passkey`](crate::passkeys::Passkey).
    PasskeyId, "passkey_id"
);

typed_id!(
    /// Identifies an [`SsoConnection`](crate::sso::SsoConnection) (an organization's
    /// identity provider).
    SsoConnectionId, "sso_connection_id"
);

typed_id!(
    /// Identifies an [`OrgDomain`](crate::sso::OrgDomain) (an email domain an
    /// organization claims for SSO).
    OrgDomainId, "domain_id"
);

typed_id!(
    /// Identifies a [`ScimUser`](crate::scim::ScimUser) (a user as one connection's
    /// directory provisioned them; its SCIM `id`).
    ScimUserId, "scim_user_id"
);

typed_id!(
    /// Identifies a [`ScimGroup`](crate::scim::ScimGroup) (a group as one connection's
    /// directory provisioned it; its SCIM `id`).
    ScimGroupId, "scim_group_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_strings_and_json() {
        let id = UserId::new();
        let parsed: UserId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), id);
    }

    #[test]
    fn malformed_ids_are_typed_errors() {
        for bad in ["", "nope", "123", &"a".repeat(10_000)] {
            let err = bad.parse::<SessionId>().unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidInput);
        }
    }

    #[test]
    fn new_ids_are_time_ordered() {
        let a = UserId::new();
        let b = UserId::new();
        assert!(a < b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
    }
}
