//! Runs one implementation on one receive scenario in a loop, for `perf record` or callgrind:
//! `cargo run --release --bin profile -- R1 wsproto 200`. Implementations: wsproto (session),
//! wsproto_chunks (the connection alone, no messages built), decoder, tungstenite,
//! fastwebsockets, tokio_websockets, nexus_web, embedded, ref_copy, ref_copy_unmask, floor_ours,
//! floor_best, floor_avx2, floor_unmask_free (copy and validation of payloads unmasked
//! beforehand), floor_unmask_free_aligned (the same in reads of whole frames, up to 16 KiB;
//! the floor is only meaningful on single-frame scenarios).

use std::time::Instant;

use wsproto_peers::{
    FloorPlan, SocketBuf, embedded_keep, embedded_receive, fastwebsockets_receive, floor,
    kernel_avx2, kernel_best, kernel_none, kernel_ours, named, nexus_receive, ref_copy,
    ref_copy_unmask, runtime, tokio_websockets_receive, tungstenite_receive, unmasked_wire,
    wsproto_chunks_receive, wsproto_receive,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("R1", String::as_str);
    let imp = args.get(2).map_or("wsproto", String::as_str);
    let rounds: usize = args.get(3).map_or(100, |s| s.parse().expect("rounds"));
    if which == "W1" {
        return send(imp, rounds);
    }
    let s = named(which);
    let rt = runtime();
    let mut buf = SocketBuf::new();
    let mut message = vec![0u8; 1 << 21];
    let fragmented = s.name.starts_with("R6");
    let plan = FloorPlan::new(&s.wire);
    let plain = unmasked_wire(&s.wire, &plan);
    let aligned = plan.frame_aligned(16 * 1024);
    let mut floor_buf = Vec::new();
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let sum = match imp {
            "wsproto" => wsproto_receive(&s.wire),
            "wsproto_chunks" => wsproto_chunks_receive(&s.wire, &mut buf),
            "floor_ours" => floor(&s.wire, &plan, &mut floor_buf, kernel_ours),
            "floor_best" => floor(&s.wire, &plan, &mut floor_buf, kernel_best),
            "floor_avx2" => floor(&s.wire, &plan, &mut floor_buf, kernel_avx2),
            "floor_unmask_free" => floor(&plain, &plan, &mut floor_buf, kernel_none),
            "floor_unmask_free_aligned" => floor(&plain, &aligned, &mut floor_buf, kernel_none),
            "tokio_websockets" => tokio_websockets_receive(&rt, &s.wire, s.count),
            "nexus_web" => nexus_receive(&s.wire, s.count),
            "decoder" => decoder_receive(&s.wire, &mut buf),
            "ref_copy" => {
                ref_copy(&s.wire, &mut buf);
                s.expected
            }
            "ref_copy_unmask" => {
                ref_copy_unmask(&s.wire, &mut buf);
                s.expected
            }
            "tungstenite" => tungstenite_receive(&s.wire, s.count),
            "fastwebsockets" => fastwebsockets_receive(&rt, &s.wire, s.count),
            "embedded" => embedded_receive(
                &s.wire,
                &mut buf,
                &mut message,
                s.text,
                embedded_keep(fragmented, s.size / 16),
            ),
            other => panic!("unknown implementation {other}"),
        };
        times.push(start.elapsed());
        assert_eq!(sum, s.expected);
    }
    times.sort();
    let median = times[times.len() / 2];
    let per = |t: std::time::Duration| t.as_nanos() as f64 / s.count as f64;
    println!(
        "{} {imp}: median {:.1} ns, min {:.1} ns per message",
        s.name,
        per(median),
        per(times[0])
    );
}

/// The frame decoder alone in the same read loop (binary scenarios), to split the connection's
/// cost from the decoder's.
fn decoder_receive(wire: &[u8], sb: &mut SocketBuf) -> wsproto_peers::Sum {
    use wsproto::decoder::{DecoderConfig, FrameDecoder};
    let mut d = FrameDecoder::new(DecoderConfig::new(wsproto::Role::Server));
    let mut reader = wire;
    let mut sum = wsproto_peers::Sum::default();
    sb.start = sb.end;
    while sb.fill(&mut reader) {
        let mut pos = sb.start;
        loop {
            let r = d.decode_retaining(&mut sb.buf[pos..sb.end]).unwrap();
            pos += r.consumed;
            let Some(chunk) = r.chunk else { break };
            if chunk.is_frame_end() {
                sum.messages += 1;
                sum.bytes += chunk.header.payload_len;
                sum.tail += u64::from(chunk.payload.last().copied().unwrap_or(0));
            }
        }
        sb.start = pos;
    }
    sum
}

/// W1, wsproto only: `send` of 100 000 binary messages of 16 B (or 1 000 of 64 KiB with
/// `W1 big`) as a client, keys from `rand`'s thread-local generator.
fn send(size: &str, rounds: usize) {
    use rand::RngCore;
    let (size, count) = if size == "big" {
        (64 * 1024, 1_000)
    } else {
        (16, 100_000)
    };
    let data = wsproto_peers::binary(size, 1);
    let mut out = vec![0u8; size + 14 + 512];
    let mut times = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let mut rng = rand::thread_rng();
        let entropy = move |key: &mut [u8]| rng.fill_bytes(key);
        let mut ws = wsproto::connection::Connection::open(
            wsproto::config::Config::default(),
            wsproto::Role::Client,
            entropy,
            wsproto::time::Instant::from_millis(0),
        )
        .unwrap();
        for _ in 0..count {
            let n = ws
                .send(
                    wsproto::connection::DataKind::Binary,
                    std::hint::black_box(&data),
                    true,
                    &mut out,
                )
                .unwrap();
            std::hint::black_box(&out[..n]);
        }
        times.push(start.elapsed());
    }
    times.sort();
    let per = |t: std::time::Duration| t.as_nanos() as f64 / count as f64;
    println!(
        "W1 {size} B: median {:.1} ns, min {:.1} ns per message",
        per(times[times.len() / 2]),
        per(times[0])
    );
}
