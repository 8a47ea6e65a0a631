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

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant as StdInstant};

use common::{Tcp, entropy, now};
use wsproto::mask::apply_mask;
use wsproto_embedded::wsproto::time::Instant;
use wsproto_embedded::{AcceptOptions, ClientRequest, CloseCode, Config, Message, blocking};

/// Bytes allocated and not yet freed, by the whole process, and the most there ever were.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Allocations made by the current thread (so that a server thread can count its own).
    static THREAD_ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, measuring the live heap and counting each thread's allocations.
struct Measuring;

impl Measuring {
    fn grew(size: usize) {
        let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
        PEAK.fetch_max(live, Ordering::Relaxed);
        // `try_with`: the allocator may run while the thread-local is being torn down.
        let _ = THREAD_ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every call goes to the system allocator unchanged; the bookkeeping touches only
// atomics and a const-initialised thread-local `Cell`, neither of which allocates.
unsafe impl GlobalAlloc for Measuring {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Measuring::grew(layout.size());
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        Measuring::grew(new_size);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's valid size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Measuring = Measuring;

fn thread_allocations() -> u64 {
    THREAD_ALLOCATIONS.with(Cell::get)
}

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

/// Opens a WebSocket on a raw TCP stream: the request, then the response head.
fn raw_handshake(stream: &mut TcpStream) {
    stream
        .write_all(
            b"GET /flood HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the server closed");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101 "),
        "{:?}",
        String::from_utf8_lossy(&head)
    );
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

    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);

    let first_listener = listener.clone();
    let flooded_server = thread::spawn(move || serve(&first_listener, buffer));
    let flooder = socket(buffer);
    flooder.connect(&addr.into()).unwrap();
    let mut flooder = TcpStream::from(flooder);
    raw_handshake(&mut flooder);
    let written = flood(&mut flooder);
    let pings = written / PING_LEN;
    assert!(pings > 0);
    let peak_during_flood = PEAK.load(Ordering::Relaxed) - baseline;

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

    let peak = PEAK.load(Ordering::Relaxed) - baseline;
    eprintln!(
        "socket buffers {buffer:?}: {pings} of {PINGS} pings written (the flooder stops where its writes stall); heap growth: \
         {peak_during_flood} B during the flood, {peak} B at the most"
    );
    assert!(peak < 2 << 20, "the heap grew by {peak} bytes");
    assert!(StdInstant::now() < deadline, "took too long");
    pings
}
