//! Opening handshakes done by an HTTP library, in the `http` crate's types (feature `http`).
//!
//! hyper (or any library speaking `http::Request` / `http::Response`) parses the request and
//! writes the response; this module checks the request with the core's rules and builds the
//! answer, then [`WebSocket::open`](crate::WebSocket::open) runs the upgraded stream. Two front
//! doors, told apart by the request's version:
//!
//! | version | request | answer | then |
//! |---|---|---|---|
//! | HTTP/1.1 | `GET` with `Upgrade: websocket` (RFC 6455 §4) | `101` with `Sec-WebSocket-Accept` | hyper: `hyper::upgrade::on(req)` |
//! | HTTP/2, HTTP/3 | extended `CONNECT` with `:protocol websocket` (RFC 8441 §4, §5; RFC 9220) | `200` | hyper: `hyper::upgrade::on(req)` |
//!
//! The pseudo-header fields of HTTP/2 and HTTP/3 are not in the `HeaderMap`: the library
//! turned them into the method, the URI and, for `:protocol`, an extension of its own type
//! (`hyper::ext::Protocol`, `h2::ext::Protocol`). [`HttpFields`] puts them back, so that the
//! core's [`check_connect_request`] sees the header
//! list as it was sent. Every rule lives in the core; nothing here re-implements one.
//!
//! Server, with hyper:
//!
//! ```no_run
//! # async fn handler(req: http::Request<()>) -> http::Response<()> {
//! use wsproto_tokio::{Config, Role, WebSocket, http::check_request};
//! let checked = match check_request(&req, &Config::default()) {
//!     Ok(checked) => checked,
//!     Err(err) => return wsproto_tokio::http::error_response(&err, req.version()),
//! };
//! let subprotocol = checked.subprotocols().find(|p| *p == "chat").map(String::from);
//! let Ok(response) = checked.accept_response(subprotocol.as_deref()) else {
//!     return http::Response::builder().status(500).body(()).unwrap();
//! };
//! // tokio::spawn(async move {
//! //     let stream = hyper_util::rt::TokioIo::new(hyper::upgrade::on(req).await?);
//! //     let ws = WebSocket::server(stream, Config::default(), subprotocol.as_deref())?;
//! //     …
//! // });
//! response
//! # }
//! ```

use ::http::header::{HeaderMap, HeaderName, HeaderValue};
use ::http::request::Parts;
use ::http::{Extensions, Method, Request, Response, StatusCode, Uri, Version};
use wsproto::config::Config;
use wsproto::handshake::{
    ClientConnect, ClientRequest, ConnectRequest, ConnectResponse, Extensions as OfferedExtensions,
    Field, HandshakeError, HeadLimits, HeaderBlock, HeaderList, HttpVersion, Subprotocols,
    UpgradeRequest, UpgradeResponse, check_connect_request, check_connect_response,
    check_upgrade_request, check_upgrade_response, connect_accept_headers, connect_error_headers,
    connect_request_headers, request_key, upgrade_accept_headers, upgrade_request_headers,
};

/// A header field as byte pairs.
type Pair<'a> = (&'a [u8], &'a [u8]);

/// The most pseudo-header fields a message has: a request's `:method`, `:protocol`,
/// `:scheme`, `:path`, `:authority`.
const MAX_PSEUDO: usize = 5;

/// The `:protocol` of an extended CONNECT request (RFC 8441 §4), from the request's
/// extensions: hyper's server stores it as `hyper::ext::Protocol`, the `h2` crate's as
/// `h2::ext::Protocol`.
pub fn protocol_of(extensions: &Extensions) -> Option<&str> {
    extensions
        .get::<hyper::ext::Protocol>()
        .map(hyper::ext::Protocol::as_str)
        .or_else(|| {
            extensions
                .get::<h2::ext::Protocol>()
                .map(h2::ext::Protocol::as_str)
        })
}

/// Every three-digit number's digits, `000` to `999`, for a `:status` value that outlives the
/// `StatusCode` (a `Copy` value whose `as_str` borrows it).
static STATUS_DIGITS: [u8; 3000] = {
    let mut digits = [0u8; 3000];
    let mut n = 0;
    while n < 1000 {
        digits[3 * n] = b'0' + (n / 100) as u8;
        digits[3 * n + 1] = b'0' + (n / 10 % 10) as u8;
        digits[3 * n + 2] = b'0' + (n % 10) as u8;
        n += 1;
    }
    digits
};

/// The three digits of `status` (100–999, as `http` guarantees).
fn status_digits(status: StatusCode) -> &'static [u8] {
    let at = 3 * usize::from(status.as_u16() % 1000);
    &STATUS_DIGITS[at..at + 3]
}

/// True for the versions that carry pseudo-header fields (HTTP/2, HTTP/3).
fn has_pseudo_headers(version: Version) -> bool {
    version == Version::HTTP_2 || version == Version::HTTP_3
}

/// The header fields of an `http::Request` or `http::Response` as a core
/// [`HeaderList`]: for HTTP/2 and HTTP/3, the pseudo-header fields rebuilt from the method, the
/// URI, the `:protocol` extension or the status, first; then every field of the `HeaderMap`.
/// Nothing is copied.
#[derive(Clone, Debug)]
pub struct HttpFields<'a> {
    pseudo: [Pair<'a>; MAX_PSEUDO],
    pseudo_len: usize,
    map: &'a HeaderMap,
}

impl<'a> HttpFields<'a> {
    /// The fields of `map` alone, with no pseudo-header fields (an HTTP/1.1 message).
    pub fn from_map(map: &'a HeaderMap) -> Self {
        HttpFields {
            pseudo: [(&[], &[]); MAX_PSEUDO],
            pseudo_len: 0,
            map,
        }
    }

    /// A request's fields. For HTTP/2 and HTTP/3: `:method`, `:protocol` (if the extensions
    /// hold one, see [`protocol_of`]), `:scheme`, `:path`, `:authority` (each only if the URI
    /// has that part: a missing one is the core's to report).
    pub fn request<B>(req: &'a Request<B>) -> Self {
        Self::request_parts(
            req.method(),
            req.version(),
            req.uri(),
            protocol_of(req.extensions()),
            req.headers(),
        )
    }

    /// A request's fields from its parts; `protocol` is the `:protocol` pseudo-header field.
    pub fn request_parts(
        method: &'a Method,
        version: Version,
        uri: &'a Uri,
        protocol: Option<&'a str>,
        map: &'a HeaderMap,
    ) -> Self {
        let mut fields = Self::from_map(map);
        if has_pseudo_headers(version) {
            fields.push(b":method", method.as_str().as_bytes());
            if let Some(protocol) = protocol {
                fields.push(b":protocol", protocol.as_bytes());
            }
            if let Some(scheme) = uri.scheme_str() {
                fields.push(b":scheme", scheme.as_bytes());
            }
            if let Some(path) = uri.path_and_query() {
                fields.push(b":path", path.as_str().as_bytes());
            }
            if let Some(authority) = uri.authority() {
                fields.push(b":authority", authority.as_str().as_bytes());
            }
        }
        fields
    }

    /// A response's fields. For HTTP/2 and HTTP/3: `:status`.
    pub fn response<B>(res: &'a Response<B>) -> Self {
        let mut fields = Self::from_map(res.headers());
        if has_pseudo_headers(res.version()) {
            fields.push(b":status", status_digits(res.status()));
        }
        fields
    }

    fn push(&mut self, name: &'static [u8], value: &'a [u8]) {
        if let Some(slot) = self.pseudo.get_mut(self.pseudo_len) {
            *slot = (name, value);
            self.pseudo_len += 1;
        }
    }
}

impl<'a> HeaderList<'a> for HttpFields<'a> {
    type Iter = core::iter::Chain<
        core::iter::Take<core::array::IntoIter<Pair<'a>, MAX_PSEUDO>>,
        HeaderMapPairs<'a>,
    >;

    fn header_pairs(&self) -> Self::Iter {
        self.pseudo
            .into_iter()
            .take(self.pseudo_len)
            .chain(HeaderMapPairs::new(self.map))
    }
}

/// The fields of a `HeaderMap` as byte pairs, every value of every name. Cloneable, as
/// [`HeaderList`] needs (`http`'s own iterator is not): a clone walks the map again to the same
/// place.
#[derive(Debug)]
pub struct HeaderMapPairs<'a> {
    map: &'a HeaderMap,
    iter: ::http::header::Iter<'a, HeaderValue>,
    yielded: usize,
}

impl<'a> HeaderMapPairs<'a> {
    fn new(map: &'a HeaderMap) -> Self {
        HeaderMapPairs {
            map,
            iter: map.iter(),
            yielded: 0,
        }
    }
}

impl Clone for HeaderMapPairs<'_> {
    fn clone(&self) -> Self {
        let mut iter = self.map.iter();
        for _ in 0..self.yielded {
            iter.next();
        }
        HeaderMapPairs {
            map: self.map,
            iter,
            yielded: self.yielded,
        }
    }
}

impl<'a> Iterator for HeaderMapPairs<'a> {
    type Item = Pair<'a>;

    fn next(&mut self) -> Option<Pair<'a>> {
        let (name, value) = self.iter.next()?;
        self.yielded += 1;
        Some((name.as_str().as_bytes(), value.as_bytes()))
    }
}

/// The checked request, by front door.
#[derive(Clone, Debug)]
enum Door<'a> {
    Upgrade(UpgradeRequest<'a, HttpFields<'a>>),
    Connect(ConnectRequest<'a, HttpFields<'a>>),
}

/// A WebSocket opening handshake request that passed every check of the core: an HTTP/1.1
/// Upgrade (RFC 6455 §4.2.1) or an HTTP/2 / HTTP/3 extended CONNECT (RFC 8441 §5, RFC 9220 §3).
#[derive(Clone, Debug)]
pub struct WebSocketRequest<'a> {
    door: Door<'a>,
    version: Version,
    path: &'a str,
}

impl<'a> WebSocketRequest<'a> {
    /// The request's HTTP version: `HTTP/1.1` for an Upgrade, `HTTP/2` or `HTTP/3` for an
    /// extended CONNECT.
    pub fn version(&self) -> Version {
        self.version
    }

    /// True for an extended CONNECT (HTTP/2, HTTP/3), false for an HTTP/1.1 Upgrade.
    pub fn is_extended_connect(&self) -> bool {
        matches!(self.door, Door::Connect(_))
    }

    /// The /resource name/ (RFC 6455 §3): path and query.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The `Host` (HTTP/1.1) or `:authority` (HTTP/2, HTTP/3): `host[:port]`.
    pub fn host(&self) -> &'a str {
        match &self.door {
            Door::Upgrade(req) => req.host(),
            Door::Connect(req) => req.authority(),
        }
    }

    /// The `origin` value, sent by browsers (RFC 6455 §10.2: check it to refuse cross-origin
    /// use).
    pub fn origin(&self) -> Option<&'a str> {
        match &self.door {
            Door::Upgrade(req) => req.origin(),
            Door::Connect(req) => req.origin(),
        }
    }

    /// The subprotocols offered, in the client's order of preference.
    pub fn subprotocols(&self) -> Subprotocols<'a, HttpFields<'a>> {
        match &self.door {
            Door::Upgrade(req) => req.subprotocols(),
            Door::Connect(req) => req.subprotocols(),
        }
    }

    /// The extensions offered, in order.
    pub fn extensions(&self) -> OfferedExtensions<'a, HttpFields<'a>> {
        match &self.door {
            Door::Upgrade(req) => req.extensions(),
            Door::Connect(req) => req.extensions(),
        }
    }

    /// The response accepting the request, with `subprotocol` (one of
    /// [`subprotocols`](Self::subprotocols)) if given and no extension: `101 Switching
    /// Protocols` with `Sec-WebSocket-Accept` for an Upgrade (RFC 6455 §4.2.2 step 5), `200` for
    /// an extended CONNECT (RFC 8441 §5). Map its body to the library's body type.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidArgument`] if `subprotocol` is not a token.
    pub fn accept_response(
        &self,
        subprotocol: Option<&str>,
    ) -> Result<Response<()>, HandshakeError> {
        self.response_with(subprotocol, None)
    }

    /// As [`accept_response`](Self::accept_response), accepting the client's permessage-deflate
    /// offer within `deflate` if it made one: the response then carries the agreed
    /// `Sec-WebSocket-Extensions`, and the parameters returned go to
    /// [`WebSocket::enable_deflate`](crate::WebSocket::enable_deflate) after
    /// [`WebSocket::open`](crate::WebSocket::open). `None`: no acceptable offer, no compression.
    ///
    /// # Errors
    ///
    /// As [`accept_response`](Self::accept_response).
    #[cfg(feature = "deflate")]
    pub fn accept_response_with_deflate(
        &self,
        subprotocol: Option<&str>,
        deflate: &wsproto::deflate::DeflateConfig,
    ) -> Result<(Response<()>, Option<wsproto::deflate::DeflateParams>), HandshakeError> {
        let params = deflate.negotiate(self.extensions());
        let extension = params.map(|p| p.response());
        let response = self.response_with(subprotocol, extension.as_deref())?;
        Ok((response, params))
    }

    /// What an answer needs later, owned: for a framework's extractor, which must hand the
    /// request head back before the handler picks a subprotocol or compression. Copies the
    /// accept value, the path, the offered subprotocols and extension offers; nothing else.
    pub fn to_owned(&self) -> OwnedWebSocketRequest {
        OwnedWebSocketRequest {
            accept: match &self.door {
                Door::Upgrade(req) => Some(req.accept_key()),
                Door::Connect(_) => None,
            },
            version: self.version,
            path: self.path.to_owned(),
            subprotocols: self.subprotocols().map(String::from).collect(),
            extension_offers: self
                .extensions()
                .map(|offer| offer.as_str().to_owned())
                .collect(),
        }
    }

    fn response_with(
        &self,
        subprotocol: Option<&str>,
        extensions: Option<&str>,
    ) -> Result<Response<()>, HandshakeError> {
        let accept = match &self.door {
            Door::Upgrade(req) => Some(req.accept_key()),
            Door::Connect(_) => None,
        };
        accepting(accept.as_ref(), self.version, subprotocol, extensions)
    }
}

/// The accepting response: `101` with `accept` (an Upgrade), or `200` without (an extended
/// CONNECT).
fn accepting(
    accept: Option<&[u8; 28]>,
    version: Version,
    subprotocol: Option<&str>,
    extensions: Option<&str>,
) -> Result<Response<()>, HandshakeError> {
    match accept {
        Some(accept) => {
            let block = upgrade_accept_headers(accept, subprotocol, extensions)?;
            response_of(StatusCode::SWITCHING_PROTOCOLS, version, &block)
        }
        None => {
            let block = connect_accept_headers(subprotocol, extensions)?;
            response_of(StatusCode::OK, version, &block)
        }
    }
}

/// A [`WebSocketRequest`] that passed the core's checks, owned
/// ([`WebSocketRequest::to_owned`]): answer it once the subprotocol and compression are chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedWebSocketRequest {
    /// The `Sec-WebSocket-Accept` value of an Upgrade; `None` for an extended CONNECT.
    accept: Option<[u8; 28]>,
    version: Version,
    path: String,
    subprotocols: Vec<String>,
    extension_offers: Vec<String>,
}

impl OwnedWebSocketRequest {
    /// As [`WebSocketRequest::version`].
    pub fn version(&self) -> Version {
        self.version
    }

    /// As [`WebSocketRequest::is_extended_connect`].
    pub fn is_extended_connect(&self) -> bool {
        self.accept.is_none()
    }

    /// As [`WebSocketRequest::path`].
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The subprotocols offered, in the client's order of preference.
    pub fn subprotocols(&self) -> impl Iterator<Item = &str> {
        self.subprotocols.iter().map(String::as_str)
    }

    /// As [`WebSocketRequest::accept_response`].
    ///
    /// # Errors
    ///
    /// As [`WebSocketRequest::accept_response`].
    pub fn accept_response(
        &self,
        subprotocol: Option<&str>,
    ) -> Result<Response<()>, HandshakeError> {
        accepting(self.accept.as_ref(), self.version, subprotocol, None)
    }

    /// The response accepting the request, with `subprotocol` if given, and with the client's
    /// permessage-deflate offer accepted within `deflate` if it is given and the client made
    /// an acceptable offer: as [`WebSocketRequest::accept_response_with_deflate`], or, for
    /// `None`, [`WebSocketRequest::accept_response`] with no parameters.
    ///
    /// # Errors
    ///
    /// As [`WebSocketRequest::accept_response`].
    #[cfg(feature = "deflate")]
    pub fn accept_response_negotiating(
        &self,
        subprotocol: Option<&str>,
        deflate: Option<&wsproto::deflate::DeflateConfig>,
    ) -> Result<(Response<()>, Option<wsproto::deflate::DeflateParams>), HandshakeError> {
        // The offers passed the core's checks when the request did: each parses again.
        let offers = self
            .extension_offers
            .iter()
            .filter_map(|offer| wsproto::handshake::ExtensionOffer::parse(offer));
        let params = deflate.and_then(|deflate| deflate.negotiate(offers));
        let extension = params.map(|p| p.response());
        let response = accepting(
            self.accept.as_ref(),
            self.version,
            subprotocol,
            extension.as_deref(),
        )?;
        Ok((response, params))
    }
}

/// Server: checks that `req` opens a WebSocket, with the core's rules for its version: an
/// HTTP/1.x request is an Upgrade ([`check_upgrade_request`]: `GET`, HTTP/1.1 or later,
/// `Upgrade`, `Connection`, the key, the version, …), an HTTP/2 or HTTP/3 request an extended
/// CONNECT ([`check_connect_request`]: `CONNECT`, `:protocol websocket`, `:scheme`, `:path`,
/// `:authority`, no key, no connection-specific field, …).
///
/// First of all, the head must be within `config`'s `max_head_len` and `max_headers`
/// ([`HeadLimits::check_parsed`]): the HTTP library parsed it with its own, usually looser,
/// limits (hyper reads heads of up to ~400 KiB).
///
/// On success answer with [`WebSocketRequest::accept_response`], on error with
/// [`error_response`] (431 for a head over the limits).
///
/// # Errors
///
/// The core's [`HandshakeError`] for the first rule broken.
pub fn check_request<'a, B>(
    req: &'a Request<B>,
    config: &Config,
) -> Result<WebSocketRequest<'a>, HandshakeError> {
    check_head(
        req.method(),
        req.version(),
        req.uri(),
        req.extensions(),
        req.headers(),
        config,
    )
}

/// [`check_request`] on a request's head alone, as a framework's extractor holds it (axum's
/// `FromRequestParts`): nothing is cloned.
///
/// # Errors
///
/// As [`check_request`].
pub fn check_request_parts<'a>(
    parts: &'a Parts,
    config: &Config,
) -> Result<WebSocketRequest<'a>, HandshakeError> {
    check_head(
        &parts.method,
        parts.version,
        &parts.uri,
        &parts.extensions,
        &parts.headers,
        config,
    )
}

/// [`check_request`] on the parts of a request head.
fn check_head<'a>(
    method: &'a Method,
    version: Version,
    uri: &'a Uri,
    extensions: &'a Extensions,
    map: &'a HeaderMap,
    config: &Config,
) -> Result<WebSocketRequest<'a>, HandshakeError> {
    let limits = HeadLimits {
        max_head_len: config.max_head_len,
        max_headers: config.max_headers,
    };
    // `METHOD SP request-target SP HTTP/x.y`, as an HTTP/1.1 request line.
    let start_line_len = method.as_str().len() + uri_len(uri) + 10;
    limits.check_parsed(start_line_len, &HttpFields::from_map(map))?;
    let fields = HttpFields::request_parts(method, version, uri, protocol_of(extensions), map);
    if has_pseudo_headers(version) {
        let checked = check_connect_request(fields)?;
        return Ok(WebSocketRequest {
            path: checked.path(),
            door: Door::Connect(checked),
            version,
        });
    }
    let http_version = match version {
        Version::HTTP_09 => HttpVersion { major: 0, minor: 9 },
        Version::HTTP_10 => HttpVersion::HTTP_1_0,
        _ => HttpVersion::HTTP_1_1,
    };
    let checked = check_upgrade_request(method.as_str().as_bytes(), http_version, fields)?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    Ok(WebSocketRequest {
        door: Door::Upgrade(checked),
        version,
        path,
    })
}

/// The length of `uri` as written: `scheme://authority` if it has them, then path and query.
fn uri_len(uri: &Uri) -> usize {
    let origin = match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => scheme.len() + 3 + authority.as_str().len(),
        (None, Some(authority)) => authority.as_str().len(),
        _ => 0,
    };
    origin + uri.path_and_query().map_or(0, |p| p.as_str().len())
}

/// Server: the response to a request that failed with `error`, for a request of `version`:
///
/// - HTTP/1.x: the status of [`HandshakeError::response_status`]; a 426 carries `Upgrade:
///   websocket`, `Connection: Upgrade` and `Sec-WebSocket-Version: 13` (RFC 6455 §4.2.2 step 4,
///   RFC 9110 §15.5.22), a 405 `Allow: GET`;
/// - HTTP/2, HTTP/3: the fields of the core's [`connect_error_headers`] (a version error is a
///   400 with `sec-websocket-version: 13`, a method error a 405 with `allow: CONNECT`).
pub fn error_response(error: &HandshakeError, version: Version) -> Response<()> {
    let mut response = Response::new(());
    *response.version_mut() = version;
    if has_pseudo_headers(version) {
        for (name, value) in connect_error_headers(error).iter() {
            if name == ":status" {
                *response.status_mut() =
                    StatusCode::from_bytes(value).unwrap_or(StatusCode::BAD_REQUEST);
            } else if let Ok(value) = HeaderValue::from_bytes(value) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(name), value);
            }
        }
        return response;
    }
    let status = error.response_status();
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    match status {
        426 => {
            headers.insert("upgrade", HeaderValue::from_static("websocket"));
            headers.insert("connection", HeaderValue::from_static("Upgrade"));
            headers.insert("sec-websocket-version", HeaderValue::from_static("13"));
        }
        405 => {
            headers.insert("allow", HeaderValue::from_static("GET"));
        }
        _ => {}
    }
    response
}

/// A response of `status` and `version` with the regular fields of `block` (its `:status`, if
/// any, is `status`).
fn response_of(
    status: StatusCode,
    version: Version,
    block: &HeaderBlock<'_>,
) -> Result<Response<()>, HandshakeError> {
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    for (name, value) in block.iter().filter(|(name, _)| !name.starts_with(':')) {
        // The core checked every value it wrote (tokens, the accept value, §9.1 lists).
        let value = HeaderValue::from_bytes(value).map_err(|_| invalid_value(name))?;
        response
            .headers_mut()
            .append(HeaderName::from_static(name), value);
    }
    Ok(response)
}

/// The error for a value `http` refuses in the field `name` (never one the core checked).
fn invalid_value(name: &str) -> HandshakeError {
    HandshakeError::InvalidArgument(if name == "sec-websocket-extensions" {
        Field::SecWebSocketExtensions
    } else {
        Field::SecWebSocketProtocol
    })
}

/// Client: the HTTP/1.1 Upgrade request (RFC 6455 §4.1) for `req`, from the core's
/// [`upgrade_request_headers`]: `GET req.path`, version HTTP/1.1, the handshake fields with the
/// key of `nonce`, then `req.headers`. Returns the key too, for [`check_response`].
///
/// `nonce` MUST be random for each connection (§4.1 step 7). Send the request with an HTTP/1.1
/// client that supports upgrades (hyper: `hyper::upgrade::on(response)`).
///
/// # Errors
///
/// The core's checks of the request ([`HandshakeError::InvalidPath`],
/// [`HandshakeError::InvalidArgument`], [`HandshakeError::ReservedHeader`], …).
pub fn upgrade_request(
    req: &ClientRequest<'_>,
    nonce: &[u8; 16],
) -> Result<(Request<()>, [u8; 24]), HandshakeError> {
    let key = request_key(nonce);
    let mut scratch = vec![0u8; joined_len(req.subprotocols) + joined_len(req.extensions)];
    let block = upgrade_request_headers(req, &key, &mut scratch)?;
    let mut request = Request::new(());
    *request.version_mut() = Version::HTTP_11;
    *request.uri_mut() = req.path.parse().map_err(|_| HandshakeError::InvalidPath)?;
    for (name, value) in block.iter() {
        let value = HeaderValue::from_bytes(value).map_err(|_| invalid_value(name))?;
        request
            .headers_mut()
            .append(HeaderName::from_static(name), value);
    }
    // Checked by the core: token names, no control characters in values.
    for (index, (name, value)) in req.headers.iter().enumerate() {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HandshakeError::ExtraHeaderName { index })?;
        let value =
            HeaderValue::from_str(value).map_err(|_| HandshakeError::ExtraHeaderValue { index })?;
        request.headers_mut().append(name, value);
    }
    Ok((request, key))
}

/// Room for `items` joined with `", "` (an upper bound).
fn joined_len(items: &[&str]) -> usize {
    items.iter().map(|item| item.len() + 2).sum()
}

/// Client: the extended CONNECT request (RFC 8441 §4, §5) for `offer`, from the core's
/// [`connect_request_headers`]: method `CONNECT`, version `version` (HTTP/2 or HTTP/3), the
/// URI `{scheme}://{authority}{path}`, the `:protocol` as both `hyper::ext::Protocol` and
/// `h2::ext::Protocol` extensions (whichever library sends it finds its own), and the regular
/// fields. Send it without ending the stream; the stream then carries the frames.
///
/// # Errors
///
/// The core's checks of the offer ([`HandshakeError::InvalidPath`],
/// [`HandshakeError::InvalidArgument`], …).
pub fn connect_request(
    offer: &ClientConnect<'_>,
    version: Version,
) -> Result<Request<()>, HandshakeError> {
    let mut scratch = vec![
        0u8;
        offer
            .subprotocols
            .iter()
            .map(|p| p.len() + 2)
            .sum::<usize>()
            + offer.extensions.iter().map(|e| e.len() + 2).sum::<usize>()
    ];
    let block = connect_request_headers(offer, &mut scratch)?;
    let uri = Uri::builder()
        .scheme(offer.scheme)
        .authority(offer.authority)
        .path_and_query(offer.path)
        .build()
        .map_err(|_| HandshakeError::InvalidPath)?;
    let mut request = Request::new(());
    *request.method_mut() = Method::CONNECT;
    *request.version_mut() = version;
    *request.uri_mut() = uri;
    request
        .extensions_mut()
        .insert(hyper::ext::Protocol::from_static("websocket"));
    request
        .extensions_mut()
        .insert(h2::ext::Protocol::from_static("websocket"));
    for (name, value) in block.iter().filter(|(name, _)| !name.starts_with(':')) {
        let value = HeaderValue::from_bytes(value).map_err(|_| invalid_value(name))?;
        request
            .headers_mut()
            .append(HeaderName::from_static(name), value);
    }
    Ok(request)
}

/// A server's answer that accepted the opening handshake, checked.
#[derive(Clone, Debug)]
pub enum WebSocketResponse<'a> {
    /// The `101` to an HTTP/1.1 Upgrade.
    Upgrade(UpgradeResponse<'a, HttpFields<'a>>),
    /// The `200` to an extended CONNECT.
    Connect(ConnectResponse<'a, HttpFields<'a>>),
}

impl<'a> WebSocketResponse<'a> {
    /// The subprotocol the server selected, if any.
    pub fn subprotocol(&self) -> Option<&'a str> {
        match self {
            WebSocketResponse::Upgrade(res) => res.subprotocol(),
            WebSocketResponse::Connect(res) => res.subprotocol(),
        }
    }

    /// The extensions in use, in the order the server listed them.
    pub fn extensions(&self) -> OfferedExtensions<'a, HttpFields<'a>> {
        match self {
            WebSocketResponse::Upgrade(res) => res.extensions(),
            WebSocketResponse::Connect(res) => res.extensions(),
        }
    }
}

/// Client: checks the server's answer with the core's rules for its version: an HTTP/1.x
/// response answers an Upgrade sent with `sec_websocket_key` ([`check_upgrade_response`]:
/// `101`, `Upgrade`, `Connection`, the accept value, …; `None` fails with
/// [`HandshakeError::AcceptMismatch`]); an HTTP/2 or HTTP/3 response answers an extended
/// CONNECT ([`check_connect_response`]: `200`, no accept value, no connection-specific field).
/// Either way the subprotocol and extensions must be among those offered.
///
/// # Errors
///
/// [`HandshakeError::UnexpectedStatus`] with the status of a refusal, or the first rule broken.
pub fn check_response<'a, B>(
    res: &'a Response<B>,
    sec_websocket_key: Option<&[u8; 24]>,
    offered_subprotocols: &[&str],
    offered_extensions: &[&str],
) -> Result<WebSocketResponse<'a>, HandshakeError> {
    let fields = HttpFields::response(res);
    if has_pseudo_headers(res.version()) {
        return check_connect_response(fields, offered_subprotocols, offered_extensions)
            .map(WebSocketResponse::Connect);
    }
    let key = sec_websocket_key.ok_or(HandshakeError::AcceptMismatch)?;
    check_upgrade_response(
        res.status().as_u16(),
        fields,
        key,
        offered_subprotocols,
        offered_extensions,
    )
    .map(WebSocketResponse::Upgrade)
}
