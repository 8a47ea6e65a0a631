//! The ping-flood peer of issue 15's memory tests: a client that sends pings and never reads.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::raw;

/// A write that makes no progress for this long means the server stopped reading: the flood
/// has been pushed back.
pub const STALLED: Duration = Duration::from_secs(2);

/// A masked client ping with the largest payload (125 bytes, RFC 6455 §5.5): the most pong
/// bytes per byte the peer sends.
pub fn ping() -> Vec<u8> {
    let payload: Vec<u8> = (0..125u8).collect();
    raw::frame(0x9, &payload, Some([0x11, 0x22, 0x33, 0x44]))
}

/// Connects to 127.0.0.1:`port`, opens a WebSocket by hand, then writes `pings` [`ping`]s,
/// each in its own write (so that a server that keeps up reads them one by one and answers
/// each), until all are sent or a write stalls for [`STALLED`]. Returns how many went out, and
/// the connection, which it never reads after the handshake.
pub fn ping_flood(port: u16, pings: usize) -> (usize, TcpStream) {
    let ping = ping();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_nodelay(true).unwrap();
    raw::upgrade(&mut stream);
    stream.set_write_timeout(Some(STALLED)).unwrap();
    let mut sent = 0;
    while sent < pings {
        match stream.write_all(&ping) {
            Ok(()) => sent += 1,
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(err) => panic!("the server failed the flood connection: {err}"),
        }
    }
    (sent, stream)
}
