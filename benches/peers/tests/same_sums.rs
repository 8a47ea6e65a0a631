//! Every implementation reports the same messages for every scenario.

use wsproto_peers::{
    SocketBuf, embedded_keep, embedded_receive, fastwebsockets_receive, runtime, scenario,
    tungstenite_receive, wsproto_receive,
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
    ] {
        let fragmented = s.name == "frag";
        assert_eq!(
            wsproto_receive(&s.wire, &mut buf),
            s.expected,
            "wsproto {}",
            s.name
        );
        assert_eq!(
            tungstenite_receive(&s.wire, s.count),
            s.expected,
            "tungstenite {}",
            s.name
        );
        assert_eq!(
            fastwebsockets_receive(&rt, &s.wire, s.count, fragmented),
            s.expected,
            "fastwebsockets {}",
            s.name
        );
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
}
