//! A minimal no_std WebSocket client on embedded-websocket, for flash and RAM figures: open
//! handshake, send a text message, receive messages (pings answered), close. Inputs come through
//! `black_box` so that nothing is folded away. Built exactly like the wsproto one.
#![no_std]
#![no_main]

use core::hint::black_box;

use embedded_websocket::{
    WebSocketClient, WebSocketCloseStatusCode, WebSocketOptions, WebSocketReceiveMessageType,
    WebSocketSendMessageType,
};

/// The connection state's size on this target, kept in the image so that it can be read back
/// (`llvm-nm` and `llvm-objdump`; see benches/README.md).
#[used]
#[unsafe(no_mangle)]
static STATE_SIZE: usize = core::mem::size_of::<WebSocketClient<XorShift>>();

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

fn read(buf: &mut [u8]) -> usize {
    black_box(buf).len() / 2
}

fn write(bytes: &[u8]) {
    black_box(bytes);
}

struct XorShift(u32);

impl rand_core::RngCore for XorShift {
    fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u32()) << 32 | u64::from(self.next_u32())
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.next_u32() as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let mut ws = WebSocketClient::new_client(XorShift(black_box(0x1234_5678)));
    let mut input = [0u8; 1024];
    let mut out = [0u8; 512];
    let mut message = [0u8; 1024];
    let options = WebSocketOptions {
        path: "/ws",
        host: "example.com",
        origin: "",
        sub_protocols: None,
        additional_headers: None,
    };
    let key = match ws.client_connect(&options, &mut out) {
        Ok((n, key)) => {
            write(&out[..n]);
            key
        }
        Err(_) => loop {},
    };
    let mut filled = 0;
    let mut open = false;
    loop {
        filled += read(&mut input[filled..]);
        let mut pos = 0;
        if !open {
            match ws.client_accept(&key, &input[..filled]) {
                Ok((n, _)) => {
                    pos = n;
                    open = true;
                    if let Ok(n) =
                        ws.write(WebSocketSendMessageType::Text, true, b"hello", &mut out)
                    {
                        write(&out[..n]);
                    }
                }
                Err(_) => continue,
            }
        }
        while pos < filled {
            let r = match ws.read(&input[pos..filled], &mut message) {
                Ok(r) => r,
                Err(_) => break,
            };
            pos += r.len_from;
            match r.message_type {
                WebSocketReceiveMessageType::Text | WebSocketReceiveMessageType::Binary => {
                    // It does not validate UTF-8; an application must.
                    if r.message_type == WebSocketReceiveMessageType::Text
                        && core::str::from_utf8(&message[..r.len_to]).is_err()
                    {
                        loop {}
                    }
                    write(&message[..r.len_to]);
                }
                WebSocketReceiveMessageType::Ping => {
                    let mut ping = [0u8; 125];
                    let len = r.len_to.min(125);
                    ping[..len].copy_from_slice(&message[..len]);
                    if let Ok(n) =
                        ws.write(WebSocketSendMessageType::Pong, true, &ping[..len], &mut out)
                    {
                        write(&out[..n]);
                    }
                }
                WebSocketReceiveMessageType::CloseMustReply => {
                    if let Ok(n) = ws.close(WebSocketCloseStatusCode::NormalClosure, None, &mut out)
                    {
                        write(&out[..n]);
                    }
                }
                WebSocketReceiveMessageType::CloseCompleted => loop {},
                _ => {}
            }
            if r.len_from == 0 {
                break;
            }
        }
        input.copy_within(pos..filled, 0);
        filled -= pos;
    }
}
