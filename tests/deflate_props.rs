//! permessage-deflate round trips: any message sequence, sent by a compressing end under any
//! fragmentation, arrives whole at the other end under any read chunking and scratch size, with
//! context takeover on or off and every window size 8–15, in both directions.
#![cfg(feature = "deflate")]

use proptest::prelude::*;
use wsproto::Role;
use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Event, PerMessageDeflate};
use wsproto::deflate::{DeflateConfig, DeflateParams};
use wsproto::entropy::Entropy;
use wsproto::time::Instant;

const NOW: Instant = Instant::from_millis(0);

#[derive(Clone, Debug)]
struct TestRng(u64);

impl Entropy for TestRng {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *b = (self.0 >> 56) as u8;
        }
    }
}

#[derive(Clone, Debug)]
struct Case {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    threshold: usize,
    level: u8,
    /// (kind, payload, fragment sizes)
    messages: Vec<(DataKind, Vec<u8>, Vec<usize>)>,
    read_chunks: Vec<usize>,
    scratch: usize,
    client_sends: bool,
}

fn payload() -> impl Strategy<Value = (DataKind, Vec<u8>)> {
    prop_oneof![
        // Compressible text: words from a small vocabulary, some multi-byte.
        prop::collection::vec(
            prop::sample::select(vec!["hello ", "wörld ", "deflate ", "€ ", "a", "\n"]),
            0..400
        )
        .prop_map(|w| (DataKind::Text, w.concat().into_bytes())),
        // Runs.
        (any::<u8>(), 0usize..3000).prop_map(|(b, n)| (DataKind::Binary, vec![b; n])),
        // Noise.
        prop::collection::vec(any::<u8>(), 0..600).prop_map(|b| (DataKind::Binary, b)),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            any::<bool>(),
            any::<bool>(),
            8u8..=15,
            8u8..=15,
            0usize..64,
            1u8..=9,
        ),
        prop::collection::vec((payload(), prop::collection::vec(1usize..500, 0..4)), 1..8),
        prop::collection::vec(1usize..300, 1..10),
        1usize..100,
        any::<bool>(),
    )
        .prop_map(
            |(
                (snct, cnct, sbits, cbits, threshold, level),
                messages,
                read_chunks,
                scratch,
                client_sends,
            )| Case {
                server_no_context_takeover: snct,
                client_no_context_takeover: cnct,
                server_max_window_bits: sbits,
                client_max_window_bits: cbits,
                threshold,
                level,
                messages: messages
                    .into_iter()
                    .map(|((kind, data), frags)| (kind, data, frags))
                    .collect(),
                read_chunks,
                scratch,
                client_sends,
            },
        )
}

fn fragments(data: &[u8], sizes: &[usize]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    for &size in sizes {
        if at >= data.len() {
            break;
        }
        let end = (at + size).min(data.len());
        out.push((at, end));
        at = end;
    }
    out.push((at, data.len()));
    out
}

fn run<S: Entropy, R: Entropy>(
    case: &Case,
    mut sender: Connection<S, PerMessageDeflate>,
    mut receiver: Connection<R, PerMessageDeflate>,
) {
    let config = DeflateConfig {
        compress_threshold: case.threshold,
        level: case.level,
        ..DeflateConfig::DEFAULT
    };
    let params = DeflateParams::new(
        &config,
        case.server_no_context_takeover,
        case.client_no_context_takeover,
        case.server_max_window_bits,
        case.client_max_window_bits,
    );
    sender.enable_deflate(params).unwrap();
    receiver.enable_deflate(params).unwrap();

    let mut wire = Vec::new();
    let mut out = vec![0u8; 8192];
    for (i, (kind, data, frags)) in case.messages.iter().enumerate() {
        let parts = fragments(data, frags);
        for (j, &(a, b)) in parts.iter().enumerate() {
            let fin = j + 1 == parts.len();
            let n = sender.send(*kind, &data[a..b], fin, &mut out).unwrap();
            wire.extend_from_slice(&out[..n]);
            if i % 3 == 1 && j == 0 && !fin {
                let n = sender.ping(b"p", &mut out).unwrap();
                wire.extend_from_slice(&out[..n]);
            }
        }
    }

    let mut received: Vec<(DataKind, Vec<u8>)> = Vec::new();
    let mut current = Vec::new();
    let mut input: Vec<u8> = Vec::new();
    let mut scratch = vec![0u8; case.scratch];
    let mut fed = 0;
    let mut chunks = case.read_chunks.iter().cycle();
    while fed < wire.len() || !input.is_empty() {
        let take = (*chunks.next().unwrap()).min(wire.len() - fed);
        input.extend_from_slice(&wire[fed..fed + take]);
        fed += take;
        let mut pos = 0;
        loop {
            let r = receiver.receive_into(&mut input[pos..], &mut scratch, NOW);
            pos += r.consumed;
            match r.event {
                None => break,
                Some(Event::Data {
                    kind,
                    chunk,
                    message_fin,
                    ..
                }) => {
                    current.extend_from_slice(chunk);
                    if message_fin {
                        received.push((kind, std::mem::take(&mut current)));
                    }
                }
                Some(Event::Closed(info)) => panic!("closed: {info:?}"),
                Some(_) => {}
            }
        }
        input.drain(..pos);
        if fed == wire.len() && take == 0 {
            assert!(input.is_empty(), "stuck with {} bytes", input.len());
        }
    }
    let expected: Vec<(DataKind, Vec<u8>)> = case
        .messages
        .iter()
        .map(|(k, d, _)| (*k, d.clone()))
        .collect();
    assert_eq!(received, expected);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(case in case()) {
        let client = Connection::open(Config::default(), Role::Client, TestRng(7), NOW).unwrap().allow_deflate();
        let server = Connection::open(Config::default(), Role::Server, TestRng(9), NOW).unwrap().allow_deflate();
        if case.client_sends {
            run(&case, client, server);
        } else {
            run(&case, server, client);
        }
    }
}
