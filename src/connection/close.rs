//! Closing and timers: the closing handshake, failing the connection, and the four deadlines
//! (RFC 6455 §7).
//!
//! Read §5.5.1 (the close frame), §7.1 (closing the connection, including §7.1.1: the server
//! closes TCP first, and §7.1.7: failing the connection) and §7.4 (status codes) first.

use crate::close::{CloseCode, build_close_payload};
use crate::entropy::Entropy;
use crate::frame::{MAX_CONTROL_PAYLOAD, OpCode};
use crate::role::Role;
use crate::time::Instant;

use super::events::{
    CLOSED_ABNORMALLY, CloseInfo, Error, Event, ProtocolError, ReadyState, Received,
};
use super::send::frame_len;
use super::state::{CloseOut, Connection, Phase, Receiving, Timer, UNSET};

impl<E: Entropy, X: Receiving> Connection<E, X> {
    /// The transport's read side ended (TCP FIN or an error): no more input will come.
    ///
    /// If the closing handshake had completed, the connection is CLOSED cleanly; otherwise
    /// abnormally, with code 1006 (§7.1.5). The [`Event::Closed`] comes from the next
    /// [`receive`](Self::receive) call (an empty input is fine).
    pub fn receive_eof(&mut self, now: Instant) {
        self.tick(now);
        match (&self.phase, self.close_in) {
            (Phase::Closed, _) => {}
            (Phase::Open(_), Some(_)) if self.close_out != CloseOut::None => self.finish_clean(),
            // §7.1.5: the close code is the one in the first close frame received, if any.
            (Phase::Open(_), Some(code)) => self.finish(CloseInfo {
                clean: false,
                code,
                error: Some(ProtocolError::UnexpectedEof),
            }),
            _ => self.finish_abnormally(ProtocolError::UnexpectedEof),
        }
    }

    /// Fires the timers that are due at `now`: the handshake deadline, the close timeout, the
    /// keepalive ping and its pong deadline. Queued frames come from
    /// [`poll_transmit`](Self::poll_transmit), an [`Event::Closed`] from the next
    /// [`receive`](Self::receive).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        let deadlines = self.deadlines;
        let due = |timer: Timer| deadlines[timer as usize] <= now.as_millis();
        if due(Timer::Handshake) && self.state() == ReadyState::Connecting {
            self.set_deadline(Timer::Handshake, None);
            self.finish_abnormally(ProtocolError::HandshakeTimeout);
            return;
        }
        if due(Timer::Close) {
            self.set_deadline(Timer::Close, None);
            if self.close_in.is_some() && self.close_out != CloseOut::None {
                // §7.1.1: a client that waited long enough for the server's TCP close may
                // close it itself. The close handshake did complete.
                self.finish_clean();
            } else {
                self.finish_abnormally(ProtocolError::CloseTimeout);
            }
            return;
        }
        if due(Timer::Pong) {
            self.fail(ProtocolError::KeepaliveTimeout);
            return;
        }
        if due(Timer::Keepalive) && self.state() == ReadyState::Open {
            self.keepalive_ping_queued = true;
            self.keepalive_count = self.keepalive_count.wrapping_add(1);
            self.set_deadline(
                Timer::Keepalive,
                self.config.keepalive_interval.map(|i| now + i),
            );
            if self.deadline(Timer::Pong).is_none() {
                self.set_deadline(Timer::Pong, Some(now + self.config.keepalive_timeout));
            }
        }
    }

    /// The next instant at which [`handle_timeout`](Self::handle_timeout) has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if matches!(self.phase, Phase::Closed) {
            return None;
        }
        let next = self.deadlines.into_iter().min().unwrap_or(UNSET);
        (next != UNSET).then_some(Instant::from_millis(next))
    }

    pub(super) fn close_received(&mut self, code: CloseCode, had_code: bool) {
        self.close_in = Some(code);
        match self.close_out {
            CloseOut::None if self.config.auto_close_reply => {
                // §5.5.1: "the endpoint MUST send a Close frame in response ... typically
                // echoing the status code it received."
                self.close_out = CloseOut::Queued {
                    code: had_code.then_some(code),
                    reason: "",
                };
                self.after_close_exchange();
            }
            CloseOut::None => {}
            CloseOut::Queued { .. } | CloseOut::Sent => self.after_close_exchange(),
        }
    }

    /// Both close frames are sent or queued. §7.1.1: the server closes the TCP connection
    /// first; the client waits for that, up to the close timeout.
    fn after_close_exchange(&mut self) {
        if let Phase::Open(pong) = &mut self.phase {
            pong.queued = false;
        }
        self.keepalive_ping_queued = false;
        self.set_deadline(Timer::Pong, None);
        self.set_deadline(Timer::Keepalive, None);
        match self.role {
            Role::Server => self.finish_clean(),
            Role::Client => {
                self.set_deadline(Timer::Close, Some(self.clock + self.config.close_timeout))
            }
        }
    }

    /// Starts (or, after the peer's close with `auto_close_reply` off, answers) the closing
    /// handshake: writes queued control frames and a close frame with `code` and `reason` into
    /// `out`. The close timeout starts at `now`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidClose`] for a code that may not be sent (1005, 1006, 1015, < 1000 …) or a
    /// reason over 123 bytes, [`Error::CloseAlreadySent`], [`Error::InvalidState`] before OPEN,
    /// [`Error::BufferTooSmall`].
    pub fn close(
        &mut self,
        code: CloseCode,
        reason: &str,
        now: Instant,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = build_close_payload(code, reason, &mut payload).map_err(Error::InvalidClose)?;
        if !matches!(self.phase, Phase::Open(_)) {
            return Err(Error::InvalidState(self.state()));
        }
        if self.close_out != CloseOut::None {
            return Err(Error::CloseAlreadySent);
        }
        let masked = self.role == Role::Client;
        let needed = self.queued_len() + frame_len(len, masked);
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        self.tick(now);
        let mut written = self.write_queued(out);
        written += self.write_control(OpCode::Close, &payload[..len], &mut out[written..]);
        self.close_out = CloseOut::Sent;
        if self.close_in.is_some() {
            self.after_close_exchange();
        } else {
            self.set_deadline(Timer::Close, Some(now + self.config.close_timeout));
            self.set_deadline(Timer::Pong, None);
            self.set_deadline(Timer::Keepalive, None);
        }
        Ok(written)
    }

    fn deadline(&self, timer: Timer) -> Option<Instant> {
        let at = self.deadlines[timer as usize];
        (at != UNSET).then_some(Instant::from_millis(at))
    }

    pub(super) fn set_deadline(&mut self, timer: Timer, at: Option<Instant>) {
        // `UNSET` itself is the end of time: a deadline there never fires anyway.
        self.deadlines[timer as usize] = at.map_or(UNSET, Instant::as_millis);
    }

    pub(super) fn start_keepalive(&mut self, now: Instant) {
        self.set_deadline(
            Timer::Keepalive,
            self.config.keepalive_interval.map(|i| now + i),
        );
    }

    /// [`fail_now`](Self::fail_now), out of the fast path's way.
    #[cold]
    #[inline(never)]
    pub(super) fn fail_now_cold<'a>(&mut self, err: ProtocolError, len: usize) -> Received<'a> {
        self.fail_now(err, len)
    }

    /// Fails the connection from inside `receive` (§7.1.7): queues a close frame with the
    /// error's code, goes CLOSED, discards the rest of the input, and reports it at once.
    pub(super) fn fail_now<'a>(&mut self, err: ProtocolError, len: usize) -> Received<'a> {
        Received {
            consumed: len,
            event: Some(Event::Closed(self.fail_reported(err))),
        }
    }

    /// Fails the connection for `err` (§7.1.7) and returns how it ended, reported to the caller
    /// as its `Closed` event (given once). For a failure the fast case found
    /// ([`Whole::Failed`](super::receive::Whole::Failed)) and for [`fail_now`](Self::fail_now).
    #[cold]
    pub(crate) fn fail_reported(&mut self, err: ProtocolError) -> CloseInfo {
        self.fail(err);
        self.closed_delivered = true;
        self.info.unwrap_or(CLOSED_ABNORMALLY)
    }

    /// §7.1.7 "Fail the WebSocket Connection": send a close frame with the code (unless one was
    /// sent already), then close the transport without waiting.
    pub(super) fn fail(&mut self, err: ProtocolError) {
        let code = err.close_code();
        if self.close_out == CloseOut::None && code != CloseCode::ABNORMAL {
            self.close_out = CloseOut::Queued {
                code: Some(code),
                reason: err.reason(),
            };
        }
        self.finish(CloseInfo {
            clean: false,
            code,
            error: Some(err),
        });
    }

    /// Goes CLOSED without a close frame from us: 1006, which is never sent (§7.1.5, §7.4.1).
    pub(super) fn finish_abnormally(&mut self, err: ProtocolError) {
        self.finish(CloseInfo {
            clean: false,
            code: CloseCode::ABNORMAL,
            error: Some(err),
        });
    }

    fn finish_clean(&mut self) {
        let code = self.close_in.unwrap_or(CloseCode::NO_STATUS);
        self.finish(CloseInfo {
            clean: true,
            code,
            error: None,
        });
    }

    /// Goes CLOSED: nothing more is read; what is queued is still written, then the transport
    /// is to be shut down.
    pub(super) fn finish(&mut self, info: CloseInfo) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        self.phase = Phase::Closed;
        self.info = Some(info);
        self.keepalive_ping_queued = false;
        self.deadlines = [UNSET; 4];
        self.shutdown_pending = true;
    }

    pub(super) fn undelivered_close(&mut self) -> Option<CloseInfo> {
        if self.closed_delivered {
            return None;
        }
        let info = self.info?;
        self.closed_delivered = true;
        Some(info)
    }
}
