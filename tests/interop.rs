//! Interop with real peers over 127.0.0.1: Python `websockets`, Node `ws`, headless Chromium,
//! `tungstenite` (in-process), raw sockets, and the example programs.
//!
//! Every peer plays the scenario of [`driver`] against wsproto, in each direction where it has
//! both roles. The Python and Node peers (and Chromium's driver, `playwright-core`) are installed
//! by `scripts/interop install` into `target/interop-cache` on first use; a peer that cannot be
//! installed or started fails its test, it never skips.

#[path = "interop/driver.rs"]
mod driver;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use driver::{
    CLIENT_CLOSE, OFFERED, SERVER_CLOSE, SIZES, SUPPORTED, ServerRecord, payload, scenario_client,
    scenario_server, thirds,
};
use wsproto::close::CloseCode;
use wsproto::connection::{CloseInfo, DataKind};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The cargo target directory of this build (`target/` unless `CARGO_TARGET_DIR` says otherwise).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .to_path_buf()
}

/// Installs the peers once per test run (`scripts/interop install`); panics if that fails.
fn peers() -> &'static Path {
    static CACHE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        let output = Command::new(Path::new(ROOT).join("scripts/interop"))
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
        Ok(path) => path,
        Err(err) => panic!("the interop peers are not available: {err}"),
    }
}

fn python(script_args: &[&str]) -> Command {
    let mut command = Command::new(peers().join("venv/bin/python"));
    command
        .arg(Path::new(ROOT).join("tests/interop").join(script_args[0]))
        .args(&script_args[1..]);
    command
}

fn node(script_args: &[&str]) -> Command {
    let mut command = Command::new("node");
    command
        .arg(Path::new(ROOT).join("tests/interop").join(script_args[0]))
        .args(&script_args[1..])
        .env("NODE_PATH", peers().join("node/node_modules"));
    command
}

/// Builds the example programs once per test run, with this run's features, and returns the
/// path of one.
fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let mut features = Vec::new();
        for (on, feature) in [
            (cfg!(feature = "std"), "std"),
            (cfg!(feature = "alloc"), "alloc"),
            (cfg!(feature = "simd"), "simd"),
            (cfg!(feature = "server"), "server"),
            (cfg!(feature = "deflate"), "deflate"),
        ] {
            if on {
                features.push(feature);
            }
        }
        let output = Command::new(env!("CARGO"))
            .current_dir(ROOT)
            .args(["build", "--examples", "--no-default-features", "--features"])
            .arg(features.join(","))
            .env("CARGO_TARGET_DIR", target_dir())
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("cannot run cargo: {err}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        Ok(())
    });
    if let Err(err) = built {
        panic!("the examples did not build:\n{err}");
    }
    target_dir().join("debug/examples").join(name)
}

/// A peer process, killed when dropped. Its stdout lines arrive through a channel.
struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    name: String,
}

impl Peer {
    fn spawn(mut command: Command, name: &str) -> Peer {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {name}: {err}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        let label = name.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                println!("[{label}] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer {
            stdin: child.stdin.take(),
            child,
            lines,
            name: name.to_string(),
        }
    }

    /// The next stdout line that starts with `prefix` (its rest), waiting up to `timeout`.
    fn line(&self, prefix: &str, timeout: Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_string();
                    }
                    assert!(!line.starts_with("FAIL"), "{}: {line}", self.name);
                }
                Err(_) => panic!("{}: no line starting with {prefix:?}", self.name),
            }
        }
    }

    /// The port a server peer printed (`PORT <n>`).
    fn port(&self) -> SocketAddr {
        let port = self.line("PORT ", Duration::from_secs(30));
        SocketAddr::from(([127, 0, 0, 1], port.trim().parse().unwrap()))
    }

    /// Waits for the process to exit successfully.
    fn success(mut self, timeout: Duration) {
        drop(self.stdin.take());
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{} exited with {status}", self.name);
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} still running after {timeout:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Checks what the scenario server saw from a peer client.
fn check_server_side(records: &[ServerRecord], messages: usize, offers_deflate: bool) {
    let [first, second] = records else {
        panic!("expected 2 connections, got {}", records.len());
    };
    for record in records {
        assert_eq!(record.subprotocols, OFFERED);
        assert_eq!(record.selected.as_deref(), Some(SUPPORTED[0]));
        // The offer parses into its name and parameters; it was declined (no extension in
        // our 101, which the peer checked).
        let deflate = record
            .extensions
            .iter()
            .any(|e| e.split(';').next().unwrap().trim() == "permessage-deflate");
        assert_eq!(deflate, offers_deflate, "{:?}", record.extensions);
    }
    assert_eq!(first.messages, messages);
    assert!(first.pongs.contains(&b"sp-1".to_vec()), "{:?}", first.pongs);
    let (code, reason) = CLIENT_CLOSE;
    assert_eq!(first.close_received, Some((code, reason.to_string())));
    let clean = |code| CloseInfo {
        clean: true,
        code: CloseCode(code),
        error: None,
    };
    assert_eq!(first.info, clean(code));
    // The peer answered our close (4002) by echoing its code.
    assert_eq!(
        second.close_received.as_ref().map(|c| c.0),
        Some(SERVER_CLOSE.0)
    );
    assert_eq!(second.info, clean(SERVER_CLOSE.0));
}

/// Checks the `CLOSED <subprotocol> <code> <reason>` lines of a peer server.
fn check_peer_server_closes(peer: &Peer) {
    let first = peer.line("CLOSED ", Duration::from_secs(20));
    assert_eq!(first.trim(), "echo.v1 4001 bye ✓ client");
    let second = peer.line("CLOSED ", Duration::from_secs(20));
    // Our automatic reply echoes the code, without a reason.
    assert_eq!(second.trim(), "echo.v1 4002");
}

// ---- Python websockets ----------------------------------------------------------------------

#[test]
fn python_websockets_client_to_wsproto_server() {
    let (listener, addr) = listener();
    let server = scenario_server(listener, 2);
    let url = format!("ws://{addr}/scenario");
    let peer = Peer::spawn(python(&["python_peer.py", "client", &url]), "websockets");
    peer.line("PASS", Duration::from_secs(120));
    peer.success(Duration::from_secs(10));
    check_server_side(&server.join().unwrap(), 24, true);
}

#[test]
fn wsproto_client_to_python_websockets_server() {
    let peer = Peer::spawn(python(&["python_peer.py", "server"]), "websockets");
    scenario_client(peer.port(), 2);
    check_peer_server_closes(&peer);
}

// ---- Node ws --------------------------------------------------------------------------------

#[test]
fn node_ws_client_to_wsproto_server() {
    let (listener, addr) = listener();
    let server = scenario_server(listener, 2);
    let url = format!("ws://{addr}/scenario");
    let peer = Peer::spawn(node(&["node_peer.js", "client", &url]), "ws");
    peer.line("PASS", Duration::from_secs(120));
    peer.success(Duration::from_secs(10));
    check_server_side(&server.join().unwrap(), 24, true);
}

#[test]
fn wsproto_client_to_node_ws_server() {
    let peer = Peer::spawn(node(&["node_peer.js", "server"]), "ws");
    scenario_client(peer.port(), 2);
    check_peer_server_closes(&peer);
}

// ---- Chromium ---------------------------------------------------------------------------------

#[test]
fn chromium_client_to_wsproto_server() {
    let (listener, addr) = listener();
    let server = scenario_server(listener, 2);
    let url = format!("ws://{addr}/scenario");
    let peer = Peer::spawn(node(&["chromium_peer.js", &url]), "chromium");
    let states = peer.line("readyState: ", Duration::from_secs(150));
    assert_eq!(
        states,
        "c1:new:0 c1:open:1 c1:close():2 c1:close:3 c2:new:0 c2:open:1 c2:close:3"
    );
    peer.line("PASS", Duration::from_secs(10));
    peer.success(Duration::from_secs(20));
    // The browser API sends every message whole: 12 messages.
    check_server_side(&server.join().unwrap(), 12, true);
}

// ---- tungstenite (in-process) -------------------------------------------------------------------

mod tung {
    use std::net::TcpStream;

    use tungstenite::Message;
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
    use tungstenite::protocol::{CloseFrame, WebSocketConfig};

    pub type Ws = tungstenite::WebSocket<TcpStream>;

    pub fn config() -> WebSocketConfig {
        WebSocketConfig::default()
            .max_message_size(Some(64 << 20))
            .max_frame_size(Some(64 << 20))
    }

    pub fn message(text: bool, data: &[u8]) -> Message {
        if text {
            Message::text(String::from_utf8(data.to_vec()).unwrap())
        } else {
            Message::binary(data.to_vec())
        }
    }

    /// Sends `data` in three raw frames (text cut inside a character).
    pub fn send_fragmented(ws: &mut Ws, text: bool, data: &[u8]) {
        let [a, b, c] = super::thirds(data);
        let first = OpCode::Data(if text { Data::Text } else { Data::Binary });
        let next = OpCode::Data(Data::Continue);
        for (part, opcode, fin) in [(a, first, false), (b, next, false), (c, next, true)] {
            ws.send(Message::Frame(Frame::message(part.to_vec(), opcode, fin)))
                .unwrap();
        }
    }

    pub fn close(ws: &mut Ws, (code, reason): (u16, &str)) {
        ws.close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        }))
        .unwrap();
    }

    /// The next message that is not a ping or pong… unless a pong is what the caller wants.
    pub fn read(ws: &mut Ws, want_pong: bool) -> Message {
        loop {
            match ws.read().unwrap() {
                Message::Ping(_) => {}
                Message::Pong(_) if !want_pong => {}
                message => return message,
            }
        }
    }

    /// Reads until the connection ends; returns the close frame received.
    pub fn until_closed(ws: &mut Ws) -> Option<CloseFrame> {
        let mut received = None;
        loop {
            match ws.read() {
                Ok(Message::Close(frame)) => received = frame,
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed) => return received,
                Err(err) => panic!("tungstenite: {err}"),
            }
        }
    }
}

#[test]
fn tungstenite_client_to_wsproto_server() {
    use tungstenite::Message;
    use tungstenite::client::IntoClientRequest;

    let (listener, addr) = listener();
    let server = scenario_server(listener, 2);
    let connect = || {
        let mut request = format!("ws://{addr}/scenario")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            OFFERED.join(", ").parse().unwrap(),
        );
        let stream = TcpStream::connect(addr).unwrap();
        let (ws, response) =
            tungstenite::client::client_with_config(request, stream, Some(tung::config())).unwrap();
        assert_eq!(
            response.headers().get("Sec-WebSocket-Protocol").unwrap(),
            "echo.v1"
        );
        assert!(response.headers().get("Sec-WebSocket-Extensions").is_none());
        ws
    };

    let mut ws = connect();
    for text in [true, false] {
        let kind = if text {
            DataKind::Text
        } else {
            DataKind::Binary
        };
        for size in SIZES {
            let data = payload(kind, size);
            for fragmented in [false, true] {
                if fragmented {
                    tung::send_fragmented(&mut ws, text, &data);
                } else {
                    ws.send(tung::message(text, &data)).unwrap();
                }
                for echo in 0..2 {
                    let got = tung::read(&mut ws, false);
                    assert!(
                        got == tung::message(text, &data),
                        "echo {echo} of {kind:?} {size} B (fragmented: {fragmented})"
                    );
                }
            }
        }
    }
    ws.send(Message::Ping(b"cp-1".to_vec().into())).unwrap();
    assert_eq!(
        tung::read(&mut ws, true),
        Message::Pong(b"cp-1".to_vec().into())
    );
    ws.send(Message::text("ping-me")).unwrap();
    assert_eq!(tung::read(&mut ws, false), Message::text("pong-seen:sp-1"));
    tung::close(&mut ws, CLIENT_CLOSE);
    let echo = tung::until_closed(&mut ws).expect("a close frame");
    assert_eq!(u16::from(echo.code), CLIENT_CLOSE.0);

    let mut ws = connect();
    ws.send(Message::text("close-me")).unwrap();
    let frame = tung::until_closed(&mut ws).expect("a close frame");
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (SERVER_CLOSE.0, SERVER_CLOSE.1)
    );

    // tungstenite offers no extension.
    check_server_side(&server.join().unwrap(), 24, false);
}

#[test]
fn wsproto_client_to_tungstenite_server() {
    use tungstenite::Message;
    use tungstenite::handshake::server::{ErrorResponse, Request, Response};

    // The signature is tungstenite's `Callback`, large error type included.
    #[allow(clippy::result_large_err)]
    fn select(request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
        let offered = request
            .headers()
            .get_all("Sec-WebSocket-Protocol")
            .iter()
            .flat_map(|v| v.to_str().unwrap().split(','))
            .map(|p| p.trim().to_string())
            .collect::<Vec<_>>();
        if let Some(p) = SUPPORTED.iter().find(|p| offered.iter().any(|o| o == *p)) {
            response
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", p.parse().unwrap());
        }
        Ok(response)
    }

    let (listener, addr) = listener();
    let server = std::thread::spawn(move || {
        let mut closes = Vec::new();
        for _ in 0..2 {
            let (stream, _) = listener.accept().unwrap();
            let mut ws =
                tungstenite::accept_hdr_with_config(stream, select, Some(tung::config())).unwrap();
            let received = loop {
                match ws.read() {
                    Ok(Message::Text(text)) if text.as_str() == "ping-me" => {
                        ws.send(Message::Ping(b"sp-1".to_vec().into())).unwrap()
                    }
                    Ok(Message::Text(text)) if text.as_str() == "close-me" => {
                        tung::close(&mut ws, SERVER_CLOSE)
                    }
                    Ok(Message::Pong(p)) if p.as_ref() == b"sp-1" => {
                        ws.send(Message::text("pong-seen:sp-1")).unwrap()
                    }
                    Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                        let text = matches!(message, Message::Text(_));
                        let data = message.clone().into_data();
                        ws.send(message).unwrap();
                        tung::send_fragmented(&mut ws, text, &data);
                    }
                    Ok(Message::Close(frame)) => break frame,
                    Ok(_) => {}
                    Err(err) => panic!("tungstenite server: {err}"),
                }
            };
            // Let tungstenite finish the close handshake and the TCP close.
            let _ = tung::until_closed(&mut ws);
            closes.push(received.map(|f| (u16::from(f.code), f.reason.to_string())));
        }
        closes
    });
    scenario_client(addr, 2);
    let closes = server.join().unwrap();
    assert_eq!(
        closes,
        [
            Some((CLIENT_CLOSE.0, CLIENT_CLOSE.1.to_string())),
            Some((SERVER_CLOSE.0, String::new())),
        ]
    );
}

// ---- raw sockets: protocol violations -----------------------------------------------------------

/// Opens a WebSocket by hand, sends `frame`, and returns the code of the server's close frame;
/// checks that the server then closes the TCP connection.
fn violation(addr: SocketAddr, frame: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // RFC 6455 §1.2's example key.
    write!(
        stream,
        "GET /raw HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "), "{head:?}");
    assert!(
        String::from_utf8_lossy(&head).contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "accept key"
    );
    stream.write_all(frame).unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    // A single unmasked close frame with a code, then the end of the TCP stream.
    assert!(rest.len() >= 4, "{rest:?}");
    assert_eq!(rest[0], 0x88, "FIN + close: {rest:?}");
    assert_eq!(
        usize::from(rest[1]),
        rest.len() - 2,
        "unmasked, whole: {rest:?}"
    );
    u16::from_be_bytes([rest[2], rest[3]])
}

/// Masked frames from a client; the key is 0 so the payload reads as sent.
const INVALID_UTF8: &[u8] = &[0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28];
const UNMASKED: &[u8] = &[0x81, 0x02, b'h', b'i'];
const RSV1_WITHOUT_EXTENSION: &[u8] = &[0xc1, 0x82, 0, 0, 0, 0, b'h', b'i'];
const VIOLATIONS: [(&str, &[u8], u16); 3] = [
    ("invalid UTF-8 in a text frame", INVALID_UTF8, 1007),
    ("unmasked client frame", UNMASKED, 1002),
    (
        "RSV1 set while no extension is negotiated",
        RSV1_WITHOUT_EXTENSION,
        1002,
    ),
];

#[test]
fn protocol_violations_get_the_right_close_code() {
    let (listener, addr) = listener();
    let server = scenario_server(listener, VIOLATIONS.len());
    for (what, frame, code) in VIOLATIONS {
        assert_eq!(violation(addr, frame), code, "{what}");
    }
    for (record, (what, _, code)) in server.join().unwrap().iter().zip(VIOLATIONS) {
        assert_eq!(record.info.code, CloseCode(code), "{what}");
        assert!(!record.info.clean && record.info.error.is_some(), "{what}");
    }
}

// ---- the examples ---------------------------------------------------------------------------------

/// The echo server example: protocol violations, the echo client example, and Python
/// `websockets` sending every size whole and fragmented.
#[test]
fn echo_server_and_echo_client_examples() {
    let mut command = Command::new(example("echo_server"));
    command.arg("127.0.0.1:0");
    let server = Peer::spawn(command, "echo_server");
    let addr: SocketAddr = server
        .line("listening on ", Duration::from_secs(30))
        .parse()
        .unwrap();
    for (what, frame, code) in VIOLATIONS {
        assert_eq!(violation(addr, frame), code, "{what}");
        let log = server.line("127.0.0.1:", Duration::from_secs(10));
        assert!(
            log.contains(&format!("closed with {code} (not clean), error: ")),
            "{log}"
        );
    }

    let url = format!("ws://{addr}/");
    let output = Command::new(example("echo_client"))
        .args([url.as_str(), "hello ✓"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hello ✓\n");
    let log = server.line("127.0.0.1:", Duration::from_secs(10));
    assert!(log.ends_with("closed with 1000 (clean)"), "{log}");

    let peer = Peer::spawn(
        python(&["python_peer.py", "client", &url, "--echo-only"]),
        "websockets",
    );
    peer.line("PASS", Duration::from_secs(120));
    peer.success(Duration::from_secs(10));
    let log = server.line("127.0.0.1:", Duration::from_secs(10));
    assert!(log.ends_with("closed with 4001 (clean)"), "{log}");
}

/// The Autobahn client example against a small fake of Autobahn's fuzzing server: three cases
/// (the third sends invalid UTF-8, which the client must fail with 1007 and then go on).
#[test]
fn autobahn_client_example_against_a_fake_fuzzing_server() {
    let fuzzer = Peer::spawn(python(&["fake_fuzzingserver.py"]), "fuzzingserver");
    let addr = fuzzer.port();
    let output = Command::new(example("autobahn_client"))
        .args([format!("ws://{addr}").as_str(), "wsproto"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    println!("{}", String::from_utf8_lossy(&output.stdout));
    assert!(output.status.success(), "{output:?}");
    for case in 1..=3 {
        let result = fuzzer.line(&format!("CASE {case} "), Duration::from_secs(10));
        assert!(result.starts_with("OK"), "case {case}: {result}");
    }
    assert_eq!(
        fuzzer.line("REPORTS ", Duration::from_secs(10)),
        "agent=wsproto"
    );
    fuzzer.success(Duration::from_secs(10));
}

/// The chat example in two Chromium tabs: both connect, a post reaches both, a close is clean
/// and the other tab sees it.
#[test]
fn chat_example_in_chromium() {
    let mut command = Command::new(example("chat"));
    command.args(["--addr", "127.0.0.1:0"]);
    let chat = Peer::spawn(command, "chat");
    let url = chat.line("chat on ", Duration::from_secs(30));
    let peer = Peer::spawn(node(&["chromium_peer.js", "chat", &url]), "chromium");
    peer.line("PASS", Duration::from_secs(60));
    peer.success(Duration::from_secs(20));
}
