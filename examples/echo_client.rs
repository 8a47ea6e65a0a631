//! A blocking WebSocket client: connects, sends one text message, prints the echo, closes with
//! 1000 and waits for the closing handshake.
//!
//! ```text
//! cargo run --example echo_client -- ws://127.0.0.1:9001/ hello
//! ```
//!
//! Exits 0 once the echo arrived and the connection closed cleanly. A [`Session`] is driven
//! directly over a `std::net::TcpStream` with its three-step loop (events, output, input);
//! `ws://` only (TLS is the transport's business, not the protocol's). With the feature
//! `deflate` it offers permessage-deflate and says whether the server took it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::Connection;
use wsproto::entropy::Entropy;
use wsproto::handshake::ClientRequest;
use wsproto::session::{Session, SessionConfig, SessionEvent};
use wsproto::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, message] = args.as_slice() else {
        eprintln!("usage: echo_client ws://HOST[:PORT]/PATH MESSAGE");
        return ExitCode::from(2);
    };
    match run(url, message) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("echo_client: {err}");
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error>;

fn run(url: &str, message: &str) -> Result<(), BoxError> {
    let url = WsUrl::parse(url)?;
    let mut stream = TcpStream::connect((url.host.as_str(), url.port))?;
    stream.set_nodelay(true)?;
    let clock = std::time::Instant::now();
    let now = || Instant::from_millis(clock.elapsed().as_millis() as u64);

    let session = SessionConfig {
        #[cfg(feature = "deflate")]
        deflate: Some(wsproto::deflate::DeflateConfig::DEFAULT),
        ..SessionConfig::DEFAULT
    };
    let conn = Connection::client(Config::default(), StdEntropy::new(), now())?;
    let mut ws = Session::new(conn, session, Vec::new(), Vec::new());
    let mut echoed = false;
    let mut closed = None;
    ws.connect(&ClientRequest::new(&url.host_header, &url.path), now())?;
    let info = loop {
        // 1. Every event, each handled before the next.
        while let Some(event) = ws.poll_event(now()) {
            match event {
                SessionEvent::Accepted { subprotocol } => {
                    if let Some(protocol) = subprotocol {
                        eprintln!("subprotocol: {protocol}");
                    }
                    #[cfg(feature = "deflate")]
                    eprintln!("permessage-deflate: {:?}", ws.deflate_params());
                    ws.send_text(message)?;
                }
                SessionEvent::Text(text) if !echoed => {
                    println!("{text}");
                    echoed = true;
                    ws.close(CloseCode::NORMAL, "", now())?;
                }
                SessionEvent::Binary(bytes) if !echoed => {
                    println!("{bytes:?}");
                    echoed = true;
                    ws.close(CloseCode::NORMAL, "", now())?;
                }
                SessionEvent::CloseReceived { code, reason } => {
                    eprintln!("server closed with {code} {reason:?}");
                }
                // The output holds a failure's close frame (1002, 1007 …) if there is one.
                SessionEvent::Closed(info) => closed = Some(info),
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
            break info;
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
    };
    match (echoed, info.clean, info.error) {
        (true, true, _) => Ok(()),
        (_, _, Some(err)) => Err(format!("connection failed ({}): {err}", info.code).into()),
        (false, _, None) => Err(format!("closed with {} before the echo", info.code).into()),
        (true, false, None) => Err(format!("closed with {}, not cleanly", info.code).into()),
    }
}

/// A `ws://` URL, split the way the handshake needs it.
struct WsUrl {
    host: String,
    port: u16,
    /// `Host` header: the host, plus `:port` unless it is 80 (RFC 6455 §4.1 step 4).
    host_header: String,
    /// Path and query, `/` if empty.
    path: String,
}

impl WsUrl {
    fn parse(url: &str) -> Result<WsUrl, BoxError> {
        let rest = url
            .strip_prefix("ws://")
            .ok_or("only ws:// URLs are supported")?;
        let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse()?),
            _ => (authority, 80),
        };
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        Ok(WsUrl {
            host: host.trim_start_matches('[').trim_end_matches(']').into(),
            port,
            host_header: if port == 80 {
                host.into()
            } else {
                format!("{host}:{port}")
            },
            path: path.into(),
        })
    }
}

/// Masking keys and the handshake nonce from std alone: SipHash, keyed by the operating system's
/// random generator (through `RandomState`), over a counter. A real client may prefer the
/// `getrandom` crate; any unpredictable source will do (RFC 6455 §5.3).
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
