//! Board support for QEMU's `mps2-an386` (an Arm MPS2 FPGA board with a Cortex-M4), just what
//! the firmware example needs to run a WebSocket client and report on it:
//!
//! - [`uart::Uart`]: the CMSDK APB UART0 as an [`embedded_io`] byte stream. QEMU connects it to
//!   a TCP socket (`-serial tcp:127.0.0.1:PORT`), so the firmware talks to a real server.
//! - [`clock`]: milliseconds from SysTick.
//! - [`host`]: semihosting: the exit code, a line of output, and entropy from the host's
//!   `/dev/urandom` (the board has no TRNG).
//! - [`stack`]: the stack's high-water mark (cortex-m-rt paints it at reset).
//! - [`scenario`]: the messages both firmware clients exchange, and their exit codes.
#![no_std]

pub mod clock;
pub mod host;
pub mod scenario;
pub mod stack;
pub mod uart;

/// Sets the board up: SysTick interrupting at 1 kHz, UART0 enabled and returned.
///
/// # Panics
///
/// If called twice (the core peripherals are taken once).
pub fn init() -> uart::Uart {
    let peripherals = cortex_m::Peripherals::take().expect("init is called once");
    clock::start(peripherals.SYST);
    uart::Uart::take()
}

/// The processor clock of the board (SYSCLK), which SysTick counts.
pub const CORE_CLOCK_HZ: u32 = 25_000_000;

/// Ends the run on any panic with [`scenario::Outcome::Panicked`], without formatting the
/// message (no `core::fmt` in the image).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    host::exit(scenario::Outcome::Panicked as u32)
}
