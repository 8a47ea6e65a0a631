//! Property: the streaming decoder yields the same frames and payload bytes however the input is
//! split, 1-byte feeds included.

use proptest::prelude::*;
use wsproto::Role;
use wsproto::decoder::{DecoderConfig, FrameDecoder};
use wsproto::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, Rsv, encode_header};

#[derive(Clone, Debug, PartialEq)]
struct Frame {
    header: FrameHeader,
    payload: Vec<u8>,
}

fn frame(masked: bool) -> impl Strategy<Value = Frame> {
    let data = (
        prop_oneof![
            Just(OpCode::Continuation),
            Just(OpCode::Text),
            Just(OpCode::Binary)
        ],
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..70_000),
    );
    let control = (
        prop_oneof![Just(OpCode::Close), Just(OpCode::Ping), Just(OpCode::Pong)],
        Just(true),
        prop::collection::vec(any::<u8>(), 0..=125),
    );
    (prop_oneof![4 => data, 1 => control], any::<[u8; 4]>()).prop_map(
        move |((opcode, fin, payload), key)| Frame {
            header: FrameHeader {
                fin,
                rsv: Rsv::NONE,
                opcode,
                mask: masked.then_some(key),
                payload_len: payload.len() as u64,
            },
            payload,
        },
    )
}

fn encode(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&f.header, &mut head);
        out.extend_from_slice(&head[..n]);
        let start = out.len();
        out.extend_from_slice(&f.payload);
        if let Some(key) = f.header.mask {
            for (i, b) in out[start..].iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
    }
    out
}

/// Feeds `bytes` in pieces whose lengths cycle through `splits`.
fn decode_split(role: Role, mut bytes: Vec<u8>, splits: &[usize]) -> Vec<Frame> {
    let mut decoder = FrameDecoder::new(DecoderConfig {
        max_frame_payload: u64::MAX,
        ..DecoderConfig::new(role)
    });
    let mut frames: Vec<Frame> = Vec::new();
    let mut start = 0;
    let mut split = splits.iter().cycle();
    while start < bytes.len() {
        let end = (start + split.next().copied().unwrap_or(usize::MAX).max(1)).min(bytes.len());
        let piece = &mut bytes[start..end];
        let mut pos = 0;
        while let Some(chunk) = {
            let decoded = decoder.decode(&mut piece[pos..]).expect("valid input");
            pos += decoded.consumed;
            decoded.chunk
        } {
            if chunk.frame_start {
                frames.push(Frame {
                    header: chunk.header,
                    payload: Vec::new(),
                });
            }
            let f = frames.last_mut().unwrap();
            assert_eq!(chunk.offset, f.payload.len() as u64);
            f.payload.extend_from_slice(chunk.payload);
        }
        assert_eq!(pos, piece.len());
        start = end;
    }
    assert!(decoder.is_idle());
    frames
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn same_frames_however_split(
        (server, frames) in any::<bool>()
            .prop_flat_map(|server| (Just(server), prop::collection::vec(frame(server), 1..6))),
        splits in prop::collection::vec(1usize..2000, 0..20),
    ) {
        let role = if server { Role::Server } else { Role::Client };
        prop_assert_eq!(&decode_split(role, encode(&frames), &splits), &frames);
    }

    #[test]
    fn one_byte_feeds(frames in prop::collection::vec(frame(true), 1..4)) {
        // Small payloads only: one call per byte.
        let frames: Vec<Frame> = frames
            .into_iter()
            .map(|mut f| {
                f.payload.truncate(300);
                f.header.payload_len = f.payload.len() as u64;
                f
            })
            .collect();
        prop_assert_eq!(&decode_split(Role::Server, encode(&frames), &[1]), &frames);
    }
}
