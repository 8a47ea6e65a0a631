//! The settings the adapters' tests share.

use std::time::Duration;

use wsproto::config::Config;

/// Not random (xorshift32, the same bytes every run): fine for tests, never for production.
pub fn entropy() -> impl FnMut(&mut [u8]) + Send + 'static {
    let mut state = 0x2545_f491_u32;
    move |buf: &mut [u8]| {
        for b in buf {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *b = state as u8;
        }
    }
}

/// The default config with frames and messages of up to `limit` bytes.
pub fn large(limit: u64) -> Config {
    Config {
        max_frame_payload: limit,
        max_message_size: limit,
        ..Config::DEFAULT
    }
}

/// The default config with a keepalive ping every `interval`, answered within `timeout`.
pub fn keepalive(interval: Duration, timeout: Duration) -> Config {
    Config {
        keepalive_interval: Some(interval),
        keepalive_timeout: timeout,
        ..Config::DEFAULT
    }
}

/// The default config with a closing handshake that fails after `timeout`.
pub fn close_timeout(timeout: Duration) -> Config {
    Config {
        close_timeout: timeout,
        ..Config::DEFAULT
    }
}
