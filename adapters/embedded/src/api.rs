//! The sockets' API, written once for both IO modes.
//!
//! [`socket_api!`] is expanded in [`blocking`](crate::blocking) with `()` and `()`, and in
//! [`asynch`](crate::asynch) with `(async)` and `(.await)`: each method is the same code in
//! both sockets but for those two words. (No trait can be generic over "async or not" on
//! stable Rust, and a blocking socket built on the async one would need an executor.) Names in
//! the expansion resolve in the module that expands it: there `Read` and `Write` are the mode's
//! transport traits, and `drive(goal, decide)` is the mode's drive loop.

/// The sockets' API: see the [module documentation](self).
macro_rules! socket_api {
    (($($async:tt)?), ($($await:tt)*)) => {
        impl<'b, T: Read + Write, C: Clock, E: Entropy> WebSocket<'b, T, C, E> {
            /// Client: writes the opening handshake `request` and reads until the server
            /// answers. `entropy` supplies the nonce and every masking key: use a hardware RNG.
            /// `options` is a [`Config`](crate::Config), or [`Options`](crate::Options) for
            /// compression.
            ///
            /// # Errors
            ///
            /// [`Error::Handshake`] if the server refused (its HTTP status in
            /// [`UnexpectedStatus`](crate::HandshakeError::UnexpectedStatus)) or answered
            /// wrongly; [`Error::Protocol`] for a timeout or the end of the transport;
            /// [`Error::Io`]; [`Error::Usage`] for buffers under
            /// [`MIN_BUFFER`](crate::MIN_BUFFER), a request that does not fit `tx`, or an
            /// inconsistent config.
            pub $($async)? fn connect(
                io: T,
                request: &ClientRequest<'_>,
                options: impl Into<Options>,
                clock: C,
                entropy: E,
                rx: &'b mut [u8],
                tx: &'b mut [u8],
            ) -> Result<Self, Error<T::Error>> {
                let shell = Shell::client(options.into(), request, clock, entropy, rx, tx)?;
                Self::open(io, shell, None)$($await)*
            }
        }

        impl<'b, T: Read + Write, C: Clock> WebSocket<'b, T, C, NoEntropy> {
            /// Server: reads the opening handshake request and lets `decide` answer it:
            /// `Ok(options)` accepts (pick a subprotocol among `request.subprotocols()`),
            /// `Err(status)` refuses with that HTTP status. A malformed request is answered
            /// with 400, 426 or 431 by the core. `options` is a [`Config`](crate::Config), or
            /// [`Options`](crate::Options) for compression.
            ///
            /// # Errors
            ///
            /// [`Error::Rejected`] after `decide` refused; [`Error::Handshake`] for a malformed
            /// request; [`Error::Protocol`] for a timeout or the end of the transport;
            /// [`Error::Io`]; [`Error::Usage`] for invalid options, buffers under
            /// [`MIN_BUFFER`](crate::MIN_BUFFER) or a response that does not fit `tx`.
            pub $($async)? fn accept<F>(
                io: T,
                options: impl Into<Options>,
                clock: C,
                rx: &'b mut [u8],
                tx: &'b mut [u8],
                mut decide: F,
            ) -> Result<Self, Error<T::Error>>
            where
                F: for<'r> FnMut(&Request<'r>) -> Result<AcceptOptions<'r>, u16>,
            {
                let shell = Shell::server(options.into(), clock, rx, tx)?;
                Self::open(io, shell, Some(&mut decide))$($await)*
            }
        }

        impl<'b, T: Read + Write, C: Clock, E: Entropy> WebSocket<'b, T, C, E> {
            /// Reads until a whole text or binary message has arrived and returns it, borrowed
            /// from `rx`. Pings are answered, pongs dropped, the peer's close echoed.
            ///
            /// # Errors
            ///
            /// [`Error::Closed`] once the connection is closed (after a clean closing
            /// handshake, and on every call after any end); [`Error::Protocol`] when it failed
            /// (a close frame with the code was sent), [`Error::Io`].
            pub $($async)? fn read(&mut self) -> Result<Message<'_>, Error<T::Error>> {
                let reached = self.drive(Goal::Message, None)$($await)*?;
                self.shell.message(reached)
            }

            /// Sends `message` and flushes: as one frame if it fits `tx`, else as fragments
            /// that do.
            ///
            /// # Errors
            ///
            /// [`Error::Usage`] when sending is not allowed (a close was sent, the connection
            /// is closed); [`Error::Io`].
            pub $($async)? fn send(&mut self, message: Message<'_>) -> Result<(), Error<T::Error>> {
                let mut message = outgoing(&message);
                while !self.shell.queue(&mut message)? {
                    self.flush()$($await)*?;
                }
                self.flush()$($await)*
            }

            /// Sends a text message (see [`send`](Self::send)).
            ///
            /// # Errors
            ///
            /// As [`send`](Self::send).
            pub $($async)? fn send_text(&mut self, text: &str) -> Result<(), Error<T::Error>> {
                self.send(Message::Text(text))$($await)*
            }

            /// Sends a binary message (see [`send`](Self::send)).
            ///
            /// # Errors
            ///
            /// As [`send`](Self::send).
            pub $($async)? fn send_binary(&mut self, bytes: &[u8]) -> Result<(), Error<T::Error>> {
                self.send(Message::Binary(bytes))$($await)*
            }

            /// Sends a ping with `payload` (at most 125 bytes) and flushes. The pong is not
            /// reported.
            ///
            /// # Errors
            ///
            /// [`Error::Usage`] for a payload over 125 bytes or when not OPEN; [`Error::Io`].
            pub $($async)? fn ping(&mut self, payload: &[u8]) -> Result<(), Error<T::Error>> {
                self.shell.session.ping(payload)?;
                self.flush()$($await)*
            }

            /// Starts (or completes) the closing handshake with `code` and `reason` (at most
            /// 123 bytes) and reads until the connection is closed; messages that arrive
            /// meanwhile are dropped. Returns how it ended when the handshake completed.
            ///
            /// # Errors
            ///
            /// [`Error::Usage`] for a code that may not be sent; [`Error::Protocol`] with
            /// [`CloseTimeout`](crate::ProtocolError::CloseTimeout) or another failure;
            /// [`Error::Io`].
            pub $($async)? fn close(
                &mut self,
                code: CloseCode,
                reason: &str,
            ) -> Result<CloseInfo, Error<T::Error>> {
                self.shell.close(code, reason)?;
                let reached = self.drive(Goal::Closed, None)$($await)*?;
                self.shell.closed(reached)
            }

            /// Fires the timers that are due and writes what they queued (a keepalive ping, a
            /// close frame). [`read`](Self::read) reports the outcome.
            ///
            /// # Errors
            ///
            /// [`Error::Io`] if writing failed.
            pub $($async)? fn handle_timeout(&mut self) -> Result<(), Error<T::Error>> {
                self.shell.fire_due();
                self.flush()$($await)*
            }

            $($async)? fn open(
                io: T,
                shell: Shell<'b, C, E>,
                decide: Option<&mut Decide<'_>>,
            ) -> Result<Self, Error<T::Error>> {
                let mut ws = Socket::new(io, shell);
                let reached = ws.drive(Goal::Open, decide)$($await)*?;
                ws.opened(reached)
            }

            /// Writes the output and flushes the transport.
            $($async)? fn flush(&mut self) -> Result<(), Error<T::Error>> {
                self.drive(Goal::Flushed, None)$($await)*.map(drop)
            }
        }
    };
}
