//! Echo server on wsproto-uring (io_uring through compio), in the shape of the kit's tokio
//! servers: 2 threads, 127.0.0.1:`argv[1]`, TCP_NODELAY, default `Config`. compio runs one
//! runtime (one ring) per thread, so each thread accepts from its own `SO_REUSEPORT` listener
//! on the port and serves its connections itself; the ring is set up as the adapter's
//! `examples/echo_server.rs` does (cooperative task running, a 256-buffer pool).
//! `echo_wsproto_uring PORT`

use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::thread;

use compio::net::{TcpListener, TcpSocket, TcpStream};
use wsproto_uring::{AcceptOptions, Config};

/// As many threads as the tokio servers have workers.
const THREADS: usize = 2;

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .map_or(9300, |p| p.parse().expect("port: a number"));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    eprintln!(
        "wsproto-uring listening on {addr}, pid {}",
        std::process::id()
    );
    let threads: Vec<_> = (0..THREADS)
        .map(|_| thread::spawn(move || serve(addr)))
        .collect();
    for thread in threads {
        thread.join().expect("a server thread panicked");
    }
}

/// One thread's ring, set up as wsproto-uring's own echo example does (its recommended setup).
fn serve(addr: SocketAddr) {
    let mut proactor = compio::driver::ProactorBuilder::new();
    // Room for the reads of 256 connections that complete together.
    proactor.buffer_pool_size(NonZeroU16::new(256).expect("not zero"));
    // Completions run when the thread enters the ring, not by interrupting it while it works.
    proactor.coop_taskrun(true).taskrun_flag(true);
    let runtime = compio::runtime::RuntimeBuilder::new()
        .with_proactor(proactor)
        .build()
        .expect("an io_uring runtime");
    runtime.block_on(async {
        let listener = listen(addr).await.expect("listen");
        loop {
            // Out of descriptors or a connection reset before it was taken: keep serving.
            let Ok((stream, _)) = listener.accept().await else {
                compio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            compio::runtime::spawn(echo(stream)).detach();
        }
    });
}

/// A listener on `addr` that the other thread binds too: the kernel spreads connections over
/// both.
async fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4().await?;
    socket.set_reuseport(true)?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr).await?;
    socket.listen(1024).await
}

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
