//! The base framing protocol: frame header encode and decode (RFC 6455 §5.2).
//!
//! Read RFC 6455 §5.2 before this file: it draws the header bit by bit.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! ```
//!
//! Everything here is a pure function over byte slices: no allocation, no state.
//!
//! **Length encoding.** §5.2 says "the minimal number of bytes MUST be used to encode the length".
//! [`encode_header`] always does; [`decode_header`] *rejects* a non-minimal encoding with
//! [`FrameError::NonMinimalLength`] (close code 1002). A peer that sends one violates a MUST, and
//! accepting it would let two different byte strings mean the same frame, which makes
//! round-trip checks (fuzzing, proxies comparing bytes) ambiguous.

use core::fmt;

use crate::close::CloseCode;
use crate::mask::copy_payload;

/// The longest possible frame header: 2 bytes + 8 bytes of extended length + 4 bytes of mask.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload a control frame may carry (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode (RFC 6455 §5.2, §11.8).
///
/// Reserved opcodes (`0x3`–`0x7`, `0xB`–`0xF`) have no variant: [`OpCode::from_u8`] returns `None`
/// for them and [`decode_header`] fails with [`FrameError::ReservedOpCode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// `0x0`: a continuation frame of a fragmented message.
    Continuation = 0x0,
    /// `0x1`: the first frame of a text message.
    Text = 0x1,
    /// `0x2`: the first frame of a binary message.
    Binary = 0x2,
    /// `0x8`: a close frame (§5.5.1).
    Close = 0x8,
    /// `0x9`: a ping (§5.5.2).
    Ping = 0x9,
    /// `0xA`: a pong (§5.5.3).
    Pong = 0xA,
}

impl OpCode {
    /// The opcode for the 4-bit value `bits`, or `None` if it is reserved or wider than 4 bits.
    ///
    /// ```
    /// use wsproto::frame::OpCode;
    /// assert_eq!(OpCode::from_u8(0x9), Some(OpCode::Ping));
    /// assert_eq!(OpCode::from_u8(0x3), None);
    /// ```
    pub const fn from_u8(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Control frames are close, ping and pong: opcodes with the high bit set (§5.5).
    pub const fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }

    /// Data frames are continuation, text and binary (§5.6).
    pub const fn is_data(self) -> bool {
        !self.is_control()
    }
}

/// The reserved bits RSV1–RSV3 of a header (RFC 6455 §5.2), as a set.
///
/// A header's RSV bits must be zero "unless an extension is negotiated that defines meanings for
/// non-zero values"; the caller says which bits its extensions allow (permessage-deflate uses RSV1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rsv(u8);

impl Rsv {
    /// No bit set.
    pub const NONE: Rsv = Rsv(0);
    /// RSV1 (used by permessage-deflate, RFC 7692).
    pub const RSV1: Rsv = Rsv(0x40);
    /// RSV2.
    pub const RSV2: Rsv = Rsv(0x20);
    /// RSV3.
    pub const RSV3: Rsv = Rsv(0x10);
    /// All three bits.
    pub const ALL: Rsv = Rsv(Self::RSV1.0 | Self::RSV2.0 | Self::RSV3.0);

    /// The set of bits present in a header's first byte.
    pub const fn from_first_byte(byte: u8) -> Rsv {
        Rsv(byte & Self::ALL.0)
    }

    /// The bits as they sit in a header's first byte (`0x40` = RSV1, `0x20` = RSV2, `0x10` = RSV3).
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The union of two sets.
    pub const fn union(self, other: Rsv) -> Rsv {
        Rsv(self.0 | other.0)
    }

    /// True if every bit of `other` is in `self`.
    pub const fn contains(self, other: Rsv) -> bool {
        self.0 & other.0 == other.0
    }

    /// True if no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A decoded frame header (RFC 6455 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// The reserved bits.
    pub rsv: Rsv,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present iff the MASK bit is set (§5.3).
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes (at most 2^63 − 1).
    pub payload_len: u64,
}

impl FrameHeader {
    /// The header of a final frame (FIN set, no RSV bit) of `opcode` with `payload_len` bytes,
    /// masked with `mask` if given. For a first fragment or an RSV bit, change the field:
    /// `FrameHeader { fin: false, ..FrameHeader::new(OpCode::Text, None, 5) }`.
    pub const fn new(opcode: OpCode, mask: Option<[u8; 4]>, payload_len: u64) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv: Rsv::NONE,
            opcode,
            mask,
            payload_len,
        }
    }

    /// How many bytes this header takes on the wire (2 to 14).
    ///
    /// ```
    /// use wsproto::frame::{FrameHeader, OpCode, Rsv};
    /// let h = FrameHeader { fin: true, rsv: Rsv::NONE, opcode: OpCode::Binary, mask: Some([1, 2, 3, 4]), payload_len: 256 };
    /// assert_eq!(h.encoded_len(), 2 + 2 + 4);
    /// ```
    pub const fn encoded_len(&self) -> usize {
        let len = if self.payload_len < 126 {
            2
        } else if self.payload_len <= 0xFFFF {
            4
        } else {
            10
        };
        if self.mask.is_some() { len + 4 } else { len }
    }
}

/// Why a header (or, in the streaming decoder, a frame) was rejected.
///
/// Every variant maps to the close code a connection sends for it ([`FrameError::close_code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameError {
    /// An opcode reserved for future use (§5.2): `0x3`–`0x7` or `0xB`–`0xF`.
    ReservedOpCode(u8),
    /// RSV bits set that no negotiated extension allows (§5.2); carries the offending bits.
    ReservedBits(Rsv),
    /// A control frame with FIN = 0 (§5.5: control frames MUST NOT be fragmented).
    FragmentedControlFrame,
    /// A control frame whose payload is longer than 125 bytes (§5.5).
    ControlFrameTooLong(u64),
    /// A 64-bit length with the most significant bit set (§5.2).
    LengthOverflow,
    /// A length written with more bytes than needed (§5.2: the minimal number of bytes MUST be used).
    NonMinimalLength,
    /// A server received an unmasked frame (§5.1: the server MUST close the connection).
    UnmaskedFrame,
    /// A client received a masked frame (§5.1: the client MUST close the connection).
    MaskedFrame,
    /// The payload is larger than the configured maximum; rejected from the header alone.
    FrameTooLarge {
        /// The announced payload length.
        len: u64,
        /// The configured maximum.
        max: u64,
    },
}

impl FrameError {
    /// The close code a connection fails with for this error (§7.4.1): 1009 for a frame over the
    /// configured size, 1002 (protocol error) for everything else.
    pub const fn close_code(&self) -> CloseCode {
        match self {
            FrameError::FrameTooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::ReservedOpCode(op) => write!(f, "reserved opcode {op:#x}"),
            FrameError::ReservedBits(rsv) => {
                write!(
                    f,
                    "reserved bits {:#04x} set without an extension that allows them",
                    rsv.bits()
                )
            }
            FrameError::FragmentedControlFrame => f.write_str("fragmented control frame (FIN = 0)"),
            FrameError::ControlFrameTooLong(len) => {
                write!(f, "control frame payload of {len} bytes exceeds 125")
            }
            FrameError::LengthOverflow => {
                f.write_str("64-bit payload length with the most significant bit set")
            }
            FrameError::NonMinimalLength => {
                f.write_str("payload length not in its minimal encoding")
            }
            FrameError::UnmaskedFrame => f.write_str("unmasked frame sent by a client"),
            FrameError::MaskedFrame => f.write_str("masked frame sent by a server"),
            FrameError::FrameTooLarge { len, max } => {
                write!(
                    f,
                    "frame payload of {len} bytes exceeds the frame limit of {max} bytes \
                     (max_frame_payload, or max_message_size if smaller)"
                )
            }
        }
    }
}

impl core::error::Error for FrameError {}

/// Decodes a frame header from the start of `buf`.
///
/// Returns `Ok(None)` while `buf` holds less than a whole header, and `Ok(Some((header, len)))`
/// with the header's length in bytes once it is complete. `allowed_rsv` is the set of RSV bits
/// the negotiated extensions allow; any other set bit is an error.
///
/// Checks made here are those the header alone decides (§5.2, §5.5): reserved opcodes, RSV bits,
/// fragmented or over-long control frames, the 64-bit length's top bit and minimal length
/// encoding. Masking by role and size limits are the [`decoder`](crate::decoder)'s business.
///
/// Errors are reported as soon as the bytes that decide them are present: a reserved opcode
/// fails on the first byte, before the rest of the header arrives.
///
/// ```
/// use wsproto::frame::{decode_header, OpCode, Rsv};
/// // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
/// let bytes = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
/// let (header, len) = decode_header(&bytes, Rsv::NONE).unwrap().unwrap();
/// assert_eq!((header.opcode, header.fin, header.payload_len, len), (OpCode::Text, true, 5, 2));
/// assert_eq!(decode_header(&bytes[..1], Rsv::NONE), Ok(None));
/// ```
#[inline]
pub fn decode_header(
    buf: &[u8],
    allowed_rsv: Rsv,
) -> Result<Option<(FrameHeader, usize)>, FrameError> {
    match decode_header_fast(buf, allowed_rsv) {
        Some(found) => Ok(Some(found)),
        None => decode_header_general(buf, allowed_rsv),
    }
}

/// [`decode_header`]'s fast path: a whole header with a 7- or 16-bit length that passes every
/// check. `None` for anything else (an error, a 64-bit length, too few bytes), which the general
/// path decides; for the headers it accepts, both give the same answer.
#[inline(always)]
pub(crate) fn decode_header_fast(buf: &[u8], allowed_rsv: Rsv) -> Option<(FrameHeader, usize)> {
    let [b0, b1, ref rest @ ..] = *buf else {
        return None;
    };
    // §5.2: no RSV bit that no extension allows.
    if b0 & Rsv::ALL.0 & !allowed_rsv.0 != 0 {
        return None;
    }
    // §5.2, §5.5: a defined opcode, and a control opcode only with FIN.
    let opcode = FIN_OPCODE[fin_opcode(b0)]?;
    let (payload_len, len, rest) = match (b1 & 0x7F, rest) {
        (len7 @ 0..126, rest) => (u64::from(len7), 2, rest),
        // §5.5: a control frame's payload is at most 125 bytes; §5.2: minimal encoding.
        (126, [e0, e1, rest @ ..]) if b0 & 0x08 == 0 && u16::from_be_bytes([*e0, *e1]) >= 126 => {
            (u64::from(u16::from_be_bytes([*e0, *e1])), 4, rest)
        }
        _ => return None,
    };
    let (mask, len) = match (b1 & 0x80 != 0, rest) {
        (false, _) => (None, len),
        (true, [k0, k1, k2, k3, ..]) => (Some([*k0, *k1, *k2, *k3]), len + 4),
        (true, _) => return None,
    };
    let header = FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: Rsv::from_first_byte(b0),
        opcode,
        mask,
        payload_len,
    };
    Some((header, len))
}

/// The opcode of a first byte whose FIN bit and opcode pass §5.2 and §5.5, indexed by
/// `fin_opcode(b0)`: the six defined opcodes, and control opcodes only with FIN.
const FIN_OPCODE: [Option<OpCode>; 32] = {
    let mut table = [None; 32];
    let mut i = 0;
    while i < 32 {
        let fin = i & 0x10 != 0;
        if let Some(opcode) = OpCode::from_u8((i & 0x0F) as u8) {
            if fin || !opcode.is_control() {
                table[i] = Some(opcode);
            }
        }
        i += 1;
    }
    table
};

/// FIN and the opcode of a first byte, as a 5-bit index.
const fn fin_opcode(b0: u8) -> usize {
    ((b0 >> 3) & 0x10 | (b0 & 0x0F)) as usize
}

/// [`decode_header`] for every input, one check after the other.
#[inline(never)]
fn decode_header_general(
    buf: &[u8],
    allowed_rsv: Rsv,
) -> Result<Option<(FrameHeader, usize)>, FrameError> {
    let Some(&b0) = buf.first() else {
        return Ok(None);
    };
    let fin = b0 & 0x80 != 0;
    let rsv = Rsv::from_first_byte(b0);
    let extra = Rsv(rsv.0 & !allowed_rsv.0);
    if !extra.is_empty() {
        return Err(FrameError::ReservedBits(extra));
    }
    let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(FrameError::ReservedOpCode(b0 & 0x0F))?;
    // §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be
    // fragmented."
    if opcode.is_control() && !fin {
        return Err(FrameError::FragmentedControlFrame);
    }
    let Some(&b1) = buf.get(1) else {
        return Ok(None);
    };
    let masked = b1 & 0x80 != 0;
    let len7 = b1 & 0x7F;
    let (payload_len, mut pos) = match len7 {
        126 => {
            let Some(ext) = buf.get(2..4) else {
                return Ok(None);
            };
            let len = u16::from_be_bytes([ext[0], ext[1]]) as u64;
            if len < 126 {
                return Err(FrameError::NonMinimalLength);
            }
            (len, 4)
        }
        127 => {
            let Some(ext) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(ext);
            let len = u64::from_be_bytes(bytes);
            // §5.2: "the most significant bit MUST be 0".
            if len >> 63 != 0 {
                return Err(FrameError::LengthOverflow);
            }
            if len <= 0xFFFF {
                return Err(FrameError::NonMinimalLength);
            }
            (len, 10)
        }
        short => (short as u64, 2),
    };
    if opcode.is_control() && payload_len > MAX_CONTROL_PAYLOAD as u64 {
        return Err(FrameError::ControlFrameTooLong(payload_len));
    }
    let mask = if masked {
        let Some(key) = buf.get(pos..pos + 4) else {
            return Ok(None);
        };
        pos += 4;
        Some([key[0], key[1], key[2], key[3]])
    } else {
        None
    };
    Ok(Some((
        FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
        },
        pos,
    )))
}

/// Encodes `header` into `out` and returns how many bytes of `out` it used (2 to 14). Bytes
/// of `out` past those are not written.
///
/// The length always takes its minimal encoding (§5.2). A `payload_len` of 2^63 or more cannot
/// be represented; it is encoded with the top bit cleared, so callers must not pass one (no
/// payload that fits in memory comes close). Control-frame rules are not checked here: this
/// writes what it is told.
///
/// ```
/// use wsproto::frame::{encode_header, FrameHeader, OpCode, Rsv, MAX_HEADER_LEN};
/// // RFC 6455 §5.7: a masked "Hello" with key 37 fa 21 3d.
/// let header = FrameHeader { fin: true, rsv: Rsv::NONE, opcode: OpCode::Text, mask: Some([0x37, 0xfa, 0x21, 0x3d]), payload_len: 5 };
/// let mut out = [0u8; MAX_HEADER_LEN];
/// let n = encode_header(&header, &mut out);
/// assert_eq!(&out[..n], &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]);
/// ```
#[inline]
pub fn encode_header(header: &FrameHeader, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
    out[0] = (header.fin as u8) << 7 | header.rsv.bits() | header.opcode.as_u8();
    let mask_bit = if header.mask.is_some() { 0x80 } else { 0 };
    let len = header.payload_len & (u64::MAX >> 1);
    let mut pos = if len < 126 {
        out[1] = mask_bit | len as u8;
        2
    } else if len <= 0xFFFF {
        out[1] = mask_bit | 126;
        out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        out[1] = mask_bit | 127;
        out[2..10].copy_from_slice(&len.to_be_bytes());
        10
    };
    if let Some(key) = header.mask {
        out[pos..pos + 4].copy_from_slice(&key);
        pos += 4;
    }
    pos
}

/// Writes a whole frame into `out`: `header` as [`encode_header`] writes it, then `payload`,
/// masked with `header.mask` if it holds a key (§5.3). Returns the bytes written, or `None`
/// (and writes nothing) when `header.payload_len` is not `payload.len()` or `out` is shorter
/// than `header.encoded_len() + payload.len()`.
///
/// For frames built outside a connection (tests, fuzz seeds, a raw peer): like
/// [`encode_header`] it writes what it is told; a [`Connection`](crate::Connection) writes its
/// own frames and keeps the protocol's rules.
///
/// ```
/// use wsproto::frame::{encode_frame, FrameHeader, OpCode};
/// // RFC 6455 §5.7: a masked "Hello" with key 37 fa 21 3d.
/// let header = FrameHeader::new(OpCode::Text, Some([0x37, 0xfa, 0x21, 0x3d]), 5);
/// let mut out = [0u8; 16];
/// let n = encode_frame(&header, b"Hello", &mut out).unwrap();
/// assert_eq!(&out[..n], &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
#[inline]
pub fn encode_frame(header: &FrameHeader, payload: &[u8], out: &mut [u8]) -> Option<usize> {
    if header.payload_len != payload.len() as u64 {
        return None;
    }
    let header_len = header.encoded_len();
    let (head, rest) = out.split_at_mut_checked(header_len)?;
    let body = rest.get_mut(..payload.len())?;
    let mut scratch = [0u8; MAX_HEADER_LEN];
    encode_header(header, &mut scratch);
    head.copy_from_slice(&scratch[..header_len]);
    copy_payload(payload, body, header.mask);
    Some(header_len + payload.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(opcode: OpCode, fin: bool, mask: Option<[u8; 4]>, payload_len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: Rsv::NONE,
            opcode,
            mask,
            payload_len,
        }
    }

    fn roundtrip(h: FrameHeader, expected: &[u8]) {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&h, &mut out);
        assert_eq!(&out[..n], expected);
        assert_eq!(h.encoded_len(), n);
        assert_eq!(decode_header(expected, Rsv::NONE), Ok(Some((h, n))));
        // Every strict prefix is incomplete, never an error.
        for cut in 0..n {
            assert_eq!(
                decode_header(&expected[..cut], Rsv::NONE),
                Ok(None),
                "prefix {cut}"
            );
        }
    }

    // The fast path of `decode_header` answers exactly as the general path, for every first
    // and second byte, every length of input up to a whole 16-bit-length masked header, 16-bit
    // lengths on both sides of the minimal-encoding boundary, and several RSV allowances.
    #[test]
    fn fast_path_equals_general_path() {
        for allowed in [Rsv::NONE, Rsv::RSV1, Rsv::ALL] {
            for b0 in 0..=255u8 {
                for b1 in 0..=255u8 {
                    for ext in [[0x00, 0x7D], [0x00, 0x7E], [0x01, 0x00], [0xFF, 0xFF]] {
                        let bytes = [b0, b1, ext[0], ext[1], 0x37, 0xfa, 0x21, 0x3d, 9, 9];
                        for cut in 0..=bytes.len() {
                            let input = &bytes[..cut];
                            assert_eq!(
                                decode_header(input, allowed),
                                decode_header_general(input, allowed),
                                "{input:02x?} allowing {allowed:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    // RFC 6455 §5.7, the headers of each example.
    #[test]
    fn rfc_examples() {
        // 0x81 = FIN + text, 0x05 = unmasked, length 5.
        roundtrip(header(OpCode::Text, true, None, 5), &[0x81, 0x05]);
        // 0x85 = masked, length 5; then the key 37 fa 21 3d.
        roundtrip(
            header(OpCode::Text, true, Some([0x37, 0xfa, 0x21, 0x3d]), 5),
            &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d],
        );
        // Fragmented: 0x01 = text without FIN ("Hel"), 0x80 = FIN + continuation ("lo").
        roundtrip(header(OpCode::Text, false, None, 3), &[0x01, 0x03]);
        roundtrip(header(OpCode::Continuation, true, None, 2), &[0x80, 0x02]);
        // Unmasked ping, masked pong.
        roundtrip(header(OpCode::Ping, true, None, 5), &[0x89, 0x05]);
        roundtrip(
            header(OpCode::Pong, true, Some([0x37, 0xfa, 0x21, 0x3d]), 5),
            &[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d],
        );
        // 256 bytes: 126 then a 16-bit length 0x0100.
        roundtrip(
            header(OpCode::Binary, true, None, 256),
            &[0x82, 0x7E, 0x01, 0x00],
        );
        // 64 KiB: 127 then a 64-bit length 0x10000.
        roundtrip(
            header(OpCode::Binary, true, None, 65536),
            &[0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00],
        );
    }

    #[test]
    fn length_boundaries_use_minimal_encoding() {
        for (len, header_len) in [
            (0, 2),
            (125, 2),
            (126, 4),
            (0xFFFF, 4),
            (0x1_0000, 10),
            (u64::MAX >> 1, 10),
        ] {
            let h = header(OpCode::Binary, true, None, len);
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = encode_header(&h, &mut out);
            assert_eq!(n, header_len, "len {len}");
            assert_eq!(decode_header(&out[..n], Rsv::NONE), Ok(Some((h, n))));
        }
    }

    #[test]
    fn rejects_non_minimal_lengths() {
        // 5 written as a 16-bit length.
        assert_eq!(
            decode_header(&[0x82, 0x7E, 0x00, 0x05], Rsv::NONE),
            Err(FrameError::NonMinimalLength)
        );
        // 125 as 16-bit is still non-minimal; 126 is the first valid one.
        assert_eq!(
            decode_header(&[0x82, 0x7E, 0x00, 0x7D], Rsv::NONE),
            Err(FrameError::NonMinimalLength)
        );
        // 0xFFFF written as a 64-bit length.
        let b = [0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF];
        assert_eq!(
            decode_header(&b, Rsv::NONE),
            Err(FrameError::NonMinimalLength)
        );
    }

    #[test]
    fn rejects_top_bit_of_64_bit_length() {
        let b = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            decode_header(&b, Rsv::NONE),
            Err(FrameError::LengthOverflow)
        );
        // 2^63 − 1 is the largest legal length.
        let b = [0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(
            decode_header(&b, Rsv::NONE).unwrap().unwrap().0.payload_len,
            u64::MAX >> 1
        );
    }

    #[test]
    fn rejects_reserved_opcodes_on_the_first_byte() {
        for op in (0x3..=0x7).chain(0xB..=0xF) {
            assert_eq!(
                decode_header(&[0x80 | op], Rsv::NONE),
                Err(FrameError::ReservedOpCode(op))
            );
        }
    }

    #[test]
    fn control_frame_rules() {
        // Ping without FIN: rejected on the first byte.
        assert_eq!(
            decode_header(&[0x09], Rsv::NONE),
            Err(FrameError::FragmentedControlFrame)
        );
        // Close with 126 bytes (16-bit length).
        assert_eq!(
            decode_header(&[0x88, 0x7E, 0x00, 0x7E], Rsv::NONE),
            Err(FrameError::ControlFrameTooLong(126))
        );
        // 125 is fine.
        assert!(decode_header(&[0x8A, 0x7D], Rsv::NONE).unwrap().is_some());
    }

    #[test]
    fn reserved_bits_depend_on_what_the_caller_allows() {
        // 0xC1 = FIN + RSV1 + text.
        assert_eq!(
            decode_header(&[0xC1, 0x00], Rsv::NONE),
            Err(FrameError::ReservedBits(Rsv::RSV1))
        );
        let (h, _) = decode_header(&[0xC1, 0x00], Rsv::RSV1).unwrap().unwrap();
        assert_eq!(h.rsv, Rsv::RSV1);
        // RSV2 stays forbidden when only RSV1 is allowed.
        assert_eq!(
            decode_header(&[0xE1, 0x00], Rsv::RSV1),
            Err(FrameError::ReservedBits(Rsv::RSV2))
        );
    }

    #[test]
    fn opcode_classes() {
        for bits in 0..16u8 {
            if let Some(op) = OpCode::from_u8(bits) {
                assert_eq!(op.as_u8(), bits);
                assert_eq!(op.is_control(), bits >= 8);
                assert_eq!(op.is_data(), bits < 8);
            }
        }
        assert_eq!(OpCode::from_u8(0x10), None);
    }

    #[test]
    fn encode_frame_writes_the_header_then_the_payload_masked_by_its_key() {
        let payload = [0xab_u8; 300];
        // A server's frame: unmasked, a 16-bit length.
        let h = FrameHeader::new(OpCode::Binary, None, 300);
        let mut out = [0u8; 304];
        assert_eq!(encode_frame(&h, &payload, &mut out), Some(304));
        assert_eq!(out[..4], [0x82, 126, 0x01, 0x2c]);
        assert_eq!(out[4..], payload);
        // A client's first fragment with RSV1: decodes to its header, unmasks to its payload.
        let key = [1, 2, 3, 4];
        let h = FrameHeader {
            fin: false,
            rsv: Rsv::RSV1,
            ..FrameHeader::new(OpCode::Text, Some(key), 300)
        };
        let mut out = [0u8; 308];
        assert_eq!(encode_frame(&h, &payload, &mut out), Some(308));
        assert_eq!(decode_header(&out, Rsv::RSV1), Ok(Some((h, 8))));
        crate::mask::apply_mask(&mut out[8..], key, 0);
        assert_eq!(out[8..], payload);
    }

    #[test]
    fn encode_frame_refuses_a_short_buffer_or_a_wrong_length_and_writes_nothing() {
        let h = FrameHeader::new(OpCode::Binary, Some([9; 4]), 5);
        let mut out = [0u8; 11];
        assert_eq!(encode_frame(&h, b"hello", &mut out[..10]), None);
        assert_eq!(encode_frame(&h, b"hell", &mut out), None);
        assert_eq!(encode_frame(&h, b"hello!", &mut out), None);
        assert_eq!(out, [0; 11]);
        // Exactly the frame's length is enough.
        assert_eq!(encode_frame(&h, b"hello", &mut out), Some(11));
        assert_eq!(out[..6], [0x82, 0x85, 9, 9, 9, 9]);
    }
}
