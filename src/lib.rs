//! # wsproto: a sans-IO WebSocket state machine
//!
//! `wsproto` implements the WebSocket protocol (RFC 6455) with no IO, no clock, no random
//! number generator, no global state and no allocation in its core. The caller owns every socket,
//! buffer, clock and entropy source; the crate owns the protocol rules, including those RFC 6455
//! says MUST happen: answer pings, echo a close, fail the connection with the right code, let the
//! server close the TCP connection first.
//!
//! ## The driving loop
//!
//! A [`Connection`] is driven in three steps, over and over:
//!
//! 1. **Receive until no progress.** Append what the transport read to your input buffer and call
//!    [`receive`](connection::Connection::receive) with the unconsumed part, dropping `consumed`
//!    bytes each time, until it returns no event. Events borrow your buffer (payloads are unmasked
//!    in place), so handle each one before the next call.
//! 2. **Flush.** Call [`poll_transmit`](connection::Connection::poll_transmit) until it returns
//!    [`Transmit::Nothing`](connection::Transmit::Nothing), writing each
//!    [`Transmit::Bytes`](connection::Transmit::Bytes) to the transport and shutting its write side
//!    down on [`Transmit::ShutdownWrite`](connection::Transmit::ShutdownWrite).
//! 3. **Wait** for more input or for [`poll_timeout`](connection::Connection::poll_timeout),
//!    whichever comes first. On a timeout call
//!    [`handle_timeout`](connection::Connection::handle_timeout); at the end of input,
//!    [`receive_eof`](connection::Connection::receive_eof). Go to 1 (an empty input is fine: it
//!    collects the final [`Event::Closed`]).
//!
//! Sending ([`send`](connection::Connection::send), [`ping`](connection::Connection::ping),
//! [`close`](connection::Connection::close)) writes into an output buffer you pass, and first
//! writes any control frame the connection has queued, so a pong is never forgotten.
//!
//! Here a client and a server talk through two in-memory byte queues:
//!
//! ```
//! use wsproto::config::Config;
//! use wsproto::connection::{Connection, DataKind, Event, Transmit};
//! use wsproto::handshake::{AcceptOptions, ClientRequest};
//! use wsproto::time::Instant;
//!
//! let now = Instant::from_millis(0);
//! let entropy = |buf: &mut [u8]| buf.fill(0x5a); // use a real CSPRNG in production
//! let mut client = Connection::client(Config::default(), entropy, now).unwrap();
//! let mut server = Connection::server(Config::default(), now).unwrap();
//! let mut out = [0u8; 1024];
//!
//! // Client → server: the opening handshake request.
//! let n = client.connect(&ClientRequest::new("example.com", "/chat"), now, &mut out).unwrap();
//! let mut wire = out[..n].to_vec();
//! let r = server.receive(&mut wire, now);
//! assert!(matches!(r.event, Some(Event::Request(ref req)) if req.path() == "/chat"));
//! let n = server.accept(&AcceptOptions::default(), &mut out).unwrap();
//!
//! // Server → client: the 101 response, then a text message in the same bytes.
//! let mut wire = out[..n].to_vec();
//! let n = server.send(DataKind::Text, "hello".as_bytes(), true, &mut out).unwrap();
//! wire.extend_from_slice(&out[..n]);
//! let r = client.receive(&mut wire, now);
//! let consumed = r.consumed;
//! assert!(matches!(r.event, Some(Event::Accepted(_))));
//! let r = client.receive(&mut wire[consumed..], now);
//! assert!(matches!(r.event, Some(Event::Data { chunk: b"hello", message_fin: true, .. })));
//!
//! // Nothing else is queued on either side.
//! assert_eq!(client.poll_transmit(&mut out), Ok(Transmit::Nothing));
//! ```
//!
//! ## The session: the loop written once
//!
//! The loop above leaves the buffers to you. A [`Session`] owns them and runs the loop's
//! receiving half itself, so that an adapter (blocking, async, firmware) only moves bytes: read
//! into [`read_buf`](session::Session::read_buf), take whole messages from
//! [`poll_event`](session::Session::poll_event), write [`output`](session::Session::output).
//! Reads land where a frame will lie whole (one unmask pass, handed out in place), text is
//! validated once, every ping's pong goes to the output in order and input pauses while output
//! backs up, and permessage-deflate (feature `deflate`) is negotiated and applied inside. Its
//! storage is a `Vec<u8>` (feature `alloc`) or memory you lend (`&mut [u8]`, no allocation).
//!
//! ## Three front doors
//!
//! The opening handshake can arrive three ways; all three share one implementation of the
//! RFC 6455 field rules ([`handshake`]), and all end in the same ready-state machine.
//!
//! 1. **Raw HTTP/1.1 on a byte stream** (TCP, TLS): the connection reads and writes the
//!    handshake itself. Start with [`Connection::server`] or
//!    [`Connection::client`], as in the example above.
//! 2. **Upgrade through an HTTP server or client that already parsed the message** (hyper,
//!    axum, …): check the request with
//!    [`check_upgrade_request`](handshake::check_upgrade_request), answer 101 with the fields of
//!    [`upgrade_accept_headers`](handshake::upgrade_accept_headers), and run the upgraded
//!    stream with [`Connection::open`]. A client sends the
//!    fields of [`upgrade_request_headers`](handshake::upgrade_request_headers) and checks the
//!    101 with [`check_upgrade_response`](handshake::check_upgrade_response). (`wsproto-tokio`
//!    does all this in the `http` crate's types with its feature `http`; see the README's
//!    "Integrations".)
//!
//!    ```
//!    use wsproto::{Role, config::Config, entropy::NoEntropy, time::Instant};
//!    use wsproto::connection::{Connection, ReadyState};
//!    use wsproto::handshake::{HttpVersion, check_upgrade_request, upgrade_accept_headers};
//!
//!    // What the HTTP server parsed (with `http`: map `req.headers().iter()` to byte pairs
//!    // inside a `HeaderIter`).
//!    let fields = [
//!        ("host", "example.com"), ("upgrade", "websocket"), ("connection", "Upgrade"),
//!        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="), ("sec-websocket-version", "13"),
//!    ];
//!    let req = check_upgrade_request(b"GET", HttpVersion::HTTP_1_1, &fields).unwrap();
//!    let accept = req.accept_key();
//!    let response = upgrade_accept_headers(&accept, None, None).unwrap();
//!    assert_eq!(response.len(), 3); // sent by the HTTP server with status 101
//!    let now = Instant::from_millis(0);
//!    let ws = Connection::open(Config::default(), Role::Server, NoEntropy, now).unwrap();
//!    assert_eq!(ws.state(), ReadyState::Open);
//!    ```
//! 3. **Extended CONNECT on an HTTP/2 stream (RFC 8441) or an HTTP/3 stream (RFC 9220)**: the
//!    client sends the fields of [`connect_request_headers`](handshake::connect_request_headers)
//!    (`:method CONNECT`, `:protocol websocket`, …); the server checks them with
//!    [`check_connect_request`](handshake::check_connect_request) and answers with
//!    [`connect_accept_headers`](handshake::connect_accept_headers) (`:status 200`); the client
//!    checks that with [`check_connect_response`](handshake::check_connect_response). Each side
//!    then runs the stream with [`Connection::open`].
//!
//!    ```
//!    use wsproto::{Role, config::Config, entropy::NoEntropy, time::Instant};
//!    use wsproto::connection::Connection;
//!    use wsproto::handshake::*;
//!
//!    let now = Instant::from_millis(0);
//!    // Client: the HEADERS of the request, for the HTTP/2 or HTTP/3 library to send.
//!    let offer = ClientConnect { subprotocols: &["chat"], ..ClientConnect::new("example.com", "/chat") };
//!    let request = connect_request_headers(&offer, &mut [])?;
//!    // Server: check, choose, answer.
//!    let req = check_connect_request(request.as_slice())?;
//!    let response = connect_accept_headers(req.subprotocols().next(), None)?;
//!    let server = Connection::open(Config::default(), Role::Server, NoEntropy, now).unwrap();
//!    // Client: check the answer; then frames flow on the stream.
//!    let accepted = check_connect_response(response.as_slice(), offer.subprotocols, offer.extensions)?;
//!    assert_eq!(accepted.subprotocol(), Some("chat"));
//!    let client = Connection::open(Config::default(), Role::Client, |b: &mut [u8]| b.fill(7), now).unwrap();
//!    # let _ = (server, client);
//!    # Ok::<(), HandshakeError>(())
//!    ```
//!
//! **The close rules on an HTTP/2 or HTTP/3 stream** (RFC 8441 §5, RFC 9220 §3): the stream
//! plays the part of the TCP connection. Its orderly end (a frame with `END_STREAM` in HTTP/2,
//! the FIN of the QUIC stream in HTTP/3) is the TCP close: send it when
//! [`poll_transmit`](connection::Connection::poll_transmit) returns
//! [`Transmit::ShutdownWrite`](connection::Transmit::ShutdownWrite), and call
//! [`receive_eof`](connection::Connection::receive_eof) when the peer's arrives. A stream reset
//! (`RST_STREAM` in HTTP/2, `RESET_STREAM` / `H3_REQUEST_CANCELLED` in HTTP/3) is the TCP reset:
//! call [`receive_eof`](connection::Connection::receive_eof) as well: unless the close handshake
//! had completed, the connection ends abnormally ([`Event::Closed`]
//! with code 1006, RFC 6455 §7.1.5). To abort from your side, reset the stream with `CANCEL`
//! (`H3_REQUEST_CANCELLED`). The rest of the driving loop is unchanged.
//!
//! ## Buffers
//!
//! - Input: bytes are left unconsumed only while something is incomplete, so the input buffer
//!   must hold `max_head_len` bytes (8 KiB by default) during the handshake and 139 bytes (the
//!   largest control frame) afterwards; data payloads stream through a buffer of any size.
//! - Output: a handshake needs a few hundred bytes; a data frame needs its payload plus 14 bytes
//!   (plus whatever control frames are queued: 512 bytes always cover those).
//!
//! ## Layers
//!
//! Each layer is usable alone and depends only on those listed before it:
//!
//! | module | what it holds |
//! |---|---|
//! | [`close`] | [`CloseCode`] and close-payload rules (§5.5.1, §7.4) |
//! | [`frame`] | [`OpCode`](frame::OpCode), [`FrameHeader`](frame::FrameHeader), pure header codec (§5.2) |
//! | [`mask`] | payload masking (§5.3) |
//! | [`utf8`] | incremental, fail-fast UTF-8 validation (§8.1) |
//! | [`decoder`] | streaming, zero-copy frame decoder: [`FrameDecoder`](decoder::FrameDecoder) (§5.2–§5.5) |
//! | [`handshake`] | the opening handshake as pure functions (§4) |
//! | [`time`], [`entropy`], [`config`] | time as a value, caller-supplied randomness, limits |
//! | [`connection`] | [`Connection`]: the ready-state machine (§5–§7) |
//! | [`message`] | whole-message reassembly on top of chunks |
//! | [`session`] | [`Session`]: the buffered driving loop every adapter shares: where reads land, whole messages, pongs flushed in order, backpressure, deflate inside |
//! | `deflate` | permessage-deflate (RFC 7692): negotiation, inflating into a caller scratch buffer, compressing `send` (feature `deflate`) |
//!
//! ## Features
//!
//! - `std` (default): implies `alloc`; runtime CPU detection for SIMD UTF-8 validation.
//! - `alloc`: heap-backed conveniences (a `Vec` message buffer). Never required by the core.
//! - `simd` (default): UTF-8 validation through `simdutf8`; without it a scalar validator is used.
//! - `deflate`: permessage-deflate (RFC 7692) through `miniz_oxide`; implies `alloc` and stays
//!   `no_std`. Make the connection able to with `Connection::allow_deflate`, negotiate with
//!   `deflate::DeflateConfig`, turn it on with `Connection::enable_deflate`, receive with
//!   `Connection::receive_into` (inflated bytes go into a scratch buffer you pass; `receive` does
//!   not exist on such a connection). The codecs are allocated on first use: about 43 KiB to inflate,
//!   310 KiB to compress.
//!
//! With `--no-default-features` the crate is `#![no_std]` without `alloc` and builds for
//! bare-metal targets such as `thumbv7em-none-eabihf`.
#![no_std]
// One `unsafe` block in the crate, justified where it is: `session::validated_text`.
#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod close;
pub mod config;
pub mod connection;
pub mod decoder;
#[cfg(feature = "deflate")]
pub mod deflate;
pub mod entropy;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod message;
mod role;
pub mod session;
mod sha1;
pub mod time;
pub mod utf8;

pub use close::CloseCode;
pub use config::Config;
pub use connection::{Connection, Event, ReadyState};
pub use role::Role;
pub use session::{Session, SessionConfig, SessionEvent};

// The README is the repository's front page and repeats parts of this manual ("Three front
// doors"); rendered here it showed them twice. Its code is still compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
