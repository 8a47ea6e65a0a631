//! Memory per idle connection (issue 18): an echo server on this adapter (one compio runtime,
//! one thread) holds 1,000 connections that each echoed one 16-byte message. The heap the
//! server's thread holds is counted by this test's global allocator (allocations made on that
//! thread only, so the clients in the test's main thread do not count), after a first batch
//! of connections closed (warm), then again after 1 MiB messages on 100 of them.

use std::net::TcpStream;
use std::time::Duration;

use wsproto_test_support::heap::{self, Counting, MARKED};
use wsproto_test_support::raw;
use wsproto_test_support::setup::large;

mod support;

/// Counts what the server's thread allocates (it marks itself: `heap::MARKED`).
#[global_allocator]
static HEAP: Counting = Counting;

const CONNECTIONS: usize = 1000;
/// What an idle connection may hold: its task, the socket, the WebSocket and its session, the
/// read in flight.
const BUDGET: isize = 2048;

/// A connection through its opening handshake (written by hand: the client allocates little)
/// that echoed one 16-byte message.
fn connect_and_echo(port: u16) -> TcpStream {
    let mut socket = raw::connect(port);
    raw::assert_echo(&mut socket, &[0x5a; 16]);
    socket
}

#[test]
fn an_idle_connection_holds_under_two_kib() {
    let port = support::echo_server(large(2 << 20).into(), heap::mark_this_thread);
    // What the server holds once its connections settled, above `since`.
    let held_since = |since: isize| {
        std::thread::sleep(Duration::from_millis(300));
        MARKED.live() - since
    };

    // A first batch warms the runtime (its slabs, the thread's shared buffers), then closes.
    let warm_up: Vec<_> = (0..CONNECTIONS).map(|_| connect_and_echo(port)).collect();
    drop(warm_up);
    let baseline = held_since(0);

    let mut sockets: Vec<_> = (0..CONNECTIONS).map(|_| connect_and_echo(port)).collect();
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
        .for_each(|socket| raw::assert_echo(socket, &large));
    let after = held_since(baseline);
    println!("after 100 echoes of 1 MiB: {after} B of server heap");
    assert!(
        after <= idle + idle / 10,
        "{after} B after, {idle} B before"
    );
}
