//! SCIM filters are answered from indexes: the plans of the lists' queries on SQLite and,
//! with 100,000 provisioned users, on PostgreSQL (whose planner prefers a scan on small
//! tables). `--nocapture` prints the plans (PostgreSQL's with its execution time).

mod common;

use auth_core::scim::query::{ListParams, UserField};
use auth_core::{GroupId, SsoConnectionId};

/// A group and a connection of it, written directly.
const SETUP: &[&str] = &[
    "INSERT INTO groups (id, name, kind, extend, require_mfa, created_at, updated_at) \
     VALUES ($1, 'Org', 'org', '{}', false, $3, $3)",
    "INSERT INTO sso_connections (id, group_id, name, status, protocol, config, role_mapping, \
     extend, format_version, created_at, updated_at) \
     VALUES ($2, $1, 'Directory', 'draft', 'oidc', '{}', '{}', '{}', 1, $3, $3)",
];

fn filtered(filter: &str) -> auth_core::scim::query::ListQuery<UserField> {
    ListParams {
        filter: Some(filter.into()),
        ..ListParams::default()
    }
    .resolve()
    .unwrap()
}

/// The filters and the index each must use (of user 9999, who exists on both backends).
const CASES: [(&str, &str); 4] = [
    (
        r#"userName eq "user-9999@example.com""#,
        "scim_users_user_name_key",
    ),
    (r#"externalId eq "ext-9999""#, "scim_users_external_id_idx"),
    (
        r#"emails.value eq "user-9999@example.com""#,
        "scim_users_email_idx",
    ),
    (
        r#"displayName eq "USER 9999""#,
        "scim_users_display_name_idx",
    ),
];

#[tokio::test]
async fn sqlite_answers_filters_from_indexes() {
    let store = common::sqlite_memory().await;
    let (group, connection) = (GroupId::new(), SsoConnectionId::new());
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1_000_000;
    for statement in SETUP {
        sqlx::query(statement)
            .bind(group.as_uuid())
            .bind(connection.as_uuid())
            .bind(now)
            .execute(store.pool())
            .await
            .unwrap();
    }
    // 10,000 users, and statistics, for the planner to weigh its choices by.
    for statement in [
        "INSERT INTO users (id, email, email_verified, extend, created_at, updated_at) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) \
         SELECT randomblob(16), 'user-' || i || '@example.com', 1, '{}', $1, $1 FROM n",
        "INSERT INTO scim_users (id, connection_id, user_id, user_name, user_name_key, \
         external_id, display_name, display_name_key, email, active, attributes, version, \
         created_at, updated_at) \
         SELECT randomblob(16), $2, u.id, u.email, u.email, \
         'ext-' || substr(u.email, 6, instr(u.email, '@') - 6), \
         'User ' || substr(u.email, 6, instr(u.email, '@') - 6), \
         'user ' || substr(u.email, 6, instr(u.email, '@') - 6), u.email, 1, '{}', 1, $1, $1 \
         FROM users u",
        "ANALYZE",
    ] {
        sqlx::query(statement)
            .bind(now)
            .bind(connection.as_uuid())
            .execute(store.pool())
            .await
            .unwrap();
    }
    for (filter, index) in CASES {
        let plan = store
            .explain_scim_users(connection, &filtered(filter))
            .await
            .unwrap()
            .join("\n");
        println!("{filter}\n{plan}\n");
        assert!(plan.contains(index), "{filter}: {plan}");
    }
}

#[tokio::test]
async fn postgres_answers_filters_on_100k_users_from_indexes() {
    if !common::postgres_available("postgres_answers_filters_on_100k_users_from_indexes") {
        return;
    }
    let store = common::postgres().await;
    let (group, connection) = (GroupId::new(), SsoConnectionId::new());
    let now = time::OffsetDateTime::now_utc();
    for statement in SETUP {
        sqlx::query(statement)
            .bind(group.as_uuid())
            .bind(connection.as_uuid())
            .bind(now)
            .execute(store.pool())
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO users (id, email, email_verified, extend, created_at, updated_at) \
         SELECT gen_random_uuid(), 'user-' || i || '@example.com', true, '{}', $1, $1 \
         FROM generate_series(1, 100000) AS i",
    )
    .bind(now)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO scim_users (id, connection_id, user_id, user_name, user_name_key, \
         external_id, display_name, display_name_key, email, active, attributes, version, \
         created_at, updated_at) \
         SELECT gen_random_uuid(), $1, u.id, u.email, u.email, 'ext-' || split_part(split_part(u.email, '@', 1), '-', 2), \
         'User ' || split_part(split_part(u.email, '@', 1), '-', 2), \
         'user ' || split_part(split_part(u.email, '@', 1), '-', 2), u.email, true, '{}', 1, $2, $2 \
         FROM users u WHERE u.email LIKE 'user-%@example.com'",
    )
    .bind(connection.as_uuid())
    .bind(now)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query("ANALYZE scim_users")
        .execute(store.pool())
        .await
        .unwrap();
    for (filter, index) in CASES {
        let plan = store
            .explain_scim_users(connection, &filtered(filter))
            .await
            .unwrap()
            .join("\n");
        println!("{filter}\n{plan}\n");
        assert!(plan.contains(index), "{filter}: {plan}");
        assert!(
            plan.contains("rows=1 loops"),
            "{filter} finds its one user: {plan}"
        );
    }
}
