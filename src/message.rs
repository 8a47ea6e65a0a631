//! Whole messages on top of the connection's chunks.
//!
//! A [`Connection`](crate::connection::Connection) hands out data as chunks borrowed from the
//! input, so that messages of any size stream through a small buffer. Applications that want whole
//! messages feed those chunks to a [`MessageAssembler`], which stores them in a [`MessageBuffer`]:
//! a fixed-capacity [`FixedBuffer`] (no allocation), a caller's slice ([`SliceBuffer`]) or, with
//! the `alloc` feature, a `Vec<u8>`.
//!
//! A message that arrives as one chunk (one frame, read in one piece) is not copied at all: it is
//! returned borrowed from the input.
//!
//! The connection enforces `max_message_size` as bytes arrive (failing with 1009); a buffer's own
//! capacity is a second, local bound: a message over it is a [`CapacityExceeded`] error, and the
//! application should then close the connection with 1009.

use core::fmt;

use crate::connection::{DataKind, Event};

/// A whole received message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A text message: valid UTF-8 (the connection checked it).
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

/// A message did not fit in the assembler's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityExceeded {
    /// The buffer's capacity.
    pub capacity: usize,
}

impl fmt::Display for CapacityExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "message exceeds the buffer's capacity of {} bytes",
            self.capacity
        )
    }
}

impl core::error::Error for CapacityExceeded {}

/// Storage for one message being reassembled.
pub trait MessageBuffer {
    /// Forgets the stored bytes (keeping any capacity).
    fn clear(&mut self);
    /// Appends `bytes`, or fails without storing any of them if they do not fit.
    ///
    /// # Errors
    ///
    /// [`CapacityExceeded`] if the buffer cannot grow to hold them.
    fn extend(&mut self, bytes: &[u8]) -> Result<(), CapacityExceeded>;
    /// The stored bytes.
    fn as_slice(&self) -> &[u8];
}

/// A buffer of `N` bytes held inline: no allocation.
#[derive(Clone, Debug)]
pub struct FixedBuffer<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> FixedBuffer<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        FixedBuffer {
            bytes: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> Default for FixedBuffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> MessageBuffer for FixedBuffer<N> {
    fn clear(&mut self) {
        self.len = 0;
    }

    fn extend(&mut self, bytes: &[u8]) -> Result<(), CapacityExceeded> {
        let end = self.len.checked_add(bytes.len()).filter(|&end| end <= N);
        let end = end.ok_or(CapacityExceeded { capacity: N })?;
        self.bytes[self.len..end].copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A buffer in memory the caller lends (a static array on firmware, say): no allocation.
#[derive(Debug)]
pub struct SliceBuffer<'a> {
    bytes: &'a mut [u8],
    len: usize,
}

impl<'a> SliceBuffer<'a> {
    /// An empty buffer over `bytes`.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        SliceBuffer { bytes, len: 0 }
    }
}

impl MessageBuffer for SliceBuffer<'_> {
    fn clear(&mut self) {
        self.len = 0;
    }

    fn extend(&mut self, bytes: &[u8]) -> Result<(), CapacityExceeded> {
        let capacity = self.bytes.len();
        let end = self
            .len
            .checked_add(bytes.len())
            .filter(|&end| end <= capacity);
        let end = end.ok_or(CapacityExceeded { capacity })?;
        self.bytes[self.len..end].copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A growable buffer. Its capacity is kept across messages, so a stream of messages of similar
/// size stops allocating after the first. Bounded by the connection's `max_message_size`.
#[cfg(feature = "alloc")]
impl MessageBuffer for alloc::vec::Vec<u8> {
    fn clear(&mut self) {
        alloc::vec::Vec::clear(self);
    }

    fn extend(&mut self, bytes: &[u8]) -> Result<(), CapacityExceeded> {
        self.try_reserve(bytes.len())
            .map_err(|_| CapacityExceeded {
                capacity: self.len(),
            })?;
        self.extend_from_slice(bytes);
        Ok(())
    }

    fn as_slice(&self) -> &[u8] {
        self
    }
}

/// Reassembles the data chunks of a connection into whole messages.
///
/// ```
/// use wsproto::config::Config;
/// use wsproto::connection::{Connection, Event};
/// use wsproto::message::{FixedBuffer, Message, MessageAssembler};
/// use wsproto::time::Instant;
/// use wsproto::Role;
///
/// let mut ws = Connection::open(Config::default(), Role::Client, |b: &mut [u8]| b.fill(1), Instant::default()).unwrap();
/// let mut messages = MessageAssembler::new(FixedBuffer::<64>::new());
/// // "Hel" + "lo" in two fragments (RFC 6455 §5.7).
/// let mut input = *b"\x01\x03Hel\x80\x02lo";
/// let mut pos = 0;
/// let mut got = None;
/// loop {
///     let r = ws.receive(&mut input[pos..], Instant::default());
///     pos += r.consumed;
///     let Some(event) = r.event else { break };
///     if let Some(Message::Text(text)) = messages.push(&event).unwrap() {
///         got = Some(text.len());
///     }
/// }
/// assert_eq!(got, Some(5));
/// ```
#[derive(Debug)]
pub struct MessageAssembler<B> {
    buffer: B,
    kind: Option<DataKind>,
}

impl<B: MessageBuffer> MessageAssembler<B> {
    /// An assembler storing fragmented messages in `buffer`.
    pub fn new(buffer: B) -> Self {
        MessageAssembler { buffer, kind: None }
    }

    /// Feeds one event. Returns a message when `event` completes one; other events (pings,
    /// closes …) pass through as `None` and are left to the caller.
    ///
    /// # Errors
    ///
    /// [`CapacityExceeded`] if the message does not fit in the buffer; the partial message is
    /// dropped.
    pub fn push<'s, 'a: 's>(
        &'s mut self,
        event: &Event<'a>,
    ) -> Result<Option<Message<'s>>, CapacityExceeded> {
        let Event::Data {
            kind,
            chunk,
            message_start,
            message_fin,
            ..
        } = *event
        else {
            return Ok(None);
        };
        if message_start {
            self.buffer.clear();
            if message_fin {
                // One chunk: no copy.
                self.kind = None;
                return Ok(Some(message(kind, chunk)));
            }
            self.kind = Some(kind);
        }
        if let Err(err) = self.buffer.extend(chunk) {
            self.buffer.clear();
            self.kind = None;
            return Err(err);
        }
        if !message_fin {
            return Ok(None);
        }
        self.kind = None;
        Ok(Some(message(kind, self.buffer.as_slice())))
    }

    /// The buffer, for reuse.
    pub fn into_buffer(self) -> B {
        self.buffer
    }
}

fn message(kind: DataKind, bytes: &[u8]) -> Message<'_> {
    match kind {
        // The connection validated the whole message before `message_fin`.
        // SIMD validation: a small price next to the copy, and no `unsafe` needed.
        DataKind::Text => match crate::utf8::from_utf8(bytes) {
            Ok(text) => Message::Text(text),
            Err(_) => Message::Binary(bytes),
        },
        DataKind::Binary => Message::Binary(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(chunk: &[u8], message_start: bool, message_fin: bool) -> Event<'_> {
        Event::Data {
            kind: DataKind::Binary,
            chunk,
            message_start,
            frame_fin: true,
            message_fin,
        }
    }

    fn assemble<B: MessageBuffer>(
        assembler: &mut MessageAssembler<B>,
    ) -> Result<Option<usize>, CapacityExceeded> {
        assert_eq!(assembler.push(&data(b"ab", true, false)), Ok(None));
        assert_eq!(
            assembler.push(&Event::Ping(b"")),
            Ok(None),
            "control events pass through"
        );
        assert_eq!(assembler.push(&data(b"", false, false)), Ok(None));
        match assembler.push(&data(b"cde", false, true))? {
            Some(Message::Binary(bytes)) => {
                assert_eq!(bytes, b"abcde");
                Ok(Some(bytes.len()))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fixed_and_slice_buffers_reassemble_and_refuse_overflow() {
        assert_eq!(
            assemble(&mut MessageAssembler::new(FixedBuffer::<5>::new())),
            Ok(Some(5))
        );
        let mut small = MessageAssembler::new(FixedBuffer::<4>::new());
        assert_eq!(assemble(&mut small), Err(CapacityExceeded { capacity: 4 }));
        // After the error the next message starts clean.
        assert_eq!(
            small.push(&data(b"xy", true, true)),
            Ok(Some(Message::Binary(b"xy")))
        );
        let mut storage = [0u8; 8];
        assert_eq!(
            assemble(&mut MessageAssembler::new(SliceBuffer::new(&mut storage))),
            Ok(Some(5))
        );
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn vec_buffer_keeps_its_capacity() {
        let mut assembler = MessageAssembler::new(alloc::vec::Vec::new());
        assert_eq!(assemble(&mut assembler), Ok(Some(5)));
        assert!(assembler.into_buffer().capacity() >= 5);
    }

    #[test]
    fn single_chunk_messages_are_borrowed_and_text_is_text() {
        // A zero-capacity buffer proves that no copy is made.
        let mut assembler = MessageAssembler::new(FixedBuffer::<0>::new());
        let event = Event::Data {
            kind: DataKind::Text,
            chunk: "héllo".as_bytes(),
            message_start: true,
            frame_fin: true,
            message_fin: true,
        };
        assert_eq!(assembler.push(&event), Ok(Some(Message::Text("héllo"))));
    }
}

/// A whole message, owned, generic over its payload buffers: `T` holds text (valid UTF-8), `B`
/// bytes. [`OwnedMessage`] is the one with `String` and `Vec<u8>`; an async adapter may hold
/// reference-counted buffers instead, so that one message sent to many connections is never
/// copied per connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MessageOf<T, B> {
    /// A text message (valid UTF-8).
    Text(T),
    /// A binary message.
    Binary(B),
}

/// A whole message, owned in a `String` or a `Vec<u8>`: what an adapter with a heap hands out and
/// takes.
#[cfg(feature = "alloc")]
pub type OwnedMessage = MessageOf<alloc::string::String, alloc::vec::Vec<u8>>;

impl<T: AsRef<str>, B: AsRef<[u8]>> MessageOf<T, B> {
    /// The payload.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            MessageOf::Text(text) => text.as_ref().as_bytes(),
            MessageOf::Binary(bytes) => bytes.as_ref(),
        }
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The message borrowed: what a [`Session`](crate::session::Session) sends.
    pub fn as_message(&self) -> Message<'_> {
        match self {
            MessageOf::Text(text) => Message::Text(text.as_ref()),
            MessageOf::Binary(bytes) => Message::Binary(bytes.as_ref()),
        }
    }
}

impl<T: Into<B>, B> MessageOf<T, B> {
    /// The payload, as bytes.
    pub fn into_bytes(self) -> B {
        match self {
            MessageOf::Text(text) => text.into(),
            MessageOf::Binary(bytes) => bytes,
        }
    }
}

#[cfg(feature = "alloc")]
impl<T: From<alloc::string::String>, B> From<alloc::string::String> for MessageOf<T, B> {
    fn from(text: alloc::string::String) -> Self {
        MessageOf::Text(text.into())
    }
}

impl<'a, T: From<&'a str>, B> From<&'a str> for MessageOf<T, B> {
    fn from(text: &'a str) -> Self {
        MessageOf::Text(text.into())
    }
}

#[cfg(feature = "alloc")]
impl<T, B: From<alloc::vec::Vec<u8>>> From<alloc::vec::Vec<u8>> for MessageOf<T, B> {
    fn from(bytes: alloc::vec::Vec<u8>) -> Self {
        MessageOf::Binary(bytes.into())
    }
}

/// A copy into `Vec<u8>`; `bytes::Bytes` takes only `&'static [u8]`, without a copy.
impl<'a, T, B: From<&'a [u8]>> From<&'a [u8]> for MessageOf<T, B> {
    fn from(bytes: &'a [u8]) -> Self {
        MessageOf::Binary(bytes.into())
    }
}

impl<'a, T: From<&'a str>, B: From<&'a [u8]>> From<Message<'a>> for MessageOf<T, B> {
    fn from(message: Message<'a>) -> Self {
        match message {
            Message::Text(text) => MessageOf::Text(text.into()),
            Message::Binary(bytes) => MessageOf::Binary(bytes.into()),
        }
    }
}
