//! `Sec-WebSocket-Key` and `Sec-WebSocket-Accept` (RFC 6455 §1.3, §4.1 step 7, §4.2.2 step 5.4).

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

/// The GUID a server appends to the key before hashing (RFC 6455 §1.3, §4.2.2).
pub const GUID: &[u8; 36] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Decoding of a received key: standard alphabet, `==` padding required, and non-zero bits in
/// the last character tolerated. RFC 6455 §4.1 step 7 itself gives `AQIDBAUGBwgJCgsMDQ4PEC==` as an
/// example, whose last character carries non-zero unused bits; it still decodes to 16 bytes.
const KEY_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` value:
/// base64(SHA-1(key ++ [`GUID`])) (RFC 6455 §4.2.2 step 5.4).
///
/// `sec_websocket_key` is the key as it appears in the header, without surrounding whitespace; it is
/// not decoded (§4.2.2 step 4: "It is not necessary for the server to base64-decode" it). Costs one
/// SHA-1 over at most a few dozen bytes; no allocation.
///
/// ```
/// use wsproto::handshake::accept_key;
/// assert_eq!(&accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(sec_websocket_key: &[u8]) -> [u8; 28] {
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(sec_websocket_key);
    sha1.update(GUID);
    let digest = sha1.digest().bytes();
    let mut out = [0u8; 28];
    // 20 bytes encode to exactly 28 characters, padding included.
    let written = STANDARD.encode_slice(digest, &mut out);
    debug_assert_eq!(written, Ok(28));
    out
}

/// The `Sec-WebSocket-Key` value for a 16-byte nonce: its base64 encoding (RFC 6455 §4.1 step 7).
///
/// The nonce MUST be chosen randomly for each connection (§4.1 step 7); the caller supplies it.
///
/// ```
/// use wsproto::handshake::request_key;
/// assert_eq!(&request_key(b"the sample nonce"), b"dGhlIHNhbXBsZSBub25jZQ==");
/// ```
pub fn request_key(nonce: &[u8; 16]) -> [u8; 24] {
    let mut out = [0u8; 24];
    // 16 bytes encode to exactly 24 characters, padding included.
    let written = STANDARD.encode_slice(nonce, &mut out);
    debug_assert_eq!(written, Ok(24));
    out
}

/// The nonce a received `Sec-WebSocket-Key` encodes, if it is base64 of exactly 16 bytes
/// (RFC 6455 §4.2.1 step 5). `None` for any other length or alphabet.
///
/// ```
/// use wsproto::handshake::decode_key;
/// assert_eq!(decode_key(b"dGhlIHNhbXBsZSBub25jZQ=="), Some(*b"the sample nonce"));
/// assert_eq!(decode_key(b"dGhlIHNhbXBsZSBub25jZQ"), None);
/// ```
pub fn decode_key(sec_websocket_key: &[u8]) -> Option<[u8; 16]> {
    if sec_websocket_key.len() != 24 {
        return None;
    }
    // 24 characters decode to at most 18 bytes.
    let mut out = [0u8; 18];
    match KEY_ENGINE.decode_slice(sec_websocket_key, &mut out) {
        Ok(16) => {
            let mut nonce = [0u8; 16];
            nonce.copy_from_slice(&out[..16]);
            Some(nonce)
        }
        _ => None,
    }
}

/// True if `value` has the shape of an accept value: 27 base64 characters and `=`.
pub(crate) fn is_accept_shaped(value: &[u8; 28]) -> bool {
    value[27] == b'='
        && value[..27]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6455_section_1_3_example() {
        assert_eq!(
            &accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn rfc_6455_section_4_1_key_example_decodes() {
        let nonce: [u8; 16] = core::array::from_fn(|i| i as u8 + 1);
        assert_eq!(decode_key(b"AQIDBAUGBwgJCgsMDQ4PEC=="), Some(nonce));
        assert_eq!(&request_key(&nonce), b"AQIDBAUGBwgJCgsMDQ4PEA==");
    }

    #[test]
    fn keys_of_other_lengths_are_rejected() {
        assert_eq!(decode_key(b""), None);
        // 15 and 17 bytes.
        assert_eq!(decode_key(b"dGhlIHNhbXBsZSBub25jZQ="), None);
        assert_eq!(decode_key(b"dGhlIHNhbXBsZSBub25jZXMx"), None);
        assert_eq!(
            decode_key(b"dGhlIHNhbXBsZSBub25jZS=="),
            Some(*b"the sample nonce")
        );
        assert_eq!(decode_key(b"dGhlIHNhbXBsZSBub25jZQ=A"), None);
        assert_eq!(decode_key(b"dGhlIHNhbXBsZSBub25j*Q=="), None);
        assert_eq!(decode_key(b"dGhlIHNhbXBsZSBub25jZSE="), None);
    }

    #[test]
    fn accept_shape() {
        assert!(is_accept_shaped(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        assert!(!is_accept_shaped(b"s3pPLMBiTxaQ9kYGzzhZRbK+xO\r\n"));
    }
}
