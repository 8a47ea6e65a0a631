//! Close codes and close-frame payloads (RFC 6455 §5.5.1, §7.4).
//!
//! Read RFC 6455 §7.4 first: it lists the codes and which ranges are reserved.
//!
//! A close payload is empty, or a 2-byte big-endian code followed by a UTF-8 reason; a control
//! frame carries at most 125 bytes, so the reason is at most 123 bytes.

use core::fmt;

/// A close status code (RFC 6455 §7.4).
///
/// Any `u16` can be held; [`CloseCode::is_valid_on_wire`] says whether it may appear in a close
/// frame. The named constants are the codes §7.4.1 defines plus 1012–1014 (registered with IANA
/// and sent by real servers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: an endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer violated the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code was present. Reported locally, never sent (§7.4.1).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: the connection closed without a close frame. Reported locally, never sent (§7.4.1).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: data inconsistent with the message type (e.g. invalid UTF-8 in text).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violates the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected the server to negotiate an extension.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later.
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway received an invalid response upstream.
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: TLS handshake failure. Reported locally, never sent (§7.4.1).
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// True if the code may be sent in, or accepted from, a close frame.
    ///
    /// Valid: 1000–1003, 1007–1014 (1012–1014 are not in RFC 6455 but registered and used in
    /// practice), and 3000–4999 (libraries, frameworks, applications). Invalid: below 1000,
    /// 1004–1006 and 1015 (reserved or local-only), 1016–2999 (reserved for future RFCs), and
    /// 5000 and above.
    ///
    /// ```
    /// use wsproto::close::CloseCode;
    /// assert!(CloseCode::NORMAL.is_valid_on_wire());
    /// assert!(CloseCode(4000).is_valid_on_wire());
    /// assert!(!CloseCode::NO_STATUS.is_valid_on_wire());
    /// assert!(!CloseCode(999).is_valid_on_wire());
    /// ```
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The longest reason a close frame can carry: 125 bytes of control payload minus the code.
pub const MAX_REASON_LEN: usize = 123;

/// Why a close payload could not be parsed or built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseError {
    /// A 1-byte payload: too short for a code, yet not empty (§5.5.1).
    TruncatedCode,
    /// A code that may not appear on the wire (§7.4).
    InvalidCode(CloseCode),
    /// The reason is not valid UTF-8 (§5.5.1; the connection fails with 1007).
    InvalidUtf8,
    /// The reason is longer than 123 bytes.
    ReasonTooLong(usize),
}

impl CloseError {
    /// The code a connection fails with when a peer's close frame has this error:
    /// 1007 for invalid UTF-8, 1002 for the rest.
    pub const fn close_code(&self) -> CloseCode {
        match self {
            CloseError::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseError::TruncatedCode => {
                f.write_str("close payload of 1 byte (no room for a code)")
            }
            CloseError::InvalidCode(code) => {
                write!(f, "close code {code} is not allowed on the wire")
            }
            CloseError::InvalidUtf8 => f.write_str("close reason is not valid UTF-8"),
            CloseError::ReasonTooLong(len) => {
                write!(f, "close reason of {len} bytes exceeds {MAX_REASON_LEN}")
            }
        }
    }
}

impl core::error::Error for CloseError {}

/// Parses a received close frame's payload (§5.5.1).
///
/// Returns `None` for an empty payload (which the application sees as 1005, "no status"), else
/// the code and the reason. The reason borrows `payload`.
///
/// ```
/// use wsproto::close::{parse_close_payload, CloseCode, CloseError};
/// assert_eq!(parse_close_payload(&[0x03, 0xE8, b'b', b'y', b'e']), Ok(Some((CloseCode::NORMAL, "bye"))));
/// assert_eq!(parse_close_payload(&[]), Ok(None));
/// assert_eq!(parse_close_payload(&[0x03]), Err(CloseError::TruncatedCode));
/// ```
pub fn parse_close_payload(payload: &[u8]) -> Result<Option<(CloseCode, &str)>, CloseError> {
    match payload {
        [] => Ok(None),
        [_] => Err(CloseError::TruncatedCode),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid_on_wire() {
                return Err(CloseError::InvalidCode(code));
            }
            if reason.len() > MAX_REASON_LEN {
                return Err(CloseError::ReasonTooLong(reason.len()));
            }
            let reason = core::str::from_utf8(reason).map_err(|_| CloseError::InvalidUtf8)?;
            Ok(Some((code, reason)))
        }
    }
}

/// Builds a close frame's payload: the code, big-endian, then the reason.
///
/// Returns the payload length (2 + reason length). Rejects codes that may not be sent and
/// reasons over 123 bytes; a `&str` is UTF-8 by construction.
///
/// ```
/// use wsproto::close::{build_close_payload, CloseCode};
/// let mut buf = [0u8; 125];
/// let n = build_close_payload(CloseCode::GOING_AWAY, "restart", &mut buf).unwrap();
/// assert_eq!(&buf[..n], b"\x03\xE9restart");
/// ```
pub fn build_close_payload(
    code: CloseCode,
    reason: &str,
    out: &mut [u8; 125],
) -> Result<usize, CloseError> {
    if !code.is_valid_on_wire() {
        return Err(CloseError::InvalidCode(code));
    }
    if reason.len() > MAX_REASON_LEN {
        return Err(CloseError::ReasonTooLong(reason.len()));
    }
    out[..2].copy_from_slice(&code.0.to_be_bytes());
    out[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
    Ok(2 + reason.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_validity_by_range() {
        let valid = |c: u16| CloseCode(c).is_valid_on_wire();
        for c in 0..1000 {
            assert!(!valid(c), "{c}");
        }
        for c in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
        ] {
            assert!(valid(c), "{c}");
        }
        for c in [1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            assert!(!valid(c), "{c}");
        }
        for c in [3000, 3999, 4000, 4999] {
            assert!(valid(c), "{c}");
        }
    }

    #[test]
    fn parse_rejects_bad_payloads() {
        // 1005 and 1006 must never be on the wire.
        assert_eq!(
            parse_close_payload(&[0x03, 0xED]),
            Err(CloseError::InvalidCode(CloseCode(1005)))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xEE]),
            Err(CloseError::InvalidCode(CloseCode(1006)))
        );
        // Invalid UTF-8 in the reason (a lone continuation byte).
        assert_eq!(
            parse_close_payload(&[0x03, 0xE8, 0x80]),
            Err(CloseError::InvalidUtf8)
        );
        assert_eq!(
            CloseError::InvalidUtf8.close_code(),
            CloseCode::INVALID_PAYLOAD
        );
        assert_eq!(
            CloseError::TruncatedCode.close_code(),
            CloseCode::PROTOCOL_ERROR
        );
        // A 124-byte reason cannot come from a valid control frame but is still refused here.
        let mut long = [b'a'; 126];
        long[..2].copy_from_slice(&[0x03, 0xE8]);
        assert_eq!(
            parse_close_payload(&long),
            Err(CloseError::ReasonTooLong(124))
        );
    }

    #[test]
    fn build_then_parse() {
        let mut buf = [0u8; 125];
        let reason = "ünïcödé réason";
        let n = build_close_payload(CloseCode(4321), reason, &mut buf).unwrap();
        assert_eq!(
            parse_close_payload(&buf[..n]),
            Ok(Some((CloseCode(4321), reason)))
        );
        let max = core::str::from_utf8(&[b'x'; MAX_REASON_LEN]).unwrap();
        assert_eq!(
            build_close_payload(CloseCode::NORMAL, max, &mut buf),
            Ok(125)
        );
        let over = core::str::from_utf8(&[b'x'; MAX_REASON_LEN + 1]).unwrap();
        assert_eq!(
            build_close_payload(CloseCode::NORMAL, over, &mut buf),
            Err(CloseError::ReasonTooLong(124))
        );
        assert_eq!(
            build_close_payload(CloseCode::ABNORMAL, "", &mut buf),
            Err(CloseError::InvalidCode(CloseCode::ABNORMAL))
        );
    }
}
