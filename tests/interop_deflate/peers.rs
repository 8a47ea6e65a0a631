//! The permessage-deflate interop peers (Python `websockets`, Node `ws`, driven by `peer.py` and
//! `peer.js` beside this file; headless Chromium, driven by `chromium_peer.js`), shared by the
//! core's tests/deflate_interop.rs and the adapters' deflate interop tests (`#[path]`-included by
//! each).
//!
//! Python and Node are installed by `install.sh` (beside this file) under the cargo target
//! directory, once per test binary when they are missing; Chromium and its driver by
//! `scripts/interop install`, as for tests/interop.rs. If that fails, the tests fail (they never
//! skip).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A peer implementation.
#[derive(Clone, Copy, Debug)]
pub enum Peer {
    /// Python `websockets` (`peer.py`).
    Python,
    /// Node `ws` (`peer.js`).
    Node,
}

/// The repository's root, found from the crate being tested (the core at the root, or an
/// adapter below it).
pub fn repo_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("tests/interop_deflate/install.sh").exists() {
        assert!(dir.pop(), "tests/interop_deflate not found above the crate");
    }
    dir
}

/// This directory: `tests/interop_deflate`.
fn scripts_dir() -> PathBuf {
    repo_root().join("tests/interop_deflate")
}

/// The cargo target directory of this build (`target/` unless `CARGO_TARGET_DIR` says
/// otherwise): one for the whole workspace, so every crate's tests share the peers.
pub fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .to_path_buf()
}

/// Where `install.sh` puts the peers.
fn peers_dir() -> PathBuf {
    target_dir().join("interop_deflate")
}

/// Runs `install.sh` once per test binary if a peer is missing; panics if it fails.
fn install_peers() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let dir = peers_dir();
        if dir.join("venv/bin/python").exists() && dir.join("node_modules/ws").exists() {
            return;
        }
        let status = Command::new("sh")
            .arg(scripts_dir().join("install.sh"))
            .env("CARGO_TARGET_DIR", target_dir())
            .status()
            .expect("cannot run tests/interop_deflate/install.sh");
        assert!(
            status.success(),
            "tests/interop_deflate/install.sh failed: {status}"
        );
    });
}

/// The command that runs `peer`'s script, its stdout piped. Add `server OPTIONS` or
/// `client PORT OPTIONS`.
fn command(peer: Peer) -> Command {
    install_peers();
    let dir = peers_dir();
    let (program, script) = match peer {
        Peer::Python => (dir.join("venv/bin/python"), scripts_dir().join("peer.py")),
        Peer::Node => (PathBuf::from("node"), scripts_dir().join("peer.js")),
    };
    let installed = match peer {
        Peer::Python => program.exists(),
        Peer::Node => dir.join("node_modules/ws").exists(),
    };
    assert!(
        installed,
        "{peer:?} peer missing: run tests/interop_deflate/install.sh (with CARGO_TARGET_DIR set as for this test)"
    );
    let mut cmd = Command::new(program);
    cmd.arg(script)
        .env("WS_NODE_MODULES", dir.join("node_modules"))
        .stdout(Stdio::piped());
    cmd
}

/// The peer's factory options: (server_no_context_takeover, client_no_context_takeover,
/// server_max_window_bits, client_max_window_bits) as JSON.
pub fn options(snct: bool, cnct: bool, smwb: Option<u8>, cmwb: Option<u8>) -> String {
    let bits = |b: Option<u8>| b.map_or("null".to_string(), |b| b.to_string());
    format!(
        r#"{{"snct": {snct}, "cnct": {cnct}, "smwb": {}, "cmwb": {}}}"#,
        bits(smwb),
        bits(cmwb)
    )
}

/// Starts `peer` as an echo server with `options`; returns it with the port it listens on.
pub fn spawn_server(peer: Peer, options: &str) -> (Child, u16) {
    use std::io::BufRead;
    let mut child = command(peer).arg("server").arg(options).spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("the peer prints its port");
    (child, port)
}

/// Starts `peer` as a client of 127.0.0.1:`port` with `options`: it sends the messages of its
/// script, checks the echoes, prints `OK <extension>` and exits 0.
pub fn spawn_client(peer: Peer, port: u16, options: &str) -> Child {
    command(peer)
        .arg("client")
        .arg(port.to_string())
        .arg(options)
        .spawn()
        .unwrap()
}

/// Waits for a client from [`spawn_client`] and checks that it saw every echo, with
/// permessage-deflate negotiated; returns its report.
pub fn client_report(child: Child, peer: Peer) -> String {
    let (status, stdout) = finish(child);
    assert!(status.success(), "{peer:?} client failed: {stdout}");
    assert!(stdout.starts_with("OK"), "{stdout}");
    stdout
}

/// Everything `child` printed, once it exited, and how it exited.
pub fn finish(mut child: Child) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    (child.wait().unwrap(), stdout)
}

/// `scripts/interop install`, once per test binary: Chromium (with apt-get if missing) and
/// `playwright-core` under `target/interop-cache`. Panics if that fails: the test never skips.
pub fn interop_cache() -> PathBuf {
    static INSTALLED: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let installed = INSTALLED.get_or_init(|| {
        let output = Command::new(repo_root().join("scripts/interop"))
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
    match installed {
        Ok(path) => path.clone(),
        Err(err) => panic!("Chromium is not available: {err}"),
    }
}

/// Starts headless Chromium on `chromium_peer.js`: its page opens `connections` WebSockets to
/// `url`, one after the other (see the script for what it sends and expects on each). It prints
/// `PASS` and exits 0 if all went well; read that with [`finish`].
pub fn spawn_chromium(url: &str, connections: usize) -> Child {
    let cache = interop_cache();
    Command::new("node")
        .arg(scripts_dir().join("chromium_peer.js"))
        .arg(url)
        .arg(connections.to_string())
        .env("NODE_PATH", cache.join("node/node_modules"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot start node")
}

/// FNV-1a 32 and the length, as the Chromium page reports them for the server's own messages.
pub fn checksum(data: &[u8]) -> String {
    let hash = data.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("{hash:x}/{}", data.len())
}

/// Stops a peer.
pub fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
