//! A WebSocket IRC client for the tests (tungstenite, blocking with the usual timeout):
//! one IRC line per message, as the IRCv3 WebSocket spec says.
#![allow(dead_code)]

use super::TIMEOUT;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

pub struct WsClient {
    pub ws: WebSocket<Box<dyn Stream>>,
    /// The subprotocol the server chose, if any.
    pub protocol: Option<String>,
    pub nick: String,
}

/// Offers `protocols` (most preferred first) to the WebSocket listener at `addr`.
pub fn connect(addr: SocketAddr, protocols: &[&str]) -> WsClient {
    let sock = TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(TIMEOUT)).unwrap();
    over(Box::new(sock), addr, protocols)
}

/// Like [`connect`] with a 4 KiB receive buffer: a client that stops reading fills the
/// server's send queue soon.
pub fn connect_small_rcvbuf(addr: SocketAddr, protocols: &[&str]) -> WsClient {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    sock.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    sock.connect(&addr.into()).expect("connect");
    let sock: TcpStream = sock.into();
    sock.set_read_timeout(Some(TIMEOUT)).unwrap();
    over(Box::new(sock), addr, protocols)
}

/// The WebSocket handshake over `stream` (whose read timeout is set).
pub fn over(stream: Box<dyn Stream>, addr: SocketAddr, protocols: &[&str]) -> WsClient {
    let mut req = format!("ws://{addr}/").into_client_request().unwrap();
    if !protocols.is_empty() {
        let offer = HeaderValue::from_str(&protocols.join(", ")).unwrap();
        req.headers_mut().insert("Sec-WebSocket-Protocol", offer);
    }
    let (ws, resp) = tungstenite::client(req, stream).expect("WebSocket handshake");
    let protocol = resp
        .headers()
        .get("Sec-WebSocket-Protocol")
        .map(|v| v.to_str().unwrap().to_string());
    WsClient {
        ws,
        protocol,
        nick: String::new(),
    }
}

impl WsClient {
    fn binary(&self) -> bool {
        self.protocol.as_deref() == Some("binary.ircv3.net")
    }

    /// One line as one message (text or binary as negotiated), without CRLF.
    pub fn send(&mut self, line: &str) {
        let msg = if self.binary() {
            Message::binary(line.as_bytes().to_vec())
        } else {
            Message::text(line)
        };
        self.ws.send(msg).expect("send");
    }

    /// The next IRC line: a message of the negotiated type, with no CR or LF in it.
    pub fn line(&mut self) -> String {
        loop {
            let line = match self.ws.read().expect("read a message") {
                Message::Text(t) if !self.binary() => t.to_string(),
                Message::Binary(b) if self.binary() => String::from_utf8(b.to_vec()).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected message {other:?}"),
            };
            assert!(!line.contains(['\r', '\n']), "{line:?}");
            return line;
        }
    }

    pub fn expect(&mut self, want: &str) {
        assert_eq!(self.line(), want);
    }

    /// Reads lines until one contains `needle`; returns all read.
    pub fn skip_until(&mut self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = self.line();
            let done = line.contains(needle);
            seen.push(line);
            if done {
                return seen;
            }
        }
    }

    pub fn register(&mut self, nick: &str) {
        self.send(&format!("NICK {nick}"));
        self.send(&format!("USER {nick} 0 * :{nick} real"));
        let seen = self.skip_until(" 376 ");
        assert!(
            seen[0].starts_with(&format!(":irc.test 001 {nick} ")),
            "{seen:?}"
        );
        self.nick = nick.to_string();
    }

    /// Reads past lines to the server's close frame; returns its status code.
    pub fn close_code(&mut self) -> CloseCode {
        loop {
            match self.ws.read().expect("a close frame") {
                Message::Close(frame) => return frame.expect("a status").code,
                _ => continue,
            }
        }
    }
}
