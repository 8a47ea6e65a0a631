//! The header-list front doors over arbitrary header pairs and pseudo-header fields: HTTP/1.1
//! Upgrade through a list (`check_upgrade_request`, `check_upgrade_response`) and extended
//! CONNECT (`check_connect_request`, `check_connect_response`, `connect_request_headers`).
//!
//! Names and values are drawn from the handshake's vocabulary (pseudo-header fields included)
//! or are arbitrary bytes. Invariants:
//! - no panic;
//! - what a check accepts is what it promises: a key of 16 bytes and its accept value, token
//!   subprotocols, §9.1 extensions, a `/` path, a selection among the offers;
//! - where both apply (token names, field values, a start line that serialises), the raw-head
//!   parser and the header-list path give the same fields or the same error, for requests and
//!   for responses;
//! - a written extended CONNECT checks to the fields it was written from, and its answer passes
//!   the client's check.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsproto::handshake::*;

const NAMES: &[&str] = &[
    ":method",
    ":protocol",
    ":scheme",
    ":path",
    ":authority",
    ":status",
    ":foo",
    "host",
    "Host",
    "origin",
    "upgrade",
    "Connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "Sec-WebSocket-Protocol",
    "sec-websocket-extensions",
    "sec-websocket-accept",
    "keep-alive",
    "te",
    "transfer-encoding",
    "cookie",
];

const VALUES: &[&str] = &[
    "CONNECT",
    "GET",
    "websocket",
    "https",
    "http",
    "/chat",
    "server.example.com",
    "u@h",
    "200",
    "101",
    "13",
    "8",
    "upgrade",
    "keep-alive, Upgrade",
    "dGhlIHNhbXBsZSBub25jZQ==",
    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    "chat, superchat",
    "chat",
    "permessage-deflate; client_max_window_bits",
    "x;",
    "trailers",
    "",
    " a ",
];

#[derive(Arbitrary, Debug)]
enum Text {
    Known(u8),
    Raw(Vec<u8>),
}

impl Text {
    fn bytes(&self, table: &[&'static str]) -> Vec<u8> {
        match self {
            Text::Known(i) => table[usize::from(*i) % table.len()].as_bytes().to_vec(),
            Text::Raw(bytes) => bytes.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    method: Text,
    version: (u8, u8),
    status: u16,
    nonce: [u8; 16],
    fields: Vec<(Text, Text)>,
    offered_subprotocols: Vec<String>,
    offered_extensions: Vec<String>,
    connect: Connect,
}

#[derive(Arbitrary, Debug)]
struct Connect {
    https: bool,
    authority: String,
    path: String,
    origin: Option<String>,
    subprotocols: Vec<String>,
    extensions: Vec<String>,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A name and value that a raw HTTP/1.1 head can carry as they are.
fn serialises(name: &[u8], value: &[u8]) -> bool {
    !name.is_empty()
        && name.iter().all(|&b| is_tchar(b))
        && value
            .iter()
            .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

fn head(start: &[u8], fields: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut head = start.to_vec();
    head.extend_from_slice(b"\r\n");
    for (name, value) in fields {
        head.extend_from_slice(name);
        head.extend_from_slice(b":");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

const UNLIMITED: HeadLimits = HeadLimits {
    max_head_len: usize::MAX,
    max_headers: usize::MAX,
};

fuzz_target!(|input: Input| {
    let method = input.method.bytes(&["GET", "CONNECT", "POST"]);
    let owned: Vec<(Vec<u8>, Vec<u8>)> = input
        .fields
        .iter()
        .take(32)
        .map(|(n, v)| (n.bytes(NAMES), v.bytes(VALUES)))
        .collect();
    let fields: Vec<(&[u8], &[u8])> = owned.iter().map(|(n, v)| (&n[..], &v[..])).collect();
    let version = HttpVersion {
        major: input.version.0 % 4,
        minor: input.version.1 % 3,
    };
    let key = request_key(&input.nonce);
    let offered_subprotocols: Vec<&str> = input
        .offered_subprotocols
        .iter()
        .map(String::as_str)
        .collect();
    let offered_extensions: Vec<&str> = input
        .offered_extensions
        .iter()
        .map(String::as_str)
        .collect();
    let raw_applies = fields.iter().all(|(n, v)| serialises(n, v))
        && !method.is_empty()
        && method.iter().all(|&b| is_tchar(b));

    // HTTP/1.1 Upgrade request.
    let list = check_upgrade_request(&method, version, fields.as_slice());
    if let Ok(req) = &list {
        assert!(decode_key(req.key().as_bytes()).is_some());
        assert_eq!(req.accept_key(), accept_key(req.key().as_bytes()));
        assert!(!req.host().is_empty());
        assert!(
            req.subprotocols()
                .all(|p| !p.is_empty() && p.bytes().all(is_tchar))
        );
        assert!(
            req.extensions()
                .all(|e| ExtensionOffer::parse(e.as_str()).is_some())
        );
    }
    if raw_applies {
        let start = [
            &method[..],
            b" /chat HTTP/",
            &[b'0' + version.major, b'.', b'0' + version.minor],
        ]
        .concat();
        let head = head(&start, &fields);
        let raw = parse_request(&head, &UNLIMITED).map(|r| r.expect("a whole head"));
        match (&raw, &list) {
            (Ok(raw), Ok(list)) => {
                assert_eq!(raw.host(), list.host());
                assert_eq!(raw.origin(), list.origin());
                assert_eq!(raw.key(), list.key());
                assert!(raw.subprotocols().eq(list.subprotocols()));
                assert!(raw.extensions().eq(list.extensions()));
            }
            (Err(raw), Err(list)) => assert_eq!(raw, list),
            (raw, list) => panic!("raw {raw:?}, list {list:?}"),
        }
    }

    // HTTP/1.1 Upgrade response.
    let list = check_upgrade_response(
        input.status,
        fields.as_slice(),
        &key,
        &offered_subprotocols,
        &offered_extensions,
    );
    if let Ok(resp) = &list {
        assert!(
            resp.subprotocol()
                .is_none_or(|p| offered_subprotocols.contains(&p))
        );
        assert_eq!(
            resp.header("sec-websocket-accept"),
            Some(&accept_key(&key)[..])
        );
    }
    if raw_applies && (100..1000).contains(&input.status) {
        let start = format!("HTTP/1.1 {} OK", input.status);
        let head = head(start.as_bytes(), &fields);
        let raw = parse_response(&head, &key, &UNLIMITED)
            .map(|r| r.expect("a whole head"))
            .and_then(|r| {
                check_negotiation(&r, &offered_subprotocols, &offered_extensions)?;
                Ok(r)
            });
        match (&raw, &list) {
            (Ok(raw), Ok(list)) => {
                assert_eq!(raw.subprotocol(), list.subprotocol());
                assert!(raw.extensions().eq(list.extensions()));
            }
            (Err(raw), Err(list)) => assert_eq!(raw, list),
            (raw, list) => panic!("raw {raw:?}, list {list:?}"),
        }
    }

    // Extended CONNECT request and response.
    if let Ok(req) = check_connect_request(fields.as_slice()) {
        assert!(req.path().starts_with('/'));
        assert!(!req.authority().is_empty());
        assert!(matches!(
            req.scheme().to_ascii_lowercase().as_str(),
            "http" | "https"
        ));
        assert!(
            req.subprotocols()
                .all(|p| !p.is_empty() && p.bytes().all(is_tchar))
        );
        assert!(
            req.extensions()
                .all(|e| ExtensionOffer::parse(e.as_str()).is_some())
        );
        assert_eq!(req.header("sec-websocket-key"), None);
    }
    if let Ok(resp) = check_connect_response(
        fields.as_slice(),
        &offered_subprotocols,
        &offered_extensions,
    ) {
        assert!(
            resp.subprotocol()
                .is_none_or(|p| offered_subprotocols.contains(&p))
        );
        assert_eq!(resp.header(":status"), Some(&b"200"[..]));
    }

    // A written extended CONNECT round trip.
    let c = &input.connect;
    let subprotocols: Vec<&str> = c.subprotocols.iter().map(String::as_str).collect();
    let extensions: Vec<&str> = c.extensions.iter().map(String::as_str).collect();
    let client = ClientConnect {
        scheme: if c.https { "https" } else { "http" },
        authority: &c.authority,
        path: &c.path,
        origin: c.origin.as_deref(),
        subprotocols: &subprotocols,
        extensions: &extensions,
    };
    let mut scratch = vec![0u8; 4096];
    if let Ok(block) = connect_request_headers(&client, &mut scratch) {
        let req = check_connect_request(block.as_slice()).expect("a written request checks");
        assert_eq!(req.authority(), client.authority);
        assert_eq!(req.path(), client.path);
        assert_eq!(req.origin(), client.origin);
        assert!(req.subprotocols().eq(subprotocols.iter().copied()));
        assert!(
            req.extensions()
                .map(|e| e.as_str())
                .eq(extensions.iter().map(|e| e.trim_matches([' ', '\t'])))
        );
        let chosen = req.subprotocols().next();
        let answer = connect_accept_headers(chosen, None).expect("a chosen token is valid");
        let resp = check_connect_response(answer.as_slice(), &subprotocols, &extensions)
            .expect("the answer checks");
        assert_eq!(resp.subprotocol(), chosen);
    }
});
