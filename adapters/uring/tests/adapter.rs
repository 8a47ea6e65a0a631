//! The io_uring adapter against itself over TCP on 127.0.0.1, on compio's runtime: echo of
//! several sizes, pings, the closing handshake from either side, the timers, the handshake's
//! refusals, cancelled calls, permessage-deflate.

use std::time::Duration;

use compio::net::{TcpListener, TcpStream};
use compio::runtime::JoinHandle;
use wsproto_test_support::setup::{close_timeout, entropy, keepalive, large};
use wsproto_uring::{
    AcceptOptions, ClientRequest, CloseCode, Config, Error, Field, HandshakeError, Message,
    Options, ProtocolError, ReadyState, Reject, Request, WebSocket,
};

/// A listener on 127.0.0.1 and a client socket connected to it, accepted.
async fn sockets() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// A client and a server connected through their opening handshake.
async fn connected(
    client: impl Into<Options>,
    server: impl Into<Options>,
) -> (WebSocket<TcpStream>, WebSocket<TcpStream>) {
    let (client_io, server_io) = sockets().await;
    let server = server.into();
    let accepting = compio::runtime::spawn(async move {
        wsproto_uring::accept(server_io, server, |_| Ok(AcceptOptions::default())).await
    });
    let request = ClientRequest::new("localhost", "/");
    let client = wsproto_uring::connect(client_io, &request, client, entropy())
        .await
        .unwrap();
    (client, accepting.await.unwrap().unwrap())
}

/// Echoes every message until the stream ends; gives back the socket and the error it ended
/// with.
fn echo(mut ws: WebSocket<TcpStream>) -> JoinHandle<(WebSocket<TcpStream>, Option<Error>)> {
    compio::runtime::spawn(async move {
        let failure = loop {
            let Some(received) = ws.next().await else {
                break None;
            };
            let sent = match received {
                Ok(message) => ws.send(message).await,
                Err(err) => Err(err),
            };
            if let Err(err) = sent {
                break Some(err);
            }
        };
        (ws, failure)
    })
}

fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

/// The next message, which must come.
async fn received(ws: &mut WebSocket<TcpStream>) -> Message {
    let next = ws.next().await.expect("a message, not the end");
    next.expect("a message, not a failure")
}

/// Sends `message` and checks that the echoing peer sends it back.
async fn assert_echoed(ws: &mut WebSocket<TcpStream>, message: Message) {
    ws.send(message.clone()).await.unwrap();
    assert_eq!(received(ws).await, message);
}

/// The failure that must end the stream now.
async fn failure(ws: &mut WebSocket<TcpStream>) -> Error {
    let next = ws.next().await.expect("a failure, not the end");
    next.expect_err("a failure, not a message")
}

type Outcome = Result<WebSocket<TcpStream>, Error>;

/// The opening handshake of `request` answered by `decide`: the client's outcome and the
/// server's.
async fn handshake<F>(request: ClientRequest<'_>, decide: F) -> (Outcome, Outcome)
where
    F: for<'r> FnOnce(&Request<'r>) -> Result<AcceptOptions<'r>, Reject> + 'static,
{
    let (client_io, server_io) = sockets().await;
    let server = wsproto_uring::accept(server_io, Config::default(), decide);
    let server = compio::runtime::spawn(server);
    let client = wsproto_uring::connect(client_io, &request, Config::default(), entropy()).await;
    (client, server.await.unwrap())
}

/// Checks that `ws` is closed after a clean closing handshake, with `code` and the peer's
/// `reason`.
fn assert_closed_cleanly(ws: &WebSocket<TcpStream>, code: CloseCode, reason: &str) {
    assert_eq!(ws.state(), ReadyState::Closed);
    let info = ws.close_info().expect("closed");
    assert!(info.clean, "{info:?}");
    assert_eq!((info.code, ws.close_reason()), (code, reason));
}

#[compio::test]
async fn echo_of_every_size_then_the_client_closes() {
    let (mut client, server) = connected(large(8 << 20), large(8 << 20)).await;
    let server = echo(server);
    for len in [0, 1, 125, 126, 65_535, 65_536, 1 << 20, 4 << 20] {
        let binary = Message::Binary(bytes(len));
        assert_echoed(&mut client, binary).await;
        let text = Message::Text("ß€".repeat(len / 5));
        assert_echoed(&mut client, text).await;
    }
    let info = client.close_with(CloseCode(4001), "done").await.unwrap();
    assert_eq!((info.clean, info.code), (true, CloseCode(4001)));
    let (server, failure) = server.await.unwrap();
    assert!(failure.is_none(), "{failure:?}");
    assert_closed_cleanly(&server, CloseCode(4001), "done");
}

#[compio::test]
async fn many_sends_before_a_read_come_back_in_order() {
    let (mut client, server) = connected(Config::default(), Config::default()).await;
    let server = echo(server);
    for i in 0..500u32 {
        client.send(Message::Text(i.to_string())).await.unwrap();
    }
    client.flush().await.unwrap();
    assert_eq!(client.buffered_amount(), 0);
    for i in 0..500u32 {
        assert_eq!(received(&mut client).await, Message::Text(i.to_string()));
    }
    client.close().await.unwrap();
    assert!(server.await.unwrap().1.is_none());
}

/// `send` waits while more than the output high-water mark is unwritten (the peer does not
/// read); a `send` cut short by a timeout has still queued its message, which arrives.
#[compio::test]
async fn send_waits_while_the_peer_does_not_read() {
    let (mut client, mut server) = connected(Config::default(), Config::default()).await;
    let high_water = wsproto_uring::SessionConfig::DEFAULT.output_high_water;
    let chunk = Message::Binary(vec![0x42; 4096]);
    let mut sent = 0;
    loop {
        let sending = client.send(chunk.clone());
        // Cut short: the socket buffers are full and the output is over its mark.
        if compio::time::timeout(Duration::from_millis(200), sending)
            .await
            .is_err()
        {
            break;
        }
        sent += 1;
        assert!(sent < 10_000, "send never waited");
    }
    let waiting = client.buffered_amount();
    assert!(waiting > high_water, "{waiting} B unwritten");
    // The reader wakes up: every message arrives, the last one too.
    let reading = compio::runtime::spawn(async move {
        for _ in 0..=sent {
            assert_eq!(received(&mut server).await.len(), 4096);
        }
        server
    });
    client.flush().await.unwrap();
    assert_eq!(client.buffered_amount(), 0);
    drop(reading.await.unwrap());
}

#[compio::test]
async fn the_server_closes_first() {
    let (mut client, mut server) = connected(Config::default(), Config::default()).await;
    // The server's side checks that the handshake it started completed.
    let closing = compio::runtime::spawn(async move {
        let last_words = Message::Text("last words".into());
        server.send(last_words).await.unwrap();
        let closed = server.close_with(CloseCode::GOING_AWAY, "maintenance");
        let info = closed.await.unwrap();
        let state = server.state();
        assert!(
            info.clean && state == ReadyState::Closed,
            "{info:?}, {state:?}"
        );
    });
    assert_eq!(
        received(&mut client).await,
        Message::Text("last words".into())
    );
    assert!(
        client.next().await.is_none(),
        "a clean close ends the stream"
    );
    assert_closed_cleanly(&client, CloseCode::GOING_AWAY, "maintenance");
    let late = client.send(Message::Text("late".into())).await;
    assert!(matches!(late, Err(Error::Closed(_))), "{late:?}");
    // Closing again after the peer's clean close is no failure.
    client.close().await.unwrap();
    closing.await.unwrap();
}

#[compio::test]
async fn a_ping_is_answered() {
    let (mut client, server) = connected(Config::default(), Config::default()).await;
    let server = echo(server);
    client.ping(b"anyone?").await.unwrap();
    assert_echoed(&mut client, Message::Text("after the ping".into())).await;
    assert_eq!(client.last_pong(), Some(&b"anyone?"[..]));
    client.close().await.unwrap();
    server.await.unwrap();
}

#[compio::test]
async fn the_close_timeout_fires_when_the_peer_never_answers() {
    let config = close_timeout(Duration::from_millis(300));
    // The server never reads again.
    let (mut client, _server) = connected(config, Config::default()).await;
    let started = std::time::Instant::now();
    let err = client.close_with(CloseCode::NORMAL, "").await.unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::CloseTimeout)),
        "{err}"
    );
    // The connection's clock counts whole milliseconds.
    assert!(
        waited >= Duration::from_millis(299) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert_eq!(client.state(), ReadyState::Closed);
}

/// Keepalive pings go out on the runtime's timer while `next` waits, and `next` calls cut short
/// by a timeout (their read cancelled from the caller's side) lose nothing: the read stays in
/// flight and the connection closes cleanly afterwards.
#[compio::test]
async fn keepalive_pings_are_answered_across_cancelled_calls() {
    let config = keepalive(Duration::from_millis(100), Duration::from_secs(5));
    let (mut client, server) = connected(config, Config::default()).await;
    let server = echo(server);
    // The keepalive pong's payload counts the pings.
    let pongs = |ws: &WebSocket<TcpStream>| {
        ws.last_pong()
            .map_or(0, |p| u32::from_be_bytes(p.try_into().unwrap()))
    };
    let started = std::time::Instant::now();
    let mut cancelled = 0;
    while pongs(&client) < 3 {
        assert!(started.elapsed() < Duration::from_secs(20), "no third pong");
        let waited = compio::time::timeout(Duration::from_millis(110), client.next()).await;
        assert!(waited.is_err(), "nothing arrives: {waited:?}");
        cancelled += 1;
    }
    // Three pings take 300 ms: several calls were cut short meanwhile.
    assert!(cancelled >= 2, "{cancelled} calls cut short");
    assert_echoed(&mut client, Message::Text("still open".into())).await;
    client.close().await.unwrap();
    assert!(server.await.unwrap().1.is_none());
}

#[compio::test]
async fn the_keepalive_timeout_fails_a_silent_peer() {
    let config = keepalive(Duration::from_millis(100), Duration::from_millis(200));
    // Before the connection's clock starts.
    let started = std::time::Instant::now();
    // The server never reads: the ping at 100 ms goes unanswered.
    let (mut client, mut server) = connected(config, Config::default()).await;
    let err = failure(&mut client).await;
    assert!(
        matches!(err, Error::Protocol(ProtocolError::KeepaliveTimeout)),
        "{err}"
    );
    // The connection's clock counts whole milliseconds.
    assert!(started.elapsed() >= Duration::from_millis(299));
    assert!(client.next().await.is_none());
    // The server finds the ping, then the client's 1011 close.
    assert!(server.next().await.is_none());
    assert_eq!(server.close_info().unwrap().code, CloseCode::INTERNAL_ERROR);
}

#[compio::test]
async fn a_refusal_reaches_both_sides() {
    let (client, server) = handshake(ClientRequest::new("localhost", "/admin"), |request| {
        assert_eq!(request.path(), "/admin");
        Err(Reject {
            headers: vec![("WWW-Authenticate".into(), "Basic".into())],
            body: b"who are you?".to_vec(),
            ..Reject::new(401)
        })
    })
    .await;
    let err = client.unwrap_err();
    let status = HandshakeError::UnexpectedStatus(401);
    assert!(matches!(&err, Error::Handshake(e) if *e == status), "{err}");
    assert_eq!(err.http_status(), Some(401));
    let refused = server.unwrap_err();
    assert!(matches!(refused, Error::Rejected(401)), "{refused}");
}

#[compio::test]
async fn the_server_picks_a_subprotocol() {
    let request = ClientRequest {
        subprotocols: &["chat.v1", "chat.v2"],
        ..ClientRequest::new("localhost", "/")
    };
    let (client, server) = handshake(request, |request| {
        let subprotocol = request.subprotocols().find(|p| *p == "chat.v2");
        Ok(AcceptOptions {
            subprotocol,
            ..AcceptOptions::default()
        })
    })
    .await;
    assert_eq!(client.unwrap().subprotocol(), Some("chat.v2"));
    assert_eq!(server.unwrap().subprotocol(), Some("chat.v2"));
}

/// Accepting with an extension named would promise frames the connection cannot read: the
/// handshake is refused with 500 instead, and the server learns why.
#[compio::test]
async fn accept_options_naming_an_extension_are_refused() {
    let (client, server) = handshake(ClientRequest::new("localhost", "/"), |_| {
        let extensions = Some("x-custom");
        Ok(AcceptOptions {
            extensions,
            ..AcceptOptions::default()
        })
    })
    .await;
    let err = client.unwrap_err();
    assert_eq!(err.http_status(), Some(500), "{err}");
    let err = server.unwrap_err();
    let invalid = HandshakeError::InvalidArgument(Field::SecWebSocketExtensions);
    let usage = wsproto_uring::wsproto::connection::Error::Handshake(invalid);
    assert!(matches!(&err, Error::Usage(e) if *e == usage), "{err}");
}

#[compio::test]
async fn a_vanished_peer_is_an_abnormal_close() {
    let (mut client, server) = connected(Config::default(), Config::default()).await;
    drop(server);
    let err = failure(&mut client).await;
    assert!(
        matches!(err, Error::Protocol(ProtocolError::UnexpectedEof)),
        "{err}"
    );
    assert!(client.next().await.is_none(), "after the failure, the end");
    let info = client.close_info().unwrap();
    assert_eq!((info.clean, info.code), (false, CloseCode::ABNORMAL));
}

#[cfg(feature = "deflate")]
#[compio::test]
async fn permessage_deflate_round_trip() {
    let options = Options::with_deflate(large(8 << 20));
    let (mut client, server) = connected(options, options).await;
    assert!(client.deflate_params().is_some());
    assert!(server.deflate_params().is_some());
    let server = echo(server);
    let text = "the same words again and again, ".repeat(10_000);
    for message in [
        Message::Text(text),
        Message::Binary(vec![0; 1 << 20]),
        Message::Binary(bytes(1000)),
        Message::Text(String::new()),
    ] {
        assert_echoed(&mut client, message).await;
    }
    client.close().await.unwrap();
    let (server, failure) = server.await.unwrap();
    assert!(failure.is_none(), "{failure:?}");
    assert!(server.close_info().unwrap().clean);
}

#[cfg(feature = "deflate")]
#[compio::test]
async fn no_compression_without_both_sides() {
    let (client, server) =
        connected(Options::with_deflate(Config::default()), Config::default()).await;
    assert_eq!(client.deflate_params(), None);
    assert_eq!(server.deflate_params(), None);
}

/// A runtime whose buffer ring has a single buffer: reads of several connections that complete
/// together find it taken (ENOBUFS) and are submitted again, losing nothing.
#[test]
fn reads_wait_for_a_free_buffer_of_the_ring() {
    let mut proactor = compio::driver::ProactorBuilder::new();
    proactor.buffer_pool_size(std::num::NonZeroU16::MIN);
    let runtime = compio::runtime::RuntimeBuilder::new()
        .with_proactor(proactor)
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut pairs = Vec::new();
        for _ in 0..8 {
            let (client, server) = connected(Config::default(), Config::default()).await;
            pairs.push((client, echo(server)));
        }
        let clients = pairs.into_iter().map(|(mut client, server)| {
            compio::runtime::spawn(async move {
                for i in 0..50u32 {
                    let message = Message::Binary(bytes(1000 + i as usize * 100));
                    assert_echoed(&mut client, message).await;
                }
                client.close().await.unwrap();
                assert!(server.await.unwrap().1.is_none());
            })
        });
        let all = async {
            for client in clients.collect::<Vec<_>>() {
                client.await.unwrap();
            }
        };
        compio::time::timeout(Duration::from_secs(30), all)
            .await
            .expect("the echoes did not finish within 30 s");
    });
}
