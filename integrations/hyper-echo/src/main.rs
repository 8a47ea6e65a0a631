//! The echo server of `wsproto-hyper-echo` on one port: HTTP/1.1 Upgrade and HTTP/2 extended
//! CONNECT (RFC 8441), over TCP or, with `--tls`, over TLS with a self-signed certificate.
//!
//! ```text
//! cargo run -p wsproto-hyper-echo -- [--addr 127.0.0.1:8443] [--tls] [--deflate]
//!     [--header-read-timeout SECS] [--idle-timeout SECS]
//! ```
//!
//! `--idle-timeout 0` keeps idle sockets open forever.
//!
//! Logs each socket on stderr with the HTTP version it came over.
#![forbid(unsafe_code)]

use std::error::Error;
use std::time::Duration;

use tokio::net::TcpListener;
use wsproto_hyper_echo::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, Server, self_signed_tls,
};
use wsproto_tokio::{Config, DeflateConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let mut addr = String::from("127.0.0.1:8080");
    let mut tls = false;
    let mut deflate = false;
    let mut header_read_timeout = DEFAULT_HEADER_READ_TIMEOUT;
    let mut idle_timeout = Some(DEFAULT_IDLE_TIMEOUT);
    let seconds = |value: Option<String>| -> Result<Duration, Box<dyn Error + Send + Sync>> {
        let value = value.ok_or("a timeout needs a number of seconds")?;
        Ok(Duration::from_secs(value.parse()?))
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or("--addr needs an address")?,
            "--tls" => tls = true,
            "--deflate" => deflate = true,
            "--header-read-timeout" => header_read_timeout = seconds(args.next())?,
            "--idle-timeout" => {
                idle_timeout = Some(seconds(args.next())?).filter(|idle| !idle.is_zero());
            }
            _ => {
                return Err(format!(
                    "unknown argument {arg}; usage: [--addr HOST:PORT] [--tls] [--deflate] \
                     [--header-read-timeout SECS] [--idle-timeout SECS]"
                )
                .into());
            }
        }
    }
    let listener = TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    let acceptor = if tls {
        let (acceptor, _) = self_signed_tls(&["localhost", &local.ip().to_string()])?;
        eprintln!("hyper-echo: https://{local}/ (self-signed: HTTP/1.1 or HTTP/2 by ALPN)");
        Some(acceptor)
    } else {
        eprintln!("hyper-echo: http://{local}/ (HTTP/1.1, or HTTP/2 with prior knowledge)");
        None
    };
    let mut server = Server::new(Config::default())
        .with_header_read_timeout(header_read_timeout)
        .with_idle_timeout(idle_timeout);
    if deflate {
        server = server.with_deflate(DeflateConfig::DEFAULT);
    }
    server.serve(listener, acceptor).await?;
    Ok(())
}
