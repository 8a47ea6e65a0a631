//! A counting global allocator, for the tests that measure the heap a server holds.
//!
//! A test binary installs it with
//! `#[global_allocator] static HEAP: wsproto_test_support::heap::Counting = Counting;` and
//! reads [`ALL`] (every thread's allocations), [`MARKED`] (those of the threads that called
//! [`mark_this_thread`]: a server's, so that the test's clients do not count) or
//! [`thread_allocations`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Live heap bytes (allocated minus freed) and the most there were since the last
/// [`reset_peak`](Self::reset_peak). Signed: memory may be freed by other threads than the one
/// that allocated it.
pub struct Counters {
    live: AtomicIsize,
    peak: AtomicIsize,
}

impl Counters {
    const fn new() -> Self {
        Counters {
            live: AtomicIsize::new(0),
            peak: AtomicIsize::new(0),
        }
    }

    /// Bytes allocated and not freed.
    pub fn live(&self) -> isize {
        self.live.load(Ordering::Relaxed)
    }

    /// The most bytes live since the last [`reset_peak`](Self::reset_peak).
    pub fn peak(&self) -> isize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Starts a new peak at what is live now, and returns that.
    pub fn reset_peak(&self) -> isize {
        let live = self.live();
        self.peak.store(live, Ordering::Relaxed);
        live
    }

    fn grew(&self, size: usize) {
        let live = self.live.fetch_add(size as isize, Ordering::Relaxed) + size as isize;
        self.peak.fetch_max(live, Ordering::Relaxed);
    }

    fn shrank(&self, size: usize) {
        self.live.fetch_sub(size as isize, Ordering::Relaxed);
    }
}

/// Every thread's allocations.
pub static ALL: Counters = Counters::new();
/// The allocations of the threads that called [`mark_this_thread`].
pub static MARKED: Counters = Counters::new();

thread_local! {
    static MARK: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Counts this thread's allocations in [`MARKED`] from now on.
pub fn mark_this_thread() {
    MARK.with(|mark| mark.set(true));
}

/// How many allocations (reallocations included) this thread has made.
pub fn thread_allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Whether the current thread is marked. `try_with`: the allocator may run while the
/// thread-locals are being torn down.
fn marked() -> bool {
    MARK.try_with(Cell::get).unwrap_or(false)
}

fn grew(size: usize) {
    ALL.grew(size);
    if marked() {
        MARKED.grew(size);
    }
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn shrank(size: usize) {
    ALL.shrank(size);
    if marked() {
        MARKED.shrank(size);
    }
}

/// The system allocator, counting: see the [module documentation](self).
pub struct Counting;

// SAFETY: every call goes to the system allocator unchanged; the bookkeeping touches only
// atomics and const-initialised thread-local `Cell`s, none of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and `new_size` is the caller's valid size.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        new
    }
}
