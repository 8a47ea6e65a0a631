//! The server's request parser over arbitrary bytes, split points and limits.
//!
//! The first `CONFIG_LEN` bytes choose the limits and the split points (through `arbitrary`); the
//! rest is the head (run with `-- -dict=handshake.dict` for header names and tokens). Invariants:
//! - no panic;
//! - feeding the bytes to a `HeadScanner` in pieces gives exactly the one-shot result;
//! - a parsed request ends in CRLF CRLF at `head_len`, bytes after it do not matter, and one byte
//!   less is incomplete;
//! - a parsed request, re-serialised by `write_request` from its fields, key and non-reserved
//!   headers, parses to the same fields; `write_request` reports the exact size it needs;
//! - every error has a response (`write_error_response`) that a client reads as that status.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use wsproto::handshake::*;

/// Bytes at the front of the input that configure the run; seeds start with this many zeros.
const CONFIG_LEN: usize = 9;

#[derive(Arbitrary, Debug, Default)]
struct Config {
    /// Use `max_head_len` and `max_headers` instead of the defaults.
    small_limits: bool,
    max_head_len: u16,
    max_headers: u8,
    /// Seeds the split points.
    split_seed: u32,
    split_count: u8,
}

fn split_points(config: &Config, len: usize) -> Vec<usize> {
    let mut state = config.split_seed | 1;
    let mut ends: Vec<usize> = (0..config.split_count % 32)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as usize % (len + 1)
        })
        .collect();
    ends.sort_unstable();
    ends.push(len);
    ends
}

fn is_reserved(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["host", "upgrade", "connection", "origin"].contains(&name.as_str())
        || name.starts_with("sec-websocket-")
}

fuzz_target!(|data: &[u8]| {
    let (config_bytes, head) = data.split_at(data.len().min(CONFIG_LEN));
    let config = Config::arbitrary(&mut Unstructured::new(config_bytes)).unwrap_or_default();
    let limits = if config.small_limits {
        HeadLimits {
            max_head_len: config.max_head_len.into(),
            max_headers: config.max_headers.into(),
        }
    } else {
        HeadLimits::DEFAULT
    };

    let one_shot = parse_request(head, &limits);

    let mut scanner = HeadScanner::new();
    let mut fed = Ok(None);
    for end in split_points(&config, head.len()) {
        fed = scanner.parse_request(&head[..end], &limits);
        if fed != Ok(None) {
            break;
        }
    }
    assert_eq!(fed, one_shot);

    match one_shot {
        Ok(None) => {}
        Ok(Some(req)) => check_request(head, &req, &limits),
        Err(error) => {
            let mut out = [0u8; 256];
            let n = write_error_response(&error, &mut out).expect("error responses are short");
            assert_eq!(
                parse_response(&out[..n], b"dGhlIHNhbXBsZSBub25jZQ==", &HeadLimits::DEFAULT),
                Err(HandshakeError::UnexpectedStatus(error.response_status()))
            );
        }
    }
});

fn check_request(buf: &[u8], req: &Request<'_>, limits: &HeadLimits) {
    let len = req.head_len();
    assert!(buf[..len].ends_with(b"\r\n\r\n"));
    assert_eq!(parse_request(&buf[..len], limits), Ok(Some(*req)));
    assert_eq!(parse_request(&buf[..len - 1], limits), Ok(None));

    // Re-serialise: everything the parser interprets goes through ClientRequest's fields.
    let nonce = decode_key(req.key().as_bytes()).expect("a parsed key decodes to 16 bytes");
    let subprotocols: Vec<&str> = req.subprotocols().collect();
    let extensions: Vec<&str> = req.extensions().map(|e| e.as_str()).collect();
    let mut headers = Vec::new();
    for (name, value) in req.headers().filter(|(name, _)| !is_reserved(name)) {
        let Ok(value) = std::str::from_utf8(value) else {
            return; // obs-text that is not UTF-8 cannot be given to the writer
        };
        headers.push((name, value));
    }
    let client = ClientRequest {
        host: req.host(),
        path: req.path(),
        origin: req.origin(),
        subprotocols: &subprotocols,
        extensions: &extensions,
        headers: &headers,
    };
    let needed = match write_request(&client, &nonce, &mut []) {
        Err(HandshakeError::BufferTooSmall { needed }) => needed,
        other => panic!("{other:?} for {client:?}"),
    };
    let mut out = vec![0u8; needed];
    assert_eq!(
        write_request(&client, &nonce, &mut out[..needed - 1]),
        Err(HandshakeError::BufferTooSmall { needed })
    );
    assert_eq!(write_request(&client, &nonce, &mut out), Ok(needed));

    // Header lines may have grown (a space after each colon), so the limits are lifted.
    let unlimited = HeadLimits {
        max_head_len: usize::MAX,
        max_headers: usize::MAX,
    };
    let again = parse_request(&out, &unlimited)
        .expect("a written request parses")
        .expect("and is complete");
    assert_eq!(again.head_len(), needed);
    assert_eq!(again.host(), req.host());
    assert_eq!(again.path(), req.path());
    assert_eq!(again.origin(), req.origin());
    assert_eq!(decode_key(again.key().as_bytes()), Some(nonce));
    assert!(again.subprotocols().eq(req.subprotocols()));
    assert!(again.extensions().eq(req.extensions()));
    assert!(
        again
            .headers()
            .filter(|(name, _)| !is_reserved(name))
            .eq(req.headers().filter(|(name, _)| !is_reserved(name)))
    );
}
