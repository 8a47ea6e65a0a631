//! The session's shortcut (a whole message from the connection's fast case handed straight to
//! its event, without `step`) against `step` alone: for arbitrary frames, read and write sizes,
//! limits and deflate on or off, the same events, output, state and ending. The frames and the
//! entropy are the connection's fast-path property test's.

extern crate std;

use std::format;
use std::string::String;
use std::vec::Vec;

use proptest::prelude::*;

use super::{Session, SessionConfig};
use crate::config::Config;
use crate::connection::fast_path_props::{NOW, TestRng, frame};
use crate::connection::{CloseInfo, Connection, ReadyState};
#[cfg(feature = "deflate")]
use crate::deflate::{DeflateConfig, DeflateParams};
use crate::role::Role;

/// What a session run shows from outside: its events (as printed, with the output queued when
/// each came), the bytes it wrote, its final state and how the connection ended.
type SessionOutcome = (Vec<String>, Vec<u8>, ReadyState, Option<CloseInfo>);

/// Drives a session over `conn` through `wire` as an adapter does, with reads and writes of
/// the sizes given (in turn), so that frames straddle reads and output backs up.
fn run_session(
    mut conn: Connection<TestRng>,
    config: SessionConfig,
    wire: &[u8],
    sizes: &[usize],
    deflate: bool,
    fast_path: bool,
) -> SessionOutcome {
    conn.set_fast_path(fast_path);
    let mut session = Session::new(conn, config, Vec::new(), Vec::new());
    #[cfg(feature = "deflate")]
    if deflate {
        let params = DeflateParams::new(&DeflateConfig::DEFAULT, false, false, 15, 15);
        session.enable_deflate(params).unwrap();
    }
    #[cfg(not(feature = "deflate"))]
    let _ = deflate;
    let (mut events, mut written, mut at) = (Vec::new(), Vec::new(), 0);
    let mut sizes = sizes.iter().cycle();
    for _ in 0..10_000 {
        // With what is queued at that moment: input waits while the output is backed up.
        while let Some((event, sender)) = session.poll_event_with_sender(NOW) {
            events.push(format!("{event:?}, {} queued", sender.buffered_amount()));
        }
        let out = session.output();
        let n = out.len().min(*sizes.next().unwrap_or(&usize::MAX));
        written.extend_from_slice(&out[..n]);
        session.advance_output(n);
        if at == wire.len() && session.output().is_empty() {
            break;
        }
        if session.wants_read() && at < wire.len() {
            let buf = session.read_buf();
            let n = buf
                .len()
                .min(wire.len() - at)
                .min(*sizes.next().unwrap_or(&usize::MAX));
            buf[..n].copy_from_slice(&wire[at..at + n]);
            session.commit_read(n);
            at += n;
        }
    }
    session.receive_eof();
    while let Some(event) = session.poll_event(NOW) {
        events.push(format!("{event:?}"));
    }
    written.extend_from_slice(session.output());
    (events, written, session.state(), session.close_info())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The session hands out a whole message from the connection's fast case without
    /// `step`: the same events, output, state and ending as through `step` alone.
    #[test]
    fn the_sessions_shortcut_changes_nothing_but_the_work_done(
        server in any::<bool>(),
        frames in proptest::collection::vec(frame(), 1..10),
        garbage in proptest::collection::vec(any::<u8>(), 0..6),
        sizes in proptest::collection::vec(1usize..400, 1..6),
        max_message_size in prop_oneof![Just(125u64), Just(1 << 20)],
        output_high_water in prop_oneof![Just(0usize), Just(200), Just(64 * 1024)],
        max_whole_message in prop_oneof![Just(100u64), Just(u64::MAX)],
        deflate in any::<bool>(),
    ) {
        let role = if server { Role::Server } else { Role::Client };
        let config = Config { max_message_size, ..Config::DEFAULT };
        let session_config = SessionConfig {
            output_high_water,
            max_whole_message,
            read_size: 256,
            ..SessionConfig::DEFAULT
        };
        let mut wire = Vec::new();
        for frame in &frames {
            frame.encode(role, &mut wire);
        }
        wire.extend_from_slice(&garbage);
        let open = || Connection::open(config, role, TestRng(0x9E37_79B9_7F4A_7C15), NOW).unwrap();
        // With deflate agreed, uncompressed messages take the fast case too.
        let fast = run_session(open(), session_config, &wire, &sizes, deflate, true);
        let general = run_session(open(), session_config, &wire, &sizes, deflate, false);
        prop_assert_eq!(fast, general);
    }
}
