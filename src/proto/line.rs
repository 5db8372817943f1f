//! Building outgoing lines: `[:prefix] COMMAND arg arg :trailing\r\n`, cut safely at 512 bytes.

use std::cell::Cell;
use std::rc::Rc;

/// Longest line sent, terminator included (RFC 1459 §2.3).
pub const MAX_OUT: usize = 512;

#[derive(Debug, Clone)]
pub struct Line {
    buf: Vec<u8>,
}

thread_local! {
    /// The buffer of the last line [`Line::finish`]ed, reused by the next [`Line::new`]: a
    /// relayed message then allocates only its shared `Rc` (bench `allocs`).
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A cleared buffer with room for a whole line (the spare one when there is one).
fn line_buf() -> Vec<u8> {
    let mut buf = SPARE.take();
    buf.clear();
    buf.reserve(MAX_OUT);
    buf
}

impl Line {
    pub fn new(prefix: &str, command: &str) -> Line {
        Line::with_prefix(&[prefix], command)
    }

    /// A line whose prefix is the concatenation of `parts` (`nick`, `!`, `user`, `@`,
    /// `host` for a client's mask, without building the mask first).
    pub fn with_prefix(parts: &[&str], command: &str) -> Line {
        let mut buf = line_buf();
        buf.push(b':');
        for p in parts {
            buf.extend_from_slice(p.as_bytes());
        }
        buf.push(b' ');
        buf.extend_from_slice(command.as_bytes());
        Line { buf }
    }

    /// A line without a prefix (`ERROR`, `PING` to a client).
    pub fn bare(command: &str) -> Line {
        let mut buf = line_buf();
        buf.extend_from_slice(command.as_bytes());
        Line { buf }
    }

    /// A middle parameter. An empty one, or one with a space or a leading `:`, could not be
    /// parsed back (nor one with CR, LF or NUL), so it is written as `*`; such text belongs in [`Line::trailing`].
    pub fn arg(mut self, a: impl AsRef<[u8]>) -> Line {
        let a = a.as_ref();
        self.buf.push(b' ');
        if a.is_empty() || a[0] == b':' || a.iter().any(|b| matches!(b, b' ' | b'\r' | b'\n' | 0)) {
            self.buf.push(b'*');
        } else {
            self.buf.extend_from_slice(a);
        }
        self
    }

    /// The last parameter, always written with its `:` (clients handle that uniformly).
    pub fn trailing(mut self, t: impl AsRef<[u8]>) -> Line {
        self.buf.extend_from_slice(b" :");
        self.buf.extend_from_slice(t.as_ref());
        self
    }

    /// More of the last parameter (after [`Line::trailing`]): a text made of parts is
    /// written without being put together first.
    pub fn more(mut self, t: impl AsRef<[u8]>) -> Line {
        self.buf.extend_from_slice(t.as_ref());
        self
    }

    /// Terminates the line, cutting it to 510 bytes first, never in the middle of a UTF-8
    /// sequence, and never leaving a CR or LF from a parameter inside it.
    pub fn bytes(mut self) -> Vec<u8> {
        self.terminate();
        self.buf
    }

    fn terminate(&mut self) {
        // Written without a branch so the compiler checks many bytes at a time: every
        // relayed line passes here.
        for b in self.buf.iter_mut() {
            let bad = (*b == b'\r') | (*b == b'\n') | (*b == 0);
            *b = if bad { b' ' } else { *b };
        }
        if self.buf.len() > MAX_OUT - 2 {
            let mut cut = MAX_OUT - 2;
            while cut > 0 && (self.buf[cut] & 0xC0) == 0x80 {
                cut -= 1;
            }
            self.buf.truncate(cut);
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    /// The terminated line in a shared buffer (the only allocation when the spare buffer
    /// is there); this line's buffer becomes the spare one.
    pub fn finish(mut self) -> Rc<[u8]> {
        self.terminate();
        let line = Rc::from(&self.buf[..]);
        keep_spare(std::mem::take(&mut self.buf));
        line
    }
}

impl Line {
    /// [`Line::finish`] with an IRCv3 tag section (`@a=b;c `) before the line, which is cut
    /// to 512 bytes without it as [`with_tags`] does.
    pub fn finish_tagged(mut self, tags: &[u8]) -> Rc<[u8]> {
        self.terminate();
        let (len, n) = (self.buf.len(), tags.len() + 2);
        self.buf.resize(len + n, 0);
        self.buf.copy_within(..len, n);
        self.buf[0] = b'@';
        self.buf[1..n - 1].copy_from_slice(tags);
        self.buf[n - 1] = b' ';
        let line = Rc::from(&self.buf[..]);
        keep_spare(std::mem::take(&mut self.buf));
        line
    }
}

/// Makes `buf` the spare buffer, unless it grew far past a line (a long parameter, cut
/// by `terminate`, or a long tag section).
fn keep_spare(buf: Vec<u8>) {
    if buf.capacity() <= 4 * MAX_OUT {
        SPARE.set(buf);
    }
}

/// A shared line written by `write` into the spare buffer: one allocation, the `Rc`.
pub fn shared(write: impl FnOnce(&mut Vec<u8>)) -> Rc<[u8]> {
    let mut buf = line_buf();
    write(&mut buf);
    let line = Rc::from(&buf[..]);
    keep_spare(buf);
    line
}

/// Prepends an IRCv3 tag section (`@a=b;c `) to a finished line.
pub fn with_tags(tags: &[u8], line: &[u8]) -> Rc<[u8]> {
    shared(|v| {
        v.push(b'@');
        v.extend_from_slice(tags);
        v.push(b' ');
        v.extend_from_slice(line);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds() {
        let l = Line::new("irc.test", "001")
            .arg("alice")
            .trailing("Welcome");
        assert_eq!(l.bytes(), b":irc.test 001 alice :Welcome\r\n");
        assert_eq!(Line::bare("ERROR").trailing("x").bytes(), b"ERROR :x\r\n");
        let parts = Line::bare("ERROR").trailing("a ").more("b").more(" (c)");
        assert_eq!(parts.bytes(), b"ERROR :a b (c)\r\n");
        assert_eq!(
            Line::bare("X").arg("").arg(":a").arg("b c").bytes(),
            b"X * * *\r\n"
        );
    }

    #[test]
    fn cuts_at_512_on_a_char_boundary() {
        let text = "é".repeat(400);
        let out = Line::new("s", "PRIVMSG").arg("#c").trailing(&text).bytes();
        assert!(out.len() <= MAX_OUT);
        assert!(std::str::from_utf8(&out).is_ok());
        assert!(out.ends_with(b"\r\n"));
    }

    #[test]
    fn tagged_is_with_tags_of_finished() {
        let text = "é".repeat(400);
        let l = Line::new("s", "PRIVMSG").arg("#c").trailing(&text);
        let plain = l.clone().finish();
        assert_eq!(l.finish_tagged(b"a=b;+c"), with_tags(b"a=b;+c", &plain));
    }

    #[test]
    fn no_injected_lines() {
        let out = Line::new("s", "NOTICE")
            .arg("x")
            .trailing("a\r\nQUIT")
            .bytes();
        assert_eq!(out, b":s NOTICE x :a  QUIT\r\n");
    }
}
