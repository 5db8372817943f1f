//! The connection engine: one `mio::Poll`, a `Slab` of client connections,
//! line framing, write batching and the protocol chores every client needs
//! (registration, PING/PONG).  Scenarios see the traffic through [`Handler`].
//!
//! Hot-path rules: no allocation per line or per message.  Reads go into one
//! shared 64 KiB scratch buffer (a connection only keeps the bytes of an
//! unfinished line); writes are appended to the connection's output buffer
//! and flushed once per event-loop iteration, so many messages queued in one
//! iteration leave in one `write` call.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::transport::{Kind, Transport};
use portico::proto::framer::{find_byte, find_newline};

/// Linux `EINPROGRESS`: a non-blocking `connect` has started.
const EINPROGRESS: i32 = 115;
/// Size of the shared read buffer.
const SCRATCH: usize = 64 * 1024;
/// A line longer than this without a newline is a protocol error.
const MAX_PARTIAL: usize = 16 * 1024;

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The server closed the connection (read returned 0).
    Eof,
    /// The connection attempt was refused.
    Refused,
    /// Reset or another I/O error.
    IoError,
    /// The server rejected the nickname (432/433) during registration.
    NickRejected,
    /// A JOIN was refused, or OPER failed badly.
    Rejected,
    /// A scenario timeout fired.
    Timeout,
    /// Protocol error (over-long line).
    Protocol,
}

impl CloseReason {
    pub fn name(self) -> &'static str {
        match self {
            CloseReason::Eof => "eof",
            CloseReason::Refused => "refused",
            CloseReason::IoError => "io_error",
            CloseReason::NickRejected => "nick_rejected",
            CloseReason::Rejected => "rejected",
            CloseReason::Timeout => "timeout",
            CloseReason::Protocol => "protocol",
        }
    }

    fn from_io(e: &io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => CloseReason::Refused,
            _ => CloseReason::IoError,
        }
    }
}

/// One parsed IRC line, borrowed from the read buffer.
pub struct Msg<'a> {
    /// Prefix without the leading ':' (empty when absent).
    pub prefix: &'a [u8],
    pub cmd: &'a [u8],
    /// Everything after the command (parameters, unparsed).
    pub params: &'a [u8],
}

impl<'a> Msg<'a> {
    pub fn parse(line: &'a [u8]) -> Msg<'a> {
        let mut rest = line;
        let mut prefix: &[u8] = &[];
        if let Some(r) = rest.strip_prefix(b":") {
            let (p, r) = split_word(r);
            prefix = p;
            rest = r;
        }
        let (cmd, params) = split_word(rest);
        Msg {
            prefix,
            cmd,
            params,
        }
    }

    /// Parameter `i` (0-based); a trailing parameter is returned whole.
    pub fn param(&self, i: usize) -> Option<&'a [u8]> {
        let mut rest = self.params;
        let mut idx = 0;
        loop {
            rest = trim_spaces(rest);
            if rest.is_empty() {
                return None;
            }
            if let Some(trailing) = rest.strip_prefix(b":") {
                return (idx == i).then_some(trailing);
            }
            let (w, r) = split_word(rest);
            if idx == i {
                return Some(w);
            }
            idx += 1;
            rest = r;
        }
    }

    /// The last parameter (trailing or middle).
    pub fn last_param(&self) -> Option<&'a [u8]> {
        let mut rest = self.params;
        let mut last = None;
        loop {
            rest = trim_spaces(rest);
            if rest.is_empty() {
                return last;
            }
            if let Some(trailing) = rest.strip_prefix(b":") {
                return Some(trailing);
            }
            let (w, r) = split_word(rest);
            last = Some(w);
            rest = r;
        }
    }

    /// The nickname part of the prefix (`nick!user@host`).
    pub fn nick(&self) -> &'a [u8] {
        match find_byte(self.prefix, b'!') {
            Some(p) => &self.prefix[..p],
            None => self.prefix,
        }
    }
}

fn trim_spaces(mut s: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = s {
        s = rest;
    }
    s
}

/// The first word of `s` and the rest. The tool splits every line the server sends, so
/// it searches eight bytes at a time, as the server's framer does.
fn split_word(s: &[u8]) -> (&[u8], &[u8]) {
    let s = trim_spaces(s);
    match find_byte(s, b' ') {
        Some(p) => (&s[..p], &s[p + 1..]),
        None => (s, &[]),
    }
}

/// Parse an unsigned decimal number (the whole slice must be digits).
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    // Up to 19 digits cannot overflow, so only a 20-digit number is checked as it goes.
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (head, last) = match s.len() {
        20 => (&s[..19], Some(s[19])),
        _ => (s, None),
    };
    let v = head.iter().fold(0u64, |v, &b| v * 10 + u64::from(b - b'0'));
    match last {
        Some(b) => v.checked_mul(10)?.checked_add(u64::from(b - b'0')),
        None => Some(v),
    }
}

/// Append the decimal form of `v` (no allocation, no formatting machinery).
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// What a scenario sees.  `cid` is the scenario's client id given to
/// [`Engine::connect`]; `tok` is the engine's handle for sending.
pub trait Handler {
    /// Registration finished (001 seen, then 376 or 422).
    fn on_ready(&mut self, eng: &mut Engine, tok: usize, cid: u32, now: u64);
    /// Any line the engine did not consume itself.
    fn on_msg(&mut self, eng: &mut Engine, tok: usize, cid: u32, msg: &Msg<'_>, now: u64);
    /// The connection is gone (already removed from the engine).
    fn on_closed(&mut self, eng: &mut Engine, cid: u32, reason: CloseReason, now: u64);
}

struct Conn {
    stream: TcpStream,
    cid: u32,
    connected: bool,
    registered: bool,
    ready: bool,
    closing: bool,
    dirty: bool,
    /// Never read again (a stuck reader, `noisy`): the server's output piles up in the
    /// kernel and then in its send queue; only a hang-up is noticed.
    muted: bool,
    /// Bytes of an unfinished line.
    partial: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    /// The TLS or WebSocket session (`out` and `partial` hold its plaintext).
    tp: Option<Transport>,
}

/// Engine-wide counters.
#[derive(Default, Clone, Copy)]
pub struct NetStats {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub lines_in: u64,
    pub connects: u64,
}

pub struct Engine {
    poll: Poll,
    conns: Slab<Conn>,
    scratch: Vec<u8>,
    dirty: Vec<usize>,
    closing: Vec<(usize, CloseReason)>,
    server: SocketAddr,
    source_ips: u32,
    next_src: u32,
    start: Instant,
    nick_prefix: Vec<u8>,
    transport: Option<Kind>,
    pub stats: NetStats,
}

impl Engine {
    pub fn new(
        server: SocketAddr,
        source_ips: u32,
        nick_prefix: &str,
        start: Instant,
    ) -> io::Result<Engine> {
        Ok(Engine {
            poll: Poll::new()?,
            conns: Slab::with_capacity(1024),
            scratch: vec![0; SCRATCH],
            dirty: Vec::with_capacity(1024),
            closing: Vec::new(),
            server,
            source_ips,
            next_src: 0,
            start,
            nick_prefix: nick_prefix.as_bytes().to_vec(),
            transport: None,
            stats: NetStats::default(),
        })
    }

    /// Every client speaks `transport` (TLS or WebSocket) instead of plain TCP.
    pub fn with_transport(mut self, transport: Option<Kind>) -> Engine {
        self.transport = transport;
        self
    }

    /// Nanoseconds since the tool started (monotonic, shared by all clients).
    #[inline]
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    pub fn nick_prefix(&self) -> &[u8] {
        &self.nick_prefix
    }

    /// Number of open connections.
    pub fn open(&self) -> usize {
        self.conns.len()
    }

    /// Start a non-blocking connection for client `cid`; NICK and USER are
    /// queued and leave as soon as the connection is established.
    pub fn connect(&mut self, cid: u32) -> io::Result<usize> {
        let sock = Socket::new(
            Domain::for_address(self.server),
            Type::STREAM,
            Some(Protocol::TCP),
        )?;
        sock.set_nonblocking(true)?;
        sock.set_tcp_nodelay(true)?;
        if self.source_ips > 0 {
            let base = u32::from(Ipv4Addr::new(127, 0, 0, 1));
            let ip = Ipv4Addr::from(base + self.next_src % self.source_ips);
            self.next_src = self.next_src.wrapping_add(1);
            sock.bind(&SockAddr::from(SocketAddr::new(IpAddr::V4(ip), 0)))?;
        }
        match sock.connect(&SockAddr::from(self.server)) {
            Ok(()) => {}
            Err(e)
                if e.raw_os_error() == Some(EINPROGRESS)
                    || e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let tp = self.transport.as_ref().map(Kind::start).transpose()?;
        let mut stream = TcpStream::from_std(sock.into());
        let entry = self.conns.vacant_entry();
        let tok = entry.key();
        self.poll.registry().register(
            &mut stream,
            Token(tok),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(b"NICK ");
        out.extend_from_slice(&self.nick_prefix);
        push_u64(&mut out, u64::from(cid));
        out.extend_from_slice(b"\r\nUSER u 0 * :load\r\n");
        entry.insert(Conn {
            stream,
            cid,
            connected: false,
            registered: false,
            ready: false,
            closing: false,
            dirty: false,
            muted: false,
            partial: Vec::new(),
            out,
            out_pos: 0,
            tp,
        });
        self.stats.connects += 1;
        Ok(tok)
    }

    /// The output buffer of `tok` for appending complete lines; the
    /// connection is flushed at the end of the loop iteration.
    #[inline]
    pub fn out(&mut self, tok: usize) -> Option<&mut Vec<u8>> {
        let c = self.conns.get_mut(tok)?;
        if c.closing {
            return None;
        }
        if !c.dirty {
            c.dirty = true;
            self.dirty.push(tok);
        }
        Some(&mut c.out)
    }

    /// Queue raw bytes (must be complete lines).
    pub fn send(&mut self, tok: usize, bytes: &[u8]) {
        if let Some(out) = self.out(tok) {
            out.extend_from_slice(bytes);
        }
    }

    /// Bytes queued but not yet accepted by the kernel.
    pub fn backlog(&self, tok: usize) -> usize {
        self.conns.get(tok).map_or(0, |c| {
            c.out.len() - c.out_pos + c.tp.as_ref().map_or(0, Transport::pending)
        })
    }

    /// Schedule `tok` for closing; it is removed (and the handler told)
    /// at the end of the current step.
    pub fn close(&mut self, tok: usize, reason: CloseReason) {
        if let Some(c) = self.conns.get_mut(tok) {
            if !c.closing {
                c.closing = true;
                self.closing.push((tok, reason));
            }
        }
    }

    /// Stop reading `tok` for good (it still notices the server hanging up).
    pub fn mute(&mut self, tok: usize) {
        if let Some(c) = self.conns.get_mut(tok) {
            c.muted = true;
        }
    }

    pub fn poll(&mut self, events: &mut Events, timeout: Duration) -> io::Result<()> {
        match self.poll.poll(events, Some(timeout)) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => Err(e),
            _ => Ok(()),
        }
    }

    pub fn dispatch<H: Handler>(&mut self, events: &Events, h: &mut H) {
        for ev in events.iter() {
            let tok = ev.token().0;
            let Some(c) = self.conns.get_mut(tok) else {
                continue;
            };
            if c.closing {
                continue;
            }
            if !c.connected {
                match c.stream.take_error() {
                    Ok(Some(e)) | Err(e) => {
                        let r = CloseReason::from_io(&e);
                        self.close(tok, r);
                        continue;
                    }
                    Ok(None) => {}
                }
                match c.stream.peer_addr() {
                    Ok(_) => {
                        c.connected = true;
                        if !c.dirty {
                            c.dirty = true;
                            self.dirty.push(tok);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        if ev.is_error() || ev.is_write_closed() {
                            self.close(tok, CloseReason::Refused);
                        }
                        continue;
                    }
                    Err(e) => {
                        let r = CloseReason::from_io(&e);
                        self.close(tok, r);
                        continue;
                    }
                }
            }
            let tp_pending = c.tp.as_ref().is_some_and(|t| t.pending() > 0);
            if ev.is_writable() && (c.out_pos < c.out.len() || tp_pending) && !c.dirty {
                c.dirty = true;
                self.dirty.push(tok);
            }
            let hup = ev.is_read_closed() || ev.is_error();
            if c.muted {
                if hup {
                    self.close(tok, CloseReason::Eof);
                }
                continue;
            }
            if ev.is_readable() || hup {
                self.read_conn(tok, hup, h);
            }
        }
    }

    /// Drain the socket of `tok` into the scratch buffer and hand out lines.
    /// `hup`: the peer has closed (or errored), so read on until EOF.
    fn read_conn<H: Handler>(&mut self, tok: usize, hup: bool, h: &mut H) {
        if self.conns.get(tok).is_some_and(|c| c.tp.is_some()) {
            self.read_conn_tp(tok, hup, h);
            return;
        }
        let mut buf = std::mem::take(&mut self.scratch);
        while let Some(c) = self.conns.get_mut(tok) {
            if c.closing {
                break;
            }
            let held = c.partial.len();
            buf[..held].copy_from_slice(&c.partial);
            c.partial.clear();
            let space = buf.len() - held;
            match c.stream.read(&mut buf[held..]) {
                Ok(0) => {
                    self.close(tok, CloseReason::Eof);
                    break;
                }
                Ok(n) => {
                    self.stats.bytes_in += n as u64;
                    let cid = c.cid;
                    let now = self.now();
                    let used = self.lines(tok, cid, &buf[..held + n], h, now);
                    let Some(c) = self.conns.get_mut(tok) else {
                        break;
                    };
                    if c.closing {
                        break;
                    }
                    let rest = &buf[used..held + n];
                    if rest.len() > MAX_PARTIAL {
                        self.close(tok, CloseReason::Protocol);
                        break;
                    }
                    c.partial.extend_from_slice(rest);
                    // A short read means the socket is drained; Linux epoll
                    // reports every later arrival (data or FIN) as a new
                    // edge, so the extra read that would return EAGAIN is
                    // skipped.  A FIN already reported must be read now.
                    if n < space && !hup {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    c.partial.extend_from_slice(&buf[..held]);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    c.partial.extend_from_slice(&buf[..held]);
                }
                Err(e) => {
                    let r = CloseReason::from_io(&e);
                    self.close(tok, r);
                    break;
                }
            }
        }
        self.scratch = buf;
    }

    /// [`Engine::read_conn`] through the connection's TLS or WebSocket session: what the
    /// socket brings is decoded onto the unfinished line, then framed the same way.
    fn read_conn_tp<H: Handler>(&mut self, tok: usize, hup: bool, h: &mut H) {
        let mut wire = std::mem::take(&mut self.scratch);
        while let Some(c) = self.conns.get_mut(tok) {
            if c.closing {
                break;
            }
            let n = match c.stream.read(&mut wire) {
                Ok(0) => {
                    self.close(tok, CloseReason::Eof);
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let r = CloseReason::from_io(&e);
                    self.close(tok, r);
                    break;
                }
            };
            self.stats.bytes_in += n as u64;
            let mut plain = std::mem::take(&mut c.partial);
            let tp = c.tp.as_mut().expect("a transport connection");
            if let Err(e) = tp.input(&wire[..n], &mut plain) {
                log::debug!("client {}: {e}", c.cid);
                self.close(tok, CloseReason::Protocol);
                break;
            }
            // The session may have something to say (handshake, pong).
            if tp.pending() > 0 && !c.dirty {
                c.dirty = true;
                self.dirty.push(tok);
            }
            let (cid, now) = (c.cid, self.now());
            let used = self.lines(tok, cid, &plain, h, now);
            let Some(c) = self.conns.get_mut(tok).filter(|c| !c.closing) else {
                break;
            };
            if plain.len() - used > MAX_PARTIAL {
                self.close(tok, CloseReason::Protocol);
                break;
            }
            plain.drain(..used);
            c.partial = plain;
            if n < wire.len() && !hup {
                break;
            }
        }
        self.scratch = wire;
    }

    /// Handle every complete line in `buf`; returns the bytes consumed.
    fn lines<H: Handler>(
        &mut self,
        tok: usize,
        cid: u32,
        buf: &[u8],
        h: &mut H,
        now: u64,
    ) -> usize {
        let mut start = 0;
        // The server's own eight-bytes-at-a-time search: a byte-by-byte one was 40 % of
        // the tool's CPU in fanout 1x500, where the tool bounds the server's figures.
        while let Some(pos) = find_newline(&buf[start..]) {
            let mut line = &buf[start..start + pos];
            start += pos + 1;
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
            if line.is_empty() {
                continue;
            }
            self.stats.lines_in += 1;
            self.line(tok, cid, line, h, now);
            if self.conns.get(tok).is_none_or(|c| c.closing) {
                return buf.len();
            }
        }
        start
    }

    fn line<H: Handler>(&mut self, tok: usize, cid: u32, line: &[u8], h: &mut H, now: u64) {
        log::trace!("{cid} <- {}", String::from_utf8_lossy(line));
        let msg = Msg::parse(line);
        match msg.cmd {
            b"PING" => {
                if let Some(out) = self.out(tok) {
                    out.extend_from_slice(b"PONG :");
                    out.extend_from_slice(msg.last_param().unwrap_or(b""));
                    out.extend_from_slice(b"\r\n");
                }
            }
            b"001" => {
                if let Some(c) = self.conns.get_mut(tok) {
                    c.registered = true;
                }
            }
            b"376" | b"422" => {
                let became_ready = match self.conns.get_mut(tok) {
                    Some(c) if c.registered && !c.ready => {
                        c.ready = true;
                        true
                    }
                    _ => false,
                };
                if became_ready {
                    h.on_ready(self, tok, cid, now);
                } else {
                    h.on_msg(self, tok, cid, &msg, now);
                }
            }
            b"432" | b"433" | b"436" => {
                if self.conns.get(tok).is_some_and(|c| !c.registered) {
                    log::debug!(
                        "client {cid}: nick rejected: {}",
                        String::from_utf8_lossy(line)
                    );
                    self.close(tok, CloseReason::NickRejected);
                } else {
                    h.on_msg(self, tok, cid, &msg, now);
                }
            }
            _ => h.on_msg(self, tok, cid, &msg, now),
        }
    }

    /// Write out every connection that has queued output.
    pub fn flush(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        for &tok in &dirty {
            let Some(c) = self.conns.get_mut(tok) else {
                continue;
            };
            c.dirty = false;
            if !c.connected || c.closing {
                continue;
            }
            if let Some(tp) = c.tp.as_mut() {
                // The plaintext into the session, then its bytes to the socket.
                let sent = tp
                    .output(&c.out[c.out_pos..])
                    .and_then(|()| tp.write_to(&mut c.stream));
                c.out.clear();
                c.out_pos = 0;
                match sent {
                    Ok(_) => {}
                    Err(e) => {
                        let r = CloseReason::from_io(&e);
                        self.close(tok, r);
                    }
                }
                continue;
            }
            let mut failed = None;
            while c.out_pos < c.out.len() {
                match c.stream.write(&c.out[c.out_pos..]) {
                    Ok(0) => {
                        failed = Some(CloseReason::IoError);
                        break;
                    }
                    Ok(n) => {
                        c.out_pos += n;
                        self.stats.bytes_out += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        // Keep the unsent tail at the front; the writable
                        // event will bring the connection back here.
                        c.out.drain(..c.out_pos);
                        c.out_pos = 0;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        failed = Some(CloseReason::from_io(&e));
                        break;
                    }
                }
            }
            if c.out_pos == c.out.len() {
                c.out.clear();
                c.out_pos = 0;
                if c.out.capacity() > 256 * 1024 {
                    c.out.shrink_to(4096);
                }
            }
            if let Some(r) = failed {
                self.close(tok, r);
            }
        }
        dirty.clear();
        // Anything marked dirty meanwhile (nothing today) is kept.
        dirty.append(&mut self.dirty);
        self.dirty = dirty;
    }

    /// Remove the connections scheduled for closing and tell the handler.
    pub fn reap<H: Handler>(&mut self, h: &mut H) {
        while let Some((tok, reason)) = self.closing.pop() {
            if !self.conns.contains(tok) {
                continue;
            }
            let mut c = self.conns.remove(tok);
            let _ = self.poll.registry().deregister(&mut c.stream);
            drop(c.stream);
            let now = self.now();
            h.on_closed(self, c.cid, reason, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_servers_send() {
        let m = Msg::parse(b":lab12!~u@127.0.0.1 PRIVMSG  #c :1 2 x y");
        assert_eq!(m.prefix, b"lab12!~u@127.0.0.1");
        assert_eq!(m.nick(), b"lab12");
        assert_eq!(m.cmd, b"PRIVMSG");
        assert_eq!(m.param(0), Some(&b"#c"[..]));
        assert_eq!(m.param(1), Some(&b"1 2 x y"[..]));
        assert_eq!(m.param(2), None);
        let m = Msg::parse(b"PING irc.example");
        assert_eq!((m.prefix, m.cmd), (&b""[..], &b"PING"[..]));
        assert_eq!(m.last_param(), Some(&b"irc.example"[..]));
        assert_eq!(Msg::parse(b":server").nick(), b"server");
    }

    #[test]
    fn parse_u64_takes_digits_only_and_never_overflows() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"1732611111111"), Some(1_732_611_111_111));
        assert_eq!(
            parse_u64(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"99999999999999999999"), None);
        assert_eq!(parse_u64(b"123456789012345678901"), None);
        for bad in [&b""[..], b"12a", b" 1", b"-1", b"1.0"] {
            assert_eq!(parse_u64(bad), None, "{bad:?}");
        }
    }
}
