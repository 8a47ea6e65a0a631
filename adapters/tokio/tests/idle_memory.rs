//! Memory per idle connection (issue 18): a `wsproto-tokio` echo server on two worker threads
//! holds 1,000 connections that each echoed one 16-byte message; a counting allocator (this
//! test binary's global allocator) measures the heap the server holds per connection, after a
//! first batch closed (warm), and again after 1 MiB messages on 100 of them. The clients are
//! plain blocking sockets that allocate nothing, so the growth is the server's.

use std::net::TcpStream;
use std::time::Duration;

use wsproto_test_support::heap::{ALL, Counting};
use wsproto_test_support::raw;
use wsproto_test_support::setup::large;
use wsproto_tokio::Options;

mod support;

use support::echo_server;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CONNECTIONS: usize = 1000;
/// The budget per idle connection, everything the server holds for it included (the task,
/// the socket's registration, the WebSocket and its session).
const BUDGET: isize = 2048;

fn live() -> isize {
    ALL.live()
}

/// Opens a connection and has it echo `payload` once; returns the open socket.
fn open_and_echo(port: u16, payload: &[u8]) -> TcpStream {
    let mut socket = raw::connect(port);
    raw::assert_echo(&mut socket, payload);
    socket
}

#[test]
fn an_idle_connection_holds_under_two_kib() {
    let (_runtime, port) = echo_server(Options::from(large(2 << 20)));

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
        raw::assert_echo(socket, &big);
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
