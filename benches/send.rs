//! Connection-level send throughput on the uncompressed path: a client `Connection` masking
//! binary messages into an output buffer with `send` (and, with the `deflate` feature, the same
//! on a connection with deflate enabled whose threshold keeps every message uncompressed), about
//! 1 MiB per iteration. With `receive`, the A/B of the feature's cost on uncompressed traffic.
//!
//! `cargo bench --bench send -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto::Role;
use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Receiving};
use wsproto::time::Instant;

/// A fixed masking key: the key's source is not what is measured here. The connection draws
/// keys in batches (and 16 bytes for the handshake nonce), so every 4 bytes get the same key.
fn fixed_key(keys: &mut [u8]) {
    for key in keys.chunks_mut(4) {
        key.copy_from_slice(&[0x37, 0xfa, 0x21, 0x3d][..key.len()]);
    }
}

fn open() -> Connection<fn(&mut [u8])> {
    let config = Config {
        max_frame_payload: 1 << 20,
        max_message_size: 1 << 20,
        ..Config::DEFAULT
    };
    Connection::open(
        config,
        Role::Client,
        fixed_key as fn(&mut [u8]),
        Instant::default(),
    )
    .unwrap()
}

fn fill<X: Receiving>(
    ws: &mut Connection<fn(&mut [u8]), X>,
    data: &[u8],
    count: usize,
    out: &mut [u8],
) -> usize {
    let mut total = 0;
    for _ in 0..count {
        let n = ws
            .send(DataKind::Binary, black_box(data), true, out)
            .unwrap();
        total += n;
        black_box(&out[..n]);
    }
    total
}

fn send(c: &mut Criterion) {
    let mut group = c.benchmark_group("send");
    for (size, count) in [(16, 65536), (1024, 1024), (64 * 1024, 16)] {
        let data: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let mut out = vec![0u8; size + 64];
        group.throughput(Throughput::Bytes((size * count) as u64));
        group.bench_with_input(BenchmarkId::new("plain", size), &size, |b, _| {
            b.iter(|| {
                let mut ws = open();
                fill(&mut ws, &data, count, &mut out)
            })
        });
        #[cfg(feature = "deflate")]
        group.bench_with_input(BenchmarkId::new("deflate_enabled", size), &size, |b, _| {
            b.iter(|| {
                let mut ws = open().allow_deflate();
                let config = wsproto::deflate::DeflateConfig {
                    compress_threshold: usize::MAX,
                    ..wsproto::deflate::DeflateConfig::DEFAULT
                };
                let params = wsproto::deflate::DeflateParams::new(&config, false, false, 15, 15);
                ws.enable_deflate(params).unwrap();
                fill(&mut ws, &data, count, &mut out)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, send);
criterion_main!(benches);
