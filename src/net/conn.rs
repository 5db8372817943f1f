//! One connection as the shell sees it: a socket, framing state and a send queue.

use super::sendq::SendQ;
use crate::proto::Framer;
use mio::net::TcpStream;

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum State {
    Open,
    /// Flushing a last line; then write-shutdown and wait for EOF until the deadline, so the
    /// peer reads the ERROR instead of a reset.
    Closing {
        deadline_ms: u64,
        shut: bool,
    },
    /// Gone; removed from the slab at the end of the loop turn.
    Dead,
}

pub struct Conn {
    pub stream: TcpStream,
    pub framer: Framer,
    pub sendq: SendQ,
    pub state: State,
    /// The last WRITABLE edge has not been used up by a WouldBlock.
    pub writable: bool,
    pub in_dirty: bool,
    pub in_throttled: bool,
    /// An outbound portal connection still connecting: the portal's name.
    pub connecting: Option<Box<str>>,
}

impl Conn {
    pub fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            framer: Framer::default(),
            sendq: SendQ::default(),
            state: State::Open,
            writable: true,
            in_dirty: false,
            in_throttled: false,
            connecting: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }
}
