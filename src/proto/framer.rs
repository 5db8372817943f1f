//! Line framing over byte buffers. A connection keeps only its unfinished tail (and, while
//! it is under flood penalty, the lines not yet processed); complete lines are handed out as
//! slices of whichever buffer holds them, so the common case copies nothing.

use crate::limits::MAX_LINE;

/// What the framer hands to the caller for each line.
#[derive(Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// A complete line without its `\n` and without one trailing `\r`.
    Line(&'a [u8]),
    /// A line longer than [`MAX_LINE`] was discarded up to its terminator.
    TooLong,
}

/// What the caller did with the input it was handed.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Flow {
    /// Taken; hand out the next one.
    Continue,
    /// Not taken (the caller cannot handle input now, e.g. flood penalty): this input and
    /// everything after it stay queued, and are handed out again, in order, by the next
    /// [`Framer::feed`].
    Pause,
}

/// Per-connection framing state: an empty `Vec` owns no allocation, so an idle connection
/// costs 32 bytes here.
#[derive(Default, Debug)]
pub struct Framer {
    pending: Vec<u8>,
    /// Inside an overlong line: drop bytes until the next `\n`.
    discarding: bool,
    /// An unterminated overlong line was dropped but its [`Input::TooLong`] was not taken yet.
    owed_too_long: bool,
}

impl Framer {
    /// Bytes held (an unfinished tail plus lines paused by the caller).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Feeds newly read bytes (may be empty, to resume after a pause) and calls `on` for each
    /// complete line until it asks to pause; the input it paused on is kept. Returns whether
    /// the framer paused.
    pub fn feed(&mut self, data: &[u8], mut on: impl FnMut(Input<'_>) -> Flow) -> bool {
        if self.pending.is_empty() {
            let (used, paused) = self.scan(data, &mut on);
            self.pending.extend_from_slice(&data[used..]);
            return paused;
        }
        let mut buf = std::mem::take(&mut self.pending);
        buf.extend_from_slice(data);
        let (used, paused) = self.scan(&buf, &mut on);
        buf.drain(..used);
        if buf.is_empty() {
            // Give the memory back: idle connections must not keep buffers.
            buf = Vec::new();
        } else if buf.capacity() > 4 * buf.len() + 1024 {
            buf.shrink_to(buf.len());
        }
        self.pending = buf;
        paused
    }

    /// Returns (bytes consumed, paused).
    fn scan(&mut self, buf: &[u8], on: &mut impl FnMut(Input<'_>) -> Flow) -> (usize, bool) {
        if self.owed_too_long {
            if on(Input::TooLong) == Flow::Pause {
                return (0, true);
            }
            self.owed_too_long = false;
        }
        let mut pos = 0;
        while pos < buf.len() {
            let Some(nl) = find_newline(&buf[pos..]) else {
                if self.discarding {
                    pos = buf.len();
                } else if buf.len() - pos > MAX_LINE {
                    // The bytes go now (holding them is what the limit prevents); the report
                    // is owed until it is taken.
                    pos = buf.len();
                    self.discarding = true;
                    if on(Input::TooLong) == Flow::Pause {
                        self.owed_too_long = true;
                        return (pos, true);
                    }
                }
                break;
            };
            let end = pos + nl;
            if self.discarding {
                self.discarding = false;
                pos = end + 1;
                continue;
            }
            let mut line = &buf[pos..end];
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            let input = if line.len() > MAX_LINE {
                Input::TooLong
            } else {
                Input::Line(line)
            };
            if on(input) == Flow::Pause {
                return (pos, true);
            }
            pos = end + 1;
        }
        (pos, false)
    }
}

/// The first `\n` in `buf`, eight bytes at a time: the framer looks at every byte read,
/// and a byte-by-byte search was a tenth of the server's own time relaying messages.
/// Public for the load tool (`portico-load`), which reads every line the server sends.
#[inline]
pub fn find_newline(buf: &[u8]) -> Option<usize> {
    find_byte(buf, b'\n')
}

/// The first `byte` in `buf`, eight bytes at a time (see [`find_newline`]). Public for
/// the load tool, which splits every line the server sends at its spaces.
#[inline]
pub fn find_byte(buf: &[u8], byte: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(byte);
    let mut chunks = buf.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let word = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        // A byte of `v` is zero where `word` has `byte`; the lowest byte flagged here is
        // always such a byte (only bytes above a zero can be flagged wrongly).
        let v = word ^ pattern;
        let found = v.wrapping_sub(LO) & !v & HI;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = chunks.remainder();
    rest.iter().position(|&b| b == byte).map(|p| at + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(chunks: &[&[u8]]) -> Vec<String> {
        let mut f = Framer::default();
        let mut out = Vec::new();
        for c in chunks {
            f.feed(c, |i| {
                out.push(match i {
                    Input::Line(l) => String::from_utf8_lossy(l).into_owned(),
                    Input::TooLong => "<too long>".into(),
                });
                Flow::Continue
            });
        }
        out
    }

    #[test]
    fn terminators() {
        let cases: &[(&[u8], &[&str])] = &[
            (b"A\r\nB\nC", &["A", "B"]),
            (b"\r\n\n", &["", ""]),
            (b"A\rB\r\n", &["A\rB"]),
            (b"A\r\r\n", &["A\r"]),
            (b"no terminator", &[]),
        ];
        for (input, want) in cases {
            assert_eq!(collect(&[input]), *want, "input {:?}", input);
        }
    }

    #[test]
    fn split_at_every_offset() {
        let input = b"NICK alice\r\nUSER a 0 * :Alice A\r\nPRIVMSG #c :hi\n";
        let whole = collect(&[input]);
        assert_eq!(whole.len(), 3);
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let got = collect(&[&input[..i], &input[i..j], &input[j..]]);
                assert_eq!(got, whole, "split at {i},{j}");
            }
        }
    }

    #[test]
    fn overlong_is_dropped_once_and_framing_recovers() {
        let long = vec![b'x'; MAX_LINE + 10];
        let got = collect(&[&long, b"more\r\nPING x\r\n"]);
        assert_eq!(got, vec!["<too long>", "PING x"]);
        let mut complete = long.clone();
        complete.extend_from_slice(b"\nPING y\n");
        assert_eq!(collect(&[&complete]), vec!["<too long>", "PING y"]);
        // Byte by byte, still exactly one report.
        let bytes: Vec<&[u8]> = complete.chunks(1).collect();
        assert_eq!(collect(&bytes), vec!["<too long>", "PING y"]);
    }

    #[test]
    fn pause_keeps_the_rest() {
        let mut f = Framer::default();
        let mut seen = Vec::new();
        let paused = f.feed(b"A\nB\nC\nD", |i| {
            seen.push(format!("{i:?}"));
            if seen.len() == 2 {
                Flow::Pause
            } else {
                Flow::Continue
            }
        });
        assert!(paused);
        // B was not taken: it is kept, ahead of the rest.
        assert_eq!(f.pending(), b"B\nC\nD".len());
        let mut rest = Vec::new();
        f.feed(b"\n", |i| {
            if let Input::Line(l) = i {
                rest.push(l.to_vec());
            }
            Flow::Continue
        });
        assert_eq!(rest, vec![b"B".to_vec(), b"C".to_vec(), b"D".to_vec()]);
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn pausing_on_every_input_loses_nothing() {
        // Each input is refused once, then taken on the next feed: the order of lines and
        // too-long reports is exactly that of an unpaused run.
        let mut input = b"A\r\nB\n".to_vec();
        input.extend_from_slice(&vec![b'x'; MAX_LINE + 5]);
        input.extend_from_slice(b"tail\nC\n");
        input.extend_from_slice(&vec![b'y'; MAX_LINE + 5]);
        input.extend_from_slice(b"\nD\n");
        let mut f = Framer::default();
        let mut got = Vec::new();
        let mut refuse = true;
        for chunk in input.chunks(1000).chain(std::iter::repeat_n(&[][..], 20)) {
            f.feed(chunk, |i| {
                refuse = !refuse;
                if !refuse {
                    return Flow::Pause;
                }
                got.push(match i {
                    Input::Line(l) => String::from_utf8_lossy(l).into_owned(),
                    Input::TooLong => "<too long>".into(),
                });
                Flow::Continue
            });
        }
        assert_eq!(got, ["A", "B", "<too long>", "C", "<too long>", "D"]);
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        for _ in 0..200 {
            let mut f = Framer::default();
            for _ in 0..20 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let len = (seed % 3000) as usize;
                let data: Vec<u8> = (0..len)
                    .map(|k| {
                        (seed.rotate_left(k as u32 % 64) as u8) | (0x0a * ((k % 97 == 0) as u8))
                    })
                    .collect();
                f.feed(&data, |_| Flow::Continue);
                assert!(f.pending() <= MAX_LINE);
            }
        }
    }

    #[test]
    fn find_newline_and_find_byte_are_position() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let buf: Vec<u8> = (0..len)
                .map(|k| {
                    [b'a', b'\n', 0x0b, 0x8a, 0x09, 0xff, b' '][(seed >> (k % 60)) as usize % 7]
                })
                .collect();
            let want = buf.iter().position(|&b| b == b'\n');
            assert_eq!(find_newline(&buf), want, "{buf:?}");
            let want = buf.iter().position(|&b| b == 0xff);
            assert_eq!(find_byte(&buf, 0xff), want, "{buf:?}");
            let want = buf.iter().position(|&b| b == b' ');
            assert_eq!(find_byte(&buf, b' '), want, "{buf:?}");
        }
    }
}
