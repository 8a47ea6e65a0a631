//! Masking throughput (RFC 6455 §5.3) against a plain memory copy of the same size.
//!
//! `copy_from_slice` reads one buffer and writes another, the same traffic as `apply_mask_copy`
//! and one more stream than in-place `apply_mask`; it is the speed masking should approach.
//!
//! `cargo bench --bench mask -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto::mask::{apply_mask, apply_mask_copy};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const SIZES: [usize; 4] = [16, 1024, 64 * 1024, 1024 * 1024];

fn mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    for size in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        // One byte more than needed, so the masked slice starts at an odd address.
        let src: Vec<u8> = (0..=size).map(|i| i as u8).collect();
        let mut dst = vec![0u8; size + 1];
        group.bench_with_input(BenchmarkId::new("apply_mask", size), &size, |b, _| {
            b.iter(|| apply_mask(black_box(&mut dst[1..]), KEY, black_box(1)))
        });
        group.bench_with_input(BenchmarkId::new("apply_mask_copy", size), &size, |b, _| {
            b.iter(|| apply_mask_copy(black_box(&src[1..]), &mut dst[1..], KEY, black_box(1)))
        });
        group.bench_with_input(BenchmarkId::new("copy_from_slice", size), &size, |b, _| {
            b.iter(|| dst[1..].copy_from_slice(black_box(&src[1..])))
        });
    }
    group.finish();
}

criterion_group!(benches, mask);
criterion_main!(benches);
