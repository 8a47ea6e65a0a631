//! Decode + unmask throughput of the streaming frame decoder, as a server receives client frames,
//! against an in-place unmask of the same bytes (the physical limit: each payload byte is read
//! and written once) and a plain copy.
//!
//! Each iteration first restores the masked bytes (unmasking is in place), so every variant pays
//! for that copy; compare the differences.
//!
//! `cargo bench --bench decode -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto::Role;
use wsproto::decoder::{DecoderConfig, FrameDecoder};
use wsproto::mask::apply_mask;

mod common;

use common::{KEY, frames};

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    // About 1 MiB of payload per iteration for every size.
    for (size, count) in [(16, 65536), (1024, 1024), (64 * 1024, 16), (1024 * 1024, 1)] {
        let wire = frames(size, count);
        let mut buf = wire.clone();
        group.throughput(Throughput::Bytes((size * count) as u64));
        group.bench_with_input(BenchmarkId::new("frame_decoder", size), &size, |b, _| {
            b.iter(|| {
                buf.copy_from_slice(&wire);
                let mut decoder = FrameDecoder::new(DecoderConfig {
                    max_frame_payload: u64::MAX,
                    ..DecoderConfig::new(Role::Server)
                });
                let mut pos = 0;
                let mut sum = 0u64;
                while pos < buf.len() {
                    let decoded = decoder.decode(&mut buf[pos..]).unwrap();
                    pos += decoded.consumed;
                    if let Some(chunk) = decoded.chunk {
                        let last = chunk.payload.last().copied().unwrap_or(0);
                        sum += chunk.payload.len() as u64 + u64::from(last);
                    }
                }
                black_box(sum)
            })
        });
        group.bench_with_input(BenchmarkId::new("copy_then_unmask", size), &size, |b, _| {
            b.iter(|| {
                buf.copy_from_slice(&wire);
                apply_mask(black_box(&mut buf[..]), KEY, 0);
                black_box(buf[buf.len() - 1])
            })
        });
        group.bench_with_input(BenchmarkId::new("copy_only", size), &size, |b, _| {
            b.iter(|| {
                buf.copy_from_slice(&wire);
                black_box(buf[buf.len() - 1])
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
