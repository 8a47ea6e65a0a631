//! A streaming frame decoder (RFC 6455 §5.2–§5.5) that unmasks payloads in place.
//!
//! [`FrameDecoder::decode`] is fed the caller's `&mut [u8]` and returns how many bytes it consumed
//! and at most one [`FrameChunk`]: the current frame's header and the part of its payload that the
//! input holds, unmasked in place and borrowed from the caller's buffer. Nothing is copied and
//! nothing is allocated. Between calls the decoder keeps at most a partial header (≤ 14 bytes);
//! payload bytes are never held back, so a caller can process frames of any size with a buffer of
//! any size.
//!
//! What is checked here: everything [`decode_header`] checks, plus masking by role (§5.1) and the
//! configured maximum frame payload, which is enforced from the header alone, before a single
//! payload byte is read. Message-level rules (fragmentation order, UTF-8, close payloads) belong to
//! the connection.

use core::fmt;

use crate::frame::{FrameError, FrameHeader, MAX_HEADER_LEN, Rsv, decode_header};
use crate::mask::apply_mask;
use crate::role::Role;

/// What a [`FrameDecoder`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Our role. A server requires masked frames, a client rejects them (§5.1).
    pub role: Role,
    /// The largest frame payload accepted, in bytes. A larger one fails with
    /// [`FrameError::FrameTooLarge`] as soon as its header is complete.
    pub max_frame_payload: u64,
    /// RSV bits that negotiated extensions allow (§5.2); [`Rsv::NONE`] without extensions.
    pub allowed_rsv: Rsv,
}

impl DecoderConfig {
    /// A configuration for `role` with a 1 MiB frame limit and no RSV bits allowed.
    pub const fn new(role: Role) -> Self {
        DecoderConfig {
            role,
            max_frame_payload: 1 << 20,
            allowed_rsv: Rsv::NONE,
        }
    }
}

/// Part of a frame: its header and some of its payload, unmasked, in the caller's buffer.
///
/// Every frame yields at least one chunk. The first has `frame_start` set and comes as soon as the
/// header is complete, even if no payload byte has arrived yet (its payload may be empty). Later
/// chunks of the same frame are never empty. The chunk whose payload ends at
/// `header.payload_len` ([`FrameChunk::is_frame_end`]) is the frame's last.
#[derive(Debug, PartialEq, Eq)]
pub struct FrameChunk<'a> {
    /// The frame's header (the same for every chunk of the frame).
    pub header: FrameHeader,
    /// Payload bytes, already unmasked, borrowed from the input.
    pub payload: &'a mut [u8],
    /// Position of `payload[0]` within the frame's payload.
    pub offset: u64,
    /// True for the first chunk of a frame.
    pub frame_start: bool,
}

impl FrameChunk<'_> {
    /// True if this chunk completes the frame's payload.
    pub fn is_frame_end(&self) -> bool {
        self.offset + self.payload.len() as u64 == self.header.payload_len
    }
}

/// The result of one [`FrameDecoder::decode`] call.
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// How many input bytes were used. The caller MUST NOT present them again.
    pub consumed: usize,
    /// The chunk found, or `None` if the input was used up without producing one (then
    /// `consumed` equals the input's length: a partial header was stored).
    pub chunk: Option<FrameChunk<'a>>,
}

impl Decoded<'_> {
    /// Nothing consumed, nothing found.
    const NOTHING: Decoded<'static> = Decoded {
        consumed: 0,
        chunk: None,
    };
}

/// A streaming, zero-copy frame decoder.
///
/// ```
/// use wsproto::Role;
/// use wsproto::decoder::{DecoderConfig, FrameDecoder};
/// use wsproto::frame::OpCode;
///
/// let mut decoder = FrameDecoder::new(DecoderConfig::new(Role::Server));
/// // RFC 6455 §5.7: a masked "Hello" from a client.
/// let mut input = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let decoded = decoder.decode(&mut input).unwrap();
/// assert_eq!(decoded.consumed, 11);
/// let chunk = decoded.chunk.unwrap();
/// assert_eq!(chunk.header.opcode, OpCode::Text);
/// assert_eq!(chunk.payload, b"Hello");
/// assert!(chunk.frame_start && chunk.is_frame_end());
/// ```
#[derive(Clone, Debug)]
pub struct FrameDecoder {
    config: DecoderConfig,
    state: State,
}

#[derive(Clone, Debug)]
enum State {
    /// Between frames, holding `len` bytes of a header that is not complete yet.
    Header { buf: [u8; MAX_HEADER_LEN], len: u8 },
    /// Inside a frame's payload, `received` bytes of it already handed out.
    Payload { header: FrameHeader, received: u64 },
    /// A fatal error was found; it is returned again by every later call.
    Failed(FrameError),
}

const EMPTY_HEADER: State = State::Header {
    buf: [0; MAX_HEADER_LEN],
    len: 0,
};

impl FrameDecoder {
    /// A decoder between frames.
    pub const fn new(config: DecoderConfig) -> Self {
        FrameDecoder {
            config,
            state: EMPTY_HEADER,
        }
    }

    /// The configuration in force.
    pub const fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// Changes which RSV bits are accepted, e.g. once an extension has been negotiated. Applies
    /// to headers decoded from now on.
    pub fn set_allowed_rsv(&mut self, allowed: Rsv) {
        self.config.allowed_rsv = allowed;
    }

    /// Changes the largest frame payload accepted, for headers decoded from now on.
    pub fn set_max_frame_payload(&mut self, max: u64) {
        self.config.max_frame_payload = max;
    }

    /// True between frames with no partial header stored: an end of stream here cuts no frame.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Header { len: 0, .. })
    }

    /// Inside a frame's payload: the payload bytes not handed out yet. `None` between frames.
    pub fn payload_remaining(&self) -> Option<u64> {
        match self.state {
            State::Payload { header, received } => Some(header.payload_len - received),
            State::Header { .. } | State::Failed(_) => None,
        }
    }

    /// Like [`decode`](Self::decode), but leaves bytes it cannot use yet in the input instead of
    /// storing them: an incomplete header is not consumed, a control frame is returned only
    /// once its whole payload (≤ 125 bytes) is in `input`, and a data frame's header only with at
    /// least one payload byte (or when its payload is empty). Then `consumed` is 0 and the caller
    /// presents those bytes again with more appended.
    ///
    /// This is what a connection wants: control payloads are always borrowed whole from the
    /// input, so no internal buffer is needed for them. The caller's buffer must hold at least
    /// 14 + 125 bytes. Data payloads are still handed out as they arrive. If a partial header is
    /// already stored (from [`decode`](Self::decode)), this behaves like `decode` until it is used.
    ///
    /// # Errors
    ///
    /// As [`decode`](Self::decode).
    #[inline]
    pub fn decode_retaining<'a>(&mut self, input: &'a mut [u8]) -> Result<Decoded<'a>, FrameError> {
        if !self.is_idle() {
            return self.decode(input);
        }
        // Between frames with nothing stored, the header is read from `input` once, and the same
        // checks as in `decode` are made on it.
        let (header, header_len) = match decode_header(input, self.config.allowed_rsv) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(Decoded::NOTHING),
            Err(err) => return Err(self.fail(err)),
        };
        self.check(&header)?;
        if must_wait(&header, input.len() - header_len) {
            return Ok(Decoded::NOTHING);
        }
        Ok(self.payload(input, header, 0, header_len, true))
    }

    /// Decodes from `input`, unmasking payload bytes in place.
    ///
    /// Returns the number of bytes consumed and at most one chunk. Call again with the rest of
    /// the input (`&mut input[consumed..]`) until it returns no chunk; then every byte has been
    /// consumed and the decoder waits for more.
    ///
    /// # Errors
    ///
    /// A [`FrameError`] for a header that breaks §5.2/§5.5, a frame masked wrongly for the role
    /// (§5.1) or a payload over [`DecoderConfig::max_frame_payload`]. Errors are sticky: every
    /// later call returns the same error and consumes nothing.
    pub fn decode<'a>(&mut self, input: &'a mut [u8]) -> Result<Decoded<'a>, FrameError> {
        let (header, received, consumed, frame_start) = match &mut self.state {
            State::Failed(err) => return Err(*err),
            State::Payload { header, received } => (*header, *received, 0, false),
            State::Header { buf, len } => {
                let stored = usize::from(*len);
                let decoded = if stored == 0 {
                    // Fast path: the header is read straight from the input.
                    decode_header(input, self.config.allowed_rsv)
                } else {
                    let take = input.len().min(MAX_HEADER_LEN - stored);
                    buf[stored..stored + take].copy_from_slice(&input[..take]);
                    decode_header(&buf[..stored + take], self.config.allowed_rsv)
                };
                match decoded {
                    Ok(Some((header, header_len))) => {
                        self.check(&header)?;
                        (header, 0, header_len - stored, true)
                    }
                    Ok(None) => {
                        // Incomplete: fewer than 14 bytes in all, so they all fit in `buf`.
                        let total = stored + input.len();
                        if stored == 0 {
                            buf[..input.len()].copy_from_slice(input);
                        }
                        *len = total as u8;
                        return Ok(Decoded {
                            consumed: input.len(),
                            chunk: None,
                        });
                    }
                    Err(err) => return Err(self.fail(err)),
                }
            }
        };
        if !frame_start && input.is_empty() {
            return Ok(Decoded {
                consumed: 0,
                chunk: None,
            });
        }
        Ok(self.payload(input, header, received, consumed, frame_start))
    }

    /// Hands out the payload bytes of the current frame that `input[consumed..]` holds (possibly
    /// none, for a frame's first chunk), unmasked, and moves to the next state.
    #[inline(always)]
    fn payload<'a>(
        &mut self,
        input: &'a mut [u8],
        header: FrameHeader,
        received: u64,
        consumed: usize,
        frame_start: bool,
    ) -> Decoded<'a> {
        let remaining = header.payload_len - received;
        let available = input.len() - consumed;
        let take = if remaining < available as u64 {
            remaining as usize
        } else {
            available
        };
        let payload = &mut input[consumed..consumed + take];
        if let Some(key) = header.mask {
            // Only the offset modulo 4 matters, which keeps it in range on 16/32-bit targets.
            apply_mask(payload, key, (received & 3) as usize);
        }
        let now_received = received + take as u64;
        self.state = if now_received == header.payload_len {
            EMPTY_HEADER
        } else {
            State::Payload {
                header,
                received: now_received,
            }
        };
        Decoded {
            consumed: consumed + take,
            chunk: Some(FrameChunk {
                header,
                payload,
                offset: received,
                frame_start,
            }),
        }
    }

    /// [`check_header`], failing the decoder on error.
    #[inline]
    fn check(&mut self, header: &FrameHeader) -> Result<(), FrameError> {
        check_header(&self.config, header).map_err(|err| self.fail(err))
    }

    /// Makes `err` sticky and returns it.
    #[cold]
    fn fail(&mut self, err: FrameError) -> FrameError {
        self.state = State::Failed(err);
        err
    }
}

/// The checks that need the configuration, made once the header is complete: one function per
/// rule, so that a caller that reads a header itself (the connection's fast case) asks the same.
pub(crate) fn check_header(config: &DecoderConfig, header: &FrameHeader) -> Result<(), FrameError> {
    check_masking(config.role, header)?;
    check_frame_size(config.max_frame_payload, header)
}

/// §5.1: every frame from a client is masked, none from a server.
#[inline(always)]
pub(crate) fn check_masking(role: Role, header: &FrameHeader) -> Result<(), FrameError> {
    let masked = header.mask.is_some();
    if masked == (role == Role::Server) {
        return Ok(());
    }
    Err(if masked {
        // §5.1: "A client MUST close a connection if it detects a masked frame."
        FrameError::MaskedFrame
    } else {
        // RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that is
        // not masked."
        FrameError::UnmaskedFrame
    })
}

/// The frame limit, decided from the header alone, before a payload byte is read.
#[inline(always)]
pub(crate) fn check_frame_size(max: u64, header: &FrameHeader) -> Result<(), FrameError> {
    if header.payload_len > max {
        return Err(FrameError::FrameTooLarge {
            len: header.payload_len,
            max,
        });
    }
    Ok(())
}

/// [`FrameDecoder::decode_retaining`]'s reason to leave a whole, valid header in the input with
/// `available` payload bytes behind it: a control frame waits for its whole payload; a data frame
/// for its first payload byte, so that a frame's first chunk is never an empty one that only
/// repeats the header (unless the frame is empty).
fn must_wait(header: &FrameHeader, available: usize) -> bool {
    let available = available as u64;
    if header.opcode.is_control() {
        available < header.payload_len
    } else {
        available == 0 && header.payload_len > 0
    }
}

impl fmt::Display for FrameChunk<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} frame bytes {}..{} of {}",
            self.header.opcode,
            self.offset,
            self.offset + self.payload.len() as u64,
            self.header.payload_len
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::OpCode;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    fn server() -> FrameDecoder {
        FrameDecoder::new(DecoderConfig::new(Role::Server))
    }

    fn client() -> FrameDecoder {
        FrameDecoder::new(DecoderConfig::new(Role::Client))
    }

    /// Feeds `input` in pieces of `step` bytes; returns (opcode, fin, payload) per frame.
    fn frames(
        decoder: &mut FrameDecoder,
        input: &[u8],
        step: usize,
    ) -> [(OpCode, bool, [u8; 8], usize); 4] {
        let mut out = [(OpCode::Continuation, false, [0u8; 8], 0usize); 4];
        let mut n = 0;
        let mut owned = [0u8; 64];
        owned[..input.len()].copy_from_slice(input);
        for piece in owned[..input.len()].chunks_mut(step) {
            let mut rest = piece;
            loop {
                let decoded = decoder.decode(rest).unwrap();
                let consumed = decoded.consumed;
                let Some(chunk) = decoded.chunk else {
                    assert_eq!(consumed, rest.len());
                    break;
                };
                let end = chunk.is_frame_end();
                let entry = &mut out[n];
                entry.0 = chunk.header.opcode;
                entry.1 = chunk.header.fin;
                entry.2[chunk.offset as usize..chunk.offset as usize + chunk.payload.len()]
                    .copy_from_slice(chunk.payload);
                entry.3 = chunk.header.payload_len as usize;
                if end {
                    n += 1;
                }
                rest = &mut rest[consumed..];
            }
        }
        out
    }

    // RFC 6455 §5.7.
    #[test]
    fn rfc_examples_at_every_split() {
        for step in 1..12 {
            // Unmasked "Hello" to a client.
            let f = frames(
                &mut client(),
                &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
                step,
            );
            assert_eq!(
                (f[0].0, f[0].1, &f[0].2[..f[0].3]),
                (OpCode::Text, true, &b"Hello"[..])
            );
            // Masked "Hello" to a server.
            let masked = [
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
            ];
            let f = frames(&mut server(), &masked, step);
            assert_eq!(&f[0].2[..f[0].3], b"Hello");
            // Fragmented "Hel" + "lo", then an unmasked ping "Hello".
            let bytes = [
                0x01, 0x03, 0x48, 0x65, 0x6c, // text, not FIN: "Hel"
                0x80, 0x02, 0x6c, 0x6f, // continuation, FIN: "lo"
                0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f, // ping "Hello"
            ];
            let f = frames(&mut client(), &bytes, step);
            assert_eq!(
                (f[0].0, f[0].1, &f[0].2[..3]),
                (OpCode::Text, false, &b"Hel"[..])
            );
            assert_eq!(
                (f[1].0, f[1].1, &f[1].2[..2]),
                (OpCode::Continuation, true, &b"lo"[..])
            );
            assert_eq!((f[2].0, &f[2].2[..5]), (OpCode::Ping, &b"Hello"[..]));
            // Masked pong "Hello".
            let pong = [
                0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
            ];
            let f = frames(&mut server(), &pong, step);
            assert_eq!((f[0].0, &f[0].2[..5]), (OpCode::Pong, &b"Hello"[..]));
        }
    }

    #[test]
    fn empty_frame_yields_one_empty_chunk() {
        let mut input = [0x88, 0x00, 0x81, 0x00];
        let mut d = client();
        let decoded = d.decode(&mut input).unwrap();
        assert_eq!(decoded.consumed, 2);
        let chunk = decoded.chunk.unwrap();
        assert!(chunk.frame_start && chunk.is_frame_end() && chunk.payload.is_empty());
        assert_eq!(chunk.header.opcode, OpCode::Close);
        assert!(d.is_idle());
    }

    #[test]
    fn header_without_payload_yet_is_reported_then_payload_in_chunks() {
        // 256-byte masked binary frame; header first, then the payload in two parts.
        let mut d = server();
        let mut header = [0x82, 0xFE, 0x01, 0x00, 0x37, 0xfa, 0x21, 0x3d];
        let decoded = d.decode(&mut header).unwrap();
        let chunk = decoded.chunk.unwrap();
        assert_eq!(
            (
                chunk.frame_start,
                chunk.payload.len(),
                chunk.header.payload_len
            ),
            (true, 0, 256)
        );
        assert!(!d.is_idle());
        let mut payload = [0u8; 256];
        for (i, b) in payload.iter_mut().enumerate() {
            *b = (i as u8) ^ KEY[i % 4];
        }
        let (first, second) = payload.split_at_mut(101);
        let c1 = d.decode(first).unwrap().chunk.unwrap();
        assert_eq!(
            (c1.offset, c1.frame_start, c1.is_frame_end()),
            (0, false, false)
        );
        assert!(c1.payload.iter().enumerate().all(|(i, &b)| b == i as u8));
        let c2 = d.decode(second).unwrap().chunk.unwrap();
        assert_eq!((c2.offset, c2.is_frame_end()), (101, true));
        assert!(
            c2.payload
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i + 101) as u8)
        );
        assert!(d.is_idle());
    }

    #[test]
    fn masking_by_role() {
        assert_eq!(
            server().decode(&mut [0x81, 0x00]),
            Err(FrameError::UnmaskedFrame)
        );
        assert_eq!(
            client().decode(&mut [0x81, 0x80, 1, 2, 3, 4]),
            Err(FrameError::MaskedFrame)
        );
    }

    #[test]
    fn oversized_frame_rejected_from_the_header_alone() {
        let mut d = FrameDecoder::new(DecoderConfig {
            max_frame_payload: 1000,
            ..DecoderConfig::new(Role::Client)
        });
        // Exactly the limit passes.
        let mut at_limit = [0x82, 0x7E, 0x03, 0xE8];
        assert!(d.decode(&mut at_limit).unwrap().chunk.is_some());
        let mut d = FrameDecoder::new(DecoderConfig {
            max_frame_payload: 1000,
            ..DecoderConfig::new(Role::Client)
        });
        let mut over = [0x82, 0x7E, 0x03, 0xE9];
        assert_eq!(
            d.decode(&mut over),
            Err(FrameError::FrameTooLarge {
                len: 1001,
                max: 1000
            })
        );
        // 2^63 − 1 announced: rejected, nothing read.
        let mut d = client();
        let mut huge = [0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            d.decode(&mut huge),
            Err(FrameError::FrameTooLarge {
                len: u64::MAX >> 1,
                max: 1 << 20
            })
        );
    }

    #[test]
    fn errors_are_sticky_and_consume_nothing() {
        let mut d = client();
        assert_eq!(d.decode(&mut [0x83]), Err(FrameError::ReservedOpCode(3)));
        assert_eq!(
            d.decode(&mut [0x81, 0x00]),
            Err(FrameError::ReservedOpCode(3))
        );
    }

    #[test]
    fn error_in_a_stored_partial_header_is_found_when_completed() {
        let mut d = client();
        // First byte: FIN + text. Second (next call): 126 = 16-bit length follows.
        assert_eq!(
            d.decode(&mut [0x81]).unwrap(),
            Decoded {
                consumed: 1,
                chunk: None
            }
        );
        assert_eq!(
            d.decode(&mut [0x7E]).unwrap(),
            Decoded {
                consumed: 1,
                chunk: None
            }
        );
        assert_eq!(
            d.decode(&mut [0x00, 0x05]),
            Err(FrameError::NonMinimalLength)
        );
    }

    #[test]
    fn stored_header_consumes_only_its_own_bytes() {
        let mut d = client();
        assert_eq!(d.decode(&mut [0x82]).unwrap().consumed, 1);
        // Rest of the header (length 2), the payload, and the next frame's first byte.
        let mut rest = [0x02, 0xAA, 0xBB, 0x89];
        let decoded = d.decode(&mut rest).unwrap();
        assert_eq!(decoded.consumed, 3);
        assert_eq!(decoded.chunk.unwrap().payload, &[0xAA, 0xBB]);
    }

    #[test]
    fn retaining_leaves_partial_headers_and_control_frames_in_the_input() {
        let mut d = client();
        assert_eq!(
            d.decode_retaining(&mut [0x82]).unwrap(),
            Decoded {
                consumed: 0,
                chunk: None
            }
        );
        // A ping of 5 bytes with only 3 present: nothing consumed.
        let mut partial = [0x89, 0x05, b'a', b'b', b'c'];
        assert_eq!(
            d.decode_retaining(&mut partial).unwrap(),
            Decoded {
                consumed: 0,
                chunk: None
            }
        );
        let mut whole = [0x89, 0x05, b'a', b'b', b'c', b'd', b'e'];
        let decoded = d.decode_retaining(&mut whole).unwrap();
        assert_eq!(
            (decoded.consumed, &*decoded.chunk.unwrap().payload),
            (7, &b"abcde"[..])
        );
        // A data header alone waits for its first payload byte.
        assert_eq!(
            d.decode_retaining(&mut [0x82, 0x05]).unwrap(),
            Decoded {
                consumed: 0,
                chunk: None
            }
        );
        // Data payloads still come as they arrive.
        let mut data = [0x82, 0x05, b'a', b'b'];
        let decoded = d.decode_retaining(&mut data).unwrap();
        assert_eq!(
            (decoded.consumed, &*decoded.chunk.unwrap().payload),
            (4, &b"ab"[..])
        );
        // Errors are still reported at once.
        let mut d = client();
        assert_eq!(
            d.decode_retaining(&mut [0x83]),
            Err(FrameError::ReservedOpCode(3))
        );
    }

    #[test]
    fn rsv_bits_follow_the_configuration() {
        let mut d = client();
        assert_eq!(
            d.decode(&mut [0xC1, 0x00]),
            Err(FrameError::ReservedBits(Rsv::RSV1))
        );
        let mut d = client();
        d.set_allowed_rsv(Rsv::RSV1);
        let mut input = [0xC1, 0x00];
        assert_eq!(
            d.decode(&mut input).unwrap().chunk.unwrap().header.rsv,
            Rsv::RSV1
        );
    }
}
