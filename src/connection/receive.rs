//! The inbound rules: from the caller's bytes to events (RFC 6455 §5, §8.1).
//!
//! Read §5.1 (masking by role), §5.2 (the frame header), §5.4 (fragmentation), §5.5 (control
//! frames) and §8.1 (UTF-8) first: every MUST there is enforced here or in the function named
//! where it is checked.

use crate::close::{CloseCode, parse_close_payload};
use crate::decoder::{Decoded, check_header};
use crate::entropy::Entropy;
#[cfg(feature = "deflate")]
use crate::frame::Rsv;
use crate::frame::{FrameHeader, OpCode, decode_header_fast};
use crate::mask::apply_mask;
use crate::time::Instant;
use crate::utf8::Utf8Validator;

use super::events::{DataKind, Event, ProtocolError, Received};
use super::state::{CloseOut, Connection, Incoming, Phase, Plain, Receiving, Timer};

/// What the fast case ([`Connection::receive_whole`]) found.
pub(crate) enum Whole {
    /// Not the fast case: nothing was consumed; the general path finds the same.
    No,
    /// A whole unfragmented message, unmasked and checked, in
    /// `input[header_len..header_len + len]`; its `header_len + len` bytes are consumed.
    Message {
        kind: DataKind,
        header_len: usize,
        len: usize,
    },
    /// A whole message that breaks a message rule (its size, §8.1 UTF-8): the connection fails
    /// (the caller reports it: `fail_now_cold`, `fail_reported`), all input is consumed.
    Failed(ProtocolError),
}

/// A chunk of a frame as the connection takes it from the decoder.
pub(super) struct Chunk<'a> {
    pub(super) header: FrameHeader,
    /// The frame's first chunk.
    pub(super) frame_start: bool,
    /// The frame's last chunk.
    pub(super) frame_fin: bool,
    /// Unmasked, in the caller's input.
    pub(super) payload: &'a [u8],
    /// Input bytes taken, header included.
    pub(super) consumed: usize,
}

impl<E: Entropy, X: Receiving> Connection<E, X> {
    /// [`receive`](Connection::receive), inflating compressed messages into `scratch`.
    ///
    /// Every connection has it; only one that negotiated permessage-deflate (feature `deflate`:
    /// `allow_deflate`, then `enable_deflate`) uses `scratch`. Uncompressed payloads borrow
    /// `input` as with `receive`; inflated ones borrow `scratch`. Each call inflates at most
    /// `scratch.len()` bytes and consumes only the input the inflater took, so a message of any
    /// size streams through a scratch buffer of any non-empty size (a few KiB is a good size;
    /// the inflater keeps its own 32 KiB history). Text is checked to be UTF-8 after inflating.
    /// `max_message_size` bounds the inflated size, checked as bytes come out: a message that
    /// would inflate beyond it fails the connection with 1009 after at most
    /// `max_message_size + 1` bytes were produced.
    ///
    /// For a compressed message, chunks do not follow frames: `frame_fin` marks the chunk after
    /// which a frame's compressed bytes were used up; `message_fin` is exact. An empty
    /// `scratch` fails the connection with 1011 at the first compressed message.
    // Always inlined: the fast case belongs in the caller's loop; the general case is out of line.
    #[inline(always)]
    pub fn receive_into<'a>(
        &mut self,
        input: &'a mut [u8],
        scratch: &'a mut [u8],
        now: Instant,
    ) -> Received<'a> {
        match self.receive_whole(input, now) {
            Whole::No => {}
            Whole::Message {
                kind,
                header_len,
                len,
            } => {
                return Received {
                    consumed: header_len + len,
                    event: Some(Event::Data {
                        kind,
                        chunk: &input[header_len..header_len + len],
                        message_start: true,
                        frame_fin: true,
                        message_fin: true,
                    }),
                };
            }
            Whole::Failed(err) => {
                let len = input.len();
                return self.fail_now_cold(err, len);
            }
        }
        self.receive_general(input, scratch)
    }

    /// The fast case of [`receive_into`](Self::receive_into) alone: `input` starts with a whole
    /// message, unmasked and checked in place, or one that broke a rule (the caller fails the
    /// connection with [`fail_reported`](Self::fail_reported); all of `input` is consumed), or,
    /// `No`, nothing changed (but the clock) and `receive_into` finds what there is. For the
    /// session, which hands the message out without an event.
    #[inline(always)]
    pub(crate) fn receive_whole(&mut self, input: &mut [u8], now: Instant) -> Whole {
        self.tick(now);
        self.receive_whole_message(input)
    }

    /// [`receive_into`](Self::receive_into) for everything but its fast case (after a
    /// [`tick`](Self::tick)): kept out of line, so that the fast case stays small enough to
    /// inline into the caller's loop. The session calls it directly, having tried
    /// [`receive_whole`](Self::receive_whole) where it applies: the fast case is a shortcut,
    /// the general path finds the same (`fast_path_props`).
    #[inline(never)]
    pub(crate) fn receive_general<'a>(
        &mut self,
        input: &'a mut [u8],
        scratch: &'a mut [u8],
    ) -> Received<'a> {
        if let Some(info) = self.undelivered_close() {
            return Received {
                consumed: 0,
                event: Some(Event::Closed(info)),
            };
        }
        match self.phase {
            Phase::Closed => Received {
                consumed: input.len(),
                event: None,
            },
            #[cfg(feature = "server")]
            Phase::ServerRequest(_) => self.receive_request(input),
            Phase::ClientResponse { .. } => self.receive_response(input),
            // Frames that follow the handshake wait until it is done.
            #[cfg(feature = "server")]
            Phase::ServerDecide { .. } => Received {
                consumed: 0,
                event: None,
            },
            Phase::ClientNew => Received {
                consumed: 0,
                event: None,
            },
            Phase::Open(_) if self.close_in.is_some() => {
                // §5.5.1: after a close frame the peer sends nothing more; anything is dropped.
                Received {
                    consumed: input.len(),
                    event: None,
                }
            }
            Phase::Open(_) => {
                // A `Plain` connection never has deflate state: the test goes with the type.
                #[cfg(feature = "deflate")]
                if X::INFLATES && self.deflate.is_some() {
                    return self.receive_frame_deflate(input, scratch);
                }
                #[cfg(not(feature = "deflate"))]
                let _ = scratch;
                self.receive_frame(input)
            }
        }
    }

    /// The fast case of [`receive`](Self::receive), for the most common input: OPEN, between
    /// messages, and `input` starts with a whole unfragmented text or binary message without
    /// RSV bits (so not compressed). It skips the decoder's state machine and the dispatch of
    /// the general path, but asks the same questions through the same functions:
    /// [`decode_header_fast`] (FIN, RSV bits and opcode, §5.2, §5.5; minimal length encoding,
    /// §5.2: the first step of the decoder's own `decode_header`, for 7- and 16-bit lengths),
    /// [`check_header`] (masking by role, §5.1; the frame limit), [`check_message_size`] and
    /// [`from_utf8`](crate::utf8::from_utf8) (UTF-8, §8.1, what [`check_text`] finds for a whole
    /// message). The payload is unmasked in place;
    /// the decoder stays between frames and no message is left in progress, exactly as after
    /// the general path. Anything else is `No`, with nothing changed.
    #[inline(always)]
    fn receive_whole_message(&mut self, input: &mut [u8]) -> Whole {
        #[cfg(test)]
        if !self.fast_path {
            return Whole::No;
        }
        let open = matches!(self.phase, Phase::Open(_)) && self.close_in.is_none();
        if !open || self.incoming.is_some() || !self.decoder.is_idle() {
            return Whole::No;
        }
        // The case: FIN, no RSV bit, text or binary. (Selecting it is not checking it: the
        // header still goes through every rule below.)
        let kind = match input.first() {
            Some(0x81) => DataKind::Text,
            Some(0x82) => DataKind::Binary,
            _ => return Whole::No,
        };
        let Some((header, header_len)) =
            decode_header_fast(input, self.decoder.config().allowed_rsv)
        else {
            return Whole::No;
        };
        if check_header(self.decoder.config(), &header).is_err() {
            return Whole::No;
        }
        // `decode_header_fast` takes 7- and 16-bit lengths only: the payload's end cannot
        // overflow.
        let len = header.payload_len as usize;
        let Some(payload) = input.get_mut(header_len..header_len + len) else {
            return Whole::No;
        };
        // §5.4 holds: no message is in progress and this is not a continuation.
        if let Err(err) = check_message_size(0, &header, self.config.max_message_size) {
            return Whole::Failed(err);
        }
        if let Some(key) = header.mask {
            apply_mask(payload, key, 0);
        }
        // §8.1 on the whole message in one call: the same result as feeding the validator and
        // finishing it (the `utf8` module's contract: exactly `from_utf8` on the whole message),
        // without its carry bookkeeping; the validator, between messages, is not touched.
        if kind == DataKind::Text {
            if let Err(err) = crate::utf8::from_utf8(payload) {
                return Whole::Failed(ProtocolError::InvalidUtf8(err));
            }
        }
        Whole::Message {
            kind,
            header_len,
            len,
        }
    }

    /// The OPEN receive path without deflate: the decoder's next chunk, through the data or
    /// the control rules.
    fn receive_frame<'a>(&mut self, input: &'a mut [u8]) -> Received<'a> {
        let len = input.len();
        let chunk = match self.next_chunk(input) {
            Ok(chunk) => chunk,
            Err(received) => return received,
        };
        let event = match chunk.header.opcode {
            OpCode::Text | OpCode::Binary | OpCode::Continuation => self.receive_data(&chunk),
            OpCode::Ping | OpCode::Pong | OpCode::Close => {
                self.receive_control(chunk.header.opcode, chunk.payload)
            }
        };
        self.deliver(event, chunk.consumed, len)
    }

    /// The decoder's next chunk. `Err` holds what `receive` returns at once: nothing to hand
    /// out yet, or the failure for a frame that breaks §5.
    // `Received` is large (an event may hold a parsed request), but this is inlined into its two
    // callers, so the `Err` is never moved through memory.
    #[allow(clippy::result_large_err)]
    #[inline(always)]
    pub(super) fn next_chunk<'a>(
        &mut self,
        input: &'a mut [u8],
    ) -> Result<Chunk<'a>, Received<'a>> {
        let len = input.len();
        match self.decoder.decode_retaining(input) {
            Err(err) => Err(self.fail_now(ProtocolError::Frame(err), len)),
            Ok(Decoded {
                consumed,
                chunk: None,
            }) => Err(Received {
                consumed,
                event: None,
            }),
            Ok(Decoded {
                consumed,
                chunk: Some(chunk),
            }) => Ok(Chunk {
                header: chunk.header,
                frame_start: chunk.frame_start,
                frame_fin: chunk.is_frame_end(),
                payload: chunk.payload,
                consumed,
            }),
        }
    }

    /// The event found in `consumed` bytes, or the failure it caused (§7.1.7: the rest of the
    /// `len` input bytes is discarded).
    #[inline(always)]
    pub(super) fn deliver<'a>(
        &mut self,
        event: Result<Event<'a>, ProtocolError>,
        consumed: usize,
        len: usize,
    ) -> Received<'a> {
        match event {
            Ok(event) => Received {
                consumed,
                event: Some(event),
            },
            Err(err) => self.fail_now(err, len),
        }
    }

    /// A whole ping, pong or close frame.
    pub(super) fn receive_control<'a>(
        &mut self,
        opcode: OpCode,
        payload: &'a [u8],
    ) -> Result<Event<'a>, ProtocolError> {
        Ok(match opcode {
            OpCode::Ping => {
                // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
                // response, unless it already received a Close frame." Once our close is out,
                // nothing else may follow it.
                if let Phase::Open(pong) = &mut self.phase {
                    if self.config.auto_pong && self.close_out == CloseOut::None {
                        pong.payload[..payload.len()].copy_from_slice(payload);
                        pong.len = payload.len() as u8;
                        pong.queued = true;
                    }
                }
                Event::Ping(payload)
            }
            OpCode::Pong => {
                // Any pong proves the peer alive; an unsolicited one is allowed (§5.5.3).
                self.set_deadline(Timer::Pong, None);
                Event::Pong(payload)
            }
            OpCode::Close => {
                let parsed = parse_close_payload(payload).map_err(ProtocolError::InvalidClose)?;
                let (code, reason) = parsed.unwrap_or((CloseCode::NO_STATUS, ""));
                self.close_received(code, parsed.is_some());
                Event::CloseReceived { code, reason }
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                unreachable!("receive_control is called for control frames only")
            }
        })
    }

    /// What every data chunk handed out goes through, plain or inflated: text is checked as
    /// UTF-8 ([`check_text`]), and the message ends with its last chunk.
    #[inline(always)]
    pub(super) fn end_data_chunk(
        &mut self,
        kind: DataKind,
        chunk: &[u8],
        message_fin: bool,
    ) -> Result<(), ProtocolError> {
        check_text(&mut self.incoming_utf8, kind, chunk, message_fin)?;
        if message_fin {
            self.incoming = None;
        }
        Ok(())
    }

    /// A chunk of a text or binary frame, uncompressed.
    #[inline]
    pub(super) fn receive_data<'a>(
        &mut self,
        chunk: &Chunk<'a>,
    ) -> Result<Event<'a>, ProtocolError> {
        let header = &chunk.header;
        let incoming = self.start_data_frame(header, chunk.frame_start)?;
        let message_start = chunk.frame_start && header.opcode != OpCode::Continuation;
        let message_fin = chunk.frame_fin && header.fin;
        self.end_data_chunk(incoming.kind, chunk.payload, message_fin)?;
        Ok(Event::Data {
            kind: incoming.kind,
            chunk: chunk.payload,
            message_start,
            frame_fin: chunk.frame_fin,
            message_fin,
        })
    }

    /// At a data frame's first chunk: the §5.4 ordering rules and the message size limit.
    /// Returns the message in progress.
    #[inline(always)]
    pub(super) fn start_data_frame(
        &mut self,
        header: &FrameHeader,
        frame_start: bool,
    ) -> Result<Incoming, ProtocolError> {
        if frame_start {
            // §5.4: a continuation needs a message in progress, and a new message must wait for
            // the previous one's last fragment.
            let announced = match (header.opcode, self.incoming) {
                (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
                (OpCode::Continuation, Some(incoming)) => incoming.announced,
                (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
                (opcode, None) => {
                    let kind = if opcode == OpCode::Text {
                        DataKind::Text
                    } else {
                        DataKind::Binary
                    };
                    self.incoming = Some(Incoming {
                        kind,
                        announced: 0,
                        // RFC 7692 §6: RSV1 on a message's first frame marks it compressed.
                        #[cfg(feature = "deflate")]
                        compressed: header.rsv.contains(Rsv::RSV1),
                    });
                    self.incoming_utf8.reset();
                    0
                }
            };
            let size = check_message_size(announced, header, self.config.max_message_size)?;
            if let Some(incoming) = &mut self.incoming {
                incoming.announced = size;
            }
        }
        match self.incoming {
            Some(incoming) => Ok(incoming),
            None => unreachable!("a data chunk always has a message in progress"),
        }
    }
}

/// The message limit, checked as each frame header arrives: a message that has announced
/// `announced` bytes, with `header`'s frame added. Returns the new total.
#[inline(always)]
pub(super) fn check_message_size(
    announced: u64,
    header: &FrameHeader,
    max: u64,
) -> Result<u64, ProtocolError> {
    let size = announced.saturating_add(header.payload_len);
    if size > max {
        return Err(ProtocolError::MessageTooBig { size, max });
    }
    Ok(size)
}

/// §8.1: a text message is UTF-8. Fails fast, at the first byte that cannot be part of valid
/// UTF-8, and checks the whole message at its end (`message_fin`). Binary passes.
#[inline(always)]
pub(super) fn check_text(
    utf8: &mut Utf8Validator,
    kind: DataKind,
    chunk: &[u8],
    message_fin: bool,
) -> Result<(), ProtocolError> {
    if kind == DataKind::Text {
        utf8.feed(chunk).map_err(ProtocolError::InvalidUtf8)?;
        if message_fin {
            utf8.finish().map_err(ProtocolError::InvalidUtf8)?;
        }
    }
    Ok(())
}

impl<E: Entropy> Connection<E, Plain> {
    /// Processes received bytes and returns at most one event.
    ///
    /// Payloads are unmasked in place in `input`, and events borrow it. Call again with the
    /// unconsumed rest (`&mut input[consumed..]`) until the event is `None`; then append newly
    /// read bytes behind the unconsumed ones and call again. Bytes are left unconsumed only while
    /// something is incomplete (a handshake head, a frame header, a control frame), so the
    /// buffer must hold at least `max_head_len` bytes during the handshake and 139 afterwards.
    ///
    /// After CLOSED, input is consumed and ignored. An empty `input` is fine: it collects an
    /// [`Event::Closed`] that a timer or the end of input caused.
    ///
    /// ```
    /// use wsproto::config::Config;
    /// use wsproto::connection::{Connection, Event};
    /// use wsproto::time::Instant;
    /// use wsproto::Role;
    ///
    /// let mut ws = Connection::open(Config::default(), Role::Client, |b: &mut [u8]| b.fill(7), Instant::default()).unwrap();
    /// let mut input = *b"\x81\x02hi\x89\x00";
    /// let r = ws.receive(&mut input, Instant::default());
    /// let consumed = r.consumed; // read it before the event's borrow of `input` ends
    /// assert!(matches!(r.event, Some(Event::Data { chunk: b"hi", message_fin: true, .. })));
    /// let r2 = ws.receive(&mut input[consumed..], Instant::default());
    /// assert!(matches!(r2.event, Some(Event::Ping(b""))));
    /// ```
    ///
    /// Only a [`Plain`] connection has this method: one that may inflate (`PerMessageDeflate`,
    /// feature `deflate`) receives with [`receive_into`](Self::receive_into).
    #[inline]
    pub fn receive<'a>(&mut self, input: &'a mut [u8], now: Instant) -> Received<'a> {
        self.receive_into(input, &mut [], now)
    }
}
