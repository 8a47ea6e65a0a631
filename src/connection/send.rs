//! Outbound framing: data and control frames into the caller's output buffer (RFC 6455 §5.2,
//! §5.3, §5.5).
//!
//! Read §5.1 and §5.3 (a client masks every frame with a fresh key), §5.4 (fragmentation) and
//! §5.5 (control frames) first.

use crate::close::build_close_payload;
use crate::entropy::Entropy;
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode, Rsv, encode_header};
#[cfg(feature = "server")]
use crate::handshake;
use crate::mask::copy_payload;
use crate::role::Role;
use crate::utf8::Utf8Validator;

use super::events::{DataKind, Error, FrameStart, Transmit};
#[cfg(feature = "server")]
use super::handshake::map_write_error;
use super::state::{CloseOut, Connection, PendingPong, Phase, Receiving};

impl<E: Entropy, X: Receiving> Connection<E, X> {
    /// Writes queued control frames, then one data frame carrying `data`, into `out`; returns
    /// the number of bytes written.
    ///
    /// A message may be sent in fragments: `fin = false` leaves it open, and the next calls with
    /// the same `kind` continue it until one has `fin = true`. Text is checked to be valid UTF-8
    /// across fragments (a fragment may end inside a character). A client masks the frame with a
    /// fresh key from its entropy source. One pass over `data`: it is copied (and masked) into
    /// `out`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] unless OPEN (or CLOSING with only the peer's close received and
    /// `auto_close_reply` off), [`Error::CloseAlreadySent`], [`Error::MessageKindMismatch`],
    /// [`Error::InvalidUtf8`], [`Error::BufferTooSmall`]. Nothing changes on error.
    // Inlined into the caller's loop: LLVM then keeps the connection's fields in registers
    // across sends instead of spilling and reloading them per call (W1 16 B: 188 -> 133
    // instructions per send under callgrind, 9.4 -> 6.4 ns); no flash cost in the thumbv7em
    // footprint client, which has one call site.
    #[inline]
    pub fn send(
        &mut self,
        kind: DataKind,
        data: &[u8],
        fin: bool,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let (opcode, utf8) = self.check_send_data(kind, data, fin)?;
        // A `Plain` connection has no deflate path at all (`X::INFLATES` is a constant), so its
        // `send` compiles as without the feature: with the deflate call compiled in, register
        // allocation changed and a 16-byte send took 11 % more instructions.
        #[cfg(feature = "deflate")]
        if X::INFLATES && self.deflate.is_some() {
            let utf8_after = utf8.unwrap_or(self.outgoing_utf8);
            if let Some(written) = self.send_compressed(opcode, kind, data, fin, utf8_after, out)? {
                return Ok(written);
            }
        }
        self.send_plain(opcode, kind, data, fin, utf8, out)
    }

    /// `send`'s checks: the opcode of the frame, and for text the outgoing UTF-8 validator
    /// after `data` (checked on a copy, so that nothing changes on error; binary needs none).
    #[inline(always)]
    fn check_send_data(
        &self,
        kind: DataKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(OpCode, Option<Utf8Validator>), Error> {
        let opcode = self.check_send(kind)?;
        let utf8 = if kind == DataKind::Text {
            let mut utf8 = self.outgoing_utf8;
            utf8.feed(data).map_err(|_| Error::InvalidUtf8)?;
            if fin {
                utf8.finish().map_err(|_| Error::InvalidUtf8)?;
            }
            Some(utf8)
        } else {
            None
        };
        Ok((opcode, utf8))
    }

    /// `send` without compression: queued control frames, the header, `data` copied (and
    /// masked) in one pass.
    #[inline(always)]
    fn send_plain(
        &mut self,
        opcode: OpCode,
        kind: DataKind,
        data: &[u8],
        fin: bool,
        utf8: Option<Utf8Validator>,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let masked = self.role == Role::Client;
        let queued = self.queued_len();
        let needed = queued + frame_len(data.len(), masked);
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        if let Some(utf8) = utf8 {
            self.outgoing_utf8 = utf8;
        }
        let mut written = if queued == 0 {
            0
        } else {
            self.write_queued(out)
        };
        let (header_len, mask) =
            self.write_header(opcode, fin, data.len() as u64, &mut out[written..]);
        written += header_len;
        copy_payload(data, &mut out[written..written + data.len()], mask);
        self.outgoing = if fin { None } else { Some(kind) };
        Ok(written + data.len())
    }

    /// Writes queued control frames and the header of a data frame of `len` payload bytes into
    /// `out`, for a payload the caller writes itself (zero copy).
    ///
    /// The caller MUST send exactly `len` payload bytes right after the written bytes, before
    /// anything else this connection produces; a client MUST mask them with
    /// [`FrameStart::mask`]. Text payloads written this way are not checked for UTF-8.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), but no UTF-8 check.
    pub fn begin_frame(
        &mut self,
        kind: DataKind,
        len: u64,
        fin: bool,
        out: &mut [u8],
    ) -> Result<FrameStart, Error> {
        let opcode = self.check_send(kind)?;
        #[cfg(feature = "deflate")]
        self.begin_uncompressed_frame()?;
        let masked = self.role == Role::Client;
        let needed = self.queued_len() + frame_len(0, masked) + header_extra(len);
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        let mut written = self.write_queued(out);
        let (n, mask) = self.write_header(opcode, fin, len, &mut out[written..]);
        written += n;
        self.outgoing = if fin { None } else { Some(kind) };
        Ok(FrameStart { written, mask })
    }

    /// Writes queued control frames and a ping with `payload` into `out`.
    ///
    /// # Errors
    ///
    /// [`Error::ControlPayloadTooLong`] over 125 bytes, [`Error::InvalidState`] unless OPEN,
    /// [`Error::BufferTooSmall`].
    pub fn ping(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.send_control(OpCode::Ping, payload, out)
    }

    /// Writes queued control frames and an unsolicited pong (a unidirectional heartbeat,
    /// §5.5.3) into `out`.
    ///
    /// # Errors
    ///
    /// As [`ping`](Self::ping).
    pub fn pong(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.send_control(OpCode::Pong, payload, out)
    }

    /// Writes what the connection has queued into `out`: pongs, keepalive pings, close frames,
    /// a handshake error response. Call it after every [`receive`](Self::receive) loop and after
    /// [`handle_timeout`](Self::handle_timeout), until it returns [`Transmit::Nothing`]. A
    /// 512-byte buffer always suffices.
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`] if `out` cannot hold what is queued; nothing changes.
    pub fn poll_transmit(&mut self, out: &mut [u8]) -> Result<Transmit, Error> {
        #[cfg(feature = "server")]
        if let Some(err) = self.handshake_error_response {
            let written = handshake::write_error_response(&err, out).map_err(map_write_error)?;
            self.handshake_error_response = None;
            return Ok(Transmit::Bytes(written));
        }
        let needed = self.queued_len();
        if needed > 0 {
            if out.len() < needed {
                return Err(Error::BufferTooSmall { needed });
            }
            return Ok(Transmit::Bytes(self.write_queued(out)));
        }
        if self.shutdown_pending {
            self.shutdown_pending = false;
            return Ok(Transmit::ShutdownWrite);
        }
        Ok(Transmit::Nothing)
    }

    fn check_send(&self, kind: DataKind) -> Result<OpCode, Error> {
        if !matches!(self.phase, Phase::Open(_)) {
            return Err(Error::InvalidState(self.state()));
        }
        if self.close_out != CloseOut::None {
            // §5.5.1: "The application MUST NOT send any more data frames after sending a
            // Close frame."
            return Err(Error::CloseAlreadySent);
        }
        match self.outgoing {
            None => Ok(kind.opcode()),
            Some(current) if current == kind => Ok(OpCode::Continuation),
            Some(_) => Err(Error::MessageKindMismatch),
        }
    }

    fn send_control(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(Error::ControlPayloadTooLong(payload.len()));
        }
        if !matches!(self.phase, Phase::Open(_)) {
            return Err(Error::InvalidState(self.state()));
        }
        if self.close_out != CloseOut::None {
            return Err(Error::CloseAlreadySent);
        }
        let needed = self.queued_len() + frame_len(payload.len(), self.role == Role::Client);
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        let written = self.write_queued(out);
        Ok(written + self.write_control(opcode, payload, &mut out[written..]))
    }

    /// Bytes that [`write_queued`](Self::write_queued) would write.
    #[inline]
    pub(super) fn queued_len(&self) -> usize {
        let masked = self.role == Role::Client;
        let mut len = 0;
        if let Phase::Open(PendingPong {
            queued: true,
            len: pong_len,
            ..
        }) = self.phase
        {
            len += frame_len(usize::from(pong_len), masked);
        }
        if self.keepalive_ping_queued {
            len += frame_len(4, masked);
        }
        if let CloseOut::Queued { code, reason } = self.close_out {
            len += frame_len(if code.is_some() { 2 + reason.len() } else { 0 }, masked);
        }
        len
    }

    /// Writes the queued control frames; `out` holds at least [`queued_len`](Self::queued_len).
    #[inline(never)]
    pub(super) fn write_queued(&mut self, out: &mut [u8]) -> usize {
        let mut written = 0;
        if let Phase::Open(pong) = &mut self.phase {
            if pong.queued {
                pong.queued = false;
                let pong = *pong;
                written +=
                    self.write_control(OpCode::Pong, &pong.payload[..usize::from(pong.len)], out);
            }
        }
        if self.keepalive_ping_queued {
            self.keepalive_ping_queued = false;
            let payload = self.keepalive_count.to_be_bytes();
            written += self.write_control(OpCode::Ping, &payload, &mut out[written..]);
        }
        if let CloseOut::Queued { code, reason } = self.close_out {
            let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
            let len = match code {
                Some(code) => build_close_payload(code, reason, &mut payload).unwrap_or(0),
                None => 0,
            };
            written += self.write_control(OpCode::Close, &payload[..len], &mut out[written..]);
            self.close_out = CloseOut::Sent;
            if matches!(self.phase, Phase::Closed)
                || (self.role == Role::Server && self.close_in.is_some())
            {
                self.shutdown_pending = true;
            }
        }
        written
    }

    pub(super) fn write_control(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        out: &mut [u8],
    ) -> usize {
        let (n, mask) = self.write_header(opcode, true, payload.len() as u64, out);
        copy_payload(payload, &mut out[n..n + payload.len()], mask);
        n + payload.len()
    }

    /// Writes a frame header; a client draws a fresh masking key (§5.3).
    // Always inlined: as a call it cost `send` a third of its instructions for 16-byte messages.
    #[inline(always)]
    pub(super) fn write_header(
        &mut self,
        opcode: OpCode,
        fin: bool,
        len: u64,
        out: &mut [u8],
    ) -> (usize, Option<[u8; 4]>) {
        let mask = (self.role == Role::Client).then(|| self.mask_keys.next(&mut self.entropy));
        let header = FrameHeader {
            fin,
            rsv: Rsv::NONE,
            opcode,
            mask,
            payload_len: len,
        };
        // Straight into `out` when it has room for the longest header (it writes only the
        // header's own bytes); else through a scratch array and a copy.
        if let Some(head) = out.first_chunk_mut::<MAX_HEADER_LEN>() {
            return (encode_header(&header, head), mask);
        }
        let mut scratch = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&header, &mut scratch);
        out[..n].copy_from_slice(&scratch[..n]);
        (n, mask)
    }
}

/// Bytes a frame with `payload_len` bytes takes on the wire.
pub(crate) const fn frame_len(payload_len: usize, masked: bool) -> usize {
    let header = if payload_len < 126 {
        2
    } else if payload_len <= 0xFFFF {
        4
    } else {
        10
    };
    header + if masked { 4 } else { 0 } + payload_len
}

/// Extra header bytes beyond 2 for a payload of `len` bytes.
const fn header_extra(len: u64) -> usize {
    if len < 126 {
        0
    } else if len <= 0xFFFF {
        2
    } else {
        8
    }
}
