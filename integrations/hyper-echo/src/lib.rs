//! # An echo WebSocket server on hyper 1.x, over HTTP/1.1 and HTTP/2
//!
//! hyper parses HTTP and writes the response; [`wsproto_tokio::http`] checks the request with
//! the core's rules and builds the answer; [`WebSocket::server`] runs the upgraded stream. One
//! server, two front doors:
//!
//! - **HTTP/1.1 Upgrade** (RFC 6455 §4): `GET` with `Upgrade: websocket`, answered `101`.
//! - **HTTP/2 extended CONNECT** (RFC 8441): the server's SETTINGS carry
//!   `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (hyper's `enable_connect_protocol`), the client
//!   sends `CONNECT` with `:protocol websocket`, answered `200`. The HTTP/2 stream stands for
//!   the TCP connection (RFC 8441 §5): the socket's shutdown sends `END_STREAM` (hyper's
//!   upgraded stream does so), and the peer's `END_STREAM` or `RST_STREAM` is the end of input,
//!   an abnormal close (1006) unless the closing handshake had completed.
//!
//! Over TCP, HTTP/2 is h2c with prior knowledge; over TLS, ALPN offers `h2` and `http/1.1`
//! (browsers use RFC 8441 only over TLS). hyper-util's auto builder tells HTTP/1.1 from HTTP/2
//! by the connection preface.
//!
//! Every message is echoed back as the same kind (text or binary). With the query
//! `?close-after=N` the server starts the closing handshake (1000) after N echoes. A `GET /`
//! without `Upgrade` gets a page whose script opens a WebSocket to the same server, so that a
//! browser reuses the page's HTTP/2 connection for it.
//!
//! Production limits: a client must send its request head (and, over TLS, finish its TLS
//! handshake) within the header-read timeout ([`Server::with_header_read_timeout`], 30 s by
//! default), or the connection is closed; the head must be within the [`Config`]'s
//! `max_head_len` and `max_headers` (431 otherwise, from `check_request`); a socket that
//! receives no message for the idle timeout ([`Server::with_idle_timeout`], 60 s by default) is
//! closed with 1001.
//!
//! Each socket is logged when it opens and when it closes, with the HTTP version it came over:
//! on stderr, and to a channel for tests ([`Server::with_log`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod deadline;

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, UPGRADE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedSender;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use wsproto_tokio::http::{check_request, error_response};

use crate::deadline::FirstBytesDeadline;
use wsproto_tokio::{CloseCode, Config, DeflateConfig, DeflateParams, WebSocket};

/// The subprotocols the server selects, in its order of preference, if the client offers one.
pub const SUBPROTOCOLS: [&str; 2] = ["echo.v1", "echo.v2"];

/// The page served at `GET /`: it opens a WebSocket to the URL it was loaded from (`ws:` or
/// `wss:`), echoes one message and shows what came back.
pub const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>wsproto echo</title>
<pre id="log"></pre>
<script>
const log = (line) => { document.getElementById('log').textContent += line + '\n'; };
const ws = new WebSocket(location.href.replace(/^http/, 'ws'));
ws.onopen = () => { log('open'); ws.send('hello'); };
ws.onmessage = (e) => { log('echo: ' + e.data); ws.close(1000); };
ws.onclose = (e) => log('close ' + e.code + (e.wasClean ? ' clean' : ''));
</script>
"#;

/// What the server logs about a socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketLog {
    /// The handshake was accepted and the stream upgraded.
    Opened {
        /// The socket's number, from 1.
        id: u64,
        /// `HTTP/1.1` (Upgrade) or `HTTP/2` (extended CONNECT).
        version: Version,
        /// The resource name.
        path: String,
        /// The subprotocol selected, if any.
        subprotocol: Option<String>,
    },
    /// The connection ended.
    Closed {
        /// The socket's number.
        id: u64,
        /// The HTTP version it came over.
        version: Version,
        /// The close code (1006 for an abnormal end).
        code: u16,
        /// True if the closing handshake completed.
        clean: bool,
        /// How it failed, if it did.
        error: Option<String>,
    },
    /// A request was refused (malformed handshake) or the upgrade failed.
    Refused {
        /// The HTTP version of the request.
        version: Version,
        /// The HTTP status answered.
        status: u16,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for SocketLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketLog::Opened {
                id,
                version,
                path,
                subprotocol,
            } => write!(
                f,
                "socket {id} over {version:?}: open {path} (subprotocol {})",
                subprotocol.as_deref().unwrap_or("none")
            ),
            SocketLog::Closed {
                id,
                version,
                code,
                clean,
                error,
            } => {
                let how = if *clean { "clean" } else { "abnormal" };
                write!(f, "socket {id} over {version:?}: closed {code} {how}")?;
                match error {
                    Some(error) => write!(f, " ({error})"),
                    None => Ok(()),
                }
            }
            SocketLog::Refused {
                version,
                status,
                reason,
            } => write!(
                f,
                "request over {version:?} refused with {status}: {reason}"
            ),
        }
    }
}

/// The default header-read timeout: hyper's own default, which it applies only with a timer.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The default idle timeout of a socket.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The echo server: its connection settings and where it logs.
#[derive(Clone, Debug)]
pub struct Server {
    config: Config,
    deflate: Option<DeflateConfig>,
    header_read_timeout: Duration,
    idle_timeout: Option<Duration>,
    log: Option<UnboundedSender<SocketLog>>,
    next_id: Arc<AtomicU64>,
}

impl Server {
    /// A server with the default [`Config`], logging to stderr.
    pub fn new(config: Config) -> Self {
        Server {
            config,
            deflate: None,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            log: None,
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Accepts a client's permessage-deflate offer within `deflate` (RFC 7692).
    pub fn with_deflate(mut self, deflate: DeflateConfig) -> Self {
        self.deflate = Some(deflate);
        self
    }

    /// How long a client may take to send a request head, from the connection's start or the
    /// end of the previous request (over TLS, the TLS handshake gets as long again): a client
    /// that dribbles its head (slowloris) is disconnected after this long. Default
    /// [`DEFAULT_HEADER_READ_TIMEOUT`].
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a socket may go without a message from the client before the server closes it
    /// with 1001 (going away); `None` never. Default [`DEFAULT_IDLE_TIMEOUT`].
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Also sends every log line to `log`.
    pub fn with_log(mut self, log: UnboundedSender<SocketLog>) -> Self {
        self.log = Some(log);
        self
    }

    fn log(&self, line: SocketLog) {
        eprintln!("hyper-echo: {line}");
        if let Some(log) = &self.log {
            let _ = log.send(line);
        }
    }

    /// Accepts connections on `listener` until it fails, each served on its own task: plain
    /// TCP (HTTP/1.1, or h2c with prior knowledge), or TLS through `tls` (ALPN `h2` or
    /// `http/1.1`).
    ///
    /// # Errors
    ///
    /// The listener's accept error.
    pub async fn serve(
        self,
        listener: TcpListener,
        tls: Option<TlsAcceptor>,
    ) -> std::io::Result<()> {
        loop {
            let (tcp, _) = listener.accept().await?;
            let server = self.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(tls) => {
                        let handshake = tls.accept(tcp);
                        match tokio::time::timeout(server.header_read_timeout, handshake).await {
                            Ok(Ok(stream)) => server.serve_connection(stream).await,
                            Ok(Err(err)) => eprintln!("hyper-echo: TLS handshake failed: {err}"),
                            Err(_) => eprintln!("hyper-echo: TLS handshake timed out"),
                        }
                    }
                    None => server.serve_connection(tcp).await,
                }
            });
        }
    }

    /// Serves HTTP/1.1 (with upgrades) or HTTP/2 (with extended CONNECT) on one connection,
    /// which must send its first request within the header-read timeout.
    pub async fn serve_connection<I>(self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(FirstBytesDeadline::new(io, self.header_read_timeout));
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // Without a timer hyper applies no header-read timeout at all.
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        // RFC 8441 §3: SETTINGS_ENABLE_CONNECT_PROTOCOL = 1, or no client may send :protocol.
        builder.http2().enable_connect_protocol();
        let service = service_fn(move |req| {
            let server = self.clone();
            async move { Ok::<_, Infallible>(server.handle(req)) }
        });
        if let Err(err) = builder.serve_connection_with_upgrades(io, service).await {
            eprintln!("hyper-echo: connection error: {err}");
        }
    }

    /// Answers one request: the page, a refusal, or an accepted handshake whose stream is
    /// served on a new task.
    fn handle(&self, mut req: Request<Incoming>) -> Response<Full<Bytes>> {
        let version = req.version();
        if req.method() == Method::GET && !req.headers().contains_key(UPGRADE) {
            return page(req.uri().path());
        }
        let checked = match check_request(&req, &self.config) {
            Ok(checked) => checked,
            Err(err) => {
                let response = error_response(&err, version);
                self.log(SocketLog::Refused {
                    version,
                    status: response.status().as_u16(),
                    reason: err.to_string(),
                });
                return response.map(|()| Full::default());
            }
        };
        let subprotocol = checked
            .subprotocols()
            .find(|offered| SUBPROTOCOLS.contains(offered))
            .map(String::from);
        let path = checked.path().to_owned();
        let accepted = match &self.deflate {
            Some(deflate) => checked.accept_response_with_deflate(subprotocol.as_deref(), deflate),
            None => checked
                .accept_response(subprotocol.as_deref())
                .map(|response| (response, None)),
        };
        let (response, deflate) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                return Response::builder()
                    .status(StatusCode::INTERNAL_SERVER_ERROR)
                    .body(Full::from(err.to_string()))
                    .unwrap_or_default();
            }
        };
        let upgrade = hyper::upgrade::on(&mut req);
        let server = self.clone();
        tokio::spawn(async move {
            match upgrade.await {
                Ok(upgraded) => {
                    server
                        .echo(TokioIo::new(upgraded), version, path, subprotocol, deflate)
                        .await
                }
                Err(err) => server.log(SocketLog::Refused {
                    version,
                    status: 0,
                    reason: format!("upgrade failed: {err}"),
                }),
            }
        });
        response.map(|()| Full::default())
    }

    /// The echo protocol on an upgraded stream: every message back as the same kind, until the
    /// connection ends; with `?close-after=N`, a close (1000) after N echoes. `deflate`: the
    /// permessage-deflate parameters the handshake agreed.
    async fn echo<S>(
        &self,
        stream: S,
        version: Version,
        path: String,
        subprotocol: Option<String>,
        deflate: Option<DeflateParams>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let close_after = close_after(&path);
        self.log(SocketLog::Opened {
            id,
            version,
            path,
            subprotocol: subprotocol.clone(),
        });
        let opened =
            WebSocket::server(stream, self.config, subprotocol.as_deref()).and_then(|mut ws| {
                if let Some(params) = deflate {
                    ws.enable_deflate(params)?;
                }
                Ok(ws)
            });
        let mut ws = match opened {
            Ok(ws) => ws,
            Err(err) => {
                self.log(SocketLog::Refused {
                    version,
                    status: 0,
                    reason: err.to_string(),
                });
                return;
            }
        };
        let mut echoed = 0u64;
        let mut error = None;
        loop {
            let message = match self.idle_timeout {
                Some(idle) => match tokio::time::timeout(idle, ws.next()).await {
                    Ok(message) => message,
                    Err(_) => {
                        if let Err(err) = ws.close_with(CloseCode::GOING_AWAY, "idle").await {
                            error = Some(err.to_string());
                        }
                        break;
                    }
                },
                None => ws.next().await,
            };
            let Some(message) = message else { break };
            let sent = match message {
                Ok(message) => ws.send(message).await,
                Err(err) => Err(err),
            };
            if let Err(err) = sent {
                error = Some(err.to_string());
                break;
            }
            echoed += 1;
            if close_after == Some(echoed) {
                if let Err(err) = ws.close_with(CloseCode::NORMAL, "").await {
                    error = Some(err.to_string());
                }
                break;
            }
        }
        let (code, clean) = ws
            .close_info()
            .map_or((CloseCode::ABNORMAL.0, false), |info| {
                (info.code.0, info.clean)
            });
        self.log(SocketLog::Closed {
            id,
            version,
            code,
            clean,
            error,
        });
    }
}

/// `N` of a `close-after=N` in the query of `path`.
fn close_after(path: &str) -> Option<u64> {
    let (_, query) = path.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("close-after="))
        .and_then(|n| n.parse().ok())
}

/// `GET /`: the page; anything else: 404.
fn page(path: &str) -> Response<Full<Bytes>> {
    let (status, body) = if path == "/" {
        (StatusCode::OK, PAGE)
    } else {
        (StatusCode::NOT_FOUND, "not found\n")
    };
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Full::from(body))
        .unwrap_or_default()
}

/// A TLS acceptor with a self-signed certificate for `names` (DNS names or IP addresses),
/// generated now, ALPN `h2` then `http/1.1`, on rustls' ring provider. Returns the
/// certificate (DER) too, for a client to trust.
///
/// # Errors
///
/// Certificate generation or rustls configuration failed.
pub fn self_signed_tls(
    names: &[&str],
) -> Result<(TlsAcceptor, Vec<u8>), Box<dyn std::error::Error + Send + Sync>> {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let certified = rcgen::generate_simple_self_signed(names)?;
    let cert_der = certified.cert.der().to_vec();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)?;
    // RFC 7301: the server picks; h2 first so that browsers run WebSockets over RFC 8441.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((TlsAcceptor::from(Arc::new(config)), cert_der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_after_query() {
        assert_eq!(close_after("/?close-after=2"), Some(2));
        assert_eq!(close_after("/x?a=b&close-after=1"), Some(1));
        assert_eq!(close_after("/"), None);
        assert_eq!(close_after("/?close-after=x"), None);
    }
}
