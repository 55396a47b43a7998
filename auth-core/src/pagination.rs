//! Cursor pagination shared by every list.
//!
//! A caller sends a [`ListQuery`] (filter, order, direction, limit, opaque cursor). The
//! service validates it into a [`PageRequest`] (limit in `1..=1000`, default 50; cursor
//! decoded and checked against the order), the store returns up to
//! [`PageRequest::fetch_limit`] rows sorted by `(sort key, id)` strictly after the cursor
//! position, and [`Page::from_fetched`] cuts the extra row off and makes the next cursor.
//! This is keyset pagination: stable under inserts, and every page costs one indexed query.

use std::cmp::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::AuthError;

/// Page size when the query gives none.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size accepted.
pub const MAX_LIMIT: u32 = 1000;
/// Longest cursor accepted, in characters.
const MAX_CURSOR_CHARS: usize = 1024;

/// Sort direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Direction {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// A field a list can be ordered by; implemented by each domain's order enum.
pub trait SortField: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// The field's stable name (it is written into cursors).
    fn name(self) -> &'static str;
    /// Whether the field's values are timestamps ([`SortValue::Time`]); otherwise text. A
    /// cursor carrying the other kind is refused, so a store never compares a column with
    /// a value of the wrong type.
    fn is_time(self) -> bool;
}

/// A record that can be listed with order `O`.
pub trait Sortable<O: SortField> {
    /// The record's value for the sort field.
    fn sort_key(&self, field: O) -> SortValue;
    /// The record's id, the tie-breaker after the sort key.
    fn sort_id(&self) -> Uuid;
}

/// A value of a sort key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortValue {
    /// A timestamp (microsecond precision).
    #[serde(rename = "t", with = "micros")]
    Time(OffsetDateTime),
    /// Text, compared byte-wise (SQL stores sort with a binary / "C" collation).
    #[serde(rename = "s")]
    Text(String),
}

impl Ord for SortValue {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortValue::Time(a), SortValue::Time(b)) => a.cmp(b),
            (SortValue::Text(a), SortValue::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (SortValue::Time(_), SortValue::Text(_)) => Ordering::Less,
            (SortValue::Text(_), SortValue::Time(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for SortValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

mod micros {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        let micros = t.unix_timestamp_nanos() / 1_000;
        s.serialize_i64(i64::try_from(micros).unwrap_or(i64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let micros = i64::deserialize(d)?;
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
            .map_err(serde::de::Error::custom)
    }
}

/// Where the previous page ended: the last row's sort key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The sort key of the last row returned.
    pub value: SortValue,
    /// The id of the last row returned.
    pub id: Uuid,
}

impl Position {
    /// Whether a row with `(value, id)` comes strictly after this position in `direction`.
    pub fn is_before(&self, value: &SortValue, id: Uuid, direction: Direction) -> bool {
        let ord = (value, id).cmp(&(&self.value, self.id));
        match direction {
            Direction::Asc => ord == Ordering::Greater,
            Direction::Desc => ord == Ordering::Less,
        }
    }
}

/// A list request as a caller sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListQuery<F, O> {
    /// Which records.
    pub filter: F,
    /// Sort field.
    pub order: O,
    /// Sort direction.
    pub direction: Direction,
    /// Page size: `1..=1000`, default 50.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl<F, O: SortField> ListQuery<F, O> {
    /// A query for the first page with `filter`, ordered by `order` ascending.
    pub fn new(filter: F, order: O) -> Self {
        Self {
            filter,
            order,
            direction: Direction::Asc,
            limit: None,
            cursor: None,
        }
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sets the direction.
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// Continues after a previous page.
    pub fn after(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Checks the limit and decodes the cursor.
    pub fn validate(self) -> Result<PageRequest<F, O>, AuthError> {
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(l) if (1..=MAX_LIMIT).contains(&l) => l,
            Some(_) => return Err(AuthError::invalid("limit", "must be between 1 and 1000")),
        };
        let after = self
            .cursor
            .as_deref()
            .map(|c| decode_cursor(c, self.order, self.direction))
            .transpose()?;
        Ok(PageRequest {
            filter: self.filter,
            order: self.order,
            direction: self.direction,
            limit: limit as usize,
            after,
        })
    }
}

/// A validated list request, as stores receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest<F, O> {
    /// Which records.
    pub filter: F,
    /// Sort field.
    pub order: O,
    /// Sort direction.
    pub direction: Direction,
    /// Page size (`1..=1000`).
    pub limit: usize,
    /// Rows must come strictly after this position.
    pub after: Option<Position>,
}

impl<F, O: SortField> PageRequest<F, O> {
    /// How many rows a store should return: one more than the page, to learn whether
    /// another page follows.
    pub fn fetch_limit(&self) -> usize {
        self.limit + 1
    }

    /// For stores that filter in memory: sorts `items`, keeps those after the cursor, and
    /// returns at most [`PageRequest::fetch_limit`] of them.
    pub fn select<T: Sortable<O>>(&self, items: impl IntoIterator<Item = T>) -> Vec<T> {
        let mut keyed: Vec<(SortValue, Uuid, T)> = items
            .into_iter()
            .map(|item| (item.sort_key(self.order), item.sort_id(), item))
            .filter(|(value, id, _)| {
                self.after
                    .as_ref()
                    .is_none_or(|pos| pos.is_before(value, *id, self.direction))
            })
            .collect();
        keyed.sort_by(|a, b| {
            let ord = (&a.0, a.1).cmp(&(&b.0, b.1));
            match self.direction {
                Direction::Asc => ord,
                Direction::Desc => ord.reverse(),
            }
        });
        keyed.truncate(self.fetch_limit());
        keyed.into_iter().map(|(_, _, item)| item).collect()
    }
}

impl<F: Clone, O: SortField> PageRequest<F, O> {
    /// Every row `fetch` (a store's list method) returns for this request, page after
    /// page: for work that must reach every row, never only the first page's.
    pub(crate) async fn fetch_all<T, Fut>(
        mut self,
        mut fetch: impl FnMut(Self) -> Fut,
    ) -> Result<Vec<T>, crate::error::StoreError>
    where
        T: Sortable<O>,
        Fut: Future<Output = Result<Vec<T>, crate::error::StoreError>>,
    {
        let mut all = Vec::new();
        loop {
            let mut page = fetch(self.clone()).await?;
            let more = page.len() > self.limit;
            page.truncate(self.limit);
            if let Some(last) = page.last() {
                self.after = Some(Position {
                    value: last.sort_key(self.order),
                    id: last.sort_id(),
                });
            }
            all.extend(page);
            if !more {
                return Ok(all);
            }
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The records, in order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from what a store returned for `request` (up to `fetch_limit` rows).
    pub fn from_fetched<F, O: SortField>(mut items: Vec<T>, request: &PageRequest<F, O>) -> Self
    where
        T: Sortable<O>,
    {
        let more = items.len() > request.limit;
        items.truncate(request.limit);
        let next_cursor = match items.last() {
            Some(last) if more => Some(encode_cursor(
                request.order,
                request.direction,
                &Position {
                    value: last.sort_key(request.order),
                    id: last.sort_id(),
                },
            )),
            _ => None,
        };
        Page { items, next_cursor }
    }

    /// Maps the items, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct CursorBody {
    o: String,
    d: Direction,
    v: SortValue,
    i: Uuid,
}

pub(crate) fn encode_cursor<O: SortField>(
    order: O,
    direction: Direction,
    pos: &Position,
) -> String {
    let body = CursorBody {
        o: order.name().to_owned(),
        d: direction,
        v: pos.value.clone(),
        i: pos.id,
    };
    // Serialising plain data to a Vec cannot fail.
    let json = serde_json::to_vec(&body).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor<O: SortField>(
    cursor: &str,
    order: O,
    direction: Direction,
) -> Result<Position, AuthError> {
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_CHARS {
        return Err(AuthError::InvalidCursor);
    }
    let json = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| AuthError::InvalidCursor)?;
    let body: CursorBody = serde_json::from_slice(&json).map_err(|_| AuthError::InvalidCursor)?;
    let is_time = matches!(body.v, SortValue::Time(_));
    if body.o != order.name() || body.d != direction || is_time != order.is_time() {
        return Err(AuthError::InvalidCursor);
    }
    Ok(Position {
        value: body.v,
        id: body.i,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Order {
        Name,
        Other,
    }
    impl SortField for Order {
        fn name(self) -> &'static str {
            match self {
                Order::Name => "name",
                Order::Other => "other",
            }
        }
        fn is_time(self) -> bool {
            false
        }
    }
    #[derive(Debug, Clone, PartialEq)]
    struct Row(String, Uuid);
    impl Sortable<Order> for Row {
        fn sort_key(&self, _: Order) -> SortValue {
            SortValue::Text(self.0.clone())
        }
        fn sort_id(&self) -> Uuid {
            self.1
        }
    }

    fn rows(n: usize) -> Vec<Row> {
        (0..n)
            .map(|i| Row(format!("r{:03}", i / 2), Uuid::now_v7()))
            .collect()
    }

    fn walk(all: &[Row], limit: u32, direction: Direction) -> Vec<Row> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let mut q = ListQuery::new((), Order::Name)
                .limit(limit)
                .direction(direction);
            q.cursor = cursor;
            let req = q.validate().unwrap();
            let page = Page::from_fetched(req.select(all.iter().cloned()), &req);
            assert!(page.items.len() <= limit as usize);
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return out,
            }
        }
    }

    #[test]
    fn walking_pages_visits_every_row_once_in_order_with_ties() {
        let all = rows(23);
        for limit in [1, 2, 5, 23, 50] {
            let asc = walk(&all, limit, Direction::Asc);
            assert_eq!(asc, all, "limit {limit}");
            let mut desc = walk(&all, limit, Direction::Desc);
            desc.reverse();
            assert_eq!(desc, all, "desc limit {limit}");
        }
    }

    #[test]
    fn exactly_limit_rows_gives_no_next_cursor_and_empty_gives_empty() {
        let all = rows(5);
        let req = ListQuery::new((), Order::Name).limit(5).validate().unwrap();
        let page = Page::from_fetched(req.select(all.clone()), &req);
        assert_eq!(page.items.len(), 5);
        assert_eq!(page.next_cursor, None);

        let page = Page::from_fetched(req.select(Vec::<Row>::new()), &req);
        assert!(page.items.is_empty());
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn limits_outside_range_are_refused() {
        for bad in [0, MAX_LIMIT + 1, 1_000_000_000] {
            let err = ListQuery::new((), Order::Name)
                .limit(bad)
                .validate()
                .unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidInput);
        }
        let req = ListQuery::new((), Order::Name).validate().unwrap();
        assert_eq!(req.limit, DEFAULT_LIMIT as usize);
    }

    #[test]
    fn malformed_or_foreign_cursors_are_refused() {
        let all = rows(4);
        let req = ListQuery::new((), Order::Name).limit(1).validate().unwrap();
        let cursor = Page::from_fetched(req.select(all), &req)
            .next_cursor
            .unwrap();
        for bad in [
            "",
            "!!!",
            "e30",
            &"A".repeat(2000),
            &URL_SAFE_NO_PAD.encode("{\"o\":1}"),
        ] {
            let err = ListQuery::new((), Order::Name)
                .after(bad)
                .validate()
                .unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidCursor, "{bad}");
        }
        // A cursor made for another order or direction does not apply.
        assert!(
            ListQuery::new((), Order::Other)
                .after(&cursor)
                .validate()
                .is_err()
        );
        assert!(
            ListQuery::new((), Order::Name)
                .direction(Direction::Desc)
                .after(&cursor)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn a_cursor_past_the_end_gives_an_empty_page() {
        let all = rows(3);
        let req = ListQuery::new((), Order::Name).limit(2).validate().unwrap();
        let first = Page::from_fetched(req.select(all.clone()), &req);
        let req2 = ListQuery::new((), Order::Name)
            .limit(2)
            .after(first.next_cursor.unwrap())
            .validate()
            .unwrap();
        let second = Page::from_fetched(req2.select(all.clone()), &req2);
        assert_eq!(second.items.len(), 1);
        // Now pretend the last row's position: nothing comes after it.
        let last = all.last().unwrap().clone();
        let req3 = PageRequest {
            after: Some(Position {
                value: last.sort_key(Order::Name),
                id: last.1,
            }),
            ..req2
        };
        assert!(Page::from_fetched(req3.select(all), &req3).items.is_empty());
    }

    #[test]
    fn time_values_survive_the_cursor() {
        let t = time::macros::datetime!(2031-05-06 7:08:09.123456 UTC);
        let body = CursorBody {
            o: "x".into(),
            d: Direction::Asc,
            v: SortValue::Time(t),
            i: Uuid::nil(),
        };
        let json = serde_json::to_string(&body).unwrap();
        let back: CursorBody = serde_json::from_str(&json).unwrap();
        assert_eq!(back.v, SortValue::Time(t));
    }
}
