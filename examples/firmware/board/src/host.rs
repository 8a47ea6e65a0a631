//! The host, through Arm semihosting (QEMU: `-semihosting-config enable=on,target=native`).

use cortex_m_semihosting::{hio, nr, syscall};

/// `SYS_EXIT_EXTENDED`: stop with a reason and an exit code (QEMU exits with the code).
const SYS_EXIT_EXTENDED: usize = 0x20;
/// The reason "the application exited" (`ADP_Stopped_ApplicationExit`).
const APPLICATION_EXIT: usize = 0x2_0026;

/// Stops the emulator; QEMU exits with `code`.
pub fn exit(code: u32) -> ! {
    let block = [APPLICATION_EXIT, code as usize];
    // SAFETY: SYS_EXIT_EXTENDED reads the two words of `block`, which outlives the call.
    unsafe { cortex_m_semihosting::syscall(SYS_EXIT_EXTENDED, &block) };
    // A debugger that ignores the request lands here.
    loop {
        cortex_m::asm::bkpt();
    }
}

/// Writes `bytes` to the host's standard output (best effort: output is a report, not a result).
pub fn print(bytes: &[u8]) {
    if let Ok(mut stdout) = hio::hstdout() {
        let _ = stdout.write_all(bytes);
    }
}

/// Writes `label`, `value` in decimal and `unit` as one line (no `core::fmt`: smaller).
pub fn print_number(label: &str, value: u32, unit: &str) {
    let mut line = [0u8; 96];
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        let n = bytes.len().min(line.len() - len);
        line[len..len + n].copy_from_slice(&bytes[..n]);
        len += n;
    };
    put(label.as_bytes());
    let mut digits = [0u8; 10];
    let mut n = digits.len();
    let mut rest = value;
    loop {
        n -= 1;
        digits[n] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    put(&digits[n..]);
    put(unit.as_bytes());
    put(b"\n");
    print(&line[..len]);
}

/// Entropy for the handshake nonce and the masking keys. The board has no TRNG, so the
/// emulator's host supplies it: its `/dev/urandom`, read through semihosting. (On a real board:
/// the microcontroller's TRNG.)
pub struct HostRandom {
    handle: usize,
}

impl HostRandom {
    /// Opens the host's `/dev/urandom`; `None` if the host refuses.
    pub fn open() -> Option<HostRandom> {
        let name = b"/dev/urandom\0";
        // SAFETY: SYS_OPEN reads `name` (NUL-terminated, its length given without the NUL),
        // which outlives the call.
        let handle =
            unsafe { syscall!(OPEN, name.as_ptr(), nr::open::R_BINARY, name.len() - 1) } as isize;
        (handle >= 0).then_some(HostRandom {
            handle: handle as usize,
        })
    }

    /// Fills `buf` with random bytes.
    ///
    /// # Panics
    ///
    /// If the host stops answering: a client must not go on without entropy.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut done = 0;
        while done < buf.len() {
            let rest = &mut buf[done..];
            // SAFETY: SYS_READ writes at most `rest.len()` bytes into `rest`, which is
            // exclusively borrowed for the call; it returns how many it did not read.
            let unread = unsafe { syscall!(READ, self.handle, rest.as_mut_ptr(), rest.len()) };
            let read = rest.len().saturating_sub(unread);
            assert!(read > 0, "the host's /dev/urandom gave nothing");
            done += read;
        }
    }
}
