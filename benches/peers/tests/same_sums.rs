//! Every implementation reports the same whole messages for every scenario, and so does the
//! floor on single-frame ones.

use wsproto_peers::{
    FloorPlan, SocketBuf, embedded_keep, embedded_receive, fastwebsockets_receive, floor,
    kernel_avx2, kernel_best, kernel_none, kernel_ours, nexus_receive, runtime, scenario,
    tokio_websockets_receive, tungstenite_receive, unmasked_wire, wsproto_receive,
};

#[test]
fn all_implementations_agree() {
    let rt = runtime();
    let mut buf = SocketBuf::new();
    let mut message = vec![0u8; 1 << 21];
    for s in [
        scenario("small", false, 16, 1000, 1, 0),
        scenario("text", true, 1024, 100, 1, 0),
        scenario("frag", true, 64 * 1024, 10, 16, 4),
        scenario("large", false, 300 * 1024, 5, 1, 0),
    ] {
        let fragmented = s.name == "frag";
        assert_eq!(wsproto_receive(&s.wire), s.expected, "wsproto {}", s.name);
        assert_eq!(
            tungstenite_receive(&s.wire, s.count),
            s.expected,
            "tungstenite {}",
            s.name
        );
        assert_eq!(
            fastwebsockets_receive(&rt, &s.wire, s.count),
            s.expected,
            "fastwebsockets {}",
            s.name
        );
        assert_eq!(
            tokio_websockets_receive(&rt, &s.wire, s.count),
            s.expected,
            "tokio-websockets {}",
            s.name
        );
        assert_eq!(
            nexus_receive(&s.wire, s.count),
            s.expected,
            "nexus-web {}",
            s.name
        );
        if s.name != "large" {
            assert_eq!(
                embedded_receive(
                    &s.wire,
                    &mut buf,
                    &mut message,
                    s.text,
                    embedded_keep(fragmented, 4096)
                ),
                s.expected,
                "embedded-websocket {}",
                s.name
            );
        }
        if !fragmented {
            let plan = FloorPlan::new(&s.wire);
            // The session's reads cover the input exactly.
            assert_eq!(plan.reads.iter().sum::<usize>(), s.wire.len());
            let mut floor_buf = Vec::new();
            assert_eq!(
                floor(&s.wire, &plan, &mut floor_buf, kernel_ours),
                s.expected
            );
            assert_eq!(
                floor(&s.wire, &plan, &mut floor_buf, kernel_best),
                s.expected
            );
            // The unmask-free bound sees the same messages, from payloads unmasked beforehand.
            let plain = unmasked_wire(&s.wire, &plan);
            assert_ne!(plain, s.wire);
            assert_eq!(
                floor(&plain, &plan, &mut floor_buf, kernel_none),
                s.expected
            );
        }
    }
}

/// The best kernels unmask exactly like wsproto's at every length and alignment.
#[test]
fn best_kernel_equals_ours() {
    let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
    for start in 0..8 {
        for len in [0, 1, 3, 4, 5, 63, 64, 65, 127, 128, 129, 500, 992] {
            let (mut a, mut b, mut c) = (data.clone(), data.clone(), data.clone());
            kernel_ours(&mut a[start..start + len], [1, 2, 3, 4]);
            kernel_best(&mut b[start..start + len], [1, 2, 3, 4]);
            kernel_avx2(&mut c[start..start + len], [1, 2, 3, 4]);
            assert_eq!(a, b, "start {start} len {len}");
            assert_eq!(a, c, "start {start} len {len}");
        }
    }
}
