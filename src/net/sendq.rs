//! A connection's send queue: shared line buffers, written with vectored writes.

use crate::limits::{MAX_IOV, WRITE_BUDGET};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::rc::Rc;

/// Rings of queues that emptied, for queues that fill again: a queue gives its memory back
/// whenever it drains (idle connections keep nothing), and without these every line to a
/// connection with nothing queued would allocate a ring and free it after the write. As
/// many as a fanout turn needs are kept (every member of a big channel gets lines in the
/// same turn, up to a window of them), only small ones, so this stays under 512 KiB
/// however many connections.
const SPARE_RINGS: usize = 512;
const SPARE_RING_CAP: usize = 64;

thread_local! {
    static SPARE: RefCell<Vec<VecDeque<Rc<[u8]>>>> = const { RefCell::new(Vec::new()) };
}

/// An empty ring, a spare one when there is one.
fn ring() -> VecDeque<Rc<[u8]>> {
    SPARE.with_borrow_mut(|s| s.pop()).unwrap_or_default()
}

/// Keeps an emptied ring for the next queue, or frees it.
fn give_back(mut ring: VecDeque<Rc<[u8]>>) {
    ring.clear();
    if ring.capacity() == 0 || ring.capacity() > SPARE_RING_CAP {
        return;
    }
    SPARE.with_borrow_mut(|s| {
        if s.len() < SPARE_RINGS {
            s.push(ring);
        }
    });
}

/// Lines waiting to be written. An empty queue owns no allocation.
#[derive(Default, Debug)]
pub struct SendQ {
    lines: VecDeque<Rc<[u8]>>,
    /// Bytes of the front line already written.
    head: usize,
    bytes: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Flushed {
    /// Everything written.
    Empty,
    /// The socket is full: wait for the next WRITABLE edge.
    Blocked,
    /// The write budget for this turn is spent; more remains.
    Budget,
}

impl SendQ {
    pub fn push(&mut self, line: Rc<[u8]>) {
        if self.lines.capacity() == 0 {
            self.lines = ring();
        }
        self.bytes += line.len();
        self.lines.push_back(line);
    }

    /// Bytes queued and not yet written.
    pub fn len(&self) -> usize {
        self.bytes - self.head
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn clear(&mut self) {
        give_back(std::mem::take(&mut self.lines));
        *self = SendQ::default();
    }

    /// Drops every line not yet started, but keeps the rest of one partly written: cutting
    /// it would glue whatever is queued next (the closing ERROR) onto half a line.
    pub fn discard_unsent(&mut self) {
        if self.head == 0 {
            self.clear();
            return;
        }
        let front = self
            .lines
            .pop_front()
            .expect("a partly written line is queued");
        self.lines.clear();
        self.bytes = front.len();
        self.lines.push_back(front);
    }

    /// Writes as much as the socket takes, up to the write budget.
    pub fn flush<W: Write>(&mut self, w: &mut W) -> io::Result<Flushed> {
        let mut written_total = 0;
        while !self.lines.is_empty() {
            if written_total >= WRITE_BUDGET {
                return Ok(Flushed::Budget);
            }
            let mut slices: [IoSlice<'_>; MAX_IOV] = [IoSlice::new(&[]); MAX_IOV];
            let mut n = 0;
            for (i, line) in self.lines.iter().take(MAX_IOV).enumerate() {
                slices[i] = IoSlice::new(if i == 0 { &line[self.head..] } else { line });
                n += 1;
            }
            match w.write_vectored(&slices[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => {
                    written_total += written;
                    self.advance(written);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Flushed::Blocked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // Give the ring's memory back: idle connections keep nothing.
        give_back(std::mem::take(&mut self.lines));
        Ok(Flushed::Empty)
    }

    fn advance(&mut self, mut written: usize) {
        while written > 0 {
            let front = self
                .lines
                .front()
                .expect("written bytes come from queued lines");
            let left = front.len() - self.head;
            if written >= left {
                written -= left;
                self.bytes -= front.len();
                self.head = 0;
                self.lines.pop_front();
            } else {
                self.head += written;
                written = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts at most `cap` bytes per call and `room` in total before blocking.
    struct Trickle {
        out: Vec<u8>,
        cap: usize,
        room: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.cap).min(self.room);
            self.out.extend_from_slice(&buf[..n]);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn partial_writes_resume_mid_line() {
        let mut q = SendQ::default();
        let shared: Rc<[u8]> = Rc::from(&b"hello\r\n"[..]);
        for _ in 0..10 {
            q.push(shared.clone());
        }
        assert_eq!(q.len(), 70);
        let mut t = Trickle {
            out: Vec::new(),
            cap: 3,
            room: 33,
        };
        assert_eq!(q.flush(&mut t).unwrap(), Flushed::Blocked);
        assert_eq!(q.len(), 70 - 33);
        t.room = usize::MAX;
        assert_eq!(q.flush(&mut t).unwrap(), Flushed::Empty);
        assert_eq!(t.out, b"hello\r\n".repeat(10));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn discard_unsent_keeps_a_partly_written_line_whole() {
        let mut q = SendQ::default();
        for line in [&b"first\r\n"[..], b"second\r\n", b"third\r\n"] {
            q.push(Rc::from(line));
        }
        let mut t = Trickle {
            out: Vec::new(),
            cap: usize::MAX,
            room: 10,
        };
        assert_eq!(q.flush(&mut t).unwrap(), Flushed::Blocked);
        q.discard_unsent();
        assert_eq!(q.len(), b"first\r\nsecond\r\n".len() - 10);
        q.push(Rc::from(&b"ERROR\r\n"[..]));
        t.room = usize::MAX;
        assert_eq!(q.flush(&mut t).unwrap(), Flushed::Empty);
        assert_eq!(t.out, b"first\r\nsecond\r\nERROR\r\n");
        // Nothing started: everything goes.
        q.push(Rc::from(&b"x\r\n"[..]));
        q.discard_unsent();
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
    }
}
