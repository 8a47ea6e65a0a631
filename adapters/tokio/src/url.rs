//! `ws://` and `wss://` URLs (RFC 6455 §3), split into what a client needs: where to connect,
//! whether to use TLS, and the handshake's `Host` and request-target.
//!
//! ```text
//! ws-URI  = "ws:"  "//" host [ ":" port ] path [ "?" query ]    ; port 80 by default
//! wss-URI = "wss:" "//" host [ ":" port ] path [ "?" query ]    ; port 443 by default
//! ```
//!
//! A small parser of its own rather than the `url` crate (IDNA tables, a WHATWG parser): these
//! URLs have no userinfo and no fragment (§3: "Fragment identifiers are meaningless in the
//! context of WebSocket URIs and MUST NOT be used"), and what remains is four fields.

use std::fmt;
use std::net::Ipv6Addr;

/// A parsed `ws://` or `wss://` URL.
///
/// ```
/// use wsproto_tokio::WsUrl;
/// let url = WsUrl::parse("wss://[::1]:8443/chat?room=1").unwrap();
/// assert!(url.is_secure());
/// assert_eq!((url.host(), url.port()), ("::1", 8443));
/// assert_eq!(url.host_header(), "[::1]:8443");
/// assert_eq!(url.resource(), "/chat?room=1");
/// assert_eq!(WsUrl::parse("ws://example.com").unwrap().host_header(), "example.com");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WsUrl {
    secure: bool,
    /// The host as a name lookup and TLS want it: an IPv6 literal without its brackets.
    host: String,
    port: u16,
    /// The `Host` header: the host (bracketed if IPv6), `:port` unless the scheme's default.
    host_header: String,
    /// Path and query, starting with `/`.
    resource: String,
}

impl WsUrl {
    /// Parses `url`. The scheme is case-insensitive; the host is a name, an IPv4 address or a
    /// bracketed IPv6 address; an absent (or empty) port is the scheme's default; an empty path
    /// is `/`. Characters outside visible ASCII must be percent-encoded (a non-ASCII host in its
    /// `xn--` form).
    ///
    /// # Errors
    ///
    /// [`UrlError`] saying what is wrong: another scheme, userinfo, a fragment, an empty or
    /// invalid host, an invalid port, or a character to percent-encode.
    pub fn parse(url: &str) -> Result<WsUrl, UrlError> {
        let (scheme, rest) = url.split_once("://").ok_or(UrlError::Scheme)?;
        let (secure, default_port) = if scheme.eq_ignore_ascii_case("ws") {
            (false, 80)
        } else if scheme.eq_ignore_ascii_case("wss") {
            (true, 443)
        } else {
            return Err(UrlError::Scheme);
        };
        if rest.contains('#') {
            return Err(UrlError::Fragment);
        }
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, resource) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(UrlError::UserInfo);
        }
        let (host, bracketed, port) = split_host_port(authority)?;
        let port = match port {
            None | Some("") => default_port,
            Some(digits) => parse_port(digits)?,
        };
        if !resource.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UrlError::Path);
        }
        let resource = match resource.as_bytes().first() {
            None => "/".to_owned(),
            Some(b'?') => format!("/{resource}"),
            Some(_) => resource.to_owned(),
        };
        let host_header = match (bracketed, port == default_port) {
            (true, true) => format!("[{host}]"),
            (true, false) => format!("[{host}]:{port}"),
            (false, true) => host.to_owned(),
            (false, false) => format!("{host}:{port}"),
        };
        Ok(WsUrl {
            secure,
            host: host.to_owned(),
            port,
            host_header,
            resource,
        })
    }

    /// True for `wss://`: the connection runs over TLS.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The host to look up and to name in TLS: a name, an IPv4 address, or an IPv6 address
    /// without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port: the URL's, or 80 for `ws://` and 443 for `wss://`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The opening handshake's `Host` value (RFC 6455 §4.1 step 4): the host, bracketed if IPv6,
    /// with `:port` unless it is the scheme's default.
    pub fn host_header(&self) -> &str {
        &self.host_header
    }

    /// The resource name (RFC 6455 §3): path and query, starting with `/`; the request-target.
    pub fn resource(&self) -> &str {
        &self.resource
    }
}

impl fmt::Display for WsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        write!(f, "{scheme}://{}{}", self.host_header, self.resource)
    }
}

impl std::str::FromStr for WsUrl {
    type Err = UrlError;

    fn from_str(url: &str) -> Result<Self, UrlError> {
        WsUrl::parse(url)
    }
}

/// Splits an authority (without userinfo) into its host, whether the host was a bracketed IPv6
/// literal, and the text after `:`, if any.
fn split_host_port(authority: &str) -> Result<(&str, bool, Option<&str>), UrlError> {
    if let Some(inside) = authority.strip_prefix('[') {
        let (address, after) = inside.split_once(']').ok_or(UrlError::Host)?;
        // An IPv6 literal; zone identifiers (`%25eth0`) and IPvFuture are not connectable here.
        address.parse::<Ipv6Addr>().map_err(|_| UrlError::Host)?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(UrlError::Port)?),
        };
        return Ok((address, true, port));
    }
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(UrlError::Host);
    }
    // RFC 3986 reg-name and IPv4: unreserved, sub-delims and percent-encoding.
    let reg_name = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b);
    if !host.bytes().all(reg_name) {
        return Err(UrlError::Host);
    }
    Ok((host, false, port))
}

/// A port: decimal digits, 1 to 65535.
fn parse_port(digits: &str) -> Result<u16, UrlError> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::Port);
    }
    match digits.parse::<u16>() {
        Ok(0) | Err(_) => Err(UrlError::Port),
        Ok(port) => Ok(port),
    }
}

/// Why a URL was refused by [`WsUrl::parse`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UrlError {
    /// Not `ws://` or `wss://`.
    Scheme,
    /// A `user:password@` part: a WebSocket client sends no credentials from the URL.
    UserInfo,
    /// A `#fragment` (RFC 6455 §3: MUST NOT be used).
    Fragment,
    /// An empty host, a character a host may not have, or an invalid IPv6 literal.
    Host,
    /// A port that is not a number from 1 to 65535.
    Port,
    /// A character in the path or query outside visible ASCII (a space, a control, non-ASCII).
    Path,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::Scheme => "a WebSocket URL starts with ws:// or wss://",
            UrlError::UserInfo => {
                "credentials in a WebSocket URL (user:password@) are not sent: pass an \
                 Authorization header instead"
            }
            UrlError::Fragment => "a WebSocket URL has no #fragment (RFC 6455 section 3)",
            UrlError::Host => {
                "invalid host in the URL: a name (non-ASCII in its xn-- form), an IPv4 address \
                 or a bracketed IPv6 address"
            }
            UrlError::Port => "invalid port in the URL: a number from 1 to 65535",
            UrlError::Path => {
                "a space, control or non-ASCII character in the URL's path or query: \
                 percent-encode it"
            }
        })
    }
}

/// The explanation too: the adapter's `Error` shows a transport error (where this one travels,
/// inside an `io::Error`) with `Debug`.
impl fmt::Debug for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UrlError({:?})", self.to_string())
    }
}

impl std::error::Error for UrlError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> (bool, String, u16, String, String) {
        let url = WsUrl::parse(url).unwrap();
        (
            url.is_secure(),
            url.host().to_owned(),
            url.port(),
            url.host_header().to_owned(),
            url.resource().to_owned(),
        )
    }

    fn owned(
        secure: bool,
        host: &str,
        port: u16,
        header: &str,
        resource: &str,
    ) -> (bool, String, u16, String, String) {
        (secure, host.into(), port, header.into(), resource.into())
    }

    #[test]
    fn schemes_default_ports_and_resources() {
        // (url, secure, host, port, Host header, resource). An explicit default port is the
        // default: the Host header leaves it out.
        let table = [
            (
                "ws://example.com",
                false,
                "example.com",
                80,
                "example.com",
                "/",
            ),
            (
                "wss://example.com",
                true,
                "example.com",
                443,
                "example.com",
                "/",
            ),
            (
                "WSS://Example.com/A/b",
                true,
                "Example.com",
                443,
                "Example.com",
                "/A/b",
            ),
            (
                "ws://h:8080/x?y=1&z",
                false,
                "h",
                8080,
                "h:8080",
                "/x?y=1&z",
            ),
            ("ws://h?y=1", false, "h", 80, "h", "/?y=1"),
            ("wss://h:443/", true, "h", 443, "h", "/"),
            ("ws://h:/", false, "h", 80, "h", "/"),
            ("ws://h:65535", false, "h", 65535, "h:65535", "/"),
            (
                "ws://127.0.0.1:9001/p%20q",
                false,
                "127.0.0.1",
                9001,
                "127.0.0.1:9001",
                "/p%20q",
            ),
        ];
        for (url, secure, host, port, header, resource) in table {
            assert_eq!(
                parts(url),
                owned(secure, host, port, header, resource),
                "{url}"
            );
        }
        assert_eq!(
            WsUrl::parse("wss://h:8443/a?b").unwrap().to_string(),
            "wss://h:8443/a?b"
        );
    }

    #[test]
    fn ipv6_literals() {
        assert_eq!(parts("ws://[::1]"), owned(false, "::1", 80, "[::1]", "/"));
        assert_eq!(
            parts("wss://[2001:db8::7]:8443/c"),
            owned(true, "2001:db8::7", 8443, "[2001:db8::7]:8443", "/c")
        );
        assert_eq!(WsUrl::parse("ws://[::1"), Err(UrlError::Host));
        assert_eq!(WsUrl::parse("ws://[not-v6]/"), Err(UrlError::Host));
        assert_eq!(WsUrl::parse("ws://[fe80::1%25eth0]/"), Err(UrlError::Host));
        assert_eq!(WsUrl::parse("ws://[::1]x/"), Err(UrlError::Port));
        assert_eq!(WsUrl::parse("ws://::1/"), Err(UrlError::Host));
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        assert_eq!(WsUrl::parse("http://h/"), Err(UrlError::Scheme));
        assert_eq!(WsUrl::parse("h:80/"), Err(UrlError::Scheme));
        assert_eq!(WsUrl::parse("wss:/h/"), Err(UrlError::Scheme));
        assert_eq!(WsUrl::parse("ws://user:pw@h/"), Err(UrlError::UserInfo));
        assert_eq!(WsUrl::parse("ws://user@h/"), Err(UrlError::UserInfo));
        assert_eq!(WsUrl::parse("ws://h/chat#top"), Err(UrlError::Fragment));
        assert_eq!(WsUrl::parse("ws://h#"), Err(UrlError::Fragment));
        assert_eq!(WsUrl::parse("ws:///path"), Err(UrlError::Host));
        assert_eq!(WsUrl::parse("ws://:80/"), Err(UrlError::Host));
        assert_eq!(WsUrl::parse("ws://bücher.example/"), Err(UrlError::Host));
        assert_eq!(WsUrl::parse("ws://h\r\nX: y/"), Err(UrlError::Host));
        assert_eq!(WsUrl::parse("ws://h:0/"), Err(UrlError::Port));
        assert_eq!(WsUrl::parse("ws://h:65536/"), Err(UrlError::Port));
        assert_eq!(WsUrl::parse("ws://h:+80/"), Err(UrlError::Port));
        assert_eq!(WsUrl::parse("ws://h:80:81/"), Err(UrlError::Port));
        assert_eq!(WsUrl::parse("ws://h/a b"), Err(UrlError::Path));
        assert_eq!(WsUrl::parse("ws://h/a\r\nX: y"), Err(UrlError::Path));
        assert_eq!(WsUrl::parse("ws://h/é"), Err(UrlError::Path));
        assert!(UrlError::UserInfo.to_string().contains("Authorization"));
    }
}
