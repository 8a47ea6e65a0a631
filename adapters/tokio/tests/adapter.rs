//! The tokio adapter against itself, over `tokio::io::duplex` and TCP on 127.0.0.1.

use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use wsproto_test_support::setup::{close_timeout, entropy, keepalive, large};
use wsproto_tokio::{
    Accept, ClientRequest, CloseCode, Config, Error, HandshakeError, Message, ProtocolError,
    ReadyState, Reject, Sink, WebSocket,
};

mod support;

use support::assert_ping_answered;

async fn pair_with<S>(
    client_io: S,
    server_io: S,
    client: Config,
    server: Config,
) -> (WebSocket<S>, WebSocket<S>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let server = tokio::spawn(async move {
        wsproto_tokio::accept(server_io, server, |_| Ok(Accept::default()))
            .await
            .unwrap()
    });
    let request = ClientRequest::new("localhost", "/");
    let client = wsproto_tokio::connect(client_io, &request, client, entropy())
        .await
        .unwrap();
    (client, server.await.unwrap())
}

async fn pair(
    client: Config,
    server: Config,
) -> (WebSocket<DuplexStream>, WebSocket<DuplexStream>) {
    let (a, b) = tokio::io::duplex(64 * 1024);
    pair_with(a, b, client, server).await
}

/// Echoes every message until the stream ends; returns how it ended.
fn spawn_echo<S>(mut ws: WebSocket<S>) -> tokio::task::JoinHandle<(WebSocket<S>, Option<Error>)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        while let Some(message) = ws.next().await {
            match message {
                Ok(message) => {
                    if let Err(err) = ws.send(message).await {
                        return (ws, Some(err));
                    }
                }
                Err(err) => return (ws, Some(err)),
            }
        }
        (ws, None)
    })
}

/// A connected client, and its server echoing (see [`spawn_echo`]).
async fn echoing(
    client: Config,
    server: Config,
) -> (
    WebSocket<DuplexStream>,
    tokio::task::JoinHandle<(WebSocket<DuplexStream>, Option<Error>)>,
) {
    let (client, server) = pair(client, server).await;
    (client, spawn_echo(server))
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn messages_both_ways_and_close_initiated_by_the_client() {
    let (mut client, echo) = echoing(large(8 << 20), large(8 << 20)).await;
    for len in [0, 1, 125, 126, 65535, 65536, 4 << 20] {
        let bytes = payload(len);
        client.send(Message::from(bytes.clone())).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), Message::from(bytes));
        let text = "ü".repeat(len / 2);
        client.send(Message::from(text.clone())).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), Message::from(text));
    }
    let info = client
        .close_with(CloseCode(4000), "client done")
        .await
        .unwrap();
    assert!(info.clean);
    assert_eq!(info.code, CloseCode(4000));
    assert_eq!(client.state(), ReadyState::Closed);
    let (server, err) = echo.await.unwrap();
    assert!(err.is_none(), "{err:?}");
    let info = server.close_info().unwrap();
    assert!(info.clean);
    assert_eq!(
        (info.code, server.close_reason()),
        (CloseCode(4000), "client done")
    );
}

#[tokio::test]
async fn close_initiated_by_the_server() {
    let (mut client, mut server) = pair(Config::default(), Config::default()).await;
    let closer = tokio::spawn(async move {
        server.send("bye soon".into()).await.unwrap();
        let info = server
            .close_with(CloseCode::GOING_AWAY, "restarting")
            .await
            .unwrap();
        (server, info)
    });
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::Text("bye soon".into())
    );
    assert!(
        client.next().await.is_none(),
        "a clean close ends the stream"
    );
    let info = client.close_info().unwrap();
    assert!(info.clean);
    assert_eq!(
        (info.code, client.close_reason()),
        (CloseCode::GOING_AWAY, "restarting")
    );
    assert!(matches!(
        client.send("late".into()).await,
        Err(Error::Closed(_))
    ));
    let (server, info) = closer.await.unwrap();
    assert!(info.clean);
    assert_eq!(server.state(), ReadyState::Closed);
}

#[tokio::test]
async fn sink_close_runs_the_closing_handshake() {
    let (mut client, echo) = echoing(Config::default(), Config::default()).await;
    client.send(Message::from(vec![1, 2, 3])).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::from(vec![1, 2, 3])
    );
    SinkExt::close(&mut client).await.unwrap();
    assert_eq!(client.close_info().unwrap().code, CloseCode::NORMAL);
    let (server, _) = echo.await.unwrap();
    assert!(server.close_info().unwrap().clean);
}

#[tokio::test]
async fn split_halves_work_concurrently() {
    let (client, echo) = echoing(Config::default(), Config::default()).await;
    let (mut tx, mut rx) = client.split();
    let writer = tokio::spawn(async move {
        for i in 0..100u32 {
            tx.send(Message::from(i.to_string())).await.unwrap();
        }
        tx
    });
    for i in 0..100u32 {
        assert_eq!(
            rx.next().await.unwrap().unwrap(),
            Message::from(i.to_string())
        );
    }
    let mut client = writer.await.unwrap().reunite(rx).unwrap();
    client.close_with(CloseCode::NORMAL, "").await.unwrap();
    echo.await.unwrap();
}

#[tokio::test]
async fn backpressure_with_a_stalled_reader() {
    // A small pipe, and a server that does not read.
    let (a, b) = tokio::io::duplex(4096);
    let (mut client, mut server) = pair_with(a, b, Config::default(), Config::default()).await;
    client.set_high_water_mark(16 * 1024);
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let chunk = Message::from(vec![7; 4096]);
    let mut queued = 0;
    loop {
        match std::pin::Pin::new(&mut client).poll_ready(&mut cx) {
            Poll::Ready(Ok(())) => {
                std::pin::Pin::new(&mut client)
                    .start_send(chunk.clone())
                    .unwrap();
                queued += 1;
                assert!(queued < 100, "poll_ready never pushed back");
            }
            Poll::Ready(Err(err)) => panic!("{err}"),
            Poll::Pending => break,
        }
    }
    let buffered = client.buffered_amount();
    assert!(buffered > 16 * 1024, "buffered_amount = {buffered}");
    assert!(buffered < queued * 4100, "the pipe took some: {buffered}");
    // Still pending while nobody reads.
    assert!(
        std::pin::Pin::new(&mut client)
            .poll_ready(&mut cx)
            .is_pending()
    );
    // The reader wakes up: everything drains.
    let reader = tokio::spawn(async move {
        for _ in 0..queued {
            assert_eq!(server.next().await.unwrap().unwrap().len(), 4096);
        }
        server
    });
    client.flush().await.unwrap();
    assert_eq!(client.buffered_amount(), 0);
    let server = reader.await.unwrap();
    drop(server);
}

#[tokio::test(start_paused = true)]
async fn keepalive_pings_are_answered() {
    let config = keepalive(Duration::from_secs(10), Duration::from_secs(5));
    let (mut client, echo) = echoing(config, Config::default()).await;
    // 35 s of virtual time: three keepalive pings, each answered by the server's reader.
    let start = tokio::time::Instant::now();
    let waited = tokio::time::timeout(Duration::from_secs(35), client.next()).await;
    assert!(waited.is_err(), "no message and no failure: {waited:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(35));
    assert_eq!(client.state(), ReadyState::Open);
    assert_eq!(client.last_pong(), Some(&3u32.to_be_bytes()[..]));
    client.close_with(CloseCode::NORMAL, "").await.unwrap();
    echo.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn keepalive_timeout_fires_when_the_peer_is_silent() {
    let config = keepalive(Duration::from_secs(10), Duration::from_secs(5));
    let (mut client, mut server) = pair(config, Config::default()).await;
    let start = tokio::time::Instant::now();
    // The server does not read: the ping at 10 s goes unanswered, the deadline is 15 s.
    let err = client.next().await.unwrap().unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::KeepaliveTimeout)),
        "{err}"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(15));
    assert!(client.next().await.is_none());
    // The server finds the ping and the client's 1011 close.
    assert!(server.next().await.is_none());
    assert_eq!(server.close_info().unwrap().code, CloseCode::INTERNAL_ERROR);
}

#[tokio::test(start_paused = true)]
async fn close_timeout_fires_when_the_peer_never_answers() {
    let config = close_timeout(Duration::from_secs(3));
    let (mut client, _server) = pair(config, Config::default()).await;
    let start = tokio::time::Instant::now();
    let err = client.close_with(CloseCode::NORMAL, "").await.unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::CloseTimeout)),
        "{err}"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

#[tokio::test]
async fn rejection_and_subprotocol_negotiation() {
    let (a, b) = tokio::io::duplex(4096);
    let server = tokio::spawn(wsproto_tokio::accept(b, Config::default(), |req| {
        assert_eq!(req.path(), "/private");
        Err(Reject::new(401))
    }));
    let request = ClientRequest::new("localhost", "/private");
    let err = wsproto_tokio::connect(a, &request, Config::default(), entropy())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Handshake(HandshakeError::UnexpectedStatus(401))
    ));
    assert_eq!(err.http_status(), Some(401));
    assert!(matches!(server.await.unwrap(), Err(Error::Rejected(401))));

    // The server picks from its own runtime list, in its order of preference, and adds a
    // header built for this connection: owned strings, which the core's borrowed
    // `AcceptOptions` could not carry out of the decision (E0597, E0515 in issue 17).
    let supported: Vec<String> = vec!["v3".to_owned(), "v2".to_owned(), "v1".to_owned()];
    let session = format!("session={}", 40 + 2);
    let (mut a, b) = tokio::io::duplex(4096);
    let server = tokio::spawn(wsproto_tokio::accept(b, Config::default(), move |req| {
        let chosen = supported
            .iter()
            .find(|ours| req.subprotocols().any(|offer| offer == ours.as_str()));
        Ok(Accept::new()
            .with_subprotocol(chosen.cloned())
            .with_header("Set-Cookie", session))
    }));
    // A raw client, to see the response's headers.
    a.write_all(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
          Sec-WebSocket-Protocol: v1, v2\r\n\r\n",
    )
    .await
    .unwrap();
    let server = server.await.unwrap().unwrap();
    assert_eq!(server.subprotocol(), Some("v2"));
    let mut response = vec![0; 1024];
    let n = a.read(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response[..n]);
    assert!(response.starts_with("HTTP/1.1 101 "), "{response}");
    assert!(
        response.contains("\r\nSec-WebSocket-Protocol: v2\r\n"),
        "{response}"
    );
    assert!(
        response.ends_with("\r\nSet-Cookie: session=42\r\n\r\n"),
        "{response}"
    );

    // The adapter's own client agrees on the same subprotocol.
    let (a, b) = tokio::io::duplex(4096);
    let server = tokio::spawn(wsproto_tokio::accept(b, Config::default(), |req| {
        let chosen = req.subprotocols().find(|p| *p == "v2").map(String::from);
        Ok(Accept::new().with_subprotocol(chosen))
    }));
    let request = ClientRequest {
        subprotocols: &["v1", "v2"],
        ..ClientRequest::new("localhost", "/")
    };
    let client = wsproto_tokio::connect(a, &request, Config::default(), entropy())
        .await
        .unwrap();
    assert_eq!(client.subprotocol(), Some("v2"));
    assert_eq!(server.await.unwrap().unwrap().subprotocol(), Some("v2"));
}

/// An acceptance the core refuses (a header the handshake writes itself) is answered with 500,
/// and the server learns why.
#[tokio::test]
async fn an_invalid_acceptance_is_answered_with_500() {
    let (a, b) = tokio::io::duplex(4096);
    let server = tokio::spawn(wsproto_tokio::accept(b, Config::default(), |_| {
        Ok(Accept::new().with_header("Sec-WebSocket-Accept", "forged"))
    }));
    let request = ClientRequest::new("localhost", "/");
    let err = wsproto_tokio::connect(a, &request, Config::default(), entropy())
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(500), "{err}");
    let err = server.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Usage(wsproto::connection::Error::Handshake(
                HandshakeError::ReservedHeader { .. }
            ))
        ),
        "{err}"
    );
}

#[tokio::test]
async fn ping_is_answered_with_a_pong() {
    let (mut client, echo) = echoing(Config::default(), Config::default()).await;
    assert_ping_answered(&mut client, b"are you there").await;
    client.close_with(CloseCode::NORMAL, "").await.unwrap();
    echo.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tcp_on_localhost() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let ws = wsproto_tokio::accept(stream, large(8 << 20), |_| Ok(Accept::default()))
            .await
            .unwrap();
        spawn_echo(ws).await.unwrap()
    });
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = ClientRequest::new("localhost", "/");
    let mut client = wsproto_tokio::connect(stream, &request, large(8 << 20), entropy())
        .await
        .unwrap();
    for len in [0, 125, 126, 65536, 4 << 20] {
        let bytes = payload(len);
        client.send(Message::from(bytes.clone())).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), Message::from(bytes));
    }
    let info = client
        .close_with(CloseCode::NORMAL, "tcp done")
        .await
        .unwrap();
    assert!(info.clean);
    let (server, err) = server.await.unwrap();
    assert!(err.is_none());
    assert_eq!(server.close_reason(), "tcp done");
}

#[tokio::test]
async fn peer_vanishing_is_an_abnormal_close() {
    let (mut client, server) = pair(Config::default(), Config::default()).await;
    drop(server);
    let err = client.next().await.unwrap().unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::UnexpectedEof)),
        "{err}"
    );
    assert!(client.next().await.is_none());
    assert_eq!(client.close_info().unwrap().code, CloseCode::ABNORMAL);
}
