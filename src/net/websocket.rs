//! WebSocket on a connection (IRCv3 WebSocket): the HTTP request, then one IRC line per
//! message. It sits between the transport (plain or TLS) and the framer/send queue: input
//! messages become `line\n` for the framer, output lines become whole frames in the send
//! queue, so flood control, line length and send queue limits are those of TCP clients.
//! tungstenite does the handshake and the framing over an in-memory pipe, so nothing here
//! ever touches the socket or blocks. Sessions live in a side table keyed by the connection.

use super::webpage;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::frame::{CloseFrame, Frame};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Error, HandshakeError, Message, WebSocket};

/// The largest request head taken; a browser's is well under this.
const MAX_REQUEST: usize = 8 * 1024;
/// The largest message: past it the connection is closed with 1009. A message longer than
/// an IRC line but under this is a too-long line (417), as on TCP.
pub const MAX_MESSAGE: usize = 2 * crate::limits::MAX_LINE;

const TEXT: &str = "text.ircv3.net";
const BINARY: &str = "binary.ircv3.net";

/// The bytes tungstenite reads from (what the socket brought) and writes to (what goes to
/// the send queue). Reading an empty pipe would block, as a socket would.
/// A deque, as tungstenite reads in small pieces from the front.
#[derive(Default)]
struct Pipe {
    input: VecDeque<u8>,
    output: Vec<u8>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.input.is_empty() {
            // Idle sessions keep no buffer.
            self.input = VecDeque::new();
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.input.read(buf)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Stage {
    /// Reading the HTTP request head.
    Request(Vec<u8>),
    Open {
        ws: Box<WebSocket<Pipe>>,
        binary: bool,
    },
    /// Answered over HTTP, or the WebSocket is closed: nothing more goes out.
    Done,
    /// The server refused the connection: its closing line is answered as an HTTP 503.
    Refused,
}

pub struct Ws {
    stage: Stage,
    /// Control bytes (handshake answer, pong, close reply) for the send queue.
    out: Vec<u8>,
    /// The close status to send with the last line (normal unless an error said otherwise).
    close: CloseCode,
}

/// What the input brought, besides lines.
#[derive(Debug, PartialEq, Eq)]
pub enum Fed {
    Open,
    /// The connection is to end (HTTP answered, the peer closed, or a protocol error,
    /// whose close frame goes with the last line): this is the reason.
    End(&'static str),
}

impl Default for Ws {
    fn default() -> Ws {
        Ws {
            stage: Stage::Request(Vec::new()),
            out: Vec::new(),
            close: CloseCode::Normal,
        }
    }
}

impl Ws {
    /// Takes bytes from the transport; appends each complete message to `lines` as one line
    /// ending in `\n`.
    pub fn feed(&mut self, data: &[u8], lines: &mut Vec<u8>) -> Fed {
        match &mut self.stage {
            Stage::Request(head) => {
                head.extend_from_slice(data);
                self.request(lines)
            }
            Stage::Open { ws, .. } => {
                ws.get_mut().input.extend(data);
                self.messages(lines)
            }
            Stage::Done | Stage::Refused => Fed::End("Connection closed"),
        }
    }

    /// Control bytes waiting for the send queue.
    pub fn take_out(&mut self) -> Option<Vec<u8>> {
        if let Stage::Open { ws, .. } = &mut self.stage {
            self.out.append(&mut ws.get_mut().output);
        }
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    /// An IRC line (with its CRLF) as one frame; `None` when nothing may be sent.
    pub fn frame(&mut self, line: &[u8]) -> Option<Vec<u8>> {
        let Stage::Open { ws, binary } = &mut self.stage else {
            return None;
        };
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !ws.can_write() {
            return None;
        }
        let frame = if *binary {
            Frame::message(line.to_vec(), OpCode::Data(Data::Binary), true)
        } else {
            // Text messages must be UTF-8: other bytes become U+FFFD (IRCv3 WebSocket).
            let text = String::from_utf8_lossy(line).into_owned();
            Frame::message(text, OpCode::Data(Data::Text), true)
        };
        // Formatted here rather than sent through the session, whose write buffer would
        // keep the capacity of the longest line for as long as the client stays.
        let mut bytes = Vec::with_capacity(frame.len());
        frame.format(&mut bytes).ok()?;
        Some(bytes)
    }

    /// A session for a connection the server refused before any request was read.
    pub fn refused() -> Ws {
        Ws {
            stage: Stage::Refused,
            ..Ws::default()
        }
    }

    /// The last line as a frame, then the close frame (for a refused connection: the line
    /// as a 503 answer).
    pub fn finish(&mut self, line: &[u8]) -> Option<Vec<u8>> {
        if let Stage::Refused = self.stage {
            self.stage = Stage::Done;
            return Some(webpage::unavailable(line));
        }
        let mut bytes = self.frame(line).unwrap_or_default();
        if let Stage::Open { ws, .. } = &mut self.stage {
            let frame = CloseFrame {
                code: self.close,
                reason: "".into(),
            };
            let _ = ws.close(Some(frame));
            bytes.append(&mut ws.get_mut().output);
        }
        self.stage = Stage::Done;
        bytes.append(&mut self.out);
        (!bytes.is_empty()).then_some(bytes)
    }

    /// Answers the request once its head is complete.
    fn request(&mut self, lines: &mut Vec<u8>) -> Fed {
        let Stage::Request(head) = &mut self.stage else {
            return Fed::Open;
        };
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        let status = req.parse(head);
        let len = match status {
            Ok(httparse::Status::Partial) if head.len() <= MAX_REQUEST => return Fed::Open,
            Ok(httparse::Status::Complete(len)) => len,
            _ => return self.answer(webpage::bad_request()),
        };
        let upgrade = req.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("upgrade")
                && String::from_utf8_lossy(h.value).eq_ignore_ascii_case("websocket")
        });
        if !upgrade {
            let page = webpage::answer(&req);
            return self.answer(page);
        }
        let mut head = std::mem::take(head);
        // tungstenite refuses bytes after the request: frames sent with it follow after.
        let rest = head.split_off(len);
        self.upgrade(head, rest, lines)
    }

    fn answer(&mut self, response: Vec<u8>) -> Fed {
        self.out = response;
        self.stage = Stage::Done;
        Fed::End("HTTP request answered")
    }

    /// The WebSocket handshake by tungstenite (the whole head is there, so it finishes in
    /// one go); then `rest`, frames sent right behind the request.
    fn upgrade(&mut self, head: Vec<u8>, rest: Vec<u8>, lines: &mut Vec<u8>) -> Fed {
        let mut binary = false;
        // tungstenite's callback type: its error is an HTTP response (never returned here).
        #[allow(clippy::result_large_err)]
        let pick = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
            if let Some(proto) = subprotocol(req) {
                binary = proto == BINARY;
                resp.headers_mut()
                    .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(proto));
            }
            Ok(resp)
        };
        let pipe = Pipe {
            input: head.into(),
            output: Vec::new(),
        };
        // A small read buffer: it stays allocated for the life of the session (128 KiB by
        // default), and a message's whole length is reserved once its header is read anyway.
        let config = WebSocketConfig::default()
            .read_buffer_size(128)
            .write_buffer_size(0)
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        match tungstenite::accept_hdr_with_config(pipe, pick, Some(config)) {
            Ok(mut ws) => {
                ws.get_mut().input = rest.into();
                self.stage = Stage::Open {
                    ws: Box::new(ws),
                    binary,
                };
                self.messages(lines)
            }
            Err(HandshakeError::Failure(e)) => {
                log::debug!("WebSocket handshake refused: {e}");
                self.answer(webpage::bad_request())
            }
            Err(HandshakeError::Interrupted(_)) => self.answer(webpage::bad_request()),
        }
    }

    /// Reads every complete message; an error closes with its status code.
    fn messages(&mut self, lines: &mut Vec<u8>) -> Fed {
        let Stage::Open { ws, .. } = &mut self.stage else {
            return Fed::Open;
        };
        loop {
            let msg = match ws.read() {
                Ok(msg) => msg,
                Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => return Fed::Open,
                Err(e) => {
                    let (code, reason) = close_for(&e);
                    self.close = code;
                    return Fed::End(reason);
                }
            };
            let payload: &[u8] = match &msg {
                Message::Text(t) => t.as_bytes(),
                Message::Binary(b) => b,
                // The reply is queued by tungstenite; the last line goes with none.
                Message::Close(_) => return Fed::End("Connection closed"),
                _ => continue,
            };
            let payload = payload.strip_suffix(b"\n").unwrap_or(payload);
            let payload = payload.strip_suffix(b"\r").unwrap_or(payload);
            if !payload.is_empty() {
                lines.extend_from_slice(payload);
                lines.push(b'\n');
            }
        }
    }
}

/// The first subprotocol the client offers that we speak (its order is its preference).
fn subprotocol(req: &Request) -> Option<&'static str> {
    req.headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| [TEXT, BINARY].into_iter().find(|&s| s == p))
}

/// The close status for a read error (RFC 6455 section 7.4.1).
fn close_for(e: &Error) -> (CloseCode, &'static str) {
    match e {
        Error::Capacity(_) => (CloseCode::Size, "WebSocket message too long"),
        Error::Utf8(_) => (CloseCode::Invalid, "WebSocket text is not UTF-8"),
        Error::ConnectionClosed | Error::AlreadyClosed => (CloseCode::Normal, "Connection closed"),
        _ => (CloseCode::Protocol, "WebSocket protocol error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_session_is_small() {
        // Per idle WebSocket client besides the connection itself (README's figure).
        assert!(
            std::mem::size_of::<Ws>() <= 64,
            "{}",
            std::mem::size_of::<Ws>()
        );
    }
}
