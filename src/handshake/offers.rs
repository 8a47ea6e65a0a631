//! What a handshake offers and selects: the subprotocols of `Sec-WebSocket-Protocol` and the
//! extensions of `Sec-WebSocket-Extensions`, with their parameters (RFC 6455 §4.1 steps 10–11,
//! §4.3, §9.1).
//!
//! ```text
//! extension       = extension-token *( ";" extension-param )              ; RFC 6455 §9.1
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! §9.1 uses RFC 2616's "implied *LWS" rule, so optional whitespace is accepted around `;` and
//! `=`. A quoted parameter value MUST, once unescaped, be a token (§9.1): so inside the quotes
//! only `tchar`s and backslash-escaped `tchar`s can appear, and neither `,` nor `;` nor `"`.
//! That is what lets the iterators here split validated text on `,` and `;` directly.

use core::fmt;

use super::head::Headers;
use super::header_list::HeaderList;
use super::syntax::{ascii_str, is_tchar, trim_ows};

fn skip_ows(s: &[u8], mut i: usize) -> usize {
    while matches!(s.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

fn token_end(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&b| is_tchar(b)) {
        i += 1;
    }
    i
}

/// The end of a parameter value starting at `i`: a token, or a quoted-string that unescapes to a
/// token (RFC 6455 §9.1).
fn param_value_end(s: &[u8], i: usize) -> Option<usize> {
    if s.get(i) != Some(&b'"') {
        let end = token_end(s, i);
        return (end > i).then_some(end);
    }
    let mut j = i + 1;
    let mut unescaped_len = 0;
    loop {
        match *s.get(j)? {
            b'"' => break,
            // RFC 7230 §3.2.6: quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ); only a tchar
            // keeps the unescaped value a token.
            b'\\' if s.get(j + 1).is_some_and(|&b| is_tchar(b)) => j += 2,
            b if is_tchar(b) => j += 1,
            _ => return None,
        }
        unescaped_len += 1;
    }
    (unescaped_len > 0).then_some(j + 1)
}

/// The end of one extension starting at `i`, or `None` if the bytes there are not one. Trailing
/// whitespace is not included.
fn extension_end(s: &[u8], i: usize) -> Option<usize> {
    let mut end = token_end(s, i);
    if end == i {
        return None;
    }
    loop {
        let semicolon = skip_ows(s, end);
        if s.get(semicolon) != Some(&b';') {
            return Some(end);
        }
        let name = skip_ows(s, semicolon + 1);
        end = token_end(s, name);
        if end == name {
            return None;
        }
        let equals = skip_ows(s, end);
        if s.get(equals) == Some(&b'=') {
            end = param_value_end(s, skip_ows(s, equals + 1))?;
        }
    }
}

/// RFC 6455 §9.1: `extension-list = 1#extension`.
pub(crate) fn is_extension_list(s: &[u8]) -> bool {
    let mut i = 0;
    let mut any = false;
    loop {
        i = skip_ows(s, i);
        match s.get(i) {
            None => return any,
            Some(b',') => i += 1,
            Some(_) => {
                let Some(end) = extension_end(s, i) else {
                    return false;
                };
                i = skip_ows(s, end);
                any = true;
                match s.get(i) {
                    None => return true,
                    Some(b',') => i += 1,
                    Some(_) => return false,
                }
            }
        }
    }
}

/// RFC 6455 §9.1: one `extension`, optionally surrounded by whitespace.
fn is_single_extension(s: &[u8]) -> bool {
    let start = skip_ows(s, 0);
    extension_end(s, start).is_some_and(|end| skip_ows(s, end) == s.len())
}

/// One extension in a `Sec-WebSocket-Extensions` list: a name and its parameters (RFC 6455 §9.1),
/// e.g. `permessage-deflate; client_max_window_bits`.
///
/// Borrows the header text; parameters are parsed lazily by [`params`](Self::params).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExtensionOffer<'a> {
    /// The whole offer, validated, without surrounding whitespace.
    text: &'a str,
}

impl<'a> ExtensionOffer<'a> {
    /// Parses a single extension with its parameters, as in one element of
    /// `Sec-WebSocket-Extensions`. Returns `None` if `text` is not exactly one extension per
    /// RFC 6455 §9.1 (surrounding whitespace is allowed and dropped).
    ///
    /// ```
    /// use wsproto::handshake::ExtensionOffer;
    /// let offer = ExtensionOffer::parse("permessage-deflate; client_max_window_bits=\"15\"").unwrap();
    /// assert_eq!(offer.name(), "permessage-deflate");
    /// let (name, value) = offer.params().next().unwrap();
    /// assert_eq!((name, value.unwrap().as_str()), ("client_max_window_bits", Some("15")));
    /// assert!(ExtensionOffer::parse("a, b").is_none());
    /// ```
    pub fn parse(text: &'a str) -> Option<Self> {
        is_single_extension(text.as_bytes()).then(|| ExtensionOffer::from_valid(text.as_bytes()))
    }

    /// From bytes known to be one valid extension.
    pub(crate) fn from_valid(text: &'a [u8]) -> Self {
        ExtensionOffer {
            text: ascii_str(trim_ows(text)),
        }
    }

    /// The extension's name (its `extension-token`).
    pub fn name(&self) -> &'a str {
        let end = token_end(self.text.as_bytes(), 0);
        &self.text[..end]
    }

    /// The parameters in order, as `(name, value)`.
    pub fn params(&self) -> Params<'a> {
        let end = token_end(self.text.as_bytes(), 0);
        Params {
            rest: &self.text[end..],
        }
    }

    /// The whole offer as it was received, without surrounding whitespace.
    pub fn as_str(&self) -> &'a str {
        self.text
    }
}

impl fmt::Display for ExtensionOffer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

/// The parameters of an [`ExtensionOffer`]: `(name, value)` pairs, the value `None` for a bare
/// parameter such as `client_max_window_bits`.
#[derive(Clone, Debug)]
pub struct Params<'a> {
    /// The text after the name or the last parameter: `*( OWS ";" OWS param )`.
    rest: &'a str,
}

impl<'a> Iterator for Params<'a> {
    type Item = (&'a str, Option<ParamValue<'a>>);

    fn next(&mut self) -> Option<Self::Item> {
        // Validated: the text is empty (maybe with whitespace) or starts with OWS ";".
        let rest = self
            .rest
            .trim_start_matches([' ', '\t'])
            .strip_prefix(';')?;
        let end = rest.find(';').unwrap_or(rest.len());
        self.rest = &rest[end..];
        let param = &rest[..end];
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (name, Some(ParamValue::from_valid(value))),
            None => (param, None),
        };
        Some((ascii_str(trim_ows(name.as_bytes())), value))
    }
}

/// The value of an extension parameter: a token, or a quoted-string whose unescaped content is a
/// token (RFC 6455 §9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamValue<'a> {
    /// The token, or the quoted-string's content between the quotes, escapes included.
    text: &'a str,
}

impl<'a> ParamValue<'a> {
    fn from_valid(value: &'a str) -> Self {
        let value = ascii_str(trim_ows(value.as_bytes()));
        let text = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        ParamValue { text }
    }

    /// The value, unquoted, if it needs no unescaping: always for a token, and for a
    /// quoted-string without backslashes (`"15"` gives `15`). `None` only for a quoted-string with
    /// escapes such as `"1\5"`; use [`Display`](fmt::Display) or [`bytes`](Self::bytes) then.
    pub fn as_str(&self) -> Option<&'a str> {
        (!self.text.contains('\\')).then_some(self.text)
    }

    /// The unescaped value, byte by byte.
    pub fn bytes(&self) -> impl Iterator<Item = u8> + 'a {
        // Escapes only ever precede a tchar, so dropping the backslashes unescapes.
        self.text.bytes().filter(|&b| b != b'\\')
    }
}

impl fmt::Display for ParamValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.text.split('\\').try_for_each(|part| f.write_str(part))
    }
}

impl PartialEq<str> for ParamValue<'_> {
    /// Compares the unescaped value.
    fn eq(&self, other: &str) -> bool {
        self.bytes().eq(other.bytes())
    }
}

impl PartialEq<&str> for ParamValue<'_> {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

/// The elements of every field named `name`, in order, comma-split and trimmed.
#[derive(Clone)]
struct ListElements<'a, I> {
    pairs: I,
    name: &'static str,
    /// The rest of the current field's value.
    current: &'a [u8],
}

impl<'a, I: Iterator<Item = (&'a [u8], &'a [u8])>> ListElements<'a, I> {
    fn new(pairs: I, name: &'static str) -> Self {
        ListElements {
            pairs,
            name,
            current: &[],
        }
    }
}

impl<'a, I: Iterator<Item = (&'a [u8], &'a [u8])>> Iterator for ListElements<'a, I> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if self.current.is_empty() {
                let name = self.name.as_bytes();
                let (_, value) = self.pairs.find(|(n, _)| n.eq_ignore_ascii_case(name))?;
                self.current = value;
                continue;
            }
            let end = self.current.iter().position(|&b| b == b',');
            let element = trim_ows(&self.current[..end.unwrap_or(self.current.len())]);
            self.current = end.map_or(&[], |end| &self.current[end + 1..]);
            if !element.is_empty() {
                return Some(element);
            }
        }
    }
}

/// Writes a public iterator over the elements of every field called `$field` of a raw head
/// ([`Headers`], the default) or any checked [`HeaderList`], each element mapped by `$map`: the
/// same walk for subprotocols and extensions, no allocation.
macro_rules! list_iterator {
    ($(#[$doc:meta])* $name:ident, $field:literal, $item:ty, $map:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name<'a, H: HeaderList<'a> = Headers<'a>> {
            elements: ListElements<'a, H::Iter>,
        }

        impl<'a, H: HeaderList<'a>> $name<'a, H> {
            /// Over fields whose values were checked to be lists of what this yields.
            pub(crate) fn new(list: &H) -> Self {
                $name {
                    elements: ListElements::new(list.header_pairs(), $field),
                }
            }
        }

        impl<'a, H: HeaderList<'a>> Iterator for $name<'a, H> {
            type Item = $item;

            fn next(&mut self) -> Option<$item> {
                self.elements.next().map($map)
            }
        }

        impl<'a, H: HeaderList<'a>> fmt::Debug for $name<'a, H> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.clone()).finish()
            }
        }
    };
}

list_iterator!(
    /// The subprotocols of every `Sec-WebSocket-Protocol` field, in order (RFC 6455 §4.1 step 10:
    /// "ordered by preference"), from a raw head ([`Headers`], the default) or any checked
    /// [`HeaderList`]. Walks the fields again; no allocation.
    Subprotocols,
    "Sec-WebSocket-Protocol",
    &'a str,
    ascii_str
);

list_iterator!(
    /// The extensions of every `Sec-WebSocket-Extensions` field, in order (RFC 6455 §9.1: fields
    /// are equivalent to one comma-separated list), from a raw head ([`Headers`], the default) or
    /// any checked [`HeaderList`]. Walks the fields again; no allocation.
    Extensions,
    "Sec-WebSocket-Extensions",
    ExtensionOffer<'a>,
    ExtensionOffer::from_valid
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::syntax::assert_holds_for;

    #[test]
    fn extension_lists() {
        assert_holds_for(
            is_extension_list,
            &[
                b"deflate-stream",
                b"mux; max-channels=4; flow-control, deflate-stream",
                b"private-extension",
                b"foo, bar; baz=2",
                b"a;b=\"c\"",
                b"a ; b = \"c\\d\" ,",
                b"permessage-deflate; client_max_window_bits; server_max_window_bits=10",
                b", a",
            ],
            &[
                b"",
                b" , ",
                b"a b",
                b"a;",
                b"a;=1",
                b"a;b=",
                b"a;b=\"\"",
                b"a;b=\"c d\"",
                b"a;b=\"c,d\"",
                b"a;b=\"c\\\"d\"",
                b"a;b=\"c",
                b"a;b=c=d",
                b";b",
                b"a;b=1 2",
            ],
        );
        assert_holds_for(is_single_extension, &[b" a; b=1 "], &[b"a, b", b"a,"]);
    }

    #[test]
    fn offers_and_params() {
        let offer =
            ExtensionOffer::parse(" mux; max-channels = 4;flow-control ; q=\"a\\bc\" ").unwrap();
        assert_eq!(
            offer.as_str(),
            "mux; max-channels = 4;flow-control ; q=\"a\\bc\""
        );
        assert_eq!(offer.name(), "mux");
        let mut params = offer.params();
        let (name, value) = params.next().unwrap();
        assert_eq!(
            (name, value.and_then(|v| v.as_str())),
            ("max-channels", Some("4"))
        );
        assert_eq!(params.next(), Some(("flow-control", None)));
        let (name, value) = params.next().unwrap();
        let value = value.unwrap();
        assert_eq!((name, value.as_str()), ("q", None));
        assert!(value == "abc");
        assert!(value.bytes().eq(*b"abc"));
        assert_eq!(params.next(), None);
        assert_eq!(ExtensionOffer::parse("x").unwrap().params().next(), None);
    }

    #[test]
    fn list_elements_span_lines() {
        let fields =
            b"Sec-WebSocket-Protocol: chat, ,superchat\r\nX: y\r\nsec-websocket-protocol: v2\r\n";
        assert!(Subprotocols::new(&Headers::new(fields)).eq(["chat", "superchat", "v2"]));
        let fields = b"Sec-WebSocket-Extensions: foo\r\nSec-WebSocket-Extensions: bar; baz=2\r\n";
        let mut extensions = Extensions::new(&Headers::new(fields));
        assert_eq!(extensions.next().map(|e| e.as_str()), Some("foo"));
        assert_eq!(extensions.next().map(|e| e.as_str()), Some("bar; baz=2"));
        assert_eq!(extensions.next(), None);
    }
}
