//! A client from a URL in one call: [`connect_url`], and [`ClientBuilder`] for subprotocols,
//! headers, options and a TLS configuration of your own.

use std::future::Future;
use std::io;
#[cfg(feature = "rustls")]
use std::sync::Arc;

use tokio::net::TcpStream;

use crate::transport::MaybeTlsStream;
use crate::url::WsUrl;
use crate::{ClientRequest, Error, Options, OsEntropy, ProtocolError, WebSocket};

/// Connects to a `ws://` or `wss://` URL with [`Options::default`] (permessage-deflate offered,
/// 16 MiB messages), the OS random source for masks, and (for `wss://`) the root certificates
/// of the feature `webpki-roots` or `native-roots`. [`ClientBuilder`] sets the rest.
///
/// ```no_run
/// use futures_util::{SinkExt, StreamExt};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), wsproto_tokio::Error> {
/// let mut ws = wsproto_tokio::connect_url("wss://echo.example/chat?room=1").await?;
/// ws.send("hello".into()).await?;
/// let reply = ws.next().await.transpose()?;
/// # Ok(())
/// # }
/// ```
///
/// The TCP connect, the TLS handshake and the WebSocket handshake together must end within the
/// options' `handshake_timeout` (10 s by default).
///
/// # Errors
///
/// [`Error::Io`] with kind `InvalidInput` and a [`UrlError`](crate::UrlError) inside for a URL
/// that is not a WebSocket URL (`err.get_ref()` downcasts to it); [`Error::Io`] for a failed
/// name lookup, TCP connect or TLS handshake (an untrusted certificate, or no roots: kind
/// `NotFound`), and for `wss://` without the feature `rustls` (kind `Unsupported`);
/// [`Error::Protocol`] with [`ProtocolError::HandshakeTimeout`]; then as
/// [`connect`](crate::connect).
pub fn connect_url(url: &str) -> impl Future<Output = Connected> + Send + use<> {
    ClientBuilder::new().connect(url)
}

/// What [`connect_url`] and [`ClientBuilder::connect`] give.
pub type Connected = Result<WebSocket<MaybeTlsStream>, Error>;

/// How [`connect`](Self::connect) opens a client connection from a URL: options, subprotocols,
/// extra headers, `Origin`, and the TLS configuration.
///
/// ```no_run
/// use wsproto_tokio::{ClientBuilder, Options};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), wsproto_tokio::Error> {
/// let ws = ClientBuilder::new()
///     .options(Options::default().max_message_size(64 << 20))
///     .subprotocols(["chat.v2", "chat.v1"])
///     .header("Authorization", "Bearer 123")
///     .connect("wss://chat.example/socket")
///     .await?;
/// println!("agreed on {:?}", ws.subprotocol());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClientBuilder {
    options: Options,
    subprotocols: Vec<String>,
    headers: Vec<(String, String)>,
    origin: Option<String>,
    #[cfg(feature = "rustls")]
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
}

impl ClientBuilder {
    /// [`Options::default`], no subprotocols, headers or `Origin`, the default TLS roots.
    pub fn new() -> Self {
        ClientBuilder::default()
    }

    /// The connection's options (a [`Config`](crate::Config) converts, without compression).
    pub fn options(mut self, options: impl Into<Options>) -> Self {
        self.options = options.into();
        self
    }

    /// The subprotocols offered, most preferred first; each a token.
    pub fn subprotocols<I>(mut self, subprotocols: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.subprotocols = subprotocols.into_iter().map(Into::into).collect();
        self
    }

    /// Adds the header `name: value` to the request (`Authorization`, `Cookie`, …). Those the
    /// handshake writes itself (`Host`, `Upgrade`, `Sec-WebSocket-*`, …) are refused with
    /// [`Error::Usage`] at `connect`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The `Origin` header, which browsers send and some servers check.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// The rustls configuration for `wss://`: your own roots (a private CA, a test
    /// certificate), client certificates, ALPN. Its crypto provider is your choice too. Without
    /// it, the roots of the features `webpki-roots` and `native-roots` are used.
    #[cfg(feature = "rustls")]
    pub fn tls_config(mut self, config: Arc<tokio_rustls::rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Connects to `url` and runs the opening handshake; see [`connect_url`] for the errors.
    ///
    /// The future owns what it needs (a copy of the builder, the parsed URL): it can be
    /// spawned, and `url` can be a temporary.
    pub fn connect(&self, url: &str) -> impl Future<Output = Connected> + Send + use<> {
        let parsed = WsUrl::parse(url);
        let builder = self.clone();
        async move {
            let url = parsed.map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
            let connecting = builder.connect_parsed(&url);
            match builder.options.config.handshake_timeout {
                Some(limit) => tokio::time::timeout(limit, connecting)
                    .await
                    .unwrap_or(Err(Error::Protocol(ProtocolError::HandshakeTimeout))),
                None => connecting.await,
            }
        }
    }

    async fn connect_parsed(&self, url: &WsUrl) -> Connected {
        let entropy = OsEntropy::new()?;
        let tcp = TcpStream::connect((url.host(), url.port())).await?;
        // Small messages go out at once: the adapter writes whole frames, flushed.
        tcp.set_nodelay(true)?;
        let stream = if url.is_secure() {
            self.tls(tcp, url).await?
        } else {
            MaybeTlsStream::Plain(tcp)
        };
        let subprotocols: Vec<&str> = self.subprotocols.iter().map(String::as_str).collect();
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let request = ClientRequest {
            origin: self.origin.as_deref(),
            subprotocols: &subprotocols,
            headers: &headers,
            ..ClientRequest::new(url.host_header(), url.resource())
        };
        crate::connect(stream, &request, self.options, entropy).await
    }

    #[cfg(feature = "rustls")]
    async fn tls(&self, tcp: TcpStream, url: &WsUrl) -> io::Result<MaybeTlsStream> {
        let config = match &self.tls {
            Some(config) => Arc::clone(config),
            None => crate::tls::default_config()?,
        };
        crate::tls::wrap(tcp, url.host(), config).await
    }

    #[cfg(not(feature = "rustls"))]
    async fn tls(&self, _tcp: TcpStream, _url: &WsUrl) -> io::Result<MaybeTlsStream> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "wss:// needs the feature `rustls` of wsproto-tokio (with `webpki-roots` or \
             `native-roots` for the roots)",
        ))
    }
}
