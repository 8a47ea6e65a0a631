//! The HTTP/1.1 message head: finding its end, checking its lines, walking its header fields, and
//! writing one (RFC 7230 §3, §3.2, §3.5).
//!
//! A head is a start line, header lines and an empty line, each ending in CRLF:
//!
//! ```text
//! start-line CRLF *( header-field CRLF ) CRLF
//! header-field = field-name ":" OWS field-value OWS
//! ```

use super::error::HandshakeError;
use super::syntax::{ascii_str, is_field_value, is_tchar, trim_ows};

/// Bounds on a head the parsers accept, so that nothing a peer sends grows work or memory beyond
/// what the caller configured (the README's promise: "bounded in memory by configuration for any
/// input"). The length is enforced while the head arrives ([`HeadScanner::scan`]); the number of
/// header lines once it is complete, when the length limit has already bounded the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HeadLimits {
    /// The longest head, start line to blank line inclusive, in bytes. Default 8192.
    pub max_head_len: usize,
    /// The most header lines. Default 64.
    pub max_headers: usize,
}

impl HeadLimits {
    /// 8192 bytes and 64 header lines.
    pub const DEFAULT: HeadLimits = HeadLimits {
        max_head_len: 8192,
        max_headers: 64,
    };
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits::DEFAULT
    }
}

/// Finds the end of a head that arrives in pieces, looking at every byte once.
///
/// The caller keeps the bytes received so far in its own buffer and presents them again, with more
/// appended, on each call (as with `httparse`). The scanner remembers how far it has looked for
/// the blank line, so that a head delivered one byte at a time costs O(n) in total, not O(n²).
///
/// Rules:
/// - Each call MUST present the same bytes as the previous call, possibly followed by more. A
///   shorter buffer is taken as a new head (the scanner starts over); other changes are not noticed.
/// - Call [`reset`](Self::reset) before scanning a different head.
///
/// Errors are reported as soon as the bytes that decide them are present: a bare CR or LF
/// (RFC 7230 §3.5; this parser accepts only CRLF), or `max_head_len` bytes without a blank line.
///
/// ```
/// use wsproto::handshake::{HeadLimits, HeadScanner};
/// let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nframes";
/// let mut scanner = HeadScanner::new();
/// for end in 0..26 {
///     assert_eq!(scanner.scan(&head[..end], &HeadLimits::DEFAULT), Ok(None));
/// }
/// assert_eq!(scanner.scan(&head[..], &HeadLimits::DEFAULT), Ok(Some(27)));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeadScanner {
    /// How many bytes have been looked at.
    scanned: usize,
    /// The head's length once its blank line has been found.
    head_len: Option<usize>,
}

impl HeadScanner {
    /// A scanner at the start of a head.
    pub const fn new() -> Self {
        HeadScanner {
            scanned: 0,
            head_len: None,
        }
    }

    /// Forgets everything, to scan a new head.
    pub fn reset(&mut self) {
        *self = HeadScanner::new();
    }

    /// Looks for the end of the head in `buf`, starting where the previous call stopped.
    ///
    /// Returns `Ok(Some(len))` once `buf[..len]` is a whole head ending in CRLF CRLF (what follows
    /// is not part of it), `Ok(None)` while it is incomplete.
    ///
    /// # Errors
    /// [`BareLf`](HandshakeError::BareLf), [`BareCr`](HandshakeError::BareCr),
    /// [`HeadTooLarge`](HandshakeError::HeadTooLarge) (as soon as `limits.max_head_len` bytes
    /// have been seen without the blank line).
    pub fn scan(
        &mut self,
        buf: &[u8],
        limits: &HeadLimits,
    ) -> Result<Option<usize>, HandshakeError> {
        if buf.len() < self.scanned {
            self.reset();
        }
        if let Some(len) = self.head_len {
            return Ok(Some(len));
        }
        let end = buf.len().min(limits.max_head_len);
        let mut i = self.scanned;
        while i < end {
            let byte = buf[i];
            let after_cr = i > 0 && buf[i - 1] == b'\r';
            if byte == b'\n' {
                // RFC 7230 §3.5 lets a recipient accept a bare LF; we do not (module docs).
                if !after_cr {
                    self.scanned = i;
                    return Err(HandshakeError::BareLf { offset: i });
                }
                if i >= 3 && buf[i - 3] == b'\r' && buf[i - 2] == b'\n' {
                    self.scanned = i + 1;
                    self.head_len = Some(i + 1);
                    return Ok(Some(i + 1));
                }
            } else if after_cr {
                self.scanned = i;
                return Err(HandshakeError::BareCr { offset: i - 1 });
            }
            i += 1;
        }
        self.scanned = end;
        if end == limits.max_head_len {
            return Err(HandshakeError::HeadTooLarge {
                limit: limits.max_head_len,
            });
        }
        Ok(None)
    }
}

/// A whole head whose lines have been checked: start line and header block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Head<'a> {
    /// The first line, without its CRLF.
    pub(crate) start_line: &'a [u8],
    /// The header lines, each with its CRLF; without the blank line.
    pub(crate) fields: &'a [u8],
}

/// Checks the lines of `head`, which a [`HeadScanner`] found to end in CRLF CRLF with every CR and
/// LF paired.
pub(crate) fn parse_head<'a>(
    head: &'a [u8],
    limits: &HeadLimits,
) -> Result<Head<'a>, HandshakeError> {
    debug_assert!(head.ends_with(b"\r\n\r\n") || head == b"\r\n");
    // Without the blank line's CRLF, every line ends in CRLF.
    let lines = &head[..head.len().saturating_sub(2)];
    let first_end = find_crlf(lines, 0);
    let start_line = &lines[..first_end];
    let fields = lines.get(first_end + 2..).unwrap_or(&[]);
    let mut pos = 0;
    let mut line = 2;
    let mut count = 0;
    while pos < fields.len() {
        let end = find_crlf(fields, pos);
        check_field_line(&fields[pos..end], line)?;
        count += 1;
        if count > limits.max_headers {
            return Err(HandshakeError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
        pos = end + 2;
        line += 1;
    }
    Ok(Head { start_line, fields })
}

/// The index of the next CR at or after `from` (which, in a scanned head, starts a CRLF), or the
/// end of `buf`.
fn find_crlf(buf: &[u8], from: usize) -> usize {
    buf[from..]
        .iter()
        .position(|&b| b == b'\r')
        .map_or(buf.len(), |i| from + i)
}

/// One header line, without its CRLF (RFC 7230 §3.2).
fn check_field_line(field: &[u8], line: usize) -> Result<(), HandshakeError> {
    // RFC 7230 §3.2.4: obs-fold is deprecated; a server may reject it with 400. We reject it
    // everywhere, and whitespace after the start line (§3) with it.
    if matches!(field.first(), Some(b' ' | b'\t')) {
        return Err(HandshakeError::FoldedHeader { line });
    }
    let Some(colon) = field.iter().position(|&b| b == b':') else {
        return Err(HandshakeError::MissingColon { line });
    };
    let name = &field[..colon];
    // RFC 7230 §3.2.4: "No whitespace is allowed between the header field-name and colon ... A
    // server MUST reject any received request message that contains whitespace between a header
    // field-name and colon".
    if matches!(name.last(), Some(b' ' | b'\t')) {
        return Err(HandshakeError::WhitespaceBeforeColon { line });
    }
    // RFC 7230 §3.2: field-name = token.
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(HandshakeError::InvalidHeaderName { line });
    }
    // RFC 7230 §3.2: field-value = *( field-content / obs-fold ): VCHAR, obs-text, SP, HTAB.
    if !is_field_value(&field[colon + 1..]) {
        return Err(HandshakeError::InvalidHeaderValue { line });
    }
    Ok(())
}

/// The header fields of a parsed head, in order: `(name, value)`, the value without surrounding
/// whitespace. Names are as received (compare them with `eq_ignore_ascii_case`); values are bytes
/// because HTTP allows non-ASCII (`obs-text`) in them.
///
/// Walks the head again on each iteration: no storage, no allocation.
#[derive(Clone, Debug)]
pub struct Headers<'a> {
    rest: &'a [u8],
}

impl<'a> Headers<'a> {
    pub(crate) fn new(fields: &'a [u8]) -> Self {
        Headers { rest: fields }
    }
}

impl<'a> Iterator for Headers<'a> {
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let end = find_crlf(self.rest, 0);
        let field = &self.rest[..end];
        self.rest = self.rest.get(end + 2..).unwrap_or(&[]);
        let colon = field.iter().position(|&b| b == b':').unwrap_or(field.len());
        let value = field.get(colon + 1..).unwrap_or(&[]);
        Some((ascii_str(&field[..colon]), trim_ows(value)))
    }
}

/// An output cursor that writes what fits and counts everything, so one emitting function can
/// first measure and then write.
pub(crate) struct Out<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Out<'_> {
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
        }
        self.len = end;
    }

    /// `name: value CRLF`.
    pub(crate) fn header(&mut self, name: &str, value: &[u8]) {
        self.put(name.as_bytes());
        self.put(b": ");
        self.put(value);
        self.put(b"\r\n");
    }

    /// `n` in decimal.
    pub(crate) fn decimal(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.put(&digits[start..]);
    }
}

/// Runs `emit` once to measure, then, if `out` is large enough, once more to write into it.
/// On error `out` is unchanged.
pub(crate) fn write_with(
    out: &mut [u8],
    emit: impl Fn(&mut Out<'_>),
) -> Result<usize, HandshakeError> {
    let mut measure = Out {
        buf: &mut [],
        len: 0,
    };
    emit(&mut measure);
    let needed = measure.len;
    if out.len() < needed {
        return Err(HandshakeError::BufferTooSmall { needed });
    }
    let mut writer = Out { buf: out, len: 0 };
    emit(&mut writer);
    debug_assert_eq!(writer.len, needed);
    Ok(needed)
}

/// Checks extra headers supplied by the caller: names are tokens (RFC 7230 §3.2), values hold no
/// control but HTAB (no header injection), and none is one of `reserved` ([`is_one_of`]).
pub(crate) fn check_extra_headers(
    headers: &[(&str, &str)],
    reserved: &[&str],
) -> Result<(), HandshakeError> {
    for (index, (name, value)) in headers.iter().enumerate() {
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(HandshakeError::ExtraHeaderName { index });
        }
        if !is_field_value(value.as_bytes()) {
            return Err(HandshakeError::ExtraHeaderValue { index });
        }
        if is_one_of(name, reserved) {
            return Err(HandshakeError::ReservedHeader { index });
        }
    }
    Ok(())
}

/// True if the field name `name` is one of `names`, ASCII case-insensitive (RFC 7230 §3.2); a
/// name ending in `*` stands for every name that starts with what comes before it
/// (`Sec-WebSocket-*`).
pub(crate) fn is_one_of(name: &str, names: &[&str]) -> bool {
    names.iter().any(|pattern| match pattern.strip_suffix('*') {
        Some(prefix) => name
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix)),
        None => name.eq_ignore_ascii_case(pattern),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits::DEFAULT;

    #[test]
    fn scanner_finds_the_blank_line_once() {
        let head = b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest";
        let mut scanner = HeadScanner::new();
        assert_eq!(
            scanner.scan(b"GET / HTTP/1.1\r\nA: b\r\n\r", &LIMITS),
            Ok(None)
        );
        assert_eq!(scanner.scan(head, &LIMITS), Ok(Some(24)));
        assert_eq!(scanner.scan(head, &LIMITS), Ok(Some(24)));
        assert_eq!(HeadScanner::new().scan(head, &LIMITS), Ok(Some(24)));
    }

    #[test]
    fn scanner_rejects_bare_line_endings() {
        for (buf, expected) in [
            (
                &b"GET / HTTP/1.1\nHost: a\n\n"[..],
                HandshakeError::BareLf { offset: 14 },
            ),
            (
                b"GET / HTTP/1.1\rHost: a",
                HandshakeError::BareCr { offset: 14 },
            ),
            (b"\n", HandshakeError::BareLf { offset: 0 }),
        ] {
            assert_eq!(
                HeadScanner::new().scan(buf, &LIMITS),
                Err(expected),
                "{buf:?}"
            );
        }
        // A CR at the end of the buffer waits for the next byte.
        let mut scanner = HeadScanner::new();
        assert_eq!(scanner.scan(b"GET / HTTP/1.1\r", &LIMITS), Ok(None));
        assert_eq!(
            scanner.scan(b"GET / HTTP/1.1\rx", &LIMITS),
            Err(HandshakeError::BareCr { offset: 14 })
        );
    }

    #[test]
    fn scanner_fails_as_soon_as_the_limit_is_crossed() {
        let limits = HeadLimits {
            max_head_len: 20,
            max_headers: 64,
        };
        let mut scanner = HeadScanner::new();
        let bytes = [b'a'; 40];
        for end in 0..20 {
            assert_eq!(scanner.scan(&bytes[..end], &limits), Ok(None));
        }
        assert_eq!(
            scanner.scan(&bytes[..20], &limits),
            Err(HandshakeError::HeadTooLarge { limit: 20 })
        );
        // A head of exactly the limit is accepted.
        let exact = b"GET / HTTP/1.1\r\nA:\r\n\r\n";
        let limits = HeadLimits {
            max_head_len: exact.len(),
            max_headers: 64,
        };
        assert_eq!(
            HeadScanner::new().scan(exact, &limits),
            Ok(Some(exact.len()))
        );
    }

    #[test]
    fn scanner_restarts_on_a_shorter_buffer() {
        let mut scanner = HeadScanner::new();
        assert_eq!(
            scanner.scan(b"GET / HTTP/1.1\r\nA: b\r\n", &LIMITS),
            Ok(None)
        );
        assert_eq!(scanner.scan(b"X\r\n\r\n", &LIMITS), Ok(Some(5)));
    }

    #[test]
    fn field_lines() {
        use HandshakeError::*;
        for (head, expected) in [
            (&b"S\r\nA: b\r\n\r\n"[..], Ok(6)),
            (b"S\r\n\r\n", Ok(0)),
            ("S\r\nA: \tÄ b\r\n\r\n".as_bytes(), Ok(10)),
            (b"S\r\n b\r\n\r\n", Err(FoldedHeader { line: 2 })),
            (b"S\r\nA: b\r\nB\r\n\r\n", Err(MissingColon { line: 3 })),
            (
                b"S\r\nA : b\r\n\r\n",
                Err(WhitespaceBeforeColon { line: 2 }),
            ),
            (b"S\r\n: b\r\n\r\n", Err(InvalidHeaderName { line: 2 })),
            (b"S\r\nA(: b\r\n\r\n", Err(InvalidHeaderName { line: 2 })),
            (
                "S\r\nÄ: b\r\n\r\n".as_bytes(),
                Err(InvalidHeaderName { line: 2 }),
            ),
            (b"S\r\nA: b\0\r\n\r\n", Err(InvalidHeaderValue { line: 2 })),
            (b"S\r\nA: \x7f\r\n\r\n", Err(InvalidHeaderValue { line: 2 })),
        ] {
            let fields = parse_head(head, &LIMITS).map(|h| h.fields.len());
            assert_eq!(fields, expected, "{:?}", core::str::from_utf8(head));
        }
        let limits = HeadLimits {
            max_head_len: 100,
            max_headers: 1,
        };
        assert_eq!(
            parse_head(b"S\r\nA:\r\nB:\r\n\r\n", &limits).map(|_| ()),
            Err(HandshakeError::TooManyHeaders { limit: 1 })
        );
    }

    #[test]
    fn headers_walk_the_block() {
        let head = parse_head(b"S\r\nA:  x y \t\r\nb-C:\r\nA:z\r\n\r\n", &LIMITS).unwrap();
        let mut headers = Headers::new(head.fields);
        assert_eq!(headers.next(), Some(("A", &b"x y"[..])));
        assert_eq!(headers.next(), Some(("b-C", &b""[..])));
        assert_eq!(headers.next(), Some(("A", &b"z"[..])));
        assert_eq!(headers.next(), None);
    }

    #[test]
    fn out_measures_then_writes() {
        let emit = |out: &mut Out<'_>| {
            out.header("A", b"b");
            out.decimal(0);
            out.decimal(1234);
        };
        let mut buf = [0xAA; 12];
        assert_eq!(
            write_with(&mut buf[..10], emit),
            Err(HandshakeError::BufferTooSmall { needed: 11 })
        );
        assert_eq!(buf, [0xAA; 12]);
        assert_eq!(write_with(&mut buf, emit), Ok(11));
        assert_eq!(&buf[..11], b"A: b\r\n01234");
    }
}
