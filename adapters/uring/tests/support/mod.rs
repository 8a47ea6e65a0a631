//! What several tests share: an echo server on this adapter, in a thread of its own, and a
//! socket that counts what crosses it.
// Each test binary uses a part of it.
#![allow(dead_code)]

use std::cell::Cell;
use std::rc::Rc;
use std::thread;

use compio::BufResult;
use compio::buf::IoBuf;
use compio::driver::BufferRef;
use compio::io::{AsyncReadManaged, AsyncWrite};
use compio::net::{TcpListener, TcpStream};
use wsproto_uring::{AcceptOptions, Options};

/// What crossed a [`Counted`] socket.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Writes submitted.
    pub writes: Cell<usize>,
    /// Bytes written.
    pub written: Cell<usize>,
    /// Bytes read.
    pub read: Cell<usize>,
}

/// A TCP socket that counts its writes and the bytes each way.
#[derive(Clone)]
pub struct Counted {
    pub inner: TcpStream,
    pub traffic: Rc<Traffic>,
}

impl Counted {
    pub fn new(inner: TcpStream) -> Self {
        let traffic = Rc::default();
        Counted { inner, traffic }
    }
}

impl AsyncReadManaged for Counted {
    type Buffer = BufferRef;

    async fn read_managed(&mut self, len: usize) -> std::io::Result<Option<BufferRef>> {
        let read = self.inner.read_managed(len).await;
        if let Ok(Some(buf)) = &read {
            let read = &self.traffic.read;
            read.set(read.get() + buf.buf_len());
        }
        read
    }
}

impl AsyncWrite for Counted {
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        let traffic = &self.traffic;
        traffic.writes.set(traffic.writes.get() + 1);
        let written = self.inner.write(buf).await;
        if let Ok(n) = written.0 {
            traffic.written.set(traffic.written.get() + n);
        }
        written
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().await
    }

    async fn shutdown(&mut self) -> std::io::Result<()> {
        self.inner.shutdown().await
    }
}

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
