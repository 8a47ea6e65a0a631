//! Payload masking (RFC 6455 §5.3).
//!
//! "Octet i of the transformed data is the XOR of octet i of the original data with octet at index
//! i modulo 4 of the masking key." Masking and unmasking are the same operation.

/// XORs `buf` with `key`, where `buf[0]` is byte `offset` of the frame's payload.
///
/// The offset lets a payload be (un)masked chunk by chunk as it arrives. No allocation.
///
/// ```
/// use wsproto::mask::apply_mask;
/// // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
/// let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(&payload, b"Hello");
/// ```
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset + i) & 3];
    }
}
