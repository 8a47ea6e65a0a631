//! Memory per idle connection (issue 18): a `wsproto-tokio` echo server on two worker threads
//! holds 1,000 connections that each echoed one 16-byte message; a counting allocator (this
//! test binary's global allocator) measures the heap the server holds per connection, after a
//! first batch closed (warm), and again after 1 MiB messages on 100 of them. The clients are
//! plain blocking sockets that allocate nothing, so the growth is the server's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use wsproto_tokio::{Accept, Config, Options};

/// Live heap bytes: allocated minus freed.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CONNECTIONS: usize = 1000;
/// The budget per idle connection, everything the server holds for it included (the task,
/// the socket's registration, the WebSocket and its session).
const BUDGET: isize = 2048;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// A masked client frame (fixed key).
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let key = [1, 2, 3, 4];
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n @ 0..126 => out.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// Opens a connection and has it echo `payload` once; returns the open socket.
fn open_and_echo(port: u16, payload: &[u8]) -> TcpStream {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    socket
        .write_all(
            b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        socket.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    echo(&mut socket, payload);
    socket
}

fn echo(socket: &mut TcpStream, payload: &[u8]) {
    socket.write_all(&client_frame(0x2, payload)).unwrap();
    let mut header = [0u8; 2];
    socket.read_exact(&mut header).unwrap();
    let len = match header[1] {
        126 => {
            let mut n = [0u8; 2];
            socket.read_exact(&mut n).unwrap();
            u16::from_be_bytes(n) as usize
        }
        127 => {
            let mut n = [0u8; 8];
            socket.read_exact(&mut n).unwrap();
            u64::from_be_bytes(n) as usize
        }
        n => n as usize,
    };
    let mut echoed = vec![0u8; len];
    socket.read_exact(&mut echoed).unwrap();
    assert_eq!(header[0], 0x82);
    assert_eq!(echoed, payload);
}

#[test]
fn an_idle_connection_holds_under_two_kib() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let options = Options::from(Config {
        max_message_size: 2 << 20,
        max_frame_payload: 2 << 20,
        ..Config::default()
    });
    runtime.spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let Ok(mut ws) =
                    wsproto_tokio::accept(stream, options, |_| Ok(Accept::new())).await
                else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });

    let settle = || std::thread::sleep(Duration::from_millis(300));
    // A first batch warms the runtime's slabs and the threads' shared buffers, then closes.
    let first: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|_| open_and_echo(port, &[7; 16]))
        .collect();
    drop(first);
    settle();
    let baseline = live();

    let mut sockets: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|_| open_and_echo(port, &[7; 16]))
        .collect();
    settle();
    let idle = live() - baseline;
    let per_connection = idle / CONNECTIONS as isize;
    println!("idle: {idle} B for {CONNECTIONS} connections, {per_connection} B each");
    assert!(
        per_connection <= BUDGET,
        "{per_connection} B per idle connection (budget {BUDGET})"
    );

    // 1 MiB messages on 100 of them: once delivered and echoed, their buffers are given back.
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| i as u8).collect();
    for socket in sockets.iter_mut().take(100) {
        echo(socket, &big);
    }
    drop(big);
    settle();
    let after = live() - baseline;
    println!("after 100 × 1 MiB echoes: {after} B");
    assert!(
        after <= idle + idle / 10,
        "{after} B after the large messages, {idle} B before"
    );
    drop(sockets);
}
