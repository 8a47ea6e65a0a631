//! Every limit and timer of a connection, with its default, in one place.

use core::fmt;
use core::time::Duration;

/// A connection's limits and timers. [`Config::DEFAULT`] documents each default.
///
/// Every growth is bounded by a field here: nothing a peer sends can make the connection use
/// more memory or work per byte than these allow.
///
/// ```
/// use core::time::Duration;
/// use wsproto::config::Config;
/// let config = Config {
///     max_message_size: 64 << 20,
///     keepalive_interval: Some(Duration::from_secs(20)),
///     ..Config::DEFAULT
/// };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Largest payload of a single received frame, checked from its header before any payload
    /// byte is read; a larger frame fails the connection with 1009. Default 1 MiB. The limit in
    /// force is [`frame_limit`](Config::frame_limit): this or `max_message_size`, whichever is
    /// smaller (a frame is never larger than its message), so lowering `max_message_size` alone
    /// lowers both.
    pub max_frame_payload: u64,
    /// Largest received message (the sum of its frames' payloads), checked as each frame header
    /// arrives; a larger message fails the connection with 1009. Default 1 MiB, like Python
    /// `websockets`. Also bounds each frame: see [`frame_limit`](Config::frame_limit).
    pub max_message_size: u64,
    /// Largest opening-handshake head (request or response line, headers and the blank line),
    /// in bytes. Default 8 KiB. The caller's receive buffer must be able to hold this much.
    pub max_head_len: usize,
    /// Most header lines in a handshake head. Default 64.
    pub max_headers: usize,
    /// Answer every ping with a pong automatically (§5.5.2); only the latest pending ping is
    /// answered (§5.5.3). Default `true`.
    pub auto_pong: bool,
    /// Echo a received close frame automatically (§5.5.1: the endpoint MUST send a close frame
    /// in response). If `false`, the application must call
    /// [`close`](crate::connection::Connection::close) after a `CloseReceived` event. Default
    /// `true`.
    pub auto_close_reply: bool,
    /// How long to wait for the peer's close frame after sending ours, and, for a client, for the
    /// server to close the TCP connection after the close frames were exchanged (§7.1.1). Then
    /// the connection is CLOSED anyway. Default 10 s.
    pub close_timeout: Duration,
    /// How long the opening handshake may take from the connection's start (a server's
    /// construction, a client's `connect`). `None` waits forever. Default 10 s.
    pub handshake_timeout: Option<Duration>,
    /// Send a ping this long after the previous one while OPEN. `None` (the default) sends none.
    pub keepalive_interval: Option<Duration>,
    /// With keepalive on: fail the connection (1011) if no pong arrives this long after a
    /// keepalive ping. Default 20 s.
    pub keepalive_timeout: Duration,
}

impl Config {
    /// The defaults: 1 MiB frames and messages, 8 KiB heads with at most 64 headers, automatic
    /// pongs and close replies, a 10 s close timeout, a 10 s handshake timeout, no keepalive
    /// (20 s pong timeout when it is turned on).
    pub const DEFAULT: Config = Config {
        max_frame_payload: 1 << 20,
        max_message_size: 1 << 20,
        max_head_len: 8 * 1024,
        max_headers: 64,
        auto_pong: true,
        auto_close_reply: true,
        close_timeout: Duration::from_secs(10),
        handshake_timeout: Some(Duration::from_secs(10)),
        keepalive_interval: None,
        keepalive_timeout: Duration::from_secs(20),
    };

    /// The largest frame payload accepted: `max_frame_payload`, or `max_message_size` if that
    /// is smaller.
    ///
    /// ```
    /// use wsproto::Config;
    /// let config = Config { max_message_size: 64 << 10, ..Config::default() };
    /// assert_eq!(config.frame_limit(), 64 << 10);
    /// assert!(config.validate().is_ok());
    /// ```
    pub const fn frame_limit(&self) -> u64 {
        if self.max_frame_payload < self.max_message_size {
            self.max_frame_payload
        } else {
            self.max_message_size
        }
    }

    /// Checks that the fields agree with each other. `max_frame_payload` may exceed
    /// `max_message_size`: the frame limit then follows the message limit
    /// ([`frame_limit`](Config::frame_limit)).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `max_head_len` is under 128 bytes (no valid head fits), or if
    /// `max_headers` is under 5 (a valid request has at least Host, Upgrade, Connection,
    /// Sec-WebSocket-Key and Sec-WebSocket-Version).
    pub const fn validate(&self) -> Result<(), ConfigError> {
        if self.max_head_len < 128 {
            return Err(ConfigError::HeadLimitTooSmall);
        }
        if self.max_headers < 5 {
            return Err(ConfigError::HeaderLimitTooSmall);
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

/// Why a [`Config`] was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigError {
    /// `max_head_len` is under 128 bytes.
    HeadLimitTooSmall,
    /// `max_headers` is under 5.
    HeaderLimitTooSmall,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::HeadLimitTooSmall => "max_head_len is under 128 bytes",
            ConfigError::HeaderLimitTooSmall => "max_headers is under 5",
        })
    }
}

impl core::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_combinations_are_not() {
        assert_eq!(Config::DEFAULT.validate(), Ok(()));
        let c = Config {
            max_frame_payload: 2 << 20,
            ..Config::DEFAULT
        };
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.frame_limit(), 1 << 20);
        let c = Config {
            max_head_len: 127,
            ..Config::DEFAULT
        };
        assert_eq!(c.validate(), Err(ConfigError::HeadLimitTooSmall));
        let c = Config {
            max_headers: 4,
            ..Config::DEFAULT
        };
        assert_eq!(c.validate(), Err(ConfigError::HeaderLimitTooSmall));
    }
}
