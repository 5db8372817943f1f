//! Byte buffers of finished messages, for the next ones: the parts of a relayed message
//! that live only while it is delivered (its tags, its form for the links) then cost no
//! allocation of their own (bench `allocs`). Per thread, as the event loop is; a few small
//! buffers are kept, so nothing big stays behind a long message.

use std::cell::RefCell;

/// Messages are built one after another (a handler builds a few at once; an IRCX LAG
/// holds some back): a few buffers are enough.
const KEEP: usize = 8;
/// Largest buffer kept: a line with its tags.
const MAX_CAPACITY: usize = 2048;

thread_local! {
    static BUFS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer: a kept one when there is one.
pub fn take() -> Vec<u8> {
    BUFS.with_borrow_mut(|b| b.pop()).unwrap_or_default()
}

/// Keeps `buf` for the next [`take`], or frees it.
pub fn give(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > MAX_CAPACITY {
        return;
    }
    buf.clear();
    BUFS.with_borrow_mut(|b| {
        if b.len() < KEEP {
            b.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_buffers_come_back_empty_and_big_ones_go() {
        let mut v = take();
        v.extend_from_slice(b"abc");
        let cap = v.capacity();
        let ptr = v.as_ptr();
        give(v);
        let again = take();
        assert!(again.is_empty());
        assert_eq!((again.as_ptr(), again.capacity()), (ptr, cap));
        give(Vec::with_capacity(MAX_CAPACITY + 1));
        assert_eq!(take().capacity(), 0);
    }
}
