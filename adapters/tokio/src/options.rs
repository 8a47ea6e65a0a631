//! How a [`WebSocket`](crate::WebSocket) runs, and this adapter's defaults: larger messages than
//! the core's firmware-sized ones, and permessage-deflate on.

#[cfg(feature = "deflate")]
use wsproto::deflate::DeflateConfig;
use wsproto::{config::Config, session::SessionConfig};

/// The default largest message (and frame) an [`Options::default`] connection receives: 16 MiB.
///
/// The core's [`Config`] default is 1 MiB, sized for small devices; here, on a server or
/// desktop, a message of a few MiB is ordinary, and people coming from tungstenite or axum
/// (64 MiB messages, 16 MiB frames) were surprised by 1009 at 2 MiB. 16 MiB is what tungstenite
/// takes in one frame, and browsers and most libraries send a message as one frame, so what
/// reached a tungstenite server reaches this one. It stops at 16 MiB rather than 64 MiB for
/// memory: the session's buffer grows to the largest message, and with permessage-deflate on
/// (the default) a peer can make it grow from about a thousandth of that on the wire (16 KiB of
/// deflate inflate to 16 MiB), so the limit is also what one connection can cost at will.
/// Raise it per application with [`Options::max_message_size`].
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 16 << 20;

/// How a [`WebSocket`](crate::WebSocket) runs: the protocol's limits and timers, and
/// permessage-deflate.
///
/// [`Options::default`] is this adapter's defaults: the core's [`Config::DEFAULT`] with
/// [`DEFAULT_MAX_MESSAGE_SIZE`] for messages and frames, and permessage-deflate offered and
/// accepted (feature `deflate`). A [`Config`] converts into options without compression, as it
/// is, so `connect`, `accept`, `WebSocket::server` and `WebSocket::client` take either.
///
/// ```
/// use wsproto_tokio::Options;
/// let options = Options::default().max_message_size(64 << 20); // as tungstenite
/// assert_eq!(options.config.max_message_size, 64 << 20);
/// assert_eq!(options.config.frame_limit(), 64 << 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The connection's limits and timers.
    pub config: Config,
    /// permessage-deflate (RFC 7692): a client offers it with these parameters, a server
    /// accepts a client's offer within them. `None` goes without compression; the default is
    /// [`DeflateConfig::DEFAULT`].
    #[cfg(feature = "deflate")]
    pub deflate: Option<DeflateConfig>,
    /// Bytes offered to each read from the stream when no frame needs more (default 16 KiB).
    /// Reads land in one buffer shared by the connections polled on a thread, so this is
    /// memory per worker thread, not per connection: an idle connection holds no buffer.
    pub read_size: usize,
}

impl Options {
    /// The adapter's defaults (see [`Options`]).
    pub const DEFAULT: Options = Options {
        config: Config {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_frame_payload: DEFAULT_MAX_MESSAGE_SIZE,
            ..Config::DEFAULT
        },
        #[cfg(feature = "deflate")]
        deflate: Some(DeflateConfig::DEFAULT),
        read_size: SessionConfig::DEFAULT.read_size,
    };

    /// `config`, with permessage-deflate offered and accepted with its default parameters.
    #[cfg(feature = "deflate")]
    pub fn with_deflate(config: Config) -> Self {
        Options {
            config,
            deflate: Some(DeflateConfig::DEFAULT),
            read_size: SessionConfig::DEFAULT.read_size,
        }
    }

    /// These options receiving messages (and frames) of up to `bytes`: sets both
    /// `config.max_message_size` and `config.max_frame_payload`.
    pub fn max_message_size(mut self, bytes: u64) -> Self {
        self.config.max_message_size = bytes;
        self.config.max_frame_payload = bytes;
        self
    }

    pub(crate) fn session_config(&self) -> SessionConfig {
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut session = SessionConfig {
            read_size: self.read_size.max(1),
            // Nothing kept once idle: an idle connection holds no buffer (input is read into
            // the thread's shared buffer, output is freed once written).
            keep_capacity: 0,
            ..SessionConfig::DEFAULT
        };
        #[cfg(feature = "deflate")]
        {
            session.deflate = self.deflate;
        }
        session
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::DEFAULT
    }
}

/// `config` as it is, without compression.
impl From<Config> for Options {
    fn from(config: Config) -> Self {
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut options = Options::DEFAULT;
        options.config = config;
        #[cfg(feature = "deflate")]
        {
            options.deflate = None;
        }
        options
    }
}
