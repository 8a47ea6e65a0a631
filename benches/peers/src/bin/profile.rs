//! Runs one implementation on one receive scenario in a loop, for `perf record`:
//! `cargo run --release --bin profile -- R1 wsproto 200`.

use std::time::Instant;

use wsproto_peers::{
    READ_BUF, embedded_keep, embedded_receive, fastwebsockets_receive, runtime, scenarios,
    tungstenite_receive, wsproto_receive,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("R1", String::as_str);
    let imp = args.get(2).map_or("wsproto", String::as_str);
    let rounds: usize = args.get(3).map_or(100, |s| s.parse().expect("rounds"));
    let s = scenarios()
        .into_iter()
        .find(|s| s.name.starts_with(which))
        .expect("scenario R1 … R6");
    let rt = runtime();
    let mut buf = vec![0u8; READ_BUF];
    let mut message = vec![0u8; 1 << 21];
    let fragmented = s.name.starts_with("R6");
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let sum = match imp {
            "wsproto" => wsproto_receive(&s.wire, &mut buf),
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
    println!(
        "{} {imp}: median {:?} per run, {:.1} ns per message",
        s.name,
        median,
        median.as_nanos() as f64 / s.count as f64
    );
}
