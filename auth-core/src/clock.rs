//! Time, injected: every expiry and window reads the [`Clock`] so tests move time instead
//! of sleeping.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use time::{Duration, OffsetDateTime};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;

    /// The current instant in nanoseconds since the Unix epoch (saturating at the ends of
    /// `i64`, years 1677 and 2262): what the request path's caches compare, so a cache hit
    /// builds no date. Must agree with [`Clock::now`]; override it only where it is cheaper
    /// to read directly.
    fn now_unix_nanos(&self) -> i64 {
        unix_nanos(self.now())
    }
}

/// `t` in nanoseconds since the Unix epoch, saturating at the ends of `i64`.
pub(crate) fn unix_nanos(t: OffsetDateTime) -> i64 {
    let nanos = t.unix_timestamp_nanos();
    i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn now_unix_nanos(&self) -> i64 {
        let saturate = |nanos: u128| i64::try_from(nanos).unwrap_or(i64::MAX);
        match SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
            Ok(since) => saturate(since.as_nanos()),
            Err(before) => saturate(before.duration().as_nanos()).saturating_neg(),
        }
    }
}

/// A clock that only moves when told to; for tests.
///
/// Clones share the same time, so a test can hold one and hand another to [`Auth`](crate::Auth).
#[derive(Clone)]
pub struct TestClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl TestClock {
    /// A clock stopped at `start`.
    pub fn at(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(truncate_to_micros(start))),
        }
    }

    /// A clock stopped at a fixed, arbitrary instant (2030-01-01T00:00:00Z).
    pub fn new() -> Self {
        Self::at(time::macros::datetime!(2030-01-01 0:00 UTC))
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = truncate_to_micros(to);
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TestClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TestClock").field(&self.now()).finish()
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Drops sub-microsecond precision and normalises to UTC, so every timestamp the library
/// writes survives a round trip through PostgreSQL (`timestamptz`) and SQLite unchanged.
/// A time whose UTC instant lies beyond the representable years (a client's
/// `9999-12-31T23:59:59-23:59`) saturates to the first or last representable instant.
pub fn truncate_to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t
        .checked_to_offset(time::UtcOffset::UTC)
        .unwrap_or_else(|| {
            let bound = if t.year() > 0 {
                time::PrimitiveDateTime::MAX
            } else {
                time::PrimitiveDateTime::MIN
            };
            bound.assume_utc()
        });
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.replace_nanosecond(micros).unwrap_or(t)
}

/// Reads `clock` and truncates to microseconds; the one way services take the time.
pub(crate) fn now(clock: &dyn Clock) -> OffsetDateTime {
    truncate_to_micros(clock.now())
}

/// [`now`] in nanoseconds since the Unix epoch (truncated to microseconds alike), read
/// through [`Clock::now_unix_nanos`]: for the caches' checks on the request path.
pub(crate) fn now_nanos(clock: &dyn Clock) -> i64 {
    let nanos = clock.now_unix_nanos();
    nanos - nanos.rem_euclid(1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_beyond_the_representable_years_saturate_instead_of_panicking() {
        use time::macros::datetime;
        let late = truncate_to_micros(datetime!(9999-12-31 23:59:59 -23:59));
        assert_eq!(late, datetime!(9999-12-31 23:59:59.999999 UTC));
        let early = truncate_to_micros(datetime!(-9999-01-01 00:00:00 +23:59));
        assert_eq!(early, datetime!(-9999-01-01 00:00:00 UTC));
        let ordinary = truncate_to_micros(datetime!(2030-01-01 12:00:00.123456789 +02:00));
        assert_eq!(ordinary, datetime!(2030-01-01 10:00:00.123456 UTC));
    }

    #[test]
    fn test_clock_moves_only_when_told() {
        let clock = TestClock::new();
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::minutes(5));
        assert_eq!(clock.now(), t0 + Duration::minutes(5));
        let shared = clock.clone();
        shared.advance(Duration::seconds(1));
        assert_eq!(clock.now(), t0 + Duration::seconds(301));
    }

    #[test]
    fn nanos_agree_with_the_date() {
        let clock = TestClock::at(time::macros::datetime!(2030-01-01 0:00:00.123456 UTC));
        assert_eq!(now_nanos(&clock), unix_nanos(now(&clock)));
        assert_eq!(now_nanos(&clock) % 1_000_000_000, 123_456_000);
        let before_1970 = TestClock::at(time::macros::datetime!(1969-12-31 23:59:59.5 UTC));
        assert_eq!(now_nanos(&before_1970), -500_000_000);
        // The system clock's direct read agrees with its date, to the time between reads.
        let system = SystemClock;
        let (a, b, c) = (
            unix_nanos(now(&system)),
            now_nanos(&system),
            unix_nanos(now(&system)),
        );
        assert!(a <= b && b <= c, "{a} <= {b} <= {c}");
        // Beyond what i64 nanoseconds hold: saturated, in order.
        assert_eq!(
            unix_nanos(time::macros::datetime!(9999-01-01 0:00 UTC)),
            i64::MAX
        );
        assert_eq!(
            unix_nanos(time::macros::datetime!(1000-01-01 0:00 UTC)),
            i64::MIN
        );
    }

    #[test]
    fn truncation_keeps_microseconds_only() {
        let t = time::macros::datetime!(2030-01-01 0:00:00.123456789 +02:00);
        let u = truncate_to_micros(t);
        assert_eq!(u.nanosecond(), 123_456_000);
        assert_eq!(u.offset(), time::UtcOffset::UTC);
        assert_eq!(u, t.replace_nanosecond(123_456_000).unwrap());
    }
}
