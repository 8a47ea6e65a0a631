//! The test server: an axum app whose `/` serves a page (a plain `GET`) or an echo WebSocket
//! (through the extractor), over TCP (`axum::serve`) or TLS (hyper's auto builder, HTTP/2 by
//! ALPN), reporting each socket it served.

use std::sync::Arc;

use axum::Router;
use axum::extract::Extension;
use axum::response::{Html, IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use http::{Method, Version, header};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use wsproto_axum::{Config, WebSocketUpgrade, WebSocketUpgradeRejection, websocket_route};
use wsproto_tokio::DeflateParams;

/// The subprotocols the server selects, in its order of preference.
pub const PROTOCOLS: [&str; 2] = ["echo.v2", "echo.v1"];

/// The page at `GET /`: a WebSocket to the same origin that shows its extensions, echoes one
/// message and closes (tests/interop/chromium_peer.js `h2-echo` reads the log).
const PAGE: &str = r#"<!doctype html><meta charset="utf-8"><title>wsproto-axum</title><pre id="log"></pre>
<script>
const show = (line) => { document.getElementById('log').textContent += line + '\n'; };
const ws = new WebSocket(location.href.replace(/^http/, 'ws'));
ws.onopen = () => { show('extensions: ' + ws.extensions); ws.send('hello'); };
ws.onmessage = (e) => { show('echo: ' + e.data); ws.close(1000); };
ws.onclose = (e) => show('close ' + e.code + (e.wasClean ? ' clean' : ''));
</script>"#;

/// One socket the server served, once it ended.
#[derive(Debug)]
pub struct Served {
    pub version: Version,
    pub subprotocol: Option<String>,
    pub deflate: Option<DeflateParams>,
    /// Bytes of messages echoed.
    pub echoed: usize,
    /// The close code and whether the closing handshake completed.
    pub close: Option<(u16, bool)>,
}

/// The settings of a test server.
#[derive(Clone, Copy, Debug, Default)]
pub struct Settings {
    /// Turn permessage-deflate off.
    pub no_deflate: bool,
    /// A `Config` for the head checks and the sockets, through an `Extension` layer.
    pub config: Option<Config>,
}

/// The app: `/` for the page and the WebSocket, each socket reported to the returned channel.
pub fn app(settings: Settings) -> (Router, UnboundedReceiver<Served>) {
    let (log, served) = unbounded_channel();
    let mut app = Router::new()
        .route("/", websocket_route(root))
        .layer(Extension(Arc::new((log, settings))));
    if let Some(config) = settings.config {
        app = app.layer(Extension(config));
    }
    (app, served)
}

type Shared = Arc<(UnboundedSender<Served>, Settings)>;

async fn root(
    Extension(shared): Extension<Shared>,
    method: Method,
    version: Version,
    headers: http::HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(_) if method == Method::GET && !headers.contains_key(header::UPGRADE) => {
            return Html(PAGE).into_response();
        }
        Err(rejection) => return rejection.into_response(),
    };
    let ws = ws
        .protocols(PROTOCOLS)
        .max_message_size(16 << 20)
        .deflate(!shared.1.no_deflate);
    ws.on_upgrade(move |mut socket| async move {
        let deflate = socket.deflate_params();
        let mut echoed = 0;
        while let Some(Ok(message)) = socket.next().await {
            echoed += message.len();
            if socket.send(message).await.is_err() {
                break;
            }
        }
        let _ = shared.0.send(Served {
            version,
            subprotocol: socket.subprotocol().map(String::from),
            deflate,
            echoed,
            close: socket.close_info().map(|info| (info.code.0, info.clean)),
        });
    })
}

/// Serves `app` over plain TCP with `axum::serve` (HTTP/1.1); returns the port.
pub async fn serve_tcp(app: Router) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// Serves `app` over TLS with a certificate generated now, ALPN `h2` then `http/1.1`, and
/// extended CONNECT enabled (RFC 8441 §3); returns the port.
pub async fn serve_tls(app: Router) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tls, _) = wsproto_hyper_echo::self_signed_tls(&["localhost", "127.0.0.1"]).unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (tls, app) = (tls.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(stream) = tls.accept(tcp).await else {
                    return;
                };
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder.http2().enable_connect_protocol();
                let service = TowerToHyperService::new(app);
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    port
}
