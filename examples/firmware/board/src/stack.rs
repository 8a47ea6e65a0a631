//! The stack's high-water mark. With cortex-m-rt's `paint-stack` feature the reset handler
//! fills the whole stack region (from the end of the statics, `_stack_end`, up to the initial
//! stack pointer, `_stack_start`) with [`cortex_m_rt::STACK_PAINT_VALUE`]; the deepest word that
//! no longer holds it is as far as the stack ever reached.

unsafe extern "C" {
    /// The initial stack pointer (the top of RAM): the stack grows down from here.
    static _stack_start: u32;
    /// The lowest address the stack may reach (the end of `.bss`).
    static _stack_end: u32;
}

/// The most bytes of stack used since reset (including exception frames).
pub fn high_water() -> u32 {
    let top = (&raw const _stack_start) as usize;
    let bottom = (&raw const _stack_end) as usize;
    let mut addr = bottom;
    while addr < top {
        // SAFETY: `addr` is word-aligned (both linker symbols are) and inside the RAM region
        // between the statics and the top of the stack, which is always mapped. The words below
        // the live stack belong to no Rust object: a volatile read only observes them.
        let word = unsafe { core::ptr::read_volatile(addr as *const u32) };
        if word != cortex_m_rt::STACK_PAINT_VALUE {
            break;
        }
        addr += 4;
    }
    (top - addr) as u32
}
