//! A chat room for browsers: an HTML page and a WebSocket endpoint on one port.
//!
//! ```text
//! cargo run --example chat [-- --addr 127.0.0.1:8080]
//! ```
//!
//! Open <http://127.0.0.1:8080/> in several tabs: what one tab posts, every tab sees. The page
//! uses the browser's `WebSocket` API directly and shows each `readyState` change and the close
//! code. `GET /` returns the page; `GET /ws` with `Upgrade: websocket` becomes a WebSocket.
//!
//! Each WebSocket connection is owned by one thread, which drives a [`Session`] over a channel:
//! a reader thread turns socket reads into `Input::Bytes` / `Input::Eof` (fed to the session),
//! and other connections' messages arrive as `Input::Broadcast` on the same channel. Waiting on
//! the channel with `poll_timeout` as the deadline drives the keepalive pings. With the feature
//! `deflate` (`cargo run --example chat --features deflate`) the browser's permessage-deflate
//! offer is accepted, and the page shows the extension in use.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{Connection, ReadyState};
use wsproto::handshake::{AcceptOptions, Rejection};
use wsproto::session::{Answer, Session, SessionConfig, SessionEvent};
use wsproto::time::Instant;

const CONFIG: Config = Config {
    max_frame_payload: 64 * 1024,
    max_message_size: 64 * 1024,
    keepalive_interval: Some(Duration::from_secs(30)),
    ..Config::DEFAULT
};

/// What a connection's thread waits for.
enum Input {
    Bytes(Vec<u8>),
    Eof,
    /// A line to send to this browser.
    Broadcast(Arc<str>),
}

/// An open connection: its id and its channel.
type Member = (u64, Sender<Input>);

/// Every open connection.
#[derive(Clone, Default)]
struct Room(Arc<Mutex<Vec<Member>>>);

impl Room {
    fn join(&self, id: u64, tx: Sender<Input>) {
        self.0.lock().unwrap().push((id, tx));
    }

    fn leave(&self, id: u64) {
        self.0.lock().unwrap().retain(|(other, _)| *other != id);
    }

    fn broadcast(&self, line: &str) {
        let line: Arc<str> = line.into();
        self.0
            .lock()
            .unwrap()
            .retain(|(_, tx)| tx.send(Input::Broadcast(line.clone())).is_ok());
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = match args.as_slice() {
        [] => "127.0.0.1:8080".to_string(),
        [flag, addr] if flag == "--addr" => addr.clone(),
        _ => {
            eprintln!("usage: chat [--addr HOST:PORT]");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(&addr) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("chat: cannot listen on {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().map_or(addr, |a| a.to_string());
    println!("chat on http://{local}/");
    let room = Room::default();
    let ids = Arc::new(AtomicU64::new(1));
    for stream in listener.incoming().flatten() {
        let (room, id) = (room.clone(), ids.fetch_add(1, Ordering::Relaxed));
        thread::spawn(move || {
            if let Err(err) = route(stream, room, id) {
                eprintln!("connection {id}: {err}");
            }
        });
    }
    ExitCode::SUCCESS
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Peeks at the request line: `GET /ws` goes to the WebSocket (whose `Connection` reads the
/// request itself), `GET /` gets the page, anything else a 404.
fn route(mut stream: TcpStream, room: Room, id: u64) -> Result<(), BoxError> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = [0u8; 1024];
    let line = loop {
        let n = stream.peek(&mut head)?;
        if n == 0 {
            return Ok(());
        }
        if let Some(end) = head[..n].iter().position(|&b| b == b'\n') {
            break String::from_utf8_lossy(&head[..end]).into_owned();
        }
        if n == head.len() {
            return Err("request line too long".into());
        }
        thread::sleep(Duration::from_millis(5));
    };
    let mut parts = line.split(' ');
    match (parts.next(), parts.next()) {
        (Some("GET"), Some("/ws")) => websocket(stream, room, id),
        (Some("GET"), Some("/")) => respond(&mut stream, "200 OK", "text/html", PAGE),
        _ => respond(&mut stream, "404 Not Found", "text/plain", "not found\n"),
    }
}

/// Answers a plain HTTP request (its head is read and dropped) and closes.
fn respond(stream: &mut TcpStream, status: &str, kind: &str, body: &str) -> Result<(), BoxError> {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    Ok(())
}

/// One browser: the driving loop, fed by the channel.
fn websocket(stream: TcpStream, room: Room, id: u64) -> Result<(), BoxError> {
    stream.set_read_timeout(None)?;
    let mut writer = stream.try_clone()?;
    let (tx, rx) = mpsc::channel();
    let reader_tx = tx.clone();
    let mut reader = stream;
    thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if reader_tx.send(Input::Bytes(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = reader_tx.send(Input::Eof);
    });

    let clock = std::time::Instant::now();
    let now = || Instant::from_millis(clock.elapsed().as_millis() as u64);
    let session = SessionConfig {
        #[cfg(feature = "deflate")]
        deflate: Some(wsproto::deflate::DeflateConfig::DEFAULT),
        ..SessionConfig::DEFAULT
    };
    let mut ws = Session::new(
        Connection::server(CONFIG, now())?,
        session,
        Vec::new(),
        Vec::new(),
    );
    let name = format!("guest-{id}");
    let mut joined = false;
    let info = 'connection: loop {
        // Wait for input, a broadcast, or the next timer (not at all once CLOSED: the Closed
        // event is to be collected).
        let timeout = match ws.poll_timeout() {
            _ if ws.state() == ReadyState::Closed => Duration::ZERO,
            Some(at) => at.saturating_duration_since(now()),
            None => Duration::from_secs(3600),
        };
        match rx.recv_timeout(timeout) {
            Ok(Input::Bytes(bytes)) => {
                ws.feed(&bytes);
            }
            Ok(Input::Eof) => ws.receive_eof(),
            Ok(Input::Broadcast(line)) if ws.state() == ReadyState::Open => ws.send_text(&line)?,
            Ok(Input::Broadcast(_)) => {}
            Err(RecvTimeoutError::Timeout) => ws.handle_timeout(now()),
            Err(RecvTimeoutError::Disconnected) => unreachable!("we hold a sender"),
        }
        // Every event, each handled before the next.
        let mut closed = None;
        while let Some(event) = ws.poll_event(now()) {
            match event {
                SessionEvent::Request(_) => {
                    ws.answer(|request| match request.path() {
                        "/ws" => Answer::Accept(AcceptOptions::new()),
                        _ => Answer::Reject(Rejection::new(404).with_body(b"not found\n")),
                    })?;
                }
                SessionEvent::Text(text) => room.broadcast(&format!("{name}: {text}")),
                SessionEvent::Binary(_) => {
                    ws.close(CloseCode::UNSUPPORTED_DATA, "text only", now())?
                }
                SessionEvent::Closed(info) => closed = Some(info),
                _ => {}
            }
            if ws.state() == ReadyState::Open && !joined {
                joined = true;
                room.join(id, tx.clone());
                room.broadcast(&format!("* {name} joined"));
            }
        }
        // Write the output: pongs, echoes of closes, broadcasts, in one write.
        if writer.write_all(ws.output()).is_err() {
            // The browser is gone: the connection ends as if its TCP had closed.
            ws.abort(now());
        }
        let written = ws.output().len();
        ws.advance_output(written);
        if ws.wants_shutdown() {
            let _ = writer.shutdown(Shutdown::Write);
            ws.shutdown_done();
        }
        if let Some(info) = closed {
            break 'connection info;
        }
    };
    room.leave(id);
    if joined {
        room.broadcast(&format!("* {name} left ({})", info.code));
    }
    // Wait (briefly) for the browser's end of the TCP connection, then stop the reader.
    let until = std::time::Instant::now() + Duration::from_secs(2);
    while let Ok(input) =
        rx.recv_timeout(until.saturating_duration_since(std::time::Instant::now()))
    {
        if matches!(input, Input::Eof) {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
    println!("{name}: closed with {} (clean: {})", info.code, info.clean);
    Ok(())
}

/// The page: the browser's WebSocket API, its readyState and close codes, nothing else.
const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>wsproto chat</title>
<style>
  body { font: 15px system-ui, sans-serif; max-width: 42em; margin: 2em auto; }
  #log { border: 1px solid #ccc; height: 22em; overflow-y: auto; padding: .5em; white-space: pre-wrap; }
  .meta { color: #777; }
</style>
<h1>wsproto chat</h1>
<p>readyState: <b id="state">-</b>
  <button id="open">connect</button> <button id="close">close (1000)</button></p>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off" size="50" placeholder="say something">
  <button>send</button></form>
<script>
const NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
const $ = (id) => document.getElementById(id);
let ws = null;

function line(text, meta) {
  const div = document.createElement('div');
  div.textContent = text;
  if (meta) div.className = 'meta';
  $('log').append(div);
  $('log').scrollTop = $('log').scrollHeight;
}

function state(why) {
  $('state').textContent = `${ws.readyState} (${NAMES[ws.readyState]})`;
  line(`readyState ${ws.readyState} ${NAMES[ws.readyState]}: ${why}`, true);
}

function connect() {
  if (ws && ws.readyState < 2) return;
  ws = new WebSocket(`ws://${location.host}/ws`);
  state('new WebSocket()');
  ws.onopen = () => { state('open'); line('extensions: ' + (ws.extensions || '(none)'), true); };
  ws.onmessage = (e) => line(e.data);
  ws.onerror = () => state('error');
  ws.onclose = (e) =>
    state(`close: code ${e.code}${e.reason ? ` "${e.reason}"` : ''}, wasClean ${e.wasClean}`);
}

$('open').onclick = connect;
$('close').onclick = () => { if (ws) { ws.close(1000, 'bye'); state('close(1000)'); } };
$('form').onsubmit = (e) => {
  e.preventDefault();
  if (ws && ws.readyState === 1 && $('text').value) ws.send($('text').value);
  $('text').value = '';
};
connect();
</script>
"#;
