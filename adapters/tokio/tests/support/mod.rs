//! What several of this adapter's tests share: an echo server on its own runtime, a stream that
//! counts what crosses it, the check that a ping is answered.
// Each test binary uses a part of it.
#![allow(dead_code)]

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::runtime::Runtime;
use wsproto_tokio::{Accept, Message, Options, WebSocket};

/// Starts a runtime on two worker threads with an echo server on 127.0.0.1: a task per
/// connection, accepted with `options`, echoing until the connection ends. Returns the runtime
/// (the server stops with it) and the port.
pub fn echo_server(options: Options) -> (Runtime, u16) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let accepted = wsproto_tokio::accept(stream, options, |_| Ok(Accept::new()));
                let Ok(mut ws) = accepted.await else { return };
                while let Some(Ok(message)) = ws.next().await {
                    if ws.send(message).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (runtime, port)
}

/// Sends a ping with `payload`, then a text message that the peer echoes: checks that the
/// echo arrives, and that the pong, which came before it, carried `payload`.
pub async fn assert_ping_answered<S>(ws: &mut WebSocket<S>, payload: &[u8])
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    ws.ping(payload).await.unwrap();
    ws.send("marker".into()).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Text("marker".into())
    );
    assert_eq!(ws.last_pong(), Some(payload));
}

/// What crossed a [`Counted`] stream.
#[derive(Debug, Default)]
pub struct Wire {
    /// Writes made (each `poll_write` that completed).
    pub writes: AtomicUsize,
    /// Bytes written.
    pub written: AtomicUsize,
    /// Bytes read.
    pub read: AtomicUsize,
}

impl Wire {
    /// Writes made so far.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// Bytes read and written so far.
    pub fn bytes(&self) -> (usize, usize) {
        (
            self.read.load(Ordering::SeqCst),
            self.written.load(Ordering::SeqCst),
        )
    }
}

/// A stream that counts its writes and the bytes each way, in a [`Wire`] shared with the test.
pub struct Counted<S> {
    inner: S,
    wire: Arc<Wire>,
}

impl<S> Counted<S> {
    /// `inner`, counted; and its counters.
    pub fn new(inner: S) -> (Self, Arc<Wire>) {
        let wire = Arc::new(Wire::default());
        let counted = Counted {
            inner,
            wire: wire.clone(),
        };
        (counted, wire)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.wire.read.fetch_add(n, Ordering::SeqCst);
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(written) = &polled {
            self.wire.writes.fetch_add(1, Ordering::SeqCst);
            if let Ok(n) = written {
                self.wire.written.fetch_add(*n, Ordering::SeqCst);
            }
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
