//! The echo server itself, without its command line: an acceptor thread and one thread per
//! connection, each driving a [`Session`] through its three-step loop:
//! 1. take every event (answer the handshake, echo each message straight from where it was
//!    received, with the sender beside the event);
//! 2. write the session's output in one write (shutting the write side down when asked);
//! 3. block in `read` into the session's read buffer until input arrives or `poll_timeout`
//!    expires.
//!
//! `main.rs` runs it until the process ends; `tests/load.rs` includes this file as a module
//! and starts, measures and stops it.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use wsproto::config::Config;
use wsproto::connection::{CloseInfo, Connection};
use wsproto::handshake::AcceptOptions;
use wsproto::session::{Session, SessionConfig, SessionEvent};
use wsproto::time::Instant;

/// The command line's defaults: 64 MiB messages and frames, the core's defaults otherwise.
pub const CONFIG: Config = Config {
    max_message_size: 64 << 20,
    max_frame_payload: 64 << 20,
    ..Config::DEFAULT
};
/// How the server's sessions buffer: whole messages, buffers that grow with the message in
/// flight and are given back once it is delivered (each thread reads into one buffer of its
/// own, lent to its session: see `run`), compression off.
pub const SESSION: SessionConfig = SessionConfig {
    keep_capacity: 0,
    ..SessionConfig::DEFAULT
};
/// The most of its read buffer a connection's thread keeps between reads.
pub const READ_KEEP: usize = 4 * SessionConfig::DEFAULT.read_size;
/// How long to keep reading (and discarding) after our side is closed, so that the kernel does
/// not answer the peer's late bytes with a reset that could destroy our close frame.
const LINGER: Duration = Duration::from_secs(2);

/// What the server tells its owner.
#[derive(Debug)]
pub enum Report {
    /// A connection ended.
    Ended(Ending),
    /// A connection could not be accepted, or could not be given a thread.
    AcceptFailed(io::Error),
}

/// How one connection ended.
#[derive(Debug)]
pub struct Ending {
    /// The peer's address, `?` if unknown.
    pub peer: String,
    /// How the connection closed and the transport error that ended it, if any; `Err` only for
    /// a caller mistake (a bug in the driving loop).
    pub outcome: Result<(CloseInfo, Option<io::Error>), wsproto::connection::Error>,
}

/// The log line: `PEER: closed with CODE (clean|not clean)[, error: …|, io error: …]`.
impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let peer = &self.peer;
        match &self.outcome {
            Ok((info, io_error)) => {
                let how = if info.clean { "clean" } else { "not clean" };
                write!(f, "{peer}: closed with {} ({how})", info.code)?;
                match (&info.error, io_error) {
                    (Some(err), _) => write!(f, ", error: {err}"),
                    (None, Some(err)) => write!(f, ", io error: {err}"),
                    (None, None) => Ok(()),
                }
            }
            Err(err) => write!(f, "{peer}: failed: {err}"),
        }
    }
}

type Reporter = Arc<dyn Fn(Report) + Send + Sync>;

/// A running server: its acceptor thread and its connections' threads.
pub struct Server {
    local_addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    /// Threads of connections not yet known to have ended: the acceptor drops the finished ones
    /// as it accepts new ones, so a long-running server keeps no handle per past connection.
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: JoinHandle<()>,
}

/// Starts accepting on `listener`, serving each connection with `config` and `session` (with
/// `session.deflate`, permessage-deflate is accepted when offered) on its own thread and telling
/// `report` how each ended.
///
/// # Errors
///
/// The listener's address cannot be read, or the acceptor thread cannot be started.
pub fn start(
    listener: TcpListener,
    config: Config,
    session: SessionConfig,
    report: impl Fn(Report) + Send + Sync + 'static,
) -> io::Result<Server> {
    let local_addr = listener.local_addr()?;
    let stopping = Arc::new(AtomicBool::new(false));
    let connections = Arc::new(Mutex::new(Vec::new()));
    let report: Reporter = Arc::new(report);
    let acceptor = {
        let (stopping, connections) = (Arc::clone(&stopping), Arc::clone(&connections));
        thread::Builder::new()
            .name("echo-acceptor".into())
            .spawn(move || {
                accept(
                    &listener,
                    (config, session),
                    &report,
                    &stopping,
                    &connections,
                )
            })?
    };
    Ok(Server {
        local_addr,
        stopping,
        connections,
        acceptor,
    })
}

impl Server {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Blocks for as long as the server accepts connections: forever, unless the acceptor
    /// thread panics.
    pub fn wait(self) {
        let _ = self.acceptor.join();
    }

    /// Waits until every connection accepted so far has ended and its thread is gone; returns
    /// how many of those threads panicked.
    pub fn wait_for_connections(&self) -> usize {
        join_all(&self.connections)
    }

    /// Stops accepting, then waits until every connection has ended and every thread is gone.
    /// Returns how many connection threads panicked; `Err` if the acceptor did.
    pub fn stop(self) -> thread::Result<usize> {
        self.stopping.store(true, Ordering::SeqCst);
        // `accept` blocks until a connection arrives: make one. A listener on the unspecified
        // address is reached through loopback.
        let mut wake = self.local_addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        let _ = TcpStream::connect(wake);
        self.acceptor.join()?;
        Ok(join_all(&self.connections))
    }
}

/// Joins every thread in `connections`, leaving it empty; returns how many panicked.
fn join_all(connections: &Mutex<Vec<JoinHandle<()>>>) -> usize {
    let threads = std::mem::take(&mut *lock(connections));
    threads
        .into_iter()
        .map(JoinHandle::join)
        .filter(Result::is_err)
        .count()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The acceptor thread: a thread per connection, until `stopping` is set and a connection wakes
/// it (the connections' threads are joined by `Server::stop`).
fn accept(
    listener: &TcpListener,
    config: (Config, SessionConfig),
    report: &Reporter,
    stopping: &AtomicBool,
    connections: &Mutex<Vec<JoinHandle<()>>>,
) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(err) => {
                report(Report::AcceptFailed(err));
                continue;
            }
        };
        let mut threads = lock(connections);
        // Forget the connections that have ended (their threads are gone or going).
        let mut i = 0;
        while i < threads.len() {
            if threads[i].is_finished() {
                let _ = threads.swap_remove(i).join();
            } else {
                i += 1;
            }
        }
        let reporter = Arc::clone(report);
        let spawned = thread::Builder::new()
            .name("echo-connection".into())
            .spawn(move || reporter(Report::Ended(serve(stream, config))));
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(err) => report(Report::AcceptFailed(err)),
        }
    }
}

/// Serves one connection to its end.
fn serve(stream: TcpStream, config: (Config, SessionConfig)) -> Ending {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    Ending {
        peer,
        outcome: run(stream, config),
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
    (config, session): (Config, SessionConfig),
) -> Result<(CloseInfo, Option<io::Error>), wsproto::connection::Error> {
    let clock = Clock(std::time::Instant::now());
    let conn = Connection::server(config, clock.now())?;
    let mut ws = Session::new(conn, session, Vec::new(), Vec::new());
    // The thread's read buffer, lent to the session for each read and taken back after the
    // read's events: the session keeps storage of its own only for a message still arriving,
    // and gives it back once it is delivered.
    let mut input: Vec<u8> = Vec::new();
    // Set once the transport failed: nothing more is written.
    let mut io_error: Option<io::Error> = None;
    let mut closed: Option<CloseInfo> = None;

    while closed.is_none() {
        // 1. Every event, each handled before the next. A message is echoed from where it was
        // received: the sender beside the event writes it into the output.
        let mut request = false;
        while let Some((event, mut out)) = ws.poll_event_with_sender(clock.now()) {
            match event {
                SessionEvent::Request(_) => {
                    request = true;
                    break;
                }
                SessionEvent::Text(text) => out.send_text(text)?,
                SessionEvent::Binary(bytes) => out.send_binary(bytes)?,
                // A message too long to hold whole (`SessionConfig::max_whole_message`): echoed
                // fragment by fragment.
                SessionEvent::Chunk {
                    kind, data, last, ..
                } => out.send(kind, data, last)?,
                SessionEvent::Closed(info) => closed = Some(info),
                // Pongs are queued by the session; a close is echoed by it.
                _ => {}
            }
        }
        if request {
            // Any path, any origin, no subprotocol; permessage-deflate if configured and offered.
            ws.accept(&AcceptOptions::new())?;
            continue;
        }
        ws.reclaim_input(&mut input);
        if input.len() > READ_KEEP {
            input.truncate(READ_KEEP);
            input.shrink_to_fit();
        }
        // 2. Write the output, all of it in one write when the socket takes it.
        while io_error.is_none() && !ws.output().is_empty() {
            match stream.write(ws.output()) {
                Ok(0) => io_error = Some(ErrorKind::WriteZero.into()),
                Ok(n) => ws.advance_output(n),
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => io_error = Some(err),
            }
        }
        if io_error.is_some() && closed.is_none() {
            ws.abort(clock.now());
            continue;
        }
        if ws.wants_shutdown() {
            let _ = stream.shutdown(Shutdown::Write);
            ws.shutdown_done();
        }
        if closed.is_some() || !ws.wants_read() {
            continue;
        }
        // 3. Wait for input or the next timer.
        let timeout = ws.poll_timeout().map(|at| clock.until(at));
        if let Err(err) = stream.set_read_timeout(timeout) {
            io_error = Some(err);
            ws.abort(clock.now());
            continue;
        }
        ws.lend_input(&mut input);
        match stream.read(ws.read_buf()) {
            Ok(0) => ws.receive_eof(),
            Ok(n) => ws.commit_read(n),
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                ws.handle_timeout(clock.now());
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => {
                io_error = Some(err);
                ws.abort(clock.now());
            }
        }
    }
    if io_error.is_none() {
        linger(&mut stream, &mut [0; 4096]);
    }
    let info = closed.unwrap_or_else(|| unreachable!("the loop ends on Closed"));
    Ok((info, io_error))
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
