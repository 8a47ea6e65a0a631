//! Interoperability with tungstenite's blocking client and server over 127.0.0.1, each in a
//! thread of its own, against this adapter on compio's runtime: messages of every length class,
//! a message in fragments, a frame trickling in one byte per TCP segment, pings both ways, and
//! the closing handshake started by either side.

use std::io::Write;
use std::net::TcpStream as StdTcpStream;
use std::thread;

use compio::net::{TcpListener, TcpStream};
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{CloseCode as TCloseCode, Data, OpCode};
use tungstenite::{Message as TMessage, WebSocket as TWebSocket};
use wsproto_test_support::raw;
use wsproto_uring::{AcceptOptions, ClientRequest, CloseCode, Config, Message, WebSocket, wsproto};

const LENGTHS: [usize; 6] = [0, 125, 126, 65_535, 65_536, 1 << 20];

/// Each length class, as text and as binary.
fn messages() -> Vec<Message> {
    let mut all = Vec::new();
    for len in LENGTHS {
        all.push(Message::Binary((0..len).map(|i| (i % 256) as u8).collect()));
        all.push(Message::Text("ab€".repeat(len / 5)));
    }
    all
}

fn to_tungstenite(message: &Message) -> TMessage {
    match message {
        Message::Text(text) => TMessage::text(text.clone()),
        Message::Binary(bytes) => TMessage::binary(bytes.clone()),
    }
}

fn from_tungstenite(message: TMessage) -> Message {
    match message {
        TMessage::Text(text) => Message::Text(text.as_str().to_owned()),
        TMessage::Binary(bytes) => Message::Binary(bytes.to_vec()),
        other => panic!("not a data message: {other:?}"),
    }
}

fn roomy() -> Config {
    Config {
        max_frame_payload: 4 << 20,
        max_message_size: 4 << 20,
        ..Config::DEFAULT
    }
}

/// The tungstenite client's side of `our_server_and_a_tungstenite_client`.
fn tungstenite_client(port: u16) {
    let (mut ws, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}/echo")).unwrap();
    for message in messages() {
        ws.send(to_tungstenite(&message)).unwrap();
        assert_eq!(from_tungstenite(ws.read().unwrap()), message);
    }
    // A text message in three fragments, cut inside the euro sign.
    let text = "fragments: 12 €";
    let bytes = text.as_bytes();
    let cut = bytes.len() - 2;
    let parts = [
        (&bytes[..5], OpCode::Data(Data::Text), false),
        (&bytes[5..cut], OpCode::Data(Data::Continue), false),
        (&bytes[cut..], OpCode::Data(Data::Continue), true),
    ];
    for (part, opcode, fin) in parts {
        ws.send(TMessage::Frame(Frame::message(part.to_vec(), opcode, fin)))
            .unwrap();
    }
    assert_eq!(ws.read().unwrap(), TMessage::text(text));
    // One frame, one byte per TCP segment: every read holds a piece of a header or payload.
    let frame = raw::frame(
        wsproto::frame::OpCode::Binary,
        b"trickled in",
        Some([0xa1, 0xb2, 0xc3, 0xd4]),
    );
    let raw: &mut StdTcpStream = match ws.get_mut() {
        tungstenite::stream::MaybeTlsStream::Plain(stream) => stream,
        _ => unreachable!("plain TCP"),
    };
    raw.set_nodelay(true).unwrap();
    for byte in &frame {
        raw.write_all(std::slice::from_ref(byte)).unwrap();
        thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(ws.read().unwrap(), TMessage::binary(&b"trickled in"[..]));
    // A ping is answered with its payload.
    ws.send(TMessage::Ping(b"hello?"[..].into())).unwrap();
    assert_eq!(ws.read().unwrap(), TMessage::Pong(b"hello?"[..].into()));
    ws.close(Some(CloseFrame {
        code: TCloseCode::from(4003),
        reason: "tungstenite leaves".into(),
    }))
    .unwrap();
    // The server's echo of the close, then the end.
    loop {
        match ws.read() {
            Ok(TMessage::Close(frame)) => {
                assert_eq!(frame.unwrap().code, TCloseCode::from(4003));
            }
            Ok(other) => panic!("after the close: {other:?}"),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(err) => panic!("{err}"),
        }
    }
}

#[compio::test]
async fn our_server_and_a_tungstenite_client() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = thread::spawn(move || tungstenite_client(port));
    let (stream, _) = listener.accept().await.unwrap();
    let mut ws = wsproto_uring::accept(stream, roomy(), |request| {
        assert_eq!(request.path(), "/echo");
        Ok(AcceptOptions::default())
    })
    .await
    .unwrap();
    let mut echoed = 0;
    while let Some(message) = ws.next().await {
        ws.send(message.unwrap()).await.unwrap();
        echoed += 1;
    }
    assert_eq!(echoed, messages().len() + 2);
    let info = ws.close_info().unwrap();
    assert!(info.clean);
    assert_eq!(
        (info.code, ws.close_reason()),
        (CloseCode(4003), "tungstenite leaves")
    );
    client.join().unwrap();
}

/// The tungstenite server's side of `our_client_and_a_tungstenite_server`: echoes, pings once
/// asked to, and closes when told to.
fn tungstenite_server(stream: StdTcpStream) -> Vec<TMessage> {
    let mut ws: TWebSocket<StdTcpStream> = tungstenite::accept(stream).unwrap();
    let mut controls = Vec::new();
    loop {
        match ws.read() {
            Ok(TMessage::Text(text)) if text.as_str() == "ping me" => {
                ws.send(TMessage::Ping(b"from tungstenite"[..].into()))
                    .unwrap();
            }
            Ok(TMessage::Text(text)) if text.as_str() == "close now" => {
                ws.close(Some(CloseFrame {
                    code: TCloseCode::Away,
                    reason: "server going".into(),
                }))
                .unwrap();
            }
            Ok(message @ (TMessage::Text(_) | TMessage::Binary(_))) => ws.send(message).unwrap(),
            Ok(control) => controls.push(control),
            Err(tungstenite::Error::ConnectionClosed) => return controls,
            Err(err) => panic!("{err}"),
        }
    }
}

#[compio::test]
async fn our_client_and_a_tungstenite_server() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || tungstenite_server(listener.accept().unwrap().0));
    let stream = TcpStream::connect(addr).await.unwrap();
    let entropy = |buf: &mut [u8]| buf.iter_mut().for_each(|b| *b = 0x3c);
    let request = ClientRequest::new("127.0.0.1", "/");
    let mut ws = wsproto_uring::connect(stream, &request, roomy(), entropy)
        .await
        .unwrap();
    for message in messages() {
        ws.send(message.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), message);
    }
    ws.ping(b"from us").await.unwrap();
    // The server's ping is answered by us while we wait for the echo.
    ws.send(Message::Text("ping me".into())).await.unwrap();
    ws.send(Message::Text("marker".into())).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Text("marker".into())
    );
    assert_eq!(ws.last_pong(), Some(&b"from us"[..]));
    ws.send(Message::Text("close now".into())).await.unwrap();
    assert!(ws.next().await.is_none(), "a clean close ends the stream");
    let info = ws.close_info().unwrap();
    assert!(info.clean);
    assert_eq!(
        (info.code, ws.close_reason()),
        (CloseCode::GOING_AWAY, "server going")
    );
    let controls = server.join().unwrap();
    assert!(
        controls.contains(&TMessage::Ping(b"from us"[..].into())),
        "{controls:?}"
    );
    assert!(
        controls.contains(&TMessage::Pong(b"from tungstenite"[..].into())),
        "{controls:?}"
    );
    drop::<WebSocket<TcpStream>>(ws);
}
