//! Randomness supplied by the caller.
//!
//! RFC 6455 needs unpredictable bytes on the client side only: the 16-byte `Sec-WebSocket-Key`
//! nonce (§4.1) and a fresh 4-byte masking key for every frame (§5.3: "derived from a strong
//! source of entropy"). The crate has no RNG of its own; the caller passes one in.

/// A source of random bytes, such as the operating system's CSPRNG or a hardware RNG.
///
/// A client draws 16 bytes for its handshake nonce, then its masking keys 32 bytes (eight
/// keys) at a time, so `fill` is called about once per eight frames sent.
///
/// Implemented for every `FnMut(&mut [u8])`, so a closure will do:
///
/// ```
/// use wsproto::entropy::Entropy;
/// let mut counter = 0u8;
/// // Not random at all: fine for a test, never for production.
/// let mut source = |buf: &mut [u8]| buf.iter_mut().for_each(|b| { counter = counter.wrapping_add(1); *b = counter });
/// let mut key = [0u8; 4];
/// source.fill(&mut key);
/// assert_eq!(key, [1, 2, 3, 4]);
/// ```
pub trait Entropy {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

impl<F: FnMut(&mut [u8])> Entropy for F {
    fn fill(&mut self, buf: &mut [u8]) {
        self(buf)
    }
}

/// The entropy "source" of a server, which never masks and never makes a key.
///
/// It fills with zeros; a server connection never calls it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoEntropy;

impl Entropy for NoEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        buf.fill(0);
    }
}

/// Masking keys drawn from the caller's [`Entropy`] eight at a time.
///
/// A client needs a fresh key for every frame (§5.3). Drawing them in batches amortises what a
/// source costs per call (a thread-local lookup and a buffer check for `rand`'s generator, a
/// peripheral round trip for a hardware RNG): for 16-byte messages that call was a third of
/// `send`. The keys are as unpredictable as the source; drawing them early changes nothing a
/// peer can see.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MaskKeys {
    bytes: [u8; MaskKeys::LEN],
    /// Bytes of `bytes` already handed out; `LEN` when a new batch must be drawn.
    used: u8,
}

impl MaskKeys {
    const LEN: usize = 32;

    /// No keys yet: the first [`next`](Self::next) draws a batch.
    pub(crate) const EMPTY: MaskKeys = MaskKeys {
        bytes: [0; MaskKeys::LEN],
        used: MaskKeys::LEN as u8,
    };

    /// The next masking key, drawing a new batch from `entropy` when the last one is used up.
    #[inline]
    pub(crate) fn next(&mut self, entropy: &mut impl Entropy) -> [u8; 4] {
        if usize::from(self.used) >= Self::LEN {
            self.refill(entropy);
        }
        let at = usize::from(self.used);
        self.used += 4;
        let mut key = [0u8; 4];
        key.copy_from_slice(&self.bytes[at..at + 4]);
        key
    }

    /// Once per batch: kept out of line so that [`next`](Self::next) inlines into `send`.
    #[inline(never)]
    fn refill(&mut self, entropy: &mut impl Entropy) {
        entropy.fill(&mut self.bytes);
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_keys_are_the_source_stream_in_order_drawn_in_batches() {
        let mut calls = 0;
        let mut next = 0u8;
        let mut source = |buf: &mut [u8]| {
            calls += 1;
            for b in buf {
                *b = next;
                next = next.wrapping_add(1);
            }
        };
        let mut keys = MaskKeys::EMPTY;
        for i in 0..20u8 {
            let key = keys.next(&mut source);
            assert_eq!(key, [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);
        }
        // 20 keys: batches of 8 drawn before keys 0, 8 and 16.
        assert_eq!(calls, 3);
    }
}
