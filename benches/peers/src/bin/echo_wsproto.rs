//! An echo server on wsproto over std TCP, one thread per connection: every message comes back
//! whole (`MessageAssembler<Vec<u8>>`; a message read in one piece is echoed without a copy).
//! `cargo run --release --bin echo_wsproto -- 127.0.0.1:9001`

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Event, Transmit};
use wsproto::handshake::AcceptOptions;
use wsproto::message::{Message, MessageAssembler};
use wsproto::time::Instant;

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr).expect("bind");
    eprintln!("echo_wsproto listening on {addr}");
    for stream in listener.incoming() {
        let stream = stream.expect("accept");
        std::thread::spawn(move || {
            let _ = serve(stream);
        });
    }
}

fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let start = std::time::Instant::now();
    let now = || Instant::from_millis(start.elapsed().as_millis() as u64);
    let mut ws = Connection::server(Config::default(), now()).expect("config");
    let mut input = vec![0u8; 256 * 1024];
    let mut out = vec![0u8; (1 << 20) + 1024];
    let mut messages = MessageAssembler::new(Vec::new());
    let mut filled = 0;
    loop {
        let n = stream.read(&mut input[filled..])?;
        if n == 0 {
            ws.receive_eof(now());
        }
        filled += n;
        let mut pos = 0;
        let mut pending = 0;
        loop {
            let r = ws.receive(&mut input[pos..filled], now());
            pos += r.consumed;
            let Some(event) = r.event else { break };
            match event {
                Event::Request(_) => {
                    let n = ws.accept(&AcceptOptions::new(), &mut out).expect("accept");
                    stream.write_all(&out[..n])?;
                }
                Event::Closed(_) => {
                    flush(&mut ws, &mut stream, &mut out)?;
                    return Ok(());
                }
                ref data @ Event::Data { .. } => match messages.push(data) {
                    Ok(Some(Message::Text(text))) => {
                        pending += ws
                            .send(DataKind::Text, text.as_bytes(), true, &mut out[pending..])
                            .expect("send");
                    }
                    Ok(Some(Message::Binary(bytes))) => {
                        pending += ws
                            .send(DataKind::Binary, bytes, true, &mut out[pending..])
                            .expect("send");
                    }
                    Ok(None) => {}
                    Err(_) => return Ok(()),
                },
                _ => {}
            }
            if pending > out.len() / 2 {
                stream.write_all(&out[..pending])?;
                pending = 0;
            }
        }
        if pending > 0 {
            stream.write_all(&out[..pending])?;
        }
        flush(&mut ws, &mut stream, &mut out)?;
        input.copy_within(pos..filled, 0);
        filled -= pos;
        if n == 0 {
            return Ok(());
        }
    }
}

fn flush(ws: &mut Connection, stream: &mut TcpStream, out: &mut [u8]) -> std::io::Result<()> {
    loop {
        match ws.poll_transmit(out).expect("poll") {
            Transmit::Bytes(n) => stream.write_all(&out[..n])?,
            Transmit::ShutdownWrite => stream.shutdown(std::net::Shutdown::Write)?,
            Transmit::Nothing => return Ok(()),
        }
    }
}
