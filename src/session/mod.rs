//! The session: the buffered driving loop over a [`Connection`], written once for every adapter.
//!
//! A [`Connection`] turns bytes into events and events into bytes, but leaves the buffers to its
//! caller: where reads land, how unconsumed input is kept, how fragments become whole messages,
//! where inflated bytes go, where pongs wait until the transport takes them. A [`Session`] owns
//! those buffers and does all of that, so that a runtime adapter (blocking, async, firmware) only
//! moves bytes between the session and its transport — the model is python-websockets'
//! `Protocol` (`receive_data` → `events_received` → `data_to_send`).
//!
//! # The loop
//!
//! 1. **Events.** Call [`poll_event`](Session::poll_event) until it returns `None`. It hands out
//!    whole messages (or chunks of messages over
//!    [`SessionConfig::max_whole_message`]), pings, pongs, the peer's close and, once, `Closed`.
//!    Each event borrows the session: handle it before the next call.
//! 2. **Output.** Write [`output`](Session::output) to the transport and report what was written
//!    with [`advance_output`](Session::advance_output). Once it is empty and
//!    [`wants_shutdown`](Session::wants_shutdown) is true, shut the transport's write side down.
//! 3. **Input.** If [`wants_read`](Session::wants_read), read into
//!    [`read_buf`](Session::read_buf) and report the count with
//!    [`commit_read`](Session::commit_read) (end of stream:
//!    [`receive_eof`](Session::receive_eof)); wait for that or for
//!    [`poll_timeout`](Session::poll_timeout) ([`handle_timeout`](Session::handle_timeout)).
//!    Go to 1.
//!
//! # What it guarantees
//!
//! - **One copy at most.** A frame whose header announces more payload than is buffered makes
//!   the next reads land right behind it, where the frame will lie whole (growing the buffer up
//!   to the message limit, never beyond), so a single-frame message costs the transport's read
//!   and one unmask pass, and is handed out where it lies. Each piece still goes through the
//!   connection as it arrives, so invalid text fails at once (§8.1). A fragment behind another
//!   frame's header is moved down once, onto the end of the message before it. Inflated bytes
//!   are written once, into the message.
//! - **Text validated once.** The connection validates text as it arrives; a whole text message
//!   is handed out as `&str` without a second pass.
//! - **Every ping answered, in order, in bounded memory.** After each control frame the
//!   connection's queued reply moves into the output. While more than
//!   [`SessionConfig::output_high_water`] bytes wait unsent, no input is processed: backpressure
//!   reaches the transport instead of a queue growing.
//! - **permessage-deflate inside** (feature `deflate`): offered by a client, negotiated by a
//!   server, inflated and compressed by the same calls.
//!
//! # Storage
//!
//! The session is generic over its [`Storage`]: a `Vec<u8>` (feature `alloc`) grows as
//! messages need and gives memory back once idle; a `&mut [u8]` lent by firmware never
//! allocates, and messages longer than it fits come as chunks.
//!
//! ```
//! use wsproto::session::{Session, SessionConfig, SessionEvent};
//! use wsproto::{Config, Connection, Role};
//! use wsproto::time::Instant;
//!
//! let now = Instant::from_millis(0);
//! let conn = Connection::open(Config::default(), Role::Server, wsproto::entropy::NoEntropy, now).unwrap();
//! let mut session = Session::new(conn, SessionConfig::default(), Vec::new(), Vec::new());
//! // A client's masked "Hello" (RFC 6455 §5.7), then a ping, in one read.
//! let wire = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, 0x89, 0x80, 0, 0, 0, 0];
//! let n = session.feed(&wire);
//! assert_eq!(n, wire.len());
//! assert!(matches!(session.poll_event(now), Some(SessionEvent::Text("Hello"))));
//! assert!(matches!(session.poll_event(now), Some(SessionEvent::Ping(b""))));
//! assert!(session.poll_event(now).is_none());
//! session.send_text("Hi!").unwrap();
//! // The pong went out first, then the message.
//! assert_eq!(session.output(), b"\x8a\x00\x81\x03Hi!");
//! ```

use core::ops::Range;

use crate::close::CloseCode;
use crate::connection::{
    CloseInfo, Connection, DataKind, Error, Event, ReadyState, Receiving, Transmit, Whole,
    frame_len, with_control_events,
};
use crate::entropy::Entropy;
use crate::frame::{MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use crate::handshake::{
    AcceptOptions, ClientRequest, HeadLimits, Rejection, Request, parse_request,
};
use crate::time::Instant;

mod accessors;
mod error;
mod options;
// A property test of thousands of sessions: beyond Miri's pace (CI's Miri step runs the session's
// unit tests, which reach the unsafe block by every path).
#[cfg(all(test, feature = "alloc", not(miri)))]
mod shortcut_props;
mod storage;
#[cfg(feature = "alloc")]
mod verdict;

pub use error::SessionError;
pub use options::Options;
pub use storage::Storage;
#[cfg(feature = "alloc")]
pub use verdict::{Accept, Reject};

#[cfg(feature = "deflate")]
use crate::deflate::{DeflateConfig, DeflateParams};

/// The connection a session drives: with the feature `deflate`, one that may negotiate
/// permessage-deflate ([`Connection::allow_deflate`]), so that the session's receive path is the
/// inflating one whether or not compression is agreed.
#[cfg(feature = "deflate")]
pub type SessionConnection<E> = Connection<E, crate::connection::PerMessageDeflate>;
/// The connection a session drives.
#[cfg(not(feature = "deflate"))]
pub type SessionConnection<E> = Connection<E>;

/// Room for every control frame a connection may have queued at once (a pong, a keepalive ping
/// and a close, each at most 2 + 4 + 125 bytes).
const CONTROL_ROOM: usize = 3 * (2 + 4 + MAX_CONTROL_PAYLOAD);

/// The smallest input buffer that can always make progress: the longest frame header plus a
/// whole control frame, which the connection only consumes whole.
pub const MIN_INPUT: usize = MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD;

/// A session's buffering choices. The protocol's limits stay in the connection's
/// [`Config`](crate::config::Config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Messages up to this many bytes are handed out whole
    /// ([`SessionEvent::Text`], [`SessionEvent::Binary`]); a longer one comes as
    /// [`SessionEvent::Chunk`]s as it arrives, so that it never has to be held in memory.
    /// Default `u64::MAX`: every message whole (the connection's `max_message_size` still
    /// bounds them). With fixed storage, messages that cannot fit in it come as chunks too.
    pub max_whole_message: u64,
    /// Bytes offered to each transport read ([`read_buf`](Session::read_buf)) when no frame
    /// needs more. Default 16 KiB.
    pub read_size: usize,
    /// While more than this many bytes of output wait unsent, no input is processed, so that a
    /// peer that sends pings (or messages an application echoes) and never reads cannot grow
    /// the output. Default 64 KiB.
    pub output_high_water: usize,
    /// Growable storage larger than this is given back once its bytes are no longer needed (a
    /// burst of output was written; all input was consumed and the reads since the last such
    /// point stayed within this size, so that a stream of large messages keeps one buffer
    /// instead of giving it back and zero-filling it again for each). Default 64 KiB. 0 gives
    /// every buffer back as soon as it is empty: a connection with nothing in flight then holds
    /// no memory but its state (with input storage lent per read, [`Session::lend_input`]).
    pub keep_capacity: usize,
    /// permessage-deflate (RFC 7692): offered by a client's [`connect`](Session::connect),
    /// accepted by a server's [`answer`](Session::answer) when the client offers it. `None`
    /// (the default) goes without compression.
    #[cfg(feature = "deflate")]
    pub deflate: Option<DeflateConfig>,
}

impl SessionConfig {
    /// Every message whole, 16 KiB reads, 64 KiB of output before input stops, 64 KiB kept, no
    /// compression.
    pub const DEFAULT: SessionConfig = SessionConfig {
        max_whole_message: u64::MAX,
        read_size: 16 * 1024,
        output_high_water: 64 * 1024,
        keep_capacity: 64 * 1024,
        #[cfg(feature = "deflate")]
        deflate: None,
    };
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig::DEFAULT
    }
}

with_control_events! {
    /// Something that happened, borrowed from the session until the next call.
    #[derive(Debug)]
    #[non_exhaustive]
    pub enum SessionEvent<'a> {
        /// Server: a valid opening handshake request. Answer it with [`Session::answer`],
        /// [`Session::accept`] or [`Session::reject`].
        Request(Request<'a>),
        /// Client: the server accepted the handshake; the session is OPEN (with permessage-deflate
        /// if the server agreed to the offer).
        Accepted {
            /// The subprotocol the server selected.
            subprotocol: Option<&'a str>,
        },
        /// A whole text message, valid UTF-8.
        Text(&'a str),
        /// A whole binary message.
        Binary(&'a [u8]),
        /// A piece of a message longer than [`SessionConfig::max_whole_message`] (or than fixed
        /// storage holds). Text chunks may split a character; the whole message is valid UTF-8
        /// once `last` is seen.
        Chunk {
            /// The message's kind.
            kind: DataKind,
            /// The bytes.
            data: &'a [u8],
            /// The message's first chunk.
            first: bool,
            /// The message's last chunk.
            last: bool,
        },
    }
}

/// A server's answer to a handshake request, from the closure given to [`Session::answer`].
#[derive(Clone, Copy, Debug)]
pub enum Answer<'a> {
    /// Accept (101), with these options. permessage-deflate is added when the session is
    /// configured for it, the client offered it and `extensions` is `None`.
    Accept(AcceptOptions<'a>),
    /// Refuse with this status (401, 403, 404 …), extra headers and a body.
    Reject(Rejection<'a>),
    /// Not now: the request stays pending (and in the input buffer) until a later
    /// [`answer`](Session::answer), [`accept`](Session::accept) or [`reject`](Session::reject),
    /// for decisions that need something the closure cannot wait for (a token looked up
    /// elsewhere, a response built from owned data).
    Later,
}

/// Where the message being received is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Assembly {
    /// No message in progress.
    Idle,
    /// Being assembled whole: `rx[asm_start..asm_end]` (or the inflate buffer).
    Whole(DataKind),
    /// Too long to hold: handed out as chunks.
    Chunked(DataKind),
}

/// Where delivered bytes lie.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Place {
    Rx(Range<usize>),
    #[cfg(feature = "deflate")]
    Inflated(Range<usize>),
}

impl Place {
    /// The bytes at this place in `rx` or the inflate buffer.
    #[inline(always)]
    fn bytes<'a>(self, rx: &'a [u8], inflated: &'a [u8]) -> &'a [u8] {
        #[cfg(not(feature = "deflate"))]
        let _ = inflated;
        match self {
            Place::Rx(range) => &rx[range],
            #[cfg(feature = "deflate")]
            Place::Inflated(range) => &inflated[range],
        }
    }
}

/// An event found by [`Session::step`], as positions, so that no borrow crosses the loop.
#[derive(Debug)]
enum Found {
    Request(Range<usize>),
    Accepted(Option<Range<usize>>),
    Message(DataKind, Place),
    Chunk {
        kind: DataKind,
        at: Place,
        first: bool,
        last: bool,
    },
    Ping(Range<usize>),
    Pong(Range<usize>),
    CloseReceived(CloseCode, Range<usize>),
    Closed(CloseInfo),
}

/// What the last event handed out leaves to clean up at the next call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivered {
    Nothing,
    /// The assembled message in `rx[asm_start..asm_end]`.
    Assembled,
    /// Inflated bytes.
    #[cfg(feature = "deflate")]
    Inflated,
}

/// A [`Connection`] with its buffers: see the [module documentation](self).
#[derive(Debug)]
pub struct Session<S, E = crate::entropy::NoEntropy> {
    conn: SessionConnection<E>,
    config: SessionConfig,
    /// `rx[asm_start..asm_end]`: the message being assembled (empty when the two are equal);
    /// `rx[rx_start..rx_end]`: unconsumed input (`asm_end <= rx_start`). A frame's payload
    /// that arrives in pieces lies contiguous with the message before it, so it is assembled
    /// where it was read; only a fragment behind another frame's header is moved down.
    rx: S,
    asm_start: usize,
    asm_end: usize,
    rx_start: usize,
    rx_end: usize,
    /// Where in `rx` the data frame being received ends, when it is to lie whole in place
    /// (0: no such frame): reads are sized to reach it.
    frame_end: usize,
    /// The furthest `rx_end` reached since the input was last found empty: above
    /// `keep_capacity`, the large storage is still in use and is kept.
    rx_peak: usize,
    /// `rx` is storage lent by the caller ([`Session::lend_input`]), to be handed back by
    /// [`Session::reclaim_input`]: never shrunk meanwhile.
    rx_lent: bool,
    /// Inside a data frame: the next bytes are its payload, not a header.
    in_frame: bool,
    assembly: Assembly,
    delivered: Delivered,
    /// Server: the request head in `rx`, until it is answered.
    request: Option<Range<usize>>,
    tx: Outbox<S>,
    closed_delivered: bool,
    /// The whole message the last `poll_event` handed out, for [`Session::last_message`].
    last_message: Option<(DataKind, Place)>,
    /// The transport's read side ended.
    eof: bool,
    /// The peer's close reason (at most 123 bytes, §5.5.1), kept for after the event.
    close_reason: CloseReason,
    /// The current message's chunks come from the inflate buffer.
    #[cfg(feature = "deflate")]
    inflating: bool,
    #[cfg(feature = "deflate")]
    inflated: alloc::vec::Vec<u8>,
    #[cfg(feature = "deflate")]
    inflated_len: usize,
    /// A client's offer is out: check the response against this.
    #[cfg(feature = "deflate")]
    offered: bool,
}

impl<S: Storage, E: Entropy> Session<S, E> {
    /// A session over `conn` (in any state), reading into `rx` and writing into `tx`.
    ///
    /// Fixed storage should hold at least [`MIN_INPUT`] bytes for input and the connection's
    /// `max_head_len` during a handshake; output needs room for the largest frame sent.
    pub fn new(conn: Connection<E>, config: SessionConfig, rx: S, tx: S) -> Self {
        #[cfg(feature = "deflate")]
        let conn = conn.allow_deflate();
        Session {
            conn,
            config,
            rx,
            asm_start: 0,
            asm_end: 0,
            rx_start: 0,
            rx_end: 0,
            frame_end: 0,
            rx_peak: 0,
            rx_lent: false,
            in_frame: false,
            assembly: Assembly::Idle,
            delivered: Delivered::Nothing,
            request: None,
            tx: Outbox {
                buf: tx,
                start: 0,
                end: 0,
                shutdown: false,
                undrained: false,
            },
            closed_delivered: false,
            last_message: None,
            eof: false,
            close_reason: CloseReason::EMPTY,
            #[cfg(feature = "deflate")]
            inflating: false,
            #[cfg(feature = "deflate")]
            inflated: alloc::vec::Vec::new(),
            #[cfg(feature = "deflate")]
            inflated_len: 0,
            #[cfg(feature = "deflate")]
            offered: false,
        }
    }

    // ---- getters --------------------------------------------------------------------------

    /// The connection.
    pub fn connection(&self) -> &SessionConnection<E> {
        &self.conn
    }

    /// The ready state.
    pub fn state(&self) -> ReadyState {
        self.conn.state()
    }

    /// How the connection ended, once CLOSED.
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.conn.close_info()
    }

    /// The reason in the peer's close frame, empty if none arrived.
    pub fn close_reason(&self) -> &str {
        let reason = self.close_reason.as_bytes();
        // Checked as UTF-8 by the connection (§7.4), copied whole.
        core::str::from_utf8(reason).unwrap_or("")
    }

    /// The session's configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The permessage-deflate parameters in force, if compression was negotiated.
    #[cfg(feature = "deflate")]
    pub fn deflate_params(&self) -> Option<DeflateParams> {
        self.conn.deflate_params()
    }

    /// Starts an adapter's `Debug` output for its socket over this session: `WebSocket` with
    /// the state, the role, the subprotocol (which the adapter keeps) and the buffered amount.
    /// The adapter adds fields of its own and finishes it.
    pub fn debug_socket<'f, 'b>(
        &self,
        f: &'f mut core::fmt::Formatter<'b>,
        subprotocol: Option<&str>,
    ) -> core::fmt::DebugStruct<'f, 'b> {
        let mut socket = f.debug_struct("WebSocket");
        socket
            .field("state", &self.state())
            .field("role", &self.conn.role())
            .field("subprotocol", &subprotocol)
            .field("buffered_amount", &self.buffered_amount());
        socket
    }

    /// Bytes waiting to be written to the transport (the browser's `bufferedAmount`, counting
    /// frame headers too).
    pub fn buffered_amount(&self) -> usize {
        self.tx.pending()
    }

    /// The bytes of input and output storage the session holds now (input storage lent by
    /// [`lend_input`](Self::lend_input) included), for memory accounting: with
    /// [`SessionConfig::keep_capacity`] 0, `(0, 0)` for a connection with nothing in flight.
    pub fn storage_lens(&self) -> (usize, usize) {
        (self.rx.as_slice().len(), self.tx.buf.as_slice().len())
    }

    /// True when input is wanted: the connection is not CLOSED, no request awaits an answer,
    /// and the output is under its high-water mark.
    pub fn wants_read(&self) -> bool {
        self.conn.state() != ReadyState::Closed
            && !self.eof
            && self.request.is_none()
            && !self.output_blocked()
    }

    /// True while read input waits to be processed: [`poll_event`](Self::poll_event) may give
    /// more events without another read. An adapter that coalesces writes holds its flush
    /// while this is true (the replies to the rest of one read then go out in one write) and
    /// writes before it reads again.
    pub fn has_unprocessed_input(&self) -> bool {
        self.rx_start < self.rx_end && !self.closed_delivered
    }

    /// True once the connection is CLOSED, its `Closed` event delivered and its output written:
    /// the transport can be closed.
    pub fn is_finished(&self) -> bool {
        self.closed_delivered && self.tx.pending() == 0 && !self.tx.shutdown
    }

    // ---- input ----------------------------------------------------------------------------

    /// Where the transport's next bytes go: read into it, then call
    /// [`commit_read`](Self::commit_read) with the count. While a frame is incomplete the slice
    /// is sized (and the storage grown) so that the frame ends up whole in place; otherwise it
    /// offers [`SessionConfig::read_size`] bytes or more. Empty only if fixed storage is full,
    /// which the connection's limits prevent when they fit the storage.
    pub fn read_buf(&mut self) -> &mut [u8] {
        // The read may land where the last message lies.
        self.last_message = None;
        if self.rx_start == self.rx_end && self.asm_start == self.asm_end && self.request.is_none()
        {
            (self.rx_start, self.rx_end, self.frame_end) = (0, 0, 0);
        }
        let want = if self.frame_end > self.rx_end {
            self.frame_end - self.rx_end
        } else {
            self.config.read_size
        }
        .max(1);
        if self.rx.as_slice().len() - self.rx_end < want {
            self.compact();
            // Fixed storage that cannot grow offers what it has.
            let _ = self.rx.grow_to(self.rx_end + want);
        }
        &mut self.rx.as_mut_slice()[self.rx_end..]
    }

    /// Reports that `n` bytes were read into [`read_buf`](Self::read_buf).
    ///
    /// # Panics
    ///
    /// If `n` exceeds the length of the slice `read_buf` returned (a caller bug).
    pub fn commit_read(&mut self, n: usize) {
        assert!(
            self.rx_end + n <= self.rx.as_slice().len(),
            "commit_read beyond read_buf"
        );
        self.rx_end += n;
        self.rx_peak = self.rx_peak.max(self.rx_end);
    }

    /// Copies `bytes` into the input, as many as fit (all of them with growable storage), and
    /// returns that count. For transports that hand out their own buffers (an HTTP/2 stream's
    /// data frames, bytes an HTTP server read past a request head).
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        let mut fed = 0;
        while fed < bytes.len() {
            let buf = self.read_buf();
            let n = buf.len().min(bytes.len() - fed);
            if n == 0 {
                break;
            }
            buf[..n].copy_from_slice(&bytes[fed..fed + n]);
            self.commit_read(n);
            fed += n;
        }
        fed
    }

    /// Lends the session `shared` input storage for the reads and events that follow, until
    /// [`reclaim_input`](Self::reclaim_input): the storages are swapped, and the few input bytes
    /// the session still needs (a partial frame) are moved into the lent one. A server that
    /// holds many connections keeps one such buffer per worker thread, so that an idle
    /// connection holds no input buffer at all.
    ///
    /// Returns false, and changes nothing, when the session holds more than
    /// [`SessionConfig::read_size`]` / 2` bytes it still needs (a message arriving: it keeps
    /// reading into its own storage, sized for that message), while a handshake request awaits
    /// an answer, when storage is lent already, or when `shared` cannot hold the needed bytes.
    /// Forgets what [`last_message`](Self::last_message) would return.
    ///
    /// ```
    /// use wsproto::session::{Session, SessionConfig, SessionEvent};
    /// use wsproto::{Config, Connection, Role};
    /// use wsproto::time::Instant;
    ///
    /// let now = Instant::from_millis(0);
    /// let conn = Connection::open(Config::default(), Role::Server, wsproto::entropy::NoEntropy, now).unwrap();
    /// let config = SessionConfig { keep_capacity: 0, ..SessionConfig::default() };
    /// let mut session = Session::new(conn, config, Vec::new(), Vec::new());
    /// let mut shared = vec![0; 16 * 1024]; // one per worker thread
    ///
    /// assert!(session.lend_input(&mut shared));
    /// let wire = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    /// let buf = session.read_buf(); // inside `shared`'s memory
    /// buf[..wire.len()].copy_from_slice(&wire);
    /// session.commit_read(wire.len());
    /// assert!(matches!(session.poll_event(now), Some(SessionEvent::Text("Hello"))));
    /// assert!(session.poll_event(now).is_none());
    /// assert!(session.reclaim_input(&mut shared));
    /// assert_eq!(shared.len(), 16 * 1024); // the worker has its buffer back
    /// ```
    pub fn lend_input(&mut self, shared: &mut S) -> bool {
        if self.rx_lent || self.request.is_some() {
            return false;
        }
        if !self.move_needed_input(shared) {
            return false;
        }
        self.rx_lent = true;
        true
    }

    /// Hands back the storage lent by [`lend_input`](Self::lend_input): swaps it into
    /// `shared` again, moving the few input bytes still needed into the session's own storage,
    /// which is shrunk to [`SessionConfig::keep_capacity`] first. Call it before the lent
    /// storage is lent to another session (at the end of each turn of the adapter's loop).
    ///
    /// Returns false when nothing was lent, or when the session keeps the lent storage as its
    /// own because it holds a message still arriving (inside a frame of a message to be handed
    /// out whole, or more than `read_size / 2` bytes needed), or a handshake request awaiting
    /// an answer: `shared` then holds the session's former
    /// storage instead, and the caller's pool has one buffer fewer. Forgets what
    /// [`last_message`](Self::last_message) would return.
    pub fn reclaim_input(&mut self, shared: &mut S) -> bool {
        if !self.rx_lent {
            // The session's own storage: what the last events handed out is done with, so a
            // message delivered from it is given back now (with `keep_capacity` 0), before the
            // application's reply allocates its own.
            self.forget_delivered();
            self.last_message = None;
            return false;
        }
        // A request awaiting its answer, or a frame arriving to be held whole (read in place:
        // the lent storage is sized for it, or will be at the next read), stays where it is.
        let arriving =
            self.in_frame && !self.inflating_chunk() && matches!(self.assembly, Assembly::Whole(_));
        if self.request.is_some() || arriving {
            self.rx_lent = false;
            return false;
        }
        // The session's own storage lies unused while another is lent: it holds nothing.
        shared.shrink_to(self.config.keep_capacity);
        // Still lent while the needed bytes move: the lent storage must not be shrunk.
        let moved = self.move_needed_input(shared);
        self.rx_lent = false;
        moved
    }

    /// Swaps `rx` with `other`, the input bytes still needed moved to the front of `other`, if
    /// there are at most `read_size / 2` of them and `other` can hold them.
    fn move_needed_input(&mut self, other: &mut S) -> bool {
        self.forget_delivered();
        self.last_message = None;
        let from = self.needed_input_start();
        let needed = self.rx_end - from;
        if needed > self.config.read_size / 2 || !other.grow_to(needed) {
            return false;
        }
        other.as_mut_slice()[..needed].copy_from_slice(&self.rx.as_slice()[from..self.rx_end]);
        self.shift_input_down(from);
        self.rx_peak = self.rx_end;
        core::mem::swap(&mut self.rx, other);
        true
    }

    /// The transport's read side ended: no more input will come. Input still buffered is
    /// processed first; then the connection learns of the end, and the `Closed` event follows
    /// from [`poll_event`](Self::poll_event).
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// The transport failed (a write error, a reset): nothing more can be sent or received.
    /// The output and unprocessed input are dropped; the connection ends (1006, or clean if
    /// the closing handshake had completed) and `Closed` follows from
    /// [`poll_event`](Self::poll_event).
    pub fn abort(&mut self, now: Instant) {
        self.eof = true;
        self.rx_start = self.rx_end;
        self.in_frame = false;
        self.conn.receive_eof(now);
        self.tx.take_queued(&mut self.conn);
        self.tx.start = 0;
        self.tx.end = 0;
        self.tx.shutdown = false;
    }

    /// The next event, or `None` when more input is needed (or the output must drain first:
    /// see [`wants_read`](Self::wants_read)). The event borrows the session.
    #[inline]
    pub fn poll_event(&mut self, now: Instant) -> Option<SessionEvent<'_>> {
        self.poll_event_with_sender(now).map(|(event, _)| event)
    }

    /// [`poll_event`](Self::poll_event), with a [`Sender`] that can queue output while the
    /// event is borrowed: an echo or a reply sends straight from the received bytes, with no
    /// copy in between.
    ///
    /// ```
    /// use wsproto::session::{Session, SessionConfig, SessionEvent};
    /// use wsproto::{Config, Connection, Role};
    /// use wsproto::time::Instant;
    ///
    /// let now = Instant::from_millis(0);
    /// let conn = Connection::open(Config::default(), Role::Server, wsproto::entropy::NoEntropy, now).unwrap();
    /// let mut session = Session::new(conn, SessionConfig::default(), Vec::new(), Vec::new());
    /// session.feed(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    /// while let Some((event, mut sender)) = session.poll_event_with_sender(now) {
    ///     if let SessionEvent::Text(text) = event {
    ///         sender.send_text(text).unwrap(); // the echo
    ///     }
    /// }
    /// assert_eq!(session.output(), b"\x81\x05Hello");
    /// ```
    // Always inlined (its rest is out of line, in `poll_found`): in the caller's loop the
    // fast case keeps the session's fields in registers (benches/peers, instructions per
    // message: R2 1 KiB binary 1 684 -> 1 651, R5 1 KiB text 2 601 -> 2 574).
    #[inline(always)]
    pub fn poll_event_with_sender(
        &mut self,
        now: Instant,
    ) -> Option<(SessionEvent<'_>, Sender<'_, S, E>)> {
        self.last_message = None;
        self.forget_delivered();
        match self.receive_whole(now) {
            // The common case, small enough to inline into the caller's loop.
            Some(Ok((kind, range))) => {
                self.last_message = Some((kind, Place::Rx(range.clone())));
                let message = whole_message(kind, Place::Rx(range), self.rx.as_slice(), &[]);
                let sender = Sender {
                    conn: &mut self.conn,
                    tx: &mut self.tx,
                };
                Some((message_event(message), sender))
            }
            Some(Err(info)) => self.poll_found(Some(info), now),
            None => self.poll_found(None, now),
        }
    }

    /// The rest of [`poll_event_with_sender`](Self::poll_event_with_sender), out of line:
    /// `failed` says how the connection ended if the fast case failed it, else `step` finds
    /// the event.
    #[inline(never)]
    fn poll_found(
        &mut self,
        failed: Option<CloseInfo>,
        now: Instant,
    ) -> Option<(SessionEvent<'_>, Sender<'_, S, E>)> {
        let found = match failed {
            Some(info) => self.closed(info),
            None => self.step(now)?,
        };
        #[cfg(feature = "deflate")]
        let inflated = &self.inflated[..];
        #[cfg(not(feature = "deflate"))]
        let inflated: &[u8] = &[];
        let sender = Sender {
            conn: &mut self.conn,
            tx: &mut self.tx,
        };
        if let Found::Message(kind, at) = found {
            self.last_message = Some((kind, at.clone()));
            let message = whole_message(kind, at, self.rx.as_slice(), inflated);
            return Some((message_event(message), sender));
        }
        let limits = head_limits(sender.conn.config());
        Some((event(found, self.rx.as_slice(), inflated, &limits), sender))
    }

    /// The output side alone: what [`poll_event_with_sender`](Self::poll_event_with_sender)
    /// hands out beside an event.
    pub fn sender(&mut self) -> Sender<'_, S, E> {
        Sender {
            conn: &mut self.conn,
            tx: &mut self.tx,
        }
    }

    /// The whole message ([`SessionEvent::Text`] or [`SessionEvent::Binary`]) that the last
    /// [`poll_event`](Self::poll_event) returned, again, until the next `poll_event` or
    /// [`read_buf`](Self::read_buf) (which may overwrite it); `None` if that event was not a
    /// whole message.
    ///
    /// For an adapter whose loop polls events and returns a message to its caller: a borrow
    /// returned from one branch of a loop keeps the session borrowed in every other branch
    /// (a limit of today's borrow checker), so such a loop stops at the message and takes it
    /// here after the loop.
    pub fn last_message(&self) -> Option<crate::message::Message<'_>> {
        let (kind, at) = self.last_message.clone()?;
        Some(whole_message(kind, at, self.rx.as_slice(), self.inflated()))
    }

    /// The inflate buffer (empty without the feature `deflate`).
    fn inflated(&self) -> &[u8] {
        #[cfg(feature = "deflate")]
        return &self.inflated;
        #[cfg(not(feature = "deflate"))]
        &[]
    }

    // ---- timers ---------------------------------------------------------------------------

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.conn.poll_timeout()
    }

    /// Fires due timers; a keepalive ping or a failure's close frame goes to the output.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.conn.handle_timeout(now);
        self.tx.take_queued(&mut self.conn);
    }

    // ---- handshake --------------------------------------------------------------------------

    /// Client: writes the opening handshake request to the output, offering permessage-deflate
    /// if configured (unless `request` already offers it).
    ///
    /// # Errors
    ///
    /// As [`Connection::connect`].
    pub fn connect(&mut self, request: &ClientRequest<'_>, now: Instant) -> Result<(), Error> {
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self.config.deflate {
            let already = request.extensions.iter().any(|e| {
                e.split(';').next().map(str::trim) == Some(crate::deflate::EXTENSION_NAME)
            });
            if !already {
                let offer = deflate.offer();
                let mut extensions = [""; 9];
                let n = request.extensions.len();
                if n >= extensions.len() {
                    return Err(Error::TooManyOffers);
                }
                extensions[..n].copy_from_slice(request.extensions);
                extensions[n] = offer.as_str();
                let request = ClientRequest {
                    extensions: &extensions[..=n],
                    ..*request
                };
                let conn = &mut self.conn;
                self.tx
                    .write(CONTROL_ROOM, |out| conn.connect(&request, now, out))?;
                self.offered = true;
                return Ok(());
            }
        }
        let conn = &mut self.conn;
        self.tx
            .write(CONTROL_ROOM, |out| conn.connect(request, now, out))
    }

    /// Server: answers the pending request with what `decide` returns for it. With
    /// permessage-deflate configured and offered, it is negotiated and switched on.
    ///
    /// ```
    /// use wsproto::session::{Answer, Session, SessionConfig, SessionEvent};
    /// use wsproto::{Config, Connection, ReadyState};
    /// use wsproto::handshake::AcceptOptions;
    /// use wsproto::time::Instant;
    ///
    /// let now = Instant::from_millis(0);
    /// let conn = Connection::server(Config::default(), now).unwrap();
    /// let mut session = Session::new(conn, SessionConfig::default(), Vec::new(), Vec::new());
    /// session.feed(b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
    ///     Sec-WebSocket-Protocol: chat.v2, chat.v1\r\n\r\n");
    /// assert!(matches!(session.poll_event(now), Some(SessionEvent::Request(_))));
    /// let ours = ["chat.v1"];
    /// session.answer(|request| {
    ///     let chosen = request.subprotocols().find(|p| ours.contains(p));
    ///     Answer::Accept(AcceptOptions { subprotocol: chosen, ..AcceptOptions::new() })
    /// }).unwrap();
    /// assert_eq!(session.state(), ReadyState::Open);
    /// assert!(session.output().ends_with(b"Sec-WebSocket-Protocol: chat.v1\r\n\r\n"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NoPendingHandshake`] without a pending request; otherwise as
    /// [`Connection::accept`] and [`Connection::reject`].
    #[cfg(feature = "server")]
    pub fn answer<'a, F>(&'a mut self, decide: F) -> Result<(), Error>
    where
        F: FnOnce(&Request<'a>) -> Answer<'a>,
    {
        let Some(head) = self.request.clone() else {
            return Err(Error::NoPendingHandshake);
        };
        let limits = head_limits(self.conn.config());
        let Session {
            conn,
            rx,
            tx,
            request,
            #[cfg(feature = "deflate")]
            config,
            ..
        } = self;
        let rx: &'a S = rx;
        let Ok(Some(parsed)) = parse_request(&rx.as_slice()[head], &limits) else {
            // The connection parsed these very bytes already.
            return Err(Error::NoPendingHandshake);
        };
        match decide(&parsed) {
            Answer::Accept(options) => {
                #[cfg(feature = "deflate")]
                let negotiated = match (config.deflate, options.extensions) {
                    (Some(deflate), None) => deflate.negotiate(parsed.extensions()),
                    _ => None,
                };
                #[cfg(feature = "deflate")]
                if let Some(params) = negotiated {
                    let response = params.response();
                    let options = AcceptOptions {
                        extensions: Some(response.as_str()),
                        ..options
                    };
                    tx.write(CONTROL_ROOM, |out| conn.accept(&options, out))?;
                    conn.enable_deflate(params)?;
                } else {
                    tx.write(CONTROL_ROOM, |out| conn.accept(&options, out))?;
                }
                #[cfg(not(feature = "deflate"))]
                tx.write(CONTROL_ROOM, |out| conn.accept(&options, out))?;
            }
            Answer::Reject(rejection) => tx.write(CONTROL_ROOM + rejection.body.len(), |out| {
                conn.reject(&rejection, out)
            })?,
            Answer::Later => return Ok(()),
        }
        *request = None;
        tx.take_queued(conn);
        Ok(())
    }

    /// Server: accepts the pending request with `options` (see [`answer`](Self::answer)).
    ///
    /// # Errors
    ///
    /// As [`answer`](Self::answer).
    #[cfg(feature = "server")]
    pub fn accept(&mut self, options: &AcceptOptions<'_>) -> Result<(), Error> {
        let options = *options;
        self.answer(move |_| Answer::Accept(options))
    }

    /// Server: refuses the pending request (see [`answer`](Self::answer)), e.g. with
    /// `Rejection::new(404)`; the session is then CLOSED once the response is written.
    #[cfg(feature = "server")]
    pub fn reject(&mut self, rejection: Rejection<'_>) -> Result<(), Error> {
        self.answer(move |_| Answer::Reject(rejection))
    }

    /// Switches permessage-deflate on with parameters negotiated elsewhere (a connection from
    /// [`Connection::open`] whose HTTP library did the handshake).
    ///
    /// # Errors
    ///
    /// As [`Connection::enable_deflate`].
    #[cfg(feature = "deflate")]
    pub fn enable_deflate(&mut self, params: DeflateParams) -> Result<(), Error> {
        self.conn.enable_deflate(params)
    }

    // ---- output -----------------------------------------------------------------------------

    /// Queues a whole text message ([`Sender::send_text`]).
    ///
    /// # Errors
    ///
    /// As [`Sender::send_text`].
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.sender().send_text(text)
    }

    /// Queues a whole message ([`Sender::send_message`]).
    ///
    /// # Errors
    ///
    /// As [`Sender::send_text`].
    pub fn send_message(&mut self, message: crate::message::Message<'_>) -> Result<(), Error> {
        self.sender().send_message(message)
    }

    /// Queues a whole binary message ([`Sender::send_binary`]).
    ///
    /// # Errors
    ///
    /// As [`Sender::send_text`].
    pub fn send_binary(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.sender().send_binary(bytes)
    }

    /// Queues one frame of a message ([`Sender::send`]).
    ///
    /// # Errors
    ///
    /// As [`Sender::send_text`].
    pub fn send(&mut self, kind: DataKind, data: &[u8], fin: bool) -> Result<(), Error> {
        self.sender().send(kind, data, fin)
    }

    /// Queues a ping ([`Sender::ping`]).
    ///
    /// # Errors
    ///
    /// As [`Connection::ping`].
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.sender().ping(payload)
    }

    /// Queues an unsolicited pong ([`Sender::pong`]).
    ///
    /// # Errors
    ///
    /// As [`Connection::pong`].
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.sender().pong(payload)
    }

    /// Starts the closing handshake ([`Sender::close`]).
    ///
    /// # Errors
    ///
    /// As [`Connection::close`].
    pub fn close(&mut self, code: CloseCode, reason: &str, now: Instant) -> Result<(), Error> {
        self.sender().close(code, reason, now)
    }

    /// The bytes to write to the transport, in order: everything queued so far, so one write
    /// (or one `writev`) carries every frame produced since the last one.
    pub fn output(&self) -> &[u8] {
        &self.tx.buf.as_slice()[self.tx.start..self.tx.end]
    }

    /// Reports that the first `n` bytes of [`output`](Self::output) were written.
    ///
    /// # Panics
    ///
    /// If `n` exceeds the output's length (a caller bug).
    pub fn advance_output(&mut self, n: usize) {
        assert!(n <= self.tx.pending(), "advance_output beyond output");
        self.tx.start += n;
        if self.tx.start == self.tx.end {
            self.tx.start = 0;
            self.tx.end = 0;
            self.tx.buf.shrink_to(self.config.keep_capacity);
        }
    }

    /// True when the output is written and the connection asks for the transport's write side
    /// to be shut down (RFC 6455 §7.1.1: the server closes the TCP connection first; a failed
    /// connection closes at once). Call [`shutdown_done`](Self::shutdown_done) once done.
    pub fn wants_shutdown(&self) -> bool {
        self.tx.shutdown && self.tx.pending() == 0
    }

    /// Records that the transport's write side was shut down.
    pub fn shutdown_done(&mut self) {
        self.tx.shutdown = false;
    }

    // ---- internals --------------------------------------------------------------------------

    /// Too much output waits (or fixed output storage has no room for queued control frames):
    /// input must wait.
    fn output_blocked(&self) -> bool {
        let pending = self.tx.pending();
        pending > self.config.output_high_water
            || self.tx.buf.capacity_limit() - pending < CONTROL_ROOM
    }

    /// Where the input still needed starts: the message being assembled, or else the
    /// unconsumed input.
    fn needed_input_start(&self) -> usize {
        if self.asm_start < self.asm_end {
            self.asm_start
        } else {
            self.rx_start
        }
    }

    /// Re-bases every position in `rx` after its bytes from `from` on moved to its front.
    fn shift_input_down(&mut self, from: usize) {
        for at in [
            &mut self.asm_start,
            &mut self.asm_end,
            &mut self.rx_start,
            &mut self.rx_end,
            &mut self.frame_end,
        ] {
            *at = at.saturating_sub(from);
        }
    }

    /// Moves the message being assembled and the unconsumed input to the front of `rx`.
    fn compact(&mut self) {
        if self.request.is_some() {
            return;
        }
        let from = self.needed_input_start();
        if from == 0 {
            return;
        }
        self.rx.as_mut_slice().copy_within(from..self.rx_end, 0);
        self.shift_input_down(from);
    }

    /// Inside a data frame whose message is held whole: makes room for the rest of the frame
    /// behind the input and sizes the next reads to reach its end (the connection says how much
    /// is still to come), so that the frame ends up whole where its first piece landed. Each
    /// piece still goes through the connection as it arrives (unmasked in place, text validated,
    /// failing fast: RFC 6455 §8.1).
    fn size_for_frame(&mut self) {
        self.frame_end = 0;
        if !self.in_frame || self.inflating_chunk() {
            return;
        }
        let so_far = match self.assembly {
            Assembly::Whole(_) => (self.asm_end - self.asm_start) as u64,
            Assembly::Idle | Assembly::Chunked(_) => return,
        };
        let Some(remaining) = self.conn.frame_remaining() else {
            return;
        };
        // The connection checked the frame against its limits when its header came.
        if so_far.saturating_add(remaining) > self.config.max_whole_message {
            return;
        }
        let Ok(remaining) = usize::try_from(remaining) else {
            return;
        };
        // The unprocessed input starts inside the frame's payload.
        let end = self.rx_start.saturating_add(remaining);
        if self.rx.as_slice().len() < end {
            // In front of a message that starts the input there is at most its own header:
            // growing keeps the message where it was read, and the storage then holds the
            // next frame of that size, header included, in one read. Moving the message down
            // over those few bytes would copy it again, and again for every such frame.
            let grown_in_place =
                self.needed_input_start() <= MAX_HEADER_LEN && self.rx.grow_to(end);
            if !grown_in_place {
                self.compact();
                if !self.rx.grow_to(self.rx_start.saturating_add(remaining)) {
                    // Fixed storage too small: the frame streams through it instead.
                    return;
                }
            }
        }
        self.frame_end = self.rx_start + remaining;
    }

    /// Forgets what the previous event handed out.
    fn forget_delivered(&mut self) {
        match self.delivered {
            Delivered::Nothing => {}
            Delivered::Assembled => (self.asm_start, self.asm_end) = (self.rx_start, self.rx_start),
            #[cfg(feature = "deflate")]
            Delivered::Inflated => self.inflated_len = 0,
        }
        self.delivered = Delivered::Nothing;
        if self.rx_start == self.rx_end && self.asm_start == self.asm_end && self.request.is_none()
        {
            (self.rx_start, self.rx_end, self.frame_end) = (0, 0, 0);
            (self.asm_start, self.asm_end) = (0, 0);
            let keep = self.config.keep_capacity;
            if !self.rx_lent
                && self.rx.as_slice().len() > keep
                && (self.rx_peak <= keep || keep == 0)
            {
                self.rx.shrink_to(self.config.keep_capacity);
            }
            self.rx_peak = 0;
        }
    }

    /// The connection's fast case, tried first where `step` would only receive (nothing to
    /// drain, no request, no frame in progress, input not blocked, no end of input): a whole
    /// message at the front of the input, as its place in `rx`, or how the connection ended
    /// when it broke a rule. It leaves the session as `step` leaves it after the same message;
    /// `None` changes nothing (but the inflate buffer's room, made as `step` makes it).
    #[inline(always)]
    fn receive_whole(
        &mut self,
        now: Instant,
    ) -> Option<Result<(DataKind, Range<usize>), CloseInfo>> {
        if self.tx.undrained
            || self.closed_delivered
            || self.request.is_some()
            || self.in_frame
            || self.eof
            || self.output_blocked()
        {
            return None;
        }
        // As `receive_once` does before each receive.
        #[cfg(feature = "deflate")]
        if self.conn.deflate_params().is_some() {
            self.grow_inflated();
        }
        let start = self.rx_start;
        let input = &mut self.rx.as_mut_slice()[start..self.rx_end];
        let whole = match self.conn.receive_whole(input, now) {
            Whole::No => return None,
            Whole::Message {
                kind,
                header_len,
                len,
            } => {
                let at = start + header_len;
                self.rx_start = at + len;
                Ok((kind, at..at + len))
            }
            Whole::Failed(err) => {
                self.rx_start = self.rx_end;
                Err(self.conn.fail_reported(err))
            }
        };
        // What `size_for_frame` and `data` leave between messages.
        self.frame_end = 0;
        self.assembly = Assembly::Idle;
        #[cfg(feature = "deflate")]
        {
            self.inflating = false;
        }
        Some(whole)
    }

    /// Processes input until something is found (what the last event handed out is
    /// forgotten already).
    fn step(&mut self, now: Instant) -> Option<Found> {
        if self.tx.undrained {
            self.tx.take_queued(&mut self.conn);
        }
        loop {
            if self.closed_delivered || self.request.is_some() {
                return None;
            }
            if self.output_blocked() && self.conn.state() != ReadyState::Closed {
                return None;
            }
            if !self.eof {
                self.size_for_frame();
            }
            let found = self.receive_once(now);
            match found {
                Receipt::Found(found) => return Some(found),
                Receipt::Continue => {}
                Receipt::NeedInput if self.eof && self.conn.state() != ReadyState::Closed => {
                    // Everything buffered is processed: now the end of input counts.
                    self.conn.receive_eof(now);
                }
                Receipt::NeedInput => return None,
            }
        }
    }

    /// One `Connection::receive` call.
    fn receive_once(&mut self, now: Instant) -> Receipt {
        let start = self.rx_start;
        let rx_len = self.rx.as_slice().len();
        let base = self.rx.as_slice().as_ptr() as usize;
        #[cfg(feature = "deflate")]
        let inflating = self.conn.deflate_params().is_some();
        #[cfg(feature = "deflate")]
        if inflating {
            self.grow_inflated();
        }
        let empty_is_inflated = self.inflating_chunk();
        let input = &mut self.rx.as_mut_slice()[start..self.rx_end];
        // Without compression agreed the scratch is never written: an empty one will do. The
        // connection's fast case was tried already (`receive_whole`).
        self.conn.tick(now);
        #[cfg(feature = "deflate")]
        let received = if inflating {
            let scratch = &mut self.inflated[self.inflated_len..];
            self.conn.receive_general(input, scratch)
        } else {
            self.conn.receive_general(input, &mut [])
        };
        #[cfg(not(feature = "deflate"))]
        let received = self.conn.receive_general(input, &mut []);
        self.rx_start += received.consumed;
        // Positions in `rx` of what the event borrows, so that no borrow outlives this call.
        let in_rx = |bytes: &[u8]| {
            let at = (bytes.as_ptr() as usize).wrapping_sub(base);
            (at <= rx_len).then_some(at..at + bytes.len())
        };
        let span = |bytes: &[u8]| in_rx(bytes).unwrap_or(0..0);
        let raw = match received.event {
            None => Raw::None,
            Some(Event::Request(request)) => {
                Raw::Other(Found::Request(start..start + request.head_len()))
            }
            Some(Event::Accepted(response)) => {
                let subprotocol = response.subprotocol().map(|p| span(p.as_bytes()));
                #[cfg(feature = "deflate")]
                if let (Some(deflate), true) = (self.config.deflate, self.offered) {
                    // An invalid response fails the connection; `Closed` follows.
                    let _ = self.conn.accept_deflate_response(&deflate, &response);
                }
                Raw::Other(Found::Accepted(subprotocol))
            }
            Some(Event::Data {
                kind,
                chunk,
                message_start,
                frame_fin,
                message_fin,
            }) => {
                // Inflated bytes lie in the inflate buffer, right behind those before them.
                let at = match in_rx(chunk) {
                    Some(range) if !(chunk.is_empty() && !message_start && empty_is_inflated) => {
                        Place::Rx(range)
                    }
                    #[cfg(feature = "deflate")]
                    _ => Place::Inflated(self.inflated_len..self.inflated_len + chunk.len()),
                    #[cfg(not(feature = "deflate"))]
                    _ => Place::Rx(0..0),
                };
                Raw::Data(kind, at, [message_start, frame_fin, message_fin])
            }
            Some(Event::Ping(payload)) => Raw::Other(Found::Ping(span(payload))),
            Some(Event::Pong(payload)) => Raw::Other(Found::Pong(span(payload))),
            Some(Event::CloseReceived { code, reason }) => {
                Raw::Other(Found::CloseReceived(code, span(reason.as_bytes())))
            }
            Some(Event::Closed(info)) => Raw::Other(Found::Closed(info)),
        };
        match raw {
            Raw::None => {
                self.tx.take_queued(&mut self.conn);
                Receipt::NeedInput
            }
            Raw::Other(Found::Request(head)) => {
                self.request = Some(head.clone());
                Receipt::Found(Found::Request(head))
            }
            Raw::Other(Found::Accepted(subprotocol)) => {
                self.tx.take_queued(&mut self.conn);
                Receipt::Found(Found::Accepted(subprotocol))
            }
            Raw::Data(kind, at, [message_start, frame_fin, message_fin]) => {
                self.in_frame = !frame_fin;
                self.data(kind, at, message_start, message_fin)
            }
            Raw::Other(Found::Ping(at)) => {
                self.tx.take_queued(&mut self.conn);
                Receipt::Found(Found::Ping(at))
            }
            // Pongs need nothing; data is never `Other`.
            Raw::Other(found @ (Found::Pong(_) | Found::Message(..) | Found::Chunk { .. })) => {
                Receipt::Found(found)
            }
            Raw::Other(Found::CloseReceived(code, at)) => {
                let reason = &self.rx.as_slice()[at.clone()];
                self.close_reason = CloseReason::from_bytes(reason);
                self.tx.take_queued(&mut self.conn);
                Receipt::Found(Found::CloseReceived(code, at))
            }
            Raw::Other(Found::Closed(info)) => Receipt::Found(self.closed(info)),
        }
    }

    /// The connection is CLOSED: its last frames go to the output, and `Closed` is handed out.
    fn closed(&mut self, info: CloseInfo) -> Found {
        self.tx.take_queued(&mut self.conn);
        self.closed_delivered = true;
        self.in_frame = false;
        Found::Closed(info)
    }

    /// Whether the message in progress comes from the inflater: a non-empty chunk says where
    /// it came from by where it lies, an empty one that continues a message belongs to the
    /// message's source (an empty first chunk is the same either way).
    #[cfg(feature = "deflate")]
    fn inflating_chunk(&self) -> bool {
        self.inflating
    }

    #[cfg(not(feature = "deflate"))]
    fn inflating_chunk(&self) -> bool {
        false
    }

    /// Makes room in the inflate buffer for the next inflating receive: at least
    /// `INFLATE_STEP` bytes, doubling, never past what the message limit allows.
    #[cfg(feature = "deflate")]
    fn grow_inflated(&mut self) {
        let spare = self.inflated.len() - self.inflated_len;
        if spare >= INFLATE_STEP {
            return;
        }
        let limit = usize::try_from(self.conn.config().max_message_size)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        let want = (self.inflated_len + INFLATE_STEP)
            .max(self.inflated.len() * 2)
            .min(limit.max(self.inflated_len + INFLATE_STEP));
        if want > self.inflated.len()
            && self
                .inflated
                .try_reserve_exact(want - self.inflated.len())
                .is_ok()
        {
            self.inflated.resize(want, 0);
        }
    }

    /// A data chunk: hands it out, or adds it to the message being assembled.
    fn data(&mut self, kind: DataKind, at: Place, start: bool, fin: bool) -> Receipt {
        if start {
            self.assembly = Assembly::Whole(kind);
        }
        #[cfg(feature = "deflate")]
        {
            self.inflating = matches!(at, Place::Inflated(_)) && !fin;
        }
        if self.assembly == Assembly::Chunked(kind) {
            if fin {
                self.assembly = Assembly::Idle;
            }
            self.delivered = match at {
                Place::Rx(_) => Delivered::Nothing,
                #[cfg(feature = "deflate")]
                Place::Inflated(_) => Delivered::Inflated,
            };
            return Receipt::Found(Found::Chunk {
                kind,
                at,
                first: false,
                last: fin,
            });
        }
        let (place, whole) = match at {
            // One piece: hand it out where it lies.
            Place::Rx(range) if start && fin => {
                self.assembly = Assembly::Idle;
                return Receipt::Found(Found::Message(kind, Place::Rx(range)));
            }
            Place::Rx(range) => {
                // Add to the message in `rx[asm_start..asm_end]`: the chunk lies at or after
                // its end, right at it unless a frame header came between (then it moves down).
                if self.asm_start == self.asm_end {
                    (self.asm_start, self.asm_end) = (range.start, range.start);
                }
                let len = range.len();
                if range.start != self.asm_end {
                    self.rx.as_mut_slice().copy_within(range, self.asm_end);
                }
                self.asm_end += len;
                let size = self.asm_end - self.asm_start;
                // Fixed storage keeps room behind the message for a header and a control frame.
                let fits = size.saturating_add(MIN_INPUT) <= self.rx.capacity_limit();
                self.delivered = Delivered::Assembled;
                (
                    Place::Rx(self.asm_start..self.asm_end),
                    fits && size as u64 <= self.config.max_whole_message,
                )
            }
            #[cfg(feature = "deflate")]
            Place::Inflated(range) => {
                // Inflated in place, right behind the bytes before it.
                self.inflated_len = range.end;
                self.delivered = Delivered::Inflated;
                (
                    Place::Inflated(0..self.inflated_len),
                    self.inflated_len as u64 <= self.config.max_whole_message,
                )
            }
        };
        if whole && !fin {
            self.delivered = Delivered::Nothing;
            return Receipt::Continue;
        }
        self.assembly = if fin {
            Assembly::Idle
        } else {
            Assembly::Chunked(kind)
        };
        if whole {
            return Receipt::Found(Found::Message(kind, place));
        }
        Receipt::Found(Found::Chunk {
            kind,
            at: place,
            first: true,
            last: fin,
        })
    }
}

/// The limits a request head was parsed with, to parse it again.
fn head_limits(config: &crate::config::Config) -> HeadLimits {
    HeadLimits {
        max_head_len: config.max_head_len,
        max_headers: config.max_headers,
    }
}

/// The whole message of `kind` at `at`, in `rx` or the inflate buffer.
#[inline(always)]
fn whole_message<'a>(
    kind: DataKind,
    at: Place,
    rx: &'a [u8],
    inflated: &'a [u8],
) -> crate::message::Message<'a> {
    let bytes = at.bytes(rx, inflated);
    match kind {
        DataKind::Text => crate::message::Message::Text(validated_text(bytes)),
        DataKind::Binary => crate::message::Message::Binary(bytes),
    }
}

/// A whole message as its event.
#[inline(always)]
fn message_event(message: crate::message::Message<'_>) -> SessionEvent<'_> {
    match message {
        crate::message::Message::Text(text) => SessionEvent::Text(text),
        crate::message::Message::Binary(bytes) => SessionEvent::Binary(bytes),
    }
}

/// The public event for what [`Session::step`] found in `rx` or the inflate buffer.
fn event<'a>(
    found: Found,
    rx: &'a [u8],
    inflated: &'a [u8],
    limits: &HeadLimits,
) -> SessionEvent<'a> {
    match found {
        Found::Request(head) => match parse_request(&rx[head], limits) {
            Ok(Some(request)) => SessionEvent::Request(request),
            // The connection parsed these very bytes already.
            _ => SessionEvent::Closed(ABNORMAL),
        },
        Found::Accepted(subprotocol) => SessionEvent::Accepted {
            subprotocol: subprotocol.and_then(|r| core::str::from_utf8(&rx[r]).ok()),
        },
        Found::Message(kind, at) => message_event(whole_message(kind, at, rx, inflated)),
        Found::Chunk {
            kind,
            at,
            first,
            last,
        } => SessionEvent::Chunk {
            kind,
            data: at.bytes(rx, inflated),
            first,
            last,
        },
        Found::Ping(at) => SessionEvent::Ping(&rx[at]),
        Found::Pong(at) => SessionEvent::Pong(&rx[at]),
        Found::CloseReceived(code, at) => SessionEvent::CloseReceived {
            code,
            // The connection checked the reason is UTF-8 (§7.4): this pass is ≤ 123 bytes.
            reason: core::str::from_utf8(&rx[at]).unwrap_or(""),
        },
        Found::Closed(info) => SessionEvent::Closed(info),
    }
}

/// The output side of a [`Session`]: queues frames into its output. Borrowed from the session
/// by [`Session::sender`] or beside an event by [`Session::poll_event_with_sender`].
#[derive(Debug)]
pub struct Sender<'a, S, E> {
    conn: &'a mut SessionConnection<E>,
    tx: &'a mut Outbox<S>,
}

impl<S: Storage, E: Entropy> Sender<'_, S, E> {
    /// Queues a whole text message.
    ///
    /// # Errors
    ///
    /// As [`Connection::send`]; [`Error::BufferTooSmall`] if fixed output storage cannot take
    /// the frame now (write the output, then try again).
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send(DataKind::Text, text.as_bytes(), true)
    }

    /// Queues a whole message.
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub fn send_message(&mut self, message: crate::message::Message<'_>) -> Result<(), Error> {
        match message {
            crate::message::Message::Text(text) => self.send_text(text),
            crate::message::Message::Binary(bytes) => self.send_binary(bytes),
        }
    }

    /// Queues a whole binary message.
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub fn send_binary(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.send(DataKind::Binary, bytes, true)
    }

    /// Queues one frame of a message: `fin = false` leaves the message open for more (see
    /// [`Connection::send`]). Compressed when permessage-deflate is on and the message is long
    /// enough.
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub fn send(&mut self, kind: DataKind, data: &[u8], fin: bool) -> Result<(), Error> {
        let conn = &mut *self.conn;
        self.tx
            .write(frame_len(data.len(), true) + CONTROL_ROOM, |out| {
                conn.send(kind, data, fin, out)
            })
    }

    /// Queues a ping.
    ///
    /// # Errors
    ///
    /// As [`Connection::ping`].
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        let conn = &mut *self.conn;
        self.tx.write(CONTROL_ROOM, |out| conn.ping(payload, out))
    }

    /// Queues an unsolicited pong.
    ///
    /// # Errors
    ///
    /// As [`Connection::pong`].
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        let conn = &mut *self.conn;
        self.tx.write(CONTROL_ROOM, |out| conn.pong(payload, out))
    }

    /// Starts the closing handshake (or answers the peer's close when `auto_close_reply` is
    /// off).
    ///
    /// # Errors
    ///
    /// As [`Connection::close`].
    pub fn close(&mut self, code: CloseCode, reason: &str, now: Instant) -> Result<(), Error> {
        let conn = &mut *self.conn;
        self.tx
            .write(CONTROL_ROOM, |out| conn.close(code, reason, now, out))?;
        self.tx.take_queued(self.conn);
        Ok(())
    }

    /// Bytes waiting to be written to the transport.
    pub fn buffered_amount(&self) -> usize {
        self.tx.pending()
    }
}

/// Grows the inflate buffer by at least this much before each inflating receive.
#[cfg(feature = "deflate")]
const INFLATE_STEP: usize = 16 * 1024;

/// What one receive call gave, as positions: a data chunk still to be placed, or anything
/// else as it will be handed out.
enum Raw {
    None,
    /// A chunk: its kind, where it lies, and whether it starts the message, ends its frame,
    /// ends the message.
    Data(DataKind, Place, [bool; 3]),
    Other(Found),
}

/// What [`Session::receive_once`] leads to.
enum Receipt {
    Found(Found),
    Continue,
    NeedInput,
}

const ABNORMAL: CloseInfo = CloseInfo {
    clean: false,
    code: CloseCode::ABNORMAL,
    error: None,
};

/// The peer's close reason (at most 123 bytes, §5.5.1), kept for after its event: on the heap
/// with the feature `alloc` (a connection without one holds nothing), inline otherwise.
#[derive(Debug)]
struct CloseReason {
    #[cfg(feature = "alloc")]
    bytes: alloc::vec::Vec<u8>,
    #[cfg(not(feature = "alloc"))]
    bytes: [u8; MAX_CONTROL_PAYLOAD - 2],
    #[cfg(not(feature = "alloc"))]
    len: u8,
}

impl CloseReason {
    #[cfg(feature = "alloc")]
    const EMPTY: CloseReason = CloseReason {
        bytes: alloc::vec::Vec::new(),
    };
    #[cfg(not(feature = "alloc"))]
    const EMPTY: CloseReason = CloseReason {
        bytes: [0; MAX_CONTROL_PAYLOAD - 2],
        len: 0,
    };

    #[cfg(feature = "alloc")]
    fn from_bytes(reason: &[u8]) -> CloseReason {
        CloseReason {
            bytes: reason.to_vec(),
        }
    }

    #[cfg(not(feature = "alloc"))]
    fn from_bytes(reason: &[u8]) -> CloseReason {
        let mut kept = CloseReason::EMPTY;
        let len = reason.len().min(kept.bytes.len());
        kept.bytes[..len].copy_from_slice(&reason[..len]);
        kept.len = len as u8;
        kept
    }

    #[cfg(feature = "alloc")]
    fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    #[cfg(not(feature = "alloc"))]
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// The output: `buf[start..end]` waits to be written.
#[derive(Debug)]
struct Outbox<S> {
    buf: S,
    start: usize,
    end: usize,
    /// The connection asked for the write side to be shut down after the output.
    shutdown: bool,
    /// The connection still holds queued frames that did not fit.
    undrained: bool,
}

impl<S: Storage> Outbox<S> {
    fn pending(&self) -> usize {
        self.end - self.start
    }

    /// Makes `room` bytes writable at `end`: moves the output to the front, or grows (by at
    /// least doubling, so that many small writes cost amortised O(1) each).
    fn reserve(&mut self, room: usize) -> bool {
        let len = self.buf.as_slice().len();
        if len - self.end >= room {
            return true;
        }
        if self.start > 0 {
            self.buf.as_mut_slice().copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if len - self.end >= room {
                return true;
            }
        }
        self.buf.grow_to((self.end + room).max(len * 2)) || self.buf.grow_to(self.end + room)
    }

    /// Runs `write` on the free space behind the output, `room` bytes of it if possible, then
    /// as many as the connection says it needs.
    fn write(
        &mut self,
        room: usize,
        mut write: impl FnMut(&mut [u8]) -> Result<usize, Error>,
    ) -> Result<(), Error> {
        let _ = self.reserve(room);
        let written = match write(&mut self.buf.as_mut_slice()[self.end..]) {
            Err(Error::BufferTooSmall { needed }) if self.reserve(needed) => {
                write(&mut self.buf.as_mut_slice()[self.end..])?
            }
            other => other?,
        };
        self.end += written;
        Ok(())
    }

    /// Moves what the connection has queued (pongs, close frames, keepalive pings, a handshake
    /// error response) into the output.
    fn take_queued<E: Entropy, X: Receiving>(&mut self, conn: &mut Connection<E, X>) {
        self.undrained = false;
        loop {
            // Room is made only when something is queued: an idle connection's output stays
            // unallocated.
            match conn.poll_transmit(&mut self.buf.as_mut_slice()[self.end..]) {
                Ok(Transmit::Bytes(n)) => self.end += n,
                Ok(Transmit::ShutdownWrite) => {
                    self.shutdown = true;
                    return;
                }
                Ok(Transmit::Nothing) => return,
                Err(Error::BufferTooSmall { needed }) if self.reserve(needed.max(CONTROL_ROOM)) => {
                }
                Err(_) => {
                    self.undrained = true;
                    return;
                }
            }
        }
    }
}

/// A whole text message as `&str`, without validating it a second time.
///
/// The bytes are exactly a message the connection delivered as text, chunk after chunk in
/// order, each fed to its incoming UTF-8 validator, which was finished at the message's end
/// (`Connection::end_data_chunk`, RFC 6455 §8.1), or, when it arrived whole in one input,
/// checked whole by `utf8::from_utf8` (`Connection::receive_whole_message`): they are valid
/// UTF-8.
#[allow(unsafe_code)]
fn validated_text(bytes: &[u8]) -> &str {
    debug_assert!(core::str::from_utf8(bytes).is_ok(), "text not validated");
    // SAFETY: the invariant above: `bytes` is one whole text message, every byte of which the
    // connection's UTF-8 check accepted in order and finished (no truncated character), so
    // it is valid UTF-8. The session's tests (`session::tests`, run under Miri in CI) check
    // every whole text message again with `from_utf8` in debug builds (the assertion above).
    unsafe { core::str::from_utf8_unchecked(bytes) }
}

/// The session's paths to its one `unsafe` block (`validated_text`), small enough for Miri:
/// whole text in place, assembled from fragments, inflated, and invalid text that must never
/// reach it. `scripts/test` runs these under Miri.
#[cfg(all(test, feature = "alloc"))]
mod tests {
    use alloc::vec::Vec;

    use super::*;
    use crate::Role;
    use crate::config::Config;
    use crate::entropy::NoEntropy;
    use crate::mask::apply_mask;

    fn server() -> Session<Vec<u8>> {
        let conn = Connection::open(
            Config::default(),
            Role::Server,
            NoEntropy,
            Instant::default(),
        );
        Session::new(
            conn.unwrap(),
            SessionConfig::default(),
            Vec::new(),
            Vec::new(),
        )
    }

    /// A client's frame with a fixed mask.
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        assert!(payload.len() < 126);
        let key = [1, 2, 3, 4];
        let mut out = Vec::from([first, 0x80 | payload.len() as u8]);
        out.extend_from_slice(&key);
        let start = out.len();
        out.extend_from_slice(payload);
        apply_mask(&mut out[start..], key, 0);
        out
    }

    fn texts(session: &mut Session<Vec<u8>>) -> Vec<alloc::string::String> {
        let mut got = Vec::new();
        while let Some(event) = session.poll_event(Instant::default()) {
            match event {
                SessionEvent::Text(text) => got.push(text.into()),
                SessionEvent::Closed(info) => got.push(alloc::format!("closed {}", info.code)),
                _ => {}
            }
        }
        got
    }

    #[test]
    fn whole_and_fragmented_text_come_out_as_sent() {
        let mut session = server();
        let mut wire = frame(0x81, "héllo €".as_bytes());
        let bytes = "ça 𝄞 va".as_bytes();
        wire.extend(frame(0x01, &bytes[..2]));
        wire.extend(frame(0x80, &bytes[2..]));
        for byte in wire.chunks(3) {
            session.feed(byte);
        }
        assert_eq!(texts(&mut session), ["héllo €", "ça 𝄞 va"]);
    }

    /// In one read: the whole message goes through the connection's fast case and straight to
    /// its event (`receive_whole`), the fragmented one through `step`.
    #[test]
    fn whole_text_in_one_read_comes_out_as_sent() {
        let mut session = server();
        let mut wire = frame(0x81, "héllo €".as_bytes());
        let bytes = "ça 𝄞 va".as_bytes();
        wire.extend(frame(0x01, &bytes[..2]));
        wire.extend(frame(0x80, &bytes[2..]));
        wire.extend(frame(0x81, "𝄞".as_bytes()));
        session.feed(&wire);
        assert_eq!(texts(&mut session), ["héllo €", "ça 𝄞 va", "𝄞"]);
    }

    #[test]
    fn invalid_text_never_reaches_the_unchecked_conversion() {
        let mut session = server();
        // A lone continuation byte, then a truncated 3-byte character at the message's end.
        session.feed(&frame(0x81, b"ok\x80"));
        assert_eq!(texts(&mut session), ["closed 1007"]);
        let mut session = server();
        let mut wire = frame(0x01, b"ok");
        wire.extend(frame(0x80, b"\xe2\x82"));
        session.feed(&wire);
        assert_eq!(texts(&mut session), ["closed 1007"]);
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn inflated_text_comes_out_as_sent() {
        use crate::deflate::DeflateConfig;
        let config = SessionConfig {
            deflate: Some(DeflateConfig::DEFAULT),
            ..SessionConfig::default()
        };
        let entropy = |buf: &mut [u8]| buf.fill(9);
        let client = Connection::client(Config::default(), entropy, Instant::default()).unwrap();
        let mut client = Session::new(client, config, Vec::new(), Vec::new());
        let server = Connection::server(Config::default(), Instant::default()).unwrap();
        let mut server = Session::new(server, config, Vec::new(), Vec::new());
        client
            .connect(&ClientRequest::new("a", "/"), Instant::default())
            .unwrap();
        server.feed(client.output());
        assert!(matches!(
            server.poll_event(Instant::default()),
            Some(SessionEvent::Request(_))
        ));
        server.accept(&AcceptOptions::new()).unwrap();
        client.feed(server.output());
        let n = server.output().len();
        server.advance_output(n);
        let n = client.output().len();
        client.advance_output(n);
        assert!(client.poll_event(Instant::default()).is_some());
        let text = "compressible: €€€€€€€€€€€€€€€€€€€€ ".repeat(4);
        client.send_text(&text).unwrap();
        assert_eq!(client.output()[0] & 0x40, 0x40, "RSV1: compressed");
        server.feed(client.output());
        assert_eq!(texts(&mut server), [text]);
    }
}
