//! Fewer system calls per message (issue 18): the echoes of messages that arrived in one read
//! go out in one write, a lone message is not delayed, and `set_flush_each` restores a write
//! per flush.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use wsproto_test_support::raw::UPGRADE_REQUEST;
use wsproto_tokio::{Accept, Config, Options, WebSocket};

mod support;

use support::{Counted, Wire};

/// A masked client text frame (fixed key).
fn client_text(text: &str) -> Vec<u8> {
    let key = [9, 8, 7, 6];
    let mut out = vec![0x81, 0x80 | text.len() as u8];
    out.extend_from_slice(&key);
    out.extend(text.bytes().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// A raw client with a server `WebSocket` over a write-counting stream, echoing with
/// `ws.send(message).await` as applications do. Returns the raw client, the server's write
/// counter (the 101 response's writes already subtracted) and the server task.
async fn echo_server(
    flush_each: bool,
) -> (
    DuplexStream,
    Arc<Wire>,
    tokio::task::JoinHandle<WebSocket<Counted<DuplexStream>>>,
) {
    let (mut client, server_io) = tokio::io::duplex(1 << 20);
    let (server_io, wire) = Counted::new(server_io);
    let server = tokio::spawn(async move {
        let mut ws = wsproto_tokio::accept(server_io, Options::from(Config::default()), |_| {
            Ok(Accept::new())
        })
        .await
        .unwrap();
        ws.set_flush_each(flush_each);
        while let Some(Ok(message)) = ws.next().await {
            ws.send(message).await.unwrap();
        }
        ws
    });
    client.write_all(UPGRADE_REQUEST).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(client.read_u8().await.unwrap());
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    // The 101 response's writes do not count.
    wire.writes.store(0, Ordering::SeqCst);
    (client, wire, server)
}

/// Reads `n` echoed text frames of `len` bytes each.
async fn read_echoes(client: &mut DuplexStream, n: usize, len: usize) -> Vec<String> {
    let mut echoes = Vec::new();
    for _ in 0..n {
        let mut frame = vec![0u8; 2 + len];
        tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut frame))
            .await
            .expect("echo not delayed")
            .unwrap();
        assert_eq!(&frame[..2], &[0x81, len as u8]);
        echoes.push(String::from_utf8(frame[2..].to_vec()).unwrap());
    }
    echoes
}

/// Writes 16 text messages at once (one write, so one read for the server) and checks their
/// echoes.
async fn pipeline_sixteen(client: &mut DuplexStream) {
    let messages: Vec<String> = (0..16).map(|i| format!("message {i:02}")).collect();
    let wire: Vec<u8> = messages.iter().flat_map(|m| client_text(m)).collect();
    client.write_all(&wire).await.unwrap();
    assert_eq!(read_echoes(client, 16, 10).await, messages);
}

#[tokio::test]
async fn sixteen_pipelined_messages_are_echoed_in_one_write() {
    let (mut client, counted, _server) = echo_server(false).await;
    pipeline_sixteen(&mut client).await;
    assert_eq!(counted.writes(), 1, "one write for 16 echoes");

    // A lone message afterwards goes out at once, in a write of its own.
    client.write_all(&client_text("alone")).await.unwrap();
    assert_eq!(read_echoes(&mut client, 1, 5).await, ["alone"]);
    assert_eq!(counted.writes(), 2);
}

#[tokio::test]
async fn flush_each_writes_once_per_message() {
    let (mut client, counted, _server) = echo_server(true).await;
    pipeline_sixteen(&mut client).await;
    assert_eq!(counted.writes(), 16);
}
