//! The messages a [`WebSocket`](crate::WebSocket) yields and takes: payloads shared by reference
//! count, so that one message sent to many connections (a broadcast) is never copied per
//! connection.
//!
//! A received message is copied once, from the session's input into its own buffer, as before;
//! cloning it, or a message built once and sent to every subscriber, costs a reference count.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;

/// A whole text or binary message: text in [`Utf8Bytes`], binary in [`Bytes`]. A clone shares the
/// payload.
///
/// Built from `String`, `&str`, `Vec<u8>` or `&'static [u8]` with `From`:
///
/// ```
/// use wsproto_tokio::Message;
/// let text = Message::from("hello");
/// let copy = text.clone(); // a reference count, not a copy
/// assert_eq!(text.as_bytes().as_ptr(), copy.as_bytes().as_ptr());
/// assert_eq!(Message::from(vec![1, 2]), Message::Binary(bytes::Bytes::from_static(&[1, 2])));
/// ```
pub type Message = wsproto::message::MessageOf<Utf8Bytes, Bytes>;

/// UTF-8 text shared by reference count: a clone never copies it, and [`as_str`](Self::as_str)
/// is free. Converts into [`Bytes`] without a copy.
///
/// The text lives in an `Arc<str>` rather than in a `Bytes` checked once: reading a `Bytes` back
/// as `&str` needs either `unsafe` (which this crate forbids) or validating it again at each
/// read.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Utf8Bytes(Arc<str>);

impl Utf8Bytes {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Utf8Bytes {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Moves the text into a shared buffer (one copy, as `Arc<str>` stores its count beside it).
impl From<String> for Utf8Bytes {
    fn from(text: String) -> Self {
        Utf8Bytes(text.into())
    }
}

/// Copies the text.
impl From<&str> for Utf8Bytes {
    fn from(text: &str) -> Self {
        Utf8Bytes(text.into())
    }
}

/// Shares the text.
impl From<Arc<str>> for Utf8Bytes {
    fn from(text: Arc<str>) -> Self {
        Utf8Bytes(text)
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The text's bytes, shared: no copy.
impl From<Utf8Bytes> for Bytes {
    fn from(text: Utf8Bytes) -> Self {
        Bytes::from_owner(text)
    }
}
