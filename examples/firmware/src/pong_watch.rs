//! A transport wrapper that watches the server's frames go by and remembers the last pong.
//!
//! `wsproto-embedded`'s blocking socket answers pings and drops pongs without telling, so the
//! scenario's pong check reads the received byte stream itself: it skips the handshake response
//! (up to the blank line), then follows every frame header and keeps the payload of the last
//! pong (opcode 0xA). Bytes pass through unchanged.

use embedded_io::{ErrorType, Read, Write};

/// Where the watcher is in the received stream.
#[derive(Debug, Clone, Copy)]
enum Position {
    /// In the handshake response; how much of `\r\n\r\n` was just seen.
    Head(usize),
    /// In a frame header; how many of its bytes are in `header`.
    Header(usize),
    /// In a frame's payload; how many bytes are left.
    Payload(u64),
}

/// The transport `T`, its received frames watched for pongs.
#[derive(Debug)]
pub struct PongWatch<T> {
    inner: T,
    position: Position,
    header: [u8; 14],
    /// The payload of the pong being received.
    pong: [u8; 125],
    pong_len: usize,
    /// The payload of the last complete pong, if any.
    last_pong: Option<([u8; 125], usize)>,
}

impl<T> PongWatch<T> {
    /// Watches `inner` from the start of the handshake response on.
    pub fn new(inner: T) -> Self {
        PongWatch {
            inner,
            position: Position::Head(0),
            header: [0; 14],
            pong: [0; 125],
            pong_len: 0,
            last_pong: None,
        }
    }

    /// Whether the last pong received carried `payload`.
    pub fn saw_pong(&self, payload: &[u8]) -> bool {
        self.last_pong
            .as_ref()
            .is_some_and(|(bytes, len)| &bytes[..*len] == payload)
    }

    fn is_pong(&self) -> bool {
        self.header[0] & 0x0F == 0xA
    }

    fn watch(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.position = match self.position {
                Position::Head(seen) => {
                    let seen = match (seen, byte) {
                        (0 | 2, b'\r') => seen + 1,
                        (1 | 3, b'\n') => seen + 1,
                        (_, b'\r') => 1,
                        _ => 0,
                    };
                    if seen == 4 {
                        Position::Header(0)
                    } else {
                        Position::Head(seen)
                    }
                }
                Position::Header(have) => {
                    self.header[have] = byte;
                    let have = have + 1;
                    match self.header_len(have) {
                        Some(len) if len == have => self.start_payload(),
                        _ => Position::Header(have),
                    }
                }
                Position::Payload(left) => {
                    if self.is_pong() && self.pong_len < self.pong.len() {
                        self.pong[self.pong_len] = byte;
                        self.pong_len += 1;
                    }
                    self.end_payload(left - 1)
                }
            };
        }
    }

    /// The length of the header being read, once its first two bytes are in.
    fn header_len(&self, have: usize) -> Option<usize> {
        if have < 2 {
            return None;
        }
        let extended = match self.header[1] & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
        Some(2 + extended + mask)
    }

    /// The header is complete: its payload follows.
    fn start_payload(&mut self) -> Position {
        let len = match self.header[1] & 0x7F {
            126 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
            127 => {
                let mut bytes = [0; 8];
                bytes.copy_from_slice(&self.header[2..10]);
                u64::from_be_bytes(bytes)
            }
            len => u64::from(len),
        };
        self.pong_len = 0;
        self.end_payload(len)
    }

    /// After a payload byte (or a header): the next header once nothing is left.
    fn end_payload(&mut self, left: u64) -> Position {
        if left > 0 {
            return Position::Payload(left);
        }
        if self.is_pong() {
            self.last_pong = Some((self.pong, self.pong_len));
        }
        Position::Header(0)
    }
}

impl<T: ErrorType> ErrorType for PongWatch<T> {
    type Error = T::Error;
}

impl<T: Read> Read for PongWatch<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, T::Error> {
        let n = self.inner.read(buf)?;
        self.watch(&buf[..n]);
        Ok(n)
    }
}

impl<T: Write> Write for PongWatch<T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, T::Error> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> Result<(), T::Error> {
        self.inner.flush()
    }
}
