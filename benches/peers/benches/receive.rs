//! Server role receiving masked client frames (R1–R6): wsproto (through its session layer)
//! against tungstenite, fastwebsockets (`FragmentCollector`), tokio-websockets, nexus-web and
//! embedded-websocket, every one handing out whole messages; a plain copy and a copy-then-unmask
//! of the same bytes as references, and for the single-frame large messages (R3, R4) the
//! physical floor of whole-message delivery with wsproto's unmask kernel, the best safe one
//! and that one compiled for AVX2; for the 1 KiB text messages (R5) the same floor, text
//! validated with wsproto's validator, and the unmask-free bound (payloads unmasked beforehand:
//! copy and validation alone). See `benches/README.md` for the scenarios and results.
//!
//! `cargo bench --bench receive -- --warm-up-time 1 --measurement-time 3 'R3|R4'`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wsproto_peers::{
    FloorPlan, SocketBuf, embedded_keep, embedded_receive, fastwebsockets_receive, floor,
    kernel_avx2, kernel_best, kernel_none, kernel_ours, nexus_receive, ref_copy, ref_copy_unmask,
    runtime, scenarios, tokio_websockets_receive, tungstenite_receive, unmasked_wire,
    wsproto_receive,
};

fn receive(c: &mut Criterion) {
    let rt = runtime();
    let mut buf = SocketBuf::new();
    let mut message = vec![0u8; 1 << 21];
    let mut floor_buf = Vec::new();
    for s in scenarios() {
        let (wire, count, text) = (&s.wire[..], s.count, s.text);
        let fragmented = s.name.starts_with("R6");
        let keep = embedded_keep(fragmented, s.size / 16);
        // The floor: the single-frame large messages, and the 1 KiB text messages, where the
        // UTF-8 check is most of the work (for 1 KiB binary, reading its plan of frames and
        // reads from memory costs about as much as parsing headers, so it is no lower bound).
        let single_frame = ["R3", "R4", "R5"].iter().any(|r| s.name.starts_with(r));
        let text_floor = s.name.starts_with("R5");
        let plan = FloorPlan::new(wire);
        let plain = unmasked_wire(wire, &plan);
        // Everyone must see the same messages before anything is timed.
        assert_eq!(wsproto_receive(wire), s.expected, "wsproto {}", s.name);
        assert_eq!(
            tungstenite_receive(wire, count),
            s.expected,
            "tungstenite {}",
            s.name
        );
        assert_eq!(
            fastwebsockets_receive(&rt, wire, count),
            s.expected,
            "fastwebsockets {}",
            s.name
        );
        assert_eq!(
            tokio_websockets_receive(&rt, wire, count),
            s.expected,
            "tokio-websockets {}",
            s.name
        );
        assert_eq!(
            nexus_receive(wire, count),
            s.expected,
            "nexus-web {}",
            s.name
        );
        assert_eq!(
            embedded_receive(wire, &mut buf, &mut message, text, keep),
            s.expected,
            "embedded-websocket {}",
            s.name
        );
        if single_frame {
            for kernel in [kernel_ours, kernel_best, kernel_avx2] {
                assert_eq!(floor(wire, &plan, &mut floor_buf, kernel), s.expected);
            }
        }
        if text_floor {
            assert_eq!(
                floor(&plain, &plan, &mut floor_buf, kernel_none),
                s.expected
            );
        }

        let mut group = c.benchmark_group(s.name);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_function("wsproto", |b| {
            b.iter(|| black_box(wsproto_receive(black_box(wire))))
        });
        group.bench_function("tungstenite", |b| {
            b.iter(|| black_box(tungstenite_receive(black_box(wire), count)))
        });
        group.bench_function("fastwebsockets", |b| {
            b.iter(|| black_box(fastwebsockets_receive(&rt, black_box(wire), count)))
        });
        group.bench_function("tokio_websockets", |b| {
            b.iter(|| black_box(tokio_websockets_receive(&rt, black_box(wire), count)))
        });
        group.bench_function("nexus_web", |b| {
            b.iter(|| black_box(nexus_receive(black_box(wire), count)))
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
        if single_frame {
            group.bench_function("floor_ours", |b| {
                b.iter(|| black_box(floor(black_box(wire), &plan, &mut floor_buf, kernel_ours)))
            });
            group.bench_function("floor_best", |b| {
                b.iter(|| black_box(floor(black_box(wire), &plan, &mut floor_buf, kernel_best)))
            });
            group.bench_function("floor_avx2", |b| {
                b.iter(|| black_box(floor(black_box(wire), &plan, &mut floor_buf, kernel_avx2)))
            });
        }
        if text_floor {
            group.bench_function("floor_unmask_free", |b| {
                b.iter(|| black_box(floor(black_box(&plain), &plan, &mut floor_buf, kernel_none)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, receive);
criterion_main!(benches);
