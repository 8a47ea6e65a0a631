//! # wsproto: a sans-IO WebSocket state machine
//!
//! `wsproto` implements the WebSocket protocol (RFC 6455) with no IO, no clock, no random
//! number generator, no global state and no allocation in its core. The caller owns every socket,
//! buffer, clock and entropy source; the crate owns the protocol rules.
//!
//! ## Layers
//!
//! Each layer is usable alone and depends only on those listed before it:
//!
//! | module | what it holds |
//! |---|---|
//! | [`close`] | [`CloseCode`](close::CloseCode) and close-payload rules (§5.5.1, §7.4) |
//! | [`frame`] | [`OpCode`](frame::OpCode), [`FrameHeader`](frame::FrameHeader), pure header codec (§5.2) |
//! | [`mask`] | payload masking (§5.3) |
//! | [`decoder`] | streaming, zero-copy frame decoder: [`FrameDecoder`](decoder::FrameDecoder) (§5.2–§5.5) |
//! | [`utf8`] | [`Utf8Validator`](utf8::Utf8Validator): incremental, fail-fast UTF-8 checks of text (§8.1) |
//! | [`handshake`] | [`accept_key`](handshake::accept_key), client request / response check, server request parse / responses (§4) |
//!
//! ## Features
//!
//! - `std` (default): implies `alloc`; runtime CPU detection for SIMD UTF-8 validation.
//! - `alloc`: heap-backed conveniences. Never required by the core.
//! - `simd` (default): UTF-8 validation through `simdutf8`; without it a scalar validator is used.
//!
//! With `--no-default-features` the crate is `#![no_std]` without `alloc` and builds for
//! bare-metal targets such as `thumbv7em-none-eabihf`.
#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod close;
pub mod decoder;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod utf8;

/// Which end of the connection this endpoint is.
///
/// The role decides masking (RFC 6455 §5.1: a client masks every frame it sends, a server none)
/// and who closes the TCP connection first (§7.1.1: the server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The endpoint that sent the opening handshake request.
    Client,
    /// The endpoint that answered it.
    Server,
}
