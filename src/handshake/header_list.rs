//! Header lists, both ways: the fields a caller hands in, as parsed by an HTTP library or walked
//! from a raw head ([`HeaderList`]), and the fields the handshake hands out for a library to send
//! ([`HeaderBlock`]). Neither allocates.

use core::fmt;
use core::iter::Map;
use core::slice;

use super::error::HandshakeError;
use super::head::{HeadLimits, Headers};
use super::syntax::{join, join_scratch, trim_ows};

/// Header fields as `(name, value)` byte pairs, in any order, that can be walked more than once.
///
/// Names are compared ASCII case-insensitively; values may carry surrounding whitespace, which
/// is dropped. Pseudo-header fields (HTTP/2, HTTP/3: `:method`, `:status`, …) are pairs whose
/// name starts with `:`. Each call of [`header_pairs`](Self::header_pairs) MUST yield the same
/// pairs: the checked types walk the list again, lazily, for subprotocols and extensions.
///
/// Implemented for slices and arrays of pairs of `&str` or `&[u8]`, for the fields of a raw head
/// ([`Headers`]), and for any cloneable iterator of byte pairs wrapped in [`HeaderIter`], which is
/// how a list held by an HTTP library is passed without copying:
///
/// ```
/// use wsproto::handshake::*;
/// // With hyper / http, `req.headers().iter().map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()))`.
/// let map = std::collections::BTreeMap::from([
///     ("host", "example.com"), ("upgrade", "websocket"), ("connection", "upgrade"),
///     ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="), ("sec-websocket-version", "13"),
/// ]);
/// let list = HeaderIter(map.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
/// let req = check_upgrade_request(b"GET", HttpVersion::HTTP_1_1, list)?;
/// assert_eq!(req.host(), "example.com");
/// # Ok::<(), HandshakeError>(())
/// ```
pub trait HeaderList<'a>: Clone {
    /// The iterator over the pairs.
    type Iter: Iterator<Item = (&'a [u8], &'a [u8])> + Clone;

    /// The pairs, from the first.
    fn header_pairs(&self) -> Self::Iter;
}

/// One `(name, value)` pair of a slice or array [`HeaderList`]: a tuple of `&str` or `&[u8]`.
pub trait HeaderPair<'a>: Copy {
    /// The name and the value as bytes.
    fn pair(self) -> (&'a [u8], &'a [u8]);
}

impl<'a> HeaderPair<'a> for (&'a str, &'a str) {
    fn pair(self) -> (&'a [u8], &'a [u8]) {
        (self.0.as_bytes(), self.1.as_bytes())
    }
}

impl<'a> HeaderPair<'a> for (&'a [u8], &'a [u8]) {
    fn pair(self) -> (&'a [u8], &'a [u8]) {
        self
    }
}

impl<'a> HeaderPair<'a> for (&'a str, &'a [u8]) {
    fn pair(self) -> (&'a [u8], &'a [u8]) {
        (self.0.as_bytes(), self.1)
    }
}

impl<'a> HeaderPair<'a> for (&'a [u8], &'a str) {
    fn pair(self) -> (&'a [u8], &'a [u8]) {
        (self.0, self.1.as_bytes())
    }
}

/// The function that turns a slice element into byte pairs.
type PairOf<'a, P> = fn(&'a P) -> (&'a [u8], &'a [u8]);

impl<'a, P: HeaderPair<'a>> HeaderList<'a> for &'a [P] {
    type Iter = Map<slice::Iter<'a, P>, PairOf<'a, P>>;

    fn header_pairs(&self) -> Self::Iter {
        self.iter().map(|p| p.pair())
    }
}

impl<'a, P: HeaderPair<'a>, const N: usize> HeaderList<'a> for &'a [P; N] {
    type Iter = Map<slice::Iter<'a, P>, PairOf<'a, P>>;

    fn header_pairs(&self) -> Self::Iter {
        let slice: &'a [P] = *self;
        slice.header_pairs()
    }
}

/// The function that turns a raw head's field into byte pairs.
type HeadPair<'a> = fn((&'a str, &'a [u8])) -> (&'a [u8], &'a [u8]);

impl<'a> HeaderList<'a> for Headers<'a> {
    type Iter = Map<Headers<'a>, HeadPair<'a>>;

    fn header_pairs(&self) -> Self::Iter {
        self.clone().map(|(name, value)| (name.as_bytes(), value))
    }
}

/// A [`HeaderList`] over any cloneable iterator of `(name, value)` byte pairs, such as a mapped
/// iterator over an HTTP library's header map. Cloning it must not change what it yields.
#[derive(Clone, Debug)]
pub struct HeaderIter<I>(pub I);

impl<'a, I: Iterator<Item = (&'a [u8], &'a [u8])> + Clone> HeaderList<'a> for HeaderIter<I> {
    type Iter = I;

    fn header_pairs(&self) -> I {
        self.0.clone()
    }
}

impl HeadLimits {
    /// Checks a request head that an HTTP library parsed (so no [`HeadScanner`](super::HeadScanner)
    /// saw its bytes) against these limits, as the head would have been on an HTTP/1.1 wire: a
    /// start line of `start_line_len` bytes and CRLF, each regular field of `fields` as
    /// `name: value` CRLF, and the blank line. Pseudo-header fields (HTTP/2, HTTP/3) stand for
    /// the start line: they count towards neither limit.
    ///
    /// ```
    /// use wsproto::handshake::{HandshakeError, HeadLimits};
    /// let limits = HeadLimits { max_head_len: 128, max_headers: 2 };
    /// let fields: &[(&str, &str)] = &[(":method", "CONNECT"), ("host", "a"), ("x", "y")];
    /// assert_eq!(limits.check_parsed(14, &fields), Ok(()));
    /// let three: &[(&str, &str)] = &[("host", "a"), ("x", "y"), ("z", "z")];
    /// assert_eq!(limits.check_parsed(14, &three), Err(HandshakeError::TooManyHeaders { limit: 2 }));
    /// let long = "v".repeat(100);
    /// let big: &[(&str, &str)] = &[("host", "a"), ("x", &long)];
    /// assert_eq!(limits.check_parsed(14, &big), Err(HandshakeError::HeadTooLarge { limit: 128 }));
    /// ```
    ///
    /// # Errors
    ///
    /// [`HeadTooLarge`](HandshakeError::HeadTooLarge) over `max_head_len` bytes (checked
    /// first, as a scanner would meet it first), then
    /// [`TooManyHeaders`](HandshakeError::TooManyHeaders) over `max_headers` fields: both
    /// answered 431.
    pub fn check_parsed<'a>(
        &self,
        start_line_len: usize,
        fields: &impl HeaderList<'a>,
    ) -> Result<(), HandshakeError> {
        let regular = || {
            fields
                .header_pairs()
                .filter(|(name, _)| !name.starts_with(b":"))
        };
        // Start line CRLF, then `name: value` CRLF per field, then CRLF.
        let len = regular().fold(start_line_len.saturating_add(4), |len, (name, value)| {
            len.saturating_add(name.len() + value.len() + 4)
        });
        if len > self.max_head_len {
            return Err(HandshakeError::HeadTooLarge {
                limit: self.max_head_len,
            });
        }
        if regular().count() > self.max_headers {
            return Err(HandshakeError::TooManyHeaders {
                limit: self.max_headers,
            });
        }
        Ok(())
    }
}

/// The value of the first field called `name` (ASCII case-insensitive), without surrounding
/// whitespace.
pub(crate) fn find_pair<'a>(
    mut pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    name: &str,
) -> Option<&'a [u8]> {
    pairs
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| trim_ows(v))
}

/// A short list of header fields to send, built without allocation: at most
/// [`CAPACITY`](Self::CAPACITY) `(name, value)` pairs, names in lower case (as HTTP/2 and HTTP/3
/// require, and as HTTP/1.1 accepts), pseudo-header fields first.
///
/// Values borrow what the block was built from (an accept value, the caller's subprotocol, a
/// scratch buffer). Hand the pairs to the HTTP library in order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HeaderBlock<'a> {
    fields: [(&'static str, &'a [u8]); HeaderBlock::CAPACITY],
    len: usize,
}

impl<'a> HeaderBlock<'a> {
    /// The most fields a block holds: the longest is an extended CONNECT request (five
    /// pseudo-header fields, version, origin, subprotocols, extensions).
    pub const CAPACITY: usize = 9;

    pub(crate) const fn new() -> Self {
        HeaderBlock {
            fields: [("", &[]); HeaderBlock::CAPACITY],
            len: 0,
        }
    }

    pub(crate) fn push(&mut self, name: &'static str, value: &'a [u8]) {
        debug_assert!(self.len < Self::CAPACITY);
        if let Some(slot) = self.fields.get_mut(self.len) {
            *slot = (name, value);
            self.len += 1;
        }
    }

    /// Pushes `items` joined with `", "`, written into `scratch` if there are two or more;
    /// nothing for an empty list.
    pub(crate) fn push_list(
        &mut self,
        name: &'static str,
        items: &[&'a str],
        scratch: &mut Scratch<'a>,
    ) {
        if !items.is_empty() {
            let (joined, rest) = join(items, core::mem::take(&mut scratch.0));
            scratch.0 = rest;
            self.push(name, joined);
        }
    }

    /// The fields, in the order to send them.
    pub fn as_slice(&self) -> &[(&'static str, &'a [u8])] {
        &self.fields[..self.len]
    }

    /// The fields, in the order to send them.
    pub fn iter(&self) -> core::iter::Copied<slice::Iter<'_, (&'static str, &'a [u8])>> {
        self.as_slice().iter().copied()
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value of the field called `name` (ASCII case-insensitive), if there is one.
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// The caller's scratch space for the lists a [`HeaderBlock`] joins, checked up front to be large
/// enough, so that building a block cannot fail half-way.
pub(crate) struct Scratch<'b>(&'b mut [u8]);

impl<'b> Scratch<'b> {
    /// `scratch`, if it holds the lists joined (those of two or more items).
    ///
    /// # Errors
    /// [`BufferTooSmall`](HandshakeError::BufferTooSmall) with the length needed.
    pub(crate) fn for_lists(
        scratch: &'b mut [u8],
        lists: &[&[&str]],
    ) -> Result<Self, HandshakeError> {
        let needed = lists.iter().map(|items| join_scratch(items)).sum();
        if scratch.len() < needed {
            return Err(HandshakeError::BufferTooSmall { needed });
        }
        Ok(Scratch(scratch))
    }
}

impl<'b, 'a> IntoIterator for &'b HeaderBlock<'a> {
    type Item = (&'static str, &'a [u8]);
    type IntoIter = core::iter::Copied<slice::Iter<'b, (&'static str, &'a [u8])>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Debug for HeaderBlock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(n, v)| (n, core::str::from_utf8(v).unwrap_or("<non-UTF-8>"))),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_heads_at_the_edge_of_the_limits() {
        // "GET / HTTP/1.1" CRLF, "host: a" CRLF, CRLF: 14 + 2 + 9 + 2 = 27 bytes.
        let fields: &[(&str, &str)] = &[("host", "a")];
        let exact = HeadLimits {
            max_head_len: 27,
            max_headers: 1,
        };
        assert_eq!(exact.check_parsed(14, &fields), Ok(()));
        let short = HeadLimits {
            max_head_len: 26,
            ..exact
        };
        assert_eq!(
            short.check_parsed(14, &fields),
            Err(HandshakeError::HeadTooLarge { limit: 26 })
        );
        let two: &[(&str, &str)] = &[(":authority", "a"), ("host", "a"), ("x", "")];
        let roomy = HeadLimits {
            max_head_len: 100,
            max_headers: 1,
        };
        assert_eq!(
            roomy.check_parsed(14, &two),
            Err(HandshakeError::TooManyHeaders { limit: 1 })
        );
        assert_eq!(
            HeadLimits {
                max_headers: 2,
                ..roomy
            }
            .check_parsed(14, &two),
            Ok(())
        );
        assert_eq!(
            roomy.check_parsed(usize::MAX, &fields),
            Err(HandshakeError::HeadTooLarge { limit: 100 })
        );
    }

    #[test]
    fn lists_of_every_shape_yield_the_same_pairs() {
        let strs: &[(&str, &str)] = &[("Host", " a "), ("X", "y")];
        let bytes: [(&[u8], &[u8]); 2] = [(b"Host", b" a "), (b"X", b"y")];
        let head = Headers::new(b"Host:  a \r\nX: y\r\n");
        assert!(strs.header_pairs().eq((&bytes).header_pairs()));
        assert_eq!(find_pair(head.header_pairs(), "host"), Some(&b"a"[..]));
        assert_eq!(find_pair(strs.header_pairs(), "HOST"), Some(&b"a"[..]));
        assert_eq!(find_pair(head.header_pairs(), "x"), Some(&b"y"[..]));
        assert_eq!(find_pair(head.header_pairs(), "y"), None);
        let wrapped = HeaderIter(bytes.iter().copied());
        assert_eq!(wrapped.header_pairs().count(), 2);
    }
}
