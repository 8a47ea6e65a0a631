//! The settings an adapter's socket takes when it adds nothing of its own: the connection's
//! limits and timers, and permessage-deflate. wsproto-embedded and wsproto-uring use this type
//! as their `Options`; an adapter with settings of its own (a read size, the session's buffering)
//! defines a type that holds more.

use super::SessionConfig;
use crate::config::Config;
#[cfg(feature = "deflate")]
use crate::deflate::DeflateConfig;

/// How a socket runs: the connection's limits and timers, and permessage-deflate.
///
/// A [`Config`] converts into options without compression, so an adapter's `connect` and
/// `accept` take either.
///
/// ```
/// use wsproto::Config;
/// use wsproto::session::{Options, SessionConfig};
/// let options = Options::from(Config::default());
/// let session = options.session_config(SessionConfig { keep_capacity: 0, ..SessionConfig::DEFAULT });
/// assert_eq!(session.keep_capacity, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The connection's limits and timers.
    pub config: Config,
    /// permessage-deflate (RFC 7692): a client offers it with these parameters, a server
    /// accepts a client's offer within them. `None` (the default) goes without compression.
    #[cfg(feature = "deflate")]
    pub deflate: Option<DeflateConfig>,
}

impl Options {
    /// `config`, with permessage-deflate offered (client) and accepted (server) with its
    /// default parameters: context takeover both ways, full windows.
    #[cfg(feature = "deflate")]
    pub const fn with_deflate(config: Config) -> Self {
        Options {
            config,
            deflate: Some(DeflateConfig::DEFAULT),
        }
    }

    /// The session's settings an adapter starts from (`base`, its own buffering choices) with
    /// this compression.
    #[cfg_attr(not(feature = "deflate"), allow(clippy::needless_update))]
    pub const fn session_config(&self, base: SessionConfig) -> SessionConfig {
        SessionConfig {
            #[cfg(feature = "deflate")]
            deflate: self.deflate,
            ..base
        }
    }
}

impl From<Config> for Options {
    fn from(config: Config) -> Self {
        Options {
            config,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }
}
