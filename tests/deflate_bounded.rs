//! Bounded decompression: a small compressed message that inflates far beyond `max_message_size`
//! fails with 1009 after at most `max_message_size + 1` inflated bytes, and receiving it allocates
//! only the inflater (counted by a global allocator), however large the message would inflate.
#![cfg(feature = "deflate")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use wsproto::Role;
use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Event, ProtocolError};
use wsproto::deflate::{DeflateConfig, DeflateParams};
use wsproto::entropy::NoEntropy;
use wsproto::time::Instant;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Only the test's own thread is counted: the test harness allocates and frees on its
    /// threads at any moment (another test's result being printed), which would move the
    /// counters in the middle of a measurement.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn counted_thread() -> bool {
    COUNTED.try_with(Cell::get).unwrap_or(false)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted_thread() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted_thread() {
            CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const NOW: Instant = Instant::from_millis(0);

/// The counters are global: the tests take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_deflate_bomb_fails_with_1009_in_bounded_memory() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    COUNTED.set(true);
    // 16 MiB of zeros compress to about 16 KiB (DEFLATE's ratio tops out near 1032:1).
    let params = DeflateParams::new(&DeflateConfig::DEFAULT, false, false, 15, 15);
    let mut sender = Connection::open(Config::default(), Role::Server, NoEntropy, NOW)
        .unwrap()
        .allow_deflate();
    sender.enable_deflate(params).unwrap();
    let bomb = vec![0u8; 16 << 20];
    let mut wire = vec![0u8; bomb.len() + 16];
    let n = sender
        .send(DataKind::Binary, &bomb, true, &mut wire)
        .unwrap();
    drop(bomb);
    wire.truncate(n);
    wire.shrink_to_fit();
    assert!(n < 32 << 10, "compressed to {n} bytes");

    let config = Config {
        max_frame_payload: 1 << 20,
        max_message_size: 1 << 20,
        ..Config::DEFAULT
    };
    let mut receiver = Connection::open(config, Role::Client, |b: &mut [u8]| b.fill(1), NOW)
        .unwrap()
        .allow_deflate();
    receiver.enable_deflate(params).unwrap();
    let mut scratch = vec![0u8; 4096];

    let before = CURRENT.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let mut pos = 0;
    let mut inflated = 0u64;
    let info = loop {
        let r = receiver.receive_into(&mut wire[pos..], &mut scratch, NOW);
        pos += r.consumed;
        match r.event {
            Some(Event::Data { chunk, .. }) => inflated += chunk.len() as u64,
            Some(Event::Closed(info)) => break info,
            other => panic!("{other:?}"),
        }
    };
    let grown = PEAK.load(Ordering::SeqCst).wrapping_sub(before);
    println!("inflated {inflated} bytes, peak allocation {grown} bytes");
    assert_eq!(info.code, CloseCode::MESSAGE_TOO_BIG);
    assert!(matches!(info.error, Some(ProtocolError::MessageTooBig { max, .. }) if max == 1 << 20));
    assert!(inflated <= 1 << 20);
    // The inflater (a 32 KiB window and its tables), nothing proportional to the message.
    assert!(grown < 64 << 10, "allocated {grown} bytes");
}

#[test]
fn codec_memory_per_connection() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    COUNTED.set(true);
    let params = DeflateParams::new(&DeflateConfig::DEFAULT, false, false, 15, 15);
    let mut ws = Connection::open(Config::default(), Role::Server, NoEntropy, NOW)
        .unwrap()
        .allow_deflate();
    let mut out = vec![0u8; 4096];
    let data = b"permessage-deflate ".repeat(100);
    let before = CURRENT.load(Ordering::SeqCst);
    ws.enable_deflate(params).unwrap();
    let start = CURRENT.load(Ordering::SeqCst);
    let n = ws.send(DataKind::Text, &data, true, &mut out).unwrap();
    let compressor = CURRENT.load(Ordering::SeqCst).wrapping_sub(start);
    println!(
        "enable_deflate: {} bytes, compressor: {compressor} bytes",
        start.wrapping_sub(before)
    );
    // The module documentation's figure: about 312 KiB.
    assert!(
        (300 << 10..=320 << 10).contains(&compressor),
        "{compressor}"
    );

    // The receiving side: the inflater is allocated at the first compressed message.
    let wire = &out[..n];
    let mut peer = Connection::open(
        Config::default(),
        Role::Client,
        |b: &mut [u8]| b.fill(1),
        NOW,
    )
    .unwrap()
    .allow_deflate();
    peer.enable_deflate(params).unwrap();
    let mut input = wire.to_vec();
    let mut scratch = vec![0u8; 4096];
    let start = CURRENT.load(Ordering::SeqCst);
    let r = peer.receive_into(&mut input, &mut scratch, NOW);
    assert!(
        matches!(r.event, Some(Event::Data { message_fin: true, chunk, .. }) if chunk == &data[..])
    );
    let inflater = CURRENT.load(Ordering::SeqCst).wrapping_sub(start);
    println!("inflater: {inflater} bytes");
    // The module documentation's figure: about 42 KiB.
    assert!((40 << 10..=44 << 10).contains(&inflater), "{inflater}");
}
