//! permessage-deflate throughput (feature `deflate`): wsproto compressing (`send`) and inflating
//! (`receive_into`) JSON-like text messages of 1 KiB and 64 KiB, with context takeover on and
//! off, next to `miniz_oxide` doing the same DEFLATE work on the same bytes without any framing
//! (the floor: wsproto compresses and inflates with it). tungstenite 0.30, the newest on
//! crates.io, has no permessage-deflate, so it is not here.
//!
//! Each iteration handles 1 MiB of messages on a fresh connection (fresh codecs for the floor),
//! as a new connection would; the compression ratio of each case is printed before it runs.
//!
//! `cargo bench --features deflate --bench deflate -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use miniz_oxide::deflate::core::{
    CompressionStrategy, CompressorOxide, TDEFLFlush, TDEFLStatus, compress,
};
use miniz_oxide::inflate::stream::{InflateState, MinReset, inflate};
use miniz_oxide::{DataFormat, MZFlush};
use wsproto::Role;
use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Event, PerMessageDeflate};
use wsproto::deflate::{DeflateConfig, DeflateParams};
use wsproto::entropy::Entropy;
use wsproto::frame::{Rsv, decode_header};
use wsproto::mask::apply_mask;
use wsproto::time::Instant;

const NOW: Instant = Instant::from_millis(0);
const LEVEL: u8 = 6;
/// RFC 7692 §7.2.1: the sync flush's end, removed by the sender, appended by the receiver.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// The receiver's scratch buffer: inflated bytes come out in pieces of at most this size.
const SCRATCH: usize = 16 << 10;

struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

impl Entropy for Xorshift {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next() as u8;
        }
    }
}

/// `count` different messages of `size` bytes: arrays of records such as an API or a chat feed
/// sends, with varying numbers, names (some non-ASCII) and short texts, cut at a character
/// boundary and padded with spaces to exactly `size`.
fn json_messages(size: usize, count: usize) -> Vec<Vec<u8>> {
    const NAMES: [&str; 8] = [
        "alice",
        "bob",
        "Zoë",
        "Jürgen",
        "Małgorzata",
        "Søren",
        "李雷",
        "carol",
    ];
    const WORDS: [&str; 12] = [
        "ok",
        "deploy",
        "failed",
        "retrying",
        "cache miss",
        "latency",
        "✓ done",
        "queued",
        "timeout",
        "user joined",
        "price update",
        "heartbeat",
    ];
    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    let mut id = 0u64;
    (0..count)
        .map(|_| {
            let mut text = String::from("{\"type\":\"batch\",\"items\":[");
            while text.len() < size {
                let r = rng.next();
                id += 1 + r % 3;
                text.push_str(&format!(
                    "{{\"id\":{id},\"ts\":{},\"user\":\"{}\",\"score\":{}.{:02},\"event\":\"{}\",\"tags\":[\"t{}\",\"t{}\"]}},",
                    1_764_000_000_000 + id * 37 + r % 1000,
                    NAMES[(r >> 8) as usize % NAMES.len()],
                    (r >> 16) % 10_000,
                    (r >> 32) % 100,
                    WORDS[(r >> 40) as usize % WORDS.len()],
                    (r >> 48) % 50,
                    (r >> 56) % 50,
                ));
            }
            let mut cut = size;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            let mut bytes = text.into_bytes();
            bytes.resize(size, b' ');
            bytes
        })
        .collect()
}

fn config() -> Config {
    Config {
        max_frame_payload: 1 << 20,
        max_message_size: 1 << 20,
        ..Config::DEFAULT
    }
}

/// Context takeover on (`true`) or off, both ways; full windows; every message compressed.
fn params(takeover: bool) -> DeflateParams {
    let config = DeflateConfig {
        compress_threshold: 0,
        level: LEVEL,
        ..DeflateConfig::DEFAULT
    };
    DeflateParams::new(&config, !takeover, !takeover, 15, 15)
}

fn connection<E: Entropy>(
    role: Role,
    entropy: E,
    takeover: bool,
) -> Connection<E, PerMessageDeflate> {
    let mut ws = Connection::open(config(), role, entropy, NOW)
        .unwrap()
        .allow_deflate();
    ws.enable_deflate(params(takeover)).unwrap();
    ws
}

/// wsproto, server role (no masking): every message sent whole; returns the bytes written.
fn wsproto_send(messages: &[Vec<u8>], takeover: bool, out: &mut [u8]) -> usize {
    let mut ws = connection(Role::Server, Xorshift(1), takeover);
    let mut total = 0;
    for message in messages {
        let n = ws.send(DataKind::Text, message, true, out).unwrap();
        total += n;
        black_box(&out[..n]);
    }
    total
}

/// The floor: miniz_oxide with wsproto's settings (raw DEFLATE, level 6, sync flush per message,
/// tail removed, reset per message without takeover); returns the bytes written.
fn miniz_compress(messages: &[Vec<u8>], takeover: bool, out: &mut [u8]) -> usize {
    let mut compressor = Box::new(CompressorOxide::with_params(
        DataFormat::Raw,
        LEVEL,
        CompressionStrategy::Default,
        15,
    ));
    let mut total = 0;
    for message in messages {
        let (status, read, written) = compress(&mut compressor, message, out, TDEFLFlush::Sync);
        assert!(
            status == TDEFLStatus::Okay && read == message.len() && out[..written].ends_with(&TAIL)
        );
        total += written - TAIL.len();
        black_box(&out[..written - TAIL.len()]);
        if !takeover {
            compressor.reset();
        }
    }
    total
}

/// The client's frames carrying `messages` compressed (masked, as a client sends them).
fn client_wire(messages: &[Vec<u8>], takeover: bool) -> Vec<u8> {
    let mut ws = connection(Role::Client, Xorshift(2), takeover);
    let mut out = vec![0u8; (64 << 10) + 1024];
    let mut wire = Vec::new();
    for message in messages {
        let n = ws.send(DataKind::Text, message, true, &mut out).unwrap();
        assert!(out[0] & 0x40 != 0, "compressed (RSV1)");
        wire.extend_from_slice(&out[..n]);
    }
    wire
}

/// The unmasked payloads of the single-frame messages in `wire`.
fn payloads(wire: &[u8]) -> Vec<Vec<u8>> {
    let mut pos = 0;
    let mut payloads = Vec::new();
    while pos < wire.len() {
        let (header, len) = decode_header(&wire[pos..], Rsv::RSV1).unwrap().unwrap();
        let start = pos + len;
        let end = start + header.payload_len as usize;
        let mut payload = wire[start..end].to_vec();
        apply_mask(&mut payload, header.mask.unwrap(), 0);
        payloads.push(payload);
        pos = end;
    }
    payloads
}

/// wsproto, server role: reads the client's frames with `receive_into`, handing each inflated
/// chunk to `consume`.
fn wsproto_receive(
    wire: &mut [u8],
    takeover: bool,
    scratch: &mut [u8],
    mut consume: impl FnMut(&[u8]),
) {
    let mut ws = connection(Role::Server, Xorshift(3), takeover);
    let mut pos = 0;
    // Until no progress: the inflater may hold output after the last input byte is consumed.
    loop {
        let r = ws.receive_into(&mut wire[pos..], scratch, NOW);
        pos += r.consumed;
        match r.event {
            Some(Event::Data { chunk, .. }) => consume(chunk),
            None if r.consumed == 0 => break,
            _ => {}
        }
    }
    assert_eq!(pos, wire.len());
}

/// The floor: miniz_oxide inflating the same payloads (tail appended, reset per message without
/// takeover) into a buffer of the same size; no framing, no unmasking, no UTF-8 check.
fn miniz_inflate(
    payloads: &[Vec<u8>],
    takeover: bool,
    scratch: &mut [u8],
    mut consume: impl FnMut(&[u8]),
) {
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    for payload in payloads {
        for input in [&payload[..], &TAIL[..]] {
            let mut at = 0;
            loop {
                let r = inflate(&mut state, &input[at..], scratch, MZFlush::None);
                at += r.bytes_consumed;
                consume(&scratch[..r.bytes_written]);
                if r.bytes_written < scratch.len() && at == input.len() {
                    break;
                }
            }
        }
        if !takeover {
            state.reset_as(MinReset);
        }
    }
}

/// What the timed loops do with each inflated chunk: look at its length and last byte.
fn touch(total: &mut u64) -> impl FnMut(&[u8]) + '_ {
    |chunk| *total += chunk.len() as u64 + u64::from(chunk.last().copied().unwrap_or(0))
}

fn deflate(c: &mut Criterion) {
    for (size, count) in [(1024, 1024), (64 << 10, 16)] {
        let messages = json_messages(size, count);
        let raw = (size * count) as u64;
        for takeover in [true, false] {
            let case = format!(
                "{}_{}",
                if size == 1024 { "1KiB" } else { "64KiB" },
                if takeover { "takeover" } else { "no_takeover" }
            );
            let mut out = vec![0u8; size + 1024];
            let wire = client_wire(&messages, takeover);
            let compressed = payloads(&wire);
            let payload_bytes: usize = compressed.iter().map(Vec::len).sum();
            let floor_bytes = miniz_compress(&messages, takeover, &mut out);
            let sent_bytes = wsproto_send(&messages, takeover, &mut out);
            println!(
                "ratio {case}: {count} messages of {size} B: compressed payload {payload_bytes} B \
                 = {:.1} % of {raw} B (miniz_oxide alone {floor_bytes} B); frames sent {sent_bytes} B",
                100.0 * payload_bytes as f64 / raw as f64
            );
            let mut scratch = vec![0u8; SCRATCH];
            // Both give back the messages, byte for byte.
            let all = messages.concat();
            let mut inflated = Vec::new();
            miniz_inflate(&compressed, takeover, &mut scratch, |c| {
                inflated.extend_from_slice(c)
            });
            assert!(inflated == all);
            let mut buf = wire.clone();
            inflated.clear();
            wsproto_receive(&mut buf, takeover, &mut scratch, |c| {
                inflated.extend_from_slice(c)
            });
            assert!(inflated == all);

            let mut group = c.benchmark_group(format!("deflate_{case}"));
            group.throughput(Throughput::Bytes(raw));
            group.bench_function(BenchmarkId::new("compress", "wsproto"), |b| {
                b.iter(|| wsproto_send(&messages, takeover, &mut out))
            });
            group.bench_function(BenchmarkId::new("compress", "miniz_oxide"), |b| {
                b.iter(|| miniz_compress(&messages, takeover, &mut out))
            });
            group.bench_function(BenchmarkId::new("inflate", "wsproto"), |b| {
                b.iter(|| {
                    let mut total = 0;
                    buf.copy_from_slice(&wire);
                    wsproto_receive(&mut buf, takeover, &mut scratch, touch(&mut total));
                    total
                })
            });
            group.bench_function(BenchmarkId::new("inflate", "miniz_oxide"), |b| {
                b.iter(|| {
                    let mut total = 0;
                    miniz_inflate(&compressed, takeover, &mut scratch, touch(&mut total));
                    total
                })
            });
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = deflate
}
criterion_main!(benches);
