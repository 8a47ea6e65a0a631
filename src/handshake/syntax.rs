//! The HTTP grammar the handshake shares, below every front door: tokens and comma-separated
//! lists (RFC 7230 §3.2.6, §7), optional whitespace and field values (§3.2), `Host` and `Origin`
//! values (RFC 7230 §5.4, RFC 6454 §7.1), origin-form request-targets (RFC 7230 §5.3.1) and HTTP
//! versions (§2.6).
//!
//! ```text
//! token          = 1*tchar
//! tchar          = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`"
//!                  / "|" / "~" / DIGIT / ALPHA
//! 1#element      = *( "," OWS ) element *( OWS "," [ OWS element ] )   ; empty elements allowed
//! OWS            = *( SP / HTAB )
//! ```
//!
//! Pure predicates over bytes: this module imports nothing from its siblings, so every other file
//! of the handshake can use it.

/// RFC 7230 §3.2.6: `tchar`.
pub(crate) const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`'
        | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// RFC 7230 §3.2.6: `token = 1*tchar`.
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b))
}

/// True if every byte may appear in a field value: SP, HTAB, VCHAR or obs-text; no other control
/// (RFC 7230 §3.2: `field-content`).
pub(crate) fn is_field_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// `value` without leading and trailing SP and HTAB (RFC 7230 §3.2: OWS around the value is not
/// part of it).
pub(crate) fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// Bytes checked to be ASCII as a `&str`.
pub(crate) fn ascii_str(bytes: &[u8]) -> &str {
    debug_assert!(bytes.is_ascii());
    core::str::from_utf8(bytes).unwrap_or_default()
}

/// The non-empty elements of a comma-separated list, without surrounding whitespace (RFC 7230
/// §7: empty elements are allowed and do not count).
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|element| !element.is_empty())
}

/// `1#token`: at least one element, every element a token (RFC 6455 §4.1 step 10).
pub(crate) fn is_token_list(value: &[u8]) -> bool {
    let mut any = false;
    for element in list_elements(value) {
        if !is_token(element) {
            return false;
        }
        any = true;
    }
    any
}

/// True if the comma-separated `value` has an element equal to `token`, ASCII case-insensitive.
pub(crate) fn has_token(value: &[u8], token: &str) -> bool {
    list_elements(value).any(|element| element.eq_ignore_ascii_case(token.as_bytes()))
}

/// The length of `items` joined with `", "`.
fn joined_len(items: &[&str]) -> usize {
    items.iter().map(|item| item.len()).sum::<usize>() + 2 * items.len().saturating_sub(1)
}

/// `items` joined with `", "` (RFC 7230 §7: `1#element`): borrowed as it is if there is one, else
/// written at the front of `scratch`, which is returned shortened past it. `scratch` must hold
/// [`join_scratch`] bytes.
pub(crate) fn join<'b>(items: &[&'b str], scratch: &'b mut [u8]) -> (&'b [u8], &'b mut [u8]) {
    if let [only] = items {
        return (only.as_bytes(), scratch);
    }
    let (out, rest) = scratch.split_at_mut(joined_len(items));
    let mut at = 0;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out[at..at + 2].copy_from_slice(b", ");
            at += 2;
        }
        out[at..at + item.len()].copy_from_slice(item.as_bytes());
        at += item.len();
    }
    (out, rest)
}

/// The scratch bytes [`join`] needs for `items`: none for one item or none.
pub(crate) fn join_scratch(items: &[&str]) -> usize {
    if items.len() > 1 {
        joined_len(items)
    } else {
        0
    }
}

/// True for a `Host` value: non-empty visible ASCII (RFC 7230 §5.4: `uri-host [ ":" port ]`).
pub(crate) fn is_host(host: &[u8]) -> bool {
    !host.is_empty() && host.iter().all(u8::is_ascii_graphic)
}

/// True for an `Origin` value: non-empty printable ASCII without surrounding spaces (RFC 6454 §7.1:
/// `origin-list-or-null`, serialized origins separated by SP).
pub(crate) fn is_origin(origin: &[u8]) -> bool {
    origin.first().is_some_and(u8::is_ascii_graphic)
        && origin.last().is_some_and(u8::is_ascii_graphic)
        && origin.iter().all(|&b| b == b' ' || b.is_ascii_graphic())
}

/// True for a request-target in origin-form as this crate writes and reads it: `/`, then visible
/// ASCII but `#` (RFC 7230 §5.3.1; RFC 6455 §3: no fragment).
pub(crate) fn is_origin_form(target: &[u8]) -> bool {
    target.first() == Some(&b'/') && target.iter().all(|&b| b.is_ascii_graphic() && b != b'#')
}

/// An HTTP version, as an HTTP library reports it (`http::Version::HTTP_11` is `1.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HttpVersion {
    /// The major version.
    pub major: u8,
    /// The minor version.
    pub minor: u8,
}

impl HttpVersion {
    /// HTTP/1.0.
    pub const HTTP_1_0: HttpVersion = HttpVersion { major: 1, minor: 0 };
    /// HTTP/1.1.
    pub const HTTP_1_1: HttpVersion = HttpVersion { major: 1, minor: 1 };
    /// HTTP/2.
    pub const HTTP_2: HttpVersion = HttpVersion { major: 2, minor: 0 };
    /// HTTP/3.
    pub const HTTP_3: HttpVersion = HttpVersion { major: 3, minor: 0 };

    /// The version of an `HTTP/x.y` token (RFC 7230 §2.6: `HTTP-version = "HTTP/" DIGIT "."
    /// DIGIT`), or `None` if `token` is not one.
    ///
    /// ```
    /// use wsproto::handshake::HttpVersion;
    /// assert_eq!(HttpVersion::parse(b"HTTP/1.1"), Some(HttpVersion::HTTP_1_1));
    /// assert_eq!(HttpVersion::parse(b"HTTP/11"), None);
    /// ```
    pub fn parse(token: &[u8]) -> Option<HttpVersion> {
        match token {
            [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
                if major.is_ascii_digit() && minor.is_ascii_digit() =>
            {
                Some(HttpVersion {
                    major: major - b'0',
                    minor: minor - b'0',
                })
            }
            _ => None,
        }
    }

    /// True for HTTP/1.1 and later 1.x: the versions with an Upgrade mechanism that RFC 6455
    /// §4.1 step 2 accepts ("at least 1.1"; HTTP/2 and HTTP/3 use extended CONNECT instead).
    pub const fn can_upgrade(self) -> bool {
        self.major == 1 && self.minor >= 1
    }
}

/// Asserts that `predicate` holds for each of `good` and for none of `bad`: the shape of most
/// tests of the grammar, here and in the modules above.
#[cfg(test)]
pub(crate) fn assert_holds_for(predicate: impl Fn(&[u8]) -> bool, good: &[&[u8]], bad: &[&[u8]]) {
    for input in good {
        assert!(
            predicate(input),
            "should hold for {:?}",
            core::str::from_utf8(input)
        );
    }
    for input in bad {
        assert!(
            !predicate(input),
            "should not hold for {:?}",
            core::str::from_utf8(input)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_holds_for(
            is_token,
            &[b"chat", b"v1.chat+json~!#$%&'*^_`|"],
            &[
                b"",
                b"a b",
                b"a,b",
                b"a;b",
                b"a=b",
                b"\"a\"",
                b"a/b",
                b"\xc3\xa4",
                b"a\0",
            ],
        );
    }

    #[test]
    fn lists() {
        let has_upgrade = |value: &[u8]| has_token(value, "upgrade");
        assert_holds_for(
            has_upgrade,
            &[b"keep-alive, Upgrade", b" ,UPGRADE,, "],
            &[b"upgrade2", b""],
        );
        assert_holds_for(
            is_token_list,
            &[b"chat, superchat", b"chat,,superchat,"],
            &[b"", b" , ", b"chat superchat"],
        );
    }

    #[test]
    fn joins_into_scratch() {
        let mut scratch = [0u8; 16];
        let (joined, rest) = join(&["a", "bc", "d"], &mut scratch);
        assert_eq!(joined, b"a, bc, d");
        assert_eq!(rest.len(), 8);
        let (one, rest) = join(&["only"], &mut []);
        assert_eq!((one, rest.len()), (&b"only"[..], 0));
        assert_eq!(join_scratch(&["a", "bc", "d"]), 8);
        assert_eq!(join_scratch(&["only"]), 0);
    }

    #[test]
    fn trims_optional_whitespace() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b" \t "), b"");
    }
}
