//! Parsing one IRC line into a [`Message`] that borrows the line's bytes.

use crate::limits::{MAX_BODY, MAX_CLIENT_TAGS, MAX_TAGS};

/// Most parameters a message carries (RFC 1459 §2.3.1); the 15th takes the rest of the line.
pub const MAX_PARAMS: usize = 15;

#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// The tag section without the leading `@`.
    pub tags: Option<&'a [u8]>,
    pub prefix: Option<&'a [u8]>,
    pub command: &'a [u8],
    params: [&'a [u8]; MAX_PARAMS],
    nparams: u8,
    /// The last parameter came as a trailing one (`:text`), so a relay keeps its form.
    pub trailing: bool,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum ParseError {
    /// Nothing but whitespace (or tags/prefix alone): silently ignored, as the RFC asks.
    Empty,
    /// Body over 510 bytes or tags over 8191 bytes: 417.
    TooLong,
    /// A NUL byte inside the line.
    Nul,
}

impl<'a> Message<'a> {
    pub fn params(&self) -> &[&'a [u8]] {
        &self.params[..self.nparams as usize]
    }
    pub fn param(&self, i: usize) -> &'a [u8] {
        self.params().get(i).copied().unwrap_or(b"")
    }
    /// The parameter as text, if it is valid UTF-8 (identifiers must be).
    pub fn param_str(&self, i: usize) -> Option<&'a str> {
        std::str::from_utf8(self.param(i)).ok()
    }
    pub fn len(&self) -> usize {
        self.nparams as usize
    }
    /// The same message with parameter `i` replaced (a channel's name now, for a line
    /// that names it by its name before a rename).
    pub fn with_param<'b>(&self, i: usize, p: &'b [u8]) -> Message<'b>
    where
        'a: 'b,
    {
        let mut m: Message<'b> = self.clone();
        if i < m.len() {
            m.params[i] = p;
        }
        m
    }
    pub fn is_empty(&self) -> bool {
        self.nparams == 0
    }
    /// Client-only tags (`+name[=value]`, joined by `;`): the ones relayed to other clients.
    pub fn client_tags(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in self.tags.map(tags).into_iter().flatten() {
            // A raw CR is no tag byte (values escape it as `\r`); relayed, it would end
            // the line early for some readers.
            if k.first() != Some(&b'+') || k.contains(&b'\r') || v.contains(&b'\r') {
                continue;
            }
            // Client tag data is limited to 4094 bytes (IRCv3 message-tags), which leaves
            // room for the server's own tags within the 8191 of a tag section; past it,
            // tags are not relayed.
            let len = usize::from(!out.is_empty()) + k.len() + usize::from(!v.is_empty()) + v.len();
            if out.len() + len > MAX_CLIENT_TAGS {
                continue;
            }
            if !out.is_empty() {
                out.push(b';');
            }
            out.extend_from_slice(k);
            if !v.is_empty() {
                out.push(b'=');
                out.extend_from_slice(v);
            }
        }
        out
    }

    /// The command, upper-cased into `buf` (commands are ASCII; anything else is unknown).
    pub fn command_upper<'b>(&self, buf: &'b mut [u8; 16]) -> &'b [u8] {
        let n = self.command.len().min(16);
        for (d, s) in buf.iter_mut().zip(&self.command[..n]) {
            *d = s.to_ascii_uppercase();
        }
        &buf[..n]
    }
}

/// A message built rather than parsed (a translation from another server's dialect, a
/// message for the links): it owns its bytes and lends a [`Message`] to the handlers, so
/// nothing is parsed twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedMessage {
    /// The prefix, the command and each parameter, each as its length (4 bytes, native
    /// order) then its bytes: one allocation however many parameters (every message
    /// forwarded to the links is one of these).
    buf: Vec<u8>,
    nparams: usize,
    /// The last parameter is written as a trailing one (`:text`) when shown as a line.
    pub trailing: bool,
}

/// Room for a usual message at once, so building one seldom grows its buffer.
const OWNED_CAPACITY: usize = 256;

/// The buffer goes back to [`crate::proto::spare`] for the next message.
impl Drop for OwnedMessage {
    fn drop(&mut self) {
        crate::proto::spare::give(std::mem::take(&mut self.buf));
    }
}

impl OwnedMessage {
    pub fn new(prefix: &str, command: &str) -> OwnedMessage {
        let mut m = OwnedMessage {
            buf: crate::proto::spare::take(),
            nparams: 0,
            trailing: false,
        };
        m.buf
            .reserve(OWNED_CAPACITY.max(prefix.len() + command.len() + 8));
        m.push(prefix.as_bytes());
        m.push(command.as_bytes());
        m
    }
    fn push(&mut self, part: &[u8]) {
        let len = u32::try_from(part.len()).expect("a part under 4 GiB");
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(part);
    }
    pub fn arg(mut self, a: impl AsRef<[u8]>) -> OwnedMessage {
        self.push_arg(a.as_ref());
        self
    }
    pub fn trailing(mut self, t: impl AsRef<[u8]>) -> OwnedMessage {
        self.push_trailing(t.as_ref());
        self
    }
    /// [`OwnedMessage::arg`] in place.
    pub fn push_arg(&mut self, a: &[u8]) {
        self.push(a);
        self.nparams += 1;
    }
    /// [`OwnedMessage::trailing`] in place.
    pub fn push_trailing(&mut self, t: &[u8]) {
        self.push_arg(t);
        self.trailing = true;
    }
    /// The prefix, the command, then the parameters.
    fn parts(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = &self.buf[..];
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let (part, tail) = tail.split_at(u32::from_ne_bytes(*len) as usize);
            rest = tail;
            Some(part)
        })
    }
    pub fn prefix(&self) -> &[u8] {
        self.parts().next().unwrap_or_default()
    }
    /// The command (made from a `&str`, so valid UTF-8).
    pub fn command(&self) -> &str {
        std::str::from_utf8(self.parts().nth(1).unwrap_or_default()).unwrap_or_default()
    }
    pub fn params(&self) -> impl Iterator<Item = &[u8]> {
        self.parts().skip(2)
    }
    pub fn param(&self, i: usize) -> Option<&[u8]> {
        self.params().nth(i)
    }
    /// How many parameters.
    pub fn len(&self) -> usize {
        self.nparams
    }
    pub fn is_empty(&self) -> bool {
        self.nparams == 0
    }
    /// The borrowed form the handlers take. At most [`MAX_PARAMS`] parameters are lent.
    pub fn as_message(&self) -> Message<'_> {
        let mut m = Message {
            tags: None,
            prefix: Some(self.prefix()),
            command: self.command().as_bytes(),
            params: [b""; MAX_PARAMS],
            nparams: 0,
            trailing: self.trailing,
        };
        for (slot, p) in m.params.iter_mut().zip(self.params()) {
            *slot = p;
            m.nparams += 1;
        }
        m
    }
    /// As a line ready to finish (`:prefix CMD a :b`).
    pub fn line(&self) -> crate::proto::line::Line {
        let prefix = String::from_utf8_lossy(self.prefix());
        let mut l = crate::proto::line::Line::new(&prefix, self.command());
        let n = self.nparams;
        for (i, p) in self.params().enumerate() {
            l = if i + 1 == n && self.trailing {
                l.trailing(p)
            } else {
                l.arg(p)
            };
        }
        l
    }

    /// As a line without its terminator, for logs and tests.
    pub fn to_line(&self) -> String {
        let bytes = self.line().bytes();
        String::from_utf8_lossy(&bytes[..bytes.len() - 2]).into_owned()
    }
}

fn skip_spaces(line: &[u8], mut i: usize) -> usize {
    while i < line.len() && line[i] == b' ' {
        i += 1;
    }
    i
}

fn word(line: &[u8], i: usize) -> (&[u8], usize) {
    let end = line[i..]
        .iter()
        .position(|&b| b == b' ')
        .map_or(line.len(), |p| i + p);
    (&line[i..end], end)
}

/// Parses a line (without its terminator).
pub fn parse(line: &[u8]) -> Result<Message<'_>, ParseError> {
    if line.contains(&0) {
        return Err(ParseError::Nul);
    }
    let mut i = skip_spaces(line, 0);
    let mut tags = None;
    if line.get(i) == Some(&b'@') {
        let (t, end) = word(line, i + 1);
        if end + 1 > MAX_TAGS {
            return Err(ParseError::TooLong);
        }
        tags = Some(t);
        i = skip_spaces(line, end);
    }
    if line.len() - i > MAX_BODY {
        return Err(ParseError::TooLong);
    }
    let mut prefix = None;
    if line.get(i) == Some(&b':') {
        let (p, end) = word(line, i + 1);
        prefix = Some(p);
        i = skip_spaces(line, end);
    }
    let (command, end) = word(line, i);
    if command.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut msg = Message {
        tags,
        prefix,
        command,
        params: [b""; MAX_PARAMS],
        nparams: 0,
        trailing: false,
    };
    i = skip_spaces(line, end);
    while i < line.len() {
        let n = msg.nparams as usize;
        if line[i] == b':' || n == MAX_PARAMS - 1 {
            msg.trailing = line[i] == b':';
            let start = if msg.trailing { i + 1 } else { i };
            msg.params[n] = &line[start..];
            msg.nparams += 1;
            break;
        }
        let (p, end) = word(line, i);
        msg.params[n] = p;
        msg.nparams += 1;
        i = skip_spaces(line, end);
    }
    Ok(msg)
}

/// Iterates `key[=value]` pairs of a tag section, with values unescaped lazily by the caller.
pub fn tags(section: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    section
        .split(|&b| b == b';')
        .filter(|t| !t.is_empty())
        .map(|t| match t.iter().position(|&b| b == b'=') {
            Some(p) => (&t[..p], &t[p + 1..]),
            None => (t, &b""[..]),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> (Option<String>, Option<String>, String, Vec<String>) {
        let m = parse(line.as_bytes()).unwrap();
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (
            m.tags.map(s),
            m.prefix.map(s),
            s(m.command),
            m.params().iter().map(|x| s(x)).collect(),
        )
    }

    /// (line, tags, prefix, command, params)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
        &'a [&'a str],
    );

    #[test]
    fn table() {
        let cases: &[Case] = &[
            ("PING", None, None, "PING", &[]),
            (
                "PRIVMSG #c :hello world",
                None,
                None,
                "PRIVMSG",
                &["#c", "hello world"],
            ),
            ("PRIVMSG #c :", None, None, "PRIVMSG", &["#c", ""]),
            ("PRIVMSG #c ::)", None, None, "PRIVMSG", &["#c", ":)"]),
            (":n!u@h JOIN #a", None, Some("n!u@h"), "JOIN", &["#a"]),
            (
                "@a=b;c :srv 001 me :Hi",
                Some("a=b;c"),
                Some("srv"),
                "001",
                &["me", "Hi"],
            ),
            ("  NICK   x  ", None, None, "NICK", &["x"]),
            (
                "USER a 0 * :Real Name",
                None,
                None,
                "USER",
                &["a", "0", "*", "Real Name"],
            ),
            (
                "C 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
                None,
                None,
                "C",
                &[
                    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14",
                    "15 16",
                ],
            ),
        ];
        for (line, tags, prefix, cmd, params) in cases {
            let (t, pr, c, ps) = p(line);
            assert_eq!(t.as_deref(), *tags, "{line}");
            assert_eq!(pr.as_deref(), *prefix, "{line}");
            assert_eq!(c, *cmd, "{line}");
            assert_eq!(ps, *params, "{line}");
        }
    }

    #[test]
    fn errors() {
        assert_eq!(parse(b"").unwrap_err(), ParseError::Empty);
        assert_eq!(parse(b"   ").unwrap_err(), ParseError::Empty);
        assert_eq!(parse(b":prefix").unwrap_err(), ParseError::Empty);
        assert_eq!(parse(b"@tag").unwrap_err(), ParseError::Empty);
        assert_eq!(parse(b"PRIV\0MSG").unwrap_err(), ParseError::Nul);
        let ok = format!("PRIVMSG #c :{}", "x".repeat(MAX_BODY - 12));
        assert_eq!(ok.len(), MAX_BODY);
        assert!(parse(ok.as_bytes()).is_ok());
        let long = format!("{ok}x");
        assert_eq!(parse(long.as_bytes()).unwrap_err(), ParseError::TooLong);
        let tagged = format!("@{} {ok}", "t".repeat(MAX_TAGS - 2));
        assert!(parse(tagged.as_bytes()).is_ok());
        let too_tagged = format!("@{} PING", "t".repeat(MAX_TAGS - 1));
        assert_eq!(
            parse(too_tagged.as_bytes()).unwrap_err(),
            ParseError::TooLong
        );
    }

    #[test]
    fn invalid_utf8_is_kept_as_bytes() {
        let m = parse(b"PRIVMSG #c :caf\xe9").unwrap();
        assert_eq!(m.param(1), b"caf\xe9");
        assert_eq!(m.param_str(1), None);
        assert_eq!(m.param_str(0), Some("#c"));
    }

    #[test]
    fn client_tags_only() {
        let m = parse(b"@+a=1;time=x;+b;c=2 PRIVMSG #c :hi").unwrap();
        assert_eq!(m.client_tags(), b"+a=1;+b");
        assert_eq!(parse(b"PING x").unwrap().client_tags(), b"");
    }

    #[test]
    fn tag_iteration() {
        let t: Vec<_> = tags(b"a=1;+b;c=").collect();
        assert_eq!(t, vec![(&b"a"[..], &b"1"[..]), (b"+b", b""), (b"c", b"")]);
    }

    #[test]
    fn random_lines_never_panic() {
        let mut seed = 88172645463325252u64;
        for _ in 0..20000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 64) as usize;
            let alphabet = b" :@;=abcX\xff#";
            let line: Vec<u8> = (0..len)
                .map(|k| alphabet[(seed.rotate_left(k as u32) % alphabet.len() as u64) as usize])
                .collect();
            if let Ok(m) = parse(&line) {
                assert!(!m.command.is_empty());
                assert!(m.len() <= MAX_PARAMS);
            }
        }
    }
}
