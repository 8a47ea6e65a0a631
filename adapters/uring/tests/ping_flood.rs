//! A ping flood (issue 15) against an echo server on this adapter: a peer on 127.0.0.1 sends
//! 200,000 pings and never reads. The server must answer them in bounded memory — no read is
//! submitted while its unsent pongs are over the session's high-water mark, so the peer's
//! socket fills and TCP pushes back — and still serve a new client meanwhile.
//!
//! Memory is the process's peak resident set (`VmHWM` in /proc/self/status, reset through
//! /proc/self/clear_refs once the server runs and the flooder is connected), against what was
//! resident at that point. Everything the flooding peer needs is allocated before.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use tungstenite::Message as TMessage;
use tungstenite::stream::MaybeTlsStream;
use wsproto_uring::Config;

mod support;

const PINGS: usize = 200_000;
/// Pings per write of the flooding peer.
const BATCH: usize = 500;
/// A write that makes no progress for this long means the server stopped reading.
const STALLED: Duration = Duration::from_secs(2);
const LIMIT_KIB: u64 = 2 * 1024;

/// A `kB` field of /proc/self/status.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Starts a new peak (`VmHWM`) at what is resident now, and returns that.
fn reset_peak() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    status_kib("VmRSS:")
}

/// `BATCH` pings with the longest payload (125 bytes), masked with a zero key (the mask bit
/// must be set; a zero key leaves the payload as it is).
fn ping_batch() -> Vec<u8> {
    let mut ping = vec![0x89, 0x80 | 125, 0, 0, 0, 0];
    ping.extend((0..125u8).map(|i| i.wrapping_mul(3)));
    ping.repeat(BATCH)
}

#[test]
fn a_ping_flood_grows_the_server_by_less_than_2_mib_and_it_still_serves() {
    let port = support::echo_server(Config::default().into(), || {});
    let (mut flooder, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}/")).unwrap();
    let MaybeTlsStream::Plain(raw) = flooder.get_mut() else {
        unreachable!("plain TCP")
    };
    raw.set_write_timeout(Some(STALLED)).unwrap();
    let batch = ping_batch();
    let before = reset_peak();
    let started = Instant::now();
    let mut sent = 0;
    while sent < PINGS {
        match raw.write_all(&batch) {
            Ok(()) => sent += BATCH,
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(err) => panic!("the server failed the flooding connection: {err}"),
        }
    }
    // Let the server take what is in flight, then look at the peak.
    thread::sleep(Duration::from_millis(500));
    let growth = status_kib("VmHWM:").saturating_sub(before);
    println!(
        "about {sent} of {PINGS} pings sent in {:?} before the server pushed back; \
         peak resident growth {growth} KiB",
        started.elapsed()
    );
    assert!(sent >= 2 * BATCH, "the server took only {sent} pings");
    assert!(
        growth < LIMIT_KIB,
        "the server grew by {growth} KiB under the flood"
    );

    // A new client is served while the flooder still holds its connection, unread.
    let (mut client, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}/")).unwrap();
    let MaybeTlsStream::Plain(stream) = client.get_mut() else {
        unreachable!("plain TCP")
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    client.send(TMessage::text("still there?")).unwrap();
    assert_eq!(client.read().unwrap(), TMessage::text("still there?"));
    client.close(None).unwrap();
    drop::<TcpStream>(match flooder.into_inner() {
        MaybeTlsStream::Plain(stream) => stream,
        _ => unreachable!("plain TCP"),
    });
}
