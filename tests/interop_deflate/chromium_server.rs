//! Headless Chromium against a blocking server: [`run_chromium`] starts the page
//! (`chromium_peer.js`) and hands each of its connections to the test's server, which runs the
//! page's scenario message by message with [`ChromiumServer`] (sans-IO): it reads each
//! message, gives it to [`ChromiumServer::received`] and sends what that returns, until
//! [`ChromiumServer::finished`]; then it checks the close and its wire counts. For the
//! adapters whose sockets hand out one message at a time (`wsproto-blocking`,
//! `wsproto-embedded`); `#[path]`-included beside `peers.rs` (as `mod peers`), which it uses.

use std::net::TcpListener;

use wsproto::deflate::DeflateConfig;
use wsproto::message::OwnedMessage as Message;

/// Starts the Chromium page against a listener on 127.0.0.1 for two connections, and has
/// `serve` serve each (accept on the listener, run the scenario, check the close and the wire;
/// return a summary) with our permessage-deflate config for it: context takeover, then none
/// either way. Checks that the page passed; prints its output and the summaries.
pub fn run_chromium(mut serve: impl FnMut(&TcpListener, DeflateConfig) -> String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/deflate", listener.local_addr().unwrap());
    let no_takeover = DeflateConfig {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateConfig::DEFAULT
    };
    let ours = [DeflateConfig::DEFAULT, no_takeover];
    let page = super::peers::spawn_chromium(&url, ours.len());
    let served: Vec<String> = ours
        .into_iter()
        .map(|deflate| serve(&listener, deflate))
        .collect();
    let (status, stdout) = super::peers::finish(page);
    assert!(status.success(), "the Chromium peer failed:\n{stdout}");
    assert!(stdout.lines().any(|l| l == "PASS"), "{stdout}");
    println!("{stdout}");
    for line in served {
        println!("Chromium {line}");
    }
}

/// Where the page's scenario is.
enum Stage {
    /// The page's first message reports its `ws.extensions`.
    Extensions,
    /// We echo each message until `send-yours`.
    Echo,
    /// We sent our own messages and `done`; the page answers with their checksums.
    Sums,
    /// The page closes next.
    Finished,
}

/// The scenario's state on one connection.
pub struct ChromiumServer {
    extensions: String,
    stage: Stage,
    echoed: usize,
    sums: String,
}

impl ChromiumServer {
    /// `response`: the permessage-deflate parameters we accepted, which the page must report
    /// as its `ws.extensions`.
    pub fn new(response: &str) -> Self {
        ChromiumServer {
            extensions: format!("extensions:{response}"),
            stage: Stage::Extensions,
            echoed: 0,
            sums: String::new(),
        }
    }

    /// Takes the page's next message; returns what to send back, in order. Panics where the
    /// page reports other extensions or other checksums than ours.
    pub fn received(&mut self, message: Message) -> Vec<Message> {
        match self.stage {
            Stage::Extensions => {
                assert_eq!(message, Message::Text(self.extensions.clone()));
                self.stage = Stage::Echo;
                Vec::new()
            }
            Stage::Echo if message == Message::Text("send-yours".into()) => {
                let own = vec![
                    Message::Text("server ✓ ".repeat(100_000)),
                    Message::Binary(vec![7; 100_000]),
                ];
                let sums: Vec<String> = own
                    .iter()
                    .map(|m| super::peers::checksum(m.as_bytes()))
                    .collect();
                self.sums = format!("sums:{}", sums.join(" "));
                self.stage = Stage::Sums;
                own.into_iter()
                    .chain([Message::Text("done".into())])
                    .collect()
            }
            Stage::Echo => {
                self.echoed += message.len();
                vec![message]
            }
            Stage::Sums => {
                assert_eq!(
                    message,
                    Message::Text(self.sums.clone()),
                    "Chromium inflated our messages to other bytes"
                );
                self.stage = Stage::Finished;
                Vec::new()
            }
            Stage::Finished => panic!("the page sent {message:?} after its checksums"),
        }
    }

    /// Whether the page has sent all its messages (it closes next).
    pub fn finished(&self) -> bool {
        matches!(self.stage, Stage::Finished)
    }

    /// The bytes of the page's messages we echoed.
    pub fn echoed(&self) -> usize {
        self.echoed
    }
}
