//! Echo server on wsproto-tokio (this repository's tokio adapter), default `Config`.
//! `echo_wsproto_tokio PORT`

use futures_util::{SinkExt, StreamExt};
use wsproto_tokio::{Accept, Config};

fn main() {
    wsproto_scale::run("wsproto-tokio", |stream| async move {
        let Ok(mut ws) =
            wsproto_tokio::accept(stream, Config::default(), |_| Ok(Accept::default())).await
        else {
            return;
        };
        while let Some(Ok(message)) = ws.next().await {
            if ws.send(message).await.is_err() {
                return;
            }
        }
    });
}
