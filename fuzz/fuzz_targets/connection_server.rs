//! A server `Connection` under arbitrary input, API calls and time: see `wsproto_fuzz::drive`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsproto::Role;
use wsproto_fuzz::drive::{Input, run_role};

fuzz_target!(|input: Input| run_role(Role::Server, input));
