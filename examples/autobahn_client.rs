//! The testee client for Autobahn|Testsuite's fuzzing server.
//!
//! ```text
//! cargo run --release --example autobahn_client --features deflate -- ws://127.0.0.1:9001 wsproto
//! ```
//!
//! Speaks the fuzzing server's protocol: `GET /getCaseCount` (one text message: the number of
//! cases), then for each case N `GET /runCase?case=N&agent=AGENT`, echoing every message whole,
//! as the same kind, until the server closes, then `GET /updateReports?agent=AGENT`. A failed
//! case is logged and the next one runs: judging is the fuzzing server's job. Exits 0 once the
//! reports are updated. It drives the core's [`Session`] directly and, with the feature
//! `deflate`, offers permessage-deflate (RFC 7692) on every connection.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use wsproto::config::Config;
use wsproto::connection::{CloseInfo, Connection};
use wsproto::entropy::Entropy;
use wsproto::handshake::ClientRequest;
use wsproto::session::{Session, SessionConfig, SessionEvent};
use wsproto::time::Instant;

type BoxError = Box<dyn std::error::Error>;

/// Autobahn sends messages and frames of up to 16 MiB (cases 9.x).
const CONFIG: Config = Config {
    max_frame_payload: 64 << 20,
    max_message_size: 64 << 20,
    ..Config::DEFAULT
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (base, agent) = match args.as_slice() {
        [base] => (base.as_str(), "wsproto"),
        [base, agent] => (base.as_str(), agent.as_str()),
        _ => {
            eprintln!("usage: autobahn_client ws://HOST:PORT [AGENT]");
            return ExitCode::from(2);
        }
    };
    match run(base, agent) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("autobahn_client: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(base: &str, agent: &str) -> Result<(), BoxError> {
    let server = Server::parse(base)?;
    let (_, count) = session(&server, "/getCaseCount", false)?;
    let count: u32 = count.ok_or("no case count received")?.trim().parse()?;
    println!("{count} cases");
    for case in 1..=count {
        let path = format!("/runCase?case={case}&agent={agent}");
        match session(&server, &path, true) {
            Ok((info, _)) => {
                let how = if info.clean { "clean" } else { "not clean" };
                let error = info
                    .error
                    .map_or(String::new(), |e| format!(", error: {e}"));
                println!(
                    "case {case}/{count}: closed with {} ({how}){error}",
                    info.code
                );
            }
            // Not fatal: the next case gets a new connection.
            Err(err) => println!("case {case}/{count}: failed: {err}"),
        }
    }
    let (info, _) = session(&server, &format!("/updateReports?agent={agent}"), false)?;
    println!("reports updated (closed with {})", info.code);
    Ok(())
}

/// How each connection buffers: whole messages, and permessage-deflate offered when built with
/// the feature.
fn session_config() -> SessionConfig {
    SessionConfig {
        #[cfg(feature = "deflate")]
        deflate: Some(wsproto::deflate::DeflateConfig::DEFAULT),
        ..SessionConfig::DEFAULT
    }
}

/// One connection to `path`, driven until CLOSED. With `echo`, every message is echoed;
/// without, the first text message is returned.
fn session(
    server: &Server,
    path: &str,
    echo: bool,
) -> Result<(CloseInfo, Option<String>), BoxError> {
    let mut stream = TcpStream::connect((server.host.as_str(), server.port))?;
    stream.set_nodelay(true)?;
    let clock = std::time::Instant::now();
    let now = || Instant::from_millis(clock.elapsed().as_millis() as u64);
    let conn = Connection::client(CONFIG, StdEntropy::new(), now())?;
    let mut ws = Session::new(conn, session_config(), Vec::new(), Vec::new());
    let mut first_text = None;
    let mut closed = None;
    ws.connect(&ClientRequest::new(&server.host_header, path), now())?;
    loop {
        // 1. Every event; an echo goes from where the message was received into the output.
        while let Some((event, mut out)) = ws.poll_event_with_sender(now()) {
            match event {
                SessionEvent::Text(text) if echo => out.send_text(text)?,
                SessionEvent::Binary(bytes) if echo => out.send_binary(bytes)?,
                SessionEvent::Text(text) if first_text.is_none() => {
                    first_text = Some(text.to_owned());
                }
                // The output holds a failure's close frame (1002, 1007 …) if there is one.
                SessionEvent::Closed(info) => closed = Some(info),
                // Pongs and close replies are queued by the session.
                _ => {}
            }
        }
        // 2. Write the output.
        stream.write_all(ws.output())?;
        let written = ws.output().len();
        ws.advance_output(written);
        if ws.wants_shutdown() {
            let _ = stream.shutdown(Shutdown::Write);
            ws.shutdown_done();
        }
        if let Some(info) = closed {
            return Ok((info, first_text));
        }
        // 3. Wait for input or the next timer.
        let timeout = ws.poll_timeout().map(|at| {
            at.saturating_duration_since(now())
                .max(Duration::from_millis(1))
        });
        stream.set_read_timeout(timeout)?;
        match stream.read(ws.read_buf()) {
            Ok(0) => ws.receive_eof(),
            Ok(n) => ws.commit_read(n),
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                ws.handle_timeout(now())
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(_) => ws.abort(now()),
        }
    }
}

/// The fuzzing server's address, from `ws://HOST:PORT`.
struct Server {
    host: String,
    port: u16,
    host_header: String,
}

impl Server {
    fn parse(url: &str) -> Result<Server, BoxError> {
        let authority = url
            .strip_prefix("ws://")
            .ok_or("only ws:// URLs are supported")?
            .trim_end_matches('/');
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse()?),
            _ => (authority, 80),
        };
        Ok(Server {
            host: host.trim_start_matches('[').trim_end_matches(']').into(),
            port,
            host_header: authority.into(),
        })
    }
}

/// Masking keys and the handshake nonce from std alone: SipHash keyed by the operating system's
/// random generator (through `RandomState`), over a counter.
struct StdEntropy {
    keys: RandomState,
    counter: u64,
}

impl StdEntropy {
    fn new() -> Self {
        StdEntropy {
            keys: RandomState::new(),
            counter: 0,
        }
    }
}

impl Entropy for StdEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut hasher = self.keys.build_hasher();
            hasher.write_u64(self.counter);
            self.counter += 1;
            chunk.copy_from_slice(&hasher.finish().to_le_bytes()[..chunk.len()]);
        }
    }
}
