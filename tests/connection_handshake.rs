//! The connection's CONNECTING state: requests, responses, rejections, limits and the handshake
//! timer, seen through events, output bytes and states.

use core::time::Duration;

use wsproto::config::Config;
use wsproto::connection::{
    CloseInfo, Connection, DataKind, Error, Event, ProtocolError, ReadyState, Transmit,
};
use wsproto::entropy::Entropy;
use wsproto::handshake::{
    AcceptOptions, ClientRequest, HandshakeError, HeadLimits, Rejection, parse_request,
    write_accept,
};
use wsproto::time::Instant;

const T0: Instant = Instant::from_millis(0);

/// The RFC 6455 §1.2 request.
const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn server() -> Connection {
    Connection::server(Config::DEFAULT, T0).unwrap()
}

fn counter() -> impl Entropy + Clone {
    let mut n = 0u8;
    move |buf: &mut [u8]| {
        for b in buf {
            n = n.wrapping_add(1);
            *b = n;
        }
    }
}

fn drain<E: Entropy>(conn: &mut Connection<E>) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    let mut shutdown = false;
    let mut out = [0u8; 512];
    loop {
        match conn.poll_transmit(&mut out).unwrap() {
            Transmit::Bytes(n) => bytes.extend_from_slice(&out[..n]),
            Transmit::ShutdownWrite => shutdown = true,
            Transmit::Nothing => return (bytes, shutdown),
        }
    }
}

fn closed_with<E: Entropy>(conn: &mut Connection<E>, input: &mut [u8]) -> CloseInfo {
    match conn.receive(input, T0).event {
        Some(Event::Closed(info)) => info,
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[test]
fn server_accepts_and_processes_pipelined_frames_after_accept() {
    let mut server = server();
    assert_eq!(server.state(), ReadyState::Connecting);
    let mut input = REQUEST.to_vec();
    // A masked "Hi" that the client sent right behind its request.
    input.extend_from_slice(&[0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2]);
    let r = server.receive(&mut input, T0);
    let consumed = r.consumed;
    let Some(Event::Request(request)) = r.event else {
        panic!()
    };
    assert_eq!(
        (request.path(), request.host()),
        ("/chat", "server.example.com")
    );
    assert_eq!(
        request.subprotocols().collect::<Vec<_>>(),
        ["chat", "superchat"]
    );
    assert_eq!(consumed, REQUEST.len());
    // Until the application decides, frames wait.
    let r = server.receive(&mut input[consumed..], T0);
    assert_eq!((r.consumed, r.event.is_none()), (0, true));
    assert_eq!(
        server.send(DataKind::Text, b"x", true, &mut [0; 64]),
        Err(Error::InvalidState(ReadyState::Connecting))
    );

    let mut out = [0u8; 256];
    let n = server
        .accept(
            &AcceptOptions {
                subprotocol: Some("chat"),
                ..AcceptOptions::default()
            },
            &mut out,
        )
        .unwrap();
    // RFC 6455 §1.3's accept value.
    let response = std::str::from_utf8(&out[..n]).unwrap();
    assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert!(response.contains("Sec-WebSocket-Protocol: chat\r\n"));
    assert_eq!(server.state(), ReadyState::Open);
    assert_eq!(server.poll_timeout(), None, "the handshake timer stopped");
    let r = server.receive(&mut input[consumed..], T0);
    assert!(matches!(
        r.event,
        Some(Event::Data {
            chunk: b"Hi",
            message_fin: true,
            ..
        })
    ));
    assert_eq!(
        server.accept(&AcceptOptions::default(), &mut out),
        Err(Error::NoPendingHandshake)
    );
}

#[test]
fn malformed_request_gets_400_and_closes() {
    let mut server = server();
    let mut input = b"POST /chat HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    let info = closed_with(&mut server, &mut input);
    assert_eq!(
        info.error,
        Some(ProtocolError::Handshake(HandshakeError::MethodNotGet))
    );
    assert_eq!(server.state(), ReadyState::Closed);
    let (bytes, shutdown) = drain(&mut server);
    assert!(
        bytes.starts_with(b"HTTP/1.1 405 "),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(shutdown);

    let mut server = self::server();
    let mut input = REQUEST.to_vec();
    let at = input.windows(9).position(|w| w == b"Upgrade: ").unwrap();
    input[at..at + 18].copy_from_slice(b"Upgrade: websockex");
    let info = closed_with(&mut server, &mut input);
    assert_eq!(
        info.error,
        Some(ProtocolError::Handshake(
            HandshakeError::UpgradeNotWebSocket
        ))
    );
    let (bytes, _) = drain(&mut server);
    assert!(bytes.starts_with(b"HTTP/1.1 400 "));
}

#[test]
fn wrong_version_gets_426_naming_version_13() {
    let mut server = server();
    let mut input = String::from_utf8(REQUEST.to_vec())
        .unwrap()
        .replace("Version: 13", "Version: 8")
        .into_bytes();
    let info = closed_with(&mut server, &mut input);
    assert_eq!(
        info.error,
        Some(ProtocolError::Handshake(HandshakeError::UnsupportedVersion))
    );
    let (bytes, shutdown) = drain(&mut server);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with("HTTP/1.1 426 "), "{text}");
    assert!(text.contains("Sec-WebSocket-Version: 13\r\n"));
    assert!(shutdown);
}

#[test]
fn application_rejects_with_its_own_status() {
    let mut server = server();
    let mut input = REQUEST.to_vec();
    assert!(matches!(
        server.receive(&mut input, T0).event,
        Some(Event::Request(_))
    ));
    let mut out = [0u8; 256];
    let n = server
        .reject(
            &Rejection::new(403)
                .with_headers(&[("X-Reason", "origin")])
                .with_body(b"no"),
            &mut out,
        )
        .unwrap();
    let text = std::str::from_utf8(&out[..n]).unwrap();
    assert!(text.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{text}");
    assert!(text.contains("X-Reason: origin\r\n") && text.ends_with("\r\n\r\nno"));
    assert_eq!(server.state(), ReadyState::Closed);
    assert_eq!(drain(&mut server), (vec![], true));
    let info = closed_with(&mut server, &mut []);
    assert_eq!(info.error, Some(ProtocolError::Rejected(403)));
}

#[test]
fn handshake_timeout_when_the_request_never_completes() {
    let mut server = server();
    assert_eq!(server.poll_timeout(), Some(T0 + Duration::from_secs(10)));
    // One byte at a time, forever (well, for 9.9 s).
    let mut input = Vec::new();
    for (i, &b) in REQUEST[..40].iter().enumerate() {
        input.push(b);
        let r = server.receive(&mut input, Instant::from_millis(i as u64 * 100));
        assert!(r.event.is_none() && r.consumed == 0);
    }
    server.handle_timeout(Instant::from_millis(9_999));
    assert_eq!(server.state(), ReadyState::Connecting);
    server.handle_timeout(Instant::from_millis(10_000));
    assert_eq!(server.state(), ReadyState::Closed);
    assert_eq!(
        closed_with(&mut server, &mut []).error,
        Some(ProtocolError::HandshakeTimeout)
    );
    assert_eq!(drain(&mut server), (vec![], true));
}

#[test]
fn over_long_head_fails_as_soon_as_the_limit_is_crossed() {
    let config = Config {
        max_head_len: 256,
        ..Config::DEFAULT
    };
    let mut server = Connection::server(config, T0).unwrap();
    // A header value that never ends, fed a few bytes at a time up to 255 bytes.
    let mut input = b"GET / HTTP/1.1\r\nX: ".to_vec();
    while input.len() < 255 {
        input.push(b'a');
        let r = server.receive(&mut input, T0);
        assert!(r.event.is_none(), "{} bytes", input.len());
    }
    // 256 bytes and still no blank line: no head within the limit can come of it.
    input.push(b'a');
    let info = closed_with(&mut server, &mut input);
    assert_eq!(
        info.error,
        Some(ProtocolError::Handshake(HandshakeError::HeadTooLarge {
            limit: 256
        }))
    );
    let (bytes, _) = drain(&mut server);
    assert!(bytes.starts_with(b"HTTP/1.1 431 "));
}

#[test]
fn ten_thousand_headers_are_refused_at_the_header_limit() {
    let config = Config {
        max_head_len: 1 << 20,
        max_headers: 64,
        ..Config::DEFAULT
    };
    let mut server = Connection::server(config, T0).unwrap();
    let mut input = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..10_000 {
        input.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
    }
    input.extend_from_slice(b"\r\n");
    let info = closed_with(&mut server, &mut input);
    assert_eq!(
        info.error,
        Some(ProtocolError::Handshake(HandshakeError::TooManyHeaders {
            limit: 64
        }))
    );
}

/// A client connected to a scripted server: returns the client and the accept value the server
/// must answer with.
fn client_after_request(
    request: &ClientRequest<'_>,
) -> (Connection<impl Entropy + use<>>, [u8; 28]) {
    let mut client = Connection::client(Config::DEFAULT, counter(), T0).unwrap();
    let mut out = [0u8; 1024];
    let n = client.connect(request, T0, &mut out).unwrap();
    assert_eq!(
        client.connect(request, T0, &mut out),
        Err(Error::NoPendingHandshake)
    );
    let parsed = parse_request(&out[..n], &HeadLimits::DEFAULT)
        .unwrap()
        .unwrap();
    (client, parsed.accept_key())
}

fn response(accept: &[u8; 28], options: &AcceptOptions<'_>) -> Vec<u8> {
    let mut out = [0u8; 1024];
    let n = write_accept(accept, options, &mut out).unwrap();
    out[..n].to_vec()
}

#[test]
fn client_opens_and_reads_frames_behind_the_101() {
    let offered = ["chat", "superchat"];
    let (mut client, accept) = client_after_request(&ClientRequest {
        subprotocols: &offered,
        ..ClientRequest::new("h", "/")
    });
    assert_eq!(client.state(), ReadyState::Connecting);
    let mut input = response(
        &accept,
        &AcceptOptions {
            subprotocol: Some("superchat"),
            ..AcceptOptions::default()
        },
    );
    input.extend_from_slice(b"\x81\x02hi");
    // Fed in two parts: the head's end arrives with the frame.
    let split = input.len() - 5;
    let r = client.receive(&mut input[..split], T0);
    assert!(r.event.is_none() && r.consumed == 0);
    let r = client.receive(&mut input, T0);
    let consumed = r.consumed;
    let Some(Event::Accepted(response)) = r.event else {
        panic!()
    };
    assert_eq!(response.subprotocol(), Some("superchat"));
    assert_eq!(client.state(), ReadyState::Open);
    let r = client.receive(&mut input[consumed..], T0);
    assert!(matches!(r.event, Some(Event::Data { chunk: b"hi", .. })));
}

#[test]
fn client_fails_on_a_subprotocol_or_extension_it_did_not_offer() {
    let (mut client, accept) = client_after_request(&ClientRequest {
        subprotocols: &["chat"],
        ..ClientRequest::new("h", "/")
    });
    let mut input = response(
        &accept,
        &AcceptOptions {
            subprotocol: Some("superchat"),
            ..AcceptOptions::default()
        },
    );
    let info = closed_with(&mut client, &mut input);
    assert_eq!(
        info.error,
        Some(ProtocolError::Handshake(
            HandshakeError::UnexpectedSubprotocol
        ))
    );
    assert_eq!(
        drain(&mut client),
        (vec![], true),
        "a client sends nothing, it just closes"
    );

    let (mut client, accept) = client_after_request(&ClientRequest::new("h", "/"));
    let mut input = response(
        &accept,
        &AcceptOptions {
            extensions: Some("permessage-deflate"),
            ..AcceptOptions::default()
        },
    );
    let info = closed_with(&mut client, &mut input);
    assert_eq!(
        info.error,
        Some(ProtocolError::Handshake(
            HandshakeError::UnexpectedExtension
        ))
    );
}

#[test]
fn client_reports_a_non_101_status_and_a_wrong_accept() {
    let (mut client, _) = client_after_request(&ClientRequest::new("h", "/"));
    let mut input = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".to_vec();
    let info = closed_with(&mut client, &mut input);
    assert_eq!(
        info.error,
        Some(ProtocolError::Handshake(HandshakeError::UnexpectedStatus(
            401
        )))
    );
    assert_eq!(client.state(), ReadyState::Closed);

    let (mut client, mut accept) = client_after_request(&ClientRequest::new("h", "/"));
    accept[0] ^= 1;
    let mut input = response(&accept, &AcceptOptions::default());
    let info = closed_with(&mut client, &mut input);
    assert_eq!(
        info.error,
        Some(ProtocolError::Handshake(HandshakeError::AcceptMismatch))
    );
}

#[test]
fn client_misuse_is_an_error_that_changes_nothing() {
    let mut client = Connection::client(Config::DEFAULT, counter(), T0).unwrap();
    let mut out = [0u8; 1024];
    let nine = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    let request = ClientRequest {
        subprotocols: &nine,
        ..ClientRequest::new("h", "/")
    };
    assert_eq!(
        client.connect(&request, T0, &mut out),
        Err(Error::TooManyOffers)
    );
    let mut tiny = [0u8; 10];
    assert!(matches!(
        client.connect(&ClientRequest::new("h", "/"), T0, &mut tiny),
        Err(Error::BufferTooSmall { .. })
    ));
    assert_eq!(
        client.accept(&AcceptOptions::default(), &mut out),
        Err(Error::NoPendingHandshake)
    );
    assert_eq!(client.poll_timeout(), None, "no timer before connect");
    assert!(
        client
            .connect(&ClientRequest::new("h", "/"), T0, &mut out)
            .is_ok()
    );
    assert_eq!(client.poll_timeout(), Some(T0 + Duration::from_secs(10)));
}

#[test]
fn config_is_validated() {
    let config = Config {
        max_head_len: 100,
        ..Config::DEFAULT
    };
    assert!(matches!(
        Connection::server(config, T0),
        Err(Error::Config(_))
    ));
}
