//! UTF-8 validation throughput (RFC 6455 §8.1) against `core::str::from_utf8` on the same bytes.
//!
//! Two 64 KiB inputs: ASCII, and mixed text where about half the bytes belong to 2-, 3- and 4-byte
//! characters. The validator is fed each input whole and in 1 KiB chunks (frames as they arrive).
//!
//! `cargo bench --bench utf8 -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsproto::utf8::Utf8Validator;

const SIZE: usize = 64 * 1024;

/// Whole characters from `pieces`, cycled, up to `SIZE` bytes.
fn text(pieces: &[&str]) -> Vec<u8> {
    let mut out = String::with_capacity(SIZE);
    for piece in pieces.iter().cycle() {
        if out.len() + piece.len() > SIZE {
            break;
        }
        out.push_str(piece);
    }
    out.into_bytes()
}

/// The same pieces in a pseudo-random order (xorshift, fixed seed), as real text varies: a
/// byte-at-a-time validator cannot learn the pattern the way it learns a cycle.
fn shuffled_text(pieces: &[&str]) -> Vec<u8> {
    let mut out = String::with_capacity(SIZE);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    loop {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let piece = pieces[(state % pieces.len() as u64) as usize];
        if out.len() + piece.len() > SIZE {
            break;
        }
        out.push_str(piece);
    }
    out.into_bytes()
}

fn utf8(c: &mut Criterion) {
    let ascii = text(&["The quick brown fox jumps over the lazy dog. "]);
    // 1 + 2 + 3 + 4 bytes per cycle of "aé€😀": 9 of every 10 bytes are in multi-byte characters,
    // so ASCII words are interleaved: 9 of every 20 bytes. The 1 KiB chunks split characters.
    let pieces = ["a", "é", "word", "€", "text ", "😀", "x"];
    let mixed = text(&pieces);
    let shuffled = shuffled_text(&pieces);
    assert!(std::str::from_utf8(&shuffled).is_ok());
    let multi = mixed.iter().filter(|&&b| b >= 0x80).count();
    assert!(std::str::from_utf8(&mixed).is_ok());
    println!(
        "mixed input: {} bytes, {:.0}% in multi-byte characters",
        mixed.len(),
        100.0 * multi as f64 / mixed.len() as f64
    );

    let mut group = c.benchmark_group("utf8");
    for (name, input) in [
        ("ascii", &ascii),
        ("mixed", &mixed),
        ("mixed_shuffled", &shuffled),
    ] {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_with_input(BenchmarkId::new("from_utf8", name), input, |b, input| {
            b.iter(|| core::str::from_utf8(black_box(input)).is_ok())
        });
        group.bench_with_input(
            BenchmarkId::new("validator_whole", name),
            input,
            |b, input| {
                b.iter(|| {
                    let mut v = Utf8Validator::new();
                    v.feed(black_box(input)).and_then(|()| v.finish()).is_ok()
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("validator_1k", name), input, |b, input| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                black_box(input)
                    .chunks(1024)
                    .try_for_each(|chunk| v.feed(chunk))
                    .and_then(|()| v.finish())
                    .is_ok()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, utf8);
criterion_main!(benches);
