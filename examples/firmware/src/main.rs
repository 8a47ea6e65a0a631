//! A firmware WebSocket client: `#![no_std]`, no allocator, fixed buffers, on
//! [`wsproto_embedded`]'s blocking socket, for QEMU's Cortex-M4 board `mps2-an386`.
//!
//! ```text
//! cd examples/firmware && cargo build --release --target thumbv7em-none-eabihf
//! ```
//!
//! `tests/firmware.rs` in the repository root boots the image in `qemu-system-arm` with the
//! board's UART connected to an echo server on 127.0.0.1, and checks QEMU's exit code. The
//! client runs [`mps2_an386::scenario`]: the opening handshake, text and binary messages of 0,
//! 1, 125, 126 and 4,000 bytes (every echo compared), a ping (its pong checked), and a close
//! with 1000 that must complete cleanly. Then it prints the stack's high-water mark and exits
//! with the [`Outcome`] code.
//!
//! What the protocol needs comes from the board, as the crate requires: bytes through the UART
//! (an [`embedded_io`] driver), time from SysTick, entropy for the nonce and the masking keys
//! from the host's `/dev/urandom` through semihosting (the board has no TRNG; a real one would
//! use its microcontroller's). The buffers are statics (`.bss`), so the stack figure is the
//! client's own.
#![no_std]
#![no_main]

mod pong_watch;

use cortex_m_rt::entry;
use mps2_an386::host::HostRandom;
use mps2_an386::scenario::{self, Outcome};
use mps2_an386::{clock, uart::Uart};
use wsproto_embedded::blocking::WebSocket;
use wsproto_embedded::wsproto::time::Instant;
use wsproto_embedded::{ClientRequest, CloseCode, Config, Message};

use pong_watch::PongWatch;

/// Receive buffer: the largest message plus the 256 bytes the socket keeps for a control frame
/// or a frame header, rounded up; it holds the handshake response too.
const RX_LEN: usize = scenario::LARGEST + 512;
/// Transmit buffer: larger messages stream through it in pieces.
const TX_LEN: usize = 1024;

/// The defaults, but a 1 s close timeout: after the close frames, a client waits that long for
/// the server to close the TCP connection (§7.1.1), and a serial line never shows that close.
const CONFIG: Config = Config {
    close_timeout: core::time::Duration::from_secs(1),
    ..Config::DEFAULT
};

#[entry]
fn main() -> ! {
    // cortex-m-rt turns these into `&'static mut` references: statics in `.bss`, not stack.
    static mut RX: [u8; RX_LEN] = [0; RX_LEN];
    static mut TX: [u8; TX_LEN] = [0; TX_LEN];
    static mut MESSAGE: [u8; scenario::LARGEST] = [0; scenario::LARGEST];

    let uart = mps2_an386::init();
    scenario::finish(run(uart, RX, TX, MESSAGE))
}

/// Runs the scenario over `uart`; `message` holds each message before it is sent.
fn run(uart: Uart, rx: &mut [u8], tx: &mut [u8], message: &mut [u8]) -> Outcome {
    let Some(mut random) = HostRandom::open() else {
        return Outcome::NoEntropy;
    };
    let request = ClientRequest::new(scenario::HOST, scenario::PATH);
    let connected = WebSocket::connect(
        PongWatch::new(uart),
        &request,
        CONFIG,
        || Instant::from_millis(clock::millis()),
        |buf: &mut [u8]| random.fill(buf),
        rx,
        tx,
    );
    let Ok(mut ws) = connected else {
        return Outcome::ConnectFailed;
    };

    for len in scenario::SIZES {
        let text = scenario::text(len, message);
        if ws.send_text(text).is_err() {
            return Outcome::SendFailed;
        }
        match ws.read() {
            Ok(Message::Text(echo)) if echo == text => {}
            Ok(_) => return Outcome::WrongEcho,
            Err(_) => return Outcome::ReadFailed,
        }
        let bytes = scenario::binary(len, message);
        if ws.send_binary(bytes).is_err() {
            return Outcome::SendFailed;
        }
        match ws.read() {
            Ok(Message::Binary(echo)) if echo == bytes => {}
            Ok(_) => return Outcome::WrongEcho,
            Err(_) => return Outcome::ReadFailed,
        }
    }

    // The socket answers pings and drops pongs; the pong is seen on the wire instead.
    if ws.ping(scenario::PING_PAYLOAD).is_err() || ws.send_text(scenario::AFTER_PING).is_err() {
        return Outcome::SendFailed;
    }
    match ws.read() {
        Ok(Message::Text(echo)) if echo == scenario::AFTER_PING => {}
        Ok(_) => return Outcome::WrongEcho,
        Err(_) => return Outcome::ReadFailed,
    }
    if !ws.get_ref().saw_pong(scenario::PING_PAYLOAD) {
        return Outcome::NoPong;
    }

    match ws.close(CloseCode::NORMAL, scenario::CLOSE_REASON) {
        Ok(info) if info.clean && info.code == CloseCode::NORMAL => Outcome::Passed,
        _ => Outcome::UncleanClose,
    }
}
