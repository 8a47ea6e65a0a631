//! The connection: a WebSocket endpoint's state machine (RFC 6455 §4–§7).
//!
//! Read RFC 6455 §5.4–§5.5 (fragmentation, control frames) and §7 (closing) first: every rule
//! they state as MUST is enforced here, and cited where it is.
//!
//! [`Connection`] takes a client or a server from CONNECTING through OPEN and CLOSING to CLOSED.
//! It does no IO, reads no clock and owns no RNG: bytes, time and entropy are arguments, events
//! and outbound bytes are results. It allocates nothing, and holds no lifetime: events borrow the
//! caller's input buffer, outbound bytes go into the caller's output buffer.
//!
//! # Methods by kind (call order as in the crate's driving loop)
//!
//! - getters: [`state`](Connection::state), [`role`](Connection::role),
//!   [`close_info`](Connection::close_info), [`config`](Connection::config);
//! - input: [`receive`](Connection::receive) (or [`receive_into`](Connection::receive_into),
//!   which every connection has and one that may inflate must use),
//!   [`receive_eof`](Connection::receive_eof), [`handle_timeout`](Connection::handle_timeout);
//! - mutators that write into `out`: [`connect`](Connection::connect),
//!   [`accept`](Connection::accept), [`reject`](Connection::reject), [`send`](Connection::send),
//!   [`begin_frame`](Connection::begin_frame), [`ping`](Connection::ping),
//!   [`pong`](Connection::pong), [`close`](Connection::close);
//! - output: [`poll_transmit`](Connection::poll_transmit), then
//!   [`poll_timeout`](Connection::poll_timeout).
//!
//! The files follow the concepts: `events.rs` (what the caller is told), `state.rs` (the struct,
//! what it remembers, the constructors), `handshake.rs` (§4), `receive.rs` (§5 and §8.1
//! inbound), `send.rs` (framing outbound), `close.rs` (§7 and the timers), `deflate.rs`
//! (RFC 7692).
//!
//! Every mutator that writes data first writes the control frames the connection has queued
//! (pongs, close replies, keepalive pings) into the same output, so a caller that never calls
//! `poll_transmit` between sends still answers pings.
//!
//! # Errors and failures
//!
//! Peer mistakes are events: bad bytes from the peer end the connection with a queued close frame
//! (1002, 1007, 1009 or 1011) and an [`Event::Closed`] whose [`CloseInfo::error`] says what was

mod close;
#[cfg(feature = "deflate")]
mod deflate;
mod events;
#[cfg(test)]
pub(crate) mod fast_path_props;
mod handshake;
mod receive;
mod send;
mod state;

pub use events::{
    CloseInfo, DataKind, Error, Event, FrameStart, ProtocolError, ReadyState, Received, Transmit,
};
#[cfg(feature = "deflate")]
pub use state::PerMessageDeflate;
pub use state::{Connection, Plain, Receiving};

pub(crate) use events::with_control_events;
pub(crate) use receive::Whole;
pub(crate) use send::frame_len;
