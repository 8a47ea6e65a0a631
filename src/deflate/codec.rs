//! The DEFLATE streams (RFC 1951) behind permessage-deflate, over `miniz_oxide`: an inflater that
//! writes into the caller's buffer, a compressor that writes into the caller's buffer and says
//! when its output would not fit, and stored blocks for when it does not.

use alloc::boxed::Box;
use core::fmt;

use miniz_oxide::deflate::core::{
    CompressionStrategy, CompressorOxide, TDEFLFlush, TDEFLStatus, compress,
};
use miniz_oxide::inflate::stream::{InflateState, MinReset, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// RFC 7692 §7.2.1: the end of a sync flush, removed by the sender and appended by the receiver.
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The most data a stored block carries (RFC 1951 §3.2.4: LEN is 16 bits).
const STORED_BLOCK_MAX: usize = 0xffff;

/// A raw DEFLATE decompressor with a 32 KiB history, which inflates every window size.
#[derive(Clone)]
pub(crate) struct Inflater {
    state: Box<InflateState>,
}

/// What one [`Inflater::inflate`] call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Inflated {
    pub consumed: usize,
    pub written: usize,
    /// A block with BFINAL was completed: the stream is over, later bytes are not DEFLATE.
    pub stream_end: bool,
}

impl Inflater {
    pub(crate) fn new() -> Self {
        Inflater {
            state: InflateState::new_boxed(DataFormat::Raw),
        }
    }

    /// Inflates from `input` into `out`. Output that does not fit stays inside (up to 32 KiB)
    /// and comes first on the next call; input is then consumed only as room allows.
    ///
    /// `Err(())` for invalid data; the inflater then stays failed.
    pub(crate) fn inflate(&mut self, input: &[u8], out: &mut [u8]) -> Result<Inflated, ()> {
        if out.is_empty() {
            return Ok(Inflated {
                consumed: 0,
                written: 0,
                stream_end: false,
            });
        }
        let result = inflate(&mut self.state, input, out, MZFlush::None);
        let stream_end = match result.status {
            Ok(MZStatus::StreamEnd) => true,
            Ok(_) => false,
            // No progress possible (no input, or nothing to flush): not an error here.
            Err(MZError::Buf) => false,
            Err(_) => return Err(()),
        };
        Ok(Inflated {
            consumed: result.bytes_consumed,
            written: result.bytes_written,
            stream_end,
        })
    }

    /// Starts a new stream. The history is not cleared (it holds only this peer's earlier
    /// messages); a valid stream never refers to it.
    pub(crate) fn reset(&mut self) {
        self.state.reset_as(MinReset);
    }
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Inflater")
    }
}

/// A raw DEFLATE compressor that sync-flushes after every call.
#[derive(Clone)]
pub(crate) struct Compressor {
    inner: Box<CompressorOxide>,
}

impl Compressor {
    /// `window_bits` is the largest window the peer inflates. miniz's compressor always searches
    /// 32 KiB, so below 15 bits only run-length matches (distance 1) are used: valid for every
    /// window.
    pub(crate) fn new(level: u8, window_bits: u8) -> Self {
        let strategy = if window_bits < 15 {
            CompressionStrategy::RLE
        } else {
            CompressionStrategy::Default
        };
        Compressor {
            inner: Box::new(CompressorOxide::with_params(
                DataFormat::Raw,
                level,
                strategy,
                15,
            )),
        }
    }

    /// Compresses `data` with a sync flush into `out`; with `fin`, removes the flush's
    /// `00 00 ff ff` tail (RFC 7692 §7.2.1). Returns the length written, or `None` if it did not
    /// fit in `out` — then the compressor holds half-written state and MUST be
    /// [`reset`](Self::reset) before further use.
    pub(crate) fn compress(&mut self, data: &[u8], out: &mut [u8], fin: bool) -> Option<usize> {
        let (status, read, written) = compress(&mut self.inner, data, out, TDEFLFlush::Sync);
        // A completely filled `out` may have more waiting inside: treat it as not fitting.
        if status != TDEFLStatus::Okay || read != data.len() || written >= out.len() {
            return None;
        }
        if !fin {
            return Some(written);
        }
        // §7.2.1: the data ends with an empty stored block; remove its LEN and NLEN.
        out[..written]
            .ends_with(&TAIL)
            .then(|| written - TAIL.len())
    }

    /// Forgets the history and any half-written output.
    pub(crate) fn reset(&mut self) {
        self.inner.reset();
    }
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Compressor")
    }
}

/// Bytes [`write_stored`] writes for `len` bytes of data.
pub(crate) const fn stored_len(len: usize, fin: bool) -> usize {
    len + 5 * len.div_ceil(STORED_BLOCK_MAX) + fin as usize
}

/// Writes `data` as stored blocks (RFC 1951 §3.2.4), starting at a byte boundary; with `fin`,
/// ends with the first byte of an empty stored block, whose LEN and NLEN RFC 7692 §7.2.1 removes.
/// `out` holds at least [`stored_len`] bytes.
pub(crate) fn write_stored(data: &[u8], fin: bool, out: &mut [u8]) -> usize {
    let mut at = 0;
    for block in data.chunks(STORED_BLOCK_MAX) {
        let len = block.len() as u16;
        // BFINAL = 0, BTYPE = 00, then padding to the byte boundary.
        out[at] = 0x00;
        out[at + 1..at + 3].copy_from_slice(&len.to_le_bytes());
        out[at + 3..at + 5].copy_from_slice(&(!len).to_le_bytes());
        out[at + 5..at + 5 + block.len()].copy_from_slice(block);
        at += 5 + block.len();
    }
    if fin {
        out[at] = 0x00;
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn inflate_all(inflater: &mut Inflater, data: &[u8]) -> Vec<u8> {
        let mut input = data.to_vec();
        input.extend_from_slice(&TAIL);
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            let mut buf = [0u8; 7];
            let r = inflater.inflate(&input[pos..], &mut buf).unwrap();
            pos += r.consumed;
            out.extend_from_slice(&buf[..r.written]);
            if r.consumed == 0 && r.written == 0 {
                break;
            }
        }
        assert_eq!(pos, input.len());
        out
    }

    #[test]
    fn stored_blocks_inflate() {
        for len in [0, 1, 100, 65535, 65536, 140_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            for fin in [false, true] {
                let mut out = vec![0; stored_len(len, fin)];
                assert_eq!(write_stored(&data, fin, &mut out), out.len());
                if fin {
                    assert_eq!(inflate_all(&mut Inflater::new(), &out), data);
                }
            }
        }
    }

    #[test]
    fn rfc_7692_7_2_3_1_and_7_2_3_2_bytes() {
        let mut c = Compressor::new(6, 15);
        let mut out = [0u8; 32];
        // §7.2.3.1: "Hello" in one compressed block.
        let n = c.compress(b"Hello", &mut out, true).unwrap();
        assert_eq!(out[..n], [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        // §7.2.3.2: the second "Hello" with the window shared.
        let n = c.compress(b"Hello", &mut out, true).unwrap();
        assert_eq!(out[..n], [0xf2, 0x00, 0x11, 0x00, 0x00]);
        // Without context takeover: the same as the first.
        c.reset();
        let n = c.compress(b"Hello", &mut out, true).unwrap();
        assert_eq!(out[..n], [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        // §7.2.3.1 fragmented: "Hel" sync-flushed, then "lo" ending the message.
        let mut c = Compressor::new(6, 15);
        let n = c.compress(b"Hel", &mut out, false).unwrap();
        let mut message = out[..n].to_vec();
        let n = c.compress(b"lo", &mut out, true).unwrap();
        message.extend_from_slice(&out[..n]);
        assert_eq!(inflate_all(&mut Inflater::new(), &message), b"Hello");
    }

    #[test]
    fn compress_round_trips_and_reports_overflow() {
        let text = b"the quick brown fox jumps over the lazy dog; ".repeat(40);
        for window in [8, 15] {
            let mut c = Compressor::new(6, window);
            let mut out = vec![0; text.len() + 64];
            let n = c.compress(&text, &mut out, true).unwrap();
            // Run-length matches only below 15 bits: Huffman coding still shrinks text.
            let limit = if window == 15 {
                text.len() / 10
            } else {
                text.len() * 2 / 3
            };
            assert!(n < limit, "{window}: {n}");
            assert_eq!(inflate_all(&mut Inflater::new(), &out[..n]), text);
            let mut small = [0u8; 4];
            assert_eq!(c.compress(&text, &mut small, true), None);
            c.reset();
            let n = c.compress(&text, &mut out, true).unwrap();
            assert_eq!(inflate_all(&mut Inflater::new(), &out[..n]), text);
        }
    }
}
