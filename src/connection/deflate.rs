//! The connection's permessage-deflate paths (RFC 7692 §6, §7.2).
//!
//! Read RFC 7692 §6 (RSV1 marks a compressed message) and §7.2 (the DEFLATE stream, its
//! `00 00 ff ff` tail and context takeover) first. The codecs and the negotiation live in
//! [`crate::deflate`]; the state this file works on (`DeflateState`, `Rx`) is declared with the
//! connection's in `state.rs`. The uncompressed paths reach this file through three hooks: the
//! receive dispatch, `send` and `begin_frame`.
//!
//! Receiving: the decoder unmasks a compressed frame's payload in the caller's input as usual,
//! and the inflater turns it into bytes in the caller's scratch buffer. The inflater may not take
//! all of a chunk (the scratch is full); the rest is left unconsumed in the input, already
//! unmasked and already counted by the decoder, and `Rx::carry` says how many of the next
//! input's first bytes are such payload, to be inflated before anything is decoded.

use alloc::boxed::Box;
use core::marker::PhantomData;

use crate::deflate::{
    Compressor, DeflateConfig, DeflateError, DeflateParams, Inflater, TAIL, stored_len,
    write_stored,
};
use crate::entropy::Entropy;
use crate::frame::{FrameError, OpCode, Rsv};
use crate::handshake::Response;
use crate::mask::apply_mask;
use crate::role::Role;
use crate::utf8::Utf8Validator;

use super::events::{DataKind, Error, Event, ProtocolError, Received};
use super::send::frame_len;
use super::state::{Connection, DeflateState, PerMessageDeflate, Phase, Plain, Receiving, Rx};

impl<E: Entropy> Connection<E, Plain> {
    /// This connection, able to negotiate permessage-deflate: [`enable_deflate`] and
    /// [`accept_deflate_response`] exist on the result, and it receives with
    /// [`receive_into`](Connection::receive_into) only (see [`PerMessageDeflate`]). Nothing is
    /// enabled or allocated yet; call it before the negotiation, e.g. right after construction.
    ///
    /// [`enable_deflate`]: Connection::enable_deflate
    /// [`accept_deflate_response`]: Connection::accept_deflate_response
    pub fn allow_deflate(self) -> Connection<E, PerMessageDeflate> {
        // `Connection { receiving: PhantomData, ..self }`, which stable Rust does not allow
        // across types: every field moves by name; the type changes, nothing else does.
        macro_rules! retype {
            ($($field:ident),+) => {{
                let Connection {
                    $($field,)+
                    #[cfg(test)] fast_path,
                    #[cfg(feature = "server")] handshake_error_response,
                    receiving: _,
                } = self;
                Connection {
                    $($field,)+
                    #[cfg(test)] fast_path,
                    #[cfg(feature = "server")] handshake_error_response,
                    receiving: PhantomData,
                }
            }};
        }
        retype!(
            config,
            role,
            entropy,
            mask_keys,
            phase,
            decoder,
            clock,
            incoming,
            incoming_utf8,
            outgoing,
            outgoing_utf8,
            keepalive_ping_queued,
            keepalive_count,
            close_out,
            close_in,
            shutdown_pending,
            info,
            closed_delivered,
            deadlines,
            deflate
        )
    }
}

impl<E: Entropy> Connection<E, PerMessageDeflate> {
    /// Turns permessage-deflate on with the `params` both ends agreed on (RFC 7692). Call it
    /// once, while OPEN and before any data frame: a server right after
    /// [`accept`](Self::accept), a connection from [`open`](Self::open) right after it. A client
    /// uses [`accept_deflate_response`](Self::accept_deflate_response), which calls this.
    ///
    /// From then on, RSV1 is allowed on a message's first frame, [`send`](Self::send) compresses
    /// messages of at least [`DeflateConfig::compress_threshold`](crate::deflate::DeflateConfig::compress_threshold) bytes, and compressed messages
    /// must be received with [`receive_into`](Self::receive_into). Allocates the codecs lazily
    /// (see the [`deflate`](crate::deflate) module for their size).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] unless OPEN with no message under way either way, or if
    /// already enabled.
    pub fn enable_deflate(&mut self, params: DeflateParams) -> Result<(), Error> {
        if !matches!(self.phase, Phase::Open(_))
            || self.incoming.is_some()
            || self.outgoing.is_some()
            || self.deflate.is_some()
        {
            return Err(Error::InvalidState(self.state()));
        }
        let (send_reset, recv_reset, send_window) = match self.role {
            Role::Client => (
                params.agreed.client_no_context_takeover,
                params.agreed.server_no_context_takeover,
                params.agreed.client_max_window_bits,
            ),
            Role::Server => (
                params.agreed.server_no_context_takeover,
                params.agreed.client_no_context_takeover,
                params.agreed.server_max_window_bits,
            ),
        };
        // RFC 7692 §6: permessage-deflate uses RSV1.
        self.decoder.set_allowed_rsv(Rsv::RSV1);
        self.deflate = Some(Box::new(DeflateState {
            params,
            send_reset,
            recv_reset,
            send_window,
            compressor: None,
            inflater: None,
            sending_compressed: false,
            rx: Rx::default(),
        }));
        Ok(())
    }

    /// The permessage-deflate parameters in force, if enabled.
    pub fn deflate_params(&self) -> Option<DeflateParams> {
        self.deflate.as_ref().map(|d| d.params)
    }

    /// Client: on [`Event::Accepted`], checks the server's permessage-deflate response against
    /// `config` (the one whose [`offer`](DeflateConfig::offer) was sent) and enables compression
    /// if the server accepted. Returns the parameters in force, or `None` without compression.
    ///
    /// An invalid response (RFC 7692 §5, §7.1: "the client MUST _Fail the WebSocket
    /// Connection_") fails the connection: a 1002 close frame is queued, the state is CLOSED,
    /// `Ok(None)` is returned, and the next [`receive_into`](Self::receive_into) gives
    /// [`Event::Closed`] with [`DeflateError::Negotiation`].
    ///
    /// # Errors
    ///
    /// As [`enable_deflate`](Self::enable_deflate).
    pub fn accept_deflate_response(
        &mut self,
        config: &DeflateConfig,
        response: &Response<'_>,
    ) -> Result<Option<DeflateParams>, Error> {
        if !matches!(self.phase, Phase::Open(_)) || self.deflate.is_some() {
            return Err(Error::InvalidState(self.state()));
        }
        match config.check_response(response.extensions()) {
            Ok(Some(params)) => self.enable_deflate(params).map(|()| Some(params)),
            Ok(None) => Ok(None),
            Err(err) => {
                self.fail(ProtocolError::Deflate(DeflateError::Negotiation(err)));
                Ok(None)
            }
        }
    }
}

impl Rx {
    /// Inflating must go on before the next frame is decoded.
    fn busy(&self) -> bool {
        self.carry > 0 || self.maybe_pending || self.ends_message
    }
}

/// What one inflating step did.
enum Step<'a> {
    /// Bytes of the source used, and the event to give.
    Progress {
        used: usize,
        event: Event<'a>,
        message_fin: bool,
    },
    /// Nothing happened; the scratch buffer is handed back.
    Idle(&'a mut [u8]),
}

impl<E: Entropy, X: Receiving> Connection<E, X> {
    /// The OPEN receive path once deflate is enabled.
    pub(super) fn receive_frame_deflate<'a>(
        &mut self,
        input: &'a mut [u8],
        mut scratch: &'a mut [u8],
    ) -> Received<'a> {
        let len = input.len();
        let rx = self.deflate.as_ref().map(|d| d.rx).unwrap_or_default();
        if rx.busy() {
            let carry = rx.carry.min(len);
            let whole = carry == rx.carry;
            let step = self.inflate_step(
                &input[..carry],
                scratch,
                whole && rx.ends_frame,
                whole && rx.ends_message,
                false,
            );
            match step {
                Err(err) => return self.fail_now(err, len),
                Ok(Step::Progress {
                    used,
                    event,
                    message_fin,
                }) => {
                    if let (Some(d), false) = (self.deflate.as_deref_mut(), message_fin) {
                        d.rx.carry -= used;
                    }
                    return Received {
                        consumed: used,
                        event: Some(event),
                    };
                }
                Ok(Step::Idle(back)) => {
                    if rx.carry > 0 {
                        // The input does not hold the carried bytes yet.
                        return Received {
                            consumed: 0,
                            event: None,
                        };
                    }
                    scratch = back;
                }
            }
        }

        let chunk = match self.next_chunk(input) {
            Ok(chunk) => chunk,
            Err(received) => return received,
        };
        let (header, frame_fin, payload, consumed) =
            (chunk.header, chunk.frame_fin, chunk.payload, chunk.consumed);
        // RFC 7692 §6.1: RSV1 only on a data message's first frame; control frames are never
        // compressed (RFC 6455 §5.2: an unexpected RSV bit fails the connection with 1002).
        if !header.rsv.is_empty()
            && (header.opcode.is_control() || header.opcode == OpCode::Continuation)
        {
            return self.fail_now(
                ProtocolError::Frame(FrameError::ReservedBits(header.rsv)),
                len,
            );
        }
        if header.opcode.is_control() {
            let event = self.receive_control(header.opcode, payload);
            return self.deliver(event, consumed, len);
        }
        let compressed = match header.opcode {
            OpCode::Continuation => self.incoming.is_some_and(|incoming| incoming.compressed),
            _ => header.rsv.contains(Rsv::RSV1),
        };
        if !compressed {
            let event = self.receive_data(&chunk);
            return self.deliver(event, consumed, len);
        }
        if let Err(err) = self.start_data_frame(&header, chunk.frame_start) {
            return self.fail_now(err, len);
        }
        let ends_message = frame_fin && header.fin;
        match self.inflate_step(payload, scratch, frame_fin, ends_message, true) {
            Err(err) => self.fail_now(err, len),
            Ok(Step::Progress {
                used,
                event,
                message_fin,
            }) => {
                let carry = payload.len() - used;
                if let (Some(d), false) = (self.deflate.as_deref_mut(), message_fin) {
                    d.rx.carry = carry;
                    d.rx.ends_frame = frame_fin;
                    d.rx.ends_message = ends_message;
                }
                Received {
                    consumed: consumed - carry,
                    event: Some(event),
                }
            }
            Ok(Step::Idle(_)) => unreachable!("a fresh chunk always makes progress"),
        }
    }

    /// Inflates from `src` (payload of the current frame) into `scratch`, then, once `src`
    /// ends the message, the tail (RFC 7692 §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff
    /// to the tail end of the payload of the message").
    fn inflate_step<'a>(
        &mut self,
        src: &[u8],
        scratch: &'a mut [u8],
        ends_frame: bool,
        ends_message: bool,
        fresh: bool,
    ) -> Result<Step<'a>, ProtocolError> {
        let max = self.config.max_message_size;
        let Some(incoming) = self.incoming else {
            unreachable!("inflating happens inside a message");
        };
        let Some(d) = self.deflate.as_deref_mut() else {
            unreachable!("inflating happens with deflate enabled");
        };
        if scratch.is_empty() {
            return Err(ProtocolError::Deflate(DeflateError::NoScratch));
        }
        let rx = &mut d.rx;
        let inflater = d.inflater.get_or_insert_with(Inflater::new);
        // One byte beyond the limit is enough to know it is crossed.
        let allowed = (max - rx.produced).saturating_add(1);
        let room = usize::try_from(allowed).map_or(scratch.len(), |a| a.min(scratch.len()));
        let tail_before = rx.tail;
        let mut used = 0;
        let mut written = 0;
        loop {
            if rx.stream_end {
                // After a BFINAL block the stream is over: what is left is not DEFLATE.
                used = src.len();
                if ends_message {
                    rx.tail = TAIL.len() as u8;
                }
            }
            let (input, is_tail) = if used < src.len() {
                (&src[used..], false)
            } else if ends_message && usize::from(rx.tail) < TAIL.len() {
                (&TAIL[usize::from(rx.tail)..], true)
            } else {
                (&[][..], false)
            };
            let r = inflater
                .inflate(input, &mut scratch[written..room])
                .map_err(|()| ProtocolError::Deflate(DeflateError::InvalidData))?;
            if is_tail {
                rx.tail += r.consumed as u8;
            } else {
                used += r.consumed;
            }
            written += r.written;
            let newly_ended = r.stream_end && !rx.stream_end;
            rx.stream_end |= r.stream_end;
            if written == room || (r.consumed == 0 && r.written == 0 && !newly_ended) {
                break;
            }
        }
        rx.maybe_pending = written == room;
        rx.produced += written as u64;
        if rx.produced > max {
            return Err(ProtocolError::MessageTooBig {
                size: rx.produced,
                max,
            });
        }
        let all_used = used == src.len();
        let message_fin =
            ends_message && all_used && usize::from(rx.tail) == TAIL.len() && !rx.maybe_pending;
        if !(fresh || message_fin || used > 0 || written > 0 || rx.tail != tail_before) {
            return Ok(Step::Idle(scratch));
        }
        let message_start = !rx.started;
        rx.started = true;
        let frame_fin = ends_frame && all_used && (used > 0 || fresh);
        if message_fin {
            if d.recv_reset || rx.stream_end {
                // §7.2.2: without context takeover, each message starts a new stream.
                inflater.reset();
            }
            d.rx = Rx::default();
        }
        let chunk: &'a [u8] = &scratch[..written];
        // RFC 6455 §8.1 applies to the inflated text.
        self.end_data_chunk(incoming.kind, chunk, message_fin)?;
        Ok(Step::Progress {
            used,
            event: Event::Data {
                kind: incoming.kind,
                chunk,
                message_start,
                frame_fin,
                message_fin,
            },
            message_fin,
        })
    }

    /// `send`'s deflate path: `Ok(None)` if this frame goes uncompressed (deflate off, or a
    /// message under the threshold), else the bytes written.
    ///
    /// A whole message (first frame with `fin`) is compressed into `out` behind a header gap;
    /// if the result is not smaller than `data`, the message goes uncompressed instead (RSV1
    /// clear), so it never needs more room than an uncompressed frame. A fragment of a
    /// compressed message that does not shrink goes as stored blocks (RFC 1951 §3.2.4), so it
    /// never needs more than `data` plus 5 bytes per 64 KiB (plus 1 at the message's end). The
    /// compressor is reset after such a fallback: the peer's inflater never saw that output.
    pub(super) fn send_compressed(
        &mut self,
        opcode: OpCode,
        kind: DataKind,
        data: &[u8],
        fin: bool,
        utf8: Utf8Validator,
        out: &mut [u8],
    ) -> Result<Option<usize>, Error> {
        let Some(d) = self.deflate.as_deref_mut() else {
            return Ok(None);
        };
        let message_start = opcode != OpCode::Continuation;
        if message_start {
            // §6: compression is decided per message.
            d.sending_compressed =
                d.params.agreed.level > 0 && data.len() >= d.params.agreed.compress_threshold;
        }
        if !d.sending_compressed {
            return Ok(None);
        }
        let masked = self.role == Role::Client;
        let whole = message_start && fin;
        let bound = if whole {
            data.len()
        } else {
            stored_len(data.len(), fin)
        };
        let gap = frame_len(bound, masked) - bound;
        let needed = self.queued_len() + gap + bound;
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }

        self.outgoing_utf8 = utf8;
        let written = self.write_queued(out);
        let start = written + gap;
        // Room for the sync flush's tail, and one byte to tell "fits exactly" from "overflows".
        let end = out
            .len()
            .min(start + bound + if fin { TAIL.len() } else { 0 } + 1);
        let Some(d) = self.deflate.as_deref_mut() else {
            unreachable!("checked above");
        };
        let (level, window) = (d.params.agreed.level, d.send_window);
        let compressor = d
            .compressor
            .get_or_insert_with(|| Compressor::new(level, window));
        let payload_len = match compressor.compress(data, &mut out[start..end], fin) {
            Some(n) if n <= bound => {
                if fin && d.send_reset {
                    // §7.1.1: no context takeover: the next message starts afresh.
                    compressor.reset();
                }
                n
            }
            _ => {
                compressor.reset();
                if whole {
                    d.sending_compressed = false;
                    out[start..start + data.len()].copy_from_slice(data);
                    data.len()
                } else {
                    write_stored(data, fin, &mut out[start..])
                }
            }
        };
        let rsv1 = message_start && d.sending_compressed;
        if fin {
            d.sending_compressed = false;
        }
        let header_len = frame_len(payload_len, masked) - payload_len;
        if header_len < gap {
            out.copy_within(start..start + payload_len, written + header_len);
        }
        let (n, mask) = self.write_header(opcode, fin, payload_len as u64, &mut out[written..]);
        if rsv1 {
            // RFC 7692 §6: "the first frame of the message has the RSV1 bit set".
            out[written] |= Rsv::RSV1.bits();
        }
        let payload = &mut out[written + n..written + n + payload_len];
        if let Some(key) = mask {
            apply_mask(payload, key, 0);
        }
        self.outgoing = if fin { None } else { Some(kind) };
        Ok(Some(written + n + payload_len))
    }

    /// `begin_frame`'s check: its payload is the caller's, so it cannot continue a compressed
    /// message; a message it starts is uncompressed.
    pub(super) fn begin_uncompressed_frame(&mut self) -> Result<(), Error> {
        if let Some(d) = self.deflate.as_deref_mut() {
            if self.outgoing.is_none() {
                d.sending_compressed = false;
            } else if d.sending_compressed {
                return Err(Error::CompressedMessage);
            }
        }
        Ok(())
    }
}
