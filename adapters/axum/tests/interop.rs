//! The extractor against real peers over 127.0.0.1, compression negotiated by default:
//!
//! - Python `websockets` and Node `ws` clients (HTTP/1.1), through the deflate interop peers of
//!   tests/interop_deflate (their 300 KB scripts echoed; each checks the echoes and that
//!   permessage-deflate was agreed);
//! - headless Chromium over HTTP/1.1 (`http:`) and over HTTP/2 with TLS (`https:`, ALPN `h2`,
//!   the WebSocket an extended CONNECT on the page's connection, RFC 8441), with
//!   tests/interop/chromium_peer.js `h2-echo`: the page shows `ws.extensions`, which must name
//!   permessage-deflate, and the server reports compression on each socket.
//!
//! Peers are installed by the tests themselves (tests/interop_deflate/install.sh,
//! scripts/interop install); they never skip.

mod common;
#[allow(dead_code)]
#[path = "../../../tests/interop_deflate/peers.rs"]
mod peers;

use std::time::Duration;

use common::{Served, Settings, app, serve_tcp, serve_tls};
use http::Version;
use peers::{Peer, client_report, options, spawn_client};
use tokio::process::Command;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::timeout;

/// The next `count` sockets the server reports (within 30 s).
async fn served(log: &mut UnboundedReceiver<Served>, count: usize) -> Vec<Served> {
    let mut served = Vec::new();
    for _ in 0..count {
        let next = timeout(Duration::from_secs(30), log.recv()).await;
        served.push(next.expect("the server reports each socket").unwrap());
    }
    served
}

async fn peer_client(peer: Peer) {
    let (app, mut log) = app(Settings::default());
    let port = serve_tcp(app).await;
    let child = spawn_client(peer, port, &options(false, false, None, None));
    // It checks every echo and that permessage-deflate was agreed.
    let report = tokio::task::spawn_blocking(move || client_report(child, peer))
        .await
        .unwrap();
    let [socket] = served(&mut log, 1).await.try_into().unwrap();
    println!("{peer:?}: {report} / server: {socket:?}");
    assert!(socket.deflate.is_some(), "{socket:?}");
    assert!(socket.echoed > 300_000, "{socket:?}");
    assert_eq!(
        socket.close.map(|(_, clean)| clean),
        Some(true),
        "{socket:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_with_compression() {
    peer_client(Peer::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_with_compression() {
    peer_client(Peer::Node).await;
}

/// Chromium loads the page at `url` and runs the `h2-echo` scenario from it; checks that both
/// sockets (the page's and the scenario's) came over `version`, compressed, and closed cleanly.
async fn chromium(url: &str, mut log: UnboundedReceiver<Served>, version: Version) {
    let mut command = Command::new("node");
    command
        .arg(peers::repo_root().join("tests/interop/chromium_peer.js"))
        .args(["h2-echo", url, "permessage-deflate"])
        .env(
            "NODE_PATH",
            peers::interop_cache().join("node/node_modules"),
        )
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = timeout(Duration::from_secs(120), command.output())
        .await
        .expect("Chromium finished within 120 s")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success() && stdout.lines().any(|line| line == "PASS"),
        "Chromium failed ({}):\n{stdout}",
        output.status
    );
    assert!(
        stdout.contains("extensions: permessage-deflate"),
        "{stdout}"
    );
    for socket in served(&mut log, 2).await {
        println!("server: {socket:?}");
        assert_eq!(socket.version, version, "{socket:?}");
        assert_eq!(socket.subprotocol, None, "none offered: {socket:?}");
        assert!(socket.deflate.is_some(), "{socket:?}");
        assert_eq!(socket.close, Some((1000, true)), "{socket:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_over_http1_with_compression() {
    let (app, log) = app(Settings::default());
    let port = serve_tcp(app).await;
    chromium(&format!("http://127.0.0.1:{port}/"), log, Version::HTTP_11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_over_http2_with_tls_and_compression() {
    let (app, log) = app(Settings::default());
    let port = serve_tls(app).await;
    chromium(&format!("https://127.0.0.1:{port}/"), log, Version::HTTP_2).await;
}
