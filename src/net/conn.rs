//! One connection as the shell sees it: a socket, framing state and a send queue.

use super::sendq::SendQ;
use crate::proto::Framer;
use mio::net::TcpStream;
use std::rc::Rc;

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum State {
    Open,
    /// Its send queue went past the limit: nothing more is queued, and the core's closing
    /// ERROR is awaited (within the same loop turn). Being a state, not a list entry, it
    /// makes the overflow happen once however many lines were pushed past the limit.
    Overflowed,
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

    /// Queues a line for an open connection, unless that takes its queue past the limit:
    /// then the connection is [`State::Overflowed`] and takes no more lines; what was
    /// queued is dropped when it is cut (its ERROR is queued), not here, so a crowd
    /// overflowing together frees its queues over several loop turns. `floor` is a limit no connection's is below, so the usual line
    /// costs one comparison; `limit` is the connection's own, asked only past the floor.
    pub fn queue(&mut self, line: Rc<[u8]>, floor: usize, limit: impl FnOnce() -> usize) -> Queued {
        if !self.is_open() {
            return Queued::Dropped;
        }
        self.sendq.push(line);
        if self.sendq.len() > floor && self.sendq.len() > limit() {
            self.state = State::Overflowed;
            return Queued::Overflowed;
        }
        Queued::Yes
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Queued {
    Yes,
    /// This line took the queue past its limit (said once per connection).
    Overflowed,
    /// Not open (closing, dead or already overflowed): the line is dropped.
    Dropped,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Conn {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        Conn::new(TcpStream::from_std(s))
    }

    #[test]
    fn a_queue_overflows_once_and_then_takes_nothing() {
        let mut c = conn();
        let line: Rc<[u8]> = Rc::from(&b"0123456789\r\n"[..]);
        let results: Vec<Queued> = (0..1000)
            .map(|_| c.queue(line.clone(), 50, || 100))
            .collect();
        let overflows = results.iter().filter(|r| **r == Queued::Overflowed).count();
        assert_eq!(overflows, 1, "one overflow, however many lines follow");
        // 8 lines (96 bytes) fit, the 9th overflows, the rest are dropped unqueued.
        assert_eq!(results[8], Queued::Overflowed);
        assert!(results[..8].iter().all(|r| *r == Queued::Yes));
        assert!(results[9..].iter().all(|r| *r == Queued::Dropped));
        assert_eq!(c.state, State::Overflowed);
        assert_eq!(
            c.sendq.len(),
            9 * 12,
            "the backlog goes when the connection is cut"
        );
    }

    #[test]
    fn the_own_limit_is_asked_only_past_the_floor() {
        let mut c = conn();
        let line: Rc<[u8]> = Rc::from(&b"0123456789\r\n"[..]);
        assert_eq!(c.queue(line.clone(), 100, || panic!("asked")), Queued::Yes);
        // Past the floor, a larger own limit (a portal's) still takes it.
        for _ in 0..20 {
            assert_eq!(c.queue(line.clone(), 12, || 1000), Queued::Yes);
        }
        assert_eq!(c.sendq.len(), 21 * 12);
    }

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
