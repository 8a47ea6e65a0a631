//! permessage-deflate against real peers over 127.0.0.1: Python `websockets` and Node `ws`, each
//! as server (we are the client) and as client (we are the server), with context takeover on and
//! off and several window sizes each way. The peers echo, or check our echoes.
//!
//! The peers are installed by `tests/interop_deflate/install.sh` under the cargo target
//! directory, run automatically once per test run when they are missing; if that fails, these
//! tests fail (they never skip).
#![cfg(feature = "deflate")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Event, Transmit};
use wsproto::deflate::DeflateConfig;
use wsproto::entropy::Entropy;
use wsproto::handshake::{AcceptOptions, ClientRequest};
use wsproto::time::Instant;

const NOW: Instant = Instant::from_millis(0);

#[derive(Clone, Copy, Debug)]
enum Peer {
    Python,
    Node,
}

fn peers_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("interop_deflate")
}

/// Runs `install.sh` once per test binary if a peer is missing; panics if it fails.
fn install_peers() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let dir = peers_dir();
        if dir.join("venv/bin/python").exists() && dir.join("node_modules/ws").exists() {
            return;
        }
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop_deflate/install.sh");
        let target = dir
            .parent()
            .expect("peers live under the target directory")
            .to_path_buf();
        let status = Command::new("sh")
            .arg(script)
            .env("CARGO_TARGET_DIR", target)
            .status()
            .expect("cannot run tests/interop_deflate/install.sh");
        assert!(
            status.success(),
            "tests/interop_deflate/install.sh failed: {status}"
        );
    });
}

fn command(peer: Peer) -> Command {
    install_peers();
    let dir = peers_dir();
    let script_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop_deflate");
    let (program, script) = match peer {
        Peer::Python => (dir.join("venv/bin/python"), script_dir.join("peer.py")),
        Peer::Node => (PathBuf::from("node"), script_dir.join("peer.js")),
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
fn options(snct: bool, cnct: bool, smwb: Option<u8>, cmwb: Option<u8>) -> String {
    let bits = |b: Option<u8>| b.map_or("null".to_string(), |b| b.to_string());
    format!(
        r#"{{"snct": {snct}, "cnct": {cnct}, "smwb": {}, "cmwb": {}}}"#,
        bits(smwb),
        bits(cmwb)
    )
}

#[derive(Clone)]
struct Rng(u64);

impl Entropy for Rng {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
    }
}

fn config() -> Config {
    Config {
        max_frame_payload: 16 << 20,
        max_message_size: 16 << 20,
        ..Config::DEFAULT
    }
}

/// A connection over a blocking TCP stream.
struct Driver<E> {
    ws: Connection<E>,
    stream: TcpStream,
    input: Vec<u8>,
    filled: usize,
    scratch: Vec<u8>,
    /// Wire bytes of data frames read, and message bytes they carried.
    wire_in: usize,
}

enum Got {
    Message(DataKind, Vec<u8>),
    Closed,
}

impl<E: Entropy> Driver<E> {
    fn new(ws: Connection<E>, stream: TcpStream) -> Self {
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Driver {
            ws,
            stream,
            input: vec![0; 64 << 10],
            filled: 0,
            scratch: vec![0; 3000],
            wire_in: 0,
        }
    }

    fn flush(&mut self) {
        let mut out = [0u8; 512];
        while let Ok(Transmit::Bytes(n)) = self.ws.poll_transmit(&mut out) {
            self.stream.write_all(&out[..n]).unwrap();
        }
    }

    fn fill(&mut self) -> bool {
        let n = self.stream.read(&mut self.input[self.filled..]).unwrap();
        self.filled += n;
        n > 0
    }

    /// The next whole message, or Closed.
    fn next(&mut self) -> Got {
        let mut message = Vec::new();
        loop {
            let mut pos = 0;
            loop {
                let r =
                    self.ws
                        .receive_into(&mut self.input[pos..self.filled], &mut self.scratch, NOW);
                pos += r.consumed;
                self.wire_in += r.consumed;
                match r.event {
                    None => break,
                    Some(Event::Data {
                        kind,
                        chunk,
                        message_fin,
                        ..
                    }) => {
                        message.extend_from_slice(chunk);
                        if message_fin {
                            self.input.copy_within(pos..self.filled, 0);
                            self.filled -= pos;
                            self.flush();
                            return Got::Message(kind, message);
                        }
                    }
                    Some(Event::Closed(info)) => {
                        assert!(info.error.is_none(), "{info:?}");
                        self.flush();
                        return Got::Closed;
                    }
                    Some(_) => {}
                }
            }
            self.input.copy_within(pos..self.filled, 0);
            self.filled -= pos;
            self.flush();
            if !self.fill() {
                self.ws.receive_eof(NOW);
            }
        }
    }

    fn send(&mut self, kind: DataKind, data: &[u8], fragments: usize) {
        let mut out = vec![0u8; data.len() + 1024];
        let size = data.len().div_ceil(fragments).max(1);
        let parts: Vec<&[u8]> = if data.is_empty() {
            vec![data]
        } else {
            data.chunks(size).collect()
        };
        for (i, part) in parts.iter().enumerate() {
            let n = self
                .ws
                .send(kind, part, i + 1 == parts.len(), &mut out)
                .unwrap();
            self.stream.write_all(&out[..n]).unwrap();
        }
    }
}

fn messages() -> Vec<(DataKind, Vec<u8>)> {
    let mut noise = vec![0u8; 5000];
    Rng(99).fill(&mut noise);
    vec![
        (DataKind::Text, "hello world ".repeat(1000).into_bytes()),
        (DataKind::Binary, (0..=255u8).cycle().take(25600).collect()),
        (DataKind::Text, b"hi".to_vec()),
        (DataKind::Text, Vec::new()),
        (DataKind::Text, "ünïcödé €€€ ".repeat(3000).into_bytes()),
        (DataKind::Binary, noise),
        (DataKind::Binary, vec![0; 300_000]),
    ]
}

/// We are the client: the peer echoes what we send (some of it fragmented).
fn client_against(peer: Peer, peer_options: &str, ours: DeflateConfig) {
    let mut child = command(peer)
        .arg("server")
        .arg(peer_options)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("the peer prints its port");
    let result = std::panic::catch_unwind(|| {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut d = Driver::new(Connection::client(config(), Rng(5)).unwrap(), stream);
        let offer = ours.offer();
        let request = ClientRequest {
            extensions: &[&offer],
            ..ClientRequest::new("127.0.0.1", "/")
        };
        let mut out = [0u8; 1024];
        let n = d.ws.connect(&request, NOW, &mut out).unwrap();
        d.stream.write_all(&out[..n]).unwrap();
        let params = loop {
            d.fill();
            let r = d.ws.receive(&mut d.input[..d.filled], NOW);
            let consumed = r.consumed;
            if let Some(Event::Accepted(response)) = r.event {
                let params = d.ws.accept_deflate_response(&ours, &response).unwrap();
                d.input.copy_within(consumed..d.filled, 0);
                d.filled -= consumed;
                break params;
            }
            assert!(r.event.is_none(), "{:?}", r.event);
        };
        let params = params.expect("the peer accepted permessage-deflate");
        let mut sent = 0;
        for (i, (kind, data)) in messages().into_iter().enumerate() {
            d.send(kind, &data, 1 + i % 3);
            sent += data.len();
            match d.next() {
                Got::Message(k, echo) => {
                    assert_eq!(k, kind);
                    assert!(echo == data, "echo {i} differs");
                }
                Got::Closed => panic!("closed"),
            }
        }
        assert!(
            d.wire_in < sent / 4,
            "the echoes came compressed: {} of {sent}",
            d.wire_in
        );
        let mut out = [0u8; 256];
        let n =
            d.ws.close(wsproto::close::CloseCode::NORMAL, "", NOW, &mut out)
                .unwrap();
        d.stream.write_all(&out[..n]).unwrap();
        assert!(matches!(d.next(), Got::Closed));
        params
    });
    stop(&mut child);
    let params = result.unwrap();
    println!("{peer:?} server {peer_options}: {params:?}");
}

/// We are the server and echo; the peer sends and checks.
fn server_against(peer: Peer, peer_options: &str, ours: DeflateConfig) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut child = command(peer)
        .arg("client")
        .arg(port.to_string())
        .arg(peer_options)
        .spawn()
        .unwrap();
    let result = std::panic::catch_unwind(|| {
        let (stream, _) = listener.accept().unwrap();
        let mut d = Driver::new(Connection::server(config(), NOW).unwrap(), stream);
        let mut out = [0u8; 1024];
        let params = loop {
            assert!(d.fill(), "the peer hung up during the handshake");
            let r = d.ws.receive(&mut d.input[..d.filled], NOW);
            let consumed = r.consumed;
            if let Some(Event::Request(request)) = r.event {
                let params = ours.negotiate(request.extensions());
                let response = params.map(|p| p.response());
                let options = AcceptOptions {
                    extensions: response.as_deref(),
                    ..AcceptOptions::new()
                };
                let n = d.ws.accept(&options, &mut out).unwrap();
                d.stream.write_all(&out[..n]).unwrap();
                d.input.copy_within(consumed..d.filled, 0);
                d.filled -= consumed;
                break params.expect("we accept the peer's offer");
            }
        };
        d.ws.enable_deflate(params).unwrap();
        let mut count = 0;
        while let Got::Message(kind, data) = d.next() {
            d.send(kind, &data, 1 + count % 2);
            count += 1;
        }
        (params, count)
    });
    let status = child.wait().unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let (params, count) = result.unwrap();
    assert!(status.success(), "{peer:?} client failed: {stdout}");
    assert!(stdout.starts_with("OK"), "{stdout}");
    println!("{peer:?} client {peer_options}: {count} echoed, {params:?}: {stdout}");
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn eager(f: impl FnOnce(&mut DeflateConfig)) -> DeflateConfig {
    let mut c = DeflateConfig {
        compress_threshold: 0,
        ..DeflateConfig::DEFAULT
    };
    f(&mut c);
    c
}

/// (peer options, our config): context takeover on and off, and window sizes each way. zlib
/// cannot compress with 8 bits, so the peers' own windows stay at 9 or more; ours go down to 8.
fn matrix() -> Vec<(String, DeflateConfig)> {
    vec![
        (options(false, false, None, None), eager(|_| {})),
        (
            options(true, true, None, None),
            eager(|c| {
                c.server_no_context_takeover = true;
                c.client_no_context_takeover = true;
            }),
        ),
        (
            options(false, false, Some(10), Some(9)),
            eager(|c| {
                c.server_max_window_bits = 10;
                c.client_max_window_bits = 9;
            }),
        ),
        (
            options(false, true, Some(12), Some(8)),
            eager(|c| {
                c.client_no_context_takeover = true;
                c.server_max_window_bits = 12;
                c.client_max_window_bits = 8;
            }),
        ),
    ]
}

#[test]
fn python_websockets_server() {
    for (peer, ours) in matrix() {
        client_against(Peer::Python, &peer, ours);
    }
}

#[test]
fn python_websockets_client() {
    for (peer, ours) in server_matrix() {
        server_against(Peer::Python, &peer, ours);
    }
}

#[test]
fn node_ws_server() {
    for (peer, ours) in matrix() {
        client_against(Peer::Node, &peer, ours);
    }
}

#[test]
fn node_ws_client() {
    for (peer, ours) in server_matrix() {
        server_against(Peer::Node, &peer, ours);
    }
}

/// We serve; the peer client offers. Windows: the peer limits ours (server_max_window_bits) down
/// to 8, we limit the peer's (client_max_window_bits) down to 9.
fn server_matrix() -> Vec<(String, DeflateConfig)> {
    vec![
        (options(false, false, None, None), eager(|_| {})),
        (options(true, true, None, None), eager(|_| {})),
        (
            options(false, false, Some(8), None),
            eager(|c| c.client_max_window_bits = 9),
        ),
        (
            options(true, false, Some(11), Some(12)),
            eager(|c| {
                c.client_no_context_takeover = true;
                c.client_max_window_bits = 10;
            }),
        ),
    ]
}
