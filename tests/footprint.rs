//! The connection's size: it lives inline in firmware and in every adapter's task.

use wsproto::connection::Connection;
use wsproto::entropy::NoEntropy;

#[test]
fn connection_is_small() {
    let size = core::mem::size_of::<Connection<NoEntropy>>();
    println!("size_of::<Connection<NoEntropy>>() = {size}");
    assert!(size <= 512, "Connection grew to {size} bytes");
}
