//! Mapping sqlx errors to [`StoreError`]: connectivity to `Unavailable`, unique violations to
//! typed conflicts, everything else to `Backend` (never shown to clients).

use auth_core::{Conflict, StoreError};

/// Unique constraints the schema names, with the PostgreSQL constraint name and the column
/// list SQLite prints in its message.
const UNIQUE_CONSTRAINTS: &[(&str, &str, Conflict)] = &[
    ("users_email_key", "users.email", Conflict::UserEmail),
    (
        "accounts_provider_key",
        "accounts.provider, accounts.provider_account_id",
        Conflict::Account,
    ),
    ("groups_slug_key", "groups.slug", Conflict::GroupSlug),
    // A ceremony put twice (the SAML replay guard relies on it).
    (
        "ceremonies_pkey",
        "ceremonies.kind, ceremonies.handle_hash",
        Conflict::Id,
    ),
    (
        "members_group_user_key",
        "members.group_id, members.user_id",
        Conflict::Membership,
    ),
    (
        "passkeys_credential_id_key",
        "passkeys.credential_id",
        Conflict::PasskeyCredential,
    ),
    (
        "sso_domains_group_domain_key",
        "sso_domains.group_id, sso_domains.domain",
        Conflict::Domain,
    ),
    // A partial index: SQLite names its column.
    (
        "sso_domains_verified_key",
        "sso_domains.domain",
        Conflict::Domain,
    ),
    (
        "scim_users_user_name_key",
        "scim_users.connection_id, scim_users.user_name_key",
        Conflict::ScimUserName,
    ),
    (
        "scim_users_user_key",
        "scim_users.connection_id, scim_users.user_id",
        Conflict::Id,
    ),
    // An expression index: SQLite names the index instead of the columns.
    (
        "invites_pending_key",
        "index 'invites_pending_key'",
        Conflict::Invite,
    ),
];

/// Converts a sqlx error into a [`StoreError`].
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => StoreError::unavailable(error),
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            match unique_conflict(db.constraint(), db.message()) {
                Some(conflict) => StoreError::Conflict(conflict),
                None => StoreError::backend(error),
            }
        }
        sqlx::Error::Database(db) if is_transient(db.code().as_deref()) => {
            StoreError::unavailable(error)
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StoreError::corrupt("a stored value could not be decoded")
        }
        _ => StoreError::backend(error),
    }
}

fn unique_conflict(constraint: Option<&str>, message: &str) -> Option<Conflict> {
    UNIQUE_CONSTRAINTS
        .iter()
        .find(|(pg, sqlite, _)| match constraint {
            Some(name) => name == *pg,
            None => message.ends_with(sqlite),
        })
        .map(|(_, _, conflict)| *conflict)
}

/// Database error codes that mean "try again later", not "your request is wrong":
/// PostgreSQL connection exceptions (08), operator intervention such as
/// `pg_terminate_backend` (57P01..57P03), insufficient resources (53), serialization and
/// deadlock failures (40001, 40P01); SQLite BUSY (5) and LOCKED (6) with extended codes.
fn is_transient(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    // A PostgreSQL SQLSTATE is always five characters; SQLite's codes are numbers of at
    // most four digits (extended codes stay below 10 000).
    if code.len() == 5 {
        code.starts_with("08")
            || code.starts_with("57P")
            || code.starts_with("53")
            || code == "40001"
            || code == "40P01"
    } else {
        matches!(code.parse::<u16>(), Ok(c) if c & 0xff == 5 || c & 0xff == 6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_map_to_conflicts_on_both_backends() {
        assert_eq!(
            unique_conflict(Some("users_email_key"), ""),
            Some(Conflict::UserEmail)
        );
        assert_eq!(
            unique_conflict(None, "UNIQUE constraint failed: users.email"),
            Some(Conflict::UserEmail)
        );
        assert_eq!(
            unique_conflict(
                None,
                "UNIQUE constraint failed: accounts.provider, accounts.provider_account_id"
            ),
            Some(Conflict::Account)
        );
        assert_eq!(
            unique_conflict(None, "UNIQUE constraint failed: groups.slug"),
            Some(Conflict::GroupSlug)
        );
        assert_eq!(
            unique_conflict(Some("members_group_user_key"), ""),
            Some(Conflict::Membership)
        );
        assert_eq!(
            unique_conflict(
                None,
                "UNIQUE constraint failed: members.group_id, members.user_id"
            ),
            Some(Conflict::Membership)
        );
        assert_eq!(
            unique_conflict(
                None,
                "UNIQUE constraint failed: index 'invites_pending_key'"
            ),
            Some(Conflict::Invite)
        );
        assert_eq!(unique_conflict(Some("other_key"), ""), None);
    }

    #[test]
    fn transient_codes() {
        for code in [
            "08006", "57P01", "53300", "40001", "40P01", "5", "517", "6", "262",
        ] {
            assert!(is_transient(Some(code)), "{code}");
        }
        // 42501 insufficient_privilege, 22021 a NUL byte in text, 22022: a request or
        // set-up problem, not an outage, though their low byte looks like SQLITE_BUSY's.
        for code in ["23505", "42P01", "42501", "22021", "22022", "19", "2067"] {
            assert!(!is_transient(Some(code)), "{code}");
        }
        assert!(!is_transient(None));
    }

    #[test]
    fn connectivity_errors_are_unavailable() {
        assert!(matches!(
            store_error(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            store_error(sqlx::Error::RowNotFound),
            StoreError::Backend(_)
        ));
    }
}
