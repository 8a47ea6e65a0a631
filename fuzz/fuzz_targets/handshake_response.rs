//! The client's response parser over arbitrary bytes, split points and limits, for the request key
//! of RFC 6455 §1.3 (`dGhlIHNhbXBsZSBub25jZQ==`; seeds carry its accept value).
//!
//! The first `CONFIG_LEN` bytes choose the limits and the split points (through `arbitrary`); the
//! rest is the head (run with `-- -dict=handshake.dict` for header names and tokens). Invariants:
//! - no panic;
//! - feeding the bytes to a `HeadScanner` in pieces gives exactly the one-shot result;
//! - a parsed response ends in CRLF CRLF at `head_len`, and one byte less is incomplete;
//! - a parsed response, re-written by `write_accept` from its subprotocol, extensions and
//!   non-reserved headers, parses to the same and passes `check_negotiation` for what it selected.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use wsproto::handshake::*;

/// Bytes at the front of the input that configure the run; seeds start with this many zeros.
const CONFIG_LEN: usize = 9;

const KEY: &[u8; 24] = b"dGhlIHNhbXBsZSBub25jZQ==";

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
    [
        "upgrade",
        "connection",
        "content-length",
        "transfer-encoding",
    ]
    .contains(&name.as_str())
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

    let one_shot = parse_response(head, KEY, &limits);

    let mut scanner = HeadScanner::new();
    let mut fed = Ok(None);
    for end in split_points(&config, head.len()) {
        fed = scanner.parse_response(&head[..end], KEY, &limits);
        if fed != Ok(None) {
            break;
        }
    }
    assert_eq!(fed, one_shot);

    if let Ok(Some(resp)) = one_shot {
        check_response(head, &resp, &limits);
    }
});

fn check_response(buf: &[u8], resp: &Response<'_>, limits: &HeadLimits) {
    let len = resp.head_len();
    assert!(buf[..len].ends_with(b"\r\n\r\n"));
    assert_eq!(parse_response(&buf[..len], KEY, limits), Ok(Some(*resp)));
    assert_eq!(parse_response(&buf[..len - 1], KEY, limits), Ok(None));

    let offers: Vec<&str> = resp.extensions().map(|e| e.as_str()).collect();
    let joined = offers.join(", ");
    let mut headers = Vec::new();
    for (name, value) in resp.headers().filter(|(name, _)| !is_reserved(name)) {
        let Ok(value) = std::str::from_utf8(value) else {
            return; // obs-text that is not UTF-8 cannot be given to the writer
        };
        headers.push((name, value));
    }
    let opts = AcceptOptions {
        subprotocol: resp.subprotocol(),
        extensions: (!offers.is_empty()).then_some(joined.as_str()),
        headers: &headers,
    };
    let accept = accept_key(KEY);
    let needed = match write_accept(&accept, &opts, &mut []) {
        Err(HandshakeError::BufferTooSmall { needed }) => needed,
        other => panic!("{other:?} for {opts:?}"),
    };
    let mut out = vec![0u8; needed];
    assert_eq!(write_accept(&accept, &opts, &mut out), Ok(needed));

    let unlimited = HeadLimits {
        max_head_len: usize::MAX,
        max_headers: usize::MAX,
    };
    let again = parse_response(&out, KEY, &unlimited)
        .expect("a written response parses")
        .expect("and is complete");
    assert_eq!(again.head_len(), needed);
    assert_eq!(again.subprotocol(), resp.subprotocol());
    assert!(again.extensions().eq(resp.extensions()));
    assert!(
        again
            .headers()
            .filter(|(name, _)| !is_reserved(name))
            .eq(resp.headers().filter(|(name, _)| !is_reserved(name)))
    );
    let offered: Vec<&str> = resp.subprotocol().into_iter().collect();
    let names: Vec<&str> = resp.extensions().map(|e| e.name()).collect();
    assert_eq!(check_negotiation(&again, &offered, &names), Ok(()));
}
