//! A ping flood (issue 15) through the axum front door: a peer on 127.0.0.1 sends 200,000 pings
//! and never reads. The server (an axum `Router` with `websocket_route` and an echo loop) must
//! answer them in bounded memory, pushing back on the peer instead of queueing pongs, and still
//! serve a new client meanwhile.
//!
//! The heap is measured in-process by the adapters' shared counting allocator; the flooding
//! peer is a plain thread that allocates one frame and writes it again and again, so what grows
//! is the server's (axum, hyper and the WebSocket under them).

use axum::Router;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use wsproto_axum::{WebSocketUpgrade, websocket_route};
use wsproto_test_support::flood::assert_flood_bounded;
use wsproto_test_support::heap::{ALL, Counting};
use wsproto_test_support::raw;

#[global_allocator]
static HEAP: Counting = Counting;

async fn echo(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(|mut socket| async move {
        while let Some(Ok(message)) = socket.next().await {
            if socket.send(message).await.is_err() {
                break;
            }
        }
    })
}

#[test]
fn ping_flood_grows_the_axum_server_by_less_than_2_mib_and_it_still_serves() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let port = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = Router::new().route("/", websocket_route(echo));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        port
    });
    // The flooder's connection stays open, and unread, until the end of the test.
    let _flooder = assert_flood_bounded(port, &ALL);

    // A new client is served while the flooder still holds its connection (its reads time out
    // after 30 s).
    let mut client = raw::connect(port);
    raw::assert_echo(&mut client, b"still here?");
}
