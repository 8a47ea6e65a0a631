//! What one read produces goes out in one write: an echo server on this adapter, over a socket
//! that counts the writes submitted to the ring (`support::Counted`), answers 16 messages (and
//! a ping) that arrived in one TCP segment with one write. Also: a read that ends inside a
//! frame keeps the whole messages before it.

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use compio::net::TcpListener;
use wsproto_uring::{AcceptOptions, Config};

mod support;

use support::Counted;

/// A client's text frame, masked with a zero key (the payload stays as it is).
fn text_frame(text: &str) -> Vec<u8> {
    assert!(text.len() < 126);
    let mut frame = vec![0x81, 0x80 | text.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(text.as_bytes());
    frame
}

/// The client: tungstenite's opening handshake, then `bursts` written raw (each in one write,
/// a pause between them); returns the first `expect` bytes the server sent back after the
/// handshake, read raw.
fn raw_client(port: u16, bursts: Vec<Vec<u8>>, expect: usize) -> Vec<u8> {
    let (mut ws, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}/")).unwrap();
    let tungstenite::stream::MaybeTlsStream::Plain(stream) = ws.get_mut() else {
        unreachable!("plain TCP")
    };
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    for burst in bursts {
        stream.write_all(&burst).unwrap();
        thread::sleep(Duration::from_millis(50));
    }
    let mut received = vec![0; expect];
    stream.read_exact(&mut received).unwrap();
    received
}

/// Serves one connection over a counting socket: echoes until it ends. Returns the writes made
/// after the handshake's.
async fn echo_one(listener: TcpListener) -> usize {
    let (stream, _) = listener.accept().await.unwrap();
    let counted = Counted::new(stream);
    let traffic = counted.traffic.clone();
    let mut ws =
        wsproto_uring::accept(counted, Config::default(), |_| Ok(AcceptOptions::default()))
            .await
            .unwrap();
    let after_handshake = traffic.writes.get();
    while let Some(Ok(message)) = ws.next().await {
        ws.send(message).await.unwrap();
    }
    traffic.writes.get() - after_handshake
}

#[compio::test]
async fn sixteen_echoes_and_a_pong_of_one_read_go_out_in_one_write() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut burst: Vec<u8> = (0..16)
        .flat_map(|i| text_frame(&format!("m{i:02}")))
        .collect();
    // A ping in the middle: its pong joins the echoes.
    burst.splice(8 * 9..8 * 9, [0x89, 0x80, 0, 0, 0, 0]);
    // The pong first: all of a read's events are taken (and the pong queued) before its first
    // message is handed out; then the echoes, in order.
    let mut expected = vec![0x8a, 0];
    for i in 0..16u8 {
        expected.extend_from_slice(&[0x81, 3, b'm', b'0' + i / 10, b'0' + i % 10]);
    }
    let expect = expected.len();
    // The client vanishes once it has the replies: the server's loop ends.
    let client = thread::spawn(move || raw_client(port, vec![burst], expect));
    let server = compio::runtime::spawn(echo_one(listener));
    let received = compio::runtime::spawn_blocking(move || client.join().unwrap())
        .await
        .unwrap();
    assert_eq!(received, expected);
    let writes = server.await.unwrap();
    // The echoes and the pong in one write; the client then vanished without a close frame,
    // which needs no answer.
    assert_eq!(writes, 1, "writes for one read's replies");
}

#[compio::test]
async fn a_read_ending_inside_a_frame_keeps_the_messages_before_it() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut first = text_frame("one");
    first.extend_from_slice(&text_frame("two"));
    let second = first.split_off(first.len() - 3);
    let client = thread::spawn(move || raw_client(port, vec![first, second], 10));
    let server = compio::runtime::spawn(echo_one(listener));
    let received = compio::runtime::spawn_blocking(move || client.join().unwrap())
        .await
        .unwrap();
    assert_eq!(received, b"\x81\x03one\x81\x03two");
    server.await.unwrap();
}
