//! Fixtures shared by the benches and the load run: the scenarios' wire bytes (generated once,
//! outside any timed region), and one receive loop per implementation, each returning the same
//! [`Sum`] for the same bytes.
//!
//! Every implementation reads the same masked client frames from an in-memory stream (a copy
//! into its own buffer, as from a socket: each read copies as much as the buffer it offers
//! takes), unmasks them, answers pings, and hands each **whole message** to a consumer that
//! counts it, adds its length and its last byte. Text is validated as UTF-8 by every
//! implementation (by the consumer for embedded-websocket, which does not validate).

use std::io::{Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use wsproto::Role;
use wsproto::config::Config;
use wsproto::connection::{Connection, Event, Transmit};
use wsproto::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, Rsv, encode_frame};
use wsproto::mask::apply_mask;
use wsproto::time::Instant;

/// What a consumer saw: messages, payload bytes, and the sum of every message's last byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sum {
    /// Whole messages.
    pub messages: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// The sum of each message's last byte (a cheap check that the bytes were unmasked).
    pub tail: u64,
}

impl Sum {
    /// Counts one whole message.
    #[inline]
    pub fn message(&mut self, payload: &[u8]) {
        self.messages += 1;
        self.bytes += payload.len() as u64;
        self.tail += u64::from(payload.last().copied().unwrap_or(0));
    }
}

/// A receive scenario: the wire bytes a client sent and what a consumer must see.
pub struct Scenario {
    /// R1 … R6.
    pub name: &'static str,
    /// Masked client frames, back to back.
    pub wire: Vec<u8>,
    /// Text (validated) or binary.
    pub text: bool,
    /// Payload bytes of each message.
    pub size: usize,
    /// Messages in the scenario.
    pub count: usize,
    /// What every implementation's consumer must report.
    pub expected: Sum,
}

/// A deterministic generator (64-bit LCG), for masking keys.
pub struct Lcg(u64);

impl Lcg {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Lcg(seed)
    }

    /// The next 32 bits.
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 32) as u32
    }
}

/// Appends one masked frame carrying `payload`.
pub fn push_frame(wire: &mut Vec<u8>, opcode: OpCode, fin: bool, payload: &[u8], rng: &mut Lcg) {
    let key = rng.next_u32().to_ne_bytes();
    let header = FrameHeader {
        fin,
        ..FrameHeader::new(opcode, Some(key), payload.len() as u64)
    };
    let start = wire.len();
    wire.resize(start + header.encoded_len() + payload.len(), 0);
    encode_frame(&header, payload, &mut wire[start..]).expect("sized for the frame");
}

/// `len` bytes of binary payload for message `n`.
pub fn binary(len: usize, n: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + n * 7) as u8).collect()
}

/// Exactly `len` bytes of valid UTF-8 mixing ASCII with 2-, 3- and 4-byte characters
/// (about half the bytes are non-ASCII).
pub fn text(len: usize, n: usize) -> Vec<u8> {
    const PIECES: [&str; 6] = [
        "The quick brown fox jumps over the lazy dog. ",
        "Grüße aus Köln, ça va? ",
        "日本語のテキストと漢字 ",
        "Ελληνικά και Кириллица ",
        "emoji 🎉🚀🦀 ",
        "0123456789 ",
    ];
    let mut s = String::with_capacity(len + 64);
    let mut i = n;
    while s.len() < len {
        s.push_str(PIECES[i % PIECES.len()]);
        i += 1;
    }
    let mut cut = len;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    while s.len() < len {
        s.push('x');
    }
    s.into_bytes()
}

/// Messages of `size` bytes, `count` of them, each in `fragments` frames, with a ping after
/// every `ping_every` fragments (0: none).
pub fn scenario(
    name: &'static str,
    text_messages: bool,
    size: usize,
    count: usize,
    fragments: usize,
    ping_every: usize,
) -> Scenario {
    let mut rng = Lcg::new(0x5eed ^ size as u64);
    let mut wire = Vec::with_capacity(count * (size + fragments * MAX_HEADER_LEN + 64));
    let mut expected = Sum::default();
    for n in 0..count {
        let payload = if text_messages {
            text(size, n)
        } else {
            binary(size, n)
        };
        expected.message(&payload);
        let piece = size.div_ceil(fragments);
        let pieces: Vec<&[u8]> = payload.chunks(piece).collect();
        for (i, part) in pieces.iter().enumerate() {
            let opcode = match (i, text_messages) {
                (0, true) => OpCode::Text,
                (0, false) => OpCode::Binary,
                _ => OpCode::Continuation,
            };
            push_frame(&mut wire, opcode, i + 1 == pieces.len(), part, &mut rng);
            if ping_every > 0 && (i + 1) % ping_every == 0 && i + 1 < pieces.len() {
                push_frame(&mut wire, OpCode::Ping, true, b"ping", &mut rng);
            }
        }
    }
    Scenario {
        name,
        wire,
        text: text_messages,
        size,
        count,
        expected,
    }
}

/// The receive scenarios R1–R6.
pub fn scenarios() -> Vec<Scenario> {
    ["R1", "R2", "R3", "R4", "R5", "R6"]
        .into_iter()
        .map(named)
        .collect()
}

/// One receive scenario, by its number (`"R1"` … `"R6"`).
pub fn named(which: &str) -> Scenario {
    match which {
        "R1" => scenario("R1_bin_16B", false, 16, 100_000, 1, 0),
        "R2" => scenario("R2_bin_1KiB", false, 1024, 10_000, 1, 0),
        "R3" => scenario("R3_bin_64KiB", false, 64 * 1024, 1_000, 1, 0),
        "R4" => scenario("R4_bin_1MiB", false, 1024 * 1024, 16, 1, 0),
        "R5" => scenario("R5_text_1KiB", true, 1024, 10_000, 1, 0),
        "R6" => scenario("R6_text_64KiB_frag", true, 64 * 1024, 1_000, 16, 4),
        other => panic!("no scenario {other}"),
    }
}

/// The most one read appends to a [`SocketBuf`]: tungstenite's default read chunk
/// (`read_buffer_size`, 128 KiB).
pub const READ_BUF: usize = 128 * 1024;

/// Room in front of a [`SocketBuf`]'s read position for unconsumed bytes.
pub const HEADROOM: usize = 8 * 1024;

/// The read buffer of the embedded-websocket loop and of the references, driven
/// like a socket's: each read appends up to [`READ_BUF`] bytes at a fixed, 64-byte-aligned
/// position, and the bytes left unconsumed by the last round are first moved just in front of
/// it. (Reading to an unaligned position makes glibc's `rep movsb` copy several times slower on
/// this CPU, which would measure the harness rather than the implementations.)
pub struct SocketBuf {
    /// The storage.
    pub buf: Vec<u8>,
    /// Where reads land.
    pub head: usize,
    /// The first unconsumed byte.
    pub start: usize,
    /// One past the last byte read.
    pub end: usize,
}

impl SocketBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        let buf = vec![0u8; HEADROOM + READ_BUF + 64];
        let head = buf.as_ptr().align_offset(64) + HEADROOM;
        SocketBuf {
            buf,
            head,
            start: head,
            end: head,
        }
    }

    /// Keeps the unconsumed bytes (`start..end`) and reads more from `reader`; false at the end
    /// of the input.
    pub fn fill(&mut self, reader: &mut &[u8]) -> bool {
        let left = self.end - self.start;
        assert!(left <= HEADROOM, "{left} bytes left unconsumed");
        self.buf.copy_within(self.start..self.end, self.head - left);
        self.start = self.head - left;
        let n = reader
            .read(&mut self.buf[self.head..self.head + READ_BUF])
            .expect("in-memory read");
        self.end = self.head + n;
        n > 0
    }
}

impl Default for SocketBuf {
    fn default() -> Self {
        Self::new()
    }
}

/// wsproto's configuration for the benches: frames and messages up to 1 MiB (the default).
pub fn wsproto_config() -> Config {
    Config::default()
}

/// wsproto, server role, through the session layer (`Vec` storage, default
/// [`SessionConfig`](wsproto::SessionConfig): 16 KiB reads when no frame is waited for): every
/// read copies from the in-memory stream into `Session::read_buf` (as much as it offers: while
/// a frame is incomplete that is the rest of the frame, so it may exceed 128 KiB), events are
/// polled until none is left (whole messages as `SessionEvent::Text` / `Binary`, text validated
/// once by the connection), and the output (pongs) is taken from `Session::output`.
pub fn wsproto_receive(wire: &[u8]) -> Sum {
    wsproto_receive_reads(wire, |_| {})
}

/// [`wsproto_receive`], reporting the size of every read to `on_read` (for [`FloorPlan`]).
pub fn wsproto_receive_reads(wire: &[u8], mut on_read: impl FnMut(usize)) -> Sum {
    use wsproto::{Session, SessionConfig, SessionEvent};
    let now = Instant::from_millis(0);
    let conn = Connection::open(
        wsproto_config(),
        Role::Server,
        wsproto::entropy::NoEntropy,
        now,
    )
    .expect("config");
    let mut session = Session::new(conn, SessionConfig::default(), Vec::new(), Vec::new());
    let mut input = wire;
    let mut sum = Sum::default();
    loop {
        while let Some(event) = session.poll_event(now) {
            match event {
                SessionEvent::Binary(bytes) => sum.message(bytes),
                SessionEvent::Text(text) => sum.message(text.as_bytes()),
                SessionEvent::Ping(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        let out = session.output();
        if !out.is_empty() {
            let n = std::hint::black_box(out).len();
            session.advance_output(n);
        }
        if input.is_empty() {
            break;
        }
        let n = input.read(session.read_buf()).expect("in-memory read");
        on_read(n);
        session.commit_read(n);
    }
    sum
}

/// wsproto's connection alone (no session), as before the session layer: reads through a
/// [`SocketBuf`], counts chunk bytes and never builds messages (so it does less work than the
/// others on fragmented or straddling messages; kept for the profile driver only).
pub fn wsproto_chunks_receive(wire: &[u8], sb: &mut SocketBuf) -> Sum {
    let now = Instant::from_millis(0);
    let mut ws = Connection::open(
        wsproto_config(),
        Role::Server,
        wsproto::entropy::NoEntropy,
        now,
    )
    .expect("config");
    let mut reader = wire;
    let mut out = [0u8; 512];
    let mut sum = Sum::default();
    let mut len = 0u64;
    let mut last = 0u8;
    sb.start = sb.end;
    while sb.fill(&mut reader) {
        let mut pos = sb.start;
        loop {
            let r = ws.receive(&mut sb.buf[pos..sb.end], now);
            pos += r.consumed;
            match r.event {
                None => break,
                Some(Event::Data {
                    chunk, message_fin, ..
                }) => {
                    len += chunk.len() as u64;
                    if let Some(&b) = chunk.last() {
                        last = b;
                    }
                    if message_fin {
                        sum.messages += 1;
                        sum.bytes += len;
                        sum.tail += u64::from(last);
                        len = 0;
                        last = 0;
                    }
                }
                Some(Event::Ping(_)) => {}
                Some(other) => panic!("unexpected {other:?}"),
            }
        }
        while let Ok(Transmit::Bytes(n)) = ws.poll_transmit(&mut out) {
            std::hint::black_box(&out[..n]);
        }
        sb.start = pos;
    }
    sum
}

/// A stream over in-memory bytes: reads copy from `input`, writes are dropped (pongs).
pub struct MemStream<'a> {
    /// What is left to read.
    pub input: &'a [u8],
}

impl Read for MemStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for MemStream<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::hint::black_box(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for MemStream<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let n = this.input.len().min(buf.remaining());
        buf.put_slice(&this.input[..n]);
        this.input = &this.input[n..];
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for MemStream<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        std::hint::black_box(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// tungstenite, server role, default configuration, over a [`MemStream`].
pub fn tungstenite_receive(wire: &[u8], count: usize) -> Sum {
    use tungstenite::Message;
    let stream = MemStream { input: wire };
    let mut ws =
        tungstenite::WebSocket::from_raw_socket(stream, tungstenite::protocol::Role::Server, None);
    let mut sum = Sum::default();
    while (sum.messages as usize) < count {
        match ws.read().expect("tungstenite read") {
            Message::Binary(b) => sum.message(&b),
            Message::Text(t) => sum.message(t.as_bytes()),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    sum
}

/// fastwebsockets, server role, default settings (auto pong, SIMD UTF-8), over a [`MemStream`],
/// on a current-thread runtime, wrapped in a `FragmentCollector` so that it hands out whole
/// messages (it reads into its own growing `BytesMut`, as it does from a socket).
pub fn fastwebsockets_receive(rt: &tokio::runtime::Runtime, wire: &[u8], count: usize) -> Sum {
    use fastwebsockets::{FragmentCollector, OpCode, WebSocket};
    rt.block_on(async {
        let stream = MemStream { input: wire };
        let ws = WebSocket::after_handshake(stream, fastwebsockets::Role::Server);
        let mut ws = FragmentCollector::new(ws);
        let mut sum = Sum::default();
        while (sum.messages as usize) < count {
            let frame = ws.read_frame().await.expect("fastwebsockets read");
            match frame.opcode {
                OpCode::Text | OpCode::Binary => sum.message(&frame.payload),
                _ => {}
            }
        }
        sum
    })
}

/// tokio-websockets, server role, default configuration and limits, over a [`MemStream`] on a
/// current-thread runtime (its `Stream` of whole messages: it assembles fragments, validates
/// text, and queues pongs itself; it reads through tokio-util's `FramedRead` into a `BytesMut`).
pub fn tokio_websockets_receive(rt: &tokio::runtime::Runtime, wire: &[u8], count: usize) -> Sum {
    use futures_core::Stream;
    rt.block_on(async {
        let mut ws = tokio_websockets::ServerBuilder::new().serve(MemStream { input: wire });
        let mut sum = Sum::default();
        while (sum.messages as usize) < count {
            let message = std::future::poll_fn(|cx| Pin::new(&mut ws).poll_next(cx))
                .await
                .expect("tokio-websockets: end of stream")
                .expect("tokio-websockets read");
            if message.is_text() || message.is_binary() {
                sum.message(message.as_payload());
            }
        }
        sum
    })
}

/// nexus-web, server role: its sans-IO `FrameReader` with default settings (a 1 MiB read
/// buffer; payload that straddles reads is assembled in its message buffer), read the way its
/// own blocking client does (`read_from` into the free part of that buffer, compacting when it
/// is full). `next` hands out whole messages (text validated); pongs are encoded with its
/// `FrameWriter`.
pub fn nexus_receive(wire: &[u8], count: usize) -> Sum {
    use nexus_web::ws::{FrameReader, FrameWriter, Message, Role as NexusRole};
    let mut reader = FrameReader::builder().role(NexusRole::Server).build();
    let mut writer = FrameWriter::new(NexusRole::Server);
    let mut stream = MemStream { input: wire };
    let mut out = [0u8; 256];
    let mut sum = Sum::default();
    loop {
        while let Some(message) = reader.next().expect("nexus-web") {
            match message {
                Message::Binary(bytes) => sum.message(bytes),
                Message::Text(text) => sum.message(text.as_bytes()),
                Message::Ping(payload) => {
                    let n = writer.encode_pong(payload, &mut out).expect("pong");
                    std::hint::black_box(&out[..n]);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        if sum.messages as usize >= count || stream.input.is_empty() {
            break;
        }
        reader.read_from(&mut stream).expect("nexus-web read");
    }
    sum
}

/// Bytes the embedded-websocket loop keeps for the next read: the largest control frame
/// (139 bytes), or for fragmented messages a whole fragment of `fragment` bytes plus its header.
pub fn embedded_keep(fragmented: bool, fragment: usize) -> usize {
    if fragmented { fragment + 14 + 139 } else { 139 }
}

/// A current-thread tokio runtime for [`fastwebsockets_receive`].
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

/// embedded-websocket, server role (opened without a handshake), through the same read loop
/// as wsproto; it unmasks while copying each frame's payload into `message` (one pass). It does
/// not validate UTF-8 nor answer pings, so the consumer does both, like an application must
/// (with `core::str::from_utf8` on each whole message).
///
/// `keep`: see [`embedded_keep`].
pub fn embedded_receive(
    wire: &[u8],
    sb: &mut SocketBuf,
    message: &mut [u8],
    text: bool,
    keep: usize,
) -> Sum {
    use embedded_websocket::{
        WebSocketReceiveMessageType as Kind, WebSocketSendMessageType, WebSocketServer,
        WebSocketState,
    };
    let mut ws = WebSocketServer::new_server();
    ws.state = WebSocketState::Open;
    let mut reader = wire;
    let mut out = [0u8; 512];
    let mut sum = Sum::default();
    let mut msg_len = 0;
    sb.start = sb.end;
    while sb.fill(&mut reader) {
        let (mut pos, filled) = (sb.start, sb.end);
        let buf = &sb.buf;
        while pos < filled {
            // Keep the last `keep` bytes for the next read: embedded-websocket 0.9.5 fails with
            // `UnexpectedContinuationFrame` when the last fragment of a fragmented message is
            // split across two `read` calls, so whole fragments must be presented.
            if filled - pos < keep && !reader.is_empty() {
                break;
            }
            let r = match ws.read(&buf[pos..filled], &mut message[msg_len..]) {
                Ok(r) => r,
                Err(embedded_websocket::Error::ReadFrameIncomplete) => break,
                Err(e) => panic!("embedded-websocket: {e:?}"),
            };
            pos += r.len_from;
            match r.message_type {
                Kind::Binary | Kind::Text => {
                    msg_len += r.len_to;
                    if r.end_of_message {
                        let payload = &message[..msg_len];
                        if text {
                            assert!(core::str::from_utf8(payload).is_ok());
                        }
                        sum.message(payload);
                        msg_len = 0;
                    }
                }
                Kind::Ping => {
                    let ping = &message[msg_len..msg_len + r.len_to];
                    let mut copy = [0u8; 125];
                    copy[..ping.len()].copy_from_slice(ping);
                    let n = ws
                        .write(
                            WebSocketSendMessageType::Pong,
                            true,
                            &copy[..r.len_to],
                            &mut out,
                        )
                        .expect("pong");
                    std::hint::black_box(&out[..n]);
                }
                other => panic!("unexpected {other:?}"),
            }
            if r.len_from == 0 {
                break;
            }
        }
        sb.start = pos;
    }
    sum
}

/// The physical reference: copy the wire bytes through the same [`SocketBuf`], touching
/// nothing else.
pub fn ref_copy(wire: &[u8], sb: &mut SocketBuf) -> u8 {
    let mut x = 0;
    let mut reader = wire;
    sb.start = sb.end;
    while sb.fill(&mut reader) {
        x ^= std::hint::black_box(&sb.buf[sb.start..sb.end])[sb.end - sb.start - 1];
        sb.start = sb.end;
    }
    x
}

/// The unmasking reference: the same copy, then one in-place `apply_mask` over every byte.
pub fn ref_copy_unmask(wire: &[u8], sb: &mut SocketBuf) -> u8 {
    let mut x = 0;
    let mut reader = wire;
    sb.start = sb.end;
    while sb.fill(&mut reader) {
        let bytes = &mut sb.buf[sb.start..sb.end];
        apply_mask(bytes, [0x37, 0xfa, 0x21, 0x3d], 0);
        x ^= std::hint::black_box(&*bytes)[bytes.len() - 1];
        sb.start = sb.end;
    }
    x
}

/// One frame as the floor sees it.
#[derive(Clone, Copy, Debug)]
pub struct FloorFrame {
    /// Header bytes.
    pub head: usize,
    /// Payload bytes.
    pub len: usize,
    /// Masking key.
    pub key: [u8; 4],
    /// Ends a data message (single-frame scenarios: every data frame).
    pub ends: bool,
    /// A text frame: the floor validates it as UTF-8.
    pub text: bool,
}

/// What the floor replays for a scenario: the wire's frames, and the sizes of the reads
/// wsproto's session made on it.
pub struct FloorPlan {
    /// The frames, in order.
    pub frames: Vec<FloorFrame>,
    /// The session's reads, in order.
    pub reads: Vec<usize>,
}

impl FloorPlan {
    /// Parses `wire`'s frames and records the reads [`wsproto_receive`] makes on it (outside
    /// any timed region).
    pub fn new(wire: &[u8]) -> Self {
        let mut frames = Vec::new();
        let mut at = 0;
        while at < wire.len() {
            let (header, head) = wsproto::frame::decode_header(&wire[at..], Rsv::NONE)
                .expect("valid header")
                .expect("whole header");
            let len = header.payload_len as usize;
            frames.push(FloorFrame {
                head,
                len,
                key: header.mask.expect("masked"),
                ends: header.fin && !header.opcode.is_control(),
                text: header.opcode == OpCode::Text,
            });
            at += head + len;
        }
        let mut reads = Vec::new();
        wsproto_receive_reads(wire, |n| reads.push(n));
        FloorPlan { frames, reads }
    }

    /// The same frames read in whole frames only, as many as fit in `size` bytes (at least
    /// one): no read ever ends inside a frame, so nothing is ever moved or kept between reads,
    /// whatever an implementation's buffer policy. For the bound that holds for any reads.
    pub fn frame_aligned(&self, size: usize) -> FloorPlan {
        let mut reads = Vec::new();
        let mut read = 0;
        for f in &self.frames {
            let n = f.head + f.len;
            if read > 0 && read + n > size {
                reads.push(read);
                read = 0;
            }
            read += n;
        }
        if read > 0 {
            reads.push(read);
        }
        FloorPlan {
            frames: self.frames.clone(),
            reads,
        }
    }
}

/// An unmasking kernel for [`floor`]: XORs a whole payload with its key.
pub type Kernel = fn(&mut [u8], [u8; 4]);

/// wsproto's kernel, `wsproto::mask::apply_mask`.
pub fn kernel_ours(payload: &mut [u8], key: [u8; 4]) {
    apply_mask(payload, key, 0);
}

/// The fastest safe kernel found: 64-byte blocks XORed with a 64-byte pattern (LLVM makes
/// each block a few vector XORs), then the rest byte by byte.
#[inline(always)]
pub fn kernel_best(payload: &mut [u8], key: [u8; 4]) {
    let mut pattern = [0u8; 64];
    for (i, b) in pattern.iter_mut().enumerate() {
        *b = key[i % 4];
    }
    let mut blocks = payload.chunks_exact_mut(64);
    for block in &mut blocks {
        for (b, m) in block.iter_mut().zip(pattern.iter()) {
            *b ^= m;
        }
    }
    for (b, m) in blocks.into_remainder().iter_mut().zip(pattern.iter()) {
        *b ^= m;
    }
}

/// [`kernel_best`] compiled for AVX2 (256-bit XORs), used when the CPU has it (else
/// [`kernel_best`]): the one `unsafe` in the harness, to measure whether a wider kernel moves
/// the floor.
pub fn kernel_avx2(payload: &mut [u8], key: [u8; 4]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        fn avx2(payload: &mut [u8], key: [u8; 4]) {
            kernel_best(payload, key);
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            #[allow(unsafe_code)]
            unsafe {
                avx2(payload, key)
            };
            return;
        }
    }
    kernel_best(payload, key);
}

/// No kernel: for [`floor`] over [`unmasked_wire`], the bound that no kernel, not even one
/// fused with the UTF-8 check, can beat (unmasking that costs nothing).
pub fn kernel_none(_payload: &mut [u8], _key: [u8; 4]) {}

/// `wire` with every payload already unmasked (headers and keys unchanged, so `plan` still
/// describes it): the input of the unmask-free bound ([`kernel_none`]).
pub fn unmasked_wire(wire: &[u8], plan: &FloorPlan) -> Vec<u8> {
    let mut plain = wire.to_vec();
    let mut at = 0;
    for f in &plan.frames {
        apply_mask(&mut plain[at + f.head..at + f.head + f.len], f.key, 0);
        at += f.head + f.len;
    }
    plain
}

/// The physical floor of whole-message delivery for single-frame messages: the same bytes
/// copied from the input with exactly the session's read sizes into one growing buffer
/// (`buf`, kept across runs: no allocation or zero-filling once grown; the write position goes
/// back to 0 whenever everything read is consumed; a partly read frame stays where it is
/// unless the next read does not fit behind it, then it moves to the front, as in the session),
/// each frame unmasked in place with `kernel` once it is whole, text validated with
/// `wsproto::utf8::from_utf8` (SIMD), and handed to the consumer. No header parsing, no state
/// machine, no compaction: nothing an implementation could skip.
pub fn floor(wire: &[u8], plan: &FloorPlan, buf: &mut Vec<u8>, kernel: Kernel) -> Sum {
    let mut input = wire;
    let (mut start, mut end) = (0, 0);
    let mut frames = plan.frames.iter();
    let mut next = frames.next();
    let mut sum = Sum::default();
    for &n in &plan.reads {
        if start == end {
            start = 0;
            end = 0;
        }
        if buf.len() < end + n && start > 0 {
            // The read does not fit behind a partly read frame: move it to the front, as the
            // session does (else the buffer would creep through memory when no read ever ends
            // on a frame boundary, as at 1 KiB, and the floor would measure cache misses).
            buf.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        if buf.len() < end + n {
            buf.resize(end + n, 0);
        }
        buf[end..end + n].copy_from_slice(&input[..n]);
        input = &input[n..];
        end += n;
        while let Some(f) = next {
            if end - start < f.head + f.len {
                break;
            }
            let payload = &mut buf[start + f.head..start + f.head + f.len];
            kernel(payload, f.key);
            if f.text {
                assert!(wsproto::utf8::from_utf8(payload).is_ok(), "invalid text");
            }
            if f.ends {
                sum.message(payload);
            }
            start += f.head + f.len;
            next = frames.next();
        }
    }
    sum
}
