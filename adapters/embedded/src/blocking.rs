//! The blocking socket, over [`embedded_io::Read`] + [`embedded_io::Write`].

use embedded_io::{Read, Write};

use crate::{
    AcceptOptions, ClientRequest, Clock, CloseCode, CloseInfo, Decide, Entropy, Error, Goal,
    Message, Next, NoEntropy, Options, Reached, Request, Shell, Socket, outgoing,
};

/// The blocking IO mode of a [`Socket`].
#[derive(Debug)]
pub enum Blocking {}

/// A WebSocket over the blocking transport `T`, OPEN once constructed. `C` is the clock, `E`
/// the client's entropy source; `'b` borrows the caller's buffers.
///
/// The transport is not closed by the socket: once the connection is closed, close it (or take
/// it back with [`into_inner`](Socket::into_inner)).
pub type WebSocket<'b, T, C, E = NoEntropy> = Socket<'b, Blocking, T, C, E>;

socket_api!((), ());

impl<T: Read + Write, C: Clock, E: Entropy> WebSocket<'_, T, C, E> {
    /// Does the IO the shell asks for until `goal` is reached.
    fn drive(
        &mut self,
        goal: Goal,
        mut decide: Option<&mut Decide<'_>>,
    ) -> Result<Reached, Error<T::Error>> {
        loop {
            match self.shell.next(goal, decide.as_deref_mut())? {
                Next::Write => {
                    let written = self.io.write_all(self.shell.output());
                    self.shell.wrote(written)?;
                }
                Next::Flush => self.shell.flushed(self.io.flush())?,
                Next::Read => {
                    let read = self.io.read(self.shell.read_buf());
                    self.shell.received(read)?;
                }
                Next::Done(reached) => return Ok(reached),
            }
        }
    }
}
