//! A ping flood (issue 15): a peer on 127.0.0.1 sends 200,000 pings and never reads. The server
//! (this crate's `accept` and an echo loop on a tokio runtime) must answer them in bounded memory,
//! pushing back on the peer instead of queueing pongs, and still serve a new client meanwhile.
//!
//! The heap is measured in-process by a counting global allocator: bytes live now and the peak
//! since a reset. The flooding peer is a plain thread that writes from a buffer allocated before
//! the measurement starts, so what grows is the server's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use wsproto_tokio::{Accept, ClientRequest, CloseCode, Config, Message};

/// Bytes allocated now, and the most there have been since [`reset_peak`].
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

struct Counting;

// SAFETY: forwards every call to the system allocator unchanged; the counters are atomics,
// updated without allocating.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static HEAP: Counting = Counting;

/// Starts a new peak at what is live now, and returns it.
fn reset_peak() -> usize {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    live
}

const PINGS: usize = 200_000;
/// The largest ping payload (§5.5): the most pong bytes per ping byte the peer sends.
const PING_PAYLOAD: usize = 125;
/// The length of one ping frame on the wire.
const PING_LEN: usize = 6 + PING_PAYLOAD;
/// A write that makes no progress for this long means the server stopped reading: the flood
/// has been pushed back.
const STALLED: Duration = Duration::from_secs(2);
const LIMIT: usize = 2 << 20;

/// A masked client ping with a full payload (RFC 6455 §5.5.2).
fn ping() -> [u8; PING_LEN] {
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut frame = [0u8; PING_LEN];
    frame[..2].copy_from_slice(&[0x89, 0x80 | PING_PAYLOAD as u8]);
    frame[2..6].copy_from_slice(&key);
    for (i, b) in frame[6..].iter_mut().enumerate() {
        *b = (i as u8) ^ key[i % 4];
    }
    frame
}

/// The flooding peer: an opening handshake by hand, then pings, each in its own write (so that
/// a server that keeps up reads them one by one and answers each), until all are sent or the
/// server stops taking them. Returns how many went out, and the connection, which it never reads
/// after the handshake.
fn flood(port: u16) -> (usize, TcpStream) {
    let ping = ping();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    // The 101 response, up to its blank line (the server sends nothing after it unasked).
    let mut head = [0u8; 1024];
    let mut len = 0;
    while !head[..len].ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut head[len..]).unwrap();
        assert!(n > 0, "the server hung up during the handshake");
        len += n;
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "not accepted");
    stream.set_write_timeout(Some(STALLED)).unwrap();
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    // An echo server: one task per connection.
    runtime.spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let accepted =
                    wsproto_tokio::accept(stream, Config::default(), |_| Ok(Accept::default()))
                        .await;
                let Ok(mut ws) = accepted else { return };
                while let Some(Ok(message)) = ws.next().await {
                    if ws.send(message).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let started = Instant::now();
    let before = reset_peak();
    // The flooder's connection stays open, and unread, until the end of the test.
    let (sent, _flooder) = flood(port);
    // Let the server take what is in flight, then look at its heap.
    std::thread::sleep(Duration::from_millis(500));
    let peak = PEAK.load(Ordering::Relaxed);
    let growth = peak.saturating_sub(before);
    println!(
        "{sent} of {PINGS} pings sent in {:?} before the server pushed back; \
         heap peak growth {growth} bytes ({:.2} MiB)",
        started.elapsed(),
        growth as f64 / (1 << 20) as f64
    );
    assert!(
        growth < LIMIT,
        "the server grew by {growth} bytes under the flood"
    );
    assert!(sent > 1000, "the server took only {sent} pings");

    // A new client is served while the flooder still holds its connection.
    runtime.block_on(async {
        let served = tokio::time::timeout(Duration::from_secs(30), async {
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let request = ClientRequest::new("127.0.0.1", "/");
            let entropy = |buf: &mut [u8]| buf.fill(0x5a);
            let mut ws = wsproto_tokio::connect(stream, &request, Config::default(), entropy)
                .await
                .unwrap();
            ws.send(Message::Text("still here?".into())).await.unwrap();
            let echo = ws.next().await.unwrap().unwrap();
            ws.close_with(CloseCode::NORMAL, "").await.unwrap();
            echo
        })
        .await
        .expect("the second client was not served within 30 s");
        assert_eq!(served, Message::Text("still here?".into()));
    });
}
