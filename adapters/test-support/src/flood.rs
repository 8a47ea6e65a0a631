//! The ping-flood peer of issue 15's memory tests: a client that sends pings and never reads.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use wsproto::frame::OpCode;

use crate::heap::Counters;
use crate::raw;

/// A write that makes no progress for this long means the server stopped reading: the flood
/// has been pushed back.
pub const STALLED: Duration = Duration::from_secs(2);

/// A masked client ping with the largest payload (125 bytes, RFC 6455 §5.5): the most pong
/// bytes per byte the peer sends.
pub fn ping() -> Vec<u8> {
    let payload: Vec<u8> = (0..125u8).collect();
    raw::frame(OpCode::Ping, &payload, Some([0x11, 0x22, 0x33, 0x44]))
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

/// Issue 15's flood test against the server at 127.0.0.1:`port`, whose heap `heap` counts:
/// [`ping_flood`] with 200,000 pings, half a second for the server to take what is in flight,
/// then checks that its heap's peak grew by less than 2 MiB and that it took over 1,000 pings
/// before it pushed back. Returns the flooding connection, unread: keep it open while a new
/// client checks that the server still serves.
pub fn assert_flood_bounded(port: u16, heap: &Counters) -> TcpStream {
    const PINGS: usize = 200_000;
    const LIMIT: usize = 2 << 20;
    let started = Instant::now();
    let before = heap.reset_peak();
    let (sent, flooder) = ping_flood(port, PINGS);
    std::thread::sleep(Duration::from_millis(500));
    let growth = (heap.peak() - before).max(0) as usize;
    println!(
        "{sent} of {PINGS} pings sent in {:?} before the server pushed back; \
         heap peak growth {growth} bytes ({:.2} MiB)",
        started.elapsed(),
        growth as f64 / f64::from(1 << 20)
    );
    assert!(
        growth < LIMIT,
        "the server grew by {growth} bytes under the flood"
    );
    assert!(sent > 1000, "the server took only {sent} pings");
    flooder
}
