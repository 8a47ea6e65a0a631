//! What the adapters' test suites share, written once: a dev-dependency of each adapter
//! (never published). Each module is one thing the tests do by hand, below the adapters' API:
//!
//! - [`raw`]: frames and the opening handshake as bytes, for peers that write them
//!   themselves (a flooding client, a client that allocates nothing);
//! - [`counted`]: a TCP stream that counts the bytes each way;
//! - [`flood`]: the ping-flood peer of issue 15's memory tests;
//! - [`heap`]: a counting global allocator, for the tests that measure what a server holds;
//! - [`net`]: accepting on 127.0.0.1 with a deadline;
//! - [`ready`]: running futures that never wait;
//! - [`setup`]: the configs and the (not random) entropy the tests run with;
//! - [`wire`]: the check that messages went compressed, from the bytes counted on the wire.

pub mod counted;
pub mod flood;
pub mod heap;
pub mod net;
pub mod raw;
pub mod ready;
pub mod setup;
pub mod wire;
