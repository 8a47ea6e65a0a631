//! Checks on the bytes a test counted on the wire.

/// Checks that each way carried under `quarters`/4 of the `payload` bytes of messages sent
/// that way (`(read, written)`: the bytes counted on our socket), as it does when
/// permessage-deflate compressed them; returns a summary for the test's output.
pub fn assert_compressed(
    (read, written): (usize, usize),
    payload: usize,
    quarters: usize,
) -> String {
    let limit = payload / 4 * quarters;
    assert!(
        read < limit && written < limit,
        "{payload} bytes of messages each way, but {read} read and {written} written"
    );
    format!("{payload} bytes of messages each way: {read} read, {written} written")
}
