//! Time from SysTick: an interrupt every millisecond advances a counter.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

use crate::CORE_CLOCK_HZ;

/// Milliseconds since [`start`]; wraps after 49 days, far beyond a test run.
static MILLIS: AtomicU32 = AtomicU32::new(0);

/// Starts SysTick on the processor clock, interrupting every millisecond.
pub fn start(mut systick: SYST) {
    systick.set_clock_source(SystClkSource::Core);
    systick.set_reload(CORE_CLOCK_HZ / 1000 - 1);
    systick.clear_current();
    systick.enable_interrupt();
    systick.enable_counter();
}

/// Milliseconds since [`start`].
pub fn millis() -> u64 {
    u64::from(MILLIS.load(Ordering::Relaxed))
}

#[exception]
fn SysTick() {
    MILLIS.fetch_add(1, Ordering::Relaxed);
}
