//! W1: client role encoding (masking) messages, wsproto against tungstenite, fastwebsockets and
//! embedded-websocket, with a copy of the same payload bytes as the physical reference.
//!
//! Every client draws its masking keys from `rand`'s thread-local CSPRNG (what tungstenite and
//! fastwebsockets use internally). Writes go to an in-memory sink that drops them.
//!
//! `cargo bench --bench send -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::RngCore;
use wsproto_peers::{MemStream, binary, runtime};

fn send(c: &mut Criterion) {
    let rt = runtime();
    for (name, size, count) in [
        ("W1_16B", 16usize, 100_000usize),
        ("W1_64KiB", 64 * 1024, 1_000),
    ] {
        let data = binary(size, 1);
        let mut out = vec![0u8; size + 14 + 512];
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(count as u64));

        group.bench_function("wsproto", |b| {
            b.iter(|| {
                let mut rng = rand::thread_rng();
                let entropy = move |key: &mut [u8]| rng.fill_bytes(key);
                let mut ws = wsproto::connection::Connection::open(
                    wsproto::config::Config::default(),
                    wsproto::Role::Client,
                    entropy,
                    wsproto::time::Instant::from_millis(0),
                )
                .unwrap();
                let mut total = 0;
                for _ in 0..count {
                    let n = ws
                        .send(
                            wsproto::connection::DataKind::Binary,
                            black_box(&data),
                            true,
                            &mut out,
                        )
                        .unwrap();
                    total += n;
                    black_box(&out[..n]);
                }
                total
            })
        });

        group.bench_function("tungstenite", |b| {
            let bytes = tungstenite::Bytes::from(data.clone());
            b.iter(|| {
                let mut ws = tungstenite::WebSocket::from_raw_socket(
                    MemStream { input: &[] },
                    tungstenite::protocol::Role::Client,
                    None,
                );
                for _ in 0..count {
                    ws.send(tungstenite::Message::Binary(bytes.clone()))
                        .unwrap();
                }
            })
        });

        group.bench_function("fastwebsockets", |b| {
            // fastwebsockets masks the caller's buffer in place (its zero-copy write path).
            let mut payload = data.clone();
            b.iter(|| {
                rt.block_on(async {
                    let mut ws = fastwebsockets::WebSocket::after_handshake(
                        MemStream { input: &[] },
                        fastwebsockets::Role::Client,
                    );
                    for _ in 0..count {
                        let frame = fastwebsockets::Frame::binary(
                            fastwebsockets::Payload::BorrowedMut(&mut payload),
                        );
                        ws.write_frame(frame).await.unwrap();
                    }
                })
            })
        });

        group.bench_function("embedded_websocket", |b| {
            b.iter(|| {
                let mut ws = embedded_websocket::WebSocketClient::new_client(rand::thread_rng());
                ws.state = embedded_websocket::WebSocketState::Open;
                let mut total = 0;
                for _ in 0..count {
                    let n = ws
                        .write(
                            embedded_websocket::WebSocketSendMessageType::Binary,
                            true,
                            black_box(&data),
                            &mut out,
                        )
                        .unwrap();
                    total += n;
                    black_box(&out[..n]);
                }
                total
            })
        });

        group.bench_function("ref_memcpy", |b| {
            b.iter(|| {
                for _ in 0..count {
                    out[..size].copy_from_slice(black_box(&data));
                    black_box(&out[..size]);
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, send);
criterion_main!(benches);
