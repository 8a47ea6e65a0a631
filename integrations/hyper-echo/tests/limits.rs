//! The echo server's production limits over 127.0.0.1: the header-read timeout against slow
//! clients (slowloris) while a normal client is served, the head limits of the `Config`
//! through the http door (431), and the idle timeout of a socket.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::unbounded_channel;
use tokio::time::{sleep, timeout};
use wsproto_hyper_echo::{Server, SocketLog};
use wsproto_tokio::{ClientRequest, Config, Message};

mod common;
use common::echo_each_then_close;

/// The header-read timeout of the slowloris test.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(2);

async fn start(server: Server) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server.serve(listener, None));
    addr
}

/// wsproto-tokio's client, connected to `addr`.
async fn client(addr: SocketAddr) -> wsproto_tokio::WebSocket<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    // A fixed mask: fine for a test, never in production.
    let entropy = |buf: &mut [u8]| buf.fill(0x5a);
    let request = ClientRequest::new("127.0.0.1", "/");
    wsproto_tokio::connect(tcp, &request, Config::default(), entropy)
        .await
        .unwrap()
}

/// A valid upgrade request head with `extra` header lines.
fn upgrade_head(extra: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Sends `head` one byte per second (nothing at all if `silent`) until the server closes the
/// connection; returns how long it was held. Gives up after 10 s.
async fn dribble(addr: SocketAddr, silent: bool) -> Duration {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let (mut read, mut write) = tcp.into_split();
    let head = upgrade_head("");
    let writer = async {
        for byte in head.bytes().filter(|_| !silent) {
            if write.write_all(&[byte]).await.is_err() {
                break;
            }
            sleep(Duration::from_secs(1)).await;
        }
        std::future::pending::<()>().await;
    };
    let closed = async {
        let mut buf = [0u8; 1024];
        while let Ok(n) = read.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    let held = timeout(Duration::from_secs(10), async {
        tokio::select! {
            () = closed => {}
            () = writer => {}
        }
    })
    .await;
    assert!(held.is_ok(), "a slow client was held over 10 s");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_closed_within_the_header_read_timeout_and_others_served() {
    let server = Server::new(Config::default()).with_header_read_timeout(HEADER_READ_TIMEOUT);
    let addr = start(server).await;
    let run = async {
        let slow: Vec<_> = (0..200)
            .map(|i| tokio::spawn(dribble(addr, i % 20 == 0)))
            .collect();
        // A normal client, while the 200 are held.
        sleep(Duration::from_millis(500)).await;
        let started = Instant::now();
        let mut ws = client(addr).await;
        echo_each_then_close(&mut ws, [Message::Text("served meanwhile".into())]).await;
        let served_in = started.elapsed();
        let mut held = Vec::new();
        for client in slow {
            held.push(client.await.unwrap());
        }
        (served_in, held)
    };
    let (served_in, held) = timeout(Duration::from_secs(20), run)
        .await
        .expect("the test ends within 20 s");
    let (shortest, longest) = (held.iter().min().unwrap(), held.iter().max().unwrap());
    println!(
        "normal client served in {served_in:?}; 200 slow clients (10 silent) held {shortest:?} to {longest:?}"
    );
    assert!(served_in < HEADER_READ_TIMEOUT, "{served_in:?}");
    // Each was closed at the timeout (with a margin for two busy cores), not before.
    assert!(
        *shortest >= HEADER_READ_TIMEOUT - Duration::from_millis(100),
        "{shortest:?}"
    );
    assert!(
        *longest < HEADER_READ_TIMEOUT + Duration::from_millis(1500),
        "{longest:?}"
    );
}

/// Sends `head` and returns the response head.
async fn response_head(addr: SocketAddr, head: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // The server may answer before it has read everything: ignore a failed write.
    let _ = tcp.write_all(head.as_bytes()).await;
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    let _ = timeout(Duration::from_secs(10), async {
        while !response.windows(4).any(|w| w == b"\r\n\r\n") {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn heads_over_the_config_limits_are_refused_431() {
    let (log, mut lines) = unbounded_channel();
    let addr = start(Server::new(Config::default()).with_log(log)).await;
    // A 100 KiB header line: hyper reads it (its buffer is ~400 KiB), the http door refuses it.
    let long = format!("X-Long: {}\r\n", "a".repeat(100 << 10));
    let response = response_head(addr, &upgrade_head(&long)).await;
    assert!(response.starts_with("HTTP/1.1 431 "), "{response}");
    let refused = timeout(Duration::from_secs(5), lines.recv()).await.unwrap();
    assert!(
        matches!(refused, Some(SocketLog::Refused { status: 431, .. })),
        "{refused:?}"
    );
    // 10,000 header lines: refused 431 (by hyper's own limit of 100 before the door's 64).
    let many: String = (0..10_000).map(|i| format!("X-{i}: v\r\n")).collect();
    let response = response_head(addr, &upgrade_head(&many)).await;
    assert!(response.starts_with("HTTP/1.1 431 "), "{response}");
    // At the door's edge: 64 header lines pass, 65 are refused.
    let extra = |n: usize| (0..n).map(|i| format!("X-{i}: v\r\n")).collect::<String>();
    let response = response_head(addr, &upgrade_head(&extra(64 - 5))).await;
    assert!(response.starts_with("HTTP/1.1 101 "), "{response}");
    let response = response_head(addr, &upgrade_head(&extra(65 - 5))).await;
    assert!(response.starts_with("HTTP/1.1 431 "), "{response}");
}

#[tokio::test]
async fn an_idle_socket_is_closed_with_1001() {
    let idle = Duration::from_secs(1);
    let addr = start(Server::new(Config::default()).with_idle_timeout(Some(idle))).await;
    let mut ws = client(addr).await;
    let started = Instant::now();
    let end = timeout(Duration::from_secs(10), ws.next()).await.unwrap();
    let waited = started.elapsed();
    assert!(end.is_none(), "{end:?}");
    let info = ws.close_info().unwrap();
    assert_eq!((info.code.0, info.clean), (1001, true));
    assert!(waited >= idle && waited < idle * 3, "{waited:?}");
}
