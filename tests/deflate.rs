//! permessage-deflate (RFC 7692): the §7.2.3 examples byte for byte, the RSV1 rules, negotiation
//! tables, and the connection's handshake integration.
#![cfg(feature = "deflate")]

use wsproto::Role;
use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{
    Connection, DataKind, Error, Event, PerMessageDeflate, ProtocolError, Receiving, Transmit,
};
use wsproto::deflate::{DeflateConfig, DeflateError, DeflateParams, NegotiationError};
use wsproto::entropy::{Entropy, NoEntropy};
use wsproto::frame::{FrameError, Rsv};
use wsproto::handshake::{AcceptOptions, ClientRequest, ExtensionOffer};
use wsproto::time::Instant;

const NOW: Instant = Instant::from_millis(0);

fn params(config: &DeflateConfig, no_context_takeover: bool) -> DeflateParams {
    DeflateParams::new(config, no_context_takeover, no_context_takeover, 15, 15)
}

fn eager() -> DeflateConfig {
    DeflateConfig {
        compress_threshold: 0,
        ..DeflateConfig::DEFAULT
    }
}

fn zero_entropy() -> impl Entropy + Clone {
    |buf: &mut [u8]| buf.fill(0)
}

/// An OPEN client with deflate on, to read the RFC's unmasked server frames.
fn client(no_context_takeover: bool) -> Connection<impl Entropy + Clone, PerMessageDeflate> {
    let mut ws = Connection::open(Config::default(), Role::Client, zero_entropy(), NOW)
        .unwrap()
        .allow_deflate();
    ws.enable_deflate(params(&eager(), no_context_takeover))
        .unwrap();
    ws
}

/// An OPEN server with deflate on, whose frames are unmasked like the RFC's.
fn server(no_context_takeover: bool) -> Connection<NoEntropy, PerMessageDeflate> {
    let mut ws = Connection::open(
        Config::default(),
        Role::Server,
        wsproto::entropy::NoEntropy,
        NOW,
    )
    .unwrap()
    .allow_deflate();
    ws.enable_deflate(params(&eager(), no_context_takeover))
        .unwrap();
    ws
}

/// What a receive loop saw: whole messages, and the failure if any.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    messages: Vec<(DataKind, Vec<u8>)>,
    closed: Option<wsproto::connection::CloseInfo>,
    pings: usize,
}

fn receive_all<E: Entropy, X: Receiving>(
    ws: &mut Connection<E, X>,
    wire: &[u8],
    scratch_len: usize,
) -> Seen {
    let mut input = wire.to_vec();
    let mut scratch = vec![0u8; scratch_len];
    let mut seen = Seen::default();
    let mut current = Vec::new();
    let mut pos = 0;
    for _ in 0..1_000_000 {
        let r = ws.receive_into(&mut input[pos..], &mut scratch, NOW);
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
                    seen.messages.push((kind, std::mem::take(&mut current)));
                }
            }
            Some(Event::Ping(_)) => seen.pings += 1,
            Some(Event::Closed(info)) => {
                seen.closed = Some(info);
                break;
            }
            Some(_) => {}
        }
    }
    seen
}

fn hello() -> Vec<(DataKind, Vec<u8>)> {
    vec![(DataKind::Text, b"Hello".to_vec())]
}

// ---- RFC 7692 §7.2.3 ------------------------------------------------------------------------

/// §7.2.3.1: "Hello" in one compressed block; the frame has FIN, RSV1 and opcode 1.
const HELLO: [u8; 9] = [
    0xc1, 0x07, // FIN | RSV1 | text, length 7
    0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, // DEFLATE "Hello", tail removed
];

#[test]
fn rfc_7_2_3_1_one_compressed_block() {
    for scratch in [1, 2, 5, 4096] {
        assert_eq!(
            receive_all(&mut client(false), &HELLO, scratch).messages,
            hello()
        );
    }
}

#[test]
fn rfc_7_2_3_1_fragmented() {
    // "Hel" + "lo" split in the compressed bytes: RSV1 on the first frame only.
    let wire = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, // RSV1 | text, not FIN
        0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00, // FIN | continuation, RSV1 clear
    ];
    for scratch in [1, 3, 64] {
        assert_eq!(
            receive_all(&mut client(false), &wire, scratch).messages,
            hello()
        );
    }
}

#[test]
fn rfc_7_2_3_2_sharing_the_window() {
    // The second "Hello" refers back to the first: a match of length 5 at distance 5.
    let mut wire = HELLO.to_vec();
    wire.extend_from_slice(&[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]);
    let seen = receive_all(&mut client(false), &wire, 16);
    assert_eq!(seen.messages, [hello(), hello()].concat());
}

#[test]
fn rfc_7_2_3_3_uncompressed_block() {
    let wire = [
        0xc1, 0x0b, // FIN | RSV1 | text, length 11
        0x00, 0x05, 0x00, 0xfa, 0xff, // stored block, LEN 5, NLEN
        0x48, 0x65, 0x6c, 0x6c, 0x6f, // "Hello"
        0x00, // an empty stored block's header; its LEN and NLEN are the removed tail
    ];
    assert_eq!(receive_all(&mut client(false), &wire, 3).messages, hello());
}

#[test]
fn rfc_7_2_3_4_bfinal() {
    // A final block, then a byte of padding; what follows BFINAL is ignored.
    let wire = [0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    let mut ws = client(false);
    let seen = receive_all(&mut ws, &wire, 2);
    assert_eq!(seen.messages, hello());
    // The next message starts a new stream.
    assert_eq!(receive_all(&mut ws, &HELLO, 2).messages, hello());
}

#[test]
fn rfc_7_2_3_5_two_blocks() {
    let wire = [
        0xc1, 0x0d, // FIN | RSV1 | text, length 13
        0xf2, 0x48, 0x05, 0x00, // "He", then a sync flush ...
        0x00, 0x00, 0xff, 0xff, // ... whose empty stored block ends here
        0xca, 0xc9, 0xc9, 0x07, 0x00, // "llo"
    ];
    assert_eq!(receive_all(&mut client(false), &wire, 1).messages, hello());
}

#[test]
fn rfc_7_2_3_6_empty_fragment_and_empty_message() {
    // An empty compressed message: just the empty stored block's first byte.
    let wire = [0xc1, 0x01, 0x00];
    assert_eq!(
        receive_all(&mut client(false), &wire, 8).messages,
        vec![(DataKind::Text, vec![])]
    );
    // An empty middle fragment.
    let wire = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0x00, 0x00, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
    ];
    assert_eq!(receive_all(&mut client(false), &wire, 8).messages, hello());
}

#[test]
fn sending_hello_goes_plain_because_it_does_not_shrink() {
    // §7.2.3.1's compressed "Hello" is 7 bytes, the plain one 5: a whole message that does not
    // shrink is sent uncompressed (RSV1 clear), so it never needs more room than that. (The
    // compressor's own output for "Hello" is checked byte for byte in `deflate::codec`'s tests.)
    let mut out = [0u8; 64];
    let mut ws = server(false);
    let n = ws.send(DataKind::Text, b"Hello", true, &mut out).unwrap();
    assert_eq!(out[..n], *b"\x81\x05Hello");
}

#[test]
fn sent_messages_round_trip_through_a_client_and_server() {
    let mut c = client(false);
    let mut s = server(false);
    let text = "permessage-deflate ".repeat(100);
    let mut out = vec![0u8; 8192];
    let n = c
        .send(DataKind::Text, text.as_bytes(), true, &mut out)
        .unwrap();
    assert!(n < text.len() / 4, "compressed to {n}");
    assert_eq!(out[0] & 0x40, 0x40, "RSV1");
    assert_eq!(out[1] & 0x80, 0x80, "masked");
    let seen = receive_all(&mut s, &out[..n], 7);
    assert_eq!(
        seen.messages,
        vec![(DataKind::Text, text.clone().into_bytes())]
    );
    // Fragmented: RSV1 on the first frame only.
    let mut wire = Vec::new();
    for (i, part) in text.as_bytes().chunks(300).enumerate() {
        let fin = (i + 1) * 300 >= text.len();
        let n = c.send(DataKind::Text, part, fin, &mut out).unwrap();
        assert_eq!(out[0] & 0x40 != 0, i == 0, "RSV1 on frame {i}");
        wire.extend_from_slice(&out[..n]);
    }
    let seen = receive_all(&mut s, &wire, 100);
    assert_eq!(seen.messages, vec![(DataKind::Text, text.into_bytes())]);
}

#[test]
fn incompressible_data_goes_plain_and_buffer_needs_stay_exact() {
    let mut s = server(false);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<u8> = (0..1000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    // The uncompressed frame's size is always enough for a whole message.
    let needed = 4 + data.len();
    let mut out = vec![0u8; needed];
    assert_eq!(
        s.send(DataKind::Binary, &data, true, &mut out[..needed - 1]),
        Err(Error::BufferTooSmall { needed })
    );
    let n = s.send(DataKind::Binary, &data, true, &mut out).unwrap();
    assert_eq!(n, needed);
    assert_eq!(out[0], 0x82, "sent uncompressed: RSV1 clear");
    let mut c = client(false);
    assert_eq!(
        receive_all(&mut c, &out[..n], 64).messages,
        vec![(DataKind::Binary, data.clone())]
    );
    // A fragment of a compressed message falls back to stored blocks: data + 5 (+ 1 at the end).
    let n1 = s
        .send(DataKind::Binary, &[7u8; 100], false, &mut out)
        .unwrap();
    let needed = 4 + data.len() + 5 + 1;
    assert_eq!(
        s.send(DataKind::Binary, &data, true, &mut vec![0u8; needed - 1]),
        Err(Error::BufferTooSmall { needed })
    );
    let mut wire = out[..n1].to_vec();
    let mut out2 = vec![0u8; needed];
    let n2 = s.send(DataKind::Binary, &data, true, &mut out2).unwrap();
    wire.extend_from_slice(&out2[..n2]);
    let mut expected = vec![7u8; 100];
    expected.extend_from_slice(&data);
    assert_eq!(
        receive_all(&mut c, &wire, 64).messages,
        vec![(DataKind::Binary, expected)]
    );
}

#[test]
fn small_messages_under_the_threshold_go_plain() {
    let mut ws = Connection::open(
        Config::default(),
        Role::Server,
        wsproto::entropy::NoEntropy,
        NOW,
    )
    .unwrap()
    .allow_deflate();
    ws.enable_deflate(params(&DeflateConfig::DEFAULT, false))
        .unwrap();
    let mut out = [0u8; 64];
    let n = ws.send(DataKind::Text, b"Hello", true, &mut out).unwrap();
    assert_eq!(out[..n], *b"\x81\x05Hello");
}

#[test]
fn the_threshold_is_the_smallest_compressed_size() {
    let config = DeflateConfig {
        compress_threshold: 100,
        ..DeflateConfig::DEFAULT
    };
    let mut ws = Connection::open(
        Config::default(),
        Role::Server,
        wsproto::entropy::NoEntropy,
        NOW,
    )
    .unwrap()
    .allow_deflate();
    ws.enable_deflate(params(&config, false)).unwrap();
    let mut out = [0u8; 256];
    // 99 bytes: under the threshold, plain (RSV1 clear, the bytes as they are).
    let n = ws
        .send(DataKind::Text, &[b'a'; 99], true, &mut out)
        .unwrap();
    assert_eq!(out[..2], [0x81, 99]);
    assert_eq!(n, 2 + 99);
    // 100 bytes: compressed (RSV1, RFC 7692 §6), and much smaller.
    let n = ws
        .send(DataKind::Text, &[b'a'; 100], true, &mut out)
        .unwrap();
    assert_eq!(out[0], 0xc1);
    assert!(n < 20, "{n}");
    // A fragmented message is decided by its first fragment: 10 bytes, then 200, go plain.
    let n = ws
        .send(DataKind::Text, &[b'a'; 10], false, &mut out)
        .unwrap();
    assert_eq!((out[0], n), (0x01, 12));
    let n = ws
        .send(DataKind::Text, &[b'a'; 200], true, &mut out)
        .unwrap();
    assert_eq!(out[..2], [0x80, 126]);
    assert_eq!(n, 4 + 200);
}

#[test]
fn begin_frame_cannot_continue_a_compressed_message() {
    let mut ws = server(false);
    let mut out = [0u8; 256];
    ws.send(DataKind::Text, &[b'a'; 50], false, &mut out)
        .unwrap();
    assert_eq!(
        ws.begin_frame(DataKind::Text, 3, true, &mut out),
        Err(Error::CompressedMessage)
    );
}

// ---- RSV1 rules and failures ------------------------------------------------------------------

fn failed_with<E: Entropy, X: Receiving>(
    ws: &mut Connection<E, X>,
    wire: &[u8],
    scratch: usize,
) -> (CloseCode, ProtocolError) {
    let info = receive_all(ws, wire, scratch)
        .closed
        .expect("the connection failed");
    (info.code, info.error.expect("with an error"))
}

#[test]
fn rsv1_on_control_or_continuation_frames_is_a_protocol_error() {
    // A ping with RSV1: control frames are never compressed.
    let (code, err) = failed_with(&mut client(false), &[0xc9, 0x00], 8);
    assert_eq!(code, CloseCode::PROTOCOL_ERROR);
    assert_eq!(
        err,
        ProtocolError::Frame(FrameError::ReservedBits(Rsv::RSV1))
    );
    // RSV1 on a continuation frame.
    let wire = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0xc0, 0x04, 0xc9, 0xc9, 0x07, 0x00,
    ];
    let (code, _) = failed_with(&mut client(false), &wire, 8);
    assert_eq!(code, CloseCode::PROTOCOL_ERROR);
    // RSV2 stays reserved.
    let (code, _) = failed_with(&mut client(false), &[0xa1, 0x00], 8);
    assert_eq!(code, CloseCode::PROTOCOL_ERROR);
    // Without deflate, RSV1 is reserved too.
    let mut plain = Connection::open(Config::default(), Role::Client, zero_entropy(), NOW).unwrap();
    let (code, _) = failed_with(&mut plain, &HELLO, 8);
    assert_eq!(code, CloseCode::PROTOCOL_ERROR);
}

#[test]
fn invalid_deflate_data_is_1007() {
    // BTYPE = 11 is reserved.
    let (code, err) = failed_with(&mut client(false), &[0xc1, 0x01, 0xff], 8);
    assert_eq!(code, CloseCode::INVALID_PAYLOAD);
    assert_eq!(err, ProtocolError::Deflate(DeflateError::InvalidData));
}

#[test]
fn inflated_text_must_be_utf8() {
    let mut s = server(false);
    let mut out = [0u8; 64];
    // Binary "\xff\xfe" compressed, then relabelled as text.
    let n = s
        .send(
            DataKind::Binary,
            b"\xff\xfe\xff\xfe\xff\xfe",
            true,
            &mut out,
        )
        .unwrap();
    let mut wire = out[..n].to_vec();
    wire[0] = (wire[0] & 0xf0) | 0x01;
    let (code, err) = failed_with(&mut client(false), &wire, 8);
    assert_eq!(code, CloseCode::INVALID_PAYLOAD);
    assert!(matches!(err, ProtocolError::InvalidUtf8(_)));
}

#[test]
fn an_empty_scratch_fails_cleanly_on_a_compressed_message() {
    // (`receive`, which has no scratch to give, does not exist on a connection that may
    // inflate: see `PerMessageDeflate`.)
    let mut ws = client(false);
    let mut input = HELLO;
    let r = ws.receive_into(&mut input, &mut [], NOW);
    let Some(Event::Closed(info)) = r.event else {
        panic!("{:?}", r.event)
    };
    assert_eq!(info.code, CloseCode::INTERNAL_ERROR);
    assert_eq!(
        info.error,
        Some(ProtocolError::Deflate(DeflateError::NoScratch))
    );
    // Uncompressed messages need no scratch.
    let mut ws = client(false);
    let mut input = *b"\x81\x02hi";
    let r = ws.receive_into(&mut input, &mut [], NOW);
    assert!(matches!(r.event, Some(Event::Data { chunk: b"hi", .. })));
}

#[test]
fn decompressed_size_is_limited() {
    let config = Config {
        max_frame_payload: 1000,
        max_message_size: 1000,
        ..Config::DEFAULT
    };
    let mut s = server(false);
    let mut out = vec![0u8; 4096];
    let n = s
        .send(DataKind::Binary, &[0u8; 1001], true, &mut out)
        .unwrap();
    assert!(n < 50);
    let mut c = Connection::open(config, Role::Client, zero_entropy(), NOW)
        .unwrap()
        .allow_deflate();
    c.enable_deflate(params(&eager(), false)).unwrap();
    let (code, err) = failed_with(&mut c, &out[..n], 64);
    assert_eq!(code, CloseCode::MESSAGE_TOO_BIG);
    assert_eq!(
        err,
        ProtocolError::MessageTooBig {
            size: 1001,
            max: 1000
        }
    );
    // Exactly at the limit passes.
    let n = s
        .send(DataKind::Binary, &[0u8; 1000], true, &mut out)
        .unwrap();
    let mut c = Connection::open(config, Role::Client, zero_entropy(), NOW)
        .unwrap()
        .allow_deflate();
    c.enable_deflate(params(&eager(), false)).unwrap();
    assert_eq!(receive_all(&mut c, &out[..n], 64).messages.len(), 1);
}

#[test]
fn control_frames_between_fragments_of_a_compressed_message() {
    let wire = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, // first fragment
        0x89, 0x00, // ping
        0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00, // last fragment
    ];
    let seen = receive_all(&mut client(false), &wire, 2);
    assert_eq!(seen.messages, hello());
    assert_eq!(seen.pings, 1);
}

// ---- negotiation ------------------------------------------------------------------------------

fn offers(header: &str) -> Vec<ExtensionOffer<'_>> {
    header
        .split(',')
        .map(|e| ExtensionOffer::parse(e).unwrap())
        .collect()
}

#[test]
fn server_negotiation_table() {
    let config = DeflateConfig::DEFAULT;
    // (client's offers, the server's response or None for declining all)
    let table: &[(&str, Option<&str>)] = &[
        ("permessage-deflate", Some("permessage-deflate")),
        (
            "permessage-deflate; client_max_window_bits",
            Some("permessage-deflate"),
        ),
        (
            "permessage-deflate; client_max_window_bits=10",
            Some("permessage-deflate; client_max_window_bits=10"),
        ),
        (
            "permessage-deflate; client_max_window_bits=\"9\"",
            Some("permessage-deflate; client_max_window_bits=9"),
        ),
        (
            "permessage-deflate; server_max_window_bits=8",
            Some("permessage-deflate; server_max_window_bits=8"),
        ),
        (
            "permessage-deflate; server_max_window_bits=15",
            Some("permessage-deflate; server_max_window_bits=15"),
        ),
        (
            "permessage-deflate; server_no_context_takeover",
            Some("permessage-deflate; server_no_context_takeover"),
        ),
        (
            "permessage-deflate; client_no_context_takeover",
            Some("permessage-deflate; client_no_context_takeover"),
        ),
        (
            "permessage-deflate;server_no_context_takeover;client_no_context_takeover;server_max_window_bits=12;client_max_window_bits=11",
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=11",
            ),
        ),
        // Declined: unknown parameters, duplicates, values where none belong, bad numbers.
        ("permessage-deflate; foo", None),
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            None,
        ),
        (
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
            None,
        ),
        (
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
            None,
        ),
        ("permessage-deflate; server_no_context_takeover=1", None),
        ("permessage-deflate; client_no_context_takeover=true", None),
        ("permessage-deflate; server_max_window_bits", None),
        ("permessage-deflate; server_max_window_bits=7", None),
        ("permessage-deflate; server_max_window_bits=16", None),
        ("permessage-deflate; client_max_window_bits=08", None),
        ("permessage-deflate; client_max_window_bits=x", None),
        (
            "permessage-deflate; client_max_window_bits=\"1\\0\"",
            Some("permessage-deflate; client_max_window_bits=10"),
        ),
        ("x-webkit-deflate-frame", None),
        // Several offers: the first acceptable one wins.
        (
            "permessage-deflate; foo, permessage-deflate; client_max_window_bits=12, permessage-deflate",
            Some("permessage-deflate; client_max_window_bits=12"),
        ),
        (
            "x-other, permessage-deflate; server_max_window_bits=9",
            Some("permessage-deflate; server_max_window_bits=9"),
        ),
    ];
    for (offer, expected) in table {
        let got = config.negotiate(offers(offer));
        assert_eq!(
            got.map(|p| p.response().to_string()).as_deref(),
            *expected,
            "{offer}"
        );
    }
}

#[test]
fn server_config_shapes_the_response() {
    let config = DeflateConfig {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 10,
        client_max_window_bits: 9,
        ..DeflateConfig::DEFAULT
    };
    let p = config
        .negotiate(offers("permessage-deflate; client_max_window_bits"))
        .unwrap();
    assert_eq!(
        &*p.response(),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9"
    );
    assert_eq!(
        (
            p.agreed.server_max_window_bits,
            p.agreed.client_max_window_bits
        ),
        (10, 9)
    );
    // Without client_max_window_bits in the offer, the response may not limit the client.
    let p = config.negotiate(offers("permessage-deflate")).unwrap();
    assert!(!p.response().contains("client_max_window_bits"));
    assert_eq!(p.agreed.client_max_window_bits, 15);
    // Offers spread over several header lines: the request's iterator joins them.
}

#[test]
fn client_offer_strings() {
    assert_eq!(
        &*DeflateConfig::DEFAULT.offer(),
        "permessage-deflate; client_max_window_bits"
    );
    let config = DeflateConfig {
        server_no_context_takeover: true,
        server_max_window_bits: 12,
        ..DeflateConfig::DEFAULT
    };
    assert_eq!(
        &*config.offer(),
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; client_max_window_bits"
    );
}

#[test]
fn client_response_table() {
    let plain = DeflateConfig::DEFAULT;
    let strict = DeflateConfig {
        server_no_context_takeover: true,
        server_max_window_bits: 10,
        client_max_window_bits: 12,
        ..DeflateConfig::DEFAULT
    };
    type Expect = Result<Option<(bool, bool, u8, u8)>, NegotiationError>;
    let table: &[(&DeflateConfig, &str, Expect)] = &[
        (&plain, "x-other", Ok(None)),
        (
            &plain,
            "permessage-deflate",
            Ok(Some((false, false, 15, 15))),
        ),
        (
            &plain,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            Ok(Some((true, true, 15, 15))),
        ),
        (
            &plain,
            "permessage-deflate; server_max_window_bits=9",
            Ok(Some((false, false, 9, 15))),
        ),
        (
            &plain,
            "permessage-deflate; client_max_window_bits=8",
            Ok(Some((false, false, 15, 8))),
        ),
        (
            &plain,
            "permessage-deflate; client_max_window_bits",
            Err(NegotiationError::InvalidValue("client_max_window_bits")),
        ),
        (
            &plain,
            "permessage-deflate; server_max_window_bits",
            Err(NegotiationError::InvalidValue("server_max_window_bits")),
        ),
        (
            &plain,
            "permessage-deflate; foo=1",
            Err(NegotiationError::UnknownParameter),
        ),
        (
            &plain,
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            Err(NegotiationError::DuplicateParameter(
                "client_no_context_takeover",
            )),
        ),
        (
            &plain,
            "permessage-deflate; server_max_window_bits=16",
            Err(NegotiationError::InvalidValue("server_max_window_bits")),
        ),
        (
            &plain,
            "permessage-deflate, permessage-deflate",
            Err(NegotiationError::Repeated),
        ),
        (
            &strict,
            "permessage-deflate; server_max_window_bits=10",
            Err(NegotiationError::Missing("server_no_context_takeover")),
        ),
        (
            &strict,
            "permessage-deflate; server_no_context_takeover",
            Err(NegotiationError::Missing("server_max_window_bits")),
        ),
        (
            &strict,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
            Err(NegotiationError::AboveOffer("server_max_window_bits")),
        ),
        (
            &strict,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=13",
            Err(NegotiationError::AboveOffer("client_max_window_bits")),
        ),
        (
            &strict,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=11",
            Ok(Some((true, false, 9, 11))),
        ),
        (
            &strict,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10",
            Ok(Some((true, false, 10, 12))),
        ),
    ];
    for (config, response, expected) in table {
        let got = config.check_response(offers(response)).map(|p| {
            p.map(|p| {
                (
                    p.agreed.server_no_context_takeover,
                    p.agreed.client_no_context_takeover,
                    p.agreed.server_max_window_bits,
                    p.agreed.client_max_window_bits,
                )
            })
        });
        assert_eq!(&got, expected, "{response}");
    }
}

// ---- through the handshake ---------------------------------------------------------------------

fn handshake(
    client_config: &DeflateConfig,
    server_config: &DeflateConfig,
    tamper: impl Fn(String) -> String,
) -> (
    Connection<impl Entropy + Clone, PerMessageDeflate>,
    Connection<NoEntropy, PerMessageDeflate>,
    Option<DeflateParams>,
) {
    let mut c = Connection::client(Config::default(), zero_entropy(), NOW)
        .unwrap()
        .allow_deflate();
    let mut s = Connection::server(Config::default(), NOW)
        .unwrap()
        .allow_deflate();
    let mut out = [0u8; 2048];
    let offer = client_config.offer();
    let request = ClientRequest {
        extensions: &[&offer],
        ..ClientRequest::new("example.com", "/")
    };
    let n = c.connect(&request, NOW, &mut out).unwrap();
    let mut wire = out[..n].to_vec();
    let r = s.receive_into(&mut wire, &mut [], NOW);
    let Some(Event::Request(req)) = r.event else {
        panic!()
    };
    let agreed = server_config.negotiate(req.extensions());
    let response = agreed.map(|p| p.response());
    let options = AcceptOptions {
        extensions: response.as_deref(),
        ..AcceptOptions::new()
    };
    let n = s.accept(&options, &mut out).unwrap();
    if let Some(p) = agreed {
        s.enable_deflate(p).unwrap();
    }
    let mut wire = tamper(String::from_utf8(out[..n].to_vec()).unwrap()).into_bytes();
    let r = c.receive_into(&mut wire, &mut [], NOW);
    let Some(Event::Accepted(response)) = r.event else {
        panic!("{:?}", r.event)
    };
    let got = c.accept_deflate_response(client_config, &response).unwrap();
    (c, s, got)
}

#[test]
fn negotiated_through_the_handshake_then_round_trip() {
    let config = DeflateConfig {
        client_no_context_takeover: true,
        server_max_window_bits: 11,
        compress_threshold: 0,
        ..DeflateConfig::DEFAULT
    };
    let server_config = eager();
    let (mut c, mut s, got) = handshake(&config, &server_config, |r| r);
    let got = got.unwrap();
    assert_eq!(got.agreed.server_max_window_bits, 11);
    assert!(got.agreed.client_no_context_takeover);
    assert_eq!(c.deflate_params(), Some(got));
    let mut out = [0u8; 512];
    let text = "a man, a plan, a canal: panama! ".repeat(8);
    let text = text.as_str();
    let n = c
        .send(DataKind::Text, text.as_bytes(), true, &mut out)
        .unwrap();
    assert_eq!(
        receive_all(&mut s, &out[..n], 5).messages,
        vec![(DataKind::Text, text.as_bytes().to_vec())]
    );
    let n = s
        .send(DataKind::Text, text.as_bytes(), true, &mut out)
        .unwrap();
    assert!(n < text.len());
    assert_eq!(
        receive_all(&mut c, &out[..n], 5).messages,
        vec![(DataKind::Text, text.as_bytes().to_vec())]
    );
}

#[test]
fn client_fails_the_connection_on_an_invalid_response() {
    let (mut c, _, got) = handshake(&DeflateConfig::DEFAULT, &DeflateConfig::DEFAULT, |r| {
        r.replace("permessage-deflate", "permessage-deflate; bogus")
    });
    assert_eq!(got, None);
    let mut out = [0u8; 64];
    let Ok(Transmit::Bytes(n)) = c.poll_transmit(&mut out) else {
        panic!()
    };
    assert_eq!(out[0], 0x88, "a close frame");
    assert_eq!(&out[6..8], &[0x03, 0xea], "code 1002 (masked with zeros)");
    assert!(n > 2);
    let r = c.receive_into(&mut [], &mut [], NOW);
    let Some(Event::Closed(info)) = r.event else {
        panic!()
    };
    assert_eq!(
        info.error,
        Some(ProtocolError::Deflate(DeflateError::Negotiation(
            NegotiationError::UnknownParameter
        )))
    );
}

#[test]
fn server_that_declines_leaves_deflate_off() {
    let (c, _, got) = handshake(&DeflateConfig::DEFAULT, &DeflateConfig::DEFAULT, |r| {
        r.replace("Sec-WebSocket-Extensions: permessage-deflate\r\n", "")
    });
    assert_eq!(got, None);
    assert_eq!(c.deflate_params(), None);
}
