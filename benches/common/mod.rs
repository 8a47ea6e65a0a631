//! What the core's benches share: the client frames they read.

use wsproto::frame::{FrameHeader, OpCode, encode_frame};

/// The masking key of every frame (RFC 6455 §5.7's example key).
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// `count` masked binary frames of `size` bytes, back to back; frame `n`'s payload byte `i` is
/// `i + n` (before masking).
pub fn frames(size: usize, count: usize) -> Vec<u8> {
    let header = FrameHeader::new(OpCode::Binary, Some(KEY), size as u64);
    let frame_len = header.encoded_len() + size;
    let mut out = vec![0; count * frame_len];
    let mut payload = vec![0; size];
    for (n, frame) in out.chunks_exact_mut(frame_len).enumerate() {
        payload
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = (i + n) as u8);
        encode_frame(&header, &payload, frame).expect("sized for the frame");
    }
    out
}
