//! Tiny tungstenite peer used by scripts/capture-handshakes/run.
//!
//! Usage:
//!   tungstenite-peer client <ws-url> [subprotocol-header-value]
//!       Connect once, complete the opening handshake, send a Close, exit 0 on success.
//!   tungstenite-peer server <port> <default|chat> <max-connections>
//!       Listen on 127.0.0.1:<port>, accept up to <max-connections> connections, running the
//!       tungstenite server handshake on each. In `chat` mode the `chat` subprotocol is
//!       selected when the client offers it. Prints "ready" once listening.

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::server::{Request, Response};
use tungstenite::http::HeaderValue;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("client") => client(&args[2], args.get(3).map(String::as_str)),
        Some("server") => server(args[2].parse().unwrap(), &args[3], args[4].parse().unwrap()),
        Some("version") => println!("tungstenite {}", env!("TUNGSTENITE_VERSION")),
        _ => {
            eprintln!("usage: tungstenite-peer client URL [PROTOCOLS] | server PORT default|chat N | version");
            std::process::exit(2);
        }
    }
}

fn client(url: &str, protocols: Option<&str>) {
    let mut request = url.into_client_request().expect("bad url");
    if let Some(p) = protocols {
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_str(p).unwrap());
    }
    match tungstenite::connect(request) {
        Ok((mut ws, response)) => {
            eprintln!("tungstenite client: handshake ok, status {}", response.status());
            let _ = ws.close(None);
            let _ = ws.flush();
        }
        Err(e) => {
            eprintln!("tungstenite client: handshake failed: {e}");
            std::process::exit(1);
        }
    }
}

fn server(port: u16, mode: &str, max: usize) {
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    println!("ready");
    std::io::stdout().flush().unwrap();
    let chat = mode == "chat";
    for stream in listener.incoming().take(max) {
        let Ok(stream) = stream else { continue };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let callback = |req: &Request, mut resp: Response| {
            if chat {
                let offered = req
                    .headers()
                    .get_all("Sec-WebSocket-Protocol")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .any(|p| p.trim() == "chat");
                if offered {
                    resp.headers_mut()
                        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("chat"));
                }
            }
            Ok(resp)
        };
        match tungstenite::accept_hdr(stream, callback) {
            Ok(mut ws) => {
                eprintln!("tungstenite server: handshake ok");
                // Wait (bounded by the read timeout) for the peer to go away.
                let _ = ws.read();
            }
            Err(e) => eprintln!("tungstenite server: handshake failed: {e}"),
        }
    }
}
