//! The blocking socket, over [`embedded_io::Read`] + [`embedded_io::Write`].

use embedded_io::{ErrorKind, ErrorType, Read, Write};
use wsproto::connection::DataKind;
use wsproto::mask::apply_mask_copy;
use wsproto::time::Instant;

use crate::{
    AcceptOptions, CONTROL_ROOM, ClientRequest, Clock, CloseCode, CloseInfo, Config, Decide,
    Engine, Entropy, Error, Goal, Message, NoEntropy, Reached, ReadyState, Request, Step, data_of,
    decider,
};

/// A WebSocket over the blocking transport `T`, OPEN once constructed. `C` is the clock, `E`
/// the client's entropy source; `'b` borrows the caller's buffers.
///
/// The transport is not closed by the socket: once the connection is closed, close it (or take
/// it back with [`into_inner`](Self::into_inner)).
pub struct WebSocket<'b, T, C, E = NoEntropy> {
    io: T,
    engine: Engine<'b, E, C>,
}

impl<T, C, E: Entropy> core::fmt::Debug for WebSocket<'_, T, C, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebSocket")
            .field("state", &self.engine.conn.state())
            .field("role", &self.engine.conn.role())
            .finish_non_exhaustive()
    }
}

impl<'b, T: Read + Write, C: Clock, E: Entropy> WebSocket<'b, T, C, E> {
    /// Client: writes the opening handshake `request` and reads until the server answers.
    /// `entropy` supplies the nonce and every masking key: use a hardware RNG.
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] if the server refused (its HTTP status in
    /// [`UnexpectedStatus`](crate::HandshakeError::UnexpectedStatus)) or answered wrongly;
    /// [`Error::Protocol`] for a timeout or the end of the transport; [`Error::Io`];
    /// [`Error::Usage`] for buffers under [`MIN_BUFFER`](crate::MIN_BUFFER), a request that does
    /// not fit `tx`, or an inconsistent config.
    pub fn connect(
        io: T,
        request: &ClientRequest<'_>,
        config: Config,
        clock: C,
        entropy: E,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
    ) -> Result<Self, Error<T::Error>> {
        let mut engine = Engine::client(config, clock, entropy, rx, tx)?;
        let n = engine.connect(request)?;
        let mut ws = WebSocket { io, engine };
        ws.write_tx(n)?;
        ws.flush()?;
        ws.drive(Goal::Open, None)?;
        Ok(ws)
    }
}

impl<'b, T: Read + Write, C: Clock> WebSocket<'b, T, C, NoEntropy> {
    /// Server: reads the opening handshake request and lets `decide` answer it: `Ok(options)`
    /// accepts (pick a subprotocol among `request.subprotocols()`), `Err(status)` refuses with
    /// that HTTP status. A malformed request is answered with 400, 426 or 431 by the core.
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] after `decide` refused; [`Error::Handshake`] for a malformed request;
    /// [`Error::Protocol`] for a timeout or the end of the transport; [`Error::Io`];
    /// [`Error::Usage`] for invalid options, buffers under [`MIN_BUFFER`](crate::MIN_BUFFER) or a
    /// response that does not fit `tx`.
    pub fn accept<F>(
        io: T,
        config: Config,
        clock: C,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        decide: F,
    ) -> Result<Self, Error<T::Error>>
    where
        F: for<'r> FnMut(&Request<'r>) -> Result<AcceptOptions<'r>, u16>,
    {
        let engine = Engine::server(config, clock, rx, tx)?;
        let mut ws = WebSocket { io, engine };
        let mut decide = decider(decide);
        ws.drive(Goal::Open, Some(&mut decide))?;
        Ok(ws)
    }
}

impl<'b, T: Read + Write, C: Clock, E: Entropy> WebSocket<'b, T, C, E> {
    /// Reads until a whole text or binary message has arrived and returns it, borrowed from
    /// `rx`. Pings are answered, pongs dropped, the peer's close echoed.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] once the connection is closed (after a clean closing handshake, and on
    /// every call after any end); [`Error::Protocol`] when it failed (a close frame with the code
    /// was sent), [`Error::Io`].
    pub fn read(&mut self) -> Result<Message<'_>, Error<T::Error>> {
        match self.drive(Goal::Message, None)? {
            Reached::Message(kind, range) => Ok(self.engine.message(kind, range)),
            Reached::Closed(info) => Err(Error::from_close(info)),
            Reached::Open => unreachable!("the connection is open already"),
        }
    }

    /// Sends `message` as one frame and flushes.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] when sending is not allowed (a close was sent, the connection is
    /// closed); [`Error::Io`].
    pub fn send(&mut self, message: Message<'_>) -> Result<(), Error<T::Error>> {
        let (kind, data) = data_of(&message);
        self.send_data(kind, data)
    }

    /// Sends a text message as one frame and flushes.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_text(&mut self, text: &str) -> Result<(), Error<T::Error>> {
        self.send_data(DataKind::Text, text.as_bytes())
    }

    /// Sends a binary message as one frame and flushes.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_binary(&mut self, bytes: &[u8]) -> Result<(), Error<T::Error>> {
        self.send_data(DataKind::Binary, bytes)
    }

    /// Sends a ping with `payload` (at most 125 bytes) and flushes. The pong is not reported.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for a payload over 125 bytes or when not OPEN; [`Error::Io`].
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error<T::Error>> {
        let n = self.engine.conn.ping(payload, self.engine.tx)?;
        self.write_tx(n)?;
        self.flush()
    }

    /// Starts (or completes) the closing handshake with `code` and `reason` (at most 123 bytes)
    /// and reads until the connection is closed; messages that arrive meanwhile are dropped.
    /// Returns how it ended when the handshake completed.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for a code that may not be sent; [`Error::Protocol`] with
    /// [`CloseTimeout`](crate::ProtocolError::CloseTimeout) or another failure; [`Error::Io`].
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<CloseInfo, Error<T::Error>> {
        let n = self.engine.close(code, reason)?;
        self.write_tx(n)?;
        self.flush()?;
        match self.drive(Goal::Closed, None)? {
            Reached::Closed(info) if info.clean => Ok(info),
            Reached::Closed(info) => Err(Error::from_close(info)),
            Reached::Open | Reached::Message(..) => {
                unreachable!("the drive loop runs until closed for this goal")
            }
        }
    }

    /// The next instant at which a timer is due, for a caller that waits on its own.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.engine.conn.poll_timeout()
    }

    /// Fires the timers that are due and writes what they queued (a keepalive ping, a close
    /// frame). [`read`](Self::read) reports the outcome.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if writing failed.
    pub fn handle_timeout(&mut self) -> Result<(), Error<T::Error>> {
        self.engine.fire_due();
        self.flush()
    }

    /// The ready state.
    pub fn state(&self) -> ReadyState {
        self.engine.conn.state()
    }

    /// How the connection ended, once it is closed.
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.engine.conn.close_info()
    }

    /// The reason in the peer's close frame, empty until one arrives (or if it had none).
    pub fn close_reason(&self) -> &str {
        self.engine.close_reason()
    }

    /// The transport.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The transport. Reading or writing it directly breaks the connection.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// The transport, dropping the connection's state.
    pub fn into_inner(self) -> T {
        self.io
    }

    // ---- internals --------------------------------------------------------------------------

    fn send_data(&mut self, kind: DataKind, data: &[u8]) -> Result<(), Error<T::Error>> {
        let engine = &mut self.engine;
        if data.len() + CONTROL_ROOM <= engine.tx.len() {
            // Small: frame and payload in one write.
            let n = engine.conn.send(kind, data, true, engine.tx)?;
            self.write_tx(n)?;
            return self.flush();
        }
        let start = engine
            .conn
            .begin_frame(kind, data.len() as u64, true, engine.tx)?;
        self.write_tx(start.written)?;
        match start.mask {
            // A server writes the payload as it is.
            None => {
                if let Err(err) = self.io.write_all(data) {
                    return Err(self.broken(err));
                }
            }
            // A client masks it piece by piece through `tx`.
            Some(key) => {
                let mut offset = 0;
                while offset < data.len() {
                    let n = apply_mask_copy(&data[offset..], self.engine.tx, key, offset);
                    self.write_tx(n)?;
                    offset += n;
                }
            }
        }
        self.flush()
    }

    fn write_tx(&mut self, n: usize) -> Result<(), Error<T::Error>> {
        if n == 0 {
            return Ok(());
        }
        match self.io.write_all(&self.engine.tx[..n]) {
            Ok(()) => Ok(()),
            Err(err) => Err(self.broken(err)),
        }
    }

    /// Writes what the connection has queued, then flushes the transport.
    fn flush(&mut self) -> Result<(), Error<T::Error>> {
        while let Some(n) = self.engine.transmit()? {
            self.write_tx(n)?;
        }
        match self.io.flush() {
            Ok(()) => Ok(()),
            Err(err) => Err(self.broken(err)),
        }
    }

    fn broken(&mut self, err: <T as ErrorType>::Error) -> Error<T::Error> {
        self.engine.broken();
        Error::Io(err)
    }

    /// Receive until no event, write, wait for input (firing due timers), until `goal`.
    fn drive(
        &mut self,
        goal: Goal,
        mut decide: Option<&mut Decide<'_>>,
    ) -> Result<Reached, Error<T::Error>> {
        loop {
            match self.engine.step(decide.as_deref_mut())? {
                Step::Message(kind, range) => {
                    self.flush()?;
                    if goal == Goal::Message {
                        return Ok(Reached::Message(kind, range));
                    }
                }
                Step::Open(n) => {
                    self.write_tx(n)?;
                    self.flush()?;
                    if goal == Goal::Open {
                        return Ok(Reached::Open);
                    }
                }
                Step::Refused(n, status) => {
                    self.write_tx(n)?;
                    self.flush()?;
                    return Err(Error::Rejected(status));
                }
                Step::Closed(info) => {
                    self.flush()?;
                    return match goal {
                        Goal::Open => Err(Error::from_close(info)),
                        Goal::Message | Goal::Closed => Ok(Reached::Closed(info)),
                    };
                }
                Step::Input => {
                    self.flush()?;
                    if self.engine.fire_due() {
                        continue;
                    }
                    let buf = self.engine.read_buf()?;
                    match self.io.read(buf) {
                        Ok(n) => self.engine.received(n),
                        Err(err) => match embedded_io::Error::kind(&err) {
                            ErrorKind::TimedOut => {
                                self.engine.fire_due();
                            }
                            ErrorKind::Interrupted => {}
                            _ => return Err(self.broken(err)),
                        },
                    }
                }
            }
        }
    }
}
