//! Our server's side of one connection of the Chromium page (`chromium_peer.js`), sans-IO, for
//! the adapters whose sockets hand out one message at a time (`wsproto-blocking`,
//! `wsproto-embedded`): the test reads each message, gives it to [`ChromiumServer::received`]
//! and sends what that returns, until [`ChromiumServer::finished`]; then it checks the close
//! and its wire counts. `#[path]`-included beside `peers.rs` (as `mod peers`), whose
//! `checksum` it uses.

use wsproto::message::OwnedMessage as Message;

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
