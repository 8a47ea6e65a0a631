//! The opening handshake (RFC 6455 §4): an HTTP/1.1 Upgrade request and its 101 response.
//!
//! Read RFC 6455 §1.3 and §4 first, and §9.1 for `Sec-WebSocket-Extensions`; the HTTP syntax
//! is RFC 7230 §3.
//!
//! Everything here is a pure function over the caller's buffers: no allocation, no IO, no state
//! but the few bytes of a [`HeadScanner`]. Parsed heads ([`Request`], [`Response`]) borrow the
//! caller's buffer and walk it again lazily for headers, subprotocols and extensions, so no
//! fixed-size header array limits them.
//!
//! | side | writes | reads |
//! |---|---|---|
//! | client | [`write_request`] ([`ClientRequest`], a 16-byte nonce) | [`parse_response`], then [`check_negotiation`] |
//! | server | [`write_accept`], [`write_reject`], [`write_error_response`] | [`parse_request`] |
//!
//! Two more front doors take header lists ([`HeaderList`]: `(name, value)` pairs in any order)
//! instead of raw heads, and give back fixed-size [`HeaderBlock`]s to send, without allocation:
//!
//! | front door | side | writes | reads |
//! |---|---|---|---|
//! | HTTP/1.1 Upgrade through an HTTP library | client | [`upgrade_request_headers`] | [`check_upgrade_response`] |
//! | | server | [`upgrade_accept_headers`] | [`check_upgrade_request`] |
//! | extended CONNECT, HTTP/2 (RFC 8441) or HTTP/3 (RFC 9220) | client | [`connect_request_headers`] ([`ClientConnect`]) | [`check_connect_response`] |
//! | | server | [`connect_accept_headers`], [`connect_error_headers`] | [`check_connect_request`] |
//!
//! **One implementation, three front doors.** The raw parser checks only the HTTP/1.1 syntax
//! itself (line endings, start line, field lines, limits); it then hands the start line's method
//! and version and the head's `(name, value)` pairs to the same functions the header-list paths
//! use. So every field rule (`Host`, `Origin`, `Upgrade`, `Connection`, the key, the version,
//! subprotocol and extension syntax, the accept value) and the negotiation check exist once,
//! give the same errors in the same order whatever the door, and differ only where RFC 8441
//! says so (no key or accept; `Connection` / `Upgrade` forbidden; pseudo-header fields).
//!
//! ```
//! use wsproto::handshake::*;
//!
//! // Client: write the request. The nonce MUST be random per connection (§4.1 step 7).
//! let nonce = *b"the sample nonce";
//! let mut request = [0u8; 512];
//! let req = ClientRequest { subprotocols: &["chat"], ..ClientRequest::new("example.com", "/chat") };
//! let n = write_request(&req, &nonce, &mut request)?;
//!
//! // Server: parse it, pick a subprotocol, accept.
//! let parsed = parse_request(&request[..n], &HeadLimits::DEFAULT)?.expect("a whole head");
//! assert_eq!(parsed.path(), "/chat");
//! let subprotocol = parsed.subprotocols().find(|p| *p == "chat");
//! let mut response = [0u8; 512];
//! let opts = AcceptOptions { subprotocol, ..AcceptOptions::new() };
//! let m = write_accept(&parsed.accept_key(), &opts, &mut response)?;
//!
//! // Client: check the response; bytes after `head_len` are frames.
//! let key = request_key(&nonce);
//! let accepted = parse_response(&response[..m], &key, &HeadLimits::DEFAULT)?.expect("a whole head");
//! check_negotiation(&accepted, req.subprotocols, &[])?;
//! assert_eq!(accepted.subprotocol(), Some("chat"));
//! assert_eq!(accepted.head_len(), m);
//! # Ok::<(), HandshakeError>(())
//! ```
//!
//! ## Design choices
//!
//! **An own parser, not `httparse`.** The handshake needs things `httparse` does not give: a
//! distinct error for each fault (a folded line, whitespace before a colon, a bare LF…) so that a
//! server can answer and log precisely; lazy re-walking of an already validated head instead of a
//! caller-sized `[Header; N]` array; and an incremental scan. The parser is small (a scanner that
//! looks at each byte once for CRLF CRLF, then one validating pass over the complete head), strict,
//! and fuzzed (`fuzz/fuzz_targets/handshake_*.rs`).
//!
//! **Incremental input.** The caller keeps the partial head in its own buffer and presents it
//! again with more bytes appended. [`HeadScanner`] remembers how far it has looked, so a head fed
//! one byte at a time costs O(n) in all; the free functions [`parse_request`] and
//! [`parse_response`] scan from the start each call. The length limit
//! ([`HeadLimits::max_head_len`]) is enforced as soon as it is crossed, the header count once the
//! head is complete.
//!
//! **Strictness.** Lines MUST end in CRLF: a bare LF or bare CR is an error
//! ([`BareLf`](HandshakeError::BareLf), [`BareCr`](HandshakeError::BareCr)), although RFC 7230
//! §3.5 lets a recipient accept bare LF — every real WebSocket peer sends CRLF, and one line-ending
//! rule keeps request smuggling between parsers out. Obsolete line folding is an error
//! (RFC 7230 §3.2.4 allows rejecting it). Header values may hold obs-text (bytes ≥ 0x80); the
//! fields this module interprets as text (path, host, origin, tokens) must be ASCII.
//!
//! **Request-target.** Origin-form (`/path?query`) and, as RFC 6455 §4.1 step 3 allows,
//! absolute-form with an `http` or `https` scheme; [`Request::path`] is the resource name either
//! way. No fragment (`#`, §3), no bytes outside visible ASCII.
//!
//! **Errors to statuses.** [`HandshakeError::kind`] tells a request the server refuses with 400
//! (or a more precise status) from one it refuses with 426, a bad response, and the caller's own
//! misuse of a writer. [`HandshakeError::response_status`]: 426 for a missing or other
//! `Sec-WebSocket-Version` (with `Sec-WebSocket-Version: 13`), 431 for heads over the limits, 405
//! for a method other than GET, 505 for an HTTP version other than 1.1 or a later 1.x, 400 for the
//! rest of a request's faults, 500 for what is not a request's fault. [`write_error_response`]
//! writes it.
//!
//! ## Layout
//!
//! Each file imports only from those listed before it (`scripts/import-cycles` checks that there
//! is no cycle):
//!
//! | file | holds |
//! |---|---|
//! | `error.rs`, `accept.rs`, `syntax.rs` | the error type; key and accept values; the HTTP grammar (tokens, lists, host, origin, target, version) |
//! | `head.rs` | the raw HTTP/1.1 head: scanning, line checks, [`Headers`], the output cursor |
//! | `header_list.rs` | [`HeaderList`] in (and its size against [`HeadLimits`]), [`HeaderBlock`] out |
//! | `offers.rs` | subprotocol and extension offers, and the iterators over them |
//! | `fields.rs` | the field rules every front door shares |
//! | `checked.rs` | the accessors of checked messages, [`CheckedResponse`] |
//! | `client.rs`, `server.rs` | the raw-head front door, each side |
//! | `upgrade.rs`, `extended_connect.rs` | the header-list front doors (the first reuses [`ClientRequest`]) |

mod accept;
mod checked;
mod client;
mod error;
mod extended_connect;
// Crate-visible for `check_offered`, which the connection's offer bookkeeping shares.
pub(crate) mod fields;
mod head;
mod header_list;
mod offers;
mod server;
mod syntax;
mod upgrade;

pub use accept::{GUID, accept_key, decode_key, request_key};
pub use checked::CheckedResponse;
pub use client::{ClientRequest, Response, check_negotiation, parse_response, write_request};
pub use error::{Field, HandshakeError, HandshakeErrorKind};
pub use extended_connect::{
    ClientConnect, ConnectRequest, ConnectResponse, check_connect_request, check_connect_response,
    connect_accept_headers, connect_error_headers, connect_request_headers,
};
pub use head::{HeadLimits, HeadScanner, Headers};
pub use header_list::{HeaderBlock, HeaderIter, HeaderList, HeaderPair};
pub use offers::{ExtensionOffer, Extensions, ParamValue, Params, Subprotocols};
pub use server::{
    AcceptOptions, Rejection, Request, parse_request, reason_phrase, write_accept,
    write_error_response, write_reject,
};
pub use syntax::HttpVersion;
pub use upgrade::{
    UpgradeRequest, UpgradeResponse, check_upgrade_request, check_upgrade_response,
    upgrade_accept_headers, upgrade_request_headers,
};
