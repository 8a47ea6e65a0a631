//! What several of this adapter's tests share: a stream that counts what crosses it.
// Each test binary uses a part of it.
#![allow(dead_code)]

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

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
