//! A TCP stream that counts what crosses it.

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// A TCP stream that counts the bytes read from it and written to it: a `std::io` stream, and
/// an `embedded-io` transport (with `std::io::Error` as its error), blocking, or async with
/// calls that complete before they return (run them with [`block_on`](crate::ready::block_on)).
pub struct CountedTcp {
    /// The stream.
    pub stream: TcpStream,
    /// Bytes read so far.
    pub read: usize,
    /// Bytes written so far.
    pub written: usize,
}

impl CountedTcp {
    /// `stream`, nothing counted yet.
    pub fn new(stream: TcpStream) -> Self {
        CountedTcp {
            stream,
            read: 0,
            written: 0,
        }
    }

    /// Bytes read and written so far (not `bytes`: `std::io::Read` has one).
    pub fn counts(&self) -> (usize, usize) {
        (self.read, self.written)
    }
}

impl Read for CountedTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        self.read += n;
        Ok(n)
    }
}

impl Write for CountedTcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.stream.write(buf)?;
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl embedded_io::ErrorType for CountedTcp {
    type Error = io::Error;
}

impl embedded_io::Read for CountedTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(self, buf)
    }
}

impl embedded_io::Write for CountedTcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Write::write(self, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Write::flush(self)
    }
}

impl embedded_io_async::Read for CountedTcp {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(self, buf)
    }
}

impl embedded_io_async::Write for CountedTcp {
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Write::write(self, buf)
    }

    async fn flush(&mut self) -> io::Result<()> {
        Write::flush(self)
    }
}
