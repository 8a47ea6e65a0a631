//! A ping flood (issue 15): a peer on 127.0.0.1 sends 200,000 pings and never reads. The server
//! (this crate's `accept` and an echo loop on a tokio runtime) must answer them in bounded memory,
//! pushing back on the peer instead of queueing pongs, and still serve a new client meanwhile.
//!
//! The heap is measured in-process by a counting global allocator: bytes live now and the peak
//! since a reset. The flooding peer (the adapters' shared one) is a plain thread that allocates
//! one frame and writes it again and again, so what grows is the server's.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use wsproto_test_support::flood::ping_flood;
use wsproto_test_support::heap::{ALL, Counting};
use wsproto_tokio::{Accept, ClientRequest, CloseCode, Config, Message};

#[global_allocator]
static HEAP: Counting = Counting;

const PINGS: usize = 200_000;
const LIMIT: usize = 2 << 20;

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
    let before = ALL.reset_peak();
    // The flooder's connection stays open, and unread, until the end of the test.
    let (sent, _flooder) = ping_flood(port, PINGS);
    // Let the server take what is in flight, then look at its heap.
    std::thread::sleep(Duration::from_millis(500));
    let growth = (ALL.peak() - before).max(0) as usize;
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
