//! A blocking WebSocket echo server: `std::net`, one thread per connection, the
//! [`Connection`] state machine driven directly (no adapter crate).
//!
//! ```text
//! cargo run --release --example echo_server -- 127.0.0.1:9001 [--max-message-size BYTES] [--max-frame-size BYTES]
//! ```
//!
//! Every text and binary message is echoed back as the same kind, streamed: each chunk is sent
//! on as it arrives, as one fragment of the echo, so a message of any size passes through a
//! 64 KiB buffer. Pings are answered and closes echoed by the core; protocol violations fail
//! the connection with the code RFC 6455 requires. This is the conformance testee for
//! Autobahn|Testsuite's fuzzing client.
//!
//! Each connection runs the crate's three-step driving loop:
//! 1. receive until no event, handling each event (echo, accept the handshake);
//! 2. flush `poll_transmit` (shutting the write side down when asked);
//! 3. block in `read` until input arrives or `poll_timeout` expires.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use wsproto::config::Config;
use wsproto::connection::{CloseInfo, Connection, Event, Transmit};
use wsproto::handshake::AcceptOptions;
use wsproto::time::Instant;

/// Input buffer: holds a whole handshake head (8 KiB by default) and streams payloads.
const INPUT_LEN: usize = 64 * 1024;
/// Output buffer: a whole echoed chunk plus its header, plus queued control frames.
const OUTPUT_LEN: usize = INPUT_LEN + 14 + 512;
/// How long to keep reading (and discarding) after our side is closed, so that the kernel does
/// not answer the peer's late bytes with a reset that could destroy our close frame.
const LINGER: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("echo_server: {message}");
            eprintln!(
                "usage: echo_server [ADDR] [--max-message-size BYTES] [--max-frame-size BYTES]"
            );
            return ExitCode::from(2);
        }
    };
    let (addr, config) = config;
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
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                thread::spawn(move || serve(stream, config));
            }
            Err(err) => eprintln!("echo_server: accept failed: {err}"),
        }
    }
    ExitCode::SUCCESS
}

/// `[ADDR] [--max-message-size BYTES] [--max-frame-size BYTES]`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(SocketAddr, Config), String> {
    let mut addr: SocketAddr = ([127, 0, 0, 1], 9001).into();
    let mut max_message: u64 = 64 << 20;
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
        ..Config::DEFAULT
    };
    config.validate().map_err(|err| err.to_string())?;
    Ok((addr, config))
}

/// Serves one connection to its end and logs one line about it.
fn serve(stream: TcpStream, config: Config) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    match run(stream, config) {
        Ok((info, io_error)) => {
            let error = match (info.error, io_error) {
                (Some(err), _) => format!(", error: {err}"),
                (None, Some(err)) => format!(", io error: {err}"),
                (None, None) => String::new(),
            };
            let how = if info.clean { "clean" } else { "not clean" };
            println!("{peer}: closed with {} ({how}){error}", info.code);
        }
        Err(err) => println!("{peer}: failed: {err}"),
    }
}

/// The connection's clock: milliseconds since it started.
struct Clock(std::time::Instant);

impl Clock {
    fn now(&self) -> Instant {
        Instant::from_millis(self.0.elapsed().as_millis() as u64)
    }

    /// How long from now until `deadline` (at least 1 ms: a zero read timeout is an error).
    fn until(&self, deadline: Instant) -> Duration {
        deadline
            .saturating_duration_since(self.now())
            .max(Duration::from_millis(1))
    }
}

/// Drives one connection until CLOSED. Returns how it closed and the transport error that ended
/// it, if any; `Err` only for a caller mistake (a bug in this loop).
fn run(
    mut stream: TcpStream,
    config: Config,
) -> Result<(CloseInfo, Option<io::Error>), wsproto::connection::Error> {
    let clock = Clock(std::time::Instant::now());
    let mut ws = Connection::server(config, clock.now())?;
    let mut input = vec![0u8; INPUT_LEN];
    let mut out = vec![0u8; OUTPUT_LEN];
    // `input[start..end]` is what `receive` has not consumed yet.
    let (mut start, mut end) = (0, 0);
    // Set once the transport failed: nothing more is written.
    let mut io_error: Option<io::Error> = None;
    let mut closed: Option<CloseInfo> = None;

    while closed.is_none() {
        // 1. Receive until no progress, handling each event before the next call.
        loop {
            let received = ws.receive(&mut input[start..end], clock.now());
            start += received.consumed;
            let Some(event) = received.event else { break };
            let written = match event {
                // Any path, any origin: answer with no subprotocol and no extension, which
                // declines whatever was offered (permessage-deflate included).
                Event::Request(_) => ws.accept(&AcceptOptions::new(), &mut out)?,
                // The echo, streamed: each chunk leaves as a fragment of the same kind, and
                // the message's last chunk ends it.
                Event::Data {
                    kind,
                    chunk,
                    message_fin,
                    ..
                } => ws.send(kind, chunk, message_fin, &mut out)?,
                Event::Closed(info) => {
                    closed = Some(info);
                    0
                }
                // Pongs are queued by the core; a close is echoed by it.
                _ => 0,
            };
            write(&mut stream, &out[..written], &mut io_error);
            if io_error.is_some() {
                ws.receive_eof(clock.now());
            }
        }
        // 2. Flush what the connection has queued.
        loop {
            match ws.poll_transmit(&mut out)? {
                Transmit::Bytes(n) => write(&mut stream, &out[..n], &mut io_error),
                Transmit::ShutdownWrite => {
                    let _ = stream.shutdown(Shutdown::Write);
                }
                Transmit::Nothing => break,
            }
        }
        if closed.is_some() {
            break;
        }
        if io_error.is_some() {
            ws.receive_eof(clock.now());
            continue;
        }
        // 3. Wait for input or the next timer. Unconsumed bytes (a partial frame header or
        // handshake head) move to the front first.
        input.copy_within(start..end, 0);
        end -= start;
        start = 0;
        let timeout = ws.poll_timeout().map(|at| clock.until(at));
        if let Err(err) = stream.set_read_timeout(timeout) {
            io_error = Some(err);
            ws.receive_eof(clock.now());
            continue;
        }
        match stream.read(&mut input[end..]) {
            Ok(0) => ws.receive_eof(clock.now()),
            Ok(n) => end += n,
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                ws.handle_timeout(clock.now());
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => {
                io_error = Some(err);
                ws.receive_eof(clock.now());
            }
        }
    }
    if io_error.is_none() {
        linger(&mut stream, &mut input);
    }
    let info = closed.unwrap_or_else(|| unreachable!("the loop ends on Closed"));
    Ok((info, io_error))
}

/// Writes all of `bytes` unless the transport already failed; records the first failure.
fn write(stream: &mut TcpStream, bytes: &[u8], io_error: &mut Option<io::Error>) {
    if io_error.is_none() && !bytes.is_empty() {
        if let Err(err) = stream.write_all(bytes) {
            *io_error = Some(err);
        }
    }
}

/// Reads and drops what the peer still sends, until it closes or `LINGER` passes: closing a
/// socket with unread input makes the kernel send a reset, which can destroy our close frame
/// before the peer reads it.
fn linger(stream: &mut TcpStream, scratch: &mut [u8]) {
    let until = std::time::Instant::now() + LINGER;
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(scratch) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
