//! Helpers for the tests over 127.0.0.1.

use std::io::{self, Read as _, Write as _};
use std::net::TcpStream;
use std::time::Instant as StdInstant;

use wsproto_embedded::wsproto::time::Instant;

/// A `std` TCP stream as an `embedded-io` transport, counting the bytes it reads and writes.
pub struct Tcp {
    pub stream: TcpStream,
    pub read: usize,
    pub written: usize,
}

impl Tcp {
    pub fn new(stream: TcpStream) -> Self {
        Tcp {
            stream,
            read: 0,
            written: 0,
        }
    }
}

impl embedded_io::ErrorType for Tcp {
    type Error = io::Error;
}

impl embedded_io::Read for Tcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        self.read += n;
        Ok(n)
    }
}

impl embedded_io::Write for Tcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.stream.write(buf)?;
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// Milliseconds since `start`.
pub fn now(start: StdInstant) -> Instant {
    Instant::from_millis(start.elapsed().as_millis() as u64)
}

/// Not random (a Weyl sequence): fine for tests, never for production.
pub fn entropy() -> impl FnMut(&mut [u8]) + Send {
    let mut next = 0x9e37_79b9_u32;
    move |buf: &mut [u8]| {
        buf.fill_with(|| {
            next = next.wrapping_add(0x9e37_79b9);
            (next >> 24) as u8
        })
    }
}
