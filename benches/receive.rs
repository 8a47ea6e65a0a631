//! Connection-level receive throughput on the uncompressed path: a server `Connection` reading
//! masked binary frames through `receive` (and, with the `deflate` feature, `receive_into` on a
//! connection with deflate enabled but uncompressed messages), about 1 MiB per iteration.
//! `plain` runs the same code with and without the feature: the A/B of its cost.
//!
//! `cargo bench --bench receive -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto::Role;
use wsproto::config::Config;
use wsproto::connection::{Connection, Event};
use wsproto::entropy::NoEntropy;
use wsproto::time::Instant;

mod common;

use common::frames;

fn open() -> Connection {
    let config = Config {
        max_frame_payload: 1 << 20,
        max_message_size: 1 << 20,
        ..Config::DEFAULT
    };
    Connection::open(config, Role::Server, NoEntropy, Instant::default()).unwrap()
}

/// Reads every frame of `buf` with `receive`.
fn drain(ws: &mut Connection, buf: &mut [u8]) -> u64 {
    let mut pos = 0;
    let mut sum = 0u64;
    while pos < buf.len() {
        let r = ws.receive(&mut buf[pos..], Instant::default());
        pos += r.consumed;
        if let Some(Event::Data { chunk, .. }) = r.event {
            sum += chunk.len() as u64 + u64::from(chunk.last().copied().unwrap_or(0));
        }
    }
    sum
}

/// Reads every frame of `buf` with `receive_into`, which a connection with deflate enabled uses.
#[cfg(feature = "deflate")]
fn drain_into(
    ws: &mut Connection<NoEntropy, wsproto::connection::PerMessageDeflate>,
    buf: &mut [u8],
    scratch: &mut [u8],
) -> u64 {
    let mut pos = 0;
    let mut sum = 0u64;
    while pos < buf.len() {
        let r = ws.receive_into(&mut buf[pos..], scratch, Instant::default());
        pos += r.consumed;
        if let Some(Event::Data { chunk, .. }) = r.event {
            sum += chunk.len() as u64 + u64::from(chunk.last().copied().unwrap_or(0));
        }
    }
    sum
}

fn receive(c: &mut Criterion) {
    let mut group = c.benchmark_group("receive");
    for (size, count) in [(16, 65536), (1024, 1024), (64 * 1024, 16)] {
        let wire = frames(size, count);
        let mut buf = wire.clone();
        #[cfg(feature = "deflate")]
        let mut scratch = vec![0u8; 4096];
        group.throughput(Throughput::Bytes((size * count) as u64));
        group.bench_with_input(BenchmarkId::new("plain", size), &size, |b, _| {
            b.iter(|| {
                buf.copy_from_slice(&wire);
                let mut ws = open();
                black_box(drain(&mut ws, &mut buf))
            })
        });
        #[cfg(feature = "deflate")]
        group.bench_with_input(BenchmarkId::new("deflate_enabled", size), &size, |b, _| {
            b.iter(|| {
                buf.copy_from_slice(&wire);
                let mut ws = open().allow_deflate();
                let params = wsproto::deflate::DeflateParams::new(
                    &wsproto::deflate::DeflateConfig::DEFAULT,
                    false,
                    false,
                    15,
                    15,
                );
                ws.enable_deflate(params).unwrap();
                black_box(drain_into(&mut ws, &mut buf, &mut scratch))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, receive);
criterion_main!(benches);
