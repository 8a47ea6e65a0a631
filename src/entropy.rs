//! Randomness supplied by the caller.
//!
//! RFC 6455 needs unpredictable bytes on the client side only: the 16-byte `Sec-WebSocket-Key`
//! nonce (§4.1) and a fresh 4-byte masking key for every frame (§5.3: "derived from a strong
//! source of entropy"). The crate has no RNG of its own; the caller passes one in.

/// A source of random bytes, such as the operating system's CSPRNG or a hardware RNG.
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
