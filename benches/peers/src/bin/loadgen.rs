//! A closed-loop load generator: `connections` clients (one thread each, tungstenite, the same
//! for every server) each send a binary message of `size` bytes, wait for its echo, and repeat,
//! for `seconds` or `max` messages per connection, whichever comes first. Prints messages/s and
//! the p50/p99 round-trip latency over all messages.
//! `cargo run --release --bin loadgen -- ws://127.0.0.1:9001/ 100 16 10 1000000`

use std::time::{Duration, Instant};

use tungstenite::Message;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    let connections: usize = args.get(2).map_or(100, |s| s.parse().expect("connections"));
    let size: usize = args.get(3).map_or(16, |s| s.parse().expect("size"));
    let seconds: u64 = args.get(4).map_or(10, |s| s.parse().expect("seconds"));
    let max: usize = args.get(5).map_or(1_000_000, |s| s.parse().expect("max"));

    let barrier = std::sync::Arc::new(std::sync::Barrier::new(connections + 1));
    let threads: Vec<_> = (0..connections)
        .map(|i| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let (mut ws, _) = tungstenite::connect(url.as_str()).expect("connect");
                if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
                    s.set_nodelay(true).expect("nodelay");
                }
                let payload = tungstenite::Bytes::from(vec![i as u8; size]);
                let mut rtts = Vec::with_capacity(max.min(1 << 20));
                barrier.wait();
                let end = Instant::now() + Duration::from_secs(seconds);
                while rtts.len() < max && Instant::now() < end {
                    let t = Instant::now();
                    ws.send(Message::Binary(payload.clone())).expect("send");
                    loop {
                        match ws.read().expect("read") {
                            Message::Binary(b) => {
                                assert_eq!(b.len(), size);
                                break;
                            }
                            _ => continue,
                        }
                    }
                    rtts.push(t.elapsed().as_micros() as u32);
                }
                let _ = ws.close(None);
                let _ = ws.flush();
                rtts
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut all: Vec<u32> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("client thread"))
        .collect();
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{url} {connections} conns {size} B: {} messages in {elapsed:.1} s = {:.0} msg/s, RTT p50 {} µs, p99 {} µs",
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
}
