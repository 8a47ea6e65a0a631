//! A ping flood (issue 15): a peer on 127.0.0.1 sends 200,000 pings and never reads. The
//! server (this crate's `accept` and an echo loop, a thread per connection) must answer them in
//! bounded memory — it writes every pong before it reads more, so once the peer's receive
//! window is full the server waits and TCP pushes back on the peer — and still serve a new
//! client meanwhile.
//!
//! The server threads' heap is measured by a counting global allocator that counts only
//! allocations made on threads marked as the server's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wsproto_blocking::{AcceptOptions, ClientRequest, CloseCode, Config, Message, WebSocket};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SERVER_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn on_server() -> bool {
    SERVER_THREAD.try_with(Cell::get).unwrap_or(false)
}

struct Counting;

// SAFETY: forwards every call to the system allocator unchanged; counting touches only
// atomics and a const-initialised thread-local, without allocating.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && on_server() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if on_server() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && on_server() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static HEAP: Counting = Counting;

const PINGS: usize = 200_000;
const LIMIT: usize = 2 << 20;

/// One echo connection on its own server thread, until it ends.
fn serve(stream: TcpStream) {
    SERVER_THREAD.with(|s| s.set(true));
    let Ok(mut ws) = WebSocket::accept(stream, Config::default(), |_| Ok(AcceptOptions::default()))
    else {
        return;
    };
    while let Ok(message) = ws.read_message() {
        if ws.send(message).is_err() {
            return;
        }
    }
}

/// The flooding peer: a handshake by hand, then masked pings with 125-byte payloads (the most
/// pong bytes per ping), each in its own write, until all are sent or the writes stall for 2 s
/// (the server stopped reading). Returns how many went out, and the unread connection.
fn flood(port: u16) -> (usize, TcpStream) {
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut ping = [0u8; 131];
    ping[..2].copy_from_slice(&[0x89, 0x80 | 125]);
    ping[2..6].copy_from_slice(&key);
    for (i, b) in ping[6..].iter_mut().enumerate() {
        *b = (i as u8) ^ key[i % 4];
    }
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let mut head = [0u8; 1024];
    let mut len = 0;
    while !head[..len].ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut head[len..]).unwrap();
        assert!(n > 0, "the server hung up during the handshake");
        len += n;
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "not accepted");
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut sent = 0;
    while sent < PINGS {
        match stream.write_all(&ping) {
            Ok(()) => sent += 1,
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(err) => panic!("the server failed the flood connection: {err}"),
        }
    }
    (sent, stream)
}

#[test]
fn ping_flood_grows_the_server_by_less_than_2_mib_and_it_still_serves() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    let started = Instant::now();
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let (sent, flooder) = flood(port);
    std::thread::sleep(Duration::from_millis(500));
    let growth = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    println!(
        "{sent} of {PINGS} pings sent in {:?}; server heap peak growth {growth} bytes ({:.2} MiB)",
        started.elapsed(),
        growth as f64 / f64::from(1 << 20)
    );
    assert!(
        growth < LIMIT,
        "the server grew by {growth} bytes under the flood"
    );
    assert!(sent > 1000, "the server took only {sent} pings");

    // A new client is served while the flooder still holds its unread connection.
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let entropy = |buf: &mut [u8]| buf.fill(0x5a);
    let request = ClientRequest::new("127.0.0.1", "/");
    let mut ws = WebSocket::connect(stream, &request, Config::default(), entropy).unwrap();
    ws.send_text("still here?").unwrap();
    assert_eq!(
        ws.read_message().unwrap(),
        Message::Text("still here?".into())
    );
    assert!(ws.close(CloseCode::NORMAL, "").unwrap().clean);
    drop(flooder);
}
