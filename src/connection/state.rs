//! The connection's state: the [`Connection`] struct, what each of its fields remembers, and the
//! constructors. The behaviour lives next door, a file per concept: `handshake.rs` (RFC 6455
//! §4), `receive.rs` (§5, §8.1), `send.rs` (§5.2–§5.5), `close.rs` (§7 and the timers),
//! `deflate.rs` (RFC 7692).

use core::fmt;
use core::marker::PhantomData;

use crate::close::CloseCode;
use crate::config::Config;
use crate::decoder::{DecoderConfig, FrameDecoder};
#[cfg(feature = "deflate")]
use crate::deflate::{Compressor, DeflateParams, Inflater};
use crate::entropy::{Entropy, MaskKeys, NoEntropy};
use crate::frame::{MAX_CONTROL_PAYLOAD, Rsv};
#[cfg(feature = "server")]
use crate::handshake::HandshakeError;
use crate::handshake::HeadScanner;
use crate::role::Role;
use crate::time::Instant;
use crate::utf8::Utf8Validator;

use super::events::{CloseInfo, DataKind, Error, ReadyState};

/// Where the opening handshake is.
#[derive(Clone, Copy, Debug)]
pub(super) enum Phase {
    /// Server: reading the request head.
    #[cfg(feature = "server")]
    ServerRequest(HeadScanner),
    /// Server: the request was delivered; waiting for `accept` or `reject`.
    #[cfg(feature = "server")]
    ServerDecide { accept: [u8; 28] },
    /// Client: `connect` not called yet.
    ClientNew,
    /// Client: request sent, reading the response head.
    ClientResponse {
        key: [u8; 24],
        offers: Offers,
        scanner: HeadScanner,
    },
    /// The handshake is done: OPEN or CLOSING as the close state says. The pong slot lives
    /// here, where it shares memory with the handshake's state.
    Open(PendingPong),
    /// CLOSED. Nothing more is read or written, but what is queued.
    Closed,
}

/// Fingerprints of what a client offered, so that the response can be checked without keeping
/// the offers (§4.1: a subprotocol or extension the client did not offer fails the connection).
///
/// 32-bit FNV-1a hashes, small enough to share memory with the pong slot: a server would have to
/// find a collision on purpose to slip an unoffered name through, and would gain nothing by it
/// (it can already send whatever it likes).
///
/// The rule is that of `handshake::check_offered`, which compares the offered strings
/// themselves; a connection holds no lifetime to keep them, so it keeps their fingerprints,
/// with names found the same way (`ExtensionOffer::parse`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Offers {
    pub(super) subprotocols: [u32; Offers::MAX],
    pub(super) extensions: [u32; Offers::MAX],
    pub(super) n_subprotocols: u8,
    pub(super) n_extensions: u8,
}

/// The message being received.
#[derive(Clone, Copy, Debug)]
pub(super) struct Incoming {
    pub(super) kind: DataKind,
    /// Payload bytes announced so far by the message's frame headers.
    pub(super) announced: u64,
    /// RSV1 was set on the first frame: the payload is compressed (RFC 7692 §6).
    #[cfg(feature = "deflate")]
    pub(super) compressed: bool,
}

/// Our close frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CloseOut {
    /// None sent or queued.
    None,
    /// Queued, to be written by the next output call.
    Queued {
        code: Option<CloseCode>,
        reason: &'static str,
    },
    /// Written into an output buffer.
    Sent,
}

/// The pong waiting to be sent: only the latest ping is answered (§5.5.3).
#[derive(Clone, Copy, Debug)]
pub(super) struct PendingPong {
    pub(super) queued: bool,
    pub(super) len: u8,
    pub(super) payload: [u8; MAX_CONTROL_PAYLOAD],
}

impl PendingPong {
    pub(super) const NONE: PendingPong = PendingPong {
        queued: false,
        len: 0,
        payload: [0; MAX_CONTROL_PAYLOAD],
    };
}

/// A WebSocket endpoint: client or server. See the [module documentation](crate::connection)
/// and the crate's driving loop.
///
/// `E` is the client's entropy source; a server uses [`NoEntropy`]. `X` says how it receives:
/// a [`Plain`] connection (what every constructor makes) never inflates and offers
/// [`receive`](Connection::receive); one that may negotiate permessage-deflate (feature
/// `deflate`, `allow_deflate`) receives with [`receive_into`](Connection::receive_into) only,
/// because an inflated message needs the caller's scratch buffer. Both offer `receive_into`,
/// so code generic over `X` uses that.
#[derive(Clone, Debug)]
pub struct Connection<E = NoEntropy, X = Plain> {
    pub(super) config: Config,
    pub(super) role: Role,
    pub(super) entropy: E,
    /// A client's masking keys, drawn from `entropy` in batches.
    pub(super) mask_keys: MaskKeys,
    pub(super) phase: Phase,
    pub(super) decoder: FrameDecoder,
    /// The latest time given by the caller.
    pub(super) clock: Instant,
    pub(super) incoming: Option<Incoming>,
    pub(super) incoming_utf8: Utf8Validator,
    /// The kind of the message being sent, if a fragmented one is under way.
    pub(super) outgoing: Option<DataKind>,
    pub(super) outgoing_utf8: Utf8Validator,
    pub(super) keepalive_ping_queued: bool,
    pub(super) keepalive_count: u32,
    pub(super) close_out: CloseOut,
    /// The peer's close code, once its close frame arrived (1005 for an empty one).
    pub(super) close_in: Option<CloseCode>,
    pub(super) shutdown_pending: bool,
    /// Server: the 400 or 426 response owed for a malformed request.
    #[cfg(feature = "server")]
    pub(super) handshake_error_response: Option<HandshakeError>,
    pub(super) info: Option<CloseInfo>,
    pub(super) closed_delivered: bool,
    /// Deadlines in milliseconds, indexed by [`Timer`]; `u64::MAX` when unset (smaller than
    /// four `Option<Instant>`s).
    pub(super) deadlines: [u64; 4],
    /// Test only: `false` turns [`receive`](Connection::receive)'s fast case off, so that a test
    /// can compare it with the general path.
    #[cfg(test)]
    pub(super) fast_path: bool,
    /// permessage-deflate state, once enabled (boxed: the codecs are large). Always `None` for
    /// a [`Plain`] connection.
    #[cfg(feature = "deflate")]
    pub(super) deflate: Option<alloc::boxed::Box<DeflateState>>,
    pub(super) receiving: PhantomData<X>,
}

/// How a connection receives: [`Plain`], or (feature `deflate`) `PerMessageDeflate`. Sealed.
pub trait Receiving: sealed::Sealed + Clone + fmt::Debug {
    /// Compressed messages may arrive, to be inflated into `receive_into`'s scratch buffer.
    #[doc(hidden)]
    const INFLATES: bool;
}

mod sealed {
    pub trait Sealed {}
}

/// A connection that never negotiates compression: it offers
/// [`receive`](Connection::receive) (and [`receive_into`](Connection::receive_into), whose
/// scratch buffer it never uses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Plain;

impl sealed::Sealed for Plain {}
impl Receiving for Plain {
    const INFLATES: bool = false;
}

/// A connection that may negotiate permessage-deflate (RFC 7692), made with
/// [`allow_deflate`](Connection::allow_deflate). It receives with
/// [`receive_into`](Connection::receive_into) only: a compressed message is inflated into the
/// caller's scratch buffer, and `receive` has none to give, so it does not exist here.
///
/// ```
/// use wsproto::{Config, Connection, Event, Role, entropy::NoEntropy, time::Instant};
/// let now = Instant::default();
/// let mut ws = Connection::open(Config::default(), Role::Client, NoEntropy, now)
///     .unwrap()
///     .allow_deflate();
/// let mut scratch = [0u8; 4096];
/// let mut input = *b"\x81\x02hi";
/// let r = ws.receive_into(&mut input, &mut scratch, now);
/// assert!(matches!(r.event, Some(Event::Data { chunk: b"hi", .. })));
/// ```
///
/// ```compile_fail
/// use wsproto::{Config, Connection, Role, entropy::NoEntropy, time::Instant};
/// let now = Instant::default();
/// let mut ws = Connection::open(Config::default(), Role::Client, NoEntropy, now)
///     .unwrap()
///     .allow_deflate();
/// ws.receive(&mut [], now); // no such method: a compressed message needs `receive_into`
/// ```
#[cfg(feature = "deflate")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerMessageDeflate;

#[cfg(feature = "deflate")]
impl sealed::Sealed for PerMessageDeflate {}
#[cfg(feature = "deflate")]
impl Receiving for PerMessageDeflate {
    const INFLATES: bool = true;
}

/// The connection's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Timer {
    /// The opening handshake must be done by then.
    Handshake = 0,
    /// Our close must be answered (or, for a client, the server must close TCP) by then.
    Close = 1,
    /// The next keepalive ping is due.
    Keepalive = 2,
    /// A pong must have arrived by then.
    Pong = 3,
}

pub(super) const UNSET: u64 = u64::MAX;

#[cfg(feature = "server")]
impl Connection<NoEntropy> {
    /// A server connection waiting for a handshake request; `now` starts the handshake timer.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `config` is inconsistent ([`Config::validate`]).
    pub fn server(config: Config, now: Instant) -> Result<Self, Error> {
        Connection::server_with_entropy(config, NoEntropy, now)
    }
}

impl<E: Entropy> Connection<E> {
    /// A server connection as [`server`](Connection::server) makes, with an entropy source of
    /// type `E`: for code that keeps clients and servers in one type (an adapter that boxes its
    /// entropy source). A server never draws from it.
    ///
    /// ```
    /// use wsproto::config::Config;
    /// use wsproto::connection::{Connection, Event, ReadyState};
    /// use wsproto::handshake::AcceptOptions;
    /// use wsproto::time::Instant;
    ///
    /// type Boxed = Box<dyn FnMut(&mut [u8])>;
    /// let never: Boxed = Box::new(|_: &mut [u8]| panic!("a server draws no entropy"));
    /// let mut server = Connection::server_with_entropy(Config::default(), never, Instant::default()).unwrap();
    /// let mut request = *b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    /// let r = server.receive(&mut request, Instant::default());
    /// assert!(matches!(r.event, Some(Event::Request(_))));
    /// let mut out = [0u8; 256];
    /// server.accept(&AcceptOptions::default(), &mut out).unwrap();
    /// let n = server.send(wsproto::connection::DataKind::Text, b"hi", true, &mut out).unwrap();
    /// assert_eq!(&out[..n], b"\x81\x02hi"); // unmasked: no entropy drawn
    /// assert_eq!(server.state(), ReadyState::Open);
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `config` is inconsistent ([`Config::validate`]).
    #[cfg(feature = "server")]
    pub fn server_with_entropy(config: Config, entropy: E, now: Instant) -> Result<Self, Error> {
        let mut conn = Connection::new(
            config,
            Role::Server,
            entropy,
            Phase::ServerRequest(HeadScanner::new()),
            now,
        )?;
        conn.set_deadline(Timer::Handshake, config.handshake_timeout.map(|t| now + t));
        Ok(conn)
    }

    /// A client connection; call [`connect`](Self::connect) to write the handshake request.
    /// `entropy` supplies the nonce and every masking key; `now` sets the connection's clock
    /// (the handshake timer starts at `connect`).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `config` is inconsistent ([`Config::validate`]).
    pub fn client(config: Config, entropy: E, now: Instant) -> Result<Self, Error> {
        Connection::new(config, Role::Client, entropy, Phase::ClientNew, now)
    }

    /// A connection already OPEN, for a stream whose opening handshake another layer did (an
    /// HTTP server's upgrade, or RFC 8441 / RFC 9220 streams). Everything after OPEN behaves as
    /// after a handshake done here.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `config` is inconsistent ([`Config::validate`]).
    pub fn open(config: Config, role: Role, entropy: E, now: Instant) -> Result<Self, Error> {
        let mut conn = Connection::new(config, role, entropy, Phase::Open(PendingPong::NONE), now)?;
        conn.start_keepalive(now);
        Ok(conn)
    }

    fn new(
        config: Config,
        role: Role,
        entropy: E,
        phase: Phase,
        now: Instant,
    ) -> Result<Self, Error> {
        config.validate().map_err(Error::Config)?;
        Ok(Connection {
            config,
            role,
            entropy,
            phase,
            decoder: FrameDecoder::new(DecoderConfig {
                role,
                max_frame_payload: config.frame_limit(),
                allowed_rsv: Rsv::NONE,
            }),
            clock: now,
            incoming: None,
            incoming_utf8: Utf8Validator::new(),
            outgoing: None,
            outgoing_utf8: Utf8Validator::new(),
            keepalive_ping_queued: false,
            keepalive_count: 0,
            close_out: CloseOut::None,
            close_in: None,
            shutdown_pending: false,
            #[cfg(feature = "server")]
            handshake_error_response: None,
            info: None,
            closed_delivered: false,
            deadlines: [UNSET; 4],
            mask_keys: MaskKeys::EMPTY,
            #[cfg(test)]
            fast_path: true,
            #[cfg(feature = "deflate")]
            deflate: None,
            receiving: PhantomData,
        })
    }
}

impl<E: Entropy, X: Receiving> Connection<E, X> {
    /// The ready state, exactly as a browser's `WebSocket.readyState` would report it.
    pub fn state(&self) -> ReadyState {
        match self.phase {
            #[cfg(feature = "server")]
            Phase::ServerRequest(_) | Phase::ServerDecide { .. } => ReadyState::Connecting,
            Phase::ClientNew | Phase::ClientResponse { .. } => ReadyState::Connecting,
            Phase::Open(_) if self.close_out == CloseOut::None && self.close_in.is_none() => {
                ReadyState::Open
            }
            Phase::Open(_) => ReadyState::Closing,
            Phase::Closed => ReadyState::Closed,
        }
    }

    /// Inside a received frame: the payload bytes of it still to come (the frame's header said
    /// how many). A buffering layer sizes its next read by it, so that the frame ends up whole
    /// in one place (the session does). `None` between frames.
    pub fn frame_remaining(&self) -> Option<u64> {
        self.decoder.payload_remaining()
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How the connection ended, once it is CLOSED.
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.info
    }

    /// Turns the receive fast case on or off (tests only: `fast_path_props` and the session's
    /// `shortcut_props` compare it with the general path).
    #[cfg(all(test, feature = "alloc", not(miri)))]
    pub(crate) fn set_fast_path(&mut self, on: bool) {
        self.fast_path = on;
    }

    /// Moves the connection's clock to `now` (never backwards): every entry point that takes
    /// a time calls it first.
    pub(crate) fn tick(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
    }
}

/// A connection's permessage-deflate state.
#[cfg(feature = "deflate")]
#[derive(Clone, Debug)]
pub(super) struct DeflateState {
    pub(super) params: DeflateParams,
    /// Our direction's `*_no_context_takeover`: reset the compressor after each message.
    pub(super) send_reset: bool,
    /// The peer's: reset the inflater after each message.
    pub(super) recv_reset: bool,
    /// Our direction's `*_max_window_bits`.
    pub(super) send_window: u8,
    /// Created at the first compressed message sent.
    pub(super) compressor: Option<Compressor>,
    /// Created at the first compressed message received.
    pub(super) inflater: Option<Inflater>,
    /// The message being sent (a fragmented one under way) is compressed.
    pub(super) sending_compressed: bool,
    pub(super) rx: Rx,
}

/// Where the compressed message being received is.
#[cfg(feature = "deflate")]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Rx {
    /// How many bytes at the start of the next input are payload of the current frame that the
    /// decoder already handed out (unmasked) but the inflater did not take yet.
    pub(super) carry: usize,
    /// The carried bytes end their frame.
    pub(super) ends_frame: bool,
    /// The carried bytes end the message: the tail (§7.2.2) follows them.
    pub(super) ends_message: bool,
    /// Bytes of the `00 00 ff ff` tail fed to the inflater.
    pub(super) tail: u8,
    /// The last inflate filled its output: more may be waiting inside the inflater.
    pub(super) maybe_pending: bool,
    /// A block with BFINAL ended the DEFLATE stream; the rest of the message is ignored.
    pub(super) stream_end: bool,
    /// The message's first event was given.
    pub(super) started: bool,
    /// Inflated bytes of the message so far (`max_message_size` applies to them).
    pub(super) produced: u64,
}
