//! The firmware scenario ([`mps2_an386::scenario`]) on embedded-websocket's client and its
//! `Framer`, on the same board support and built with the same release profile as
//! wsproto's, so that the flash, static RAM and stack figures compare like for like.
//!
//! Differences that follow from the crate: its `Framer` writes a whole frame into the write
//! buffer (so that buffer holds the largest message), reports pongs itself, and has no timers:
//! the UART's read timeouts are counted here instead, to end a close that gets no reply. Its
//! `Framer` also fails (`ReadFrameIncomplete`) when a read ends inside a frame header, which a
//! UART read does all the time, so reads here go on until the line is idle for [`IDLE_MS`]: the
//! server writes each frame at once, so a read then holds whole frames (the pause is long enough
//! for QEMU on a busy host to deliver the next byte).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embedded_io::{Read, Write};
use embedded_websocket::framer::{Framer, ReadResult, Stream};
use embedded_websocket::{
    WebSocketClient, WebSocketCloseStatusCode, WebSocketOptions, WebSocketSendMessageType,
    WebSocketState,
};
use mps2_an386::host::HostRandom;
use mps2_an386::scenario::{self, Outcome};
use mps2_an386::uart::{READ_TIMEOUT_MS, TimedOut, Uart};

/// The read buffer: input, a frame at a time.
const READ_LEN: usize = 1024;
/// The write buffer: the largest message and its frame header.
const WRITE_LEN: usize = scenario::LARGEST + 14;
/// How long a read waits for a byte before the connection is given up: as long as wsproto's
/// close timeout in the other image.
const GIVE_UP_MS: u64 = 1000;

/// A read ends once no byte arrived for this long.
const IDLE_MS: u64 = 25;

/// The UART as embedded-websocket's `Stream`, blocking up to [`GIVE_UP_MS`] for input and
/// reading until the line is idle.
struct UartStream(Uart);

impl Stream<TimedOut> for UartStream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TimedOut> {
        let mut waited = 0;
        let first = loop {
            match self.0.read(buf) {
                Err(TimedOut) if waited < GIVE_UP_MS => waited += READ_TIMEOUT_MS,
                result => break result?,
            }
        };
        Ok(first + self.0.read_until_idle(&mut buf[first..], IDLE_MS))
    }

    fn write_all(&mut self, buf: &[u8]) -> Result<(), TimedOut> {
        self.0.write_all(buf)?;
        self.0.flush()
    }
}

/// The host's `/dev/urandom` as the crate's random source (the handshake key, the masks).
struct Random(HostRandom);

impl rand_core::RngCore for Random {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0; 4];
        self.0.fill(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0; 8];
        self.0.fill(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

#[entry]
fn main() -> ! {
    // cortex-m-rt turns these into `&'static mut` references: statics in `.bss`, not stack.
    static mut READ_BUF: [u8; READ_LEN] = [0; READ_LEN];
    static mut WRITE_BUF: [u8; WRITE_LEN] = [0; WRITE_LEN];
    static mut FRAME_BUF: [u8; scenario::LARGEST] = [0; scenario::LARGEST];
    static mut MESSAGE: [u8; scenario::LARGEST] = [0; scenario::LARGEST];

    let uart = mps2_an386::init();
    scenario::finish(run(uart, READ_BUF, WRITE_BUF, FRAME_BUF, MESSAGE))
}

fn run(
    uart: Uart,
    read_buf: &mut [u8],
    write_buf: &mut [u8],
    frame_buf: &mut [u8],
    message: &mut [u8],
) -> Outcome {
    let Some(random) = HostRandom::open() else {
        return Outcome::NoEntropy;
    };
    let mut stream = UartStream(uart);
    let mut websocket = WebSocketClient::new_client(Random(random));
    let mut read_cursor = 0;
    let mut framer = Framer::new(read_buf, &mut read_cursor, write_buf, &mut websocket);
    let options = WebSocketOptions {
        path: scenario::PATH,
        host: scenario::HOST,
        // The crate always sends an Origin header; an empty one is not a valid origin (RFC 6454)
        // and the server refuses it.
        origin: "http://127.0.0.1",
        sub_protocols: None,
        additional_headers: None,
    };
    if framer.connect(&mut stream, &options).is_err() {
        return Outcome::ConnectFailed;
    }

    for len in scenario::SIZES {
        let text = scenario::text(len, message);
        if framer
            .write(
                &mut stream,
                WebSocketSendMessageType::Text,
                true,
                text.as_bytes(),
            )
            .is_err()
        {
            return Outcome::SendFailed;
        }
        match framer.read(&mut stream, frame_buf) {
            Ok(ReadResult::Text(echo)) if echo == text => {}
            Ok(_) => return Outcome::WrongEcho,
            Err(_) => return Outcome::ReadFailed,
        }
        let bytes = scenario::binary(len, message);
        if framer
            .write(&mut stream, WebSocketSendMessageType::Binary, true, bytes)
            .is_err()
        {
            return Outcome::SendFailed;
        }
        match framer.read(&mut stream, frame_buf) {
            Ok(ReadResult::Binary(echo)) if echo == bytes => {}
            Ok(_) => return Outcome::WrongEcho,
            Err(_) => return Outcome::ReadFailed,
        }
    }

    let ping = WebSocketSendMessageType::Ping;
    let text = WebSocketSendMessageType::Text;
    let after = scenario::AFTER_PING.as_bytes();
    if framer
        .write(&mut stream, ping, true, scenario::PING_PAYLOAD)
        .is_err()
        || framer.write(&mut stream, text, true, after).is_err()
    {
        return Outcome::SendFailed;
    }
    match framer.read(&mut stream, frame_buf) {
        Ok(ReadResult::Pong(payload)) if payload == scenario::PING_PAYLOAD => {}
        Ok(_) => return Outcome::NoPong,
        Err(_) => return Outcome::ReadFailed,
    }
    match framer.read(&mut stream, frame_buf) {
        Ok(ReadResult::Text(echo)) if echo == scenario::AFTER_PING => {}
        Ok(_) => return Outcome::WrongEcho,
        Err(_) => return Outcome::ReadFailed,
    }

    let normal = WebSocketCloseStatusCode::NormalClosure;
    if framer
        .close(&mut stream, normal, Some(scenario::CLOSE_REASON))
        .is_err()
    {
        return Outcome::SendFailed;
    }
    // Until the server's close frame: the crate checks neither its code nor its reason.
    loop {
        match framer.read(&mut stream, frame_buf) {
            Ok(ReadResult::Closed) if framer.state() == WebSocketState::Closed => {
                return Outcome::Passed;
            }
            Ok(ReadResult::Closed) | Err(_) => return Outcome::UncleanClose,
            // Messages after our close are dropped.
            Ok(_) => {}
        }
    }
}
