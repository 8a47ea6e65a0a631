//! The async socket, over [`embedded_io_async::Read`] + [`embedded_io_async::Write`].

use core::future::{Future, Pending, poll_fn};
use core::pin::pin;
use core::task::Poll;

use embedded_io_async::{Read, Write};
use wsproto::time::Instant;

use crate::{
    AcceptOptions, ClientRequest, Clock, CloseCode, CloseInfo, Decide, Entropy, Error, Goal,
    Message, Next, NoEntropy, Options, Reached, Request, Shell, Socket, outgoing,
};

/// The async IO mode of a [`Socket`].
#[derive(Debug)]
pub enum Async {}

/// A WebSocket over the async transport `T`, OPEN once constructed. `C` is the clock, `E`
/// the client's entropy source; `'b` borrows the caller's buffers.
///
/// The transport is not closed by the socket: once the connection is closed, close it (or take
/// it back with [`into_inner`](Socket::into_inner)).
pub type WebSocket<'b, T, C, E = NoEntropy> = Socket<'b, Async, T, C, E>;

socket_api!((async), (.await));

impl<'b, T: Read + Write, C: Clock, E: Entropy> WebSocket<'b, T, C, E> {
    /// As [`read`](Self::read), and waits for the connection's next deadline with
    /// `sleep_until(deadline)` (for instance `embassy_time::Timer::at`), so that keepalive pings
    /// and the close timeout fire while no input arrives.
    ///
    /// The transport's `read` MUST be cancel-safe (lose no bytes when dropped before it
    /// completes), as the read is dropped when the timer wins.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub async fn read_with_timer<F, S>(
        &mut self,
        mut sleep_until: F,
    ) -> Result<Message<'_>, Error<T::Error>>
    where
        F: FnMut(Instant) -> S,
        S: Future<Output = ()>,
    {
        self.read_inner(Some(&mut sleep_until)).await
    }

    async fn read_inner<F, S>(
        &mut self,
        sleep_until: Option<&mut F>,
    ) -> Result<Message<'_>, Error<T::Error>>
    where
        F: FnMut(Instant) -> S,
        S: Future<Output = ()>,
    {
        let reached = self.drive_until(Goal::Message, None, sleep_until).await?;
        self.shell.message(reached)
    }

    /// The drive loop without a timer.
    async fn drive(
        &mut self,
        goal: Goal,
        decide: Option<&mut Decide<'_>>,
    ) -> Result<Reached, Error<T::Error>> {
        self.drive_until(goal, decide, NO_TIMER).await
    }

    /// Does the IO the shell asks for until `goal` is reached; with `sleep_until`, a read
    /// races the connection's next deadline.
    async fn drive_until<F, S>(
        &mut self,
        goal: Goal,
        mut decide: Option<&mut Decide<'_>>,
        mut sleep_until: Option<&mut F>,
    ) -> Result<Reached, Error<T::Error>>
    where
        F: FnMut(Instant) -> S,
        S: Future<Output = ()>,
    {
        loop {
            match self.shell.next(goal, decide.as_deref_mut())? {
                Next::Write => {
                    let written = self.io.write_all(self.shell.output()).await;
                    self.shell.wrote(written)?;
                }
                Next::Flush => self.shell.flushed(self.io.flush().await)?,
                Next::Read => {
                    let deadline = self.shell.session.poll_timeout();
                    let buf = self.shell.session.read_buf();
                    let read = match (deadline, sleep_until.as_deref_mut()) {
                        (Some(deadline), Some(sleep_until)) => {
                            // Race the read against the caller's timer; a read that loses is
                            // dropped before it completes.
                            let mut read = pin!(self.io.read(buf));
                            let mut sleep = pin!(sleep_until(deadline));
                            poll_fn(|cx| {
                                if let Poll::Ready(result) = read.as_mut().poll(cx) {
                                    return Poll::Ready(Some(result));
                                }
                                sleep.as_mut().poll(cx).map(|()| None)
                            })
                            .await
                        }
                        _ => Some(self.io.read(buf).await),
                    };
                    match (read, deadline) {
                        (Some(read), _) => self.shell.received(read)?,
                        (None, Some(deadline)) => self.shell.fire_at(deadline),
                        (None, None) => {}
                    }
                }
                Next::Done(reached) => return Ok(reached),
            }
        }
    }
}

/// A timer that is never used.
type NoTimer = fn(Instant) -> Pending<()>;

/// No timer: wait for input only.
const NO_TIMER: Option<&mut NoTimer> = None;
