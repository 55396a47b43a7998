//! The full conformance suite on SQLite: a file (with a second pool as the peer node) and
//! an in-memory database.

mod common;

auth_core::conformance_tests!(
    sqlite_file,
    common::sqlite_file,
    domains = [organizations, api_keys, totp, passkeys, sso, scim],
    peer = common::sqlite_peer,
    plant_parent = common::plant_parent_sqlite
);

auth_core::conformance_tests!(
    sqlite_memory,
    common::sqlite_memory,
    domains = [organizations, api_keys, totp, passkeys, sso, scim],
    plant_parent = common::plant_parent_sqlite
);
