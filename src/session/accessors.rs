//! The read-only accessors every adapter's `WebSocket` gives over its session and transport,
//! written once: each adapter expands [`session_accessors!`](crate::session_accessors) inside an
//! `impl` block of its own type, so they stay inherent methods (no trait to import).

/// Expands to the accessors an adapter's `WebSocket` gives, as inherent methods of the type
/// whose `impl` block it stands in:
///
/// - `session: a.b` — `buffered_amount`, `state`, `deflate_params` (with the calling crate's
///   feature `deflate`), `close_info`, `close_reason`, read from the [`Session`] at
///   `self.a.b`;
/// - `replies: subprotocol FIELD, last_pong FIELD` — `subprotocol` and `last_pong`, from an
///   `Option<String>` and an `Option<Vec<u8>>` field the adapter keeps;
/// - `transport: FIELD: TYPE` — `get_ref`, `get_mut`, `into_inner` of the transport at
///   `self.FIELD`.
///
/// ```
/// use wsproto::session::{Session, SessionConfig};
/// use wsproto::{Config, Connection, ReadyState, Role};
/// use wsproto::time::Instant;
///
/// struct Socket<T> {
///     io: T,
///     session: Session<Vec<u8>>,
/// }
///
/// impl<T> Socket<T> {
///     wsproto::session_accessors!(session: session);
///     wsproto::session_accessors!(transport: io: T);
/// }
///
/// let conn = Connection::open(Config::default(), Role::Server, wsproto::entropy::NoEntropy, Instant::from_millis(0)).unwrap();
/// let socket = Socket { io: (), session: Session::new(conn, SessionConfig::default(), Vec::new(), Vec::new()) };
/// assert_eq!(socket.state(), ReadyState::Open);
/// assert_eq!(socket.buffered_amount(), 0);
/// assert_eq!(socket.close_reason(), "");
/// ```
///
/// [`Session`]: crate::session::Session
#[macro_export]
macro_rules! session_accessors {
    (session: $($session:ident).+) => {
        /// Bytes queued but not yet written to the transport, like the browser's
        /// `WebSocket.bufferedAmount` (frame headers included).
        pub fn buffered_amount(&self) -> usize {
            self.$($session).+.buffered_amount()
        }

        /// The ready state.
        pub fn state(&self) -> $crate::connection::ReadyState {
            self.$($session).+.state()
        }

        /// The permessage-deflate parameters in force, if compression was negotiated.
        #[cfg(feature = "deflate")]
        pub fn deflate_params(&self) -> Option<$crate::deflate::DeflateParams> {
            self.$($session).+.deflate_params()
        }

        /// How the connection ended, once it is closed.
        pub fn close_info(&self) -> Option<$crate::connection::CloseInfo> {
            self.$($session).+.close_info()
        }

        /// The reason in the peer's close frame, empty until one arrives (or if it had none).
        pub fn close_reason(&self) -> &str {
            self.$($session).+.close_reason()
        }
    };
    (replies: subprotocol $subprotocol:ident, last_pong $last_pong:ident) => {
        /// The subprotocol agreed in the opening handshake, if any.
        pub fn subprotocol(&self) -> Option<&str> {
            self.$subprotocol.as_deref()
        }

        /// The payload of the latest pong received, if any: the answer to a ping sent, or to a
        /// keepalive ping (a 4-byte counter).
        pub fn last_pong(&self) -> Option<&[u8]> {
            self.$last_pong.as_deref()
        }
    };
    (transport: $transport:ident: $ty:ty) => {
        /// The transport.
        pub fn get_ref(&self) -> &$ty {
            &self.$transport
        }

        /// The transport. Reading or writing it directly breaks the connection.
        pub fn get_mut(&mut self) -> &mut $ty {
            &mut self.$transport
        }

        /// The transport, dropping the connection's state and whatever is buffered.
        pub fn into_inner(self) -> $ty {
            self.$transport
        }
    };
}

/// Implements `Debug` for an adapter's socket type `Name<S>` through
/// [`Session::debug_socket`](crate::session::Session::debug_socket): the session at
/// `self.SESSION` and the subprotocol the adapter keeps in `self.SUBPROTOCOL`
/// (`Option<String>`), nothing of the transport.
///
/// ```text
/// wsproto::socket_debug!(WebSocket<S> { session: session, subprotocol: subprotocol });
/// ```
#[macro_export]
macro_rules! socket_debug {
    ($name:ident<$param:ident> { session: $session:ident, subprotocol: $subprotocol:ident }) => {
        impl<$param> ::core::fmt::Debug for $name<$param> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let subprotocol = self.$subprotocol.as_deref();
                self.$session
                    .debug_socket(f, subprotocol)
                    .finish_non_exhaustive()
            }
        }
    };
}
