//! The echo server against real peers over 127.0.0.1, installed by `scripts/interop install`
//! into `target/interop-cache` (the machinery of the root crate's `tests/interop.rs`; a peer
//! that cannot be installed or started fails the test, it never skips):
//!
//! - HTTP/1.1 Upgrade: Python `websockets` and Node `ws` clients;
//! - HTTP/2 extended CONNECT over TLS: headless Chromium, which loads the page over `https`
//!   (ALPN `h2`) and opens `wss://` from it on the same HTTP/2 connection (RFC 8441).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use http::Version;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::timeout;
use wsproto_hyper_echo::{Server, SocketLog, self_signed_tls};
use wsproto_tokio::Config;

/// The workspace root, where `scripts/` and `tests/interop/` are.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The cargo target directory of this build.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .to_path_buf()
}

/// Installs the peers once per test binary (`scripts/interop install`); panics if that fails.
fn peers() -> PathBuf {
    static CACHE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        let output = std::process::Command::new(root().join("scripts/interop"))
            .arg("install")
            .env("CARGO_TARGET_DIR", target_dir())
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("cannot run scripts/interop: {err}"))?;
        if !output.status.success() {
            return Err(format!(
                "scripts/interop install failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(target_dir().join("interop-cache"))
    });
    match cache {
        Ok(path) => path.clone(),
        Err(err) => panic!("the interop peers are not available: {err}"),
    }
}

/// Runs a peer script to its end (at most two minutes) and asserts it printed `PASS`.
async fn run_peer(mut command: Command, what: &str) {
    command.stdin(Stdio::null()).kill_on_drop(true);
    let output = timeout(Duration::from_secs(120), command.output())
        .await
        .unwrap_or_else(|_| panic!("{what}: no result in 120 s"))
        .unwrap_or_else(|err| panic!("{what}: cannot start: {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{what}:\n{stdout}{stderr}");
    assert!(
        output.status.success() && stdout.lines().any(|line| line == "PASS"),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

async fn start_server(tls: bool) -> (u16, UnboundedReceiver<SocketLog>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tls.then(|| self_signed_tls(&["localhost", "127.0.0.1"]).unwrap().0);
    let (log, lines) = unbounded_channel();
    tokio::spawn(
        Server::new(Config::default())
            .with_log(log)
            .serve(listener, acceptor),
    );
    (port, lines)
}

/// Every log line so far.
fn drain(lines: &mut UnboundedReceiver<SocketLog>) -> Vec<SocketLog> {
    std::iter::from_fn(|| lines.try_recv().ok()).collect()
}

/// `count` sockets opened over `version` and closed cleanly with 1000, nothing else.
async fn assert_sockets(lines: &mut UnboundedReceiver<SocketLog>, version: Version, count: usize) {
    // The server logs the close once its side has finished; the peer may exit first.
    let mut log = Vec::new();
    let _ = timeout(Duration::from_secs(10), async {
        loop {
            log.extend(drain(lines));
            let closed = log
                .iter()
                .filter(|line| matches!(line, SocketLog::Closed { .. }))
                .count();
            if closed >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let opened: Vec<_> = log
        .iter()
        .filter_map(|line| match line {
            SocketLog::Opened { version, .. } => Some(*version),
            _ => None,
        })
        .collect();
    assert_eq!(opened, vec![version; count], "{log:#?}");
    for line in &log {
        match line {
            SocketLog::Opened { .. } => {}
            SocketLog::Closed {
                version: v,
                code,
                clean,
                ..
            } => {
                assert_eq!((*v, *code, *clean), (version, 1000, true), "{log:#?}");
            }
            SocketLog::Refused { .. } => panic!("a refusal: {log:#?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_over_http1() {
    let cache = peers();
    let (port, mut log) = start_server(false).await;
    let mut command = Command::new(cache.join("venv/bin/python"));
    command
        .arg(root().join("tests/interop/python_peer.py"))
        .args(["echo-client", &format!("ws://127.0.0.1:{port}/")]);
    run_peer(command, "python websockets").await;
    assert_sockets(&mut log, Version::HTTP_11, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_over_http1() {
    let cache = peers();
    let (port, mut log) = start_server(false).await;
    let mut command = Command::new("node");
    command
        .arg(root().join("tests/interop/node_peer.js"))
        .args(["echo-client", &format!("ws://127.0.0.1:{port}/")])
        .env("NODE_PATH", cache.join("node/node_modules"));
    run_peer(command, "node ws").await;
    assert_sockets(&mut log, Version::HTTP_11, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_over_http2_with_tls() {
    let cache = peers();
    let (port, mut log) = start_server(true).await;
    let mut command = Command::new("node");
    command
        .arg(root().join("tests/interop/chromium_peer.js"))
        .args(["h2-echo", &format!("https://127.0.0.1:{port}/")])
        .env("NODE_PATH", cache.join("node/node_modules"));
    run_peer(command, "chromium").await;
    // The page's own socket and the scenario's, both over the page's HTTP/2 connection.
    assert_sockets(&mut log, Version::HTTP_2, 2).await;
}
