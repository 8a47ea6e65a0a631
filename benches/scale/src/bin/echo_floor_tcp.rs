//! The floor of the echo-throughput run: not a WebSocket library but the least a WebSocket echo
//! server can do over the same runtime and sockets. It answers the handshake with the accept
//! key, then per read: takes each complete client frame (any length encoding, masked, no
//! validation, no UTF-8 check, no control frames), writes it back unmasked, and makes one write
//! for the whole read. Same runtime shape as the kit's servers. Whatever rate it reaches at a
//! given concurrency is what the kernel's read and write per round trip allow: no library can
//! echo faster through the same system calls.
//! `echo_floor_tcp PORT`

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsproto_tokio::wsproto::handshake::accept_key;

fn main() {
    wsproto_scale::run("floor-tcp", |mut stream| async move {
        let mut input = vec![0u8; 64 * 1024];
        let mut output = Vec::with_capacity(64 * 1024);
        let mut filled = 0;
        // The handshake: the request head, then the 101 with the accept key.
        let head_end = loop {
            let Ok(n) = stream.read(&mut input[filled..]).await else {
                return;
            };
            if n == 0 {
                return;
            }
            filled += n;
            if let Some(at) = input[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if filled == input.len() {
                return;
            }
        };
        let head = String::from_utf8_lossy(&input[..head_end]).into_owned();
        let Some(key) = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        }) else {
            return;
        };
        let accept = accept_key(key.as_bytes());
        let mut response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ".to_vec();
        response.extend_from_slice(&accept);
        response.extend_from_slice(b"\r\n\r\n");
        if stream.write_all(&response).await.is_err() {
            return;
        }
        input.copy_within(head_end..filled, 0);
        filled -= head_end;
        loop {
            // Every complete frame in the input, echoed unmasked into one output.
            let mut at = 0;
            loop {
                let rest = &input[at..filled];
                if rest.len() < 2 {
                    break;
                }
                let (len, header) = match rest[1] & 0x7f {
                    126 if rest.len() >= 4 => (u16::from_be_bytes([rest[2], rest[3]]) as usize, 4),
                    127 if rest.len() >= 10 => (
                        u64::from_be_bytes(rest[2..10].try_into().unwrap()) as usize,
                        10,
                    ),
                    126 | 127 => break,
                    n => (n as usize, 2),
                };
                if rest.len() < header + 4 + len {
                    break;
                }
                if rest[0] & 0x0f == 0x8 {
                    return; // a close: the floor does not run the closing handshake
                }
                let key = [
                    rest[header],
                    rest[header + 1],
                    rest[header + 2],
                    rest[header + 3],
                ];
                output.push(rest[0]);
                output.push(rest[1] & 0x7f); // unmasked
                output.extend_from_slice(&rest[2..header]);
                let payload = &rest[header + 4..header + 4 + len];
                output.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i & 3]));
                at += header + 4 + len;
            }
            input.copy_within(at..filled, 0);
            filled -= at;
            if !output.is_empty() {
                if stream.write_all(&output).await.is_err() {
                    return;
                }
                output.clear();
            }
            if filled == input.len() {
                input.resize(input.len() * 2, 0);
            }
            match stream.read(&mut input[filled..]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => filled += n,
            }
        }
    });
}
