//! The firmware example on an emulated Cortex-M4, against a real server.
//!
//! Builds `examples/firmware` (its own workspace) for `thumbv7em-none-eabihf`, boots each image
//! in QEMU's `mps2-an386` board with the board's UART connected to a TCP socket on 127.0.0.1,
//! and serves a WebSocket echo server (the wsproto core, as in `examples/echo_server`) on that
//! socket. The firmware runs the exchange of `examples/firmware/board/src/scenario.rs` and
//! reports through its semihosting exit code, which QEMU exits with; these tests check that
//! code, what the server saw, and the stack high-water line the firmware prints.
//!
//! The server can be made to misbehave (a wrong echo, no pong, no close reply): those runs
//! must fail with the matching exit code, so a firmware that stopped checking would fail here.
//!
//! Needs `qemu-system-arm` and the `thumbv7em-none-eabihf` target: `./scripts/test` installs
//! both. Without them these tests fail, they never skip.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Event, Transmit};
use wsproto::handshake::AcceptOptions;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const TARGET: &str = "thumbv7em-none-eabihf";
/// A run takes a few seconds; this bounds a hung one.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// The exit codes of `mps2_an386::scenario::Outcome`.
const PASSED: i32 = 0;
const WRONG_ECHO: i32 = 13;
const NO_PONG: i32 = 14;
const UNCLEAN_CLOSE: i32 = 15;

/// The messages the scenario sends, in order: (kind, length).
const EXPECTED_MESSAGES: [(DataKind, usize); 11] = [
    (DataKind::Text, 0),
    (DataKind::Binary, 0),
    (DataKind::Text, 1),
    (DataKind::Binary, 1),
    (DataKind::Text, 125),
    (DataKind::Binary, 125),
    (DataKind::Text, 126),
    (DataKind::Binary, 126),
    (DataKind::Text, 4000),
    (DataKind::Binary, 4000),
    (DataKind::Text, "after ping".len()),
];

/// The cargo target directory of this build.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .to_path_buf()
}

/// Builds the firmware workspace once; returns the directory of its release images.
fn images() -> &'static Path {
    static IMAGES: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let images = IMAGES.get_or_init(|| {
        let target_dir = target_dir().join("firmware");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--workspace", "--target", TARGET])
            .current_dir(Path::new(ROOT).join("examples/firmware"))
            .env("CARGO_TARGET_DIR", &target_dir)
            // The outer cargo's settings for the host build must not leak into this one.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .stdin(Stdio::null())
            .status()
            .map_err(|err| format!("cannot run cargo: {err}"))?;
        if !status.success() {
            return Err(format!(
                "building examples/firmware failed ({status}); is the {TARGET} target installed? \
                 (./scripts/test adds it)"
            ));
        }
        Ok(target_dir.join(TARGET).join("release"))
    });
    match images {
        Ok(path) => path,
        Err(err) => panic!("{err}"),
    }
}

/// How the test server misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// An honest echo server.
    None,
    /// The first byte of the 126-byte binary echo is flipped.
    CorruptEcho,
    /// Pings are not answered.
    NoPong,
    /// The client's close is not answered: the server just stops.
    NoCloseReply,
}

/// What the server saw.
#[derive(Debug, Default)]
struct ServerLog {
    /// Each message received: its kind and length.
    messages: Vec<(DataKind, usize)>,
    /// Each ping's payload.
    pings: Vec<Vec<u8>>,
    /// The client's close frame: code and reason.
    close: Option<(CloseCode, String)>,
    /// Whether the closing handshake completed.
    clean: bool,
}

/// Serves one connection on `stream` as an echo server with `fault`.
fn serve(mut stream: TcpStream, fault: Fault) -> ServerLog {
    let config = Config {
        auto_pong: fault != Fault::NoPong,
        auto_close_reply: fault != Fault::NoCloseReply,
        ..Config::DEFAULT
    };
    let started = Instant::now();
    let now = || wsproto::time::Instant::from_millis(started.elapsed().as_millis() as u64);
    let mut ws = Connection::server(config, now()).expect("valid config");
    let mut input = vec![0u8; 64 * 1024];
    let mut out = vec![0u8; 64 * 1024 + 1024];
    let (mut start, mut end) = (0, 0);
    let mut log = ServerLog::default();
    let mut message = Vec::new();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("set a read timeout");
    loop {
        loop {
            let received = ws.receive(&mut input[start..end], now());
            start += received.consumed;
            let Some(event) = received.event else { break };
            let written = match event {
                Event::Request(_) => ws.accept(&AcceptOptions::new(), &mut out).expect("accept"),
                Event::Data {
                    kind,
                    chunk,
                    message_fin,
                    ..
                } => {
                    message.extend_from_slice(chunk);
                    if !message_fin {
                        continue;
                    }
                    log.messages.push((kind, message.len()));
                    if fault == Fault::CorruptEcho
                        && kind == DataKind::Binary
                        && message.len() == 126
                    {
                        message[0] ^= 0xFF;
                    }
                    let n = ws.send(kind, &message, true, &mut out).expect("echo");
                    message.clear();
                    n
                }
                Event::Ping(payload) => {
                    log.pings.push(payload.to_vec());
                    0
                }
                Event::CloseReceived { code, reason } => {
                    log.close = Some((code, reason.to_string()));
                    if fault == Fault::NoCloseReply {
                        let _ = stream.shutdown(Shutdown::Both);
                        return log;
                    }
                    0
                }
                Event::Closed(info) => {
                    log.clean = info.clean;
                    0
                }
                // Pongs, and a client's `Accepted`, which a server never sees.
                _ => 0,
            };
            // Queued control frames (a pong, the close reply) leave before the echo.
            flush(&mut ws, &mut stream, &mut out);
            stream.write_all(&out[..written]).expect("write to QEMU");
        }
        flush(&mut ws, &mut stream, &mut out);
        if ws.close_info().is_some() {
            return log;
        }
        input.copy_within(start..end, 0);
        end -= start;
        start = 0;
        match stream.read(&mut input[end..]) {
            Ok(0) => ws.receive_eof(now()),
            Ok(n) => end += n,
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                ws.handle_timeout(now());
            }
            Err(err) => panic!("reading from QEMU: {err}"),
        }
    }
}

/// Writes everything `ws` has queued.
fn flush(ws: &mut Connection<wsproto::entropy::NoEntropy>, stream: &mut TcpStream, out: &mut [u8]) {
    loop {
        match ws.poll_transmit(out).expect("poll_transmit") {
            Transmit::Bytes(n) => stream.write_all(&out[..n]).expect("write to QEMU"),
            Transmit::ShutdownWrite => {
                let _ = stream.shutdown(Shutdown::Write);
            }
            Transmit::Nothing => return,
        }
    }
}

/// How a firmware run ended.
#[derive(Debug)]
struct Run {
    /// QEMU's exit code: the firmware's outcome.
    exit_code: i32,
    /// What the firmware printed through semihosting.
    output: String,
    log: ServerLog,
}

/// Boots `image` in QEMU against a server with `fault`, and waits for the end.
fn run(image: &str, fault: Fault) -> Run {
    let elf = images().join(image);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    let mut qemu = match Command::new("qemu-system-arm")
        .args(["-M", "mps2-an386", "-display", "none", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-serial")
        .arg(format!("tcp:127.0.0.1:{port}"))
        .arg("-kernel")
        .arg(&elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(err) if err.kind() == ErrorKind::NotFound => {
            panic!(
                "qemu-system-arm is not installed: ./scripts/test installs it (apt-get install qemu-system-arm)"
            )
        }
        Err(err) => panic!("cannot start qemu-system-arm: {err}"),
    };
    let deadline = Instant::now() + RUN_TIMEOUT;
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                if let Some(status) = qemu.try_wait().expect("poll qemu") {
                    let mut stderr = String::new();
                    let _ = qemu
                        .stderr
                        .take()
                        .expect("piped")
                        .read_to_string(&mut stderr);
                    panic!("QEMU ended ({status}) before connecting its UART:\n{stderr}");
                }
                assert!(Instant::now() < deadline, "QEMU did not connect its UART");
                thread::sleep(Duration::from_millis(10));
            }
            Err(err) => panic!("accept: {err}"),
        }
    };
    stream.set_nonblocking(false).expect("blocking stream");
    let server = thread::spawn(move || serve(stream, fault));
    let status = loop {
        if let Some(status) = qemu.try_wait().expect("poll qemu") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = qemu.kill();
            let _ = qemu.wait();
            panic!("{image} did not finish within {RUN_TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let mut output = String::new();
    let _ = qemu
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut output);
    let mut stderr = String::new();
    let _ = qemu
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr);
    let exit_code = status
        .code()
        .unwrap_or_else(|| panic!("QEMU was killed ({status}):\n{stderr}"));
    let log = server.join().expect("the server thread panicked");
    println!("{image} with {fault:?}: exit code {exit_code}\n{output}{stderr}{log:?}");
    Run {
        exit_code,
        output,
        log,
    }
}

/// The stack high-water mark the firmware printed, in bytes.
fn stack_high_water(output: &str) -> u32 {
    output
        .lines()
        .find_map(|line| line.strip_prefix("stack high-water: "))
        .and_then(|rest| rest.strip_suffix(" B"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no stack high-water line in {output:?}"))
}

/// The sizes of the named sections of the ELF32 image at `path`, summed.
fn section_bytes(path: &Path, names: &[&str]) -> u64 {
    let elf = std::fs::read(path).unwrap_or_else(|err| panic!("read {path:?}: {err}"));
    let u16_at = |at: usize| u64::from(u16::from_le_bytes([elf[at], elf[at + 1]]));
    let u32_at = |at: usize| u64::from(u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()));
    assert_eq!(
        &elf[..6],
        b"\x7fELF\x01\x01",
        "{path:?} is not a little-endian ELF32"
    );
    let (shoff, shentsize, shnum) = (u32_at(0x20), u16_at(0x2E), u16_at(0x30));
    let header = |i: u64| (shoff + i * shentsize) as usize;
    let strtab = u32_at(header(u16_at(0x32)) + 0x10) as usize;
    (0..shnum)
        .filter(|&i| {
            let name = strtab + u32_at(header(i)) as usize;
            let end = name + elf[name..].iter().position(|&b| b == 0).expect("NUL");
            names.contains(&std::str::from_utf8(&elf[name..end]).expect("ASCII name"))
        })
        .map(|i| u32_at(header(i) + 0x14))
        .sum()
}

fn check_passed(image: &str) {
    let run = run(image, Fault::None);
    assert_eq!(run.exit_code, PASSED, "{image} failed: {run:?}");
    assert_eq!(run.log.messages, EXPECTED_MESSAGES, "{run:?}");
    assert_eq!(run.log.pings, [b"firmware ping".to_vec()], "{run:?}");
    assert_eq!(
        run.log.close,
        Some((CloseCode::NORMAL, "done".to_string())),
        "{run:?}"
    );
    assert!(run.log.clean, "the server saw an unclean close: {run:?}");
    let stack = stack_high_water(&run.output);
    // Painted and read back: some stack was used, and less than the whole RAM.
    assert!(
        (64..64 * 1024).contains(&stack),
        "stack high-water {stack} B"
    );
    let elf = images().join(image);
    let flash = section_bytes(&elf, &[".text", ".rodata"]);
    let static_ram = section_bytes(&elf, &[".data", ".bss"]);
    assert!(flash > 0 && static_ram > 0, "no sections found in {elf:?}");
    // The README's firmware table comes from these lines.
    println!(
        "footprint {image}: flash (.text + .rodata) {flash} B, \
         static RAM (.data + .bss) {static_ram} B, stack high-water {stack} B"
    );
}

#[test]
fn wsproto_firmware_echoes_pings_and_closes_cleanly() {
    check_passed("wsproto-firmware-example");
}

#[test]
fn embedded_websocket_firmware_runs_the_same_scenario() {
    check_passed("firmware-embedded-websocket");
}

#[test]
fn wsproto_firmware_fails_on_a_wrong_echo() {
    let run = run("wsproto-firmware-example", Fault::CorruptEcho);
    assert_eq!(run.exit_code, WRONG_ECHO, "{run:?}");
}

#[test]
fn wsproto_firmware_fails_without_a_pong() {
    let run = run("wsproto-firmware-example", Fault::NoPong);
    assert_eq!(run.exit_code, NO_PONG, "{run:?}");
}

#[test]
fn wsproto_firmware_fails_on_an_unclean_close() {
    let run = run("wsproto-firmware-example", Fault::NoCloseReply);
    assert_eq!(run.exit_code, UNCLEAN_CLOSE, "{run:?}");
    assert_eq!(run.log.close, Some((CloseCode::NORMAL, "done".to_string())));
}
