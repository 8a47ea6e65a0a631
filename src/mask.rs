//! Payload masking (RFC 6455 §5.3).
//!
//! "Octet i of the transformed data is the XOR of octet i of the original data with octet at index
//! i modulo 4 of the masking key." Masking and unmasking are the same operation.
//!
//! Both functions work a word at a time without `unsafe`: the key is rotated so that it lines up
//! with the first byte of the slice, repeated into a 64-bit pattern, and XORed into 32-byte blocks
//! as four `u64` words. The block loop has no dependencies between words, so LLVM turns it into
//! vector instructions where the target has them. Any alignment is correct, since words are read
//! with `from_ne_bytes` (an unaligned load); for long slices the first bytes up to a 32-byte
//! boundary are done apart all the same, because stores that straddle cache lines are slower.

/// Bytes per block of the main loop: four `u64` words, one AVX2 register or two SSE/NEON ones.
const BLOCK: usize = 32;
const WORD: usize = 8;
/// From this length on, the first bytes up to a 32-byte boundary are done apart, so that the block
/// loop's stores never straddle two cache lines; below it the split costs more than it saves.
const ALIGN_FROM: usize = 256;

/// `key` rotated so that byte 0 of the result is the key byte for payload position `offset`.
fn rotated(key: [u8; 4], offset: usize) -> [u8; 4] {
    // Indexing rather than `rotate_left`, which compiles to memmove calls for a 4-byte array.
    let o = offset & 3;
    [key[o], key[(o + 1) & 3], key[(o + 2) & 3], key[(o + 3) & 3]]
}

/// The rotated key repeated twice, as a word to XOR with 8 payload bytes read with `from_ne_bytes`.
fn key_word(key: [u8; 4]) -> u64 {
    u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ])
}

fn xor_word(word: &mut [u8], pattern: u64) {
    let mut bytes = [0u8; WORD];
    bytes.copy_from_slice(word);
    word.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ pattern).to_ne_bytes());
}

fn xor_word_copy(src: &[u8], dst: &mut [u8], pattern: u64) {
    let mut bytes = [0u8; WORD];
    bytes.copy_from_slice(src);
    dst.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ pattern).to_ne_bytes());
}

/// XORs `buf` with `key`, where `buf[0]` is byte `offset` of the frame's payload.
///
/// The offset lets a payload be (un)masked chunk by chunk as it arrives: unmasking `payload[..n]`
/// with offset 0 and then `payload[n..]` with offset `n` gives the same bytes as unmasking it
/// whole. Only `offset % 4` matters, so a running `usize` that wraps is fine.
///
/// Works in place, a word at a time; no allocation.
///
/// ```
/// use wsproto::mask::apply_mask;
/// // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
/// let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(&payload, b"Hello");
///
/// // The same payload unmasked in two chunks.
/// let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let (head, tail) = payload.split_at_mut(3);
/// apply_mask(head, [0x37, 0xfa, 0x21, 0x3d], 0);
/// apply_mask(tail, [0x37, 0xfa, 0x21, 0x3d], 3);
/// assert_eq!(&payload, b"Hello");
/// ```
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    if buf.len() < ALIGN_FROM {
        return xor_in_place(buf, key, offset);
    }
    let (head, body) = buf.split_at_mut(buf.as_ptr().align_offset(BLOCK).min(buf.len()));
    xor_in_place(head, key, offset);
    xor_in_place(body, key, offset.wrapping_add(head.len()));
}

/// `apply_mask` without the alignment split.
fn xor_in_place(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotated(key, offset);
    let pattern = key_word(key);
    let mut blocks = buf.chunks_exact_mut(BLOCK);
    for block in &mut blocks {
        for word in block.chunks_exact_mut(WORD) {
            xor_word(word, pattern);
        }
    }
    let mut words = blocks.into_remainder().chunks_exact_mut(WORD);
    for word in &mut words {
        xor_word(word, pattern);
    }
    // Blocks and words are multiples of 4 bytes long, so the tail starts at key index 0 again.
    for (byte, k) in words
        .into_remainder()
        .iter_mut()
        .zip(key.into_iter().cycle())
    {
        *byte ^= k;
    }
}

/// Copies `src` into `dst` and masks it on the way, where `src[0]` is byte `offset` of the frame's
/// payload; returns how many bytes were written.
///
/// Processes `min(src.len(), dst.len())` bytes, so it never panics: pass a `dst` at least as long
/// as `src` and check the count if the lengths may differ. The result equals copying and then
/// calling [`apply_mask`], in one pass over the data. This is how a client masks an outgoing
/// payload into its output buffer without touching the caller's data. No allocation.
///
/// ```
/// use wsproto::mask::apply_mask_copy;
/// // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
/// let mut out = [0u8; 8];
/// let n = apply_mask_copy(b"Hello", &mut out, [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(&out[..n], &[0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
pub fn apply_mask_copy(src: &[u8], dst: &mut [u8], key: [u8; 4], offset: usize) -> usize {
    let len = src.len().min(dst.len());
    let (src, dst) = (&src[..len], &mut dst[..len]);
    if len < ALIGN_FROM {
        xor_copy(src, dst, key, offset);
        return len;
    }
    // Align the stores, as in `apply_mask`.
    let head_len = dst.as_ptr().align_offset(BLOCK).min(len);
    let (src_head, src_body) = src.split_at(head_len);
    let (dst_head, dst_body) = dst.split_at_mut(head_len);
    xor_copy(src_head, dst_head, key, offset);
    xor_copy(src_body, dst_body, key, offset.wrapping_add(head_len));
    len
}

/// `apply_mask_copy` for slices of equal length, without the alignment split.
fn xor_copy(src: &[u8], dst: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotated(key, offset);
    let pattern = key_word(key);
    let mut src_blocks = src.chunks_exact(BLOCK);
    let mut dst_blocks = dst.chunks_exact_mut(BLOCK);
    for (s, d) in (&mut src_blocks).zip(&mut dst_blocks) {
        for (s, d) in s.chunks_exact(WORD).zip(d.chunks_exact_mut(WORD)) {
            xor_word_copy(s, d, pattern);
        }
    }
    let mut src_words = src_blocks.remainder().chunks_exact(WORD);
    let mut dst_words = dst_blocks.into_remainder().chunks_exact_mut(WORD);
    for (s, d) in (&mut src_words).zip(&mut dst_words) {
        xor_word_copy(s, d, pattern);
    }
    // As in `apply_mask`, the tail starts at key index 0.
    let tail = src_words.remainder().iter().zip(key.into_iter().cycle());
    for (d, (s, k)) in dst_words.into_remainder().iter_mut().zip(tail) {
        *d = s ^ k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// The RFC's definition, byte by byte.
    fn reference(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte ^= key[offset.wrapping_add(i) % 4];
        }
    }

    /// Lengths around every block, word and tail boundary, with and without the alignment split.
    fn lengths() -> impl Iterator<Item = usize> {
        (0..=100)
            .chain(ALIGN_FROM - 4..=ALIGN_FROM + 40)
            .chain([511, 512, 513])
    }

    fn pattern(len: usize) -> [u8; 600] {
        let mut data = [0u8; 600];
        for (i, b) in data.iter_mut().enumerate().take(len) {
            *b = (i as u8).wrapping_mul(151).wrapping_add(7);
        }
        data
    }

    // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d is 7f 9f 4d 51 58.
    #[test]
    fn rfc_example() {
        let mut payload = *b"Hello";
        apply_mask(&mut payload, KEY, 0);
        assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        apply_mask(&mut payload, KEY, 0);
        assert_eq!(&payload, b"Hello");
    }

    // Every length across the block, word and tail boundaries, every start alignment within a
    // block (sub-slices starting at odd addresses), every offset, and offsets that wrap.
    #[test]
    fn equals_byte_loop() {
        for len in lengths() {
            for start in 0..=BLOCK {
                for offset in [0, 1, 2, 3, 4, 5, 7, usize::MAX - 1, usize::MAX] {
                    let data = pattern(start + len);
                    let mut fast = data;
                    let mut slow = data;
                    apply_mask(&mut fast[start..start + len], KEY, offset);
                    reference(&mut slow[start..start + len], KEY, offset);
                    assert_eq!(fast, slow, "len {len} start {start} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn copy_equals_byte_loop() {
        for len in lengths() {
            for start in 0..=BLOCK {
                for offset in [0, 1, 2, 3, usize::MAX] {
                    let data = pattern(start + len);
                    let mut expected = data;
                    reference(&mut expected[start..start + len], KEY, offset);
                    let mut out = [0xAAu8; 600];
                    let dst_start = (start * 3) % BLOCK;
                    let n = apply_mask_copy(
                        &data[start..start + len],
                        &mut out[dst_start..],
                        KEY,
                        offset,
                    );
                    assert_eq!(n, len);
                    assert_eq!(
                        out[dst_start..dst_start + len],
                        expected[start..start + len],
                        "len {len} start {start} offset {offset}"
                    );
                    // Bytes past the count are untouched.
                    assert!(out[dst_start + len..].iter().all(|&b| b == 0xAA));
                }
            }
        }
    }

    #[test]
    fn copy_stops_at_shorter_slice() {
        let src = pattern(50);
        let mut dst = [0u8; 13];
        assert_eq!(apply_mask_copy(&src[..50], &mut dst, KEY, 1), 13);
        let mut expected = src;
        reference(&mut expected[..13], KEY, 1);
        assert_eq!(dst, expected[..13]);
        assert_eq!(apply_mask_copy(&src[..5], &mut dst, KEY, 1), 5);
        assert_eq!(apply_mask_copy(&[], &mut dst, KEY, 0), 0);
    }
}
