//! An echo server on tungstenite (default configuration) over std TCP, one thread per
//! connection, built like `echo_wsproto`: every message comes back whole.
//! `cargo run --release --bin echo_tungstenite -- 127.0.0.1:9002`

use std::net::{TcpListener, TcpStream};

use tungstenite::Message;

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".into());
    let listener = TcpListener::bind(&addr).expect("bind");
    eprintln!("echo_tungstenite listening on {addr}");
    for stream in listener.incoming() {
        let stream = stream.expect("accept");
        std::thread::spawn(move || serve(stream));
    }
}

fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = tungstenite::accept(stream) else {
        return;
    };
    loop {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(msg).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}
