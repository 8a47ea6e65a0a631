//! Handshake heads captured from real peers (tests/vectors/handshake/, see its README for how):
//! every request they send is accepted with the right fields, every 101 they answer is accepted,
//! every rejection is reported with its status, and a wsproto server declines their
//! permessage-deflate offers.

use std::fs;
use std::path::PathBuf;

use wsproto::config::Config;
use wsproto::connection::{Connection, Event};
use wsproto::handshake::{
    AcceptOptions, HandshakeError, HeadLimits, parse_request, parse_response,
};
use wsproto::time::Instant;

fn vector(name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "vectors",
        "handshake",
        name,
    ]
    .iter()
    .collect();
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (file, offers permessage-deflate, offered subprotocols)
const REQUESTS: &[(&str, bool, &[&str])] = &[
    ("python-websockets-request.bin", true, &[]),
    (
        "python-websockets-request-subprotocols.bin",
        true,
        &["chat", "superchat"],
    ),
    ("node-ws-request.bin", true, &[]),
    (
        "node-ws-request-subprotocols.bin",
        true,
        &["chat", "superchat"],
    ),
    ("tungstenite-request.bin", false, &[]),
    (
        "tungstenite-request-subprotocols.bin",
        false,
        &["chat", "superchat"],
    ),
    ("chromium-request.bin", true, &[]),
    (
        "chromium-request-subprotocols.bin",
        true,
        &["chat", "superchat"],
    ),
];

#[test]
fn every_captured_request_parses_with_its_fields() {
    for &(name, deflate, protocols) in REQUESTS {
        let bytes = vector(name);
        let request = parse_request(&bytes, &HeadLimits::DEFAULT)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: incomplete"));
        assert_eq!(request.head_len(), bytes.len(), "{name}");
        assert!(
            request.path().starts_with("/chat"),
            "{name}: {}",
            request.path()
        );
        assert!(request.host().starts_with("127.0.0.1:"), "{name}");
        assert_eq!(
            request.subprotocols().collect::<Vec<_>>(),
            protocols,
            "{name}"
        );
        let extensions: Vec<_> = request.extensions().map(|e| e.name()).collect();
        assert_eq!(
            extensions.contains(&"permessage-deflate"),
            deflate,
            "{name}"
        );
        assert_eq!(request.key().len(), 24, "{name}");
    }
    // Only the browser sends an Origin.
    let chromium = vector("chromium-request.bin");
    let request = parse_request(&chromium, &HeadLimits::DEFAULT)
        .unwrap()
        .unwrap();
    assert!(
        request
            .origin()
            .is_some_and(|o| o.starts_with("http://127.0.0.1:"))
    );
}

#[test]
fn a_wsproto_server_accepts_every_captured_request_and_declines_deflate() {
    for &(name, _, protocols) in REQUESTS {
        let mut bytes = vector(name);
        let len = bytes.len();
        let mut server = Connection::server(Config::DEFAULT, Instant::from_millis(0)).unwrap();
        // Fed one byte more at a time, as a slow peer would send it.
        let mut chosen = None;
        for end in 1..=len {
            let r = server.receive(&mut bytes[..end], Instant::from_millis(0));
            match r.event {
                None => assert!(end < len, "{name}: complete head not recognised"),
                Some(Event::Request(request)) => {
                    assert_eq!((end, r.consumed), (len, len), "{name}");
                    chosen = request
                        .subprotocols()
                        .any(|p| p == "superchat")
                        .then_some("superchat");
                    break;
                }
                Some(other) => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(chosen.is_some(), !protocols.is_empty(), "{name}");
        let mut out = [0u8; 512];
        let options = AcceptOptions {
            subprotocol: chosen,
            ..AcceptOptions::default()
        };
        let n = server.accept(&options, &mut out).unwrap();
        let response = std::str::from_utf8(&out[..n]).unwrap().to_ascii_lowercase();
        assert!(response.starts_with("http/1.1 101 "), "{name}");
        assert!(
            !response.contains("sec-websocket-extensions"),
            "{name}: compression is declined"
        );
        assert_eq!(
            response.contains("sec-websocket-protocol: superchat\r\n"),
            chosen.is_some(),
            "{name}"
        );
    }
}

#[test]
fn every_captured_101_is_accepted() {
    // The probe sent Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ== (RFC 6455 §1.3).
    let key = *b"dGhlIHNhbXBsZSBub25jZQ==";
    for peer in ["python-websockets", "node-ws", "tungstenite"] {
        for (suffix, protocol) in [
            ("response", None),
            ("response-subprotocol", Some("chat")),
            ("response-deflate", None),
        ] {
            let name = format!("{peer}-{suffix}.bin");
            let bytes = vector(&name);
            let response = parse_response(&bytes, &key, &HeadLimits::DEFAULT)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .unwrap_or_else(|| panic!("{name}: incomplete"));
            assert_eq!(response.head_len(), bytes.len(), "{name}");
            assert_eq!(response.subprotocol(), protocol, "{name}");
        }
    }
    // websockets accepts deflate by default and says so.
    let bytes = vector("python-websockets-response-deflate.bin");
    let response = parse_response(&bytes, &key, &HeadLimits::DEFAULT)
        .unwrap()
        .unwrap();
    let offer = response.extensions().next().expect("an extension");
    assert_eq!(offer.name(), "permessage-deflate");
    let params: Vec<_> = offer
        .params()
        .map(|(name, value)| (name, value.and_then(|v| v.as_str())))
        .collect();
    assert_eq!(
        params,
        [
            ("server_max_window_bits", Some("12")),
            ("client_max_window_bits", Some("12"))
        ]
    );
}

#[test]
fn captured_rejections_report_their_status() {
    let key = *b"dGhlIHNhbXBsZSBub25jZQ==";
    for (name, expected) in [
        ("python-websockets-reject-version.bin", Some(400)),
        ("python-websockets-reject-version-7.bin", Some(400)),
        ("node-ws-reject-version-7.bin", Some(400)),
        // ws accepts version 8 with a 101.
        ("node-ws-reject-version.bin", None),
    ] {
        let bytes = vector(name);
        match (parse_response(&bytes, &key, &HeadLimits::DEFAULT), expected) {
            (Err(HandshakeError::UnexpectedStatus(status)), Some(want)) => {
                assert_eq!(status, want, "{name}")
            }
            (Ok(Some(_)), None) => {}
            (other, _) => panic!("{name}: {other:?}"),
        }
    }
    // tungstenite closes without a byte: never a complete head.
    for name in [
        "tungstenite-reject-version.bin",
        "tungstenite-reject-version-7.bin",
    ] {
        let bytes = vector(name);
        assert!(bytes.is_empty());
        assert_eq!(
            parse_response(&bytes, &key, &HeadLimits::DEFAULT).map(|r| r.is_some()),
            Ok(false)
        );
    }
}
