//! Cursor pagination boundaries, exercised through the user list.

use crate::Caller;
use std::collections::HashSet;

use time::Duration;

use crate::conformance::{Env, Harness, assert_code, meta};
use crate::pagination::{Position, SortValue, encode_cursor};
use crate::users::{NewUser, UserFilter, UserOrder};
use crate::{CoreStore, Direction, ErrorCode, ListQuery, UserId};

async fn seed<S: CoreStore + Clone>(env: &Env<S>, n: usize, spread: bool) -> Vec<UserId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let user = env
            .auth
            .users()
            .create(
                &Caller::System,
                NewUser {
                    email: format!("user{i:03}@example.com"),
                    ..NewUser::default()
                },
                &meta(),
            )
            .await
            .unwrap();
        ids.push(user.id);
        if spread {
            env.advance(Duration::seconds(1));
        }
    }
    ids
}

async fn walk<S: CoreStore + Clone>(
    env: &Env<S>,
    order: UserOrder,
    direction: Direction,
    limit: u32,
) -> Vec<UserId> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let mut query = ListQuery::new(UserFilter::default(), order)
            .direction(direction)
            .limit(limit);
        query.cursor = cursor;
        let page = env.auth.users().list(&Caller::System, query).await.unwrap();
        assert!(page.items.len() <= limit as usize);
        seen.extend(page.items.iter().map(|u| u.id));
        match page.next_cursor {
            Some(next) => {
                assert!(!page.items.is_empty(), "a cursor after an empty page");
                cursor = Some(next);
            }
            None => return seen,
        }
    }
}

pub async fn empty_list<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let page = env
        .auth
        .users()
        .list(
            &Caller::System,
            ListQuery::new(UserFilter::default(), UserOrder::CreatedAt),
        )
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next_cursor, None);
}

pub async fn exactly_limit_has_no_next_cursor<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    seed(&env, 5, true).await;
    let page = env
        .auth
        .users()
        .list(
            &Caller::System,
            ListQuery::new(UserFilter::default(), UserOrder::CreatedAt).limit(5),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 5);
    assert_eq!(page.next_cursor, None);
    let page = env
        .auth
        .users()
        .list(
            &Caller::System,
            ListQuery::new(UserFilter::default(), UserOrder::CreatedAt).limit(4),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 4);
    assert!(page.next_cursor.is_some());
}

pub async fn pages_cover_every_row_once_with_equal_timestamps<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    // The clock does not move: every row has the same created_at, so only the id
    // tie-breaker keeps pages apart.
    let ids = seed(&env, 13, false).await;
    for limit in [1, 2, 5, 13, 50] {
        let seen = walk(&env, UserOrder::CreatedAt, Direction::Asc, limit).await;
        assert_eq!(seen.len(), 13, "limit {limit}");
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), 13, "limit {limit}: repeats");
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "limit {limit}: ties ordered by id");
    }
}

pub async fn descending_pages_cover_every_row_once<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let ids = seed(&env, 7, true).await;
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(
        walk(&env, UserOrder::CreatedAt, Direction::Desc, 3).await,
        expected
    );
    let by_email = walk(&env, UserOrder::Email, Direction::Desc, 2).await;
    assert_eq!(by_email, expected, "emails were created in order");
}

pub async fn cursor_past_the_end_gives_an_empty_page<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let ids = seed(&env, 3, true).await;
    let first = env
        .auth
        .users()
        .list(
            &Caller::System,
            ListQuery::new(UserFilter::default(), UserOrder::CreatedAt).limit(2),
        )
        .await
        .unwrap();
    let cursor = first.next_cursor.unwrap();
    // The rows after the cursor disappear before the next page is asked for.
    env.auth
        .users()
        .delete(&Caller::System, ids[2], true, &meta())
        .await
        .unwrap();
    let next = env
        .auth
        .users()
        .list(
            &Caller::System,
            ListQuery::new(UserFilter::default(), UserOrder::CreatedAt)
                .limit(2)
                .after(cursor),
        )
        .await
        .unwrap();
    assert!(next.items.is_empty());
    assert_eq!(next.next_cursor, None);
}

pub async fn bad_limits_and_cursors_are_typed_errors<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    seed(&env, 3, true).await;
    let users = env.auth.users();
    for limit in [0, 1001, 1_000_000_000] {
        assert_code(
            users
                .list(
                    &Caller::System,
                    ListQuery::new(UserFilter::default(), UserOrder::CreatedAt).limit(limit),
                )
                .await,
            ErrorCode::InvalidInput,
        );
    }
    let page = users
        .list(
            &Caller::System,
            ListQuery::new(UserFilter::default(), UserOrder::CreatedAt).limit(1),
        )
        .await
        .unwrap();
    let cursor = page.next_cursor.unwrap();
    for bad in ["", "garbage!", "eyJvIjoxfQ", &"A".repeat(5000)] {
        assert_code(
            users
                .list(
                    &Caller::System,
                    ListQuery::new(UserFilter::default(), UserOrder::CreatedAt).after(bad),
                )
                .await,
            ErrorCode::InvalidCursor,
        );
    }
    // A cursor from one order is refused by another.
    assert_code(
        users
            .list(
                &Caller::System,
                ListQuery::new(UserFilter::default(), UserOrder::Email).after(cursor),
            )
            .await,
        ErrorCode::InvalidCursor,
    );
    // A well-formed cursor whose value is of the wrong kind for its order (text for a
    // time, a time for text) never reaches the store's comparison.
    let forged = |order: UserOrder, value: SortValue| {
        let position = Position {
            value,
            id: uuid::Uuid::nil(),
        };
        encode_cursor(order, Direction::Asc, &position)
    };
    for (order, value) in [
        (UserOrder::CreatedAt, SortValue::Text("x".into())),
        (UserOrder::Email, SortValue::Time(env.auth.now())),
    ] {
        assert_code(
            users
                .list(
                    &Caller::System,
                    ListQuery::new(UserFilter::default(), order).after(forged(order, value)),
                )
                .await,
            ErrorCode::InvalidCursor,
        );
    }
}
