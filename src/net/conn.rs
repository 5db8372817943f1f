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
    /// The connection speaks TLS: its session is in the loop's side table (this flag sits
    /// in padding, so plain connections do not grow).
    pub tls: bool,
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
            tls: false,
            connecting: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }
}

#[cfg(test)]
mod tests {
    /// Every connection pays for this struct: TLS state lives in a side table, and the
    /// flag marking a TLS connection sits in what was padding.
    #[test]
    fn conn_stays_small() {
        assert!(
            std::mem::size_of::<super::Conn>() <= 120,
            "{}",
            std::mem::size_of::<super::Conn>()
        );
    }
}
