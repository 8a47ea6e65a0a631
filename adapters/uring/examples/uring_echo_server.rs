//! An echo server on wsproto-uring: every text and binary message comes back as it came.
//!
//! ```text
//! cargo run --release -p wsproto-uring --example uring_echo_server -- [PORT] [THREADS]
//! ```
//!
//! Listens on 127.0.0.1:PORT (default 9300). compio runs one runtime (one io_uring) per thread,
//! so the server runs THREADS of them (default: one per core), each accepting from its own
//! `SO_REUSEPORT` listener on the same port and serving its connections itself. Accepted
//! sockets get TCP_NODELAY; the echoes of one read go out in one write. Reads land in each
//! thread's buffer ring (256 buffers of 8 KiB): an idle connection holds no buffer. The ring
//! runs completions cooperatively (`IORING_SETUP_COOP_TASKRUN`).

use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::thread;

use compio::net::{TcpListener, TcpSocket, TcpStream};
use wsproto_uring::{AcceptOptions, Config};

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .map_or(9300, |p| p.parse().expect("PORT: a number"));
    let threads = args.next().map_or_else(
        || thread::available_parallelism().map_or(1, usize::from),
        |n| n.parse().expect("THREADS: a number"),
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    eprintln!(
        "wsproto-uring echo server on {addr}, {threads} threads, pid {}",
        std::process::id()
    );
    let workers: Vec<_> = (0..threads)
        .map(|_| thread::spawn(move || serve(addr)))
        .collect();
    for worker in workers {
        worker.join().expect("a worker thread panicked");
    }
}

/// One thread's runtime: accepts on its own listener and serves each connection in a task.
fn serve(addr: SocketAddr) {
    let mut proactor = compio::driver::ProactorBuilder::new();
    // Room for the reads of 256 connections that complete together; more wait for a buffer.
    proactor.buffer_pool_size(NonZeroU16::new(256).expect("not zero"));
    // Completions are run when the thread enters the ring, not by interrupting it while it
    // works (with 512 connections here: ~100k echoes/s instead of 30-80k).
    proactor.coop_taskrun(true).taskrun_flag(true);
    let runtime = compio::runtime::RuntimeBuilder::new()
        .with_proactor(proactor)
        .build()
        .expect("an io_uring runtime");
    runtime.block_on(async {
        let listener = listen(addr).await.expect("listen");
        loop {
            // Out of descriptors, or a connection reset before it was taken: keep serving.
            let Ok((stream, _)) = listener.accept().await else {
                compio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            compio::runtime::spawn(echo(stream)).detach();
        }
    });
}

/// A listener on `addr` that other threads may bind too: the kernel spreads connections
/// over them.
async fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4().await?;
    socket.set_reuseport(true)?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr).await?;
    socket.listen(1024).await
}

/// Echoes until the peer closes (or fails).
async fn echo(stream: TcpStream) {
    let accepted =
        wsproto_uring::accept(stream, Config::default(), |_| Ok(AcceptOptions::default()));
    let Ok(mut ws) = accepted.await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if ws.send(message).await.is_err() {
            return;
        }
    }
}
