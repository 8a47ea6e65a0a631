//! Runs one implementation on one receive scenario in a loop, for `perf record`:
//! `cargo run --release --bin profile -- R1 wsproto 200`.

use std::time::Instant;

use wsproto_peers::{
    SocketBuf, embedded_keep, embedded_receive, fastwebsockets_receive, named, ref_copy, ref_copy_unmask, runtime,
    tungstenite_receive, wsproto_receive,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("R1", String::as_str);
    let imp = args.get(2).map_or("wsproto", String::as_str);
    let rounds: usize = args.get(3).map_or(100, |s| s.parse().expect("rounds"));
    let s = named(which);
    let rt = runtime();
    let mut buf = SocketBuf::new();
    let mut message = vec![0u8; 1 << 21];
    let fragmented = s.name.starts_with("R6");
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let sum = match imp {
            "wsproto" => wsproto_receive(&s.wire, &mut buf),
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
            "fastwebsockets" => fastwebsockets_receive(&rt, &s.wire, s.count, fragmented),
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
