//! The blocking adapter over real TCP sockets on 127.0.0.1, a client and a server thread each.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use wsproto_blocking::{
    AcceptOptions, ClientRequest, CloseCode, Config, Error, HandshakeError, Message, Plain,
    ProtocolError, ReadyState, Reject, WebSocket,
};
use wsproto_test_support::setup::{close_timeout, entropy, keepalive, large};

/// Runs `server` on an accepted connection in a thread; returns the client's stream.
fn serve<T: Send + 'static>(
    server: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (TcpStream, thread::JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || server(listener.accept().unwrap().0));
    (TcpStream::connect(addr).unwrap(), handle)
}

fn accept_all(stream: TcpStream, config: Config) -> WebSocket<TcpStream> {
    WebSocket::accept(stream, config, |_| Ok(AcceptOptions::default())).unwrap()
}

fn connect(stream: TcpStream, config: Config) -> WebSocket<TcpStream> {
    WebSocket::connect(
        stream,
        &ClientRequest::new("localhost", "/"),
        config,
        entropy(),
    )
    .unwrap()
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn messages_of_every_size_class_echo_both_ways() {
    let sizes = [0, 1, 125, 126, 65535, 65536, 4 << 20];
    let (stream, server) = serve(move |stream| {
        let mut ws = accept_all(stream, large(8 << 20));
        loop {
            match ws.read_message() {
                Ok(message) => ws.send(message).unwrap(),
                Err(Error::Closed(info)) => return (info, ws.close_reason().to_owned()),
                Err(err) => panic!("server: {err}"),
            }
        }
    });
    let mut ws = connect(stream, large(8 << 20));
    assert_eq!(ws.state(), ReadyState::Open);
    for len in sizes {
        let bytes = payload(len);
        ws.send_binary(&bytes).unwrap();
        assert_eq!(ws.read_message().unwrap(), Message::Binary(bytes));
        let text = "é".repeat(len / 2);
        ws.send_text(&text).unwrap();
        assert_eq!(ws.read_message().unwrap(), Message::Text(text));
    }
    let info = ws.close(CloseCode::NORMAL, "done").unwrap();
    assert!(info.clean);
    assert_eq!(info.code, CloseCode::NORMAL);
    let (info, reason) = server.join().unwrap();
    assert!(info.clean);
    assert_eq!((info.code, reason.as_str()), (CloseCode::NORMAL, "done"));
}

#[test]
fn pings_are_answered_while_messages_flow() {
    let (stream, server) = serve(|stream| {
        let mut ws = accept_all(stream, Config::default());
        // The client's ping arrives before its text; the pong goes out with the reply.
        let message = ws.read_message().unwrap();
        ws.ping(b"server ping").unwrap();
        ws.send(message).unwrap();
        ws.read_message()
    });
    let mut ws = connect(stream, Config::default());
    ws.ping(b"client ping").unwrap();
    ws.send_text("after ping").unwrap();
    assert_eq!(
        ws.read_message().unwrap(),
        Message::Text("after ping".into())
    );
    assert_eq!(ws.last_pong(), Some(&b"client ping"[..]));
    ws.close(CloseCode::GOING_AWAY, "").unwrap();
    let Err(Error::Closed(info)) = server.join().unwrap() else {
        panic!("the server should see the close");
    };
    assert_eq!(info.code, CloseCode::GOING_AWAY);
}

#[test]
fn server_initiated_close_with_code_and_reason() {
    let (stream, server) = serve(|stream| {
        let mut ws = accept_all(stream, Config::default());
        ws.send_text("last words").unwrap();
        ws.close(CloseCode(4000), "server leaving").unwrap()
    });
    let mut ws = connect(stream, Config::default());
    assert_eq!(
        ws.read_message().unwrap(),
        Message::Text("last words".into())
    );
    let Err(Error::Closed(info)) = ws.read_message() else {
        panic!("the client should see the close");
    };
    let reason = ws.close_reason().to_owned();
    assert!(info.clean);
    assert_eq!(
        (info.code, reason.as_str()),
        (CloseCode(4000), "server leaving")
    );
    assert_eq!(ws.state(), ReadyState::Closed);
    assert!(matches!(ws.send_text("late"), Err(Error::Usage(_))));
    let server_info = server.join().unwrap();
    assert!(server_info.clean);
    assert_eq!(server_info.code, CloseCode(4000));
}

#[test]
fn rejection_carries_the_status_to_both_sides() {
    let (stream, server) = serve(|stream| {
        WebSocket::accept(stream, Config::default(), |req| {
            assert_eq!(req.path(), "/private");
            let mut reject = Reject::new(403);
            reject.body = b"go away".to_vec();
            Err(reject)
        })
        .map(|_| ())
    });
    let err = WebSocket::connect(
        stream,
        &ClientRequest::new("localhost", "/private"),
        Config::default(),
        entropy(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        Error::Handshake(HandshakeError::UnexpectedStatus(403))
    ));
    assert_eq!(err.http_status(), Some(403));
    let server_err = server.join().unwrap().unwrap_err();
    assert!(matches!(server_err, Error::Rejected(403)));
}

#[test]
fn subprotocol_is_negotiated() {
    let (stream, server) = serve(|stream| {
        let ws = WebSocket::accept(stream, Config::default(), |req| {
            let subprotocol = req.subprotocols().find(|p| *p == "chat.v2");
            Ok(AcceptOptions {
                subprotocol,
                ..AcceptOptions::default()
            })
        })
        .unwrap();
        ws.subprotocol().map(String::from)
    });
    let request = ClientRequest {
        subprotocols: &["chat.v1", "chat.v2"],
        ..ClientRequest::new("localhost", "/")
    };
    let ws = WebSocket::connect(stream, &request, Config::default(), entropy()).unwrap();
    assert_eq!(ws.subprotocol(), Some("chat.v2"));
    assert_eq!(server.join().unwrap().as_deref(), Some("chat.v2"));
}

#[test]
fn unanswered_close_times_out() {
    let config = close_timeout(Duration::from_millis(200));
    // The server completes the handshake, then neither reads nor answers.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let (stream, server) = serve(move |stream| {
        let ws = accept_all(stream, Config::default());
        done_rx.recv().unwrap();
        drop(ws);
    });
    let mut ws = connect(stream, config);
    let start = Instant::now();
    let err = ws.close(CloseCode::NORMAL, "").unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::CloseTimeout)),
        "{err}"
    );
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(150) && waited < Duration::from_secs(5));
    assert!(matches!(ws.read_message(), Err(Error::Closed(_))));
    done_tx.send(()).unwrap();
    server.join().unwrap();
}

#[test]
fn keepalive_pings_and_times_out_against_a_silent_peer() {
    let config = keepalive(Duration::from_millis(50), Duration::from_millis(100));
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let (stream, server) = serve(move |stream| {
        let mut ws = accept_all(stream, Config::default());
        done_rx.recv().unwrap();
        // The client's keepalive ping and its 1011 close are waiting in the socket.
        match ws.read_message() {
            Err(Error::Closed(info)) => info.code,
            other => panic!("{other:?}"),
        }
    });
    let mut ws = connect(stream, config);
    let err = ws.read_message().unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::KeepaliveTimeout)),
        "{err}"
    );
    done_tx.send(()).unwrap();
    assert_eq!(server.join().unwrap(), CloseCode::INTERNAL_ERROR);
}

#[test]
fn handshake_timeout_on_a_silent_client() {
    let config = Config {
        handshake_timeout: Some(Duration::from_millis(100)),
        ..Config::DEFAULT
    };
    let (_stream, server) = serve(move |stream| {
        WebSocket::accept(stream, config, |_| Ok(AcceptOptions::default())).map(|_| ())
    });
    let err = server.join().unwrap().unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::HandshakeTimeout)),
        "{err}"
    );
}

#[test]
fn malformed_request_is_answered_with_400() {
    let (mut stream, server) = serve(|stream| {
        WebSocket::accept(stream, Config::default(), |_| Ok(AcceptOptions::default())).map(|_| ())
    });
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    assert!(matches!(
        server.join().unwrap(),
        Err(Error::Handshake(HandshakeError::MissingHeader(_)))
    ));
}

#[test]
fn a_plain_stream_works_without_timeouts() {
    let (stream, server) = serve(|stream| {
        let mut ws = WebSocket::accept(Plain(stream), Config::default(), |_| {
            Ok(AcceptOptions::default())
        })
        .unwrap();
        let message = ws.read_message().unwrap();
        ws.send(message).unwrap();
        ws.read_message().unwrap_err()
    });
    let mut ws = WebSocket::connect(
        Plain(stream),
        &ClientRequest::new("localhost", "/"),
        Config::default(),
        entropy(),
    )
    .unwrap();
    ws.send_binary(b"\x00\x01").unwrap();
    assert_eq!(ws.read_message().unwrap(), Message::Binary(vec![0, 1]));
    // Without shutdown the server's TCP close comes when it drops the stream.
    assert!(ws.close(CloseCode::NORMAL, "").unwrap().clean);
    assert!(matches!(server.join().unwrap(), Error::Closed(_)));
}

#[test]
fn peer_vanishing_is_an_abnormal_close() {
    let (stream, server) = serve(|stream| drop(accept_all(stream, Config::default())));
    let mut ws = connect(stream, Config::default());
    server.join().unwrap();
    let err = ws.read_message().unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::UnexpectedEof)),
        "{err}"
    );
    let Err(Error::Closed(info)) = ws.read_message() else {
        panic!("closed for good");
    };
    assert_eq!(info.code, CloseCode::ABNORMAL);
}
