//! Incremental UTF-8 validation of text messages (RFC 6455 §5.6, §8.1; RFC 3629 §4).
//!
//! Read RFC 6455 §8.1 first: "When an endpoint is to interpret a byte stream as UTF-8 but finds
//! that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the
//! WebSocket Connection_." A text message arrives in frames and each frame in chunks, and a
//! character may be split across any of them, so [`Utf8Validator`] carries the bytes of an
//! unfinished character (at most 3) from one chunk to the next.
//!
//! It fails fast: the error comes with the chunk holding the first byte that can no longer start
//! or continue a valid sequence, even if the message goes on. A surrogate (`ed a0`), a code point
//! above U+10FFFF (`f4 90`), an overlong form (`c0`, `c1`, `e0 80`, `f0 80`) or a byte that never
//! appears in UTF-8 (`f5`–`ff`) is rejected at that byte, so the connection can close with 1007
//! without waiting for the rest of the message.
//!
//! The bulk of each chunk goes to `simdutf8` with feature `simd` (runtime CPU detection with
//! `std`, compile-time target features without), else to `core::str::from_utf8`, which already
//! skips ASCII a word at a time and walks multi-byte characters with a byte state machine. Only
//! the up to 3 bytes that finish a carried character are checked here, byte by byte. The result
//! is exactly that of `core::str::from_utf8` on the whole message, including the error position.

use core::fmt;
use core::ops::RangeInclusive;

use crate::close::CloseCode;

/// Invalid UTF-8 in a text message or close reason (RFC 6455 §8.1).
///
/// The fields mean what they mean in [`core::str::Utf8Error`], counted from the start of the
/// message rather than of one chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Utf8Error {
    valid_up_to: u64,
    error_len: Option<u8>,
}

impl Utf8Error {
    /// How many bytes at the start of the message are valid UTF-8; the invalid sequence starts
    /// at this index. Equal to `core::str::from_utf8(&message).unwrap_err().valid_up_to()`.
    pub const fn valid_up_to(&self) -> u64 {
        self.valid_up_to
    }

    /// The length (1 to 3) of the invalid sequence, or `None` if the message ended in the middle
    /// of a character that was valid so far (reported by [`Utf8Validator::finish`]). Equal to
    /// `core::str::Utf8Error::error_len` on the whole message.
    pub const fn error_len(&self) -> Option<usize> {
        match self.error_len {
            Some(len) => Some(len as usize),
            None => None,
        }
    }

    /// The close code to fail the connection with: 1007, invalid frame payload data (§7.4.1).
    pub const fn close_code(&self) -> CloseCode {
        CloseCode::INVALID_PAYLOAD
    }

    fn from_bulk(base: u64, valid_up_to: usize, error_len: Option<usize>) -> Self {
        Utf8Error {
            valid_up_to: base + valid_up_to as u64,
            // A sequence is at most 4 bytes, so an invalid prefix of one is at most 3.
            error_len: error_len.map(|len| len as u8),
        }
    }
}

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error_len {
            Some(len) => write!(
                f,
                "invalid UTF-8 sequence of {len} byte(s) at byte {} of the message",
                self.valid_up_to
            ),
            None => write!(
                f,
                "message ends in an incomplete UTF-8 sequence starting at byte {}",
                self.valid_up_to
            ),
        }
    }
}

impl core::error::Error for Utf8Error {}

/// Validates one text message fed in chunks of any size (RFC 6455 §8.1).
///
/// Holds the up to 3 bytes of a character split between chunks and the number of bytes fed so
/// far: 16 bytes, `Copy`, no allocation. Each byte is looked at once. Call [`feed`](Self::feed)
/// for every chunk of the message's payload, in order, across frames, then
/// [`finish`](Self::finish) when the frame with FIN arrives.
///
/// ```
/// use wsproto::utf8::Utf8Validator;
/// let mut v = Utf8Validator::new();
/// // "€" (e2 82 ac) split across two frames.
/// v.feed(b"price: \xe2\x82")?;
/// assert!(v.is_mid_sequence());
/// v.feed(b"\xac 5")?;
/// v.finish()?;
///
/// // A UTF-16 surrogate (ed a0 80) fails at its second byte, before the message ends.
/// let err = v.feed(b"ok \xed\xa0").unwrap_err();
/// assert_eq!((err.valid_up_to(), err.error_len()), (3, Some(1)));
/// assert_eq!(err.close_code().0, 1007);
/// # Ok::<(), wsproto::utf8::Utf8Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Utf8Validator {
    /// The first `carry_len` bytes of an unfinished character, valid so far.
    carry: [u8; 3],
    carry_len: u8,
    /// Bytes fed since the start of the message.
    fed: u64,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Utf8Validator {
            carry: [0; 3],
            carry_len: 0,
            fed: 0,
        }
    }

    /// Validates the next `chunk` of the message.
    ///
    /// Fails at the first byte that cannot start or continue a valid character, whether it is
    /// the first byte of the chunk (finishing a character from an earlier chunk) or later. A
    /// chunk that ends inside a character that is valid so far is accepted and the character's
    /// bytes are carried. On error the validator is reset, ready for a new message.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Utf8Error> {
        let rest = match self.finish_carry(chunk) {
            Ok(Some(rest)) => rest,
            Ok(None) => return Ok(()),
            Err(err) => {
                self.reset();
                return Err(err);
            }
        };
        let base = self.fed + (chunk.len() - rest.len()) as u64;
        match bulk(rest) {
            Ok(()) => {}
            Err((valid_up_to, None)) => {
                // The chunk ends inside a character that is valid so far: carry it.
                let tail = &rest[valid_up_to..];
                self.carry[..tail.len()].copy_from_slice(tail);
                self.carry_len = tail.len() as u8;
            }
            Err((valid_up_to, error_len)) => {
                self.reset();
                return Err(Utf8Error::from_bulk(base, valid_up_to, error_len));
            }
        }
        self.fed += chunk.len() as u64;
        Ok(())
    }

    /// Ends the message: fails if it stopped inside a character. Resets the validator for the
    /// next message either way.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let carried = self.carry_len;
        let start = self.fed - u64::from(carried);
        self.reset();
        if carried == 0 {
            Ok(())
        } else {
            Err(Utf8Error {
                valid_up_to: start,
                error_len: None,
            })
        }
    }

    /// Forgets the current message.
    pub fn reset(&mut self) {
        *self = Utf8Validator::new();
    }

    /// True if the bytes fed so far end inside a character: the message cannot end here.
    pub const fn is_mid_sequence(&self) -> bool {
        self.carry_len != 0
    }

    /// Completes a carried character from the start of `chunk`, byte by byte.
    ///
    /// Returns the rest of the chunk, which starts at a character boundary, or `None` if the
    /// chunk ran out first (its bytes are then carried and counted).
    fn finish_carry<'a>(&mut self, chunk: &'a [u8]) -> Result<Option<&'a [u8]>, Utf8Error> {
        if self.carry_len == 0 {
            return Ok(Some(chunk));
        }
        let lead = self.carry[0];
        let width = sequence_len(lead);
        let mut seen = usize::from(self.carry_len);
        let mut rest = chunk;
        while seen < width {
            let Some((&byte, tail)) = rest.split_first() else {
                self.carry_len = seen as u8;
                self.fed += chunk.len() as u64;
                return Ok(None);
            };
            let allowed = if seen == 1 {
                second_byte_range(lead)
            } else {
                0x80..=0xBF
            };
            if !allowed.contains(&byte) {
                return Err(Utf8Error {
                    valid_up_to: self.fed - u64::from(self.carry_len),
                    error_len: Some(seen as u8),
                });
            }
            if seen < self.carry.len() {
                self.carry[seen] = byte;
            }
            seen += 1;
            rest = tail;
        }
        self.carry_len = 0;
        Ok(Some(rest))
    }
}

/// The length of the sequence that `lead` starts. Only called with the first byte of a carry,
/// which the bulk validator or an earlier byte check has accepted as a lead byte (C2–F4).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// The bytes that may follow `lead` (RFC 3629 §4, the `UTF8-2` to `UTF8-4` rules). The narrow
/// ranges exclude overlong forms (after E0, F0), UTF-16 surrogates (after ED; RFC 3629 §3 forbids
/// encoding them) and code points above U+10FFFF (after F4).
fn second_byte_range(lead: u8) -> RangeInclusive<u8> {
    match lead {
        0xE0 => 0xA0..=0xBF,
        0xED => 0x80..=0x9F,
        0xF0 => 0x90..=0xBF,
        0xF4 => 0x80..=0x8F,
        _ => 0x80..=0xBF,
    }
}

/// Validates a chunk that starts at a character boundary. The error is `(valid_up_to,
/// error_len)` as in [`core::str::Utf8Error`].
///
/// A chunk often ends inside a character that the next one completes. The bytes before that
/// character are checked in bulk and the at most 3 after it apart, so that the bulk check (which
/// is fastest when it only has to say yes) does not fail on them and run twice. A valid prefix
/// that ends at a character boundary does not change how the rest validates, so the result is
/// that of checking the chunk whole; if the prefix is invalid, the chunk is checked whole again
/// for the exact error.
#[inline]
fn bulk(bytes: &[u8]) -> Result<(), (usize, Option<usize>)> {
    let cut = unfinished_tail(bytes);
    let (whole, tail) = bytes.split_at(cut);
    if is_utf8(whole) {
        return match core::str::from_utf8(tail) {
            Ok(_) => Ok(()),
            Err(e) => Err((cut + e.valid_up_to(), e.error_len())),
        };
    }
    from_utf8_impl(bytes)
        .map(|_| ())
        .map_err(|e| (e.valid_up_to(), e.error_len()))
}

/// Where the last character of `bytes` starts if it needs more bytes than `bytes` holds (its
/// lead byte is among the last 3), else `bytes.len()`.
#[inline]
fn unfinished_tail(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(3) {
        let byte = bytes[len - back];
        // Not a continuation byte: the last character starts here.
        if byte & 0xC0 != 0x80 {
            return if byte >= 0xC0 && sequence_len(byte) > back {
                len - back
            } else {
                len
            };
        }
    }
    len
}

/// True if `bytes` is valid UTF-8 (SIMD with feature `simd`).
#[inline]
fn is_utf8(bytes: &[u8]) -> bool {
    #[cfg(feature = "simd")]
    return simdutf8::basic::from_utf8(bytes).is_ok();
    #[cfg(not(feature = "simd"))]
    return core::str::from_utf8(bytes).is_ok();
}

/// `simdutf8`'s `basic` validator is the faster one but gives no error position; valid input
/// (the common case) takes it alone, invalid input is checked again by `compat` for the details.
#[cfg(feature = "simd")]
#[inline]
fn from_utf8_impl(bytes: &[u8]) -> Result<&str, simdutf8::compat::Utf8Error> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(_) => simdutf8::compat::from_utf8(bytes),
    }
}

#[cfg(not(feature = "simd"))]
use core::str::from_utf8 as from_utf8_impl;

/// Checks a whole buffer, such as a close reason (§5.5.1: "the data MUST be UTF-8"), and borrows
/// it as a `str`.
///
/// Same result as [`core::str::from_utf8`], with SIMD under feature `simd`. No allocation.
///
/// ```
/// use wsproto::utf8::from_utf8;
/// assert_eq!(from_utf8("bye ✓".as_bytes()), Ok("bye ✓"));
/// let err = from_utf8(b"bye \xc0\xaf").unwrap_err(); // overlong '/'
/// assert_eq!((err.valid_up_to(), err.error_len()), (4, Some(1)));
/// ```
pub fn from_utf8(bytes: &[u8]) -> Result<&str, Utf8Error> {
    from_utf8_impl(bytes).map_err(|e| Utf8Error::from_bulk(0, e.valid_up_to(), e.error_len()))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::vec::Vec;

    use proptest::prelude::*;

    use super::*;

    /// Feeds `chunks` and then finishes. Returns the index of the failing call (`chunks.len()`
    /// for `finish`) and its error.
    fn run(chunks: &[&[u8]]) -> Result<(), (usize, Utf8Error)> {
        let mut v = Utf8Validator::new();
        for (i, chunk) in chunks.iter().enumerate() {
            v.feed(chunk).map_err(|e| (i, e))?;
        }
        v.finish().map_err(|e| (chunks.len(), e))
    }

    fn err(valid_up_to: u64, error_len: Option<u8>) -> Utf8Error {
        Utf8Error {
            valid_up_to,
            error_len,
        }
    }

    #[test]
    fn valid_messages() {
        assert_eq!(run(&[]), Ok(()));
        assert_eq!(run(&[b""]), Ok(()));
        assert_eq!(
            run(&[b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc"]),
            Ok(())
        );
        // U+10FFFF, the largest code point: f4 8f bf bf, one byte per chunk.
        assert_eq!(run(&[b"\xf4", b"\x8f", b"", b"\xbf", b"\xbf"]), Ok(()));
        // U+FFFF and U+D7FF / U+E000 around the surrogates.
        assert_eq!(run(&[b"\xef\xbf", b"\xbf\xed\x9f\xbf\xee\x80\x80"]), Ok(()));
    }

    // The Autobahn test suite's case 6.4.x message: "κόσμε" followed by a surrogate, ed a0 80.
    // ce ba = κ, e1 bd b9 = ό, ce bc = μ (the σ is elided in the test), ce b5 = ε.
    #[test]
    fn fails_fast_on_surrogate() {
        let msg = b"\xce\xba\xe1\xbd\xb9\xce\xbc\xce\xb5\xed\xa0\x80edited";
        assert_eq!(run(&[msg]), Err((0, err(9, Some(1)))));
        // ed at the end of one chunk is fine; a0 fails on the next feed, before 80 arrives.
        assert_eq!(
            run(&[&msg[..10], &msg[10..11], &msg[11..]]),
            Err((1, err(9, Some(1))))
        );
        let mut v = Utf8Validator::new();
        v.feed(&msg[..10]).unwrap();
        assert!(v.is_mid_sequence());
        assert_eq!(v.feed(b"\xa0"), Err(err(9, Some(1))));
        // Reset after the error.
        assert_eq!(v, Utf8Validator::new());
    }

    #[test]
    fn rejects_impossible_bytes_at_once() {
        for byte in [0x80, 0xBF, 0xC0, 0xC1, 0xF5, 0xF8, 0xFE, 0xFF] {
            assert_eq!(
                run(&[b"ab", &[byte], b"cd"]),
                Err((1, err(2, Some(1)))),
                "{byte:#x}"
            );
        }
        // Above U+10FFFF: f4 90 fails at 90.
        assert_eq!(run(&[b"\xf4", b"\x90"]), Err((1, err(0, Some(1)))));
        assert_eq!(run(&[b"\xf4\x90"]), Err((0, err(0, Some(1)))));
        // Overlong: e0 80..9f and f0 80..8f fail at the second byte.
        assert_eq!(run(&[b"x\xe0", b"\x9f\x80"]), Err((1, err(1, Some(1)))));
        assert_eq!(run(&[b"x\xf0", b"\x8f"]), Err((1, err(1, Some(1)))));
        // A sequence cut short by a non-continuation: error_len counts the bytes before it.
        assert_eq!(run(&[b"\xe1\xbd", b"A"]), Err((1, err(0, Some(2)))));
        assert_eq!(
            run(&[b"\xf1", b"\x80\x80", b"\xc0"]),
            Err((2, err(0, Some(3))))
        );
    }

    #[test]
    fn truncated_message_fails_at_finish() {
        assert_eq!(run(&[b"abc\xe2\x82"]), Err((1, err(3, None))));
        assert_eq!(run(&[b"abc\xf0", b"\x9f", b"\x98"]), Err((3, err(3, None))));
        // finish resets: the next message starts clean.
        let mut v = Utf8Validator::new();
        v.feed(b"\xc3").unwrap();
        assert!(v.finish().is_err());
        assert!(!v.is_mid_sequence());
        v.feed(b"ok").unwrap();
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn state_is_small() {
        // Principle 2 of the design: fixed, small state. Carry (3) + length (1) + count (8).
        assert_eq!(core::mem::size_of::<Utf8Validator>(), 16);
    }

    #[test]
    fn error_display_and_close_code() {
        use std::string::ToString;
        assert_eq!(
            err(9, Some(1)).to_string(),
            "invalid UTF-8 sequence of 1 byte(s) at byte 9 of the message"
        );
        assert_eq!(
            err(3, None).to_string(),
            "message ends in an incomplete UTF-8 sequence starting at byte 3"
        );
        assert_eq!(err(0, None).close_code(), CloseCode::INVALID_PAYLOAD);
    }

    #[test]
    fn whole_buffer() {
        assert_eq!(from_utf8(b""), Ok(""));
        assert_eq!(from_utf8(b"\xed\xa0\x80"), Err(err(0, Some(1))));
        assert_eq!(from_utf8(b"a\xe2\x82"), Err(err(1, None)));
    }

    /// Where `core::str::from_utf8` says the message fails, which byte a fail-fast validator
    /// must stop at: the byte after the `error_len` bytes it accepted, or the lead byte itself
    /// if that can never start a character.
    fn offending_byte(message: &[u8], e: core::str::Utf8Error) -> Option<usize> {
        let len = e.error_len()?;
        let start = e.valid_up_to();
        Some(if (0xC2..=0xF4).contains(&message[start]) {
            start + len
        } else {
            start
        })
    }

    fn check(message: &[u8], cuts: &[usize]) -> Result<(), TestCaseError> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (message.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for &cut in &cuts {
            chunks.push(&message[start..cut]);
            start = cut;
        }
        chunks.push(&message[start..]);
        let got = run(&chunks);
        prop_assert_eq!(from_utf8(message).map(|_| ()), got.map_err(|(_, e)| e));
        match core::str::from_utf8(message) {
            Ok(_) => prop_assert!(got.is_ok()),
            Err(e) => {
                let (failed_at, ours) = got.unwrap_err();
                prop_assert_eq!(ours.valid_up_to(), e.valid_up_to() as u64);
                prop_assert_eq!(ours.error_len(), e.error_len());
                // Fail fast: the failing call is the one that fed the offending byte.
                let expected = match offending_byte(message, e) {
                    Some(index) => chunks
                        .iter()
                        .scan(0, |end, c| {
                            *end += c.len();
                            Some(*end)
                        })
                        .position(|end| end > index)
                        .unwrap(),
                    None => chunks.len(),
                };
                prop_assert_eq!(failed_at, expected);
            }
        }
        Ok(())
    }

    /// `text` as bytes with up to two bytes overwritten.
    fn damaged(text: impl Strategy<Value = std::string::String>) -> impl Strategy<Value = Vec<u8>> {
        let damage = proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3);
        (text, damage).prop_map(|(s, damage)| {
            let mut bytes = s.into_bytes();
            for (at, byte) in damage {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    bytes[i] = byte;
                }
            }
            bytes
        })
    }

    /// Text long enough for the SIMD blocks (64 bytes), with characters of every width and the
    /// extremes of each width.
    const LONG_TEXT: &str = "[a-z é€😀\u{10FFFF}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}]{0,300}";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn random_bytes(
            message in proptest::collection::vec(any::<u8>(), 0..64),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            check(&message, &cuts)?;
        }

        #[test]
        fn high_bytes(
            message in proptest::collection::vec(0x80u8..=0xFF, 0..16),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            check(&message, &cuts)?;
        }

        #[test]
        fn damaged_strings(
            message in damaged(any::<std::string::String>()),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            check(&message, &cuts)?;
        }

        #[test]
        fn damaged_long_text(
            message in damaged(LONG_TEXT),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            check(&message, &cuts)?;
        }

        #[test]
        fn long_valid_text_split_anywhere(
            s in LONG_TEXT,
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            check(s.as_bytes(), &cuts)?;
        }
    }
}
