//! A minimal no_std WebSocket client on wsproto, for flash and RAM figures: open handshake,
//! send a text message, receive messages (pings answered), close. Inputs come through
//! `black_box` so that nothing is folded away. Built exactly like the embedded-websocket one.
#![no_std]
#![no_main]

use core::hint::black_box;

use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Event, Transmit};
use wsproto::handshake::ClientRequest;
use wsproto::time::Instant;

/// The connection state's size on this target, kept in the image so that it can be read back
/// (`llvm-nm` and `llvm-objdump`; see benches/README.md).
#[used]
#[unsafe(no_mangle)]
static STATE_SIZE: usize = core::mem::size_of::<Connection<Xorshift>>();

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// The transport: bytes in and out through `black_box`.
fn read(buf: &mut [u8]) -> usize {
    black_box(buf).len() / 2
}

fn write(bytes: &[u8]) {
    black_box(bytes);
}

/// The masking-key source.
struct Xorshift(u32);

impl wsproto::entropy::Entropy for Xorshift {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            *b = self.0 as u8;
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let now = Instant::from_millis(black_box(0));
    let entropy = Xorshift(black_box(0x1234_5678));
    let mut ws = match Connection::client(Config::default(), entropy, now) {
        Ok(ws) => ws,
        Err(_) => loop {},
    };
    let mut input = [0u8; 1024];
    let mut out = [0u8; 512];
    if let Ok(n) = ws.connect(&ClientRequest::new("example.com", "/ws"), now, &mut out) {
        write(&out[..n]);
    }
    let mut filled = 0;
    let mut sent = false;
    loop {
        filled += read(&mut input[filled..]);
        let mut pos = 0;
        loop {
            let r = ws.receive(&mut input[pos..filled], now);
            pos += r.consumed;
            match r.event {
                None => break,
                Some(Event::Accepted(_)) if !sent => {
                    if let Ok(n) = ws.send(DataKind::Text, b"hello", true, &mut out) {
                        write(&out[..n]);
                    }
                    sent = true;
                }
                Some(Event::Data { chunk, .. }) => write(chunk),
                Some(Event::CloseReceived { .. }) => {
                    if let Ok(n) = ws.close(CloseCode::NORMAL, "", now, &mut out) {
                        write(&out[..n]);
                    }
                }
                Some(Event::Closed(_)) => loop {},
                Some(_) => {}
            }
        }
        input.copy_within(pos..filled, 0);
        filled -= pos;
        while let Ok(Transmit::Bytes(n)) = ws.poll_transmit(&mut out) {
            write(&out[..n]);
        }
    }
}
