//! `connect_url` over plain TCP on 127.0.0.1, its URL and timeout errors, shared message
//! payloads, and the receive limit: its default, its edge and the error that names it.

use std::io;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use wsproto_tokio::{
    Accept, Bytes, ClientBuilder, ClientRequest, CloseCode, Config, DEFAULT_MAX_MESSAGE_SIZE,
    Error, MaybeTlsStream, Message, Options, OsEntropy, ProtocolError, UrlError, Utf8Bytes,
};

const LIMIT: Duration = Duration::from_secs(10);

/// A server on 127.0.0.1 that accepts one connection with `options`, checks its request with
/// `check` and echoes until the client closes.
async fn echo_server<F>(options: Options, check: F) -> (u16, tokio::task::JoinHandle<()>)
where
    F: FnOnce(&wsproto_tokio::Request<'_>) -> Accept + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = wsproto_tokio::accept(tcp, options, |req| Ok(check(req)))
            .await
            .unwrap();
        while let Some(Ok(message)) = ws.next().await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    });
    (port, server)
}

#[tokio::test]
async fn connect_url_over_tcp_with_a_path_and_query() {
    let (port, server) = echo_server(Options::default(), |req| {
        assert_eq!(req.path(), "/chat?room=1&x");
        // The port is not the default, so the Host header carries it.
        assert!(req.host().starts_with("127.0.0.1:"), "{}", req.host());
        Accept::new()
    })
    .await;
    let url = format!("ws://127.0.0.1:{port}/chat?room=1&x");
    // The future owns its URL and is `Send + 'static`: it can be spawned.
    let connecting = tokio::spawn(wsproto_tokio::connect_url(&url));
    drop(url);
    let mut ws = tokio::time::timeout(LIMIT, connecting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(ws.get_ref(), MaybeTlsStream::Plain(_)));
    assert_eq!(ws.get_ref().tcp().peer_addr().unwrap().port(), port);
    // permessage-deflate is offered by default, and the default server accepts it.
    assert!(ws.deflate_params().is_some());
    let long = "compress me ".repeat(1000);
    ws.send(Message::from(long.as_str())).await.unwrap();
    ws.send(Message::from(vec![1, 2, 3])).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::from(long));
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::from(vec![1, 2, 3])
    );
    ws.close().await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn client_builder_sends_subprotocols_headers_and_origin() {
    let (port, server) = echo_server(Options::default(), |req| {
        assert_eq!(req.header("Authorization"), Some(&b"Bearer t0k3n"[..]));
        assert_eq!(req.origin(), Some("https://app.example"));
        let chosen = req
            .subprotocols()
            .find(|p| *p == "chat.v1")
            .map(String::from);
        Accept::new().with_subprotocol(chosen)
    })
    .await;
    let ws = ClientBuilder::new()
        .options(Config::default())
        .subprotocols(["chat.v2", "chat.v1"])
        .header("Authorization", "Bearer t0k3n")
        .origin("https://app.example")
        .connect(&format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap();
    assert_eq!(ws.subprotocol(), Some("chat.v1"));
    // A plain `Config` offers no compression.
    assert!(ws.deflate_params().is_none());
    drop(ws);
    server.await.unwrap();
}

fn url_error(err: Error) -> UrlError {
    let Error::Io(err) = err else { panic!("{err}") };
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    *err.get_ref().unwrap().downcast_ref::<UrlError>().unwrap()
}

#[tokio::test]
async fn bad_urls_are_refused_before_connecting() {
    for (url, expected) in [
        ("http://127.0.0.1:1/", UrlError::Scheme),
        ("ws://user:secret@127.0.0.1:1/", UrlError::UserInfo),
        ("ws://127.0.0.1:1/#top", UrlError::Fragment),
        ("ws://127.0.0.1:0/", UrlError::Port),
        ("ws://[::1/", UrlError::Host),
        ("ws://127.0.0.1:1/a b", UrlError::Path),
    ] {
        let err = wsproto_tokio::connect_url(url).await.unwrap_err();
        assert!(err.to_string().contains("URL"), "{err}");
        assert_eq!(url_error(err), expected, "{url}");
    }
}

#[cfg(not(feature = "rustls"))]
#[tokio::test]
async fn wss_without_the_rustls_feature_says_which_feature() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let err = wsproto_tokio::connect_url(&format!("wss://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    let Error::Io(err) = err else { panic!("{err}") };
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    assert!(err.to_string().contains("`rustls`"), "{err}");
}

/// TCP connects, then nothing answers: the handshake timeout covers the whole connect.
#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        tokio::time::sleep(LIMIT).await;
        drop(tcp);
    });
    let options = Options {
        config: Config {
            handshake_timeout: Some(Duration::from_millis(300)),
            ..Options::DEFAULT.config
        },
        ..Options::default()
    };
    let start = Instant::now();
    let err = ClientBuilder::new()
        .options(options)
        .connect(&format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::HandshakeTimeout)),
        "{err}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    silent.abort();
}

#[test]
fn message_clones_share_their_payload() {
    let binary = Message::from(vec![7u8; 4096]);
    let text = Message::from("x".repeat(4096));
    for message in [binary, text] {
        let copies: Vec<Message> = (0..100).map(|_| message.clone()).collect();
        for copy in &copies {
            assert_eq!(copy.as_bytes().as_ptr(), message.as_bytes().as_ptr());
        }
    }
    // Text into `Bytes` (for an API that wants bytes) shares too.
    let text = Utf8Bytes::from("shared text");
    let bytes = Bytes::from(text.clone());
    assert_eq!(bytes.as_ptr(), text.as_ptr());
    assert_eq!(
        Message::Text(text).into_bytes(),
        Bytes::from_static(b"shared text")
    );
    // `&'static [u8]` is not copied at all.
    static PAYLOAD: [u8; 3] = [1, 2, 3];
    assert_eq!(
        Message::from(&PAYLOAD[..]).as_bytes().as_ptr(),
        PAYLOAD.as_ptr()
    );
}

/// One received message broadcast to many sockets: each gets the same buffer.
#[tokio::test]
async fn a_received_message_is_broadcast_without_copies() {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(wsproto_tokio::accept(server_io, Options::default(), |_| {
        Ok(Accept::new())
    }));
    let request = ClientRequest::new("localhost", "/");
    let mut client = wsproto_tokio::connect(
        client_io,
        &request,
        Options::default(),
        OsEntropy::new().unwrap(),
    )
    .await
    .unwrap();
    let mut server = server.await.unwrap().unwrap();
    client.send(Message::from(vec![9u8; 10_000])).await.unwrap();
    let received = server.next().await.unwrap().unwrap();
    let subscribers: Vec<Message> = (0..1000).map(|_| received.clone()).collect();
    assert!(
        subscribers
            .iter()
            .all(|m| m.as_bytes().as_ptr() == received.as_bytes().as_ptr())
    );
    let Message::Binary(bytes) = &received else {
        panic!()
    };
    assert_eq!(bytes.len(), 10_000);
}

/// A server with `options` and a client without compression, over a pipe.
async fn pair(
    options: Options,
) -> (
    wsproto_tokio::WebSocket<tokio::io::DuplexStream>,
    wsproto_tokio::WebSocket<tokio::io::DuplexStream>,
) {
    // Room for a whole over-limit message: the client's send completes whatever the server does.
    let (client_io, server_io) = tokio::io::duplex(20 << 20);
    let server = tokio::spawn(wsproto_tokio::accept(server_io, options, |_| {
        Ok(Accept::new())
    }));
    let request = ClientRequest::new("localhost", "/");
    let client_options = Options {
        config: Config {
            max_message_size: 64 << 20,
            max_frame_payload: 64 << 20,
            ..Config::DEFAULT
        },
        ..Options::default()
    };
    let client = wsproto_tokio::connect(
        client_io,
        &request,
        client_options,
        OsEntropy::new().unwrap(),
    )
    .await
    .unwrap();
    (client, server.await.unwrap().unwrap())
}

/// The default takes a message of exactly 16 MiB and refuses one byte more with 1009, naming
/// the limit and its value.
#[tokio::test]
async fn the_default_limit_at_its_edge() {
    assert_eq!(DEFAULT_MAX_MESSAGE_SIZE, 16 << 20);
    assert_eq!(Options::default().config.max_message_size, 16 << 20);
    assert_eq!(Options::default().config.frame_limit(), 16 << 20);
    // Without compression, so that the sizes on the wire are the sizes.
    let options = Options {
        deflate: None,
        ..Options::default()
    };
    let size = usize::try_from(DEFAULT_MAX_MESSAGE_SIZE).unwrap();
    let (mut client, mut server) = pair(options).await;
    let at_limit = Message::from(vec![1u8; size]);
    let (sent, received) = tokio::join!(client.send(at_limit), server.next());
    sent.unwrap();
    assert_eq!(received.unwrap().unwrap().len(), size);

    let (sent, received) = tokio::join!(
        client.send(Message::from(vec![1u8; size + 1])),
        server.next()
    );
    sent.unwrap();
    let err = received.unwrap().unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::Frame(_))),
        "{err}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains("16777217 bytes") && shown.contains("frame limit of 16777216 bytes"),
        "{shown}"
    );
    assert!(shown.contains("max_message_size"), "{shown}");
    let (end, closed) = tokio::join!(client.next(), server.close());
    assert!(end.is_none());
    closed.unwrap();
    assert_eq!(
        client.close_info().unwrap().code,
        CloseCode::MESSAGE_TOO_BIG
    );
}

/// With permessage-deflate a small frame can inflate past the limit: the error names
/// `max_message_size`.
#[tokio::test]
async fn an_inflated_message_over_the_limit_names_max_message_size() {
    let (mut client, mut server) = pair(Options::default().max_message_size(1000)).await;
    assert!(server.deflate_params().is_some());
    let (sent, received) =
        tokio::join!(client.send(Message::from("a".repeat(5000))), server.next());
    sent.unwrap();
    let err = received.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Protocol(ProtocolError::MessageTooBig { max: 1000, .. })
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("max_message_size = 1000 bytes"),
        "{err}"
    );
    assert!(client.next().await.is_none());
    assert_eq!(
        client.close_info().unwrap().code,
        CloseCode::MESSAGE_TOO_BIG
    );
}
