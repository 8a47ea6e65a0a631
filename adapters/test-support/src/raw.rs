//! Frames and the opening handshake as bytes, for test peers that write them by hand.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use wsproto::frame::{FrameHeader, OpCode, encode_frame};

/// A client's opening handshake for `/`, with RFC 6455's sample key (§1.3).
pub const UPGRADE_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\
    Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Writes [`UPGRADE_REQUEST`] and reads the response up to its blank line, byte by byte, so
/// that nothing after it is taken; panics unless it is a 101.
pub fn upgrade(stream: &mut TcpStream) {
    stream.write_all(UPGRADE_REQUEST).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert!(n > 0, "the server hung up during the handshake");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "not accepted: {}",
        String::from_utf8_lossy(&head)
    );
}

/// A final frame of `opcode` and `payload`, masked with `key` (a client's frame) or not
/// (`None`: a server's); the core's [`encode_frame`].
pub fn frame(opcode: OpCode, payload: &[u8], key: Option<[u8; 4]>) -> Vec<u8> {
    let header = FrameHeader::new(opcode, key, payload.len() as u64);
    let mut out = vec![0; header.encoded_len() + payload.len()];
    encode_frame(&header, payload, &mut out).expect("sized for the frame");
    out
}

/// Reads one unmasked (server) frame off `stream`: its first byte (FIN and opcode) and its
/// payload.
pub fn read_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).unwrap();
    let len = match header[1] {
        126 => {
            let mut n = [0u8; 2];
            stream.read_exact(&mut n).unwrap();
            usize::from(u16::from_be_bytes(n))
        }
        127 => {
            let mut n = [0u8; 8];
            stream.read_exact(&mut n).unwrap();
            u64::from_be_bytes(n) as usize
        }
        n => usize::from(n),
    };
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).unwrap();
    (header[0], payload)
}

/// A connection to 127.0.0.1:`port` through its opening handshake ([`upgrade`]), its reads
/// timing out after 30 s.
pub fn connect(port: u16) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    upgrade(&mut stream);
    stream
}

/// Sends `payload` in a masked binary frame and checks that the server echoes it in a binary
/// frame.
pub fn assert_echo(stream: &mut TcpStream, payload: &[u8]) {
    stream
        .write_all(&frame(OpCode::Binary, payload, Some([1, 2, 3, 4])))
        .unwrap();
    let (first, echoed) = read_frame(stream);
    assert_eq!(first, 0x82, "a final binary frame");
    assert!(echoed == payload, "a wrong echo of {} bytes", payload.len());
}
