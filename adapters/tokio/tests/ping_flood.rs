//! A ping flood (issue 15): a peer on 127.0.0.1 sends 200,000 pings and never reads. The server
//! (this crate's `accept` and an echo loop on a tokio runtime) must answer them in bounded memory,
//! pushing back on the peer instead of queueing pongs, and still serve a new client meanwhile.
//!
//! The heap is measured in-process by a counting global allocator: bytes live now and the peak
//! since a reset. The flooding peer (the adapters' shared one) is a plain thread that allocates
//! one frame and writes it again and again, so what grows is the server's.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use wsproto_test_support::flood::assert_flood_bounded;
use wsproto_test_support::heap::{ALL, Counting};
use wsproto_tokio::{ClientRequest, CloseCode, Config, Message, Options};

mod support;

use support::echo_server;

#[global_allocator]
static HEAP: Counting = Counting;

#[test]
fn ping_flood_grows_the_server_by_less_than_2_mib_and_it_still_serves() {
    let (runtime, port) = echo_server(Options::from(Config::default()));
    // The flooder's connection stays open, and unread, until the end of the test.
    let _flooder = assert_flood_bounded(port, &ALL);

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
