//! Memory per idle connection (issue 18): an echo server on this adapter (one compio runtime,
//! one thread) holds 1,000 connections that each echoed one 16-byte message. The heap the
//! server's thread holds is counted by this test's global allocator (allocations made on that
//! thread only, so the clients in the test's main thread do not count), after a first batch
//! of connections closed (warm), then again after 1 MiB messages on 100 of them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use wsproto_uring::Config;

mod support;

/// Bytes the server's thread holds: allocated there minus freed there.
static SERVER_HEAP: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static ON_SERVER: Cell<bool> = const { Cell::new(false) };
}

/// Counts what the server's thread allocates. `realloc` and `alloc_zeroed` keep their default
/// implementations, which go through these two.
struct ServerHeap;

// SAFETY: forwards to the system allocator unchanged; counting touches an atomic and a
// const-initialised thread-local, without allocating.
unsafe impl GlobalAlloc for ServerHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ON_SERVER.try_with(Cell::get).unwrap_or(false) {
            SERVER_HEAP.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ON_SERVER.try_with(Cell::get).unwrap_or(false) {
            SERVER_HEAP.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static HEAP: ServerHeap = ServerHeap;

const CONNECTIONS: usize = 1000;
/// What an idle connection may hold: its task, the socket, the WebSocket and its session, the
/// read in flight.
const BUDGET: isize = 2048;

/// A binary frame of `payload` with the shortest length encoding; a client's is masked, with
/// a zero key (the payload stays as it is).
fn binary_frame(payload: &[u8], masked: bool) -> Vec<u8> {
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut frame = vec![0x82];
    match payload.len() {
        n @ 0..126 => frame.push(mask_bit | n as u8),
        n @ 126..=0xffff => {
            frame.push(mask_bit | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(mask_bit | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        frame.extend_from_slice(&[0; 4]);
    }
    frame.extend_from_slice(payload);
    frame
}

/// Sends `payload` and checks that it comes back.
fn echo(socket: &mut TcpStream, payload: &[u8]) {
    socket.write_all(&binary_frame(payload, true)).unwrap();
    let expected = binary_frame(payload, false);
    let mut echoed = vec![0; expected.len()];
    socket.read_exact(&mut echoed).unwrap();
    assert!(
        echoed == expected,
        "a wrong echo of {} bytes",
        payload.len()
    );
}

/// A connection through its opening handshake (written by hand: the client allocates little)
/// that echoed one 16-byte message.
fn connect_and_echo(server: SocketAddr) -> TcpStream {
    let mut socket = TcpStream::connect(server).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    socket
        .write_all(
            b"GET /idle HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
              Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: MTIzNDU2Nzg5MDEyMzQ1Ng==\r\n\r\n",
        )
        .unwrap();
    // The 101 response, in one segment (the server writes it at once, and nothing after it
    // unasked).
    let mut head = [0; 512];
    let n = socket.read(&mut head).unwrap();
    let head = &head[..n];
    assert!(
        head.starts_with(b"HTTP/1.1 101") && head.ends_with(b"\r\n\r\n"),
        "{}",
        String::from_utf8_lossy(head)
    );
    echo(&mut socket, &[0x5a; 16]);
    socket
}

#[test]
fn an_idle_connection_holds_under_two_kib() {
    let config = Config {
        max_message_size: 2 << 20,
        max_frame_payload: 2 << 20,
        ..Config::default()
    };
    let port = support::echo_server(config.into(), || ON_SERVER.set(true));
    let server = SocketAddr::from(([127, 0, 0, 1], port));
    // What the server holds once its connections settled, above `since`.
    let held_since = |since: isize| {
        std::thread::sleep(Duration::from_millis(300));
        SERVER_HEAP.load(Ordering::Relaxed) - since
    };

    // A first batch warms the runtime (its slabs, the thread's shared buffers), then closes.
    let warm_up: Vec<_> = (0..CONNECTIONS).map(|_| connect_and_echo(server)).collect();
    drop(warm_up);
    let baseline = held_since(0);

    let mut sockets: Vec<_> = (0..CONNECTIONS).map(|_| connect_and_echo(server)).collect();
    let idle = held_since(baseline);
    let each = idle / CONNECTIONS as isize;
    println!("{CONNECTIONS} idle connections: {idle} B of server heap, {each} B each");
    assert!(
        each <= BUDGET,
        "{each} B per idle connection (budget {BUDGET} B)"
    );

    // 1 MiB messages on 100 of them: once echoed, their buffers are given back.
    let large: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    sockets[..100]
        .iter_mut()
        .for_each(|socket| echo(socket, &large));
    let after = held_since(baseline);
    println!("after 100 echoes of 1 MiB: {after} B of server heap");
    assert!(
        after <= idle + idle / 10,
        "{after} B after, {idle} B before"
    );
}
