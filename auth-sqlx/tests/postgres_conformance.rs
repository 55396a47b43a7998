//! The full conformance suite on PostgreSQL, each test in its own schema, with a second
//! connection pool on the same schema standing in for a second app node.

mod common;

auth_core::conformance_tests!(
    postgres,
    common::postgres,
    domains = [organizations, api_keys, totp, passkeys, sso, scim],
    peer = common::postgres_peer,
    plant_parent = common::plant_parent_postgres,
    skip_unless_env = "AUTH_TEST_POSTGRES_URL",
);
