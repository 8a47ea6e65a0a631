//! The streaming frame decoder over arbitrary bytes, split points and configuration.
//!
//! Invariants checked against a simple reference decoder that sees the whole input at once:
//! - every call consumes at most its input, and a call without a chunk consumes all of it;
//! - the frames (headers and unmasked payload bytes) equal the reference's, in order;
//! - the first error is the reference's, at the same frame, and it is sticky;
//! - no frame larger than the configured maximum is ever started.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsproto::Role;
use wsproto::decoder::{DecoderConfig, FrameDecoder};
use wsproto::frame::{FrameError, FrameHeader, Rsv, decode_header};

#[derive(Arbitrary, Debug)]
struct Input {
    server: bool,
    max_frame_payload: u16,
    allow_rsv1: bool,
    /// Lengths of the pieces the input is fed in (cycled); 0 is read as 1.
    splits: Vec<u8>,
    bytes: Vec<u8>,
}

#[derive(Debug, PartialEq)]
struct Frame {
    header: FrameHeader,
    payload: Vec<u8>,
}

/// Decodes the whole buffer frame by frame: the obvious, non-streaming way.
fn reference(config: &DecoderConfig, mut bytes: &[u8]) -> (Vec<Frame>, Option<FrameError>) {
    let mut frames = Vec::new();
    loop {
        let (header, len) = match decode_header(bytes, config.allowed_rsv) {
            Ok(Some(found)) => found,
            Ok(None) => return (frames, None),
            Err(err) => return (frames, Some(err)),
        };
        let masked_ok = match config.role {
            Role::Server => header.mask.is_some(),
            Role::Client => header.mask.is_none(),
        };
        if !masked_ok {
            let err = if header.mask.is_some() {
                FrameError::MaskedFrame
            } else {
                FrameError::UnmaskedFrame
            };
            return (frames, Some(err));
        }
        if header.payload_len > config.max_frame_payload {
            return (
                frames,
                Some(FrameError::FrameTooLarge {
                    len: header.payload_len,
                    max: config.max_frame_payload,
                }),
            );
        }
        bytes = &bytes[len..];
        let take = bytes.len().min(header.payload_len as usize);
        let mut payload = bytes[..take].to_vec();
        if let Some(key) = header.mask {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        bytes = &bytes[take..];
        frames.push(Frame { header, payload });
        if take < header.payload_len as usize {
            return (frames, None);
        }
    }
}

fuzz_target!(|input: Input| {
    let config = DecoderConfig {
        role: if input.server {
            Role::Server
        } else {
            Role::Client
        },
        max_frame_payload: u64::from(input.max_frame_payload),
        allowed_rsv: if input.allow_rsv1 {
            Rsv::RSV1
        } else {
            Rsv::NONE
        },
    };
    let (expected_frames, expected_error) = reference(&config, &input.bytes);

    let mut decoder = FrameDecoder::new(config);
    let mut frames: Vec<Frame> = Vec::new();
    let mut error = None;
    let mut bytes = input.bytes.clone();
    let mut rest: &mut [u8] = &mut bytes;
    let mut split = input.splits.iter().cycle();
    'feed: while !rest.is_empty() {
        let len = split
            .next()
            .map_or(rest.len(), |&n| usize::from(n.max(1)))
            .min(rest.len());
        let (piece, tail) = rest.split_at_mut(len);
        rest = tail;
        let mut pos = 0;
        loop {
            let left = piece.len() - pos;
            match decoder.decode(&mut piece[pos..]) {
                Ok(decoded) => {
                    assert!(decoded.consumed <= left);
                    pos += decoded.consumed;
                    let Some(chunk) = decoded.chunk else {
                        assert_eq!(
                            decoded.consumed, left,
                            "a call without a chunk consumes all"
                        );
                        break;
                    };
                    assert!(chunk.header.payload_len <= config.max_frame_payload);
                    if chunk.frame_start {
                        assert_eq!(chunk.offset, 0);
                        frames.push(Frame {
                            header: chunk.header,
                            payload: Vec::new(),
                        });
                    } else {
                        assert!(
                            !chunk.payload.is_empty(),
                            "only a frame's first chunk may be empty"
                        );
                    }
                    let frame = frames.last_mut().unwrap();
                    assert_eq!(chunk.header, frame.header);
                    assert_eq!(chunk.offset, frame.payload.len() as u64);
                    frame.payload.extend_from_slice(chunk.payload);
                }
                Err(err) => {
                    assert_eq!(
                        decoder.decode(&mut [0x81, 0x00]),
                        Err(err),
                        "errors are sticky"
                    );
                    error = Some(err);
                    break 'feed;
                }
            }
        }
    }
    assert_eq!(frames, expected_frames);
    assert_eq!(error, expected_error);
});
