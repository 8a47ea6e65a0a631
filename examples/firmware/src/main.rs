//! A firmware-style WebSocket client: `#![no_std]`, no allocator, fixed buffers, for a Cortex-M4F.
//!
//! ```text
//! cd examples/firmware && cargo build --release --target thumbv7em-none-eabihf
//! ```
//!
//! The client connects to `ws://192.168.1.10:8080/telemetry`, sends a greeting, answers every
//! text message `read` with a sensor reading, and closes with 1000 when told `bye`. Everything
//! the protocol needs comes from the caller, as the crate requires:
//!
//! - bytes through a [`Transport`] (here a memory-mapped socket peripheral; on a real board the
//!   TCP socket of smoltcp, lwIP or a modem);
//! - time as milliseconds from a free-running counter ([`board::millis`]);
//! - entropy for the handshake nonce and the masking keys from a hardware RNG
//!   ([`board::Trng`]).
//!
//! All state is one `static`, so `size` reports it as RAM (`.bss`). The reset handler
//! [`_start`] stands in for a runtime crate (`cortex-m-rt`, `embassy`); the peripheral
//! addresses are those of an imaginary board, so the image builds and can be measured but is
//! not meant to be flashed as is.
#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use core::panic::PanicInfo;

use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{CloseInfo, Connection, DataKind, Error, Event, Transmit};
use wsproto::entropy::Entropy;
use wsproto::handshake::ClientRequest;
use wsproto::message::{FixedBuffer, Message, MessageAssembler};
use wsproto::time::Instant;

/// Input buffer: holds the whole handshake response head (`max_head_len`), then any frame
/// header or control frame; data payloads stream through it.
const INPUT_LEN: usize = 1024;
/// Output buffer: the request head, or our largest message plus its header and queued
/// control frames.
const OUTPUT_LEN: usize = 1024;
/// The largest message we reassemble.
const MESSAGE_LEN: usize = 512;

const CONFIG: Config = Config {
    max_frame_payload: MESSAGE_LEN as u64,
    max_message_size: MESSAGE_LEN as u64,
    max_head_len: INPUT_LEN,
    max_headers: 16,
    keepalive_interval: Some(core::time::Duration::from_secs(30)),
    ..Config::DEFAULT
};

/// A byte stream: a TCP socket of whatever network stack the board has.
pub trait Transport {
    /// Copies received bytes into `buf` without blocking.
    fn read(&mut self, buf: &mut [u8]) -> ReadResult;
    /// Queues `bytes` for sending; `false` if the connection is gone.
    fn write(&mut self, bytes: &[u8]) -> bool;
    /// Sends FIN after what was written.
    fn shutdown_write(&mut self);
}

/// What [`Transport::read`] found.
pub enum ReadResult {
    /// `n` bytes arrived.
    Bytes(usize),
    /// Nothing yet.
    Pending,
    /// The peer closed its side (or the connection broke).
    Eof,
}

/// What the application loop should do next.
pub enum Status {
    /// Call [`Client::poll`] again when the transport has input or at this instant.
    Running(Option<Instant>),
    /// The connection is over.
    Closed(CloseInfo),
}

/// The WebSocket client, with every buffer it needs.
pub struct Client<T: Transport, E: Entropy> {
    ws: Connection<E>,
    transport: T,
    input: [u8; INPUT_LEN],
    filled: usize,
    out: [u8; OUTPUT_LEN],
    messages: MessageAssembler<FixedBuffer<MESSAGE_LEN>>,
    readings: u32,
}

impl<T: Transport, E: Entropy> Client<T, E> {
    /// Sends the opening handshake for `path` on `host`.
    pub fn connect(
        transport: T,
        entropy: E,
        host: &str,
        path: &str,
        now: Instant,
    ) -> Result<Self, Error> {
        let mut client = Client {
            ws: Connection::client(CONFIG, entropy, now)?,
            transport,
            input: [0; INPUT_LEN],
            filled: 0,
            out: [0; OUTPUT_LEN],
            messages: MessageAssembler::new(FixedBuffer::new()),
            readings: 0,
        };
        let n = client
            .ws
            .connect(&ClientRequest::new(host, path), now, &mut client.out)?;
        client.send_out(n);
        Ok(client)
    }

    /// One turn of the driving loop: read what arrived, handle every event, flush, and say
    /// when to come back. Never blocks.
    pub fn poll(&mut self, now: Instant) -> Result<Status, Error> {
        // Input, or a timer: the connection does both from here.
        match self.transport.read(&mut self.input[self.filled..]) {
            ReadResult::Bytes(n) => self.filled += n,
            ReadResult::Eof => self.ws.receive_eof(now),
            ReadResult::Pending => {}
        }
        if self.ws.poll_timeout().is_some_and(|at| at <= now) {
            self.ws.handle_timeout(now);
        }
        // 1. Receive until no progress.
        let mut start = 0;
        let mut closed = None;
        loop {
            let received = self.ws.receive(&mut self.input[start..self.filled], now);
            start += received.consumed;
            let Some(event) = received.event else { break };
            let written = match &event {
                Event::Accepted(_) => {
                    self.ws
                        .send(DataKind::Text, b"hello from firmware", true, &mut self.out)?
                }
                Event::Closed(info) => {
                    closed = Some(*info);
                    0
                }
                _ => match self.messages.push(&event) {
                    Ok(Some(Message::Text("read"))) => {
                        self.readings = self.readings.wrapping_add(1);
                        let mut text = [0u8; 16];
                        let len = reading(board::temperature_centi(), &mut text);
                        self.ws
                            .send(DataKind::Text, &text[..len], true, &mut self.out)?
                    }
                    Ok(Some(Message::Text("bye"))) => {
                        self.ws
                            .close(CloseCode::NORMAL, "bye", now, &mut self.out)?
                    }
                    // Other messages, pings (answered by the core), pongs: nothing to do.
                    // A message over MESSAGE_LEN cannot arrive: the connection's limit is
                    // the same.
                    _ => 0,
                },
            };
            self.send_out(written);
        }
        self.input.copy_within(start..self.filled, 0);
        self.filled -= start;
        // 2. Flush.
        loop {
            match self.ws.poll_transmit(&mut self.out)? {
                Transmit::Bytes(n) => self.send_out(n),
                Transmit::ShutdownWrite => self.transport.shutdown_write(),
                Transmit::Nothing => break,
            }
        }
        // 3. Come back at the next deadline, or on input.
        Ok(match closed {
            Some(info) => Status::Closed(info),
            None => Status::Running(self.ws.poll_timeout()),
        })
    }

    fn send_out(&mut self, n: usize) {
        if n > 0 && !self.transport.write(&self.out[..n]) {
            // The transport broke: the connection ends as if the peer had closed it.
            self.ws.receive_eof(Instant::from_millis(board::millis()));
        }
    }
}

/// Formats a temperature in hundredths of a degree as `t=-12.34` (no `core::fmt`: smaller).
fn reading(centi: i32, out: &mut [u8; 16]) -> usize {
    let mut len = 0;
    let mut push = |b: u8| {
        out[len] = b;
        len += 1;
    };
    push(b't');
    push(b'=');
    if centi < 0 {
        push(b'-');
    }
    let value = centi.unsigned_abs();
    let mut digits = [0u8; 10];
    let mut n = 0;
    let mut whole = value / 100;
    loop {
        digits[n] = b'0' + (whole % 10) as u8;
        n += 1;
        whole /= 10;
        if whole == 0 {
            break;
        }
    }
    for &d in digits[..n].iter().rev() {
        push(d);
    }
    push(b'.');
    push(b'0' + (value / 10 % 10) as u8);
    push(b'0' + (value % 10) as u8);
    len
}

/// The imaginary board: a memory-mapped socket, a millisecond counter, a TRNG, a sensor.
mod board {
    use super::{ReadResult, Transport};
    use wsproto::entropy::Entropy;

    const SOCKET_STATUS: usize = 0x4000_0000; // bit 0: a byte to read; bit 1: peer closed
    const SOCKET_DATA: usize = 0x4000_0004; // read: the next byte; write: send a byte
    const SOCKET_CTRL: usize = 0x4000_0008; // write 1: shut down our sending side
    const MILLIS: usize = 0x4000_1000; // free-running 32-bit millisecond counter
    const TEMPERATURE: usize = 0x4000_2000; // i32, hundredths of a degree Celsius
    const RNG_STATUS: usize = 0x5006_0804; // bit 0: a random word is ready
    const RNG_DATA: usize = 0x5006_0808;

    fn read_reg(addr: usize) -> u32 {
        // SAFETY: a device register of this (imaginary) board, always mapped, word-aligned,
        // and readable without side effects other than the device's own.
        unsafe { core::ptr::read_volatile(addr as *const u32) }
    }

    fn write_reg(addr: usize, value: u32) {
        // SAFETY: as in `read_reg`; writing it has only the device's documented effect.
        unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
    }

    /// Milliseconds since reset; the 32-bit counter wraps after 49 days, which a connection's
    /// timers (seconds) do not mind as long as the caller's clock does not jump backwards
    /// across the wrap. A real board extends it to 64 bits in its timer interrupt.
    pub fn millis() -> u64 {
        u64::from(read_reg(MILLIS))
    }

    pub fn temperature_centi() -> i32 {
        read_reg(TEMPERATURE) as i32
    }

    pub struct Socket;

    impl Transport for Socket {
        fn read(&mut self, buf: &mut [u8]) -> ReadResult {
            let mut n = 0;
            while n < buf.len() {
                let status = read_reg(SOCKET_STATUS);
                if status & 1 == 0 {
                    if n == 0 && status & 2 != 0 {
                        return ReadResult::Eof;
                    }
                    break;
                }
                buf[n] = read_reg(SOCKET_DATA) as u8;
                n += 1;
            }
            if n == 0 {
                ReadResult::Pending
            } else {
                ReadResult::Bytes(n)
            }
        }

        fn write(&mut self, bytes: &[u8]) -> bool {
            for &b in bytes {
                write_reg(SOCKET_DATA, u32::from(b));
            }
            read_reg(SOCKET_STATUS) & 2 == 0
        }

        fn shutdown_write(&mut self) {
            write_reg(SOCKET_CTRL, 1);
        }
    }

    /// The hardware RNG: the handshake nonce and every masking key (RFC 6455 §5.3 asks for a
    /// strong source of entropy).
    pub struct Trng;

    impl Entropy for Trng {
        fn fill(&mut self, buf: &mut [u8]) {
            for chunk in buf.chunks_mut(4) {
                while read_reg(RNG_STATUS) & 1 == 0 {}
                let word = read_reg(RNG_DATA).to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
        }
    }
}

/// All of the client's state, in `.bss` (uninitialised until `_start` writes it).
static mut CLIENT: MaybeUninit<Client<board::Socket, board::Trng>> = MaybeUninit::uninit();

/// The reset handler: connects, then polls forever (a real application would sleep until the
/// network interrupt or the `Running` deadline, and reconnect after `Closed`).
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let now = Instant::from_millis(board::millis());
    let Ok(client) = Client::connect(
        board::Socket,
        board::Trng,
        "192.168.1.10:8080",
        "/telemetry",
        now,
    ) else {
        halt()
    };
    let slot = &raw mut CLIENT;
    // SAFETY: `_start` runs once, on the only core, and nothing else touches `CLIENT`: this is
    // the only reference to it, ever.
    let client = unsafe { (*slot).write(client) };
    loop {
        match client.poll(Instant::from_millis(board::millis())) {
            Ok(Status::Running(_next_deadline)) => {}
            Ok(Status::Closed(_)) | Err(_) => halt(),
        }
    }
}

fn halt() -> ! {
    loop {
        core::hint::spin_loop();
    }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    halt()
}
