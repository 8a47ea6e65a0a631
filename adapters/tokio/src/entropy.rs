//! The operating system's random source, for what a client draws: the handshake nonce and the
//! masking keys (RFC 6455 §4.1, §5.3: "derived from a strong source of entropy").

use std::io;

use wsproto::entropy::Entropy;

/// The operating system's CSPRNG through `getrandom` (`getrandom(2)` on Linux, `arc4random_buf`
/// on the BSDs and macOS, `ProcessPrng` on Windows): what [`connect_url`](crate::connect_url)
/// and [`WebSocket::client`](crate::WebSocket::client) use. The core draws masking keys eight
/// at a time, so this costs one system call per eight frames sent.
///
/// ```
/// use wsproto_tokio::{ClientRequest, OsEntropy, Options};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let (io, _server) = tokio::io::duplex(4096);
/// // A client over a transport of your own (here a pipe nobody answers).
/// let request = ClientRequest::new("example.com", "/chat");
/// let connecting = wsproto_tokio::connect(io, &request, Options::default(), OsEntropy::new()?);
/// # drop(connecting);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct OsEntropy(());

impl OsEntropy {
    /// The OS random source, once it answered a first draw.
    ///
    /// # Errors
    ///
    /// The OS's error if it has no usable random source (a sandbox without `/dev/urandom`, say).
    pub fn new() -> io::Result<Self> {
        let mut probe = [0u8; 1];
        getrandom::fill(&mut probe)?;
        Ok(OsEntropy(()))
    }
}

impl Entropy for OsEntropy {
    /// # Panics
    ///
    /// If the OS random source fails after [`OsEntropy::new`] found it working, which the
    /// supported systems do not do: a client must not mask with predictable keys, and the core's
    /// `Entropy` has no way to report an error.
    fn fill(&mut self, buf: &mut [u8]) {
        if let Err(err) = getrandom::fill(buf) {
            panic!("the OS random source failed after working: {err}");
        }
    }
}
