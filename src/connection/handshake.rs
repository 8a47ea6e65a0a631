//! The opening handshake as the connection drives it (RFC 6455 §4).
//!
//! Read §4.1 (the client's request and its checks of the response) and §4.2 (the server's side)
//! first. The field rules themselves belong to [`crate::handshake`]; this file moves a
//! connection from CONNECTING to OPEN (or CLOSED) with them.

use crate::entropy::Entropy;
use crate::handshake::{
    self, ClientRequest, ExtensionOffer, HandshakeError, HeadLimits, HeadScanner,
};
#[cfg(feature = "server")]
use crate::handshake::{AcceptOptions, Rejection};
use crate::role::Role;
use crate::time::Instant;

use super::events::{CLOSED_ABNORMALLY, Error, Event, ProtocolError, Received};
use super::state::{Connection, Offers, PendingPong, Phase, Receiving, Timer};

impl Offers {
    /// The most subprotocols, and the most extensions, a client may offer.
    pub(super) const MAX: usize = 8;

    fn hash(name: &str) -> u32 {
        name.bytes().fold(0x811c_9dc5, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        })
    }

    pub(super) fn new(request: &ClientRequest<'_>) -> Result<Offers, Error> {
        let mut offers = Offers::default();
        if request.subprotocols.len() > Offers::MAX || request.extensions.len() > Offers::MAX {
            return Err(Error::TooManyOffers);
        }
        for (slot, p) in offers.subprotocols.iter_mut().zip(request.subprotocols) {
            *slot = Offers::hash(p);
        }
        for (slot, e) in offers.extensions.iter_mut().zip(request.extensions) {
            // The name rule of `handshake::check_offered` (§9.1): an offer may be a bare name or
            // a whole offer with parameters, whose name `ExtensionOffer::parse` finds.
            let name = ExtensionOffer::parse(e).map_or(*e, |offer| offer.name());
            *slot = Offers::hash(name);
        }
        offers.n_subprotocols = request.subprotocols.len() as u8;
        offers.n_extensions = request.extensions.len() as u8;
        Ok(offers)
    }

    fn has_subprotocol(&self, name: &str) -> bool {
        self.subprotocols[..usize::from(self.n_subprotocols)].contains(&Offers::hash(name))
    }

    fn has_extension(&self, name: &str) -> bool {
        self.extensions[..usize::from(self.n_extensions)].contains(&Offers::hash(name))
    }
}

impl<E: Entropy, X: Receiving> Connection<E, X> {
    /// Client: writes the opening handshake request into `out` and returns its length. `now`
    /// starts the handshake timer. At most 8 subprotocols and 8 extensions may be offered.
    ///
    /// # Errors
    ///
    /// [`Error::NoPendingHandshake`] if already called, [`Error::WrongRole`] on a server,
    /// [`Error::TooManyOffers`] for more than 8 subprotocols or 8 extensions,
    /// [`Error::Handshake`] for an invalid request, [`Error::BufferTooSmall`] if `out` cannot
    /// hold the request.
    pub fn connect(
        &mut self,
        request: &ClientRequest<'_>,
        now: Instant,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if self.role != Role::Client {
            return Err(Error::WrongRole);
        }
        if !matches!(self.phase, Phase::ClientNew) {
            return Err(Error::NoPendingHandshake);
        }
        let offers = Offers::new(request)?;
        let mut nonce = [0u8; 16];
        self.entropy.fill(&mut nonce);
        let written = handshake::write_request(request, &nonce, out).map_err(map_write_error)?;
        self.tick(now);
        self.phase = Phase::ClientResponse {
            key: handshake::request_key(&nonce),
            offers,
            scanner: HeadScanner::new(),
        };
        self.set_deadline(
            Timer::Handshake,
            self.config.handshake_timeout.map(|t| now + t),
        );
        Ok(written)
    }

    /// Server: accepts the pending request, writing the `101 Switching Protocols` response into
    /// `out`. The connection is OPEN. The application picks `options.subprotocol` from those the
    /// request offered.
    ///
    /// # Errors
    ///
    /// [`Error::NoPendingHandshake`] without a pending request, [`Error::Handshake`] for an
    /// invalid header, [`Error::BufferTooSmall`] if `out` cannot hold the response.
    #[cfg(feature = "server")]
    pub fn accept(&mut self, options: &AcceptOptions<'_>, out: &mut [u8]) -> Result<usize, Error> {
        let Phase::ServerDecide { accept } = self.phase else {
            return Err(Error::NoPendingHandshake);
        };
        let written = handshake::write_accept(&accept, options, out).map_err(map_write_error)?;
        self.phase = Phase::Open(PendingPong::NONE);
        self.set_deadline(Timer::Handshake, None);
        self.start_keepalive(self.clock);
        Ok(written)
    }

    /// Server: writes the response that refuses the pending request with `rejection`'s status
    /// (401, 403, 404 …), headers and body into `out` (errors as for [`accept`](Self::accept)).
    /// The connection is CLOSED; [`poll_transmit`](Self::poll_transmit) then asks for the
    /// transport to be shut down.
    #[cfg(feature = "server")]
    pub fn reject(&mut self, rejection: &Rejection<'_>, out: &mut [u8]) -> Result<usize, Error> {
        if !matches!(self.phase, Phase::ServerDecide { .. }) {
            return Err(Error::NoPendingHandshake);
        }
        let written = handshake::write_reject(rejection, out).map_err(map_write_error)?;
        self.finish_abnormally(ProtocolError::Rejected(rejection.status));
        Ok(written)
    }

    #[cfg(feature = "server")]
    pub(super) fn receive_request<'a>(&mut self, input: &'a mut [u8]) -> Received<'a> {
        let Phase::ServerRequest(scanner) = &mut self.phase else {
            unreachable!("receive_request is called in ServerRequest only");
        };
        let limits = HeadLimits {
            max_head_len: self.config.max_head_len,
            max_headers: self.config.max_headers,
        };
        let input: &'a [u8] = input;
        match scanner.parse_request(input, &limits) {
            Ok(Some(request)) => {
                self.phase = Phase::ServerDecide {
                    accept: request.accept_key(),
                };
                Received {
                    consumed: request.head_len(),
                    event: Some(Event::Request(request)),
                }
            }
            Ok(None) => Received {
                consumed: 0,
                event: None,
            },
            Err(err) => self.handshake_failed(err, input.len()),
        }
    }

    pub(super) fn receive_response<'a>(&mut self, input: &'a mut [u8]) -> Received<'a> {
        let Phase::ClientResponse {
            key,
            offers,
            scanner,
        } = &mut self.phase
        else {
            unreachable!("receive_response is called in ClientResponse only");
        };
        let (key, offers) = (*key, *offers);
        let limits = HeadLimits {
            max_head_len: self.config.max_head_len,
            max_headers: self.config.max_headers,
        };
        let input: &'a [u8] = input;
        let response = match scanner.parse_response(input, &key, &limits) {
            Ok(Some(response)) => response,
            Ok(None) => {
                return Received {
                    consumed: 0,
                    event: None,
                };
            }
            Err(err) => return self.handshake_failed(err, input.len()),
        };
        // §4.1: a subprotocol or extension the client did not offer fails the connection.
        if let Some(p) = response.subprotocol() {
            if !offers.has_subprotocol(p) {
                return self.handshake_failed(HandshakeError::UnexpectedSubprotocol, input.len());
            }
        }
        for extension in response.extensions() {
            if !offers.has_extension(extension.name()) {
                return self.handshake_failed(HandshakeError::UnexpectedExtension, input.len());
            }
        }
        self.phase = Phase::Open(PendingPong::NONE);
        self.set_deadline(Timer::Handshake, None);
        self.start_keepalive(self.clock);
        Received {
            consumed: response.head_len(),
            event: Some(Event::Accepted(response)),
        }
    }

    /// The handshake failed on the peer's bytes: a server answers 400 or 426 (queued for
    /// `poll_transmit`); a client just closes. The input is discarded.
    fn handshake_failed<'a>(&mut self, err: HandshakeError, len: usize) -> Received<'a> {
        #[cfg(feature = "server")]
        if self.role == Role::Server {
            self.handshake_error_response = Some(err);
        }
        self.finish_abnormally(ProtocolError::Handshake(err));
        self.closed_delivered = true;
        Received {
            consumed: len,
            event: Some(Event::Closed(self.info.unwrap_or(CLOSED_ABNORMALLY))),
        }
    }
}

pub(super) fn map_write_error(err: HandshakeError) -> Error {
    match err {
        HandshakeError::BufferTooSmall { needed } => Error::BufferTooSmall { needed },
        other => Error::Handshake(other),
    }
}
