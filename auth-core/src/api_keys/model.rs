use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::AuthError;
use crate::ids::{ApiKeyId, GroupId, UserId};
use crate::pagination::{SortField, SortValue, Sortable};
use crate::permissions::{Permission, PermissionSet};
use crate::rate_limit::{RateDecision, RateLimit};
use crate::secret::TokenHash;

/// Who a key acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum KeyOwner {
    /// A user: the key acts as that user, limited by its scopes.
    User(UserId),
    /// A group: the key acts for the organization, limited by its scopes.
    Group(GroupId),
}

/// How a key's usage quota is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotaSpec {
    /// Requests allowed in total (until refilled), 1 to 2^63 - 1.
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 1, maximum = 9_223_372_036_854_775_807_u64)
    )]
    pub limit: u64,
    /// Refill to `limit` every this many seconds, if set (60 seconds to 366 days).
    #[serde(default, with = "crate::serde_util::seconds_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, minimum = 60, maximum = 31_622_400))]
    pub refill_every: Option<Duration>,
}

impl QuotaSpec {
    /// The longest refill period: a yearly quota, with room for a leap year.
    pub const MAX_REFILL: Duration = Duration::days(366);

    /// Checks the ranges (a store keeps counts as signed 64-bit integers; a refill beyond
    /// [`Self::MAX_REFILL`] is no refill, and could be past the last representable date).
    pub fn validate(&self) -> Result<(), AuthError> {
        if self.limit == 0 || i64::try_from(self.limit).is_err() {
            return Err(AuthError::invalid("quota.limit", "must be 1 to 2^63 - 1"));
        }
        if self
            .refill_every
            .is_some_and(|r| r < Duration::MINUTE || r > Self::MAX_REFILL)
        {
            return Err(AuthError::invalid(
                "quota.refill_every",
                "must be 60 seconds to 366 days",
            ));
        }
        Ok(())
    }
}

/// A key's usage quota: a budget of requests, separate from the rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quota {
    /// The budget.
    pub limit: u64,
    /// What is left of it.
    pub remaining: u64,
    /// Refill period in seconds.
    #[serde(default, with = "crate::serde_util::seconds_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub refill_every: Option<Duration>,
    /// When it was last refilled (or created).
    #[serde(with = "time::serde::rfc3339")]
    pub refilled_at: OffsetDateTime,
}

impl Quota {
    /// A full quota at `now`.
    pub fn new(spec: QuotaSpec, now: OffsetDateTime) -> Self {
        Self {
            limit: spec.limit,
            remaining: spec.limit,
            refill_every: spec.refill_every,
            refilled_at: now,
        }
    }

    /// The quota at `now` after any refills due, and whether one unit can be taken then.
    /// (The reference semantics; stores apply the same arithmetic atomically.)
    pub fn take(&self, now: OffsetDateTime) -> (Quota, QuotaOutcome) {
        let mut q = *self;
        if let Some(every) = q.refill_every
            && every > Duration::ZERO
            && now - q.refilled_at >= every
        {
            let periods = (now - q.refilled_at).whole_seconds() / every.whole_seconds().max(1);
            q.refilled_at += every * i32::try_from(periods).unwrap_or(i32::MAX);
            q.remaining = q.limit;
        }
        if q.remaining == 0 {
            // Checked: a refill stored by an older version (or another store) may lie past
            // the last representable date; then no refill is due.
            let refill_at = q
                .refill_every
                .and_then(|every| q.refilled_at.checked_add(every));
            return (q, QuotaOutcome::Exhausted { refill_at });
        }
        q.remaining -= 1;
        (
            q,
            QuotaOutcome::Allowed {
                remaining: q.remaining,
            },
        )
    }
}

/// The answer of a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuotaOutcome {
    /// One unit was taken.
    Allowed {
        /// Units left.
        remaining: u64,
    },
    /// Nothing left; refilled at this time if the quota refills.
    Exhausted {
        /// When the next refill is due.
        refill_at: Option<OffsetDateTime>,
    },
    /// The key has no quota.
    Unlimited,
}

/// An API key as stored: never the key itself.
#[derive(Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    /// The key's id.
    pub id: ApiKeyId,
    /// Who it acts for.
    pub owner: KeyOwner,
    /// Who created it.
    pub created_by: Option<UserId>,
    /// A name to recognise it by.
    pub name: String,
    /// Display prefix, e.g. `sk_live_3hG0aQ`.
    pub start: String,
    /// SHA-256 of the key.
    #[serde(skip)]
    pub key_hash: TokenHash,
    /// What it may do.
    pub scopes: Vec<Permission>,
    /// Per-key rate limit.
    pub rate_limit: Option<RateLimit>,
    /// Usage quota.
    pub quota: Option<Quota>,
    /// App-defined data (a JSON object).
    pub metadata: Value,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When it was (or, after a rotation with grace, will be) revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// When it was last used (recorded at most once a minute).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("name", &self.name)
            .field("start", &self.start)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

impl ApiKey {
    /// Whether the key is revoked at `now`: once `revoked_at` is reached, or whatever the
    /// clock says when it is no later than the key's last change. A revocation (or a
    /// rotation without grace) stamps both with the same time, so it stays final when the
    /// clock is later set back; only a rotation's grace (a `revoked_at` after the change
    /// that set it) waits for the clock.
    pub fn is_revoked(&self, now: OffsetDateTime) -> bool {
        self.revoked_at
            .is_some_and(|r| now >= r || r <= self.updated_at)
    }

    /// Whether the key expired at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|e| now >= e)
    }
}

/// A verified key: what a request authenticated with an API key acts as.
#[derive(Debug, Clone)]
pub struct VerifiedKey {
    /// The key.
    pub key: Arc<ApiKey>,
    /// Its scopes as a set.
    pub scopes: Arc<PermissionSet>,
    /// The rate limit's answer for this request, when the key has one.
    pub rate: Option<RateDecision>,
}

impl VerifiedKey {
    /// Whether the key's scopes allow `resource:action`.
    pub fn can(&self, resource: &str, action: &str) -> bool {
        self.scopes.can(resource, action)
    }
}

/// Input of [`ApiKeys::create`](super::ApiKeys::create).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewApiKey {
    /// Who the key acts for.
    pub owner: KeyOwner,
    /// A name to recognise it by.
    pub name: String,
    /// What it may do, `resource:action` each.
    pub scopes: Vec<String>,
    /// When it stops working.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Per-key rate limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Usage quota.
    #[serde(default)]
    pub quota: Option<QuotaSpec>,
    /// App-defined data (a JSON object).
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// A change to a key. `Some(None)` clears an optional setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApiKeyPatch {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New scopes (replacing the old ones).
    #[serde(default)]
    pub scopes: Option<Vec<Permission>>,
    /// New rate limit, or none.
    #[serde(default, with = "crate::serde_util::double_option")]
    pub rate_limit: Option<Option<RateLimit>>,
    /// Replaces the app-defined data.
    #[serde(default)]
    pub metadata: Option<Value>,
}

impl ApiKeyPatch {
    /// Applies the patch to `key` at `now` (for stores that update in memory).
    pub fn apply(&self, key: &mut ApiKey, now: OffsetDateTime) {
        if let Some(name) = &self.name {
            key.name.clone_from(name);
        }
        if let Some(scopes) = &self.scopes {
            key.scopes.clone_from(scopes);
        }
        if let Some(rate_limit) = self.rate_limit {
            key.rate_limit = rate_limit;
        }
        if let Some(metadata) = &self.metadata {
            key.metadata = metadata.clone();
        }
        key.updated_at = now;
    }
}

/// Which keys to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyFilter {
    /// Of this owner.
    pub owner: Option<KeyOwner>,
    /// Only revoked (`true`, as of the time of listing) or unrevoked (`false`) keys.
    pub revoked: Option<bool>,
    /// Name contains this text (ASCII case-insensitive).
    pub name_contains: Option<String>,
    /// Display prefix starts with this text.
    pub start: Option<String>,
}

impl ApiKeyFilter {
    /// Whether `key` passes the filter at `now` (for stores that filter in memory).
    pub fn matches(&self, key: &ApiKey, now: OffsetDateTime) -> bool {
        self.owner.is_none_or(|o| key.owner == o)
            && self.revoked.is_none_or(|r| key.is_revoked(now) == r)
            && self.name_contains.as_ref().is_none_or(|n| {
                key.name
                    .to_ascii_lowercase()
                    .contains(&n.to_ascii_lowercase())
            })
            && self.start.as_ref().is_none_or(|s| key.start.starts_with(s))
    }
}

/// Order of key listings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ApiKeyOrder {
    /// By creation time.
    #[default]
    CreatedAt,
    /// By name.
    Name,
}

impl SortField for ApiKeyOrder {
    fn name(self) -> &'static str {
        match self {
            ApiKeyOrder::CreatedAt => "created_at",
            ApiKeyOrder::Name => "name",
        }
    }
    fn is_time(self) -> bool {
        self == ApiKeyOrder::CreatedAt
    }
}

impl Sortable<ApiKeyOrder> for ApiKey {
    fn sort_key(&self, field: ApiKeyOrder) -> SortValue {
        match field {
            ApiKeyOrder::CreatedAt => SortValue::Time(self.created_at),
            ApiKeyOrder::Name => SortValue::Text(self.name.clone()),
        }
    }
    fn sort_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

/// What is new about a rotated key's successor: its id, secret hash and display prefix.
/// Everything else is copied from the old key by [`Successor::of`], which a store calls on
/// the old key as it holds it locked, so a concurrent update is never lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Successor {
    /// The new key's id.
    pub id: ApiKeyId,
    /// The new key's display prefix.
    pub start: String,
    /// SHA-256 of the new raw key.
    pub key_hash: TokenHash,
    /// When the rotation happens.
    pub created_at: OffsetDateTime,
}

impl Successor {
    /// The new key: the old one's owner, creator, name, scopes, rate limit, metadata,
    /// expiry and quota (what remains of it: rotating does not refill it), with a new
    /// secret and no use yet.
    pub fn of(&self, old: &ApiKey) -> ApiKey {
        ApiKey {
            id: self.id,
            start: self.start.clone(),
            key_hash: self.key_hash,
            revoked_at: None,
            last_used_at: None,
            created_at: self.created_at,
            updated_at: self.created_at,
            ..old.clone()
        }
    }
}

/// The result of [`ApiKeyStore::rotate_api_key`](super::ApiKeyStore::rotate_api_key).
// Returned once per call, never stored in bulk: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RotateOutcome {
    /// The new key is stored; the old one is revoked at the given time.
    Rotated {
        /// The old key, as updated.
        old: ApiKey,
        /// The new key, as stored.
        new: ApiKey,
    },
    /// No such key.
    NotFound,
    /// The old key is revoked, expired, or already being replaced by an earlier rotation.
    NotActive,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhausted_quota_refilling_beyond_the_calendar_has_no_refill_time() {
        // Found by the json_bodies fuzz target's quota seed: a key created with
        // `refill_every` near i64::MAX seconds panicked on its second use.
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let quota = Quota {
            limit: 1,
            remaining: 0,
            refill_every: Some(Duration::seconds(i64::MAX)),
            refilled_at: now,
        };
        let (after, outcome) = quota.take(now);
        assert_eq!(outcome, QuotaOutcome::Exhausted { refill_at: None });
        assert_eq!(after.remaining, 0);
        let hourly = Quota {
            refill_every: Some(Duration::HOUR),
            ..quota
        };
        assert_eq!(
            hourly.take(now).1,
            QuotaOutcome::Exhausted {
                refill_at: Some(now + Duration::HOUR)
            }
        );
    }

    #[test]
    fn a_refill_past_the_last_date_is_no_refill_not_a_panic() {
        let spec = QuotaSpec {
            limit: 1,
            refill_every: Some(Duration::seconds(i64::MAX)),
        };
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let (after, outcome) = Quota::new(spec, now).take(now);
        assert_eq!(outcome, QuotaOutcome::Allowed { remaining: 0 });
        let (_, outcome) = after.take(now + Duration::SECOND);
        assert_eq!(outcome, QuotaOutcome::Exhausted { refill_at: None });
    }

    #[test]
    fn quota_specs_are_bounded() {
        let spec = |limit, refill: Option<i64>| QuotaSpec {
            limit,
            refill_every: refill.map(Duration::seconds),
        };
        for bad in [
            spec(0, None),
            spec(u64::MAX, None),
            spec(1, Some(59)),
            spec(1, Some(366 * 86_400 + 1)),
            spec(1, Some(i64::MAX)),
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        for good in [
            spec(1, None),
            spec(i64::MAX as u64, Some(60)),
            spec(5, Some(366 * 86_400)),
        ] {
            assert!(good.validate().is_ok(), "{good:?}");
        }
    }
}
