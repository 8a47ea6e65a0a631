//! UART0 of the board, an Arm CMSDK APB UART, as a blocking [`embedded_io`] byte stream.
//!
//! Registers (offsets from [`BASE`]): `DATA` (a byte in or out), `STATE` (bit 0: the transmit
//! holding register is full; bit 1: a received byte waits), `CTRL` (bit 0: transmit enable,
//! bit 1: receive enable), `BAUDDIV` (QEMU moves no byte while it is under 16). The receiver
//! holds a single byte: QEMU's socket backend waits for it to be read before it delivers the
//! next, so nothing is lost however slowly the firmware reads.

use core::sync::atomic::{AtomicBool, Ordering};

use embedded_io::{ErrorKind, ErrorType, Read, Write};

use crate::clock;

/// UART0's registers.
const BASE: usize = 0x4000_4000;
const DATA: usize = BASE;
const STATE: usize = BASE + 0x04;
const CTRL: usize = BASE + 0x08;
const BAUDDIV: usize = BASE + 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_ENABLE: u32 = 1 << 0;
const CTRL_RX_ENABLE: u32 = 1 << 1;

/// How long a [`Read::read`] waits for the first byte before it reports
/// [`ErrorKind::TimedOut`] (the socket then fires its timers and reads again).
pub const READ_TIMEOUT_MS: u64 = 100;

/// How many times a read polls for a further byte before it returns what it has: enough for
/// QEMU to deliver the next byte of a burst, so a frame arrives in a few reads, not one per byte.
const BURST_POLLS: u32 = 200;

fn read_reg(addr: usize) -> u32 {
    // SAFETY: `addr` is one of UART0's registers above: always mapped on this board,
    // word-aligned, and reading it has no effect beyond the device's own (DATA pops the byte).
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

fn write_reg(addr: usize, value: u32) {
    // SAFETY: as in `read_reg`; the values written are those the CMSDK UART documents.
    unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
}

/// UART0, taken once.
#[derive(Debug)]
pub struct Uart {
    _owned: (),
}

/// A read found no byte within [`READ_TIMEOUT_MS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

impl core::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("no byte arrived on the UART in time")
    }
}

impl core::error::Error for TimedOut {}

impl embedded_io::Error for TimedOut {
    fn kind(&self) -> ErrorKind {
        ErrorKind::TimedOut
    }
}

impl Uart {
    /// Enables UART0 (the first call only: there is one UART0).
    pub(crate) fn take() -> Uart {
        static TAKEN: AtomicBool = AtomicBool::new(false);
        assert!(!TAKEN.swap(true, Ordering::Relaxed), "UART0 is taken once");
        write_reg(BAUDDIV, 16);
        write_reg(CTRL, CTRL_TX_ENABLE | CTRL_RX_ENABLE);
        Uart { _owned: () }
    }

    /// Reads into `buf` until it is full or no byte arrived for `idle_ms`; returns how many
    /// bytes it read (0 if none came within `idle_ms`). For a reader that needs a burst, such as
    /// a whole frame, in one call.
    pub fn read_until_idle(&mut self, buf: &mut [u8], idle_ms: u64) -> usize {
        let mut n = 0;
        let mut deadline = clock::millis() + idle_ms;
        while n < buf.len() && clock::millis() < deadline {
            if Uart::byte_waiting() {
                buf[n] = read_reg(DATA) as u8;
                n += 1;
                deadline = clock::millis() + idle_ms;
            }
        }
        n
    }

    fn byte_waiting() -> bool {
        read_reg(STATE) & STATE_RX_FULL != 0
    }
}

impl ErrorType for Uart {
    type Error = TimedOut;
}

impl Read for Uart {
    /// Waits up to [`READ_TIMEOUT_MS`] for a byte, then takes what follows it closely. Never
    /// returns `Ok(0)`: a serial line has no end of stream.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TimedOut> {
        if buf.is_empty() {
            return Ok(0);
        }
        let deadline = clock::millis() + READ_TIMEOUT_MS;
        while !Uart::byte_waiting() {
            if clock::millis() >= deadline {
                return Err(TimedOut);
            }
        }
        let mut n = 0;
        'bytes: while n < buf.len() {
            let mut polls = 0;
            while !Uart::byte_waiting() {
                polls += 1;
                if polls > BURST_POLLS {
                    break 'bytes;
                }
            }
            buf[n] = read_reg(DATA) as u8;
            n += 1;
        }
        Ok(n)
    }
}

impl Write for Uart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, TimedOut> {
        for &byte in buf {
            while read_reg(STATE) & STATE_TX_FULL != 0 {}
            write_reg(DATA, u32::from(byte));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), TimedOut> {
        while read_reg(STATE) & STATE_TX_FULL != 0 {}
        Ok(())
    }
}
