//! The uncompressed paths of wsproto, for counting instructions under valgrind (which the load
//! of a shared machine does not disturb): `wsproto-icount receive|send SIZE ROUNDS` handles
//! `ROUNDS` × 1 MiB of binary messages of `SIZE` bytes, as `benches/receive.rs` and
//! `benches/send.rs` do. `ab.sh` builds it with and without feature `deflate` and compares.

use std::hint::black_box;

use wsproto::Role;
use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Event};
use wsproto::entropy::NoEntropy;
use wsproto::frame::{FrameHeader, OpCode, encode_frame};
use wsproto::time::Instant;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn config() -> Config {
    Config {
        max_frame_payload: 1 << 20,
        max_message_size: 1 << 20,
        ..Config::DEFAULT
    }
}

/// A server reading `count` masked binary frames of `size` bytes, `rounds` times.
fn receive(size: usize, count: usize, rounds: usize) -> u64 {
    // The frames of `benches/common`'s `frames`.
    let header = FrameHeader::new(OpCode::Binary, Some(KEY), size as u64);
    let mut wire = vec![0; count * (header.encoded_len() + size)];
    let mut payload = vec![0; size];
    for (n, frame) in wire.chunks_exact_mut(header.encoded_len() + size).enumerate() {
        payload.iter_mut().enumerate().for_each(|(i, b)| *b = (i + n) as u8);
        encode_frame(&header, &payload, frame).expect("sized for the frame");
    }
    let mut buf = wire.clone();
    let mut sum = 0u64;
    for _ in 0..rounds {
        buf.copy_from_slice(&wire);
        let mut ws =
            Connection::open(config(), Role::Server, NoEntropy, Instant::default()).unwrap();
        let mut pos = 0;
        while pos < buf.len() {
            let r = ws.receive(&mut buf[pos..], Instant::default());
            pos += r.consumed;
            if let Some(Event::Data { chunk, .. }) = r.event {
                sum += chunk.len() as u64 + u64::from(chunk.last().copied().unwrap_or(0));
            }
        }
    }
    sum
}

/// A client masking `count` binary messages of `size` bytes into a buffer, `rounds` times.
fn send(size: usize, count: usize, rounds: usize) -> u64 {
    let data: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let mut out = vec![0u8; size + 64];
    let mut sum = 0u64;
    for _ in 0..rounds {
        // The connection draws keys in batches: fill every 4-byte key of the batch with KEY.
        let entropy = |keys: &mut [u8]| {
            keys.chunks_mut(4)
                .for_each(|k| k.copy_from_slice(&KEY[..k.len()]))
        };
        let mut ws = Connection::open(config(), Role::Client, entropy, Instant::default()).unwrap();
        for _ in 0..count {
            let n = ws
                .send(DataKind::Binary, black_box(&data), true, &mut out)
                .unwrap();
            sum += n as u64;
            black_box(&out[..n]);
        }
    }
    sum
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: wsproto-icount receive|send SIZE ROUNDS";
    assert_eq!(args.len(), 4, "{usage}");
    let size: usize = args[2].parse().expect(usage);
    let rounds: usize = args[3].parse().expect(usage);
    let count = (1 << 20) / size;
    let sum = match args[1].as_str() {
        "receive" => receive(size, count, rounds),
        "send" => send(size, count, rounds),
        _ => panic!("{usage}"),
    };
    println!("{sum}");
}
