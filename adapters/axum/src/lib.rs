//! # wsproto-axum: axum's `WebSocketUpgrade`, with compression and HTTP/2
//!
//! A [`WebSocketUpgrade`] extractor that reads like `axum::extract::ws`, on the wsproto session
//! engine ([`wsproto_tokio::WebSocket`], a `Stream` + `Sink` of [`Message`]s):
//!
//! - **permessage-deflate (RFC 7692) is negotiated by default**: a client that offers it (every
//!   browser, Python `websockets`, Node `ws`) gets compressed messages, transparently.
//!   [`WebSocketUpgrade::deflate`]`(false)` turns it off.
//! - **HTTP/1.1 Upgrade and HTTP/2 extended CONNECT (RFC 8441) on one route**: a `GET` with
//!   `Upgrade: websocket` is answered `101`, a `CONNECT` with `:protocol websocket` `200`.
//! - Every check of the request is the core's ([`wsproto_tokio::http::check_request_parts`]),
//!   the head's size and header count included; a refusal answers with the core's status: 400
//!   for a malformed request, 426 (with `Sec-WebSocket-Version: 13`) for another version, 405
//!   for another method, 431 for a head over the limits.
//!
//! ```no_run
//! use axum::{Router, response::Response};
//! use futures_util::{SinkExt, StreamExt};
//! use wsproto_axum::{WebSocketUpgrade, websocket_route};
//!
//! async fn handler(ws: WebSocketUpgrade) -> Response {
//!     ws.protocols(["echo.v1"]).on_upgrade(|mut socket| async move {
//!         while let Some(Ok(message)) = socket.next().await {
//!             if socket.send(message).await.is_err() {
//!                 break;
//!             }
//!         }
//!     })
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let app = Router::new().route("/ws", websocket_route(handler));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! ## Why the route must take `CONNECT` (HTTP/2)
//!
//! Over HTTP/2 there is no `Upgrade`: a browser opens a WebSocket with an extended `CONNECT`
//! request on a stream of the page's connection (RFC 8441). A route made with `get(handler)`
//! answers it `405 Method Not Allowed` before the extractor runs, and the browser's WebSocket
//! fails with no hint why. Route WebSockets with [`websocket_route`] (`GET` and `CONNECT`), or
//! axum's `any(handler)`: the extractor itself refuses every other method (405). The server
//! must also announce extended CONNECT (`SETTINGS_ENABLE_CONNECT_PROTOCOL`): `axum::serve`
//! does with axum's `http2` feature; with hyper's own builder, call
//! `builder.http2().enable_connect_protocol()`. Browsers use HTTP/2 only over TLS.
//!
//! ## Settings for every route
//!
//! The head is checked against the [`Config`] found in the request's extensions (add one with
//! `axum::Extension(config)` as a layer), else [`Config::default`]: 8 KiB and 64 header lines.
//! The same `Config` is the sockets' starting point, which the builder methods then change.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::borrow::Cow;
use std::fmt;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use http::request::Parts;
use http::{HeaderValue, Version, header};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use wsproto_tokio::http::{OwnedWebSocketRequest, check_request_parts, error_response};

pub use wsproto_tokio::{CloseCode, Config, DeflateConfig, HandshakeError, Message};

/// An open WebSocket over the upgraded HTTP connection (HTTP/1.1) or stream (HTTP/2): a
/// [`Stream`](wsproto_tokio::Stream) of received [`Message`]s and a
/// [`Sink`](wsproto_tokio::Sink) of messages to send. The selected subprotocol is
/// [`subprotocol`](wsproto_tokio::WebSocket::subprotocol), the agreed compression
/// [`deflate_params`](wsproto_tokio::WebSocket::deflate_params).
pub type WebSocket = wsproto_tokio::WebSocket<TokioIo<Upgraded>>;

/// A route for a WebSocket handler: `GET` (HTTP/1.1 Upgrade) and `CONNECT` (HTTP/2 extended
/// CONNECT, RFC 8441). Use it where `axum::routing::get(handler)` would refuse HTTP/2
/// WebSockets (see the [crate docs](crate#why-the-route-must-take-connect-http2)).
pub fn websocket_route<H, T, S>(handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    on(MethodFilter::GET.or(MethodFilter::CONNECT), handler)
}

/// The extractor: a WebSocket opening handshake that passed every check of the core, to
/// accept with [`on_upgrade`](Self::on_upgrade).
///
/// Refused requests never reach the handler: the rejection ([`WebSocketUpgradeRejection`])
/// answers with the core's status.
pub struct WebSocketUpgrade<F = DefaultOnFailedUpgrade> {
    request: OwnedWebSocketRequest,
    on_upgrade: OnUpgrade,
    config: Config,
    deflate: Option<DeflateConfig>,
    protocol: Option<String>,
    on_failed_upgrade: F,
}

impl<F> fmt::Debug for WebSocketUpgrade<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("request", &self.request)
            .field("config", &self.config)
            .field("deflate", &self.deflate)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl<F> WebSocketUpgrade<F> {
    /// Selects the first of `protocols` (the server's order of preference) that the client
    /// offered, as axum's `protocols` does; none if the client offered none of them.
    pub fn protocols<I>(mut self, protocols: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        self.protocol = protocols
            .into_iter()
            .map(Into::into)
            .find(|ours| self.request.subprotocols().any(|offered| offered == ours))
            .map(Cow::into_owned);
        self
    }

    /// The subprotocols the client offered, in its order of preference.
    pub fn requested_protocols(&self) -> impl Iterator<Item = &str> {
        self.request.subprotocols()
    }

    /// Selects `protocol`, which must be one the client offered (RFC 6455 §4.2.2: browsers
    /// fail the connection otherwise).
    pub fn set_selected_protocol(&mut self, protocol: impl Into<String>) {
        self.protocol = Some(protocol.into());
    }

    /// The subprotocol selected so far, if any.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The largest message received, and so the largest frame (call
    /// [`max_frame_size`](Self::max_frame_size) after it for a lower frame limit); a larger one
    /// fails the connection with 1009. Default 16 MiB, wsproto-tokio's
    /// ([`wsproto_tokio::DEFAULT_MAX_MESSAGE_SIZE`], which says why): a message is reassembled
    /// in memory, so this bounds what each peer can make the server hold (axum's tungstenite
    /// default is 64 MiB: `.max_message_size(64 << 20)` for the same).
    pub fn max_message_size(mut self, max: usize) -> Self {
        self.config.max_message_size = max as u64;
        self.config.max_frame_payload = max as u64;
        self
    }

    /// The largest frame received, if it must be under `max_message_size`.
    pub fn max_frame_size(mut self, max: usize) -> Self {
        self.config.max_frame_payload = max as u64;
        self
    }

    /// Every limit and timer of the socket at once (the head limits were checked already, by
    /// the `Config` of the crate docs' "Settings for every route").
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// permessage-deflate on (the default, with [`DeflateConfig::DEFAULT`]) or off.
    pub fn deflate(mut self, on: bool) -> Self {
        self.deflate = on.then_some(DeflateConfig::DEFAULT);
        self
    }

    /// permessage-deflate on, accepting a client's offer within `deflate`.
    pub fn deflate_config(mut self, deflate: DeflateConfig) -> Self {
        self.deflate = Some(deflate);
        self
    }

    /// True for an HTTP/2 (or HTTP/3) extended CONNECT, false for an HTTP/1.1 Upgrade.
    pub fn is_extended_connect(&self) -> bool {
        self.request.is_extended_connect()
    }

    /// Calls `callback` with the error if the upgrade fails after the response (the
    /// connection closed first, or the socket could not be opened). By default errors are
    /// ignored, as axum's are.
    pub fn on_failed_upgrade<C: OnFailedUpgrade>(self, callback: C) -> WebSocketUpgrade<C> {
        WebSocketUpgrade {
            request: self.request,
            on_upgrade: self.on_upgrade,
            config: self.config,
            deflate: self.deflate,
            protocol: self.protocol,
            on_failed_upgrade: callback,
        }
    }

    /// The response accepting the handshake (`101` or `200`, with the subprotocol and the
    /// agreed compression); once the HTTP library has sent it and upgraded the connection,
    /// `callback` runs on a new task with the open socket.
    #[must_use = "the WebSocket opens only once this response is returned"]
    pub fn on_upgrade<C, Fut>(self, callback: C) -> Response
    where
        C: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        F: OnFailedUpgrade,
    {
        let protocol = self.protocol.as_deref();
        let accepted = self
            .request
            .accept_response_negotiating(protocol, self.deflate.as_ref());
        let (response, deflate) = match accepted {
            Ok(accepted) => accepted,
            // Only a selected subprotocol that is not a token gets here: the server's fault.
            Err(error) => {
                return (http::StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
                    .into_response();
            }
        };
        let (config, on_failed_upgrade) = (self.config, self.on_failed_upgrade);
        let protocol = self.protocol;
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            let opened = match on_upgrade.await {
                Ok(upgraded) => open(TokioIo::new(upgraded), config, deflate, protocol.as_deref())
                    .map_err(axum::Error::new),
                Err(error) => Err(axum::Error::new(error)),
            };
            match opened {
                Ok(socket) => callback(socket).await,
                Err(error) => on_failed_upgrade.call(error),
            }
        });
        response.map(|()| Body::empty())
    }
}

/// The socket on the upgraded IO, as the handshake agreed: the one call into
/// `wsproto_tokio::WebSocket`'s constructors.
fn open(
    io: TokioIo<Upgraded>,
    config: Config,
    deflate: Option<wsproto_tokio::DeflateParams>,
    protocol: Option<&str>,
) -> Result<WebSocket, wsproto_tokio::Error> {
    let mut socket = WebSocket::server(io, config, protocol)?;
    if let Some(params) = deflate {
        socket.enable_deflate(params)?;
    }
    Ok(socket)
}

/// What to do when the upgrade fails after the response went out (see
/// [`WebSocketUpgrade::on_failed_upgrade`]). Implemented for `FnOnce(axum::Error)`.
pub trait OnFailedUpgrade: Send + 'static {
    /// Handles `error`.
    fn call(self, error: axum::Error);
}

impl<F: FnOnce(axum::Error) + Send + 'static> OnFailedUpgrade for F {
    fn call(self, error: axum::Error) {
        self(error);
    }
}

/// The default [`OnFailedUpgrade`]: ignores the error.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct DefaultOnFailedUpgrade;

impl OnFailedUpgrade for DefaultOnFailedUpgrade {
    fn call(self, _error: axum::Error) {}
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade<DefaultOnFailedUpgrade> {
    type Rejection = WebSocketUpgradeRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let config = parts
            .extensions
            .get::<Config>()
            .copied()
            .unwrap_or(wsproto_tokio::Options::DEFAULT.config);
        let request = check_request_parts(parts, &config)
            .map_err(|error| WebSocketUpgradeRejection::Handshake {
                error,
                version: parts.version,
            })?
            .to_owned();
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(WebSocketUpgradeRejection::ConnectionNotUpgradable)?;
        Ok(WebSocketUpgrade {
            request,
            on_upgrade,
            config,
            deflate: Some(DeflateConfig::DEFAULT),
            protocol: None,
            on_failed_upgrade: DefaultOnFailedUpgrade,
        })
    }
}

/// Why the extractor refused a request; its response is the answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum WebSocketUpgradeRejection {
    /// The request broke a rule of the opening handshake (RFC 6455 §4.2.1, RFC 8441 §4), or
    /// its head is over the limits. Answered with the core's status and fields
    /// ([`wsproto_tokio::http::error_response`]): 400, 405, 426 or 431.
    Handshake {
        /// The first rule broken.
        error: HandshakeError,
        /// The request's HTTP version (the answer's fields depend on it).
        version: Version,
    },
    /// A valid handshake on a connection that cannot be upgraded (no hyper upgrade in the
    /// request: a server without upgrade support, or a request handled twice). Answered 426,
    /// as axum does.
    ConnectionNotUpgradable,
}

impl fmt::Display for WebSocketUpgradeRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebSocketUpgradeRejection::Handshake { error, .. } => {
                write!(f, "not a valid WebSocket handshake: {error}")
            }
            WebSocketUpgradeRejection::ConnectionNotUpgradable => {
                f.write_str("the connection cannot be upgraded")
            }
        }
    }
}

impl std::error::Error for WebSocketUpgradeRejection {}

impl IntoResponse for WebSocketUpgradeRejection {
    fn into_response(self) -> Response {
        let text = self.to_string();
        let mut response = match &self {
            WebSocketUpgradeRejection::Handshake { error, version } => {
                error_response(error, *version).map(|()| Body::from(text))
            }
            WebSocketUpgradeRejection::ConnectionNotUpgradable => {
                (http::StatusCode::UPGRADE_REQUIRED, text).into_response()
            }
        };
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}
