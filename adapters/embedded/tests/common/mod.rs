//! Helpers for the tests over 127.0.0.1.

use std::time::Instant as StdInstant;

use wsproto_embedded::wsproto::time::Instant;

/// Milliseconds since `start`.
pub fn now(start: StdInstant) -> Instant {
    Instant::from_millis(start.elapsed().as_millis() as u64)
}
