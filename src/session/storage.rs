//! Where a session keeps its bytes: fixed memory lent by the caller, or a growable `Vec`.

/// Memory a session reads into and writes from.
///
/// Implemented for `&mut [u8]` (fixed: it never grows) and, with the feature `alloc`, for
/// `Vec<u8>` (grows on demand, up to the connection's limits).
pub trait Storage {
    /// The bytes available now.
    fn as_slice(&self) -> &[u8];
    /// The bytes available now, writable.
    fn as_mut_slice(&mut self) -> &mut [u8];
    /// Makes at least `len` bytes available, keeping the current ones. False if it cannot; it
    /// is then unchanged.
    fn grow_to(&mut self, len: usize) -> bool;
    /// Gives back memory beyond `keep` bytes. Called only when none of the bytes are needed.
    fn shrink_to(&mut self, keep: usize);
    /// The most bytes it can ever make available: its length if fixed, `usize::MAX` if it
    /// grows.
    fn capacity_limit(&self) -> usize;
}

impl Storage for &mut [u8] {
    fn as_slice(&self) -> &[u8] {
        self
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        self
    }

    fn grow_to(&mut self, len: usize) -> bool {
        len <= self.len()
    }

    fn shrink_to(&mut self, _keep: usize) {}

    fn capacity_limit(&self) -> usize {
        self.len()
    }
}

/// Grows by at least doubling (amortised O(1) per byte), zero-filling the new bytes: the
/// storage is plain initialized memory, no `unsafe` needed to read into it.
#[cfg(feature = "alloc")]
impl Storage for alloc::vec::Vec<u8> {
    fn as_slice(&self) -> &[u8] {
        self
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        self
    }

    fn grow_to(&mut self, len: usize) -> bool {
        if len <= self.len() {
            return true;
        }
        if self.try_reserve_exact(len - self.len()).is_err() {
            return false;
        }
        self.resize(len, 0);
        true
    }

    fn shrink_to(&mut self, keep: usize) {
        if self.len() > keep {
            self.truncate(keep);
            self.shrink_to_fit();
        }
    }

    fn capacity_limit(&self) -> usize {
        usize::MAX
    }
}
