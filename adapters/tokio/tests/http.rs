//! The `http` feature: handshakes in the `http` crate's types, checked by the core's rules, and
//! `WebSocket::open` on a stream whose handshake was done elsewhere.
#![cfg(feature = "http")]

use futures_util::{SinkExt, StreamExt};
use http::{HeaderValue, Method, Request, Response, StatusCode, Version};
use wsproto::handshake::{
    ClientConnect, ClientRequest, Field, HandshakeError, HeaderList, request_key,
};
use wsproto_tokio::http::{
    HttpFields, check_request, check_response, connect_request, error_response, protocol_of,
    upgrade_request,
};
use wsproto_tokio::{CloseCode, Config, Message, Role, WebSocket};

/// The RFC 6455 §1.3 request, as hyper hands it over.
fn rfc_6455_request() -> Request<()> {
    Request::builder()
        .method(Method::GET)
        .uri("/chat?room=1")
        .header("host", "server.example.com")
        .header("upgrade", "websocket")
        .header("connection", "keep-alive, Upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-protocol", "chat, superchat")
        .header("sec-websocket-version", "13")
        .header("origin", "http://example.com")
        .body(())
        .unwrap()
}

/// The RFC 8441 §5.1 request, as hyper's HTTP/2 server hands it over: the pseudo-header fields
/// in the method, the URI and a `hyper::ext::Protocol` extension.
fn connect_request_h2() -> Request<()> {
    let mut req = Request::builder()
        .method(Method::CONNECT)
        .version(Version::HTTP_2)
        .uri("https://server.example.com/chat")
        .header("sec-websocket-protocol", "chat, superchat")
        .header("sec-websocket-extensions", "permessage-deflate")
        .header("sec-websocket-version", "13")
        .header("origin", "http://www.example.com")
        .body(())
        .unwrap();
    req.extensions_mut()
        .insert(hyper::ext::Protocol::from_static("websocket"));
    req
}

/// `req` with one more field `name: value` (after any of that name).
fn with_field(mut req: Request<()>, name: &'static str, value: &'static str) -> Request<()> {
    req.headers_mut()
        .append(name, HeaderValue::from_static(value));
    req
}

/// `req` with `method` instead of its own.
fn with_method(mut req: Request<()>, method: Method) -> Request<()> {
    *req.method_mut() = method;
    req
}

/// Checks that the core refuses `req` with `expected`, answered (over `version`) with 405 and
/// `allow: <allow>`.
fn assert_refused_405(req: &Request<()>, expected: HandshakeError, version: Version, allow: &str) {
    let err = refused(req);
    assert_eq!(err, expected);
    let res = error_response(&err, version);
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], allow);
}

/// Why the core refuses `req` with the default config.
fn refused(req: &Request<()>) -> HandshakeError {
    check_request(req, &Config::default()).unwrap_err()
}

#[test]
fn upgrade_request_is_checked_and_answered_101() {
    let req = rfc_6455_request();
    let checked = check_request(&req, &Config::default()).unwrap();
    assert!(!checked.is_extended_connect());
    assert_eq!(checked.version(), Version::HTTP_11);
    assert_eq!(checked.path(), "/chat?room=1");
    assert_eq!(checked.host(), "server.example.com");
    assert_eq!(checked.origin(), Some("http://example.com"));
    assert_eq!(
        checked.subprotocols().collect::<Vec<_>>(),
        ["chat", "superchat"]
    );
    let res = checked.accept_response(Some("chat")).unwrap();
    assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
    let headers = res.headers();
    assert_eq!(headers["upgrade"], "websocket");
    assert_eq!(headers["connection"], "Upgrade");
    // RFC 6455 §1.3.
    assert_eq!(
        headers["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(headers["sec-websocket-protocol"], "chat");
    // A subprotocol that is not a token is the core's error, not a panic.
    assert_eq!(
        checked.accept_response(Some("a b")).unwrap_err(),
        HandshakeError::InvalidArgument(Field::SecWebSocketProtocol)
    );
}

#[test]
fn upgrade_request_errors_are_the_cores() {
    let mut req = rfc_6455_request();
    req.headers_mut().remove("sec-websocket-key");
    assert_eq!(
        refused(&req),
        HandshakeError::MissingHeader(Field::SecWebSocketKey)
    );

    let post = with_method(rfc_6455_request(), Method::POST);
    assert_refused_405(&post, HandshakeError::MethodNotGet, Version::HTTP_11, "GET");

    let mut req = rfc_6455_request();
    req.headers_mut()
        .insert("sec-websocket-version", HeaderValue::from_static("8"));
    let err = refused(&req);
    assert_eq!(err, HandshakeError::UnsupportedVersion);
    let res = error_response(&err, Version::HTTP_11);
    assert_eq!(res.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(res.headers()["sec-websocket-version"], "13");
    assert_eq!(res.headers()["upgrade"], "websocket");

    let mut req = rfc_6455_request();
    *req.version_mut() = Version::HTTP_10;
    assert_eq!(refused(&req), HandshakeError::HttpVersion);
}

#[test]
fn extended_connect_is_checked_and_answered_200() {
    let req = connect_request_h2();
    assert_eq!(protocol_of(req.extensions()), Some("websocket"));
    let checked = check_request(&req, &Config::default()).unwrap();
    assert!(checked.is_extended_connect());
    assert_eq!(checked.version(), Version::HTTP_2);
    assert_eq!(checked.path(), "/chat");
    assert_eq!(checked.host(), "server.example.com");
    assert_eq!(checked.origin(), Some("http://www.example.com"));
    assert_eq!(
        checked.extensions().map(|e| e.name()).collect::<Vec<_>>(),
        ["permessage-deflate"]
    );
    let res = checked.accept_response(Some("chat")).unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.headers()["sec-websocket-protocol"], "chat");
    assert!(res.headers().get("sec-websocket-accept").is_none());
}

#[test]
fn extended_connect_errors_are_the_cores() {
    // No :protocol extension.
    let mut req = connect_request_h2();
    req.extensions_mut().clear();
    assert_eq!(
        refused(&req),
        HandshakeError::MissingHeader(Field::Protocol)
    );

    // h2's own extension type works as well as hyper's, and its value is checked.
    let mut req = connect_request_h2();
    req.extensions_mut().clear();
    req.extensions_mut()
        .insert(h2::ext::Protocol::from_static("webtransport"));
    assert_eq!(refused(&req), HandshakeError::ProtocolNotWebSocket);

    // An HTTP/1.1-style GET over HTTP/2: 405 with `allow: CONNECT`.
    let get = with_method(connect_request_h2(), Method::GET);
    assert_refused_405(
        &get,
        HandshakeError::MethodNotConnect,
        Version::HTTP_2,
        "CONNECT",
    );

    // RFC 8441 §5: no key, no Connection/Upgrade.
    let req = with_field(
        connect_request_h2(),
        "sec-websocket-key",
        "dGhlIHNhbXBsZSBub25jZQ==",
    );
    assert_eq!(
        refused(&req),
        HandshakeError::ForbiddenHeader(Field::SecWebSocketKey)
    );

    // A version error is a 400 with `sec-websocket-version: 13` (no 426 in HTTP/2).
    let mut req = connect_request_h2();
    req.headers_mut().remove("sec-websocket-version");
    let err = refused(&req);
    let res = error_response(&err, Version::HTTP_2);
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["sec-websocket-version"], "13");

    // A CONNECT without a path (authority-form) is missing `:path`.
    let mut req = connect_request_h2();
    *req.uri_mut() = "server.example.com:443".parse().unwrap();
    assert_eq!(refused(&req), HandshakeError::MissingHeader(Field::Scheme));
}

#[test]
fn client_connect_request_round_trips() {
    let offer = ClientConnect {
        subprotocols: &["chat", "superchat"],
        origin: Some("https://example.com"),
        ..ClientConnect::new("example.com:8443", "/ws?x=1")
    };
    let req = connect_request(&offer, Version::HTTP_2).unwrap();
    assert_eq!(req.method(), Method::CONNECT);
    assert_eq!(req.uri(), "https://example.com:8443/ws?x=1");
    assert_eq!(
        req.extensions()
            .get::<h2::ext::Protocol>()
            .map(|p| p.as_str()),
        Some("websocket")
    );
    let checked = check_request(&req, &Config::default()).unwrap();
    assert_eq!(checked.path(), "/ws?x=1");
    assert_eq!(checked.host(), "example.com:8443");
    assert_eq!(
        checked.subprotocols().collect::<Vec<_>>(),
        ["chat", "superchat"]
    );
    let res = checked.accept_response(Some("superchat")).unwrap();
    let accepted = check_response(&res, None, offer.subprotocols, &[]).unwrap();
    assert_eq!(accepted.subprotocol(), Some("superchat"));

    // A refusal, and a subprotocol that was not offered.
    let refused = Response::builder()
        .version(Version::HTTP_2)
        .status(403)
        .body(())
        .unwrap();
    assert_eq!(
        check_response(&refused, None, &[], &[]).unwrap_err(),
        HandshakeError::UnexpectedStatus(403)
    );
    assert_eq!(
        check_response(&res, None, &["chat"], &[]).unwrap_err(),
        HandshakeError::UnexpectedSubprotocol
    );
    // A bad offer is the core's error.
    assert_eq!(
        connect_request(
            &ClientConnect::new("example.com", "no-slash"),
            Version::HTTP_2
        )
        .unwrap_err(),
        HandshakeError::InvalidPseudoHeader(Field::Path)
    );
}

#[test]
fn upgrade_response_is_checked_against_the_key() {
    let key = request_key(b"another nonce 16");
    let res = check_request(&rfc_6455_request(), &Config::default())
        .unwrap()
        .accept_response(None)
        .unwrap();
    assert_eq!(
        check_response(&res, Some(&key), &[], &[]).unwrap_err(),
        HandshakeError::AcceptMismatch
    );
    let key = *b"dGhlIHNhbXBsZSBub25jZQ==";
    assert_eq!(
        check_response(&res, Some(&key), &[], &[])
            .unwrap()
            .subprotocol(),
        None
    );
    assert_eq!(
        check_response(&res, None, &[], &[]).unwrap_err(),
        HandshakeError::AcceptMismatch
    );
}

#[test]
fn client_upgrade_request_round_trips() {
    let req = ClientRequest {
        subprotocols: &["chat", "superchat"],
        headers: &[("authorization", "Bearer x")],
        ..ClientRequest::new("example.com", "/ws?room=2")
    };
    let (request, key) = upgrade_request(&req, b"another nonce 16").unwrap();
    assert_eq!(request.method(), Method::GET);
    assert_eq!(request.version(), Version::HTTP_11);
    assert_eq!(request.uri(), "/ws?room=2");
    assert_eq!(request.headers()["authorization"], "Bearer x");
    let checked = check_request(&request, &Config::default()).unwrap();
    assert_eq!(checked.path(), "/ws?room=2");
    let res = checked.accept_response(Some("superchat")).unwrap();
    let accepted = check_response(&res, Some(&key), req.subprotocols, &[]).unwrap();
    assert_eq!(accepted.subprotocol(), Some("superchat"));
    let bad = ClientRequest {
        headers: &[("x", "a\nb")],
        ..ClientRequest::new("example.com", "/")
    };
    assert_eq!(
        upgrade_request(&bad, b"another nonce 16").unwrap_err(),
        HandshakeError::ExtraHeaderValue { index: 0 }
    );
}

#[test]
fn repeated_fields_reach_the_core_each_once() {
    // Two Sec-WebSocket-Protocol fields: the offers of both, in order (RFC 6455 §4.2.1 step 8).
    let req = with_field(rfc_6455_request(), "sec-websocket-protocol", "v3");
    let checked = check_request(&req, &Config::default()).unwrap();
    assert_eq!(
        checked.subprotocols().collect::<Vec<_>>(),
        ["chat", "superchat", "v3"]
    );
    // Two Host fields: refused (RFC 7230 §5.4), as on the raw-head path.
    let req = with_field(rfc_6455_request(), "host", "other.example.com");
    assert_eq!(refused(&req), HandshakeError::DuplicateHeader(Field::Host));
    // Two keys, over HTTP/2 a forbidden Connection field.
    let req = with_field(
        rfc_6455_request(),
        "sec-websocket-key",
        "AQIDBAUGBwgJCgsMDQ4PEA==",
    );
    assert_eq!(
        refused(&req),
        HandshakeError::DuplicateHeader(Field::SecWebSocketKey)
    );
    let req = with_field(connect_request_h2(), "connection", "keep-alive");
    assert_eq!(
        refused(&req),
        HandshakeError::ForbiddenHeader(Field::Connection)
    );
}

#[test]
fn fields_walk_again_from_a_clone() {
    let req = connect_request_h2();
    let fields = HttpFields::request(&req);
    let mut pairs = fields.header_pairs();
    let first: Vec<_> = pairs.by_ref().take(6).collect();
    assert_eq!(first[0], (&b":method"[..], &b"CONNECT"[..]));
    assert_eq!(first[1], (&b":protocol"[..], &b"websocket"[..]));
    let rest: Vec<_> = pairs.clone().collect();
    assert_eq!(rest, pairs.collect::<Vec<_>>());
    assert_eq!(first.len() + rest.len(), 5 + 4);
    // HTTP/1.1 has no pseudo-header fields.
    let req = rfc_6455_request();
    assert_eq!(HttpFields::request(&req).header_pairs().count(), 7);
}

/// A client and a server, OPEN from the start over a pipe, as after a handshake done elsewhere
/// that agreed on `subprotocol`.
fn opened_pair(
    subprotocol: Option<&str>,
) -> (
    WebSocket<tokio::io::DuplexStream>,
    WebSocket<tokio::io::DuplexStream>,
) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let server = WebSocket::server(server_io, Config::default(), subprotocol).unwrap();
    // The general form, with an entropy source of the caller's (`WebSocket::client` draws
    // from the OS).
    let client = WebSocket::open(
        client_io,
        Role::Client,
        Config::default(),
        |buf: &mut [u8]| buf.fill(0x3c),
        subprotocol,
    )
    .unwrap();
    (client, server)
}

#[tokio::test]
async fn open_runs_a_stream_whose_handshake_was_done_elsewhere() {
    let (mut client, mut server) = opened_pair(Some("chat"));
    assert_eq!(server.subprotocol(), Some("chat"));
    let echo = tokio::spawn(async move {
        while let Some(message) = server.next().await {
            server.send(message.unwrap()).await.unwrap();
        }
        server.close_info().unwrap()
    });
    client.send(Message::Text("hé".into())).await.unwrap();
    client.send(Message::from(vec![0, 1, 2])).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::Text("hé".into())
    );
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::from(vec![0, 1, 2])
    );
    let info = client.close_with(CloseCode::NORMAL, "done").await.unwrap();
    assert!(info.clean);
    let server_info = echo.await.unwrap();
    assert!(server_info.clean);
    assert_eq!(server_info.code, CloseCode::NORMAL);
}

/// permessage-deflate through an HTTP library's handshake: the answer negotiates it, `open` and
/// `enable_deflate` switch it on at both ends, and compressed messages cross both ways.
#[cfg(feature = "deflate")]
#[tokio::test]
async fn deflate_negotiated_in_the_http_answer_runs_after_open() {
    use wsproto_tokio::DeflateConfig;

    // No offer, no extension.
    let req = rfc_6455_request();
    let checked = check_request(&req, &Config::default()).unwrap();
    let (res, params) = checked
        .accept_response_with_deflate(None, &DeflateConfig::DEFAULT)
        .unwrap();
    assert!(params.is_none());
    assert!(res.headers().get("sec-websocket-extensions").is_none());

    let req = connect_request_h2();
    let checked = check_request(&req, &Config::default()).unwrap();
    let (res, params) = checked
        .accept_response_with_deflate(Some("chat"), &DeflateConfig::DEFAULT)
        .unwrap();
    let params = params.expect("the offer is accepted");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["sec-websocket-extensions"],
        "permessage-deflate"
    );

    let (mut client, mut server) = opened_pair(None);
    server.enable_deflate(params).unwrap();
    client.enable_deflate(params).unwrap();
    let echo = tokio::spawn(async move {
        while let Some(message) = server.next().await {
            server.send(message.unwrap()).await.unwrap();
        }
        server.deflate_params()
    });
    // Long enough to be compressed (over the threshold): an end without deflate would fail
    // the connection on its RSV1 bit.
    let text = Message::from("compress me ".repeat(1000));
    client.send(text.clone()).await.unwrap();
    assert_eq!(client.next().await.unwrap().unwrap(), text);
    assert!(
        client
            .close_with(CloseCode::NORMAL, "")
            .await
            .unwrap()
            .clean
    );
    assert_eq!(echo.await.unwrap(), Some(params));
}

/// The head of `req` as an HTTP/1.1 client writes it.
fn wire_head(req: &Request<()>) -> String {
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method(), req.uri());
    for (name, value) in req.headers() {
        head += &format!("{name}: {}\r\n", value.to_str().unwrap());
    }
    head + "\r\n"
}

#[test]
fn head_limits_apply_at_their_edge() {
    let req = rfc_6455_request();
    let len = wire_head(&req).len();
    let fields = req.headers().len();
    let at = Config {
        max_head_len: len,
        max_headers: fields,
        ..Config::default()
    };
    assert!(check_request(&req, &at).is_ok());
    let shorter = Config {
        max_head_len: len - 1,
        ..at
    };
    let fewer = Config {
        max_headers: fields - 1,
        ..at
    };
    let over = [
        (shorter, HandshakeError::HeadTooLarge { limit: len - 1 }),
        (fewer, HandshakeError::TooManyHeaders { limit: fields - 1 }),
    ];
    for (config, expected) in over {
        let err = check_request(&req, &config).unwrap_err();
        assert_eq!(err, expected);
        assert_eq!(error_response(&err, Version::HTTP_11).status(), 431);
    }
}

#[test]
fn a_long_header_line_or_many_headers_are_refused_431() {
    let mut long = rfc_6455_request();
    long.headers_mut().insert(
        "x-long",
        HeaderValue::from_str(&"a".repeat(100 << 10)).unwrap(),
    );
    let err = check_request(&long, &Config::default()).unwrap_err();
    assert_eq!(err, HandshakeError::HeadTooLarge { limit: 8192 });
    let mut many = rfc_6455_request();
    for i in 0..10_000 {
        many.headers_mut().append(
            format!("x-{i}").parse::<http::HeaderName>().unwrap(),
            HeaderValue::from_static("v"),
        );
    }
    let roomy = Config {
        max_head_len: 1 << 20,
        ..Config::default()
    };
    let err = check_request(&many, &roomy).unwrap_err();
    assert_eq!(err, HandshakeError::TooManyHeaders { limit: 64 });
    let (parts, ()) = many.into_parts();
    assert_eq!(
        wsproto_tokio::http::check_request_parts(&parts, &roomy).unwrap_err(),
        err
    );
}

#[test]
fn parts_are_checked_as_the_request_and_pseudo_fields_do_not_count() {
    let (parts, ()) = connect_request_h2().into_parts();
    // Four regular fields; the five pseudo-header fields stand for the start line.
    let four = Config {
        max_headers: 4,
        ..Config::default()
    };
    let checked = wsproto_tokio::http::check_request_parts(&parts, &four).unwrap();
    assert!(checked.is_extended_connect());
    assert_eq!(checked.path(), "/chat");
    let (parts, ()) = rfc_6455_request().into_parts();
    let checked = wsproto_tokio::http::check_request_parts(&parts, &Config::default()).unwrap();
    assert_eq!(checked.path(), "/chat?room=1");
    assert_eq!(checked.host(), "server.example.com");
}

#[test]
fn an_owned_request_answers_as_the_borrowed_one() {
    let deflate = wsproto_tokio::DeflateConfig::DEFAULT;
    let mut upgrade = rfc_6455_request();
    upgrade.headers_mut().insert(
        "sec-websocket-extensions",
        HeaderValue::from_static("x-other, permessage-deflate; client_max_window_bits"),
    );
    for req in [upgrade, connect_request_h2()] {
        let checked = check_request(&req, &Config::default()).unwrap();
        let owned = checked.to_owned();
        assert_eq!(owned.version(), checked.version());
        assert_eq!(owned.path(), checked.path());
        assert_eq!(owned.is_extended_connect(), checked.is_extended_connect());
        assert!(owned.subprotocols().eq(checked.subprotocols()));
        let (borrowed, params) = checked
            .accept_response_with_deflate(Some("chat"), &deflate)
            .unwrap();
        let (answer, owned_params) = owned
            .accept_response_negotiating(Some("chat"), Some(&deflate))
            .unwrap();
        assert!(params.is_some());
        assert_eq!(owned_params, params);
        assert_eq!(
            (answer.status(), answer.headers()),
            (borrowed.status(), borrowed.headers())
        );
        let (plain, none) = owned.accept_response_negotiating(None, None).unwrap();
        assert_eq!(none, None);
        assert_eq!(
            plain.headers(),
            checked.accept_response(None).unwrap().headers()
        );
    }
}
