//! Fewer system calls per message (issue 18): the echoes of messages that arrived in one read
//! go out in one write, a lone message is not delayed, and `set_flush_each` restores a write
//! per flush.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use wsproto_tokio::{Accept, Config, Options, WebSocket};

/// A stream that counts the writes made to it.
struct CountingWrites {
    inner: DuplexStream,
    writes: Arc<AtomicUsize>,
}

impl AsyncRead for CountingWrites {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountingWrites {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if polled.is_ready() {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
        polled
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

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
    Arc<AtomicUsize>,
    tokio::task::JoinHandle<WebSocket<CountingWrites>>,
) {
    let (mut client, server_io) = tokio::io::duplex(1 << 20);
    let writes = Arc::new(AtomicUsize::new(0));
    let server_io = CountingWrites {
        inner: server_io,
        writes: writes.clone(),
    };
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
    client
        .write_all(
            b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(client.read_u8().await.unwrap());
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    writes.store(0, Ordering::SeqCst);
    (client, writes, server)
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

#[tokio::test]
async fn sixteen_pipelined_messages_are_echoed_in_one_write() {
    let (mut client, writes, _server) = echo_server(false).await;
    let messages: Vec<String> = (0..16).map(|i| format!("message {i:02}")).collect();
    let wire: Vec<u8> = messages.iter().flat_map(|m| client_text(m)).collect();
    client.write_all(&wire).await.unwrap();
    assert_eq!(read_echoes(&mut client, 16, 10).await, messages);
    assert_eq!(writes.load(Ordering::SeqCst), 1, "one write for 16 echoes");

    // A lone message afterwards goes out at once, in a write of its own.
    client.write_all(&client_text("alone")).await.unwrap();
    assert_eq!(read_echoes(&mut client, 1, 5).await, ["alone"]);
    assert_eq!(writes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn flush_each_writes_once_per_message() {
    let (mut client, writes, _server) = echo_server(true).await;
    let messages: Vec<String> = (0..16).map(|i| format!("message {i:02}")).collect();
    let wire: Vec<u8> = messages.iter().flat_map(|m| client_text(m)).collect();
    client.write_all(&wire).await.unwrap();
    assert_eq!(read_echoes(&mut client, 16, 10).await, messages);
    assert_eq!(writes.load(Ordering::SeqCst), 16);
}
