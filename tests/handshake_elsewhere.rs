//! The handshake through its other two front doors: HTTP/1.1 Upgrade over a header list another
//! library parsed, and extended CONNECT over HTTP/2 (RFC 8441) and HTTP/3 (RFC 9220). The RFC
//! examples field for field, one table row per error, and properties: the header-list path
//! agrees with the raw-head parser on the same requests and responses, mutated or not.

use std::collections::HashSet;

use proptest::prelude::*;
use wsproto::handshake::*;

const LIMITS: HeadLimits = HeadLimits::DEFAULT;
const RFC_KEY: &[u8; 24] = b"dGhlIHNhbXBsZSBub25jZQ==";

/// RFC 8441 §5.1: the client's HEADERS frame, field for field, in the RFC's order.
const RFC_8441_REQUEST: [(&str, &str); 9] = [
    (":method", "CONNECT"),
    (":protocol", "websocket"),
    (":scheme", "https"),
    (":path", "/chat"),
    (":authority", "server.example.com"),
    ("sec-websocket-protocol", "chat, superchat"),
    ("sec-websocket-extensions", "permessage-deflate"),
    ("sec-websocket-version", "13"),
    ("origin", "http://www.example.com"),
];

/// RFC 8441 §5.1: the server's HEADERS frame.
const RFC_8441_RESPONSE: [(&str, &str); 2] =
    [(":status", "200"), ("sec-websocket-protocol", "chat")];

fn rfc_8441_client() -> ClientConnect<'static> {
    ClientConnect {
        origin: Some("http://www.example.com"),
        subprotocols: &["chat", "superchat"],
        extensions: &["permessage-deflate"],
        ..ClientConnect::new("server.example.com", "/chat")
    }
}

fn as_strs<'a>(block: &'a HeaderBlock<'_>) -> Vec<(&'static str, &'a str)> {
    block
        .iter()
        .map(|(n, v)| (n, std::str::from_utf8(v).unwrap()))
        .collect()
}

// ----- RFC 8441 / RFC 9220 vectors -----

#[test]
fn rfc_8441_example_request_is_written_field_for_field() {
    let mut scratch = [0u8; 64];
    let block = connect_request_headers(&rfc_8441_client(), &mut scratch).unwrap();
    assert_eq!(as_strs(&block), RFC_8441_REQUEST);
    // Names are lower case, as HTTP/2 (RFC 9113 §8.2.1) and HTTP/3 (RFC 9114 §4.2) require.
    assert!(
        block
            .iter()
            .all(|(n, _)| !n.bytes().any(|b| b.is_ascii_uppercase()))
    );
    // No Sec-WebSocket-Key, Connection or Upgrade (RFC 8441 §5).
    for absent in ["sec-websocket-key", "connection", "upgrade", "host"] {
        assert_eq!(block.get(absent), None, "{absent}");
    }
}

#[test]
fn rfc_8441_example_request_is_accepted() {
    let req = check_connect_request(&RFC_8441_REQUEST).unwrap();
    assert_eq!(req.scheme(), "https");
    assert_eq!(req.authority(), "server.example.com");
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.origin(), Some("http://www.example.com"));
    assert!(req.subprotocols().eq(["chat", "superchat"]));
    let names: Vec<_> = req.extensions().map(|e| e.name()).collect();
    assert_eq!(names, ["permessage-deflate"]);
    assert_eq!(req.header("Sec-WebSocket-Version"), Some(&b"13"[..]));
    // Any order: pseudo-header fields last, reversed.
    let mut reversed = RFC_8441_REQUEST;
    reversed.reverse();
    let again = check_connect_request(&reversed).unwrap();
    assert_eq!(again.path(), "/chat");
    assert!(again.subprotocols().eq(["chat", "superchat"]));
}

#[test]
fn rfc_8441_example_response_is_written_and_accepted() {
    let req = check_connect_request(&RFC_8441_REQUEST).unwrap();
    let chosen = req.subprotocols().next();
    let block = connect_accept_headers(chosen, None).unwrap();
    assert_eq!(as_strs(&block), RFC_8441_RESPONSE);
    assert_eq!(block.get("sec-websocket-accept"), None);
    let client = rfc_8441_client();
    let resp =
        check_connect_response(&RFC_8441_RESPONSE, client.subprotocols, client.extensions).unwrap();
    assert_eq!(resp.subprotocol(), Some("chat"));
    assert_eq!(resp.extensions().count(), 0);
    // The block itself is a header list.
    let resp = check_connect_response(block.as_slice(), &["chat"], &[]).unwrap();
    assert_eq!(resp.subprotocol(), Some("chat"));
}

/// RFC 9220 §3: over HTTP/3 "the semantics of the pseudo-header fields and setting are identical
/// to those in HTTP/2 as defined in [RFC8441]"; its §5 example exchange is the RFC 8441 one in
/// HTTP/3 HEADERS frames (QPACK-encoded field lines, lower-case names). The same lists, the same
/// results, with permessage-deflate accepted this time.
#[test]
fn rfc_9220_http3_exchange() {
    let request: Vec<(&[u8], &[u8])> = RFC_8441_REQUEST
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
        .collect();
    let req = check_connect_request(request.as_slice()).unwrap();
    let offer = req.extensions().next().unwrap();
    assert_eq!(offer.as_str(), "permessage-deflate");
    let block = connect_accept_headers(Some("chat"), Some("permessage-deflate")).unwrap();
    assert_eq!(
        as_strs(&block),
        [
            (":status", "200"),
            ("sec-websocket-protocol", "chat"),
            ("sec-websocket-extensions", "permessage-deflate")
        ]
    );
    let client = rfc_8441_client();
    let resp =
        check_connect_response(block.as_slice(), client.subprotocols, client.extensions).unwrap();
    let names: Vec<_> = resp.extensions().map(|e| e.name()).collect();
    assert_eq!(names, ["permessage-deflate"]);
}

// ----- extended CONNECT: one error per malformed variant -----

/// A field to set (`Some`) or remove (`None`).
type Edit = (&'static str, Option<&'static str>);

/// The RFC 8441 example with `edit` applied: `(name, Some(value))` replaces the first field of
/// that name or appends it; `(name, None)` removes every field of that name.
fn connect_request_with(edits: &[Edit]) -> Vec<(&'static str, &'static str)> {
    let mut fields = RFC_8441_REQUEST.to_vec();
    for &(name, value) in edits {
        match value {
            None => fields.retain(|(n, _)| *n != name),
            Some(value) => match fields.iter_mut().find(|(n, _)| *n == name) {
                Some(field) => field.1 = value,
                None => fields.push((name, value)),
            },
        }
    }
    fields
}

#[test]
fn connect_request_errors() {
    use Field::*;
    use HandshakeError::*;
    let table: &[(&[Edit], HandshakeError)] = &[
        (&[(":method", Some("GET"))], MethodNotConnect),
        (&[(":method", None)], MissingHeader(Method)),
        (&[(":protocol", None)], MissingHeader(Protocol)),
        (&[(":protocol", Some("connect-udp"))], ProtocolNotWebSocket),
        (&[(":scheme", None)], MissingHeader(Scheme)),
        (&[(":scheme", Some("wss"))], InvalidPseudoHeader(Scheme)),
        (&[(":path", None)], MissingHeader(Path)),
        (&[(":path", Some("chat"))], InvalidPseudoHeader(Path)),
        (&[(":authority", None)], MissingHeader(Authority)),
        (
            &[(":authority", Some("user@server.example.com"))],
            InvalidPseudoHeader(Authority),
        ),
        (&[(":status", Some("200"))], UnknownPseudoHeader),
        (
            &[("sec-websocket-key", Some("dGhlIHNhbXBsZSBub25jZQ=="))],
            ForbiddenHeader(SecWebSocketKey),
        ),
        (&[("upgrade", Some("websocket"))], ForbiddenHeader(Upgrade)),
        (
            &[("connection", Some("upgrade"))],
            ForbiddenHeader(Connection),
        ),
        (
            &[("keep-alive", Some("timeout=5"))],
            ForbiddenHeader(KeepAlive),
        ),
        (
            &[("proxy-connection", Some("keep-alive"))],
            ForbiddenHeader(ProxyConnection),
        ),
        (
            &[("transfer-encoding", Some("chunked"))],
            ForbiddenHeader(TransferEncoding),
        ),
        (&[("te", Some("gzip"))], ForbiddenHeader(Te)),
        (
            &[("sec-websocket-version", None)],
            MissingHeader(SecWebSocketVersion),
        ),
        (&[("sec-websocket-version", Some("8"))], UnsupportedVersion),
        (
            &[("sec-websocket-protocol", Some("chat superchat"))],
            InvalidSubprotocol,
        ),
        (
            &[("sec-websocket-extensions", Some("permessage-deflate;"))],
            InvalidExtension,
        ),
        (&[("origin", Some(""))], InvalidOrigin),
        (&[("host", Some("a b"))], InvalidHost),
    ];
    let mut seen = HashSet::new();
    for (edits, expected) in table {
        let fields = connect_request_with(edits);
        assert_eq!(
            check_connect_request(fields.as_slice()).map(|_| ()),
            Err(*expected),
            "{edits:?}"
        );
        assert!(seen.insert(*expected), "{expected:?} is in the table twice");
        assert!(!expected.to_string().is_empty());
    }
    // Repeated fields.
    let mut twice = RFC_8441_REQUEST.to_vec();
    twice.push((":path", "/other"));
    assert_eq!(
        check_connect_request(twice.as_slice()).map(|_| ()),
        Err(DuplicateHeader(Path))
    );
    let mut twice = RFC_8441_REQUEST.to_vec();
    twice.push(("sec-websocket-version", "13"));
    assert_eq!(
        check_connect_request(twice.as_slice()).map(|_| ()),
        Err(DuplicateHeader(SecWebSocketVersion))
    );
    let mut twice = RFC_8441_REQUEST.to_vec();
    twice.push(("origin", "http://www.example.com"));
    assert_eq!(
        check_connect_request(twice.as_slice()).map(|_| ()),
        Err(DuplicateHeader(Origin))
    );
    // Unknown pseudo-header fields, and the pseudo-header checks come first.
    let fields = connect_request_with(&[(":foo", Some("x")), ("sec-websocket-key", Some("k"))]);
    assert_eq!(
        check_connect_request(fields.as_slice()).map(|_| ()),
        Err(UnknownPseudoHeader)
    );
    let fields = connect_request_with(&[(":method", Some("GET")), ("upgrade", Some("websocket"))]);
    assert_eq!(
        check_connect_request(fields.as_slice()).map(|_| ()),
        Err(MethodNotConnect)
    );
    // What is allowed: TE: trailers, a Host beside :authority, http (ws), case-insensitive names,
    // no origin, no offers.
    for ok in [
        connect_request_with(&[("te", Some("trailers"))]),
        connect_request_with(&[("host", Some("server.example.com"))]),
        connect_request_with(&[(":scheme", Some("http"))]),
        connect_request_with(&[
            ("origin", None),
            ("sec-websocket-protocol", None),
            ("sec-websocket-extensions", None),
        ]),
        RFC_8441_REQUEST
            .iter()
            .map(|(n, v)| {
                (
                    if n.starts_with(':') {
                        *n
                    } else {
                        "Sec-WebSocket-Version"
                    },
                    *v,
                )
            })
            .filter(|(n, _)| n.starts_with(':'))
            .chain([("Sec-WebSocket-Version", "13")])
            .collect(),
    ] {
        assert!(check_connect_request(ok.as_slice()).is_ok(), "{ok:?}");
    }
}

#[test]
fn connect_response_errors() {
    use Field::*;
    use HandshakeError::*;
    let offered_subprotocols = ["chat", "superchat"];
    let offered_extensions = ["permessage-deflate; client_max_window_bits"];
    let check = |fields: &[(&str, &str)]| {
        check_connect_response(fields, &offered_subprotocols, &offered_extensions)
            .map(|r| r.subprotocol().map(String::from))
    };
    assert_eq!(check(&[(":status", "200")]), Ok(None));
    assert_eq!(
        check(&[
            (":status", "200"),
            ("sec-websocket-protocol", "superchat"),
            (
                "sec-websocket-extensions",
                "permessage-deflate; client_max_window_bits=10"
            )
        ]),
        Ok(Some("superchat".to_string()))
    );
    let table: &[(&[(&str, &str)], HandshakeError)] = &[
        (
            &[(":status", "403"), ("sec-websocket-accept", "x")],
            UnexpectedStatus(403),
        ),
        (&[(":status", "101")], UnexpectedStatus(101)),
        (&[("sec-websocket-protocol", "chat")], MissingHeader(Status)),
        (&[(":status", "2000")], InvalidPseudoHeader(Status)),
        (
            &[(":status", "200"), (":status", "200")],
            DuplicateHeader(Status),
        ),
        (&[(":status", "200"), (":path", "/")], UnknownPseudoHeader),
        (
            &[
                (":status", "200"),
                ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            ],
            ForbiddenHeader(SecWebSocketAccept),
        ),
        (
            &[(":status", "200"), ("connection", "close")],
            ForbiddenHeader(Connection),
        ),
        (
            &[
                (":status", "200"),
                ("sec-websocket-protocol", "chat, superchat"),
            ],
            MultipleSubprotocols,
        ),
        (
            &[
                (":status", "200"),
                ("sec-websocket-protocol", "chat"),
                ("sec-websocket-protocol", "chat"),
            ],
            DuplicateHeader(SecWebSocketProtocol),
        ),
        (
            &[(":status", "200"), ("sec-websocket-protocol", "a b")],
            InvalidSubprotocol,
        ),
        (
            &[(":status", "200"), ("sec-websocket-extensions", "x;")],
            InvalidExtension,
        ),
        (
            &[(":status", "200"), ("sec-websocket-protocol", "v2.chat")],
            UnexpectedSubprotocol,
        ),
        (
            &[(":status", "200"), ("sec-websocket-extensions", "x-foo")],
            UnexpectedExtension,
        ),
    ];
    let mut seen = HashSet::new();
    for (fields, expected) in table {
        assert_eq!(check(fields), Err(*expected), "{fields:?}");
        assert!(seen.insert(*expected), "{expected:?} is in the table twice");
    }
}

#[test]
fn connect_writers_check_their_input() {
    use Field::*;
    use HandshakeError::*;
    let base = rfc_8441_client();
    let table: &[(ClientConnect<'static>, HandshakeError)] = &[
        (
            ClientConnect {
                scheme: "wss",
                ..base
            },
            InvalidPseudoHeader(Scheme),
        ),
        (
            ClientConnect {
                path: "chat",
                ..base
            },
            InvalidPseudoHeader(Path),
        ),
        (
            ClientConnect {
                authority: "",
                ..base
            },
            InvalidPseudoHeader(Authority),
        ),
        (
            ClientConnect {
                origin: Some(" x"),
                ..base
            },
            InvalidArgument(Field::Origin),
        ),
        (
            ClientConnect {
                subprotocols: &["a b"],
                ..base
            },
            InvalidArgument(Field::SecWebSocketProtocol),
        ),
        (
            ClientConnect {
                extensions: &["a, b"],
                ..base
            },
            InvalidArgument(Field::SecWebSocketExtensions),
        ),
    ];
    for (req, expected) in table {
        assert_eq!(connect_request_headers(req, &mut [0u8; 64]), Err(*expected));
    }
    // "chat, superchat" needs 15 bytes of scratch; one subprotocol and one extension need none.
    assert_eq!(
        connect_request_headers(&base, &mut [0u8; 14]),
        Err(BufferTooSmall { needed: 15 })
    );
    let single = ClientConnect {
        subprotocols: &["chat"],
        ..base
    };
    assert!(connect_request_headers(&single, &mut []).is_ok());
    assert_eq!(
        connect_accept_headers(Some(""), None),
        Err(InvalidArgument(Field::SecWebSocketProtocol))
    );
    assert_eq!(
        connect_accept_headers(None, Some("a;")),
        Err(InvalidArgument(Field::SecWebSocketExtensions))
    );
}

#[test]
fn connect_error_responses() {
    use HandshakeError::*;
    let block = connect_error_headers(&UnsupportedVersion);
    assert_eq!(
        as_strs(&block),
        [(":status", "400"), ("sec-websocket-version", "13")]
    );
    let block = connect_error_headers(&MissingHeader(Field::SecWebSocketVersion));
    assert_eq!(block.get(":status"), Some(&b"400"[..]));
    let block = connect_error_headers(&MethodNotConnect);
    assert_eq!(as_strs(&block), [(":status", "405"), ("allow", "CONNECT")]);
    let block = connect_error_headers(&ForbiddenHeader(Field::Upgrade));
    assert_eq!(as_strs(&block), [(":status", "400")]);
    // A client reads each as a refusal carrying its status.
    for error in [
        UnsupportedVersion,
        MethodNotConnect,
        ProtocolNotWebSocket,
        UnknownPseudoHeader,
    ] {
        let block = connect_error_headers(&error);
        let status = std::str::from_utf8(block.get(":status").unwrap())
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            check_connect_response(block.as_slice(), &[], &[]).map(|_| ()),
            Err(UnexpectedStatus(status))
        );
    }
}

// ----- HTTP/1.1 Upgrade over a header list -----

/// RFC 6455 §1.2, as an HTTP library hands it over.
const RFC_6455_REQUEST: [(&str, &str); 7] = [
    ("Host", "server.example.com"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Origin", "http://example.com"),
    ("Sec-WebSocket-Protocol", "chat, superchat"),
    ("Sec-WebSocket-Version", "13"),
];

#[test]
fn rfc_6455_example_through_the_header_list() {
    let req = check_upgrade_request(b"GET", HttpVersion::HTTP_1_1, &RFC_6455_REQUEST).unwrap();
    assert_eq!(req.host(), "server.example.com");
    assert_eq!(req.origin(), Some("http://example.com"));
    assert_eq!(req.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert!(req.subprotocols().eq(["chat", "superchat"]));
    let accept = req.accept_key();
    let block = upgrade_accept_headers(&accept, Some("chat"), None).unwrap();
    assert_eq!(
        as_strs(&block),
        [
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            ("sec-websocket-protocol", "chat"),
        ]
    );
    let resp = check_upgrade_response(101, block.as_slice(), RFC_KEY, &["chat", "superchat"], &[])
        .unwrap();
    assert_eq!(resp.subprotocol(), Some("chat"));
    assert_eq!(
        check_upgrade_response(101, block.as_slice(), RFC_KEY, &["superchat"], &[]).map(|_| ()),
        Err(HandshakeError::UnexpectedSubprotocol)
    );
    assert_eq!(
        check_upgrade_response(200, block.as_slice(), RFC_KEY, &["chat"], &[]).map(|_| ()),
        Err(HandshakeError::UnexpectedStatus(200))
    );
}

#[test]
fn upgrade_method_version_and_pseudo_headers() {
    use HandshakeError::{MethodNotGet, UnknownPseudoHeader};
    use wsproto::handshake::HttpVersion;
    let check = |method: &[u8], version| {
        check_upgrade_request(method, version, &RFC_6455_REQUEST).map(|_| ())
    };
    assert_eq!(check(b"POST", HttpVersion::HTTP_1_1), Err(MethodNotGet));
    assert_eq!(check(b"get", HttpVersion::HTTP_1_1), Err(MethodNotGet));
    assert_eq!(check(b"POST", HttpVersion::HTTP_1_0), Err(MethodNotGet));
    assert_eq!(
        check(b"GET", HttpVersion::HTTP_1_0),
        Err(HandshakeError::HttpVersion)
    );
    assert_eq!(
        check(b"GET", HttpVersion::HTTP_2),
        Err(HandshakeError::HttpVersion)
    );
    assert_eq!(check(b"GET", HttpVersion { major: 1, minor: 9 }), Ok(()));
    let mut with_pseudo = RFC_6455_REQUEST.to_vec();
    with_pseudo.push((":path", "/chat"));
    assert_eq!(
        check_upgrade_request(b"GET", HttpVersion::HTTP_1_1, with_pseudo.as_slice()).map(|_| ()),
        Err(UnknownPseudoHeader)
    );
    // Values as a library may hand them over, with surrounding whitespace.
    let mut padded = RFC_6455_REQUEST.to_vec();
    padded[6].1 = " 13\t";
    assert!(check_upgrade_request(b"GET", HttpVersion::HTTP_1_1, padded.as_slice()).is_ok());
}

// ----- properties: the header-list path agrees with the raw-head parser -----

/// A head split into its start line's three parts and its `(name, value)` fields, as an HTTP
/// library would hand them over. `None` if a line has no colon.
type Split<'a> = (&'a [u8], &'a [u8], &'a [u8], Vec<(&'a [u8], &'a [u8])>);

fn split_head(head: &[u8]) -> Option<Split<'_>> {
    let head = head.strip_suffix(b"\r\n\r\n")?;
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let mut start = lines.next()?.splitn(3, |&b| b == b' ');
    let (a, b, c) = (start.next()?, start.next()?, start.next()?);
    let fields = lines
        .map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            Some((&line[..colon], &line[colon + 1..]))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((a, b, c, fields))
}

fn join_head(start: [&[u8]; 3], fields: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut head = start.join(&b' ');
    head.extend_from_slice(b"\r\n");
    for (name, value) in fields {
        head.extend_from_slice(name);
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

const TCHARS: &str = "[!#$%&'*+.^_`|~0-9A-Za-z-]";

fn token() -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("{TCHARS}{{1,10}}")).unwrap()
}

/// Names the handshake interprets, in several cases, and a few it does not.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "Host",
            "host",
            "Origin",
            "Upgrade",
            "UPGRADE",
            "Connection",
            "connection",
            "Sec-WebSocket-Key",
            "sec-websocket-key",
            "Sec-WebSocket-Version",
            "Sec-WebSocket-Protocol",
            "sec-websocket-protocol",
            "Sec-WebSocket-Extensions",
            "Sec-WebSocket-Accept",
            "sec-websocket-accept",
            "Cookie",
            "Keep-Alive",
        ])
        .prop_map(String::from),
        token(),
    ]
}

/// Values that matter to some field, and random printable ones.
fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "websocket",
            "WebSocket, h2c",
            "Upgrade",
            "keep-alive, upgrade",
            "close",
            "13",
            "8",
            "13, 8",
            "dGhlIHNhbXBsZSBub25jZQ==",
            "dGhlIHNhbXBsZSBub25jZQ",
            "AQIDBAUGBwgJCgsMDQ4PEC==",
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            "chat",
            "chat, superchat",
            "a b",
            ",",
            "chat,",
            "permessage-deflate",
            "permessage-deflate; client_max_window_bits",
            "x;",
            "x-foo",
            "a=\"b c\"",
            "server.example.com",
            "http://example.com",
            "a b c",
        ])
        .prop_map(String::from),
        proptest::string::string_regex("[!-~]([ -~]{0,12}[!-~])?").unwrap(),
    ]
}

#[derive(Clone, Debug)]
enum Mutation {
    Drop(usize),
    Duplicate(usize),
    Rename(usize, String),
    Revalue(usize, String),
    Insert(usize, String, String),
    Method(&'static str),
    Version(&'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Drop),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), field_name()).prop_map(|(i, n)| Mutation::Rename(i, n)),
        (any::<usize>(), field_value()).prop_map(|(i, v)| Mutation::Revalue(i, v)),
        (any::<usize>(), field_name(), field_value())
            .prop_map(|(i, n, v)| Mutation::Insert(i, n, v)),
        prop::sample::select(vec!["GET", "POST", "get", "CONNECT"]).prop_map(Mutation::Method),
        prop::sample::select(vec![
            "HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/0.9"
        ])
        .prop_map(Mutation::Version),
    ]
}

/// Applies `mutations` to a start line and fields.
fn mutate(
    start: &mut [Vec<u8>; 3],
    fields: &mut Vec<(Vec<u8>, Vec<u8>)>,
    mutations: &[Mutation],
    method_at: usize,
    version_at: usize,
) {
    for m in mutations {
        let len = fields.len();
        match m.clone() {
            Mutation::Drop(i) if len > 0 => {
                fields.remove(i % len);
            }
            Mutation::Duplicate(i) if len > 0 => {
                let f = fields[i % len].clone();
                fields.insert(i % len, f);
            }
            Mutation::Rename(i, n) if len > 0 => fields[i % len].0 = n.into_bytes(),
            Mutation::Revalue(i, v) if len > 0 => fields[i % len].1 = v.into_bytes(),
            Mutation::Insert(i, n, v) => {
                fields.insert(i % (len + 1), (n.into_bytes(), v.into_bytes()))
            }
            Mutation::Method(method) => start[method_at] = method.as_bytes().to_vec(),
            Mutation::Version(version) => start[version_at] = version.as_bytes().to_vec(),
            _ => {}
        }
    }
}

fn owned(fields: &[(&[u8], &[u8])]) -> Vec<(Vec<u8>, Vec<u8>)> {
    fields
        .iter()
        .map(|(n, v)| (n.to_vec(), v.to_vec()))
        .collect()
}

#[derive(Debug, Clone)]
struct RequestCase {
    host: String,
    path: String,
    origin: Option<String>,
    subprotocols: Vec<String>,
    extensions: Vec<String>,
    nonce: [u8; 16],
}

fn request_case() -> impl Strategy<Value = RequestCase> {
    (
        proptest::string::string_regex("[a-z0-9.-]{1,20}(:[0-9]{1,5})?").unwrap(),
        proptest::string::string_regex("/[a-zA-Z0-9/?=&%._~-]{0,20}").unwrap(),
        prop::option::of(proptest::string::string_regex("https?://[a-z]{1,10}").unwrap()),
        prop::collection::vec(token(), 0..4),
        prop::collection::vec(
            prop_oneof![
                token(),
                (token(), token()).prop_map(|(a, b)| format!("{a}; {b}")),
                (token(), token(), token()).prop_map(|(a, b, c)| format!("{a}; {b}=\"{c}\"")),
            ],
            0..3,
        ),
        any::<[u8; 16]>(),
    )
        .prop_map(
            |(host, path, origin, subprotocols, extensions, nonce)| RequestCase {
                host,
                path,
                origin,
                subprotocols,
                extensions,
                nonce,
            },
        )
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// What a checked request exposes, from either path.
#[derive(Debug, PartialEq)]
struct Seen {
    host: String,
    origin: Option<String>,
    key: String,
    accept: [u8; 28],
    subprotocols: Vec<String>,
    extensions: Vec<String>,
}

proptest! {
    #[test]
    fn header_list_requests_agree_with_the_raw_parser(
        case in request_case(),
        mutations in prop::collection::vec(mutation(), 0..4),
    ) {
        let subprotocols = strs(&case.subprotocols);
        let extensions = strs(&case.extensions);
        let req = ClientRequest {
            origin: case.origin.as_deref(),
            subprotocols: &subprotocols,
            extensions: &extensions,
            ..ClientRequest::new(&case.host, &case.path)
        };
        let mut out = [0u8; 1024];
        let n = write_request(&req, &case.nonce, &mut out).unwrap();
        let (method, target, version, fields) = split_head(&out[..n]).unwrap();
        let mut start = [method.to_vec(), target.to_vec(), version.to_vec()];
        let mut fields = owned(&fields);
        mutate(&mut start, &mut fields, &mutations, 0, 2);
        let head = join_head([&start[0], &start[1], &start[2]], &fields);

        let raw = parse_request(&head, &LIMITS).map(|r| {
            let r = r.expect("a whole head");
            Seen {
                host: r.host().into(),
                origin: r.origin().map(Into::into),
                key: r.key().into(),
                accept: r.accept_key(),
                subprotocols: r.subprotocols().map(Into::into).collect(),
                extensions: r.extensions().map(|e| e.as_str().into()).collect(),
            }
        });
        let pairs: Vec<(&[u8], &[u8])> = fields.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        // The HTTP library parsed the version; a malformed one never reaches the list path.
        let Some(version) = HttpVersion::parse(&start[2]) else {
            prop_assert_eq!(raw, Err(HandshakeError::BadRequestLine));
            return Ok(());
        };
        let list = check_upgrade_request(&start[0], version, pairs.as_slice()).map(|r| Seen {
            host: r.host().into(),
            origin: r.origin().map(Into::into),
            key: r.key().into(),
            accept: r.accept_key(),
            subprotocols: r.subprotocols().map(Into::into).collect(),
            extensions: r.extensions().map(|e| e.as_str().into()).collect(),
        });
        prop_assert_eq!(&list, &raw);
        if mutations.is_empty() {
            let seen = list.as_ref().unwrap();
            prop_assert_eq!(&seen.subprotocols, &case.subprotocols);
            prop_assert_eq!(&seen.extensions, &case.extensions);
            prop_assert_eq!(&seen.host, &case.host);
        }
        // The same fields as a HeaderIter over an owned map, and as str pairs.
        let strs: Vec<(&str, &str)> = fields
            .iter()
            .filter_map(|(n, v)| Some((std::str::from_utf8(n).ok()?, std::str::from_utf8(v).ok()?)))
            .collect();
        if strs.len() == fields.len() {
            let again = check_upgrade_request(&start[0], version, strs.as_slice()).map(|r| r.key().to_string());
            prop_assert_eq!(again, list.map(|s| s.key));
        }
    }

    #[test]
    fn header_list_responses_agree_with_the_raw_parser(
        case in request_case(),
        offered_subset in any::<[bool; 8]>(),
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 0..4),
    ) {
        let key = request_key(&case.nonce);
        let subprotocol = (!case.subprotocols.is_empty()).then(|| pick.get(&case.subprotocols).as_str());
        let extensions = case.extensions.join(", ");
        let opts = AcceptOptions {
            subprotocol,
            extensions: (!extensions.is_empty()).then_some(extensions.as_str()),
            headers: &[],
        };
        let mut out = [0u8; 1024];
        let n = write_accept(&accept_key(&key), &opts, &mut out).unwrap();
        let (version, status, reason, fields) = split_head(&out[..n]).unwrap();
        let mut start = [version.to_vec(), status.to_vec(), reason.to_vec()];
        let mut fields = owned(&fields);
        // Method mutations rewrite the reason phrase, which no one reads.
        mutate(&mut start, &mut fields, &mutations, 2, 0);
        let head = join_head([&start[0], &start[1], &start[2]], &fields);
        let offered_subprotocols: Vec<&str> = case.subprotocols.iter().enumerate()
            .filter(|(i, _)| offered_subset[i % 8]).map(|(_, s)| s.as_str()).collect();
        let offered_extensions: Vec<&str> = case.extensions.iter().enumerate()
            .filter(|(i, _)| offered_subset[(i + 4) % 8]).map(|(_, s)| s.as_str()).collect();

        let raw = parse_response(&head, &key, &LIMITS).and_then(|r| {
            let r = r.expect("a whole head");
            check_negotiation(&r, &offered_subprotocols, &offered_extensions)?;
            Ok((r.subprotocol().map(String::from), r.extensions().map(|e| e.as_str().to_string()).collect::<Vec<_>>()))
        });
        let Some(version) = HttpVersion::parse(&start[0]) else {
            prop_assert_eq!(raw, Err(HandshakeError::BadStatusLine));
            return Ok(());
        };
        if !version.can_upgrade() {
            prop_assert_eq!(raw, Err(HandshakeError::HttpVersion));
            return Ok(());
        }
        let pairs: Vec<(&[u8], &[u8])> = fields.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        let list = check_upgrade_response(101, pairs.as_slice(), &key, &offered_subprotocols, &offered_extensions)
            .map(|r| (r.subprotocol().map(String::from), r.extensions().map(|e| e.as_str().to_string()).collect::<Vec<_>>()));
        prop_assert_eq!(list, raw);
    }

    #[test]
    fn written_connect_requests_check_to_the_same_fields(
        case in request_case(),
        https in any::<bool>(),
        reverse in any::<bool>(),
    ) {
        let subprotocols = strs(&case.subprotocols);
        let extensions = strs(&case.extensions);
        let req = ClientConnect {
            scheme: if https { "https" } else { "http" },
            origin: case.origin.as_deref(),
            subprotocols: &subprotocols,
            extensions: &extensions,
            ..ClientConnect::new(&case.host, &case.path)
        };
        let needed = match connect_request_headers(&req, &mut []) {
            Err(HandshakeError::BufferTooSmall { needed }) => needed,
            Ok(_) => 0,
            Err(e) => panic!("{e}"),
        };
        let mut scratch = vec![0u8; needed];
        let block = connect_request_headers(&req, &mut scratch).unwrap();
        let mut fields = block.as_slice().to_vec();
        if reverse {
            fields.reverse();
        }
        let checked = check_connect_request(fields.as_slice()).unwrap();
        prop_assert_eq!(checked.scheme(), req.scheme);
        prop_assert_eq!(checked.authority(), req.authority);
        prop_assert_eq!(checked.path(), req.path);
        prop_assert_eq!(checked.origin(), req.origin);
        prop_assert!(checked.subprotocols().eq(subprotocols.iter().copied()));
        prop_assert!(checked.extensions().map(|e| e.as_str()).eq(extensions.iter().copied()));
        // The server's answer passes the client's check.
        let chosen = checked.subprotocols().last();
        let offers = checked.extensions().next().map(|e| e.as_str());
        let answer = connect_accept_headers(chosen, offers).unwrap();
        let resp = check_connect_response(answer.as_slice(), &subprotocols, &extensions).unwrap();
        prop_assert_eq!(resp.subprotocol(), chosen);
    }
}

/// The client's Upgrade fields for an HTTP library are the fields `write_request` writes, in its
/// order, and the server's header-list checks accept them; the same checks refuse bad input.
#[test]
fn upgrade_request_headers_match_write_request() {
    let req = ClientRequest {
        origin: Some("http://example.com"),
        subprotocols: &["chat", "superchat"],
        extensions: &["permessage-deflate; client_max_window_bits", "x-y"],
        ..ClientRequest::new("server.example.com:8080", "/chat?x=1")
    };
    let nonce = *b"the sample nonce";
    let key = request_key(&nonce);
    let mut scratch = [0u8; 64];
    let block = upgrade_request_headers(&req, &key, &mut scratch).unwrap();

    let mut raw = [0u8; 512];
    let n = write_request(&req, &nonce, &mut raw).unwrap();
    let head = std::str::from_utf8(&raw[..n]).unwrap();
    let written: Vec<(String, String)> = head
        .split("\r\n")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(|line| {
            let (name, value) = line.split_once(": ").unwrap();
            (name.to_ascii_lowercase(), value.to_owned())
        })
        .collect();
    let listed: Vec<(String, String)> = as_strs(&block)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    assert_eq!(listed, written);

    let checked = check_upgrade_request(b"GET", HttpVersion::HTTP_1_1, block.as_slice()).unwrap();
    assert_eq!(checked.key().as_bytes(), key);
    assert_eq!(checked.host(), "server.example.com:8080");

    // One subprotocol and one extension need no scratch.
    let one = ClientRequest {
        subprotocols: &["chat"],
        extensions: &["x-y"],
        ..ClientRequest::new("h", "/")
    };
    assert!(upgrade_request_headers(&one, &key, &mut []).is_ok());
    assert_eq!(
        upgrade_request_headers(&req, &key, &mut [0u8; 4]),
        Err(HandshakeError::BufferTooSmall {
            needed: "chat, superchat".len()
                + "permessage-deflate; client_max_window_bits, x-y".len()
        })
    );
    for (bad, error) in [
        (
            ClientRequest::new("h", "no-slash"),
            HandshakeError::InvalidPath,
        ),
        (
            ClientRequest::new("a b", "/"),
            HandshakeError::InvalidArgument(Field::Host),
        ),
        (
            ClientRequest {
                subprotocols: &["a b"],
                ..ClientRequest::new("h", "/")
            },
            HandshakeError::InvalidArgument(Field::SecWebSocketProtocol),
        ),
        (
            ClientRequest {
                headers: &[("Upgrade", "x")],
                ..ClientRequest::new("h", "/")
            },
            HandshakeError::ReservedHeader { index: 0 },
        ),
    ] {
        assert_eq!(
            upgrade_request_headers(&bad, &key, &mut scratch),
            Err(error)
        );
    }
}
