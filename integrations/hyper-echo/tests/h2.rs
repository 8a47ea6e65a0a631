//! The echo server over HTTP/2 (RFC 8441) on 127.0.0.1, against an `h2` client driving a
//! client-role `wsproto` `Connection::open` directly over the extended CONNECT stream: the
//! sans-IO loop with the stream's end as the TCP close (RFC 8441 §5).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use h2::{Reason, RecvStream, SendStream};
use http::{StatusCode, Version};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::timeout;
use wsproto_hyper_echo::{Server, SocketLog};
use wsproto_test_support::setup::entropy;
use wsproto_tokio::http::{check_response, connect_request};
use wsproto_tokio::wsproto::Role;
use wsproto_tokio::wsproto::close::CloseCode;
use wsproto_tokio::wsproto::config::Config;
use wsproto_tokio::wsproto::connection::{CloseInfo, Connection, DataKind, Event, Transmit};
use wsproto_tokio::wsproto::handshake::ClientConnect;
use wsproto_tokio::wsproto::time::Instant;

/// Every wait of a test is bounded by this.
const LIMIT: Duration = Duration::from_secs(10);

async fn start_server() -> (SocketAddr, UnboundedReceiver<SocketLog>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (log, lines) = unbounded_channel();
    let server = Server::new(Config::default()).with_log(log);
    tokio::spawn(server.serve(listener, None));
    (addr, lines)
}

/// An HTTP/2 connection (h2c, prior knowledge) on which the server has enabled extended
/// CONNECT.
async fn h2_connect(addr: SocketAddr) -> SendRequest<Bytes> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = client.ready().await.unwrap();
    // RFC 8441 §3: no :protocol before the server's SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
    timeout(LIMIT, async {
        while !client.is_extended_connect_protocol_enabled() {
            tokio::time::sleep(Duration::from_millis(5)).await;
            client = client.clone().ready().await.unwrap();
        }
    })
    .await
    .expect("the server enables extended CONNECT");
    client
}

/// The client's entropy source, boxed to name the connection's type.
type BoxedEntropy = Box<dyn FnMut(&mut [u8]) + Send>;

/// What the client's driving loop reports, owned.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Message(DataKind, Vec<u8>),
    CloseReceived(CloseCode),
    Closed(CloseInfo),
}

/// A client-role connection over one extended CONNECT stream: the sans-IO driving loop of the
/// crate documentation, with `END_STREAM` for `Transmit::ShutdownWrite` and the stream's end or
/// reset for `receive_eof`.
struct H2WebSocket {
    conn: Connection<BoxedEntropy>,
    send: SendStream<Bytes>,
    recv: RecvStream,
    input: Vec<u8>,
    message: Vec<u8>,
    now: Instant,
}

impl H2WebSocket {
    async fn open(client: &mut SendRequest<Bytes>, path: &str) -> H2WebSocket {
        let offer = ClientConnect {
            scheme: "http",
            subprotocols: &["echo.v2"],
            ..ClientConnect::new("127.0.0.1", path)
        };
        let request = connect_request(&offer, Version::HTTP_2).unwrap();
        let (response, send) = client.send_request(request, false).unwrap();
        let response = timeout(LIMIT, response).await.unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let accepted = check_response(&response, None, offer.subprotocols, &[]).unwrap();
        assert_eq!(accepted.subprotocol(), Some("echo.v2"));
        let recv = response.into_body();
        let now = Instant::from_millis(0);
        let conn = Connection::open(
            Config::default(),
            Role::Client,
            Box::new(entropy()) as _,
            now,
        )
        .unwrap();
        H2WebSocket {
            conn,
            send,
            recv,
            input: Vec::new(),
            message: Vec::new(),
            now,
        }
    }

    /// Step 2 of the loop: everything queued onto the stream.
    fn flush(&mut self) {
        let mut out = [0u8; 512];
        loop {
            // A reset stream takes nothing more (h2 says `InactiveStreamId`): what is left is
            // dropped, as a TCP stack drops writes after a reset.
            let _ = match self.conn.poll_transmit(&mut out).unwrap() {
                Transmit::Bytes(n) => self
                    .send
                    .send_data(Bytes::copy_from_slice(&out[..n]), false),
                // RFC 8441 §5: the stream's orderly end is the TCP close.
                Transmit::ShutdownWrite => self.send.send_data(Bytes::new(), true),
                Transmit::Nothing => return,
            };
        }
    }

    fn send(&mut self, kind: DataKind, payload: &[u8]) {
        let mut out = vec![0u8; payload.len() + 14];
        let n = self.conn.send(kind, payload, true, &mut out).unwrap();
        self.send
            .send_data(Bytes::copy_from_slice(&out[..n]), false)
            .unwrap();
    }

    fn close(&mut self, code: CloseCode) {
        let mut out = [0u8; 131];
        let n = self.conn.close(code, "", self.now, &mut out).unwrap();
        self.send
            .send_data(Bytes::copy_from_slice(&out[..n]), false)
            .unwrap();
    }

    /// Step 1 and 3 of the loop until something to report.
    async fn next(&mut self) -> Seen {
        loop {
            let r = self.conn.receive(&mut self.input, self.now);
            let consumed = r.consumed;
            let seen = match r.event {
                Some(Event::Data {
                    kind,
                    chunk,
                    message_fin,
                    ..
                }) => {
                    self.message.extend_from_slice(chunk);
                    message_fin.then(|| Seen::Message(kind, std::mem::take(&mut self.message)))
                }
                Some(Event::CloseReceived { code, .. }) => Some(Seen::CloseReceived(code)),
                Some(Event::Closed(info)) => Some(Seen::Closed(info)),
                Some(_) => None,
                None => {
                    self.input.drain(..consumed);
                    self.flush();
                    match timeout(LIMIT, self.recv.data())
                        .await
                        .expect("input in time")
                    {
                        Some(Ok(data)) => {
                            let _ = self.recv.flow_control().release_capacity(data.len());
                            self.input.extend_from_slice(&data);
                        }
                        // END_STREAM, or RST_STREAM: the end of input either way.
                        None | Some(Err(_)) => self.conn.receive_eof(self.now),
                    }
                    continue;
                }
            };
            self.input.drain(..consumed);
            self.flush();
            if let Some(seen) = seen {
                return seen;
            }
        }
    }
}

async fn next_log(lines: &mut UnboundedReceiver<SocketLog>) -> SocketLog {
    timeout(LIMIT, lines.recv())
        .await
        .expect("a log line in time")
        .expect("the server is running")
}

const CLEAN_1000: CloseInfo = CloseInfo {
    clean: true,
    code: CloseCode::NORMAL,
    error: None,
};

#[tokio::test]
async fn echo_over_http2_and_client_close() {
    let (addr, mut log) = start_server().await;
    let mut client = h2_connect(addr).await;
    let mut ws = H2WebSocket::open(&mut client, "/echo").await;
    let SocketLog::Opened {
        id,
        version,
        path,
        subprotocol,
    } = next_log(&mut log).await
    else {
        panic!("no open logged")
    };
    assert_eq!((version, path.as_str()), (Version::HTTP_2, "/echo"));
    assert_eq!(subprotocol.as_deref(), Some("echo.v2"));

    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let messages = [
        (DataKind::Text, "hello ✓".as_bytes().to_vec()),
        (DataKind::Binary, vec![0, 1, 2, 255]),
        (DataKind::Text, Vec::new()),
        // Over the default HTTP/2 windows (64 KiB): flow control on both sides.
        (DataKind::Binary, big),
    ];
    for (kind, payload) in &messages {
        ws.send(*kind, payload);
        assert_eq!(ws.next().await, Seen::Message(*kind, payload.clone()));
    }

    ws.close(CloseCode::NORMAL);
    assert_eq!(ws.next().await, Seen::CloseReceived(CloseCode::NORMAL));
    assert_eq!(ws.next().await, Seen::Closed(CLEAN_1000));
    assert_eq!(
        next_log(&mut log).await,
        SocketLog::Closed {
            id,
            version: Version::HTTP_2,
            code: 1000,
            clean: true,
            error: None
        }
    );
}

#[tokio::test]
async fn server_close_over_http2() {
    let (addr, mut log) = start_server().await;
    let mut client = h2_connect(addr).await;
    let mut ws = H2WebSocket::open(&mut client, "/?close-after=1").await;
    let SocketLog::Opened { id, .. } = next_log(&mut log).await else {
        panic!("no open logged")
    };
    ws.send(DataKind::Binary, b"last");
    assert_eq!(
        ws.next().await,
        Seen::Message(DataKind::Binary, b"last".to_vec())
    );
    // The server's close; the core answers it, the server then ends the stream (RFC 6455
    // §7.1.1: the server closes the "TCP connection" first), and so does the client.
    assert_eq!(ws.next().await, Seen::CloseReceived(CloseCode::NORMAL));
    assert_eq!(ws.next().await, Seen::Closed(CLEAN_1000));
    assert_eq!(
        next_log(&mut log).await,
        SocketLog::Closed {
            id,
            version: Version::HTTP_2,
            code: 1000,
            clean: true,
            error: None
        }
    );
}

#[tokio::test]
async fn reset_mid_message_is_an_abnormal_close() {
    let (addr, mut log) = start_server().await;
    let mut client = h2_connect(addr).await;
    let mut ws = H2WebSocket::open(&mut client, "/").await;
    let SocketLog::Opened { id, .. } = next_log(&mut log).await else {
        panic!("no open logged")
    };
    // Half of a 1000-byte binary frame, then RST_STREAM(CANCEL).
    let mut out = [0u8; 14];
    let start = ws
        .conn
        .begin_frame(DataKind::Binary, 1000, true, &mut out)
        .unwrap();
    ws.send
        .send_data(Bytes::copy_from_slice(&out[..start.written]), false)
        .unwrap();
    ws.send
        .send_data(Bytes::from(vec![7u8; 500]), false)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    ws.send.send_reset(Reason::CANCEL);
    let SocketLog::Closed {
        id: closed,
        version,
        code,
        clean,
        error,
    } = next_log(&mut log).await
    else {
        panic!("no close logged")
    };
    assert_eq!(
        (closed, version, code, clean),
        (id, Version::HTTP_2, 1006, false)
    );
    assert!(error.is_some(), "the server reports why");

    // The client side of a reset: the end of input, abnormal.
    ws.conn.receive_eof(ws.now);
    assert!(matches!(
        ws.next().await,
        Seen::Closed(CloseInfo {
            clean: false,
            code: CloseCode::ABNORMAL,
            ..
        })
    ));

    // The connection and the server are still there: a new stream echoes.
    let mut ws = H2WebSocket::open(&mut client, "/").await;
    ws.send(DataKind::Text, b"still here");
    assert_eq!(
        ws.next().await,
        Seen::Message(DataKind::Text, b"still here".to_vec())
    );
}

#[tokio::test]
async fn server_reset_is_an_abnormal_close_for_the_client() {
    // A bare h2 server that accepts the extended CONNECT, sends half a frame and resets.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut builder = h2::server::Builder::new();
        builder.enable_connect_protocol();
        let mut connection = builder.handshake::<_, Bytes>(tcp).await.unwrap();
        let (_request, mut respond) = connection.accept().await.unwrap().unwrap();
        tokio::spawn(async move { while connection.accept().await.is_some() {} });
        let response = http::Response::builder().status(200).body(()).unwrap();
        let mut send = respond.send_response(response, false).unwrap();
        // A text frame announcing 10 bytes, 3 of them sent.
        send.send_data(Bytes::from_static(b"\x81\x0aabc"), false)
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        send.send_reset(Reason::INTERNAL_ERROR);
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let mut client = h2_connect(addr).await;
    let mut ws = H2WebSocket::open_unchecked(&mut client).await;
    let Seen::Closed(info) = ws.next().await else {
        panic!("the reset closes the connection")
    };
    assert_eq!((info.clean, info.code), (false, CloseCode::ABNORMAL));
}

impl H2WebSocket {
    /// Like [`open`](Self::open) without a subprotocol, for the bare server.
    async fn open_unchecked(client: &mut SendRequest<Bytes>) -> H2WebSocket {
        let offer = ClientConnect {
            scheme: "http",
            ..ClientConnect::new("127.0.0.1", "/")
        };
        let request = connect_request(&offer, Version::HTTP_2).unwrap();
        let (response, send) = client.send_request(request, false).unwrap();
        let response = timeout(LIMIT, response).await.unwrap().unwrap();
        check_response(&response, None, &[], &[]).unwrap();
        let now = Instant::from_millis(0);
        H2WebSocket {
            conn: Connection::open(
                Config::default(),
                Role::Client,
                Box::new(entropy()) as _,
                now,
            )
            .unwrap(),
            send,
            recv: response.into_body(),
            input: Vec::new(),
            message: Vec::new(),
            now,
        }
    }
}

#[tokio::test]
async fn malformed_extended_connect_is_refused_by_the_core_rules() {
    let (addr, mut log) = start_server().await;
    let mut client = h2_connect(addr).await;
    // No sec-websocket-version: 400 with `sec-websocket-version: 13` (no 426 in HTTP/2).
    let offer = ClientConnect {
        scheme: "http",
        ..ClientConnect::new("127.0.0.1", "/")
    };
    let mut request = connect_request(&offer, Version::HTTP_2).unwrap();
    request.headers_mut().remove("sec-websocket-version");
    let (response, _send) = client.send_request(request, false).unwrap();
    let response = timeout(LIMIT, response).await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    assert!(matches!(
        next_log(&mut log).await,
        SocketLog::Refused {
            version: Version::HTTP_2,
            status: 400,
            ..
        }
    ));

    // A :protocol other than websocket.
    let mut request = connect_request(&offer, Version::HTTP_2).unwrap();
    request.extensions_mut().clear();
    request
        .extensions_mut()
        .insert(h2::ext::Protocol::from_static("webtransport"));
    let (response, _send) = client.send_request(request, false).unwrap();
    let response = timeout(LIMIT, response).await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(matches!(
        next_log(&mut log).await,
        SocketLog::Refused {
            version: Version::HTTP_2,
            status: 400,
            ..
        }
    ));

    // The connection still serves WebSockets.
    let mut ws = H2WebSocket::open(&mut client, "/").await;
    ws.send(DataKind::Binary, b"ok");
    assert_eq!(
        ws.next().await,
        Seen::Message(DataKind::Binary, b"ok".to_vec())
    );
}
