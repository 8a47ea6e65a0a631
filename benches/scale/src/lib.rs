//! What every echo server of the kit shares: the runtime (tokio, multi-thread, 2 worker
//! threads), the listener (127.0.0.1, port from the first argument) and TCP_NODELAY on every
//! accepted stream. Each server binary only supplies what it does with one connection.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};

/// The port of the echo servers when none is given on the command line.
pub const DEFAULT_PORT: u16 = 9300;

/// Runs an echo server: accepts connections on 127.0.0.1:`argv[1]` forever and spawns
/// `serve(stream)` for each one, on a multi-thread runtime with 2 workers. `serve`'s errors are
/// the connection's own business (a peer that vanished): it returns nothing.
pub fn run<F, Fut>(name: &str, serve: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse().expect("port: a number"))
        .unwrap_or(DEFAULT_PORT);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = TcpListener::bind(addr).await.expect("bind");
        eprintln!("{name} listening on {addr}, pid {}", std::process::id());
        loop {
            // Out of descriptors or a connection reset before it was taken: keep serving.
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(serve(stream));
        }
    });
}
