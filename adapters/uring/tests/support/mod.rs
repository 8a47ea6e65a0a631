//! What several tests share: an echo server on this adapter, in a thread of its own.

use std::thread;

use compio::net::TcpListener;
use wsproto_uring::{AcceptOptions, Options};

/// Starts an echo server on 127.0.0.1 (one compio runtime on its own thread, a task per
/// connection) and returns its port. `on_thread` runs first on the server's thread.
pub fn echo_server(options: Options, on_thread: fn()) -> u16 {
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        on_thread();
        compio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    compio::runtime::spawn(async move {
                        let accepted =
                            wsproto_uring::accept(
                                stream,
                                options,
                                |_| Ok(AcceptOptions::default()),
                            );
                        let Ok(mut ws) = accepted.await else {
                            return;
                        };
                        while let Some(Ok(message)) = ws.next().await {
                            if ws.send(message).await.is_err() {
                                return;
                            }
                        }
                    })
                    .detach();
                }
            })
    });
    port_rx.recv().unwrap()
}
