//! `Sec-WebSocket-Key` and `Sec-WebSocket-Accept` (RFC 6455 §1.3, §4.1 step 7, §4.2.2 step 5.4).

use crate::sha1::Sha1;

/// The GUID a server appends to the key before hashing (RFC 6455 §1.3, §4.2.2).
pub const GUID: &[u8; 36] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The standard base64 alphabet (RFC 4648 §4).
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

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
    let mut sha1 = Sha1::new();
    sha1.update(sec_websocket_key);
    sha1.update(GUID);
    base64_encode(&sha1.finish())
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
    base64_encode(nonce)
}

/// Standard base64 with padding of `input`; `OUT` must be `4 * IN.div_ceil(3)` (checked when
/// the function is instantiated).
fn base64_encode<const IN: usize, const OUT: usize>(input: &[u8; IN]) -> [u8; OUT] {
    const { assert!(OUT == 4 * IN.div_ceil(3)) };
    let mut out = [b'='; OUT];
    base64_encode_into(input, &mut out);
    out
}

/// The characters of `input` in standard base64 into `out`, which holds the padding already.
/// One copy for every size: it is shared by the request key and the accept value.
#[inline(never)]
fn base64_encode_into(input: &[u8], out: &mut [u8]) {
    for (chunk, quad) in input.chunks(3).zip(out.chunks_exact_mut(4)) {
        let byte = |i: usize| chunk.get(i).copied().map_or(0, u32::from);
        let bits = byte(0) << 16 | byte(1) << 8 | byte(2);
        // A chunk of n bytes fills n + 1 characters; the rest stay `=`.
        for (i, c) in quad.iter_mut().take(chunk.len() + 1).enumerate() {
            *c = BASE64[(bits >> (18 - 6 * i) & 63) as usize];
        }
    }
}

/// The value of a base64 character, `None` outside the standard alphabet.
fn base64_value(c: u8) -> Option<u32> {
    let value = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(value))
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
    // 16 bytes are 22 characters and `==`: standard alphabet, padding required. The last
    // character's 4 unused bits may be non-zero: RFC 6455 §4.1 step 7 itself gives
    // `AQIDBAUGBwgJCgsMDQ4PEC==` as an example, whose last character carries such bits.
    let (chars, b"==") = sec_websocket_key.split_at_checked(22)? else {
        return None;
    };
    let mut nonce = [0u8; 16];
    let (mut bits, mut pending) = (0u32, 0u32);
    let mut filled = 0;
    for &c in chars {
        bits = (bits << 6 | base64_value(c)?) & 0xFFFF;
        pending += 6;
        if pending >= 8 {
            pending -= 8;
            if let Some(byte) = nonce.get_mut(filled) {
                *byte = (bits >> pending) as u8;
            }
            filled += 1;
        }
    }
    Some(nonce)
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

    proptest::proptest! {
        /// Encoding and decoding agree with the `base64` crate: keys of any bytes encode the
        /// same, and any 24 characters of the alphabet and `=` decode the same (trailing bits
        /// allowed, `==` required).
        #[test]
        fn base64_matches_the_base64_crate(
            nonce: [u8; 16],
            digest_input: [u8; 20],
            key in "[A-Za-z0-9+/=]{22}(==|[A-Za-z0-9+/=]{2})",
        ) {
            use base64::Engine;
            use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
            use base64::engine::DecodePaddingMode;
            let engine = GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                GeneralPurposeConfig::new()
                    .with_decode_allow_trailing_bits(true)
                    .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
            );
            let expected = STANDARD.encode(nonce);
            proptest::prop_assert_eq!(&request_key(&nonce)[..], expected.as_bytes());
            let encoded: [u8; 28] = base64_encode(&digest_input);
            let expected = STANDARD.encode(digest_input);
            proptest::prop_assert_eq!(&encoded[..], expected.as_bytes());
            let mut out = [0u8; 18];
            let expected = match engine.decode_slice(key.as_bytes(), &mut out) {
                Ok(16) => Some(core::array::from_fn(|i| out[i])),
                _ => None,
            };
            proptest::prop_assert_eq!(decode_key(key.as_bytes()), expected);
        }
    }

    #[test]
    fn accept_shape() {
        assert!(is_accept_shaped(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        assert!(!is_accept_shaped(b"s3pPLMBiTxaQ9kYGzzhZRbK+xO\r\n"));
    }
}
