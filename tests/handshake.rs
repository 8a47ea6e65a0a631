//! The opening handshake's public API: the RFC 6455 examples byte for byte, one table row per error,
//! and properties (write → parse round trips, the same result however the head is split).

use proptest::prelude::*;
use wsproto::handshake::*;

const LIMITS: HeadLimits = HeadLimits::DEFAULT;

/// RFC 6455 §1.2 / §1.3: the client's handshake.
const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\
\r\n";

/// RFC 6455 §1.2: the server's handshake.
const RFC_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\
\r\n";

/// RFC 6455 §1.3: the key "dGhlIHNhbXBsZSBub25jZQ==" is base64 of these 16 bytes.
const RFC_NONCE: &[u8; 16] = b"the sample nonce";
const RFC_KEY: &[u8; 24] = b"dGhlIHNhbXBsZSBub25jZQ==";

fn rfc_client_request() -> ClientRequest<'static> {
    ClientRequest {
        origin: Some("http://example.com"),
        subprotocols: &["chat", "superchat"],
        ..ClientRequest::new("server.example.com", "/chat")
    }
}

// ----- RFC examples -----

#[test]
fn rfc_accept_key() {
    assert_eq!(&request_key(RFC_NONCE), RFC_KEY);
    assert_eq!(&accept_key(RFC_KEY), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(decode_key(RFC_KEY), Some(*RFC_NONCE));
}

#[test]
fn write_request_produces_the_rfc_request() {
    let mut out = [0u8; 512];
    let n = write_request(&rfc_client_request(), RFC_NONCE, &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        std::str::from_utf8(RFC_REQUEST).unwrap()
    );
}

#[test]
fn parse_request_accepts_the_rfc_request() {
    let mut buf = RFC_REQUEST.to_vec();
    buf.extend_from_slice(&[0x81, 0x85]); // the start of a first frame, not part of the head
    let req = parse_request(&buf, &LIMITS).unwrap().unwrap();
    assert_eq!(req.head_len(), RFC_REQUEST.len());
    assert_eq!(req.target(), "/chat");
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.host(), "server.example.com");
    assert_eq!(req.origin(), Some("http://example.com"));
    assert_eq!(req.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(&req.accept_key(), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert!(req.subprotocols().eq(["chat", "superchat"]));
    assert_eq!(req.extensions().count(), 0);
    assert_eq!(req.headers().count(), 7);
    assert_eq!(
        req.headers().nth(4),
        Some(("Origin", &b"http://example.com"[..]))
    );
    assert_eq!(req.header("sec-websocket-version"), Some(&b"13"[..]));
    assert_eq!(req.header("Cookie"), None);
}

#[test]
fn write_accept_produces_the_rfc_response() {
    let req = parse_request(RFC_REQUEST, &LIMITS).unwrap().unwrap();
    let opts = AcceptOptions {
        subprotocol: req.subprotocols().find(|p| *p == "chat"),
        ..AcceptOptions::new()
    };
    let mut out = [0u8; 512];
    let n = write_accept(&req.accept_key(), &opts, &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        std::str::from_utf8(RFC_RESPONSE).unwrap()
    );
}

#[test]
fn parse_response_accepts_the_rfc_response() {
    let mut buf = RFC_RESPONSE.to_vec();
    buf.extend_from_slice(&[0x81, 0x02, b'h', b'i']); // a first frame
    let resp = parse_response(&buf, RFC_KEY, &LIMITS).unwrap().unwrap();
    assert_eq!(resp.head_len(), RFC_RESPONSE.len());
    assert_eq!(&buf[resp.head_len()..], &[0x81, 0x02, b'h', b'i']);
    assert_eq!(resp.subprotocol(), Some("chat"));
    assert_eq!(resp.extensions().count(), 0);
    assert_eq!(resp.headers().count(), 4);
    assert_eq!(resp.header("UPGRADE"), Some(&b"websocket"[..]));
    assert_eq!(
        check_negotiation(&resp, &["chat", "superchat"], &[]),
        Ok(())
    );
    assert_eq!(
        check_negotiation(&resp, &["superchat"], &[]),
        Err(HandshakeError::UnexpectedSubprotocol)
    );
}

#[test]
fn rfc_examples_parse_incrementally_byte_by_byte() {
    let mut scanner = HeadScanner::new();
    for end in 0..RFC_REQUEST.len() {
        assert_eq!(
            scanner.parse_request(&RFC_REQUEST[..end], &LIMITS),
            Ok(None)
        );
    }
    let req = scanner
        .parse_request(RFC_REQUEST, &LIMITS)
        .unwrap()
        .unwrap();
    assert_eq!(req, parse_request(RFC_REQUEST, &LIMITS).unwrap().unwrap());

    let mut scanner = HeadScanner::new();
    for end in 0..RFC_RESPONSE.len() {
        assert_eq!(
            scanner.parse_response(&RFC_RESPONSE[..end], RFC_KEY, &LIMITS),
            Ok(None)
        );
    }
    assert!(
        scanner
            .parse_response(RFC_RESPONSE, RFC_KEY, &LIMITS)
            .unwrap()
            .is_some()
    );
}

#[test]
fn rfc_section_9_1_extension_examples() {
    let head = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: mux; max-channels=4; flow-control, deflate-stream\r\n\
Sec-WebSocket-Extensions: private-extension; q=\"a\\b\"\r\n\r\n";
    let req = parse_request(head, &LIMITS).unwrap().unwrap();
    let names: Vec<_> = req.extensions().map(|e| e.name()).collect();
    assert_eq!(names, ["mux", "deflate-stream", "private-extension"]);
    let mux = req.extensions().next().unwrap();
    let params: Vec<_> = mux
        .params()
        .map(|(name, value)| (name, value.map(|v| v.to_string())))
        .collect();
    assert_eq!(
        params,
        [
            ("max-channels", Some("4".to_string())),
            ("flow-control", None)
        ]
    );
    let private = req.extensions().nth(2).unwrap();
    let (name, value) = private.params().next().unwrap();
    assert_eq!(name, "q");
    assert_eq!(value.unwrap().to_string(), "ab");
}

#[test]
fn absolute_form_request_target() {
    let head = String::from_utf8(RFC_REQUEST.to_vec())
        .unwrap()
        .replace("GET /chat", "GET http://server.example.com/chat?room=1");
    let req = parse_request(head.as_bytes(), &LIMITS).unwrap().unwrap();
    assert_eq!(req.target(), "http://server.example.com/chat?room=1");
    assert_eq!(req.path(), "/chat?room=1");
}

// ----- the request, error by error -----

/// The RFC request with line `old` replaced by `new` (a line, several lines, or nothing).
fn request_with(old: &str, new: &str) -> String {
    let text = std::str::from_utf8(RFC_REQUEST).unwrap();
    let old = format!("{old}\r\n");
    assert!(text.contains(&old), "{old:?}");
    let new = if new.is_empty() {
        String::new()
    } else {
        format!("{new}\r\n")
    };
    text.replacen(&old, &new, 1)
}

const HOST: &str = "Host: server.example.com";
const UPGRADE: &str = "Upgrade: websocket";
const CONNECTION: &str = "Connection: Upgrade";
const KEY: &str = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";
const ORIGIN: &str = "Origin: http://example.com";
const PROTOCOL: &str = "Sec-WebSocket-Protocol: chat, superchat";
const VERSION: &str = "Sec-WebSocket-Version: 13";
const REQUEST_LINE: &str = "GET /chat HTTP/1.1";

#[test]
fn request_errors() {
    use HandshakeError::*;
    #[rustfmt::skip]
    let table: &[(&str, &str, HandshakeError)] = &[
        (REQUEST_LINE, "GET /chat", BadRequestLine),
        (REQUEST_LINE, "GET  /chat HTTP/1.1", BadRequestLine),
        (REQUEST_LINE, "GET /chat HTTP/1.1 ", BadRequestLine),
        (REQUEST_LINE, "GET /chat HTTP/1", BadRequestLine),
        (REQUEST_LINE, "G(T /chat HTTP/1.1", BadRequestLine),
        (REQUEST_LINE, "", BadRequestLine), // the Host line becomes the request line
        (REQUEST_LINE, "POST /chat HTTP/1.1", MethodNotGet),
        (REQUEST_LINE, "get /chat HTTP/1.1", MethodNotGet),
        (REQUEST_LINE, "GET /chat HTTP/1.0", HttpVersion),
        (REQUEST_LINE, "GET /chat HTTP/2.0", HttpVersion),
        (REQUEST_LINE, "GET chat HTTP/1.1", InvalidRequestTarget),
        (REQUEST_LINE, "GET * HTTP/1.1", InvalidRequestTarget),
        (REQUEST_LINE, "GET /chat#top HTTP/1.1", InvalidRequestTarget),
        (REQUEST_LINE, "GET ws://server.example.com/chat HTTP/1.1", InvalidRequestTarget),
        (REQUEST_LINE, "GET /caf\u{e9} HTTP/1.1", InvalidRequestTarget),
        (HOST, " Host: server.example.com", FoldedHeader { line: 2 }),
        (UPGRADE, "Upgrade: websocket\r\n  , foo", FoldedHeader { line: 4 }),
        (HOST, "Host server.example.com", MissingColon { line: 2 }),
        (HOST, "Ho(st: server.example.com", InvalidHeaderName { line: 2 }),
        (HOST, "H\u{f6}st: server.example.com", InvalidHeaderName { line: 2 }),
        (HOST, ": server.example.com", InvalidHeaderName { line: 2 }),
        (HOST, "Host : server.example.com", WhitespaceBeforeColon { line: 2 }),
        (HOST, "Host\t: server.example.com", WhitespaceBeforeColon { line: 2 }),
        (ORIGIN, "Origin: http://example.com\0", InvalidHeaderValue { line: 6 }),
        (ORIGIN, "Origin: http://\x1bexample.com", InvalidHeaderValue { line: 6 }),
        (HOST, "Host: a\r\nHost: b", DuplicateHeader(Field::Host)),
        (ORIGIN, "Origin: http://a\r\norigin: http://b", DuplicateHeader(Field::Origin)),
        (KEY, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", DuplicateHeader(Field::SecWebSocketKey)),
        (VERSION, "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13", DuplicateHeader(Field::SecWebSocketVersion)),
        (HOST, "", MissingHeader(Field::Host)),
        (UPGRADE, "", MissingHeader(Field::Upgrade)),
        (CONNECTION, "", MissingHeader(Field::Connection)),
        (VERSION, "", MissingHeader(Field::SecWebSocketVersion)),
        (KEY, "", MissingHeader(Field::SecWebSocketKey)),
        (UPGRADE, "Upgrade: h2c", UpgradeNotWebSocket),
        (UPGRADE, "Upgrade: websocket2", UpgradeNotWebSocket),
        (CONNECTION, "Connection: keep-alive", ConnectionNotUpgrade),
        (KEY, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=", InvalidKey),
        (KEY, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSE=", InvalidKey),
        (KEY, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==", InvalidKey),
        (KEY, "Sec-WebSocket-Key: ", InvalidKey),
        (VERSION, "Sec-WebSocket-Version: 8", UnsupportedVersion),
        (VERSION, "Sec-WebSocket-Version: 13, 8", UnsupportedVersion),
        (VERSION, "Sec-WebSocket-Version: 013", UnsupportedVersion),
        (HOST, "Host: server example.com", InvalidHost),
        (HOST, "Host:", InvalidHost),
        (HOST, "Host: caf\u{e9}.example", InvalidHost),
        (ORIGIN, "Origin:", InvalidOrigin),
        (ORIGIN, "Origin: http://caf\u{e9}.example", InvalidOrigin),
        (PROTOCOL, "Sec-WebSocket-Protocol: chat superchat", InvalidSubprotocol),
        (PROTOCOL, "Sec-WebSocket-Protocol: ", InvalidSubprotocol),
        (PROTOCOL, "Sec-WebSocket-Protocol: chat/1", InvalidSubprotocol),
        (PROTOCOL, "Sec-WebSocket-Extensions: a;", InvalidExtension),
        (PROTOCOL, "Sec-WebSocket-Extensions: a; b=\"c d\"", InvalidExtension),
        (PROTOCOL, "Sec-WebSocket-Extensions: ", InvalidExtension),
    ];
    for (old, new, expected) in table {
        let head = request_with(old, new);
        assert_eq!(
            parse_request(head.as_bytes(), &LIMITS),
            Err(*expected),
            "{head:?}"
        );
    }
}

#[test]
fn request_errors_on_line_endings_and_limits() {
    use HandshakeError::*;
    let text = std::str::from_utf8(RFC_REQUEST).unwrap();
    let bare_lf = text.replace("\r\n", "\n");
    assert_eq!(
        parse_request(bare_lf.as_bytes(), &LIMITS),
        Err(BareLf { offset: 18 })
    );
    let bare_cr = text.replacen("\r\n", "\r", 1);
    assert_eq!(
        parse_request(bare_cr.as_bytes(), &LIMITS),
        Err(BareCr { offset: 18 })
    );

    let small = HeadLimits {
        max_head_len: 64,
        max_headers: 64,
    };
    assert_eq!(
        parse_request(&RFC_REQUEST[..64], &small),
        Err(HeadTooLarge { limit: 64 })
    );
    assert_eq!(parse_request(&RFC_REQUEST[..63], &small), Ok(None));
    let few = HeadLimits {
        max_head_len: 8192,
        max_headers: 6,
    };
    assert_eq!(
        parse_request(RFC_REQUEST, &few),
        Err(TooManyHeaders { limit: 6 })
    );
    let exact = HeadLimits {
        max_head_len: RFC_REQUEST.len(),
        max_headers: 7,
    };
    assert!(parse_request(RFC_REQUEST, &exact).unwrap().is_some());
}

#[test]
fn request_lists_and_tokens_are_read_leniently_where_http_allows() {
    let head = request_with(UPGRADE, "upgrade: foo/2, WebSocket")
        .replace(CONNECTION, "Connection: keep-alive\r\nconnection: UPGRADE")
        .replace(
            PROTOCOL,
            "Sec-WebSocket-Protocol: chat,,\tsuperchat \r\nSEC-WEBSOCKET-PROTOCOL: v2",
        )
        .replace(KEY, "Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==\t");
    let req = parse_request(head.as_bytes(), &LIMITS).unwrap().unwrap();
    assert!(req.subprotocols().eq(["chat", "superchat", "v2"]));
    assert_eq!(req.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    // RFC 6455 §4.1 step 7 gives a key whose last character has non-zero unused bits.
    let head = request_with(KEY, "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEC==");
    assert!(parse_request(head.as_bytes(), &LIMITS).unwrap().is_some());
}

// ----- the response, error by error -----

fn response_with(old: &str, new: &str) -> String {
    let text = std::str::from_utf8(RFC_RESPONSE).unwrap();
    let old = format!("{old}\r\n");
    assert!(text.contains(&old), "{old:?}");
    let new = if new.is_empty() {
        String::new()
    } else {
        format!("{new}\r\n")
    };
    text.replacen(&old, &new, 1)
}

const STATUS_LINE: &str = "HTTP/1.1 101 Switching Protocols";
const ACCEPT: &str = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const SELECTED: &str = "Sec-WebSocket-Protocol: chat";

#[test]
fn response_errors() {
    use HandshakeError::*;
    #[rustfmt::skip]
    let table: &[(&str, &str, HandshakeError)] = &[
        (STATUS_LINE, "HTTP/1.1 101Switching Protocols", BadStatusLine),
        (STATUS_LINE, "HTTP/1.1  101 Switching Protocols", BadStatusLine),
        (STATUS_LINE, "HTTP/1.1 1O1 Switching Protocols", BadStatusLine),
        (STATUS_LINE, "HTTP/1.1 101 Switching\x01Protocols", BadStatusLine),
        (STATUS_LINE, "ICY 101 Switching Protocols", BadStatusLine),
        (STATUS_LINE, "HTTP/1.0 101 Switching Protocols", HttpVersion),
        (STATUS_LINE, "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic", UnexpectedStatus(401)),
        (STATUS_LINE, "HTTP/1.1 403 Forbidden\r\nbroken header line", UnexpectedStatus(403)),
        (STATUS_LINE, "HTTP/1.1 302 Found\r\nLocation: /elsewhere", UnexpectedStatus(302)),
        (STATUS_LINE, "HTTP/1.1 200 OK", UnexpectedStatus(200)),
        ("Upgrade: websocket", " Upgrade: websocket", FoldedHeader { line: 2 }),
        ("Upgrade: websocket", "Upgrade websocket", MissingColon { line: 2 }),
        ("Upgrade: websocket", "Upgrade : websocket", WhitespaceBeforeColon { line: 2 }),
        ("Upgrade: websocket", "Up grade: websocket", InvalidHeaderName { line: 2 }),
        ("Upgrade: websocket", "Upgrade: websocket\x7f", InvalidHeaderValue { line: 2 }),
        ("Upgrade: websocket", "", MissingHeader(Field::Upgrade)),
        ("Upgrade: websocket", "Upgrade: h2c", UpgradeNotWebSocket),
        ("Connection: Upgrade", "", MissingHeader(Field::Connection)),
        ("Connection: Upgrade", "Connection: close", ConnectionNotUpgrade),
        (ACCEPT, "", MissingHeader(Field::SecWebSocketAccept)),
        (ACCEPT, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", DuplicateHeader(Field::SecWebSocketAccept)),
        (ACCEPT, "Sec-WebSocket-Accept: S3pPLMBiTxaQ9kYGzzhZRbK+xOo=", AcceptMismatch),
        (ACCEPT, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo", AcceptMismatch),
        (SELECTED, "Sec-WebSocket-Protocol: chat, superchat", MultipleSubprotocols),
        (SELECTED, "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat", DuplicateHeader(Field::SecWebSocketProtocol)),
        (SELECTED, "Sec-WebSocket-Protocol: ", InvalidSubprotocol),
        (SELECTED, "Sec-WebSocket-Protocol: chat/1", InvalidSubprotocol),
        (SELECTED, "Sec-WebSocket-Extensions: x; y=", InvalidExtension),
    ];
    for (old, new, expected) in table {
        let head = response_with(old, new);
        assert_eq!(
            parse_response(head.as_bytes(), RFC_KEY, &LIMITS),
            Err(*expected),
            "{head:?}"
        );
    }
    assert_eq!(
        parse_response(RFC_RESPONSE, b"AQIDBAUGBwgJCgsMDQ4PEA==", &LIMITS),
        Err(AcceptMismatch)
    );
    let bare_lf = std::str::from_utf8(RFC_RESPONSE)
        .unwrap()
        .replace("\r\n", "\n");
    assert_eq!(
        parse_response(bare_lf.as_bytes(), RFC_KEY, &LIMITS),
        Err(BareLf { offset: 32 })
    );
}

#[test]
fn negotiation() {
    let head = response_with(
        SELECTED,
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\
         Sec-WebSocket-Extensions: x-foo",
    );
    let resp = parse_response(head.as_bytes(), RFC_KEY, &LIMITS)
        .unwrap()
        .unwrap();
    assert_eq!(resp.subprotocol(), None);
    let names: Vec<_> = resp.extensions().map(|e| e.name()).collect();
    assert_eq!(names, ["permessage-deflate", "x-foo"]);
    assert_eq!(
        check_negotiation(&resp, &[], &["x-foo", "permessage-deflate"]),
        Ok(())
    );
    assert_eq!(
        check_negotiation(&resp, &[], &["permessage-deflate"]),
        Err(HandshakeError::UnexpectedExtension)
    );
    let rfc = parse_response(RFC_RESPONSE, RFC_KEY, &LIMITS)
        .unwrap()
        .unwrap();
    assert_eq!(
        check_negotiation(&rfc, &[], &[]),
        Err(HandshakeError::UnexpectedSubprotocol)
    );
    assert_eq!(
        ExtensionOffer::parse("permessage-deflate; client_max_window_bits").map(|o| o.name()),
        Some("permessage-deflate")
    );
}

// ----- writers -----

#[test]
fn write_request_errors() {
    use HandshakeError::*;
    let ok = rfc_client_request();
    #[rustfmt::skip]
    let table: &[(ClientRequest<'_>, HandshakeError)] = &[
        (ClientRequest { path: "chat", ..ok }, InvalidPath),
        (ClientRequest { path: "", ..ok }, InvalidPath),
        (ClientRequest { path: "/a b", ..ok }, InvalidPath),
        (ClientRequest { path: "/a\r\nX: y", ..ok }, InvalidPath),
        (ClientRequest { path: "/a#b", ..ok }, InvalidPath),
        (ClientRequest { path: "/caf\u{e9}", ..ok }, InvalidPath),
        (ClientRequest { host: "", ..ok }, InvalidArgument(Field::Host)),
        (ClientRequest { host: "a b", ..ok }, InvalidArgument(Field::Host)),
        (ClientRequest { host: "a\r\n", ..ok }, InvalidArgument(Field::Host)),
        (ClientRequest { origin: Some(""), ..ok }, InvalidArgument(Field::Origin)),
        (ClientRequest { origin: Some("http://a\r\nX: y"), ..ok }, InvalidArgument(Field::Origin)),
        (ClientRequest { subprotocols: &["chat", ""], ..ok }, InvalidArgument(Field::SecWebSocketProtocol)),
        (ClientRequest { subprotocols: &["a,b"], ..ok }, InvalidArgument(Field::SecWebSocketProtocol)),
        (ClientRequest { extensions: &["a, b"], ..ok }, InvalidArgument(Field::SecWebSocketExtensions)),
        (ClientRequest { extensions: &["a;"], ..ok }, InvalidArgument(Field::SecWebSocketExtensions)),
        (ClientRequest { extensions: &[""], ..ok }, InvalidArgument(Field::SecWebSocketExtensions)),
        (ClientRequest { headers: &[("X-A", "1"), ("X B", "2")], ..ok }, ExtraHeaderName { index: 1 }),
        (ClientRequest { headers: &[("", "2")], ..ok }, ExtraHeaderName { index: 0 }),
        (ClientRequest { headers: &[("X-A", "1\r\nHost: evil")], ..ok }, ExtraHeaderValue { index: 0 }),
        (ClientRequest { headers: &[("X-A", "1\0")], ..ok }, ExtraHeaderValue { index: 0 }),
        (ClientRequest { headers: &[("X-A", "1"), ("host", "b")], ..ok }, ReservedHeader { index: 1 }),
        (ClientRequest { headers: &[("Connection", "close")], ..ok }, ReservedHeader { index: 0 }),
        (ClientRequest { headers: &[("Origin", "x")], ..ok }, ReservedHeader { index: 0 }),
        (ClientRequest { headers: &[("sec-websocket-accept", "x")], ..ok }, ReservedHeader { index: 0 }),
    ];
    for (req, expected) in table {
        let mut out = [0xAAu8; 1024];
        assert_eq!(
            write_request(req, RFC_NONCE, &mut out),
            Err(*expected),
            "{req:?}"
        );
        assert!(out.iter().all(|&b| b == 0xAA));
    }
    let allowed = ClientRequest {
        headers: &[
            ("Authorization", "Basic ZWRuYW1vZGU6bm9jYXBlcyE="),
            ("X-Note", "caf\u{e9}\tok"),
        ],
        ..ok
    };
    assert!(write_request(&allowed, RFC_NONCE, &mut [0u8; 1024]).is_ok());
}

#[test]
fn writers_report_the_exact_size_and_leave_the_buffer_unchanged() {
    let req = rfc_client_request();
    let mut out = vec![0x55u8; RFC_REQUEST.len() - 1];
    assert_eq!(
        write_request(&req, RFC_NONCE, &mut out),
        Err(HandshakeError::BufferTooSmall {
            needed: RFC_REQUEST.len()
        })
    );
    assert!(out.iter().all(|&b| b == 0x55));
    assert_eq!(
        write_request(&req, RFC_NONCE, &mut []),
        Err(HandshakeError::BufferTooSmall {
            needed: RFC_REQUEST.len()
        })
    );
    let mut out = vec![0u8; RFC_REQUEST.len()];
    assert_eq!(
        write_request(&req, RFC_NONCE, &mut out),
        Ok(RFC_REQUEST.len())
    );

    let opts = AcceptOptions {
        subprotocol: Some("chat"),
        ..AcceptOptions::new()
    };
    let accept = accept_key(RFC_KEY);
    let mut out = vec![0x55u8; RFC_RESPONSE.len() - 1];
    assert_eq!(
        write_accept(&accept, &opts, &mut out),
        Err(HandshakeError::BufferTooSmall {
            needed: RFC_RESPONSE.len()
        })
    );
    assert!(out.iter().all(|&b| b == 0x55));

    assert_eq!(
        write_reject(&Rejection::new(404).with_body(b"nope"), &mut [0u8; 10]),
        Err(HandshakeError::BufferTooSmall {
            needed: "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope".len()
        })
    );
    assert_eq!(
        write_error_response(&HandshakeError::InvalidKey, &mut [0u8; 10]),
        Err(HandshakeError::BufferTooSmall {
            needed: "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                .len()
        })
    );
}

#[test]
fn write_accept_errors_and_options() {
    use HandshakeError::*;
    let accept = accept_key(RFC_KEY);
    #[rustfmt::skip]
    let table: &[(AcceptOptions<'_>, HandshakeError)] = &[
        (AcceptOptions { subprotocol: Some(""), ..AcceptOptions::new() }, InvalidArgument(Field::SecWebSocketProtocol)),
        (AcceptOptions { subprotocol: Some("a b"), ..AcceptOptions::new() }, InvalidArgument(Field::SecWebSocketProtocol)),
        (AcceptOptions { extensions: Some(""), ..AcceptOptions::new() }, InvalidArgument(Field::SecWebSocketExtensions)),
        (AcceptOptions { extensions: Some("a;b=\r\n"), ..AcceptOptions::new() }, InvalidArgument(Field::SecWebSocketExtensions)),
        (AcceptOptions { headers: &[("Set Cookie", "a=b")], ..AcceptOptions::new() }, ExtraHeaderName { index: 0 }),
        (AcceptOptions { headers: &[("Set-Cookie", "a=b\n")], ..AcceptOptions::new() }, ExtraHeaderValue { index: 0 }),
        (AcceptOptions { headers: &[("Set-Cookie", "a=b"), ("Sec-WebSocket-Version", "13")], ..AcceptOptions::new() }, ReservedHeader { index: 1 }),
        (AcceptOptions { headers: &[("content-length", "0")], ..AcceptOptions::new() }, ReservedHeader { index: 0 }),
    ];
    for (opts, expected) in table {
        let mut out = [0xAAu8; 512];
        assert_eq!(
            write_accept(&accept, opts, &mut out),
            Err(*expected),
            "{opts:?}"
        );
        assert!(out.iter().all(|&b| b == 0xAA));
    }
    assert_eq!(
        write_accept(
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xO\r\n",
            &AcceptOptions::new(),
            &mut [0u8; 512]
        ),
        Err(InvalidAccept)
    );

    let opts = AcceptOptions {
        subprotocol: None,
        extensions: Some("permessage-deflate; server_no_context_takeover"),
        headers: &[("Set-Cookie", "id=1")],
    };
    let mut out = [0u8; 512];
    let n = write_accept(&accept, &opts, &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\
         Set-Cookie: id=1\r\n\r\n"
    );
}

#[test]
fn write_reject_bytes_and_errors() {
    let mut out = [0u8; 256];
    let rejection = Rejection::new(401)
        .with_headers(&[("WWW-Authenticate", "Basic realm=\"ws\"")])
        .with_body(b"who?");
    let n = write_reject(&rejection, &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"ws\"\r\n\
         Content-Length: 4\r\n\r\nwho?"
    );
    // A client sees the rejection as UnexpectedStatus and finds the body after the head.
    let mut scanner = HeadScanner::new();
    assert_eq!(scanner.scan(&out[..n], &LIMITS), Ok(Some(n - 4)));
    assert_eq!(
        parse_response(&out[..n], RFC_KEY, &LIMITS),
        Err(HandshakeError::UnexpectedStatus(401))
    );

    let n = write_reject(&Rejection::new(499), &mut out).unwrap();
    assert_eq!(&out[..n], b"HTTP/1.1 499 \r\nContent-Length: 0\r\n\r\n");

    for status in [0, 99, 101, 199, 204, 304, 600, 1000] {
        assert_eq!(
            write_reject(&Rejection::new(status), &mut out),
            Err(HandshakeError::InvalidStatus(status))
        );
    }
    assert_eq!(
        write_reject(
            &Rejection::new(403).with_headers(&[("Content-Length", "5")]),
            &mut out
        ),
        Err(HandshakeError::ReservedHeader { index: 0 })
    );
    assert_eq!(
        write_reject(&Rejection::new(403).with_headers(&[("X", "\r")]), &mut out),
        Err(HandshakeError::ExtraHeaderValue { index: 0 })
    );
}

#[test]
fn error_responses() {
    let mut out = [0u8; 256];
    let mut written = |error: HandshakeError| {
        let n = write_error_response(&error, &mut out).unwrap();
        String::from_utf8(out[..n].to_vec()).unwrap()
    };
    assert_eq!(
        written(HandshakeError::UnsupportedVersion),
        "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(
        written(HandshakeError::MissingHeader(Field::SecWebSocketVersion)),
        written(HandshakeError::UnsupportedVersion)
    );
    assert_eq!(
        written(HandshakeError::InvalidKey),
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(
        written(HandshakeError::MethodNotGet),
        "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(
        written(HandshakeError::HeadTooLarge { limit: 8192 }),
        "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\
         Content-Length: 0\r\n\r\n"
    );
}

#[test]
fn response_statuses() {
    use HandshakeError::*;
    #[rustfmt::skip]
    let table: &[(HandshakeError, u16)] = &[
        (UnsupportedVersion, 426), (MissingHeader(Field::SecWebSocketVersion), 426),
        (HeadTooLarge { limit: 1 }, 431), (TooManyHeaders { limit: 1 }, 431),
        (MethodNotGet, 405), (HttpVersion, 505),
        (BareLf { offset: 0 }, 400), (BareCr { offset: 0 }, 400), (BadRequestLine, 400),
        (InvalidRequestTarget, 400), (FoldedHeader { line: 2 }, 400), (MissingColon { line: 2 }, 400),
        (InvalidHeaderName { line: 2 }, 400), (WhitespaceBeforeColon { line: 2 }, 400),
        (InvalidHeaderValue { line: 2 }, 400), (DuplicateHeader(Field::Host), 400),
        (MissingHeader(Field::SecWebSocketKey), 400), (UpgradeNotWebSocket, 400),
        (ConnectionNotUpgrade, 400), (InvalidKey, 400), (InvalidHost, 400), (InvalidOrigin, 400),
        (InvalidSubprotocol, 400), (InvalidExtension, 400),
        (BadStatusLine, 500), (UnexpectedStatus(403), 500), (AcceptMismatch, 500),
        (MultipleSubprotocols, 500), (UnexpectedSubprotocol, 500), (UnexpectedExtension, 500),
        (BufferTooSmall { needed: 1 }, 500), (InvalidPath, 500), (ExtraHeaderName { index: 0 }, 500),
        (ExtraHeaderValue { index: 0 }, 500), (ReservedHeader { index: 0 }, 500), (InvalidAccept, 500),
        (InvalidStatus(1), 500),
    ];
    let mut out = [0u8; 256];
    for (error, status) in table {
        assert_eq!(error.response_status(), *status, "{error:?}");
        // Every error message is a non-empty sentence fragment.
        assert!(!error.to_string().is_empty());
        // Every error response is a complete head that a client reads as that status.
        let n = write_error_response(error, &mut out).unwrap();
        assert_eq!(
            parse_response(&out[..n], RFC_KEY, &LIMITS),
            Err(UnexpectedStatus(*status))
        );
    }
    assert_eq!(
        FoldedHeader { line: 3 }.to_string(),
        "line 3: folded header line (obs-fold)"
    );
    assert_eq!(
        DuplicateHeader(Field::SecWebSocketKey).to_string(),
        "Sec-WebSocket-Key header appears more than once"
    );
    assert_eq!(
        BufferTooSmall { needed: 42 }.to_string(),
        "output buffer too small: 42 bytes needed"
    );
}

// ----- properties -----

const TCHARS: &str = "[!#$%&'*+.^_`|~0-9A-Za-z-]";

fn token() -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("{TCHARS}{{1,12}}")).unwrap()
}

fn ows() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(""), Just(" "), Just("\t"), Just("  ")]
}

/// One extension offer per RFC 6455 §9.1, with optional whitespace, token and quoted values.
fn extension_offer() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just(None),
        token().prop_map(Some),
        token().prop_map(|t| Some(format!("\"{t}\""))),
        token().prop_map(|t| Some(format!("\"\\{t}\""))),
    ];
    (
        token(),
        prop::collection::vec((ows(), token(), ows(), value), 0..3),
    )
        .prop_map(|(name, params)| {
            let mut offer = name;
            for (space, param, space2, value) in params {
                offer.push_str(&format!("{space};{space2}{param}"));
                if let Some(value) = value {
                    offer.push_str(&format!("{space2}={space}{value}"));
                }
            }
            offer
        })
}

fn is_reserved_in_request(name: &str) -> bool {
    ["host", "upgrade", "connection", "origin"].contains(&name.to_ascii_lowercase().as_str())
        || name.to_ascii_lowercase().starts_with("sec-websocket-")
}

fn is_reserved_in_response(name: &str) -> bool {
    [
        "upgrade",
        "connection",
        "content-length",
        "transfer-encoding",
    ]
    .contains(&name.to_ascii_lowercase().as_str())
        || name.to_ascii_lowercase().starts_with("sec-websocket-")
}

/// A header value: printable ASCII, tab and a non-ASCII letter, no surrounding whitespace.
fn header_value() -> impl Strategy<Value = String> {
    proptest::string::string_regex("([!-~\u{e9}]([ -~\t\u{e9}]{0,16}[!-~\u{e9}])?)?").unwrap()
}

fn extra_headers(reserved: fn(&str) -> bool) -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            token().prop_filter("reserved", move |n| !reserved(n)),
            header_value(),
        ),
        0..4,
    )
}

#[derive(Debug, Clone)]
struct RequestCase {
    host: String,
    path: String,
    origin: Option<String>,
    subprotocols: Vec<String>,
    extensions: Vec<String>,
    headers: Vec<(String, String)>,
    nonce: [u8; 16],
}

fn request_case() -> impl Strategy<Value = RequestCase> {
    (
        proptest::string::string_regex("[a-z0-9.-]{1,20}(:[0-9]{1,5})?").unwrap(),
        proptest::string::string_regex("/[a-zA-Z0-9/?=&%._~!$'()*+,;:@-]{0,30}").unwrap(),
        prop::option::of(
            proptest::string::string_regex("https?://[a-z]{1,10}(:[0-9]{2,4})?").unwrap(),
        ),
        prop::collection::vec(token(), 0..4),
        prop::collection::vec(extension_offer(), 0..3),
        extra_headers(is_reserved_in_request),
        any::<[u8; 16]>(),
    )
        .prop_map(
            |(host, path, origin, subprotocols, extensions, headers, nonce)| RequestCase {
                host,
                path,
                origin,
                subprotocols,
                extensions,
                headers,
                nonce,
            },
        )
}

fn write_case(case: &RequestCase) -> Vec<u8> {
    let subprotocols: Vec<&str> = case.subprotocols.iter().map(String::as_str).collect();
    let extensions: Vec<&str> = case.extensions.iter().map(String::as_str).collect();
    let headers: Vec<(&str, &str)> = case
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let req = ClientRequest {
        host: &case.host,
        path: &case.path,
        origin: case.origin.as_deref(),
        subprotocols: &subprotocols,
        extensions: &extensions,
        headers: &headers,
    };
    let Err(HandshakeError::BufferTooSmall { needed }) = write_request(&req, &case.nonce, &mut [])
    else {
        panic!("an empty buffer is too small");
    };
    let mut out = vec![0u8; needed];
    assert_eq!(write_request(&req, &case.nonce, &mut out), Ok(needed));
    out
}

/// Feeds `buf` to a scanner in pieces ending at `ends` (then the whole), stopping at the first
/// result that is not `Ok(None)`.
fn feed<'a, T>(
    buf: &'a [u8],
    ends: &[usize],
    mut parse: impl FnMut(&mut HeadScanner, &'a [u8]) -> Result<Option<T>, HandshakeError>,
) -> Result<Option<T>, HandshakeError> {
    let mut scanner = HeadScanner::new();
    let mut ends: Vec<usize> = ends.iter().map(|&e| e.min(buf.len())).collect();
    ends.sort_unstable();
    ends.push(buf.len());
    for end in ends {
        match parse(&mut scanner, &buf[..end]) {
            Ok(None) => {}
            other => return other,
        }
    }
    Ok(None)
}

proptest! {
    #[test]
    fn written_requests_parse_to_the_same_fields(
        case in request_case(),
        ends in prop::collection::vec(0usize..600, 0..8),
        trailing in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let bytes = write_case(&case);
        let req = parse_request(&bytes, &LIMITS).unwrap().unwrap();
        prop_assert_eq!(req.head_len(), bytes.len());
        prop_assert_eq!(req.host(), case.host.as_str());
        prop_assert_eq!(req.path(), case.path.as_str());
        prop_assert_eq!(req.target(), case.path.as_str());
        prop_assert_eq!(req.origin(), case.origin.as_deref());
        prop_assert_eq!(req.key().as_bytes(), &request_key(&case.nonce)[..]);
        prop_assert_eq!(decode_key(req.key().as_bytes()), Some(case.nonce));
        prop_assert!(req.subprotocols().eq(case.subprotocols.iter().map(String::as_str)));
        let offers: Vec<&str> = req.extensions().map(|e| e.as_str()).collect();
        prop_assert_eq!(offers, case.extensions.iter().map(String::as_str).collect::<Vec<_>>());
        for (offer, text) in req.extensions().zip(&case.extensions) {
            prop_assert_eq!(Some(offer), ExtensionOffer::parse(text));
        }
        let extra: Vec<(&str, &[u8])> = req.headers().filter(|(n, _)| !is_reserved_in_request(n)).collect();
        let expected: Vec<(&str, &[u8])> = case.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
        prop_assert_eq!(extra, expected);

        // Every strict prefix is incomplete.
        for end in 0..bytes.len() {
            prop_assert_eq!(parse_request(&bytes[..end], &LIMITS), Ok(None));
        }
        // Frames after the head change nothing; any split gives the same request.
        let mut with_frames = bytes.clone();
        with_frames.extend_from_slice(&trailing);
        prop_assert_eq!(parse_request(&with_frames, &LIMITS), Ok(Some(req)));
        let fed = feed(&with_frames, &ends, |s, b| s.parse_request(b, &LIMITS));
        prop_assert_eq!(fed, Ok(Some(req)));
    }

    #[test]
    fn written_responses_parse_to_the_same_fields(
        key_nonce in any::<[u8; 16]>(),
        subprotocol in prop::option::of(token()),
        extensions in prop::collection::vec(extension_offer(), 0..3),
        headers in extra_headers(is_reserved_in_response),
        ends in prop::collection::vec(0usize..400, 0..8),
        trailing in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let key = request_key(&key_nonce);
        let joined = extensions.join(", ");
        let header_refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let opts = AcceptOptions {
            subprotocol: subprotocol.as_deref(),
            extensions: (!extensions.is_empty()).then_some(joined.as_str()),
            headers: &header_refs,
        };
        let Err(HandshakeError::BufferTooSmall { needed }) = write_accept(&accept_key(&key), &opts, &mut []) else {
            panic!("an empty buffer is too small");
        };
        let mut bytes = vec![0u8; needed];
        prop_assert_eq!(write_accept(&accept_key(&key), &opts, &mut bytes), Ok(needed));

        let resp = parse_response(&bytes, &key, &LIMITS).unwrap().unwrap();
        prop_assert_eq!(resp.head_len(), bytes.len());
        prop_assert_eq!(resp.subprotocol(), subprotocol.as_deref());
        let offers: Vec<&str> = resp.extensions().map(|e| e.as_str()).collect();
        prop_assert_eq!(offers, extensions.iter().map(String::as_str).collect::<Vec<_>>());
        let extra: Vec<(&str, &[u8])> = resp.headers().filter(|(n, _)| !is_reserved_in_response(n)).collect();
        let expected: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
        prop_assert_eq!(extra, expected);
        let offered: Vec<&str> = subprotocol.iter().map(String::as_str).collect();
        let names: Vec<&str> = resp.extensions().map(|e| e.name()).collect();
        prop_assert_eq!(check_negotiation(&resp, &offered, &names), Ok(()));

        for end in 0..bytes.len() {
            prop_assert_eq!(parse_response(&bytes[..end], &key, &LIMITS), Ok(None));
        }
        let mut with_frames = bytes.clone();
        with_frames.extend_from_slice(&trailing);
        prop_assert_eq!(parse_response(&with_frames, &key, &LIMITS), Ok(Some(resp)));
        let fed = feed(&with_frames, &ends, |s, b| s.parse_response(b, &key, &LIMITS));
        prop_assert_eq!(fed, Ok(Some(resp)));
    }

    #[test]
    fn arbitrary_bytes_parse_the_same_in_pieces(
        bytes in prop::collection::vec(prop_oneof![
            4 => any::<u8>(),
            4 => Just(b'\r'), 4 => Just(b'\n'), 2 => Just(b':'), 2 => Just(b' '),
        ], 0..200),
        ends in prop::collection::vec(0usize..200, 0..8),
        max_head_len in 0usize..256,
        max_headers in 0usize..8,
    ) {
        let limits = HeadLimits { max_head_len, max_headers };
        let one_shot = parse_request(&bytes, &limits);
        prop_assert_eq!(feed(&bytes, &ends, |s, b| s.parse_request(b, &limits)), one_shot);
        let one_shot = parse_response(&bytes, RFC_KEY, &limits);
        prop_assert_eq!(feed(&bytes, &ends, |s, b| s.parse_response(b, RFC_KEY, &limits)), one_shot);
    }
}

/// `HandshakeError::kind` on errors the functions really return: a server can tell 400 from 426
/// from its own misuse, a client a bad response from its own misuse.
#[test]
fn error_kinds_of_real_failures() {
    fn kind<T>(result: Result<T, HandshakeError>) -> HandshakeErrorKind {
        result.map(|_| ()).unwrap_err().kind()
    }
    use HandshakeErrorKind::{BadRequest, BadResponse, Misuse, UpgradeRequired};
    let request = core::str::from_utf8(RFC_REQUEST).unwrap();
    let version_8 = request.replace("Version: 13", "Version: 8");
    let no_host = request.replace("Host: server.example.com\r\n", "");
    let other_key = request_key(b"another nonce!!!");
    let status_200 = [(":status", "200"), ("sec-websocket-protocol", "chat")];
    let plain = ClientRequest::new("server.example.com", "/chat");
    let two_protocols = ClientConnect {
        subprotocols: &["a", "b"],
        ..ClientConnect::new("h", "/")
    };
    for (what, found, expected) in [
        (
            "version 8",
            kind(parse_request(version_8.as_bytes(), &LIMITS)),
            UpgradeRequired,
        ),
        (
            "no Host",
            kind(parse_request(no_host.as_bytes(), &LIMITS)),
            BadRequest,
        ),
        (
            "another key",
            kind(parse_response(RFC_RESPONSE, &other_key, &LIMITS)),
            BadResponse,
        ),
        (
            "not offered",
            kind(check_connect_response(&status_200, &["superchat"], &[])),
            BadResponse,
        ),
        (
            "16-byte buffer",
            kind(write_request(&plain, RFC_NONCE, &mut [0u8; 16])),
            Misuse,
        ),
        (
            "no scratch",
            kind(connect_request_headers(&two_protocols, &mut [])),
            Misuse,
        ),
    ] {
        assert_eq!(found, expected, "{what}");
    }
}
