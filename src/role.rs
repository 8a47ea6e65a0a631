//! The endpoint's role (RFC 6455 §5.1, §7.1.1), in a file of its own so that every layer can
//! name it without importing the crate root, which re-exports the connection.

/// Which end of the connection this endpoint is.
///
/// The role decides masking (RFC 6455 §5.1: a client masks every frame it sends, a server none)
/// and who closes the TCP connection first (§7.1.1: the server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The endpoint that sent the opening handshake request.
    Client,
    /// The endpoint that answered it.
    Server,
}
