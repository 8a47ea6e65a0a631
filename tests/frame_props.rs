//! Property tests of the frame layer: the header codec (RFC 6455 §5.2) and masking (§5.3).

use proptest::prelude::*;
use wsproto::frame::{
    FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode, Rsv, decode_header, encode_header,
};
use wsproto::mask::{apply_mask, apply_mask_copy};

/// §5.3, octet by octet: "octet i of the transformed data is the XOR of octet i of the original
/// data with octet at index i modulo 4 of the masking key".
fn byte_loop(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[offset.wrapping_add(i) % 4];
    }
}

fn opcode() -> impl Strategy<Value = OpCode> {
    prop_oneof![
        Just(OpCode::Continuation),
        Just(OpCode::Text),
        Just(OpCode::Binary),
        Just(OpCode::Close),
        Just(OpCode::Ping),
        Just(OpCode::Pong),
    ]
}

/// Lengths around every encoding boundary (7-bit, 16-bit, 64-bit), and anywhere below 2^63.
fn payload_len() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..=130,
        0xFF00u64..=0x1_0100,
        (u64::MAX >> 1) - 300..=u64::MAX >> 1,
        0u64..=u64::MAX >> 1,
    ]
}

/// Any header a conforming peer may send: control frames (§5.5) are final and carry ≤ 125 bytes.
fn valid_header() -> impl Strategy<Value = FrameHeader> {
    (
        opcode(),
        any::<bool>(),
        0u8..8,
        any::<Option<[u8; 4]>>(),
        payload_len(),
    )
        .prop_map(|(opcode, fin, rsv, mask, len)| FrameHeader {
            fin: fin || opcode.is_control(),
            rsv: Rsv::from_first_byte(rsv << 4),
            opcode,
            mask,
            payload_len: if opcode.is_control() {
                len % (MAX_CONTROL_PAYLOAD as u64 + 1)
            } else {
                len
            },
        })
}

/// Bytes and a start index into them, so that the slice under test has any alignment.
fn buffer() -> impl Strategy<Value = (Vec<u8>, usize)> {
    (proptest::collection::vec(any::<u8>(), 0..700), 0usize..40)
        .prop_map(|(data, start)| (data.clone(), start.min(data.len())))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn header_round_trip(
        header in valid_header(),
        trailing in proptest::collection::vec(any::<u8>(), 0..4),
    ) {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&header, &mut out);
        prop_assert_eq!(n, header.encoded_len());
        // Payload bytes after the header are not read.
        let mut wire = out[..n].to_vec();
        wire.extend_from_slice(&trailing);
        prop_assert_eq!(decode_header(&wire, Rsv::ALL), Ok(Some((header, n))));
        // Every strict prefix is incomplete, never an error.
        for cut in 0..n {
            prop_assert_eq!(decode_header(&out[..cut], Rsv::ALL), Ok(None));
        }
    }

    #[test]
    fn mask_equals_byte_loop_and_is_an_involution(
        (data, start) in buffer(),
        key in any::<[u8; 4]>(),
        offset in any::<usize>(),
    ) {
        let mut fast = data.clone();
        let mut slow = data.clone();
        apply_mask(&mut fast[start..], key, offset);
        byte_loop(&mut slow[start..], key, offset);
        prop_assert_eq!(&fast, &slow);
        apply_mask(&mut fast[start..], key, offset);
        prop_assert_eq!(fast, data);
    }

    #[test]
    fn mask_in_chunks_equals_whole(
        data in proptest::collection::vec(any::<u8>(), 0..700),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        key in any::<[u8; 4]>(),
        offset in any::<usize>(),
    ) {
        let mut whole = data.clone();
        apply_mask(&mut whole, key, offset);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        cuts.push(data.len());
        cuts.sort_unstable();
        let mut chunked = data;
        let mut start = 0;
        for cut in cuts {
            apply_mask(&mut chunked[start..cut], key, offset.wrapping_add(start));
            start = cut;
        }
        prop_assert_eq!(chunked, whole);
    }

    #[test]
    fn mask_copy_equals_copy_then_mask(
        (data, start) in buffer(),
        dst_start in 0usize..40,
        dst_len in 0usize..720,
        key in any::<[u8; 4]>(),
        offset in any::<usize>(),
    ) {
        let src = &data[start..];
        let mut expected = src.to_vec();
        apply_mask(&mut expected, key, offset);
        // dst may be longer or shorter than src; only the common length is written.
        let mut dst = vec![0x5Au8; dst_start + dst_len];
        let n = apply_mask_copy(src, &mut dst[dst_start..], key, offset);
        prop_assert_eq!(n, src.len().min(dst_len));
        prop_assert_eq!(&dst[dst_start..dst_start + n], &expected[..n]);
        prop_assert!(dst[..dst_start].iter().chain(&dst[dst_start + n..]).all(|&b| b == 0x5A));
    }
}
