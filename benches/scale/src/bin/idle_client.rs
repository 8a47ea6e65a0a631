//! The idle-connection memory run's client: opens N WebSocket connections to an echo server,
//! echoes one 16-byte text message on each, holds them idle and reads the server's
//! `/proc/PID/status` (VmRSS, VmHWM) between phases:
//!
//! 1. baseline: the server before any connection;
//! 2. cold: N connections open and idle (the first batch);
//! 3. warm: the first batch closed (the server's descriptors back to the baseline), then a second
//!    batch of N open and idle — the steady state of a long-running server;
//! 4. big: one 1 MiB binary message echoed on `--big` (100) of the warm connections, which then
//!    sit idle again.
//!
//! Connections come from `--sources` (8) source addresses 127.0.0.10, .11, … so that two
//! batches of 19,000 never run out of ephemeral ports (TIME_WAIT included).
//!
//! `idle_client PORT N SERVER_PID [--sources S] [--big B] [--settle-ms MS]`
//!
//! The last line of output is `RESULT key=value …` for `memory.sh`.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use wsproto_tokio::wsproto::frame::{FrameHeader, OpCode, encode_frame};

/// The echoed message of every connection.
const SMALL: &[u8; 16] = b"0123456789abcdef";
/// The large message echoed on `--big` connections.
const BIG_LEN: usize = 1 << 20;
/// Connections being opened at once (the listener's backlog is 1024).
const OPENING_AT_ONCE: usize = 256;

struct Args {
    port: u16,
    connections: usize,
    pid: u32,
    sources: u8,
    big: usize,
    settle: Duration,
}

fn parse_args() -> Args {
    let mut positional = Vec::new();
    let mut sources = 8;
    let mut big = 100;
    let mut settle_ms = 2000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match arg.as_str() {
            "--sources" => sources = value("--sources") as u8,
            "--big" => big = value("--big") as usize,
            "--settle-ms" => settle_ms = value("--settle-ms"),
            _ => positional.push(arg),
        }
    }
    let [port, connections, pid] = positional.as_slice() else {
        eprintln!("usage: idle_client PORT N SERVER_PID [--sources S] [--big B] [--settle-ms MS]");
        std::process::exit(2);
    };
    Args {
        port: port.parse().expect("PORT"),
        connections: connections.parse().expect("N"),
        pid: pid.parse().expect("SERVER_PID"),
        sources: sources.max(1),
        big,
        settle: Duration::from_millis(settle_ms),
    }
}

/// VmRSS and VmHWM of a process, in KiB.
#[derive(Clone, Copy, Debug)]
struct Memory {
    rss: u64,
    hwm: u64,
}

fn memory_of(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("server status");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
    };
    Memory {
        rss: field("VmRSS:"),
        hwm: field("VmHWM:"),
    }
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

/// A client's masking keys: a xorshift per connection is enough to make every frame's key
/// different (a benchmark, not a browser).
struct Masker(u32);

impl Masker {
    fn key(&mut self) -> [u8; 4] {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0.to_le_bytes()
    }
}

/// A masked client frame: FIN, `opcode`, the payload masked with `key` (the core's encoder).
fn client_frame(opcode: OpCode, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    let header = FrameHeader::new(opcode, Some(key), payload.len() as u64);
    let mut frame = vec![0; header.encoded_len() + payload.len()];
    encode_frame(&header, payload, &mut frame).expect("sized for the frame");
    frame
}

async fn read_message(stream: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<usize> {
    let mut total = 0;
    let mut sink = vec![0u8; 64 * 1024];
    loop {
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).await?;
        let fin = head[0] & 0x80 != 0;
        let control = head[0] & 0x08 != 0;
        let mut len = u64::from(head[1] & 0x7f);
        if len == 126 {
            len = u64::from(stream.read_u16().await?);
        } else if len == 127 {
            len = stream.read_u64().await?;
        }
        if head[1] & 0x80 != 0 {
            stream.read_exact(&mut [0u8; 4]).await?;
        }
        let mut left = len as usize;
        while left > 0 {
            let n = left.min(sink.len());
            stream.read_exact(&mut sink[..n]).await?;
            left -= n;
        }
        if !control {
            total += len as usize;
            if fin {
                return Ok(total);
            }
        }
    }
}

/// Opens connection `index`: TCP from its source address, the opening handshake, one echoed
/// 16-byte text message.
async fn open(index: usize, args: &Args) -> std::io::Result<TcpStream> {
    let source = Ipv4Addr::new(127, 0, 0, 10 + (index % usize::from(args.sources)) as u8);
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(source, 0)))?;
    let server = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, args.port));
    let mut stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await?;
    // The response ends the first read that ends in an empty line; nothing follows it until
    // the client speaks.
    let mut response = Vec::with_capacity(256);
    while !response.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        if stream.read(&mut byte).await? == 0 || response.len() > 4096 {
            return Err(std::io::Error::other("handshake: no complete response"));
        }
        response.push(byte[0]);
    }
    if !response.starts_with(b"HTTP/1.1 101") {
        return Err(std::io::Error::other("handshake refused"));
    }
    let mut masker = Masker((index as u32).wrapping_mul(2_654_435_761) | 1);
    stream
        .write_all(&client_frame(OpCode::Text, SMALL, masker.key()))
        .await?;
    let mut echo = [0u8; 18];
    stream.read_exact(&mut echo).await?;
    if echo[..2] != [0x81, 16] || &echo[2..] != SMALL {
        return Err(std::io::Error::other("wrong echo"));
    }
    Ok(stream)
}

/// Opens a batch of connections; panics if any failed (a memory figure over fewer connections
/// than announced would be wrong).
async fn open_batch(args: &Args, first_index: usize) -> Vec<TcpStream> {
    let started = Instant::now();
    let results: Vec<_> = stream::iter(first_index..first_index + args.connections)
        .map(|i| open(i, args))
        .buffer_unordered(OPENING_AT_ONCE)
        .collect()
        .await;
    let mut streams = Vec::with_capacity(results.len());
    let mut failures = 0;
    for result in results {
        match result {
            Ok(stream) => streams.push(stream),
            Err(error) => {
                if failures == 0 {
                    eprintln!("connection failed: {error}");
                }
                failures += 1;
            }
        }
    }
    assert_eq!(failures, 0, "{failures} connections failed");
    eprintln!(
        "opened {} connections in {:.1} s",
        streams.len(),
        started.elapsed().as_secs_f64()
    );
    streams
}

/// Sends a close frame on every connection and drops them; waits until the server holds no
/// more descriptors than `baseline_fds`.
async fn close_batch(streams: Vec<TcpStream>, pid: u32, baseline_fds: usize) {
    let close = client_frame(OpCode::Close, &1000u16.to_be_bytes(), [1, 2, 3, 4]);
    for stream in &streams {
        let _ = stream.try_write(&close);
    }
    drop(streams);
    let deadline = Instant::now() + Duration::from_secs(60);
    while open_descriptors(pid) > baseline_fds && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left = open_descriptors(pid);
    assert!(
        left <= baseline_fds,
        "the server still holds {left} descriptors (baseline {baseline_fds})"
    );
}

/// Echoes one `BIG_LEN` binary message on `stream`, writing and reading at once.
async fn echo_big(stream: &mut TcpStream, key: [u8; 4]) -> std::io::Result<()> {
    let payload: Vec<u8> = (0..BIG_LEN).map(|i| (i % 251) as u8).collect();
    let frame = client_frame(OpCode::Binary, &payload, key);
    let (mut reader, mut writer) = stream.split();
    let (written, echoed) = tokio::join!(writer.write_all(&frame), read_message(&mut reader));
    written?;
    let echoed = echoed?;
    if echoed != BIG_LEN {
        return Err(std::io::Error::other(format!("echoed {echoed} bytes")));
    }
    Ok(())
}

/// The server's memory once it has been idle for `settle`.
async fn settled(args: &Args) -> Memory {
    tokio::time::sleep(args.settle).await;
    memory_of(args.pid)
}

fn per_connection(after: Memory, before: Memory, count: usize) -> f64 {
    (after.rss as f64 - before.rss as f64) / count as f64
}

async fn run(args: Args) {
    let n = args.connections;
    let baseline_fds = open_descriptors(args.pid);
    let baseline = settled(&args).await;
    println!(
        "baseline: VmRSS {} KiB, VmHWM {} KiB",
        baseline.rss, baseline.hwm
    );

    let first = open_batch(&args, 0).await;
    let cold = settled(&args).await;
    println!(
        "cold {n}: VmRSS {} KiB, {:.2} KiB per connection",
        cold.rss,
        per_connection(cold, baseline, n)
    );
    close_batch(first, args.pid, baseline_fds).await;
    let closed = settled(&args).await;
    println!("first batch closed: VmRSS {} KiB", closed.rss);

    let mut second = open_batch(&args, n).await;
    let warm = settled(&args).await;
    println!(
        "warm {n}: VmRSS {} KiB, {:.2} KiB per connection",
        warm.rss,
        per_connection(warm, baseline, n)
    );

    let big = args.big.min(n);
    let started = Instant::now();
    let echoes = second[..big].iter_mut().enumerate().map(|(i, stream)| {
        let key = Masker(i as u32 + 7).key();
        echo_big(stream, key)
    });
    for result in futures_util::future::join_all(echoes).await {
        result.expect("1 MiB echo");
    }
    let after_big = settled(&args).await;
    println!(
        "after one 1 MiB echo on {big} of them ({:.1} s): VmRSS {} KiB, +{:.0} KiB per big \
         connection, {:.2} KiB per connection overall, VmHWM {} KiB",
        started.elapsed().as_secs_f64(),
        after_big.rss,
        per_connection(after_big, warm, big.max(1)),
        per_connection(after_big, baseline, n),
        after_big.hwm
    );
    println!(
        "RESULT n={n} baseline={} cold={} closed={} warm={} big={big} after_big={} hwm={} \
         cold_per_conn={:.2} warm_per_conn={:.2} big_growth_per_conn={:.0} after_big_per_conn={:.2}",
        baseline.rss,
        cold.rss,
        closed.rss,
        warm.rss,
        after_big.rss,
        after_big.hwm,
        per_connection(cold, baseline, n),
        per_connection(warm, baseline, n),
        per_connection(after_big, warm, big.max(1)),
        per_connection(after_big, baseline, n),
    );
    close_batch(second, args.pid, baseline_fds).await;
}

fn main() {
    let args = parse_args();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run(args));
}
