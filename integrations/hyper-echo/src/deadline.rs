//! A deadline on a connection's first bytes, for the time before hyper's own header-read
//! timeout runs.
//!
//! hyper-util's auto builder reads up to 24 bytes to tell the HTTP/2 preface from an HTTP/1.1
//! request before either protocol starts, with no timer: a client that connects and sends
//! nothing, or sends the preface's first bytes slowly, would be held forever. hyper's HTTP/1.1
//! header-read timeout covers the head once that is decided.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// How many bytes decide the version: the length of the HTTP/2 connection preface.
const PREFACE_LEN: usize = 24;

/// A stream whose reads fail with [`io::ErrorKind::TimedOut`] if its first 24 bytes have not
/// arrived by the deadline; after them it is the stream itself.
#[derive(Debug)]
pub(crate) struct FirstBytesDeadline<S> {
    inner: S,
    /// `None` once the first bytes are in.
    deadline: Option<Pin<Box<Sleep>>>,
    read: usize,
}

impl<S> FirstBytesDeadline<S> {
    /// `inner`, whose first bytes must arrive within `timeout` from now.
    pub(crate) fn new(inner: S, timeout: Duration) -> Self {
        FirstBytesDeadline {
            inner,
            deadline: Some(Box::pin(tokio::time::sleep(timeout))),
            read: 0,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FirstBytesDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Some(deadline) = self.deadline.as_mut() {
            if polled.is_pending() && deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no request within the header-read timeout",
                )));
            }
            let read = self.read + (buf.filled().len() - before);
            self.read = read;
            if read >= PREFACE_LEN {
                self.deadline = None;
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FirstBytesDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
