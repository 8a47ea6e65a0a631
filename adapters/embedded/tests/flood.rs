//! Issue 15's flood test for the embedded adapter: a peer sends 200,000 pings and never reads.
//!
//! The embedded blocking server socket runs on a host thread over a 127.0.0.1 TCP stream, with
//! fixed `rx` and `tx` buffers. The flooding client writes pings (10 bytes each, the payload
//! its index) without reading until all are written or its writes stall for a second (the
//! server stopped reading because its pongs cannot be written). While the flooder is still
//! connected and stalled, a second client is served by a second server socket (echo). Then the
//! flooder shuts its write side down and reads everything: a pong for every complete ping it
//! wrote, in order.
//!
//! A counting global allocator measures the heap: the server threads allocate nothing while
//! serving, and the process's live heap never grows by 2 MiB over its level before the flood.
//! This binary holds only this test, so that no other test allocates meanwhile.

mod common;

use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant as StdInstant};

use common::now;
use wsproto::mask::apply_mask;
use wsproto_embedded::wsproto::time::Instant;
use wsproto_embedded::{AcceptOptions, ClientRequest, CloseCode, Config, Message, blocking};
use wsproto_test_support::counted::CountedTcp as Tcp;
use wsproto_test_support::heap::{ALL, Counting, thread_allocations};
use wsproto_test_support::raw;
use wsproto_test_support::setup::entropy;

/// Every thread's heap (`heap::ALL`), and each thread's allocations.
#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn millis(start: StdInstant) -> impl FnMut() -> Instant {
    move || now(start)
}

const PINGS: u32 = 200_000;
const PING_LEN: usize = 10;
const MASK: [u8; 4] = [0x5a, 0x17, 0xc3, 0x81];
/// Small kernel buffers for the flooded connection, each way, so that it stalls within the
/// 200,000 pings (the kernel doubles the figure; loopback otherwise buffers megabytes).
const SMALL_SOCKET_BUFFER: usize = 8 * 1024;

/// A TCP socket, with kernel buffers of `buffer` bytes if given (set before the connection, so
/// that its window is small from the start).
fn socket(buffer: Option<usize>) -> socket2::Socket {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    if let Some(size) = buffer {
        socket.set_recv_buffer_size(size).unwrap();
        socket.set_send_buffer_size(size).unwrap();
    }
    socket
}

/// What a server thread saw.
#[derive(Debug)]
struct Served {
    /// Messages echoed.
    echoed: usize,
    /// Heap allocations the thread made from the accepted TCP stream to the end.
    allocations: u64,
}

/// Accepts one TCP connection and serves it with the embedded blocking socket and fixed
/// buffers: echoes every message until the connection ends.
fn serve(listener: &TcpListener, buffer: Option<usize>) -> Served {
    let (stream, _) = listener.accept().unwrap();
    if let Some(size) = buffer {
        // As on a device: the pongs back up into the socket soon.
        socket2::SockRef::from(&stream)
            .set_send_buffer_size(size)
            .unwrap();
    }
    let before = thread_allocations();
    let (mut rx, mut tx) = ([0u8; 2048], [0u8; 1024]);
    let mut copy = [0u8; 2048];
    let start = StdInstant::now();
    let mut ws = blocking::WebSocket::accept(
        Tcp::new(stream),
        Config::default(),
        millis(start),
        &mut rx,
        &mut tx,
        |_| Ok(AcceptOptions::default()),
    )
    .unwrap();
    let mut echoed = 0;
    // Copied out of `rx`: the message borrows the socket, which sending needs.
    while let Ok(message) = ws.read() {
        let bytes = match message {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
        };
        copy[..bytes.len()].copy_from_slice(bytes);
        let (text, len) = (matches!(message, Message::Text(_)), bytes.len());
        let sent = match text {
            true => ws.send_text(std::str::from_utf8(&copy[..len]).unwrap()),
            false => ws.send_binary(&copy[..len]),
        };
        if sent.is_err() {
            break;
        }
        echoed += 1;
    }
    Served {
        echoed,
        allocations: thread_allocations() - before,
    }
}

/// Writes ping frames numbered from 0 without reading, until `PINGS` are written or a write
/// stalls (the stream's write timeout); returns the bytes written.
fn flood(stream: &mut TcpStream) -> usize {
    stream
        .set_write_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut batch = Vec::with_capacity(1000 * PING_LEN);
    let mut written = 0;
    for first in (0..PINGS).step_by(1000) {
        batch.clear();
        for i in first..(first + 1000).min(PINGS) {
            let mut payload = i.to_be_bytes();
            apply_mask(&mut payload, MASK, 0);
            batch.extend_from_slice(&[0x89, 0x80 | 4]);
            batch.extend_from_slice(&MASK);
            batch.extend_from_slice(&payload);
        }
        let mut at = 0;
        while at < batch.len() {
            match stream.write(&batch[at..]) {
                Ok(n) => at += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // Stalled: the server has stopped reading.
                Err(_) => return written + at,
            }
        }
        written += at;
    }
    written
}

#[test]
fn a_ping_flood_that_never_reads_costs_no_memory_and_the_server_serves_on() {
    // Small kernel buffers: the server stops reading once its pongs back up.
    let stalled = flood_and_serve(Some(SMALL_SOCKET_BUFFER));
    assert!(stalled < PINGS as usize, "the flooder never stalled");
    // The kernel's defaults: on loopback they may take all 200,000 pings and their pongs.
    flood_and_serve(None);
}

/// The scenario of the file's documentation, with the flooded connection's kernel buffers of
/// `buffer` bytes (`None`: the kernel's); returns how many pings the flooder wrote.
fn flood_and_serve(buffer: Option<usize>) -> usize {
    let listener = socket(buffer);
    listener
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    listener.listen(8).unwrap();
    let listener = TcpListener::from(listener);
    let addr = listener.local_addr().unwrap();
    let listener = std::sync::Arc::new(listener);
    let deadline = StdInstant::now() + Duration::from_secs(120);

    let baseline = ALL.reset_peak();

    let first_listener = listener.clone();
    let flooded_server = thread::spawn(move || serve(&first_listener, buffer));
    let flooder = socket(buffer);
    flooder.connect(&addr.into()).unwrap();
    let mut flooder = TcpStream::from(flooder);
    raw::upgrade(&mut flooder);
    let written = flood(&mut flooder);
    let pings = written / PING_LEN;
    assert!(pings > 0);
    let peak_during_flood = (ALL.peak() - baseline).max(0) as usize;

    // The flooder is still connected, not reading: a second client is served meanwhile.
    let second_listener = listener.clone();
    let echo_server = thread::spawn(move || serve(&second_listener, None));
    let start = StdInstant::now();
    let (mut rx, mut tx) = ([0u8; 2048], [0u8; 1024]);
    let mut ws = blocking::WebSocket::connect(
        Tcp::new(TcpStream::connect(addr).unwrap()),
        &ClientRequest::new("127.0.0.1", "/echo"),
        Config::default(),
        millis(start),
        entropy(),
        &mut rx,
        &mut tx,
    )
    .unwrap();
    for text in ["still here?", "yes", &"long ".repeat(300)] {
        ws.send_text(text).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Text(text));
    }
    assert!(ws.close(CloseCode::NORMAL, "").unwrap().clean);
    drop(ws);
    let echoed = echo_server.join().unwrap();
    assert_eq!(echoed.echoed, 3);
    assert_eq!(echoed.allocations, 0, "the echo server allocated");

    // The flooder stops and reads: a pong for every complete ping, in order.
    flooder.shutdown(Shutdown::Write).unwrap();
    flooder
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut replies = io::BufReader::new(&flooder);
    let mut pongs = 0u32;
    let mut frame = [0u8; 6];
    while replies.read_exact(&mut frame[..2]).is_ok() && frame[..2] == [0x8a, 4] {
        replies.read_exact(&mut frame[2..]).unwrap();
        assert_eq!(frame[2..], pongs.to_be_bytes(), "pong {pongs} out of order");
        pongs += 1;
    }
    assert_eq!(pongs as usize, pings, "every complete ping got its pong");
    let flooded = flooded_server.join().unwrap();
    assert_eq!(flooded.echoed, 0);
    assert_eq!(flooded.allocations, 0, "the flooded server allocated");

    let peak = (ALL.peak() - baseline).max(0) as usize;
    eprintln!(
        "socket buffers {buffer:?}: {pings} of {PINGS} pings written (the flooder stops where its writes stall); heap growth: \
         {peak_during_flood} B during the flood, {peak} B at the most"
    );
    assert!(peak < 2 << 20, "the heap grew by {peak} bytes");
    assert!(StdInstant::now() < deadline, "took too long");
    pings
}
