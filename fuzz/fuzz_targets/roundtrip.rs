//! An arbitrary message sequence between a client and a server `Connection`, delivered in
//! arbitrary chunks, arrives as sent: see `wsproto_fuzz::pair`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsproto_fuzz::pair::{Input, run};

fuzz_target!(|input: Input| run(input));
