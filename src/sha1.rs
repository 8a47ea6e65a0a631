//! SHA-1 (FIPS 180-4), for the opening handshake's `Sec-WebSocket-Accept` only (RFC 6455 §4.2.2
//! step 5.4; §10.8: SHA-1 serves no security purpose there).
//!
//! The 80 rounds run as a loop rather than unrolled: about 300 bytes of code on a Cortex-M4
//! instead of 2.9 KB, for a hash computed once per connection over 60 bytes.

/// An incremental SHA-1.
#[derive(Clone, Debug)]
pub(crate) struct Sha1 {
    state: [u32; 5],
    /// The block being filled: `block[..filled]`.
    block: [u8; 64],
    filled: usize,
    /// Bytes hashed so far.
    len: u64,
}

impl Sha1 {
    pub(crate) fn new() -> Self {
        Sha1 {
            state: [
                0x6745_2301,
                0xEFCD_AB89,
                0x98BA_DCFE,
                0x1032_5476,
                0xC3D2_E1F0,
            ],
            block: [0; 64],
            filled: 0,
            len: 0,
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        for &byte in data {
            self.push(byte);
        }
    }

    /// The digest of everything hashed.
    pub(crate) fn finish(mut self) -> [u8; 20] {
        let bits = self.len.wrapping_mul(8);
        self.push(0x80);
        while self.filled != 56 {
            self.push(0);
        }
        for byte in bits.to_be_bytes() {
            self.push(byte);
        }
        let mut digest = [0u8; 20];
        for (out, word) in digest.chunks_exact_mut(4).zip(self.state) {
            out.copy_from_slice(&word.to_be_bytes());
        }
        digest
    }

    fn push(&mut self, byte: u8) {
        self.block[self.filled % 64] = byte;
        self.filled += 1;
        if self.filled == 64 {
            compress(&mut self.state, &self.block);
            self.filled = 0;
        }
    }
}

/// One 64-byte block into `state`, with a 16-word rolling message schedule.
fn compress(state: &mut [u32; 5], block: &[u8; 64]) {
    let mut w = [0u32; 16];
    for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    let [mut a, mut b, mut c, mut d, mut e] = *state;
    for t in 0..80 {
        if t >= 16 {
            let mixed = w[(t + 13) % 16] ^ w[(t + 8) % 16] ^ w[(t + 2) % 16] ^ w[t % 16];
            w[t % 16] = mixed.rotate_left(1);
        }
        let (f, k) = match t / 20 {
            0 => ((b & c) | (!b & d), 0x5A82_7999),
            1 => (b ^ c ^ d, 0x6ED9_EBA1),
            2 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
            _ => (b ^ c ^ d, 0xCA62_C1D6),
        };
        let temp = a
            .rotate_left(5)
            .wrapping_add(f)
            .wrapping_add(e)
            .wrapping_add(k)
            .wrapping_add(w[t % 16]);
        e = d;
        d = c;
        c = b.rotate_left(30);
        b = a;
        a = temp;
    }
    for (word, add) in state.iter_mut().zip([a, b, c, d, e]) {
        *word = word.wrapping_add(add);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::Sha1;
    use proptest::prelude::*;
    use std::format;
    use std::string::String;

    fn sha1(parts: &[&[u8]]) -> [u8; 20] {
        let mut sha1 = Sha1::new();
        for part in parts {
            sha1.update(part);
        }
        sha1.finish()
    }

    fn hex(digest: [u8; 20]) -> String {
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// FIPS 180 examples, and lengths around the padding boundary (55, 56, 64 bytes).
    #[test]
    fn known_digests() {
        assert_eq!(hex(sha1(&[])), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(sha1(&[b"abc"])),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(sha1(&[
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            ])),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        let million = [b'a'; 1000];
        let parts = [&million[..]; 1000];
        assert_eq!(
            hex(sha1(&parts)),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
    }

    proptest! {
        /// The same digest as `sha1_smol`, however the input is split.
        #[test]
        fn matches_sha1_smol(data in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..300) {
            let cut = cut.min(data.len());
            let expected = sha1_smol::Sha1::from(&data).digest().bytes();
            prop_assert_eq!(sha1(&[&data[..cut], &data[cut..]]), expected);
        }
    }
}
