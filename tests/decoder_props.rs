//! Properties: the streaming decoder yields the same frames and payload bytes however the input
//! is split, 1-byte feeds included; and `decode_retaining`, driven as the connection drives it
//! (unconsumed bytes stay in the caller's buffer and come again with more), yields the same
//! frames, payloads and errors as `decode`, valid input or not.

use proptest::prelude::*;
use wsproto::Role;
use wsproto::decoder::{DecoderConfig, FrameDecoder};
use wsproto::frame::{FrameError, FrameHeader, MAX_HEADER_LEN, OpCode, Rsv, encode_header};

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

/// Feeds valid `bytes` to [`FrameDecoder::decode`] in pieces whose lengths cycle through
/// `splits`: every frame comes out whole, and the decoder ends between frames.
fn decode_split(role: Role, bytes: Vec<u8>, splits: &[usize]) -> Vec<Frame> {
    let config = DecoderConfig {
        max_frame_payload: u64::MAX,
        ..DecoderConfig::new(role)
    };
    let (frames, error, idle) = drive(config, Call::Decode, &bytes, splits);
    assert_eq!(error, None, "valid input");
    assert!(idle);
    frames
}

/// Which decoding call a driver uses.
#[derive(Clone, Copy, Debug)]
enum Call {
    /// [`FrameDecoder::decode`]: every byte presented is consumed (partial headers are stored).
    Decode,
    /// [`FrameDecoder::decode_retaining`]: bytes it cannot use yet are left in the input.
    Retaining,
}

/// Feeds `bytes` in pieces whose lengths cycle through `splits`, as a connection does: each
/// piece is appended to the caller's buffer, the decoder is called until it yields no chunk, and
/// what it did not consume stays in the buffer for the next call. Returns the frames delivered
/// whole, in order, the error decoding stopped at, if any, and whether the decoder ended between
/// frames ([`FrameDecoder::is_idle`]).
fn drive(
    config: DecoderConfig,
    call: Call,
    bytes: &[u8],
    splits: &[usize],
) -> (Vec<Frame>, Option<FrameError>, bool) {
    let mut decoder = FrameDecoder::new(config);
    let mut frames: Vec<Frame> = Vec::new();
    let mut buffer: Vec<u8> = Vec::new();
    let mut error = None;
    let mut start = 0;
    let mut split = splits.iter().cycle();
    'feed: while start < bytes.len() {
        let end = (start + split.next().copied().unwrap_or(usize::MAX).max(1)).min(bytes.len());
        buffer.extend_from_slice(&bytes[start..end]);
        start = end;
        let mut pos = 0;
        loop {
            let input = &mut buffer[pos..];
            let result = match call {
                Call::Decode => decoder.decode(input),
                Call::Retaining => decoder.decode_retaining(input),
            };
            let decoded = match result {
                Ok(decoded) => decoded,
                Err(err) => {
                    error = Some(err);
                    break 'feed;
                }
            };
            pos += decoded.consumed;
            let Some(chunk) = decoded.chunk else { break };
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
        if let Call::Decode = call {
            assert_eq!(pos, buffer.len(), "decode consumes everything");
        }
        buffer.drain(..pos);
    }
    // A frame the input ends inside is left out: `decode` hands out a control frame's payload
    // as it arrives, `decode_retaining` only whole.
    frames.retain(|f| f.payload.len() as u64 == f.header.payload_len);
    (frames, error, decoder.is_idle())
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

    #[test]
    fn retaining_decodes_as_decode_does(
        (server, frames) in any::<bool>()
            .prop_flat_map(|server| (Just(server), prop::collection::vec(frame(server), 0..5))),
        // Arbitrary bytes after the frames: another header, valid or not (reserved bits or
        // opcodes, a control frame too long or fragmented, the wrong masking), or a cut one.
        tail in prop::collection::vec(any::<u8>(), 0..24),
        small_limit in any::<bool>(),
        splits in prop_oneof![
            prop::collection::vec(1usize..2000, 0..20),
            prop::collection::vec(1usize..8, 1..8),
        ],
    ) {
        let role = if server { Role::Server } else { Role::Client };
        let config = DecoderConfig {
            // A small limit makes some of the frames errors too.
            max_frame_payload: if small_limit { 1000 } else { u64::MAX },
            ..DecoderConfig::new(role)
        };
        let mut bytes = encode(&frames);
        bytes.extend_from_slice(&tail);
        // Whether the decoder ends idle may differ: `decode` stores a cut header, which
        // `decode_retaining` leaves in the input.
        let (frames_decoded, error, _) = drive(config, Call::Decode, &bytes, &splits);
        let (frames_retained, error_retained, _) = drive(config, Call::Retaining, &bytes, &splits);
        prop_assert_eq!(&frames_retained, &frames_decoded);
        prop_assert_eq!(error_retained, error);
        if tail.is_empty() && !small_limit {
            prop_assert_eq!((&frames_decoded, error), (&frames, None));
        }
    }
}
