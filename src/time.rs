//! Time as a value: the caller's monotonic clock, read by the caller.
//!
//! The crate never reads a clock. Every call that may start or check a timer takes `now`; the
//! caller asks [`Connection::poll_timeout`](crate::connection::Connection::poll_timeout) when the
//! next deadline is and calls [`handle_timeout`](crate::connection::Connection::handle_timeout)
//! then. That keeps the state machine deterministic: tests drive it with a virtual clock.

use core::time::Duration;

/// A point on the caller's monotonic clock, in milliseconds since an epoch of the caller's choice.
///
/// ```
/// use core::time::Duration;
/// use wsproto::time::Instant;
/// let start = Instant::from_millis(5_000);
/// assert_eq!(start + Duration::from_secs(10), Instant::from_millis(15_000));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The instant `millis` milliseconds after the caller's epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis)
    }

    /// Milliseconds since the caller's epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;

    /// Adds whole milliseconds of `rhs`, saturating at the end of time.
    fn add(self, rhs: Duration) -> Instant {
        let millis = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(millis))
    }
}
