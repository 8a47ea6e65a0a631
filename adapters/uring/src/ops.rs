//! The io_uring operations in flight for one connection: at most one read, one write (or the
//! shutdown of the write side) and one timer, each owning what the kernel works on.
//!
//! An operation is kept here, not in the future of the call that started it, so that a call
//! dropped half-way (a `select` that took another branch) cancels nothing: the next call polls
//! the same operation on. Submitting an operation only queues it in the ring's submission queue;
//! the runtime submits the queue when the thread waits, so a write submitted by `send` and the
//! read submitted by the following `next` reach the kernel in one `io_uring_enter`.
//!
//! A read names no buffer: the kernel takes one from the thread's buffer ring (compio's buffer
//! pool) when bytes arrive, so a connection waiting for input holds no read buffer. A write owns
//! a copy of the session's output in a buffer taken from the thread's spare ones and put back
//! once written, so a connection with nothing to write holds no write buffer either.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use compio::BufResult;
use compio::driver::BufferRef;
use compio::io::{AsyncReadManaged, AsyncWrite};
use wsproto::time::Instant;

use crate::BoxedSession;

/// A socket the adapter can run on: compio's `TcpStream` and `UnixStream` (anything that reads
/// into the runtime's buffer pool, writes owned buffers, and whose clones share one socket, so
/// that a read and a write can be in flight at once).
pub trait Transport: AsyncReadManaged<Buffer = BufferRef> + AsyncWrite + Clone + 'static {}

impl<T: AsyncReadManaged<Buffer = BufferRef> + AsyncWrite + Clone + 'static> Transport for T {}

/// An operation in flight.
type Op<T> = Pin<Box<dyn Future<Output = T>>>;

/// Spare write buffers larger than this are freed rather than kept.
const SPARE_WRITE_LEN: usize = 64 * 1024;
/// The most spare write buffers a thread keeps.
const SPARE_WRITES: usize = 64;

thread_local! {
    /// Write buffers that no write owns, shared by the connections of the thread (compio runs
    /// each task on the thread that spawned it).
    static SPARE_WRITE_BUFFERS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A write buffer: a spare one if the thread has one.
fn write_buffer() -> Vec<u8> {
    let spare = SPARE_WRITE_BUFFERS.with(|spare| spare.try_borrow_mut().ok()?.pop());
    spare.unwrap_or_default()
}

/// Gives a write buffer back to the thread's spares (or frees it).
fn release_write_buffer(mut buf: Vec<u8>) {
    if buf.capacity() > SPARE_WRITE_LEN {
        return;
    }
    buf.clear();
    SPARE_WRITE_BUFFERS.with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut()
            && spare.len() < SPARE_WRITES
        {
            spare.push(buf);
        }
    });
}

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
    /// Bytes were read, in a buffer of the thread's ring (given back when dropped); `None` is
    /// the end of input.
    Read(Option<BufferRef>),
    /// The timer armed for this deadline fired.
    Due(Instant),
    /// The socket failed: nothing more is read or written.
    Failed(io::Error),
}

/// The operations of one connection, and its socket.
pub(crate) struct Ops<S> {
    stream: S,
    reading: Option<Op<io::Result<Option<BufferRef>>>>,
    /// The end of input was read, or the socket failed.
    read_done: bool,
    writing: Option<Op<Written>>,
    /// The write side is shut down, or the socket failed.
    write_done: bool,
    /// The timer and the deadline it was armed for.
    timer: Option<(Instant, Op<()>)>,
}

/// Which operations are in flight, and the deadline of the timer.
impl<S> std::fmt::Debug for Ops<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops")
            .field("read", &self.reading.is_some())
            .field("write", &self.writing.is_some())
            .field("timer", &self.timer.as_ref().map(|(deadline, _)| deadline))
            .finish()
    }
}

impl<S> Ops<S> {
    pub(crate) fn stream(&self) -> &S {
        &self.stream
    }
}

impl<S: Transport> Ops<S> {
    pub(crate) fn new(stream: S) -> Self {
        Ops {
            stream,
            reading: None,
            read_done: false,
            writing: None,
            write_done: false,
            timer: None,
        }
    }

    /// A write (or the shutdown) is in flight.
    pub(crate) fn writing(&self) -> bool {
        self.writing.is_some()
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
            let mut buf = write_buffer();
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
        // 0: as much as one of the ring's buffers holds.
        self.reading = Some(Box::pin(async move { stream.read_managed(0).await }));
    }

    /// The write in flight, once it completes.
    pub(crate) fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Progress> {
        let Some(op) = &mut self.writing else {
            return Poll::Pending;
        };
        let written = ready!(op.as_mut().poll(cx));
        self.writing = None;
        Poll::Ready(match written {
            Written::Wrote(BufResult(result, buf)) => {
                release_write_buffer(buf);
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
        if let Poll::Ready(progress) = self.poll_read(cx, session) {
            return Poll::Ready(progress);
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

    /// The read in flight, once it completes.
    fn poll_read(&mut self, cx: &mut Context<'_>, session: &BoxedSession) -> Poll<Progress> {
        loop {
            let Some(op) = &mut self.reading else {
                return Poll::Pending;
            };
            let read = ready!(op.as_mut().poll(cx));
            self.reading = None;
            match read {
                Ok(Some(buf)) if !buf.is_empty() => return Poll::Ready(Progress::Read(Some(buf))),
                Ok(_) => {
                    self.read_done = true;
                    return Poll::Ready(Progress::Read(None));
                }
                // The ring had no free buffer when the bytes came (ENOBUFS): the buffers in use
                // go back as their bytes are fed to sessions, so ask again.
                Err(err) if err.kind() == io::ErrorKind::ResourceBusy => self.start_read(session),
                Err(err) => return Poll::Ready(self.fail(err)),
            }
        }
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
        ready!(sleep.as_mut().poll(cx));
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
