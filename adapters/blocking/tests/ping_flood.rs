//! A ping flood (issue 15): a peer on 127.0.0.1 sends 200,000 pings and never reads. The
//! server (this crate's `accept` and an echo loop, a thread per connection) must answer them in
//! bounded memory — it writes every pong before it reads more, so once the peer's receive
//! window is full the server waits and TCP pushes back on the peer — and still serve a new
//! client meanwhile.
//!
//! The server threads' heap is measured by a counting global allocator that counts only
//! allocations made on threads marked as the server's (`heap::MARKED`).

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use wsproto_blocking::{AcceptOptions, ClientRequest, CloseCode, Config, Message, WebSocket};
use wsproto_test_support::flood::assert_flood_bounded;
use wsproto_test_support::heap::{self, Counting, MARKED};

#[global_allocator]
static HEAP: Counting = Counting;

/// One echo connection on its own server thread, until it ends.
fn serve(stream: TcpStream) {
    heap::mark_this_thread();
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

#[test]
fn ping_flood_grows_the_server_by_less_than_2_mib_and_it_still_serves() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    let flooder = assert_flood_bounded(port, &MARKED);

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
