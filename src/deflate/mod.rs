//! permessage-deflate (RFC 7692), feature `deflate`.
//!
//! Read RFC 7692 §5 (negotiation), §7.1 (the four parameters) and §7.2 (compressing and
//! decompressing a message) first: every rule stated there as MUST is enforced here or in the
//! connection's deflate path, and cited where it is.
//!
//! # Using it
//!
//! A connection that may compress is made so with
//! [`Connection::allow_deflate`](crate::connection::Connection::allow_deflate) right after its
//! constructor: its type becomes `Connection<E, PerMessageDeflate>`, which receives with
//! `receive_into` only (`receive`, with no scratch buffer to inflate into, does not exist on it).
//! Negotiation is pure functions over the handshake's extension offers; the outcome, a
//! [`DeflateParams`], is handed to the connection with
//! [`Connection::enable_deflate`](crate::connection::Connection::enable_deflate) before the first
//! data frame is read or written:
//!
//! - client: put [`DeflateConfig::offer`] into
//!   [`ClientRequest::extensions`](crate::handshake::ClientRequest::extensions); on
//!   [`Event::Accepted`](crate::connection::Event::Accepted) call
//!   [`Connection::accept_deflate_response`](crate::connection::Connection::accept_deflate_response),
//!   which checks the server's answer (§7.1: a client MUST fail the connection on an invalid
//!   one) and enables compression;
//! - server: on [`Event::Request`](crate::connection::Event::Request) call
//!   [`DeflateConfig::negotiate`] with the request's extensions, put
//!   [`DeflateParams::response`] into
//!   [`AcceptOptions::extensions`](crate::handshake::AcceptOptions::extensions), call `accept`,
//!   then `enable_deflate`;
//! - a connection made with [`Connection::open`](crate::connection::Connection::open) after
//!   another layer negotiated: `enable_deflate` with the agreed parameters.
//!
//! Then receive with
//! [`Connection::receive_into`](crate::connection::Connection::receive_into): inflated bytes go
//! into a scratch buffer you pass (any non-empty size; a message of any size streams through
//! it), and [`Event::Data`](crate::connection::Event::Data) borrows it.
//! [`send`](crate::connection::Connection::send) compresses messages of at least
//! [`DeflateConfig::compress_threshold`] bytes (default 32; a fragmented message is decided by
//! its first fragment) and sends smaller ones plain: a few bytes rarely shrink, and a connection
//! that sends only small messages never allocates a compressor.
//!
//! # The implementation: `miniz_oxide`
//!
//! [`miniz_oxide`] is pure Rust with `#![forbid(unsafe_code)]`, `no_std` + `alloc`, the default
//! backend of `flate2`, and its inflater accepts every window size 8–15 (it always keeps a
//! 32 KiB history, which is a superset). Its compressor always searches a 32 KiB window (its
//! `window_bits` parameter does not bound the match distance: in 0.9.1, output made with 9, 12 or
//! 14 bits fails in zlib inflating with that window), so when
//! the peer limits our window below 15 bits (`*_max_window_bits` < 15 for our direction) we
//! compress with run-length matches only (every back-reference has distance 1), which any window
//! inflates: Huffman coding still applies, so text still shrinks, just less. We therefore accept
//! and offer every window size 8–15 and never send what the peer cannot inflate. (`zlib-rs` can
//! shrink its window but, like zlib, cannot compress with 8 bits, and its API is zlib's pointer
//! interface; a C zlib is not `no_std`.)
//!
//! # Memory per connection
//!
//! Allocated on first use and kept for the connection's life (context takeover needs the
//! history): the inflater 42.3 KiB (43 296 bytes: a 32 KiB window and ~10 KiB of decoding
//! tables), the compressor 312 KiB (319 422 bytes: miniz's 64 KiB LZ buffer, 32 KiB dictionary,
//! 128 KiB hash chains and Huffman tables), plus 64 bytes of state at `enable_deflate` and 8 in
//! the `Connection` (figures for `miniz_oxide` 0.9 on x86-64, measured by
//! `tests/deflate_bounded.rs`, which checks them). A connection that only
//! receives compressed messages pays for the inflater only; one that sends only messages under
//! the threshold pays for no compressor. Nothing grows with message size: inflated output goes
//! straight into the caller's scratch buffer, compressed output into the caller's output buffer.
//! Without context takeover in our direction the compressor is reset after each message, which
//! clears about 300 KiB of tables each time: use a threshold that keeps tiny messages out.

mod codec;

pub(crate) use codec::{Compressor, Inflater, TAIL, stored_len, write_stored};

use core::fmt;

use crate::close::CloseCode;
use crate::handshake::ExtensionOffer;

/// The extension's registered name (RFC 7692 §7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// What this endpoint asks for and accepts. Both ends use the same field meanings as the RFC:
/// `server_*` is about what the server sends, `client_*` about what the client sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Ask that the server reset its compression context after each message (§7.1.1.1). A
    /// server with this set always includes it in its response.
    pub server_no_context_takeover: bool,
    /// Ask that the client reset its compression context after each message (§7.1.1.2). A
    /// client with this set offers it (and then resets after each message whatever the server
    /// answers).
    pub client_no_context_takeover: bool,
    /// The largest LZ77 window (as a base-2 logarithm, 8–15) the server may use (§7.1.2.1).
    /// Below 15 a client offers it; a server uses the smaller of this and the client's offer.
    pub server_max_window_bits: u8,
    /// The largest window (8–15) the client may use (§7.1.2.2). Below 15 a client offers it with
    /// the value, otherwise without one (which tells the server it may limit us); a server
    /// answers with it when the client offered the parameter.
    pub client_max_window_bits: u8,
    /// Only messages of at least this many bytes are compressed (for a fragmented message: its
    /// first fragment). Smaller ones rarely shrink. Default 32.
    pub compress_threshold: usize,
    /// The `miniz_oxide` compression level, 0 (store only) to 10. Default 6 (zlib's default).
    pub level: u8,
}

impl DeflateConfig {
    /// Context takeover both ways, full windows, a 32-byte threshold, level 6.
    pub const DEFAULT: DeflateConfig = DeflateConfig {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
        compress_threshold: 32,
        level: 6,
    };

    /// The client's offer for [`ClientRequest::extensions`](crate::handshake::ClientRequest),
    /// e.g. `permessage-deflate; client_max_window_bits`. Window bits outside 8–15 are clamped.
    pub fn offer(&self) -> HeaderText {
        let server_bits = clamp_bits(self.server_max_window_bits);
        let client_bits = clamp_bits(self.client_max_window_bits);
        // §7.1.2.2: `client_max_window_bits` without a value only says we can honour a limit,
        // which we can (any window size, see the module documentation).
        self.extension_text(
            (server_bits < 15).then_some(server_bits),
            Some((client_bits < 15).then_some(client_bits)),
        )
    }

    /// `permessage-deflate` with this config's context-takeover flags and the window sizes
    /// given: `None` leaves a parameter out, `Some(None)` writes it without a value.
    fn extension_text(
        &self,
        server_bits: Option<u8>,
        client_bits: Option<Option<u8>>,
    ) -> HeaderText {
        let mut text = HeaderText::new();
        text.push(EXTENSION_NAME);
        if self.server_no_context_takeover {
            text.push("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            text.push("; client_no_context_takeover");
        }
        if let Some(bits) = server_bits {
            text.push("; server_max_window_bits=");
            text.push_bits(bits);
        }
        if let Some(bits) = client_bits {
            text.push("; client_max_window_bits");
            if let Some(bits) = bits {
                text.push("=");
                text.push_bits(bits);
            }
        }
        text
    }

    /// This config's threshold and level (clamped to 0–10) with the agreed takeover flags and
    /// windows.
    fn agreed(
        &self,
        server_no_context_takeover: bool,
        client_no_context_takeover: bool,
        server_max_window_bits: u8,
        client_max_window_bits: u8,
    ) -> DeflateConfig {
        DeflateConfig {
            server_no_context_takeover,
            client_no_context_takeover,
            server_max_window_bits,
            client_max_window_bits,
            level: self.level.min(10),
            ..*self
        }
    }

    /// Server: picks the first acceptable permessage-deflate offer among `offers` (all of a
    /// request's `Sec-WebSocket-Extensions` elements, in order: [`Request::extensions`]) and
    /// returns the agreed parameters, or `None` to go without compression.
    ///
    /// An offer is declined (§5, §7.1) if it has an unknown parameter, a parameter twice, a
    /// value where none is allowed, or a window size that is not a decimal 8–15 without leading
    /// zeros. Put [`DeflateParams::response`] into
    /// [`AcceptOptions::extensions`](crate::handshake::AcceptOptions::extensions).
    ///
    /// [`Request::extensions`]: crate::handshake::Request::extensions
    pub fn negotiate<'a, I>(&self, offers: I) -> Option<DeflateParams>
    where
        I: IntoIterator<Item = ExtensionOffer<'a>>,
    {
        offers
            .into_iter()
            .filter(|offer| offer.name() == EXTENSION_NAME)
            .find_map(|offer| self.accept_offer(&offer))
    }

    fn accept_offer(&self, offer: &ExtensionOffer<'_>) -> Option<DeflateParams> {
        let offered = parse_params(offer, Side::Offer).ok()?;
        // §7.1.1.1: accepting an offer with server_no_context_takeover means including it.
        let server_no_context_takeover =
            offered.server_no_context_takeover || self.server_no_context_takeover;
        // §7.1.1.2: the server may ask the client not to take over context.
        let client_no_context_takeover =
            offered.client_no_context_takeover || self.client_no_context_takeover;
        // §7.1.2.1: answer with a value no larger than the offered one.
        let ours = clamp_bits(self.server_max_window_bits);
        let server_max_window_bits = offered
            .server_max_window_bits
            .flatten()
            .map_or(ours, |b| b.min(ours));
        // §7.1.2.2: only if offered; then with a value, no larger than the offered one.
        let client_max_window_bits = match offered.client_max_window_bits {
            None => None,
            Some(hint) => {
                let ours = clamp_bits(self.client_max_window_bits);
                let bits = hint.map_or(ours, |b| b.min(ours));
                (bits < 15).then_some(bits)
            }
        };
        Some(DeflateParams {
            agreed: self.agreed(
                server_no_context_takeover,
                client_no_context_takeover,
                server_max_window_bits,
                client_max_window_bits.unwrap_or(15),
            ),
            send_client_max_window_bits: client_max_window_bits.is_some(),
            send_server_max_window_bits: server_max_window_bits < 15
                || offered.server_max_window_bits.is_some(),
        })
    }

    /// Client: checks the server's response extensions against the offer [`offer`](Self::offer)
    /// made (§5, §7.1) and returns the agreed parameters, or `None` if the server did not accept
    /// permessage-deflate.
    ///
    /// # Errors
    ///
    /// A [`NegotiationError`] for an unknown or repeated parameter, an invalid value, a
    /// value above what we offered, `server_no_context_takeover` or `server_max_window_bits`
    /// missing although offered, or permessage-deflate twice. The client MUST then fail the
    /// connection (§7.1); [`Connection::accept_deflate_response`] does.
    ///
    /// [`Connection::accept_deflate_response`]: crate::connection::Connection::accept_deflate_response
    pub fn check_response<'a, I>(
        &self,
        extensions: I,
    ) -> Result<Option<DeflateParams>, NegotiationError>
    where
        I: IntoIterator<Item = ExtensionOffer<'a>>,
    {
        let mut found = None;
        for extension in extensions {
            if extension.name() != EXTENSION_NAME {
                continue;
            }
            if found.is_some() {
                return Err(NegotiationError::Repeated);
            }
            found = Some(extension);
        }
        let Some(extension) = found else {
            return Ok(None);
        };
        let got = parse_params(&extension, Side::Response)?;
        if self.server_no_context_takeover && !got.server_no_context_takeover {
            return Err(NegotiationError::Missing("server_no_context_takeover"));
        }
        let offered_server_bits = clamp_bits(self.server_max_window_bits);
        let server_max_window_bits = match answered_bits(
            got.server_max_window_bits,
            offered_server_bits,
            "server_max_window_bits",
        )? {
            Some(bits) => bits,
            None if offered_server_bits < 15 => {
                return Err(NegotiationError::Missing("server_max_window_bits"));
            }
            None => 15,
        };
        let offered_client_bits = clamp_bits(self.client_max_window_bits);
        let client_max_window_bits = answered_bits(
            got.client_max_window_bits,
            offered_client_bits,
            "client_max_window_bits",
        )?
        .unwrap_or(offered_client_bits);
        Ok(Some(DeflateParams {
            agreed: self.agreed(
                got.server_no_context_takeover,
                got.client_no_context_takeover || self.client_no_context_takeover,
                server_max_window_bits,
                client_max_window_bits,
            ),
            send_client_max_window_bits: false,
            send_server_max_window_bits: false,
        }))
    }
}

/// A window size in a server's response (a value is required there, checked by `parse_params`),
/// refused if above what the offer allowed (§7.1.2.1, §7.1.2.2); `None` if it is absent.
fn answered_bits(
    answered: Option<Option<u8>>,
    offered: u8,
    name: &'static str,
) -> Result<Option<u8>, NegotiationError> {
    match answered.map(|bits| bits.unwrap_or(15)) {
        Some(bits) if bits > offered => Err(NegotiationError::AboveOffer(name)),
        bits => Ok(bits),
    }
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig::DEFAULT
    }
}

/// What both ends agreed on, plus our local compression settings. Get it from
/// [`DeflateConfig::negotiate`] (server) or [`DeflateConfig::check_response`] (client), or build
/// it with [`DeflateParams::new`] when another layer negotiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    /// The agreed parameters, in [`DeflateConfig`]'s terms: each field holds what the two ends
    /// settled on (window bits 8–15, level 0–10), `compress_threshold` and `level` our own.
    pub agreed: DeflateConfig,
    send_server_max_window_bits: bool,
    send_client_max_window_bits: bool,
}

impl DeflateParams {
    /// Parameters agreed elsewhere (window bits clamped to 8–15), with `config`'s threshold and
    /// level.
    pub fn new(
        config: &DeflateConfig,
        server_no_context_takeover: bool,
        client_no_context_takeover: bool,
        server_max_window_bits: u8,
        client_max_window_bits: u8,
    ) -> Self {
        DeflateParams {
            agreed: config.agreed(
                server_no_context_takeover,
                client_no_context_takeover,
                clamp_bits(server_max_window_bits),
                clamp_bits(client_max_window_bits),
            ),
            send_server_max_window_bits: server_max_window_bits < 15,
            send_client_max_window_bits: client_max_window_bits < 15,
        }
    }

    /// Server: the `Sec-WebSocket-Extensions` value that accepts the offer, e.g.
    /// `permessage-deflate; server_no_context_takeover; client_max_window_bits=10`.
    pub fn response(&self) -> HeaderText {
        let agreed = &self.agreed;
        agreed.extension_text(
            self.send_server_max_window_bits
                .then_some(agreed.server_max_window_bits),
            self.send_client_max_window_bits
                .then_some(Some(agreed.client_max_window_bits)),
        )
    }
}

/// A `Sec-WebSocket-Extensions` value built without allocation (at most 128 bytes).
#[derive(Clone, Copy)]
pub struct HeaderText {
    buf: [u8; 128],
    len: usize,
}

impl HeaderText {
    const fn new() -> Self {
        HeaderText {
            buf: [0; 128],
            len: 0,
        }
    }

    fn push(&mut self, s: &str) {
        self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
    }

    fn push_bits(&mut self, bits: u8) {
        if bits >= 10 {
            self.push("1");
        }
        let digit = [b'0' + bits % 10];
        self.push(core::str::from_utf8(&digit).unwrap_or("5"));
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII pieces are ever pushed.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl core::ops::Deref for HeaderText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for HeaderText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for HeaderText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a server's permessage-deflate response is invalid (RFC 7692 §5, §7.1). The client MUST
/// fail the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiationError {
    /// A parameter RFC 7692 does not define.
    UnknownParameter,
    /// A parameter given twice (§7.1: "MUST NOT ... more than one").
    DuplicateParameter(&'static str),
    /// A value that is not allowed: on a `*_no_context_takeover`, or a window size that is not
    /// a decimal 8–15 without leading zeros, or a window size missing.
    InvalidValue(&'static str),
    /// A window size larger than the one offered.
    AboveOffer(&'static str),
    /// A parameter the offer required in an accepting response.
    Missing(&'static str),
    /// permessage-deflate accepted twice.
    Repeated,
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiationError::UnknownParameter => {
                f.write_str("unknown permessage-deflate parameter")
            }
            NegotiationError::DuplicateParameter(p) => write!(f, "{p} given twice"),
            NegotiationError::InvalidValue(p) => write!(f, "invalid value for {p}"),
            NegotiationError::AboveOffer(p) => write!(f, "{p} above the offered value"),
            NegotiationError::Missing(p) => write!(f, "{p} offered but missing from the response"),
            NegotiationError::Repeated => f.write_str("permessage-deflate accepted twice"),
        }
    }
}

impl core::error::Error for NegotiationError {}

/// What went wrong with permessage-deflate on an open connection; carried by
/// [`ProtocolError::Deflate`](crate::connection::ProtocolError::Deflate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeflateError {
    /// The peer's compressed data is not valid DEFLATE (1007).
    InvalidData,
    /// A compressed message arrived but `receive_into` was given an empty scratch buffer: the
    /// caller cannot take inflated bytes (1011).
    NoScratch,
    /// Client: the server's permessage-deflate response was invalid (1002).
    Negotiation(NegotiationError),
}

impl DeflateError {
    /// The close code sent for it.
    pub const fn close_code(&self) -> CloseCode {
        match self {
            DeflateError::InvalidData => CloseCode::INVALID_PAYLOAD,
            DeflateError::NoScratch => CloseCode::INTERNAL_ERROR,
            DeflateError::Negotiation(_) => CloseCode::PROTOCOL_ERROR,
        }
    }

    pub(crate) const fn reason(&self) -> &'static str {
        match self {
            DeflateError::InvalidData => "invalid compressed data",
            DeflateError::NoScratch => "",
            DeflateError::Negotiation(_) => "invalid permessage-deflate response",
        }
    }
}

impl fmt::Display for DeflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeflateError::InvalidData => {
                f.write_str("invalid DEFLATE data in a compressed message")
            }
            DeflateError::NoScratch => f.write_str(
                "a compressed message needs receive_into with a non-empty scratch buffer",
            ),
            DeflateError::Negotiation(err) => write!(f, "permessage-deflate negotiation: {err}"),
        }
    }
}

impl core::error::Error for DeflateError {}

const fn clamp_bits(bits: u8) -> u8 {
    if bits < 8 {
        8
    } else if bits > 15 {
        15
    } else {
        bits
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Offer,
    Response,
}

/// The parameters of one permessage-deflate element. For the window sizes: `None` absent,
/// `Some(None)` present without a value, `Some(Some(bits))` with one.
#[derive(Default)]
struct Parsed {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<Option<u8>>,
    client_max_window_bits: Option<Option<u8>>,
}

/// §7.1: the four parameters, each at most once, with valid values.
fn parse_params(offer: &ExtensionOffer<'_>, side: Side) -> Result<Parsed, NegotiationError> {
    let mut parsed = Parsed::default();
    for (name, value) in offer.params() {
        match name {
            "server_no_context_takeover" | "client_no_context_takeover" => {
                let (flag, name) = if name.starts_with("server") {
                    (
                        &mut parsed.server_no_context_takeover,
                        "server_no_context_takeover",
                    )
                } else {
                    (
                        &mut parsed.client_no_context_takeover,
                        "client_no_context_takeover",
                    )
                };
                if *flag {
                    return Err(NegotiationError::DuplicateParameter(name));
                }
                // §7.1.1.1, §7.1.1.2: "This parameter has no value."
                if value.is_some() {
                    return Err(NegotiationError::InvalidValue(name));
                }
                *flag = true;
            }
            "server_max_window_bits" | "client_max_window_bits" => {
                let is_server = name.starts_with("server");
                let name = if is_server {
                    "server_max_window_bits"
                } else {
                    "client_max_window_bits"
                };
                let slot = if is_server {
                    &mut parsed.server_max_window_bits
                } else {
                    &mut parsed.client_max_window_bits
                };
                if slot.is_some() {
                    return Err(NegotiationError::DuplicateParameter(name));
                }
                let bits = match value {
                    Some(value) => Some(
                        window_bits(value.bytes()).ok_or(NegotiationError::InvalidValue(name))?,
                    ),
                    // §7.1.2.2: only a client's offer may carry client_max_window_bits without
                    // a value; §7.1.2.1: server_max_window_bits always has one.
                    None if !is_server && side == Side::Offer => None,
                    None => return Err(NegotiationError::InvalidValue(name)),
                };
                *slot = Some(bits);
            }
            _ => return Err(NegotiationError::UnknownParameter),
        }
    }
    Ok(parsed)
}

/// §7.1.2: "a decimal integer value without leading zeroes between 8 to 15, inclusive".
fn window_bits(mut digits: impl Iterator<Item = u8>) -> Option<u8> {
    let first = digits.next()?;
    let value = match (first, digits.next(), digits.next()) {
        (b'8'..=b'9', None, None) => first - b'0',
        (b'1', Some(second @ b'0'..=b'5'), None) => 10 + second - b'0',
        _ => return None,
    };
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_bit_values() {
        for (text, bits) in [
            ("8", Some(8)),
            ("9", Some(9)),
            ("10", Some(10)),
            ("15", Some(15)),
        ] {
            assert_eq!(window_bits(text.bytes()), bits, "{text}");
        }
        for bad in ["", "7", "16", "08", "015", "1", "150", "a", "+9", "9 "] {
            assert_eq!(window_bits(bad.bytes()), None, "{bad}");
        }
    }

    #[test]
    fn header_text_is_ascii() {
        let config = DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 9,
            client_max_window_bits: 10,
            ..DeflateConfig::DEFAULT
        };
        assert_eq!(
            config.offer().as_str(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=9; client_max_window_bits=10"
        );
    }
}
