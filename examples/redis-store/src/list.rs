//! Keyset pagination over sorted sets.
//!
//! A list walks one sorted set from the cursor's position in the request's direction,
//! loads the records in batches (`ZRANGE ... LIMIT` then `MGET`), keeps those that pass
//! the filter and stops at `fetch_limit()`. Time orders use a score set (score =
//! microseconds, ties broken by the member, the id); text orders a lex set whose members
//! are `text NUL id`. The filter runs here in memory, on the walked records only.

use auth_core::StoreError;
use auth_core::pagination::{Direction, PageRequest, SortField, SortValue, Sortable};

use crate::{RedisStore, micros, redis_error};

/// How a sorted set is ordered.
pub(crate) enum Index {
    /// Scored by a timestamp in microseconds; members are record ids.
    Time,
    /// All scores 0, members `text NUL id`, walked in byte order.
    Text,
}

/// The lex member of a record in a [`Index::Text`] set.
pub(crate) fn lex_member(text: &str, id: impl std::fmt::Display) -> String {
    format!("{text}\0{id}")
}

/// The id part of a member (the whole member of a time set).
fn member_id(member: &str) -> &str {
    member.rsplit('\0').next().unwrap_or(member)
}

impl RedisStore {
    /// The records of `zset` after the request's cursor that `keep` accepts, in order, at
    /// most `request.fetch_limit()`. `record_key` names a record from its id, `decode`
    /// reads it; members whose record is gone (expired) are skipped.
    pub(crate) async fn walk<T, F, O>(
        &self,
        zset: &str,
        index: Index,
        request: &PageRequest<F, O>,
        record_key: impl Fn(&str) -> String,
        decode: impl Fn(&str) -> Result<T, StoreError>,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, StoreError>
    where
        T: Sortable<O>,
        O: SortField,
    {
        let fetch = request.fetch_limit();
        let batch = fetch.clamp(50, 500);
        let desc = request.direction == Direction::Desc;
        // The bounds, from the cursor (inclusive for scores: ties are skipped below).
        let (from, to) = match (&index, request.after.as_ref().map(|p| (&p.value, p.id))) {
            (Index::Time, Some((SortValue::Time(t), _))) => {
                (micros(*t).to_string(), edge(&index, desc))
            }
            (Index::Text, Some((SortValue::Text(text), id))) => {
                (format!("({}", lex_member(text, id)), edge(&index, desc))
            }
            _ => (edge(&index, !desc), edge(&index, desc)),
        };
        let mut conn = self.conn();
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let mut cmd = redis::cmd("ZRANGE");
            cmd.arg(zset).arg(&from).arg(&to);
            cmd.arg(match index {
                Index::Time => "BYSCORE",
                Index::Text => "BYLEX",
            });
            if desc {
                cmd.arg("REV");
            }
            cmd.arg("LIMIT").arg(offset).arg(batch);
            let members: Vec<String> = cmd.query_async(&mut conn).await.map_err(redis_error)?;
            if members.is_empty() {
                break;
            }
            let keys: Vec<String> = members.iter().map(|m| record_key(member_id(m))).collect();
            let values: Vec<Option<String>> = redis::cmd("MGET")
                .arg(&keys)
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            for json in values.into_iter().flatten() {
                let item = decode(&json)?;
                let after_cursor = request.after.as_ref().is_none_or(|pos| {
                    pos.is_before(
                        &item.sort_key(request.order),
                        item.sort_id(),
                        request.direction,
                    )
                });
                if after_cursor && keep(&item) {
                    out.push(item);
                    if out.len() >= fetch {
                        return Ok(request.select(out));
                    }
                }
            }
            if members.len() < batch {
                break;
            }
            offset += batch;
        }
        Ok(request.select(out))
    }
}

/// An open end of a range: the lowest if `low`, else the highest. A walk goes from
/// `edge(!desc)` to `edge(desc)`.
fn edge(index: &Index, low: bool) -> String {
    match (index, low) {
        (Index::Time, true) => "-inf",
        (Index::Time, false) => "+inf",
        (Index::Text, true) => "-",
        (Index::Text, false) => "+",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lex_members_sort_as_text_then_id() {
        let id = "01900000-0000-7000-8000-000000000000";
        let short = lex_member("a@b.c", id);
        let long = lex_member("a@b.co", id);
        // A shorter text that is a prefix of a longer one sorts first, as (text, id) does.
        assert!(short.as_bytes() < long.as_bytes());
        assert_eq!(member_id(&short), id);
        assert_eq!(member_id(id), id);
    }

    #[test]
    fn a_walk_goes_from_one_edge_to_the_other() {
        assert_eq!(edge(&Index::Time, true), "-inf");
        assert_eq!(edge(&Index::Time, false), "+inf");
        assert_eq!(edge(&Index::Text, true), "-");
        assert_eq!(edge(&Index::Text, false), "+");
    }
}
