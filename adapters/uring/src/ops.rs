//! The io_uring operations in flight for one connection: at most one read, one write (or the
//! shutdown of the write side) and one timer, each owning what the kernel works on.
//!
//! An operation is kept here, not in the future of the call that started it, so that a call
//! dropped half-way (a `select` that took another branch) cancels nothing: the next call polls
//! the same operation on. Submitting an operation only queues it in the ring's submission queue;
//! the runtime submits the queue when the thread waits, so a write submitted by `send` and the
//! read submitted by the following `next` reach the kernel in one `io_uring_enter`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use compio::BufResult;
use compio::io::{AsyncRead, AsyncWrite};
use wsproto::time::Instant;

use crate::BoxedSession;

/// A socket the adapter can run on: compio's `TcpStream` and `UnixStream` (and anything
/// reading and writing owned buffers whose clones share one socket, so that a read and a write
/// can be in flight at once).
pub trait Transport: AsyncRead + AsyncWrite + Clone + 'static {}

impl<T: AsyncRead + AsyncWrite + Clone + 'static> Transport for T {}

/// An operation in flight.
type Op<T> = Pin<Box<dyn Future<Output = T>>>;

/// What an operation on the write side gives back.
enum Written {
    Wrote(BufResult<usize, Vec<u8>>),
    ShutDown,
}

/// What completed.
pub(crate) enum Progress {
    /// The first `n` bytes of the output were written.
    Wrote(usize),
    /// The write side is shut down.
    ShutDown,
    /// `n` bytes were read, in [`Ops::read_bytes`]; 0 is the end of input.
    Read(usize),
    /// The timer armed for this deadline fired.
    Due(Instant),
    /// The socket failed: nothing more is read or written.
    Failed(io::Error),
}

/// The operations of one connection, and its socket.
pub(crate) struct Ops<S> {
    stream: S,
    read_size: usize,
    reading: Option<Op<BufResult<usize, Vec<u8>>>>,
    /// The read buffer while no read owns it; its first bytes are the last read's.
    read_buf: Vec<u8>,
    /// The end of input was read, or the socket failed.
    read_done: bool,
    writing: Option<Op<Written>>,
    /// The write buffer while no write owns it.
    write_buf: Vec<u8>,
    /// The write side is shut down, or the socket failed.
    write_done: bool,
    /// The timer and the deadline it was armed for.
    timer: Option<(Instant, Op<()>)>,
}

impl<S> Ops<S> {
    pub(crate) fn stream(&self) -> &S {
        &self.stream
    }
}

impl<S: Transport> Ops<S> {
    pub(crate) fn new(stream: S, read_size: usize) -> Self {
        Ops {
            stream,
            read_size,
            reading: None,
            read_buf: Vec::new(),
            read_done: false,
            writing: None,
            write_buf: Vec::new(),
            write_done: false,
            timer: None,
        }
    }

    /// A write (or the shutdown) is in flight.
    pub(crate) fn writing(&self) -> bool {
        self.writing.is_some()
    }

    /// The bytes the last read brought.
    pub(crate) fn read_bytes(&self, n: usize) -> &[u8] {
        &self.read_buf[..n]
    }

    /// Submits a write of all of the session's output (one buffer, so one write for
    /// everything queued), or the shutdown of the write side once the output is written and
    /// the session asks for it; nothing while a write is in flight.
    pub(crate) fn start_write(&mut self, session: &BoxedSession) {
        if self.writing.is_some() || self.write_done {
            return;
        }
        let mut stream = self.stream.clone();
        let output = session.output();
        if !output.is_empty() {
            let mut buf = std::mem::take(&mut self.write_buf);
            buf.clear();
            buf.extend_from_slice(output);
            self.writing = Some(Box::pin(
                async move { Written::Wrote(stream.write(buf).await) },
            ));
        } else if session.wants_shutdown() {
            self.writing = Some(Box::pin(async move {
                // The peer may be gone already; nothing more is written either way.
                let _ = stream.shutdown().await;
                Written::ShutDown
            }));
        }
    }

    /// Submits a read if the session wants input and none is in flight.
    pub(crate) fn start_read(&mut self, session: &BoxedSession) {
        if self.reading.is_some() || self.read_done || !session.wants_read() {
            return;
        }
        let mut stream = self.stream.clone();
        let mut buf = std::mem::take(&mut self.read_buf);
        buf.clear();
        buf.reserve(self.read_size);
        // compio reads into the buffer's whole capacity, from its start.
        self.reading = Some(Box::pin(async move { stream.read(buf).await }));
    }

    /// The write in flight, once it completes.
    pub(crate) fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Progress> {
        let Some(op) = &mut self.writing else {
            return Poll::Pending;
        };
        let written = std::task::ready!(op.as_mut().poll(cx));
        self.writing = None;
        Poll::Ready(match written {
            Written::Wrote(BufResult(result, buf)) => {
                self.write_buf = buf;
                match result {
                    Ok(0) => self.fail(io::ErrorKind::WriteZero.into()),
                    Ok(n) => Progress::Wrote(n),
                    Err(err) => self.fail(err),
                }
            }
            Written::ShutDown => {
                self.write_done = true;
                Progress::ShutDown
            }
        })
    }

    /// The first operation to complete: the write, the read, or the timer for the session's
    /// next deadline.
    pub(crate) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        session: &BoxedSession,
        epoch: std::time::Instant,
    ) -> Poll<Progress> {
        if let Poll::Ready(progress) = self.poll_write(cx) {
            return Poll::Ready(progress);
        }
        if let Some(op) = &mut self.reading {
            if let Poll::Ready(BufResult(result, buf)) = op.as_mut().poll(cx) {
                self.reading = None;
                self.read_buf = buf;
                return Poll::Ready(match result {
                    Ok(n) => {
                        self.read_done = n == 0;
                        Progress::Read(n)
                    }
                    Err(err) => self.fail(err),
                });
            }
        }
        if let Poll::Ready(deadline) = self.poll_timer(cx, session, epoch) {
            return Poll::Ready(Progress::Due(deadline));
        }
        if self.writing.is_none() && self.reading.is_none() && self.timer.is_none() {
            // The driving loop only waits with something in flight: this would wait forever.
            return Poll::Ready(self.fail(io::Error::other("nothing to wait for")));
        }
        Poll::Pending
    }

    /// The timer for the session's next deadline. It is armed again only when the deadline
    /// moves earlier; one armed too early fires a check that finds nothing due, which costs less
    /// than re-arming at every message that moves a keepalive deadline later.
    fn poll_timer(
        &mut self,
        cx: &mut Context<'_>,
        session: &BoxedSession,
        epoch: std::time::Instant,
    ) -> Poll<Instant> {
        let Some(deadline) = session.poll_timeout() else {
            self.timer = None;
            return Poll::Pending;
        };
        if self
            .timer
            .as_ref()
            .is_none_or(|(armed, _)| *armed > deadline)
        {
            let at = epoch + std::time::Duration::from_millis(deadline.as_millis());
            self.timer = Some((deadline, Box::pin(compio::time::sleep_until(at))));
        }
        let Some((armed, sleep)) = &mut self.timer else {
            return Poll::Pending;
        };
        let armed = *armed;
        std::task::ready!(sleep.as_mut().poll(cx));
        self.timer = None;
        Poll::Ready(armed)
    }

    /// The socket failed: the operations in flight are cancelled, none is started again.
    fn fail(&mut self, err: io::Error) -> Progress {
        self.reading = None;
        self.writing = None;
        self.read_done = true;
        self.write_done = true;
        Progress::Failed(err)
    }
}
