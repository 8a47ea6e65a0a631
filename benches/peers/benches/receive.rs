//! Server role receiving masked client frames (R1–R6), wsproto against tungstenite,
//! fastwebsockets and embedded-websocket, with a plain copy and a copy-then-unmask of the same
//! bytes as physical references. See `benches/README.md` for the scenarios and results.
//!
//! `cargo bench --bench receive -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wsproto_peers::{
    SocketBuf, embedded_keep, embedded_receive, fastwebsockets_receive, ref_copy, ref_copy_unmask,
    runtime, scenarios, tungstenite_receive, wsproto_receive,
};

fn receive(c: &mut Criterion) {
    let rt = runtime();
    let mut buf = SocketBuf::new();
    let mut message = vec![0u8; 1 << 21];
    for s in scenarios() {
        let (wire, count, text) = (&s.wire[..], s.count, s.text);
        let fragmented = s.name.starts_with("R6");
        let keep = embedded_keep(fragmented, s.size / 16);
        // Everyone must see the same messages before anything is timed.
        assert_eq!(
            wsproto_receive(wire, &mut buf),
            s.expected,
            "wsproto {}",
            s.name
        );
        assert_eq!(
            tungstenite_receive(wire, count),
            s.expected,
            "tungstenite {}",
            s.name
        );
        assert_eq!(
            fastwebsockets_receive(&rt, wire, count, fragmented),
            s.expected,
            "fastwebsockets {}",
            s.name
        );
        assert_eq!(
            embedded_receive(wire, &mut buf, &mut message, text, keep),
            s.expected,
            "embedded-websocket {}",
            s.name
        );

        let mut group = c.benchmark_group(s.name);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_function("wsproto", |b| {
            b.iter(|| black_box(wsproto_receive(black_box(wire), &mut buf)))
        });
        group.bench_function("tungstenite", |b| {
            b.iter(|| black_box(tungstenite_receive(black_box(wire), count)))
        });
        group.bench_function("fastwebsockets", |b| {
            b.iter(|| {
                black_box(fastwebsockets_receive(
                    &rt,
                    black_box(wire),
                    count,
                    fragmented,
                ))
            })
        });
        group.bench_function("embedded_websocket", |b| {
            b.iter(|| {
                black_box(embedded_receive(
                    black_box(wire),
                    &mut buf,
                    &mut message,
                    text,
                    keep,
                ))
            })
        });
        group.bench_function("ref_memcpy", |b| {
            b.iter(|| black_box(ref_copy(black_box(wire), &mut buf)))
        });
        group.bench_function("ref_copy_unmask", |b| {
            b.iter(|| black_box(ref_copy_unmask(black_box(wire), &mut buf)))
        });
        group.finish();
    }
}

criterion_group!(benches, receive);
criterion_main!(benches);
