//! State sizes on the host, printed for benches/README.md:
//! `cargo test --release --test sizes -- --nocapture`.

use std::mem::size_of;

#[test]
fn state_sizes() {
    println!(
        "wsproto Connection<NoEntropy>: {} B",
        size_of::<wsproto::connection::Connection>()
    );
    println!(
        "embedded_websocket::WebSocketServer: {} B",
        size_of::<embedded_websocket::WebSocketServer>()
    );
    println!(
        "embedded_websocket::WebSocketClient<ThreadRng>: {} B",
        size_of::<embedded_websocket::WebSocketClient<rand::rngs::ThreadRng>>()
    );
}
