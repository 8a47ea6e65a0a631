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
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    if buf.len() <= SMALL {
        return xor_small(buf, buf_pattern(key, offset));
    }
    apply_mask_large(buf, key, offset);
}

/// `apply_mask` for slices longer than [`SMALL`].
#[inline(never)]
fn apply_mask_large(buf: &mut [u8], key: [u8; 4], offset: usize) {
    if buf.len() < ALIGN_FROM {
        return xor_in_place(buf, key, offset);
    }
    let (head, body) = buf.split_at_mut(buf.as_ptr().align_offset(BLOCK).min(buf.len()));
    xor_in_place(head, key, offset);
    xor_in_place(body, key, offset.wrapping_add(head.len()));
}

/// `apply_mask` without the alignment split.
fn xor_in_place(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let pattern = buf_pattern(key, offset);
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
    xor_small(words.into_remainder(), pattern);
}

/// Up to this many bytes, (un)masking takes at most two word-sized XORs and no loop.
const SMALL: usize = 16;

/// The pattern for `buf[0]` at payload position `offset`: the key as read with
/// `u32::from_ne_bytes`, shifted to `offset` and repeated into both halves of a word.
#[inline]
fn buf_pattern(key: [u8; 4], offset: usize) -> u64 {
    let word = u64::from(u32::from_ne_bytes(key)) * 0x1_0000_0001;
    shifted(word, offset)
}

/// `pattern` for a slice starting `shift` bytes further into the payload.
#[inline]
fn shifted(pattern: u64, shift: usize) -> u64 {
    // Byte `i` of the word in memory must become byte `i + shift`; the pattern repeats every
    // 4 bytes, so a rotation does it. Memory order is the low byte first on little-endian.
    let bits = 8 * (shift & 3) as u32;
    if cfg!(target_endian = "little") {
        pattern.rotate_right(bits)
    } else {
        pattern.rotate_left(bits)
    }
}

/// The first 4 bytes of `pattern` in memory order, as a `u32` read with `from_ne_bytes`.
#[inline]
fn half(pattern: u64) -> u32 {
    let bytes = pattern.to_ne_bytes();
    u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// XORs `buf` (at most [`SMALL`] bytes) with `pattern`, its first byte lined up with `buf[0]`.
///
/// 8 to 16 bytes are two `u64` words, the second one ending at the slice's end; 4 to 7 bytes two
/// `u32`s the same way. Both words are read before either is written, so where they overlap both
/// write the same bytes.
#[inline(always)]
fn xor_small(buf: &mut [u8], pattern: u64) {
    let len = buf.len();
    if len >= WORD {
        let tail = len - WORD;
        let first = read_u64(&buf[..WORD]) ^ pattern;
        let last = read_u64(&buf[tail..]) ^ shifted(pattern, tail);
        buf[..WORD].copy_from_slice(&first.to_ne_bytes());
        buf[tail..].copy_from_slice(&last.to_ne_bytes());
    } else if len >= 4 {
        let tail = len - 4;
        let first = read_u32(&buf[..4]) ^ half(pattern);
        let last = read_u32(&buf[tail..]) ^ half(shifted(pattern, tail));
        buf[..4].copy_from_slice(&first.to_ne_bytes());
        buf[tail..].copy_from_slice(&last.to_ne_bytes());
    } else {
        for (byte, k) in buf.iter_mut().zip(pattern.to_ne_bytes()) {
            *byte ^= k;
        }
    }
}

/// `xor_small` from `src` into `dst`, two slices of the same length (at most [`SMALL`]).
#[inline(always)]
fn xor_small_copy(src: &[u8], dst: &mut [u8], pattern: u64) {
    let len = src.len().min(dst.len());
    if len >= WORD {
        let tail = len - WORD;
        let first = read_u64(&src[..WORD]) ^ pattern;
        let last = read_u64(&src[tail..len]) ^ shifted(pattern, tail);
        dst[..WORD].copy_from_slice(&first.to_ne_bytes());
        dst[tail..len].copy_from_slice(&last.to_ne_bytes());
    } else if len >= 4 {
        let tail = len - 4;
        let first = read_u32(&src[..4]) ^ half(pattern);
        let last = read_u32(&src[tail..len]) ^ half(shifted(pattern, tail));
        dst[..4].copy_from_slice(&first.to_ne_bytes());
        dst[tail..len].copy_from_slice(&last.to_ne_bytes());
    } else {
        for ((d, s), k) in dst.iter_mut().zip(src).zip(pattern.to_ne_bytes()) {
            *d = s ^ k;
        }
    }
}

#[inline]
fn read_u64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; WORD];
    word.copy_from_slice(bytes);
    u64::from_ne_bytes(word)
}

#[inline]
fn read_u32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(bytes);
    u32::from_ne_bytes(word)
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
// Always inlined: a small dispatch, hot in `Connection::send`.
#[inline(always)]
pub fn apply_mask_copy(src: &[u8], dst: &mut [u8], key: [u8; 4], offset: usize) -> usize {
    let len = src.len().min(dst.len());
    if len <= SMALL {
        xor_small_copy(&src[..len], &mut dst[..len], buf_pattern(key, offset));
        return len;
    }
    apply_mask_copy_large(src, dst, key, offset)
}

/// Copies a frame's payload from `src` into `dst` (the same length): masked with `key` when
/// there is one (a client's frame, §5.3), as it is otherwise (a server's).
#[inline(always)]
pub(crate) fn copy_payload(src: &[u8], dst: &mut [u8], key: Option<[u8; 4]>) {
    match key {
        // One pass: mask while copying.
        Some(key) => {
            apply_mask_copy(src, dst, key, 0);
        }
        None => dst.copy_from_slice(src),
    }
}

/// `apply_mask_copy` for more than [`SMALL`] bytes.
#[inline(never)]
fn apply_mask_copy_large(src: &[u8], dst: &mut [u8], key: [u8; 4], offset: usize) -> usize {
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
    let pattern = buf_pattern(key, offset);
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
    xor_small_copy(src_words.remainder(), dst_words.into_remainder(), pattern);
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
