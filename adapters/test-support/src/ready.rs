//! Futures that never wait: the async sockets' tests over transports that complete every call
//! at once (an in-memory pipe, or blocking `std` IO behind an async trait).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Runs `future`, whose every wait is answered at once (nothing would wake it later); panics
/// if it waits.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future waits for something that never comes"),
    }
}
