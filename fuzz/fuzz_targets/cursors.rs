//! Pagination cursors: any text as the `cursor` of a list query, decoded for every list
//! order of the library in both directions.
//!
//! Invariants: no panic; a cursor that decodes names a position which, made into the next
//! cursor of a page again, decodes to the same position (print(parse(x)) parses back to
//! the same value), and that cursor is a fixed point; a cursor never decodes for another
//! direction than its own.

#![no_main]

use auth_core::api_keys::ApiKeyOrder;
use auth_core::audit::AuditOrder;
use auth_core::groups::GroupOrder;
use auth_core::pagination::{Position, SortField, SortValue, Sortable};
use auth_core::users::UserOrder;
use auth_core::{Direction, ListQuery, Page};
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;

/// A row standing at a given position in any order.
#[derive(Clone)]
struct Row(SortValue, Uuid);

impl<O: SortField> Sortable<O> for Row {
    fn sort_key(&self, _: O) -> SortValue {
        self.0.clone()
    }
    fn sort_id(&self) -> Uuid {
        self.1
    }
}

/// The position `cursor` decodes to under `order` and `direction`, if it does.
fn decode<O: SortField + Default>(
    cursor: &str,
    order: O,
    direction: Direction,
) -> Option<Position> {
    ListQuery::new((), order)
        .direction(direction)
        .limit(1)
        .after(cursor)
        .validate()
        .ok()
        .and_then(|request| request.after)
}

/// The next cursor of a page ending at `position`.
fn encode<O: SortField + Default>(position: &Position, order: O, direction: Direction) -> String {
    let request = ListQuery::new((), order)
        .direction(direction)
        .limit(1)
        .validate()
        .expect("a first page request");
    let row = Row(position.value.clone(), position.id);
    // Two rows for a page of one: there is a next page, so a next cursor.
    Page::from_fetched(vec![row.clone(), row], &request)
        .next_cursor
        .expect("a next cursor")
}

fn check<O: SortField + Default>(cursor: &str, order: O) {
    for direction in [Direction::Asc, Direction::Desc] {
        let Some(position) = decode(cursor, order, direction) else {
            continue;
        };
        assert_eq!(
            matches!(position.value, SortValue::Time(_)),
            order.is_time(),
            "{cursor:?}: a value of the wrong kind for {order:?}"
        );
        let other = match direction {
            Direction::Asc => Direction::Desc,
            Direction::Desc => Direction::Asc,
        };
        assert!(decode(cursor, order, other).is_none(), "{cursor:?}");
        let printed = encode(&position, order, direction);
        let again = decode(&printed, order, direction);
        assert_eq!(again.as_ref(), Some(&position), "{cursor:?} -> {printed:?}");
        assert_eq!(encode(&position, order, direction), printed);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(cursor) = auth_fuzz::text(data) else {
        return;
    };
    check(cursor, ApiKeyOrder::CreatedAt);
    check(cursor, ApiKeyOrder::Name);
    check(cursor, UserOrder::Email);
    check(cursor, GroupOrder::Slug);
    check(cursor, AuditOrder::At);
});
