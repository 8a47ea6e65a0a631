//! A blocking WebSocket echo server: `std::net`, one thread per connection, the core's
//! [`Session`](wsproto::session::Session) driven directly (no adapter crate).
//!
//! ```text
//! cargo run --release --example echo_server --features deflate -- 127.0.0.1:9001 [--deflate] [--max-message-size BYTES] [--max-frame-size BYTES]
//! ```
//!
//! Every text and binary message is echoed back whole as the same kind, straight from where it
//! was received. Pings are answered and closes echoed by the session; protocol violations fail
//! the connection with the code RFC 6455 requires. `--deflate` (feature `deflate`) accepts
//! permessage-deflate (RFC 7692) when a client offers it. This is the conformance testee for
//! Autobahn|Testsuite's fuzzing client.
//!
//! This file is the command line; the server itself (accepting, and the driving loop of each
//! connection) is in `serve.rs`, which `tests/load.rs` runs too.

// `tests/load.rs` also stops the server and waits for its connections; this program never does.
#[allow(dead_code)]
mod serve;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

use wsproto::config::Config;
use wsproto::session::SessionConfig;

use serve::Report;

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("echo_server: {message}");
            eprintln!(
                "usage: echo_server [ADDR] [--deflate] [--max-message-size BYTES] [--max-frame-size BYTES]"
            );
            return ExitCode::from(2);
        }
    };
    let (addr, config, session) = config;
    let listener = match TcpListener::bind(addr) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("echo_server: cannot listen on {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().unwrap_or(addr);
    println!("listening on {local}");
    // A supervisor reading our output through a pipe must see the line now.
    let _ = io::stdout().flush();
    let server = serve::start(listener, config, session, |report| match report {
        Report::Ended(ending) => println!("{ending}"),
        Report::AcceptFailed(err) => eprintln!("echo_server: accept failed: {err}"),
    });
    match server {
        // Accepts until the process ends.
        Ok(server) => server.wait(),
        Err(err) => {
            eprintln!("echo_server: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// `[ADDR] [--deflate] [--max-message-size BYTES] [--max-frame-size BYTES]`.
fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> Result<(SocketAddr, Config, SessionConfig), String> {
    #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
    let mut session = serve::SESSION;
    let mut addr: SocketAddr = ([127, 0, 0, 1], 9001).into();
    let mut max_message: u64 = serve::CONFIG.max_message_size;
    let mut max_frame: Option<u64> = None;
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let value = args.next().ok_or(format!("{name} needs a value"))?;
            value
                .parse()
                .map_err(|_| format!("{name}: not a number of bytes: {value}"))
        };
        match arg.as_str() {
            "--max-message-size" => max_message = number("--max-message-size")?,
            "--max-frame-size" => max_frame = Some(number("--max-frame-size")?),
            #[cfg(feature = "deflate")]
            "--deflate" => session.deflate = Some(wsproto::deflate::DeflateConfig::DEFAULT),
            #[cfg(not(feature = "deflate"))]
            "--deflate" => return Err("--deflate needs the feature `deflate`".into()),
            other if !other.starts_with('-') => {
                addr = other
                    .parse()
                    .map_err(|_| format!("not an address: {other}"))?
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let config = Config {
        max_message_size: max_message,
        max_frame_payload: max_frame.unwrap_or(max_message),
        ..serve::CONFIG
    };
    config.validate().map_err(|err| err.to_string())?;
    Ok((addr, config, session))
}
