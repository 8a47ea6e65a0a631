//! Echo server on fastwebsockets: its hyper upgrade, then `FragmentCollector` so that whole
//! messages are echoed (its defaults: auto-pong, auto-close). `echo_fastwebsockets PORT`

use fastwebsockets::{FragmentCollector, OpCode, upgrade};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

async fn echo(upgraded: upgrade::UpgradeFut) -> Result<(), fastwebsockets::WebSocketError> {
    let mut ws = FragmentCollector::new(upgraded.await?);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}

async fn upgrade_request(
    mut request: Request<Incoming>,
) -> Result<Response<Empty<Bytes>>, fastwebsockets::WebSocketError> {
    let (response, upgraded) = upgrade::upgrade(&mut request)?;
    tokio::spawn(async move {
        let _ = echo(upgraded).await;
    });
    Ok(response)
}

fn main() {
    wsproto_scale::run("fastwebsockets", |stream| async move {
        let _ = http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service_fn(upgrade_request))
            .with_upgrades()
            .await;
    });
}
