//! The exchange both firmware clients (wsproto's and embedded-websocket's) run against the
//! host's echo server, and the exit codes that report it. `tests/firmware.rs` in the repository
//! root knows the same codes.
//!
//! 1. the opening handshake (`GET /echo`, Host `127.0.0.1`);
//! 2. for each size in [`SIZES`]: a text message, then a binary one, each echo compared with
//!    what was sent;
//! 3. a ping with [`PING_PAYLOAD`], then the text [`AFTER_PING`]: by the time its echo is back
//!    the server's pong (sent before it) must have arrived, with the ping's payload;
//! 4. a close with 1000 and [`CLOSE_REASON`], which the server must answer with 1000: a clean
//!    closing handshake.

/// The request target's host and path.
pub const HOST: &str = "127.0.0.1";
/// The request target's path.
pub const PATH: &str = "/echo";
/// The message sizes, in bytes: empty, one byte, the largest 7-bit length, the smallest 16-bit
/// length, and a message larger than a UART burst or the transmit buffer.
pub const SIZES: [usize; 5] = [0, 1, 125, 126, 4000];
/// The largest of [`SIZES`].
pub const LARGEST: usize = 4000;
/// The ping's payload, which the pong must carry back.
pub const PING_PAYLOAD: &[u8] = b"firmware ping";
/// The message sent after the ping.
pub const AFTER_PING: &str = "after ping";
/// The reason in our close frame.
pub const CLOSE_REASON: &str = "done";

/// How a run ended: QEMU's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Outcome {
    /// Everything was echoed, the pong arrived, the close was clean.
    Passed = 0,
    /// The opening handshake failed.
    ConnectFailed = 10,
    /// Sending a message, the ping or the close frame failed.
    SendFailed = 11,
    /// Reading an echo failed (the connection closed or broke).
    ReadFailed = 12,
    /// An echo differed from what was sent (kind or bytes).
    WrongEcho = 13,
    /// No pong with the ping's payload arrived.
    NoPong = 14,
    /// The closing handshake did not complete cleanly with 1000.
    UncleanClose = 15,
    /// No entropy source.
    NoEntropy = 16,
    /// The firmware panicked.
    Panicked = 17,
}

/// The text message of `len` bytes, written into `buf`: ASCII letters ending in `é` (two bytes,
/// so the UTF-8 validators see a multi-byte character) once there is room for it.
///
/// # Panics
///
/// If `buf` is shorter than `len`.
pub fn text(len: usize, buf: &mut [u8]) -> &str {
    let buf = &mut buf[..len];
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte = b'a' + (i % 26) as u8;
    }
    if len >= 2 {
        buf[len - 2..].copy_from_slice("é".as_bytes());
    }
    core::str::from_utf8(buf).unwrap_or_default()
}

/// The binary message of `len` bytes, written into `buf`: every byte value appears.
///
/// # Panics
///
/// If `buf` is shorter than `len`.
pub fn binary(len: usize, buf: &mut [u8]) -> &[u8] {
    let buf = &mut buf[..len];
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte = (i * 7 + len) as u8;
    }
    buf
}

/// Reports the stack's high-water mark on the host's standard output and stops QEMU with
/// `outcome` as its exit code.
pub fn finish(outcome: Outcome) -> ! {
    crate::host::print_number("stack high-water: ", crate::stack::high_water(), " B");
    crate::host::exit(outcome as u32)
}
