//! Delivery of one message to many: encoded once, shared by `Rc`, with a variant per
//! capability and dialect combination that changes the bytes (server-time, message-tags,
//! extended-join, an IRCX client's form of a line).

use super::caps::{self, Caps};
use super::modes::Status;
use super::{ChanId, Client, ClientId, Outbox, World};
use crate::proto::line::shared;
use crate::proto::spare;
use std::cell::RefCell;
use std::rc::Rc;

/// One message on its way to several recipients.
pub struct Msg {
    body: Rc<[u8]>,
    /// Another form of the body, for recipients with the bit `alt_bit` (the extended-join
    /// form of a JOIN, or a dialect's form). One slot keeps `Msg` within 104 bytes, which
    /// the compiler still moves inline; past 128 it calls memcpy on every builder step.
    alt: Option<Rc<[u8]>>,
    alt_bit: Caps,
    /// How many bytes at the start of `tags` are the `account=…` tag (0: none).
    account_len: u16,
    /// The tags besides `time`: first the sender's `account` tag (for account-tag
    /// clients), then, after a `;`, what message-tags clients get: the `msgid` and
    /// client-only tags (`+draft/reply=…`), written by [`Msg::with_msg_tags`]. One buffer,
    /// so the account costs no field of its own; taken from [`spare`] and given back there.
    tags: Vec<u8>,
    unix_ms: u64,
    /// The tagged renderings made so far, by key (see [`Msg::for_caps`]); kept for the
    /// next message when dropped.
    cache: Variants,
}

/// Renderings of a message by key.
type Variants = Vec<(Caps, Rc<[u8]>)>;

/// The variant lists of dropped messages, for the next ones (their tags buffers go back
/// to [`spare`]): a relayed message then allocates only the lines it renders (bench
/// `allocs`). A few are enough: messages are built one after another.
const SPARE_CACHES: usize = 4;

thread_local! {
    static SPARE_CACHE: RefCell<Vec<Variants>> = const { RefCell::new(Vec::new()) };
}

impl Drop for Msg {
    fn drop(&mut self) {
        spare::give(std::mem::take(&mut self.tags));
        let mut cache = std::mem::take(&mut self.cache);
        if cache.capacity() == 0 {
            return;
        }
        cache.clear();
        SPARE_CACHE.with_borrow_mut(|s| {
            if s.len() < SPARE_CACHES {
                s.push(cache);
            }
        });
    }
}

impl Msg {
    pub fn new(body: Rc<[u8]>, unix_ms: u64) -> Msg {
        Msg {
            body,
            alt: None,
            alt_bit: 0,
            account_len: 0,
            tags: spare::take(),
            unix_ms,
            cache: SPARE_CACHE.with_borrow_mut(Vec::pop).unwrap_or_default(),
        }
    }

    pub fn with_ext_join(self, ext: Rc<[u8]>) -> Msg {
        self.with_alt(caps::EXTENDED_JOIN, ext)
    }

    /// The form of the line a client speaking `dialect` (a bit of `caps::DIALECTS`) sees.
    pub fn with_dialect(self, dialect: Caps, body: Rc<[u8]>) -> Msg {
        self.with_alt(dialect, body)
    }

    fn with_alt(mut self, bit: Caps, body: Rc<[u8]>) -> Msg {
        debug_assert!(self.alt.is_none(), "one alternative form per message");
        self.alt = Some(body);
        self.alt_bit = bit;
        self
    }

    /// The tags for message-tags clients, as they are (see [`Msg::with_msg_tags`]).
    pub fn with_client_tags(mut self, tags: &[u8]) -> Msg {
        self.truncate_to_account();
        if !tags.is_empty() && self.account_len != 0 {
            self.tags.push(b';');
        }
        self.tags.extend_from_slice(tags);
        self
    }

    /// The tags of a PRIVMSG, NOTICE or TAGMSG for message-tags clients and portals: its
    /// `msgid` first, `bot` if a bot (user mode +B) sent it, then the client-only tags it
    /// came with.
    pub fn with_msg_tags(mut self, msgid: &[u8], bot: bool, client_tags: &[u8]) -> Msg {
        self.truncate_to_account();
        if self.account_len != 0 {
            self.tags.push(b';');
        }
        self.tags.extend_from_slice(b"msgid=");
        self.tags.extend_from_slice(msgid);
        if bot {
            self.tags.extend_from_slice(b";bot");
        }
        if !client_tags.is_empty() {
            self.tags.push(b';');
            self.tags.extend_from_slice(client_tags);
        }
        self
    }

    /// Drops the message-tags part of `tags`, keeping the account tag.
    fn truncate_to_account(&mut self) {
        self.tags.truncate(self.account_len as usize);
    }

    /// IRCv3 account-tag: the sender's account, for recipients that asked for it.
    pub fn with_account(mut self, account: Option<&str>) -> Msg {
        let Some(account) = account else {
            return self;
        };
        // An account tag there is replaced. The new one is written after the message-tags
        // part, then rotated to the front.
        let n = self.account_len as usize;
        if n != 0 {
            let end = (n + 1).min(self.tags.len());
            self.tags.drain(..end);
        }
        let rest = self.tags.len();
        self.tags.extend_from_slice(b"account=");
        escape_tag_value_into(account.as_bytes(), &mut self.tags);
        let tag_len = self.tags.len() - rest;
        if rest != 0 {
            self.tags.push(b';');
        }
        self.tags.rotate_left(rest);
        self.account_len = tag_len as u16;
        self
    }

    /// The message-tags part of `tags`: the `msgid`, `bot` and client-only tags.
    pub fn client_tags(&self) -> &[u8] {
        match self.account_len as usize {
            0 => &self.tags,
            n => self.tags.get(n + 1..).unwrap_or_default(),
        }
    }

    /// The bytes for a recipient with these capabilities; allocates only the first time a
    /// tagged variant is needed, and then only its line.
    pub fn for_caps(&mut self, recipient_caps: Caps) -> Rc<[u8]> {
        const TAGGED: Caps = caps::SERVER_TIME | caps::MESSAGE_TAGS | caps::ACCOUNT_TAG;
        let mut key = recipient_caps & caps::SERVER_TIME;
        if !self.client_tags().is_empty() {
            key |= recipient_caps & caps::MESSAGE_TAGS;
        }
        if self.account_len != 0 {
            key |= recipient_caps & caps::ACCOUNT_TAG;
        }
        let mut base = &self.body;
        // The alternative form is part of the key: one rendering per form and tag set.
        if let Some(alt) = &self.alt {
            if recipient_caps & self.alt_bit != 0 {
                key |= self.alt_bit;
                base = alt;
            }
        }
        if key & TAGGED == 0 {
            return base.clone();
        }
        if let Some((_, rc)) = self.cache.iter().find(|(k, _)| *k == key) {
            return rc.clone();
        }
        let rc = shared(|line| {
            line.push(b'@');
            let mut sep = false;
            let mut add = |line: &mut Vec<u8>, part: &[u8]| {
                if std::mem::replace(&mut sep, true) {
                    line.push(b';');
                }
                line.extend_from_slice(part);
            };
            if key & caps::SERVER_TIME != 0 {
                add(line, b"time=");
                crate::proto::time::write_iso8601(line, self.unix_ms);
            }
            if key & caps::ACCOUNT_TAG != 0 {
                add(line, &self.tags[..self.account_len as usize]);
            }
            if key & caps::MESSAGE_TAGS != 0 {
                add(line, self.client_tags());
            }
            line.push(b' ');
            line.extend_from_slice(base);
        });
        self.cache.push((key, rc.clone()));
        rc
    }
}

/// A tag value escaped as IRCv3 message-tags says (`;` space `\` CR LF).
pub fn escape_tag_value(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    escape_tag_value_into(v, &mut out);
    out
}

/// [`escape_tag_value`] appended to `out`.
pub fn escape_tag_value_into(v: &[u8], out: &mut Vec<u8>) {
    for &b in v {
        match b {
            b';' => out.extend_from_slice(b"\\:"),
            b' ' => out.extend_from_slice(b"\\s"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

impl World {
    /// A message from user `cid`: with its account for account-tag clients.
    pub fn user_msg(&self, cid: ClientId, line: Rc<[u8]>) -> Msg {
        Msg::new(line, self.now.unix_ms).with_account(self.account(cid))
    }
}

/// The `msgid` another server gave a message, if it is one we can pass on as it is (no
/// byte that would need escaping, of a sane length); else this server makes one.
pub fn link_msgid(tags: Option<&[u8]>) -> Option<&[u8]> {
    let (_, id) = crate::proto::message::tags(tags?).find(|(k, _)| *k == b"msgid")?;
    let ok = (1..=MSGID_MAX).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'+'));
    ok.then_some(id)
}

/// A `msgid` made here, on the stack: one per relayed message, so not a `String`.
pub struct MsgId {
    buf: [u8; 48],
    len: usize,
}

impl MsgId {
    /// `v` in lower-case hex, at least `width` digits (zero-padded; `width` <= 16).
    fn push_hex(&mut self, v: u64, width: usize) {
        let digits = (64 - v.leading_zeros() as usize).div_ceil(4).max(width);
        for i in (0..digits).rev() {
            self.buf[self.len] = b"0123456789abcdef"[(v >> (4 * i)) as usize & 0xf];
            self.len += 1;
        }
    }
}

impl std::ops::Deref for MsgId {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Longest `msgid` taken from another server (Ergo's are 26 bytes, InspIRCd's 36).
const MSGID_MAX: usize = 64;

impl World {
    /// A `msgid` unique in the network: this server's ID and start time in fixed widths
    /// (so no other server, nor an earlier run of this one, makes the same), then a
    /// counter. Hex, so it never needs escaping in a tag.
    pub fn next_msgid(&mut self) -> MsgId {
        self.msgids += 1;
        let mut id = MsgId {
            buf: [0; 48],
            len: 0,
        };
        id.push_hex(u64::from(self.config.server.id), 4);
        id.push_hex(self.started_unix_ms, 11);
        id.push_hex(self.msgids, 1);
        id
    }

    /// Queues `msg` for one client if it is local (remote delivery arrives with portals).
    pub fn send_client(&mut self, cid: ClientId, msg: &mut Msg, out: &mut Outbox) {
        let c = &self.clients[cid];
        if let Some(conn) = c.conn {
            out.send(conn, msg.for_caps(c.caps));
        }
    }

    /// Every member of `chan` except `except`, whose membership flags pass `filter`.
    pub fn to_channel(
        &mut self,
        chan: ChanId,
        except: Option<ClientId>,
        msg: &mut Msg,
        out: &mut Outbox,
        filter: impl Fn(Status) -> bool,
    ) {
        for (&member, &flags) in &self.channels[chan].members {
            if Some(member) == except || !filter(flags) {
                continue;
            }
            let c = &self.clients[member];
            if let Some(conn) = c.conn {
                out.send(conn, msg.for_caps(c.caps));
            }
        }
    }

    /// Whether `cid` is an ordinary member (or an outsider) of an IRCX AUDITORIUM (+x):
    /// what it does is for the hosts' eyes only.
    pub fn in_audience(&self, ch: ChanId, cid: ClientId) -> bool {
        self.channels[ch].in_audience(cid)
    }

    /// News of `cid` in `chan` (its JOIN, PART, KICK) to local members: all of them, but in
    /// an auditorium where `cid` is an ordinary member only the hosts and `cid` itself.
    pub fn to_channel_about(&mut self, ch: ChanId, cid: ClientId, msg: &mut Msg, out: &mut Outbox) {
        if !self.in_audience(ch, cid) {
            return self.to_channel(ch, None, msg, out, |_| true);
        }
        self.to_channel(ch, Some(cid), msg, out, Status::is_op);
        if self.channels[ch].members.contains_key(&cid) {
            self.send_client(cid, msg, out);
        }
    }

    /// A channel message to local members: everyone but `except` holding at least `status`
    /// (`Status::NONE`: any; `@#chan` and `+#chan` otherwise), and for TAGMSG only clients
    /// that asked for message tags.
    pub fn to_channel_members(
        &self,
        ch: ChanId,
        except: Option<ClientId>,
        status: Status,
        tagmsg: bool,
        msg: &mut Msg,
        out: &mut Outbox,
    ) {
        if status == Status::NONE {
            // The common case, no status to check: the dense list, no client lookups.
            for m in &self.channels[ch].local {
                if Some(m.cid) == except || (tagmsg && m.caps & caps::MESSAGE_TAGS == 0) {
                    continue;
                }
                out.send(m.conn, msg.for_caps(m.caps));
            }
            return;
        }
        for (&member, &flags) in &self.channels[ch].members {
            if Some(member) == except || !flags.at_least(status) {
                continue;
            }
            let c = &self.clients[member];
            if tagmsg && c.caps & caps::MESSAGE_TAGS == 0 {
                continue;
            }
            if let Some(conn) = c.conn {
                out.send(conn, msg.for_caps(c.caps));
            }
        }
    }

    /// Every client sharing a channel with `cid`, each once, optionally `cid` itself, and only
    /// those with all of `need_caps`.
    pub fn to_common(
        &mut self,
        cid: ClientId,
        include_self: bool,
        need_caps: Caps,
        msg: &mut Msg,
        out: &mut Outbox,
    ) {
        if include_self && self.clients[cid].caps & need_caps == need_caps {
            self.send_client(cid, msg, out);
        }
        self.each_common(cid, |_, c| {
            if c.caps & need_caps != need_caps {
                return;
            }
            if let Some(conn) = c.conn {
                out.send(conn, msg.for_caps(c.caps));
            }
        });
    }

    /// Calls `visit` once for each client (local or remote) that news of `cid` reaches
    /// through their shared channels: not `cid` itself, and in an IRCX AUDITORIUM where
    /// `cid` is an ordinary member only the hosts there (it may still reach the others
    /// through a channel they share without the mode). `cid` and each visited client get a
    /// new fanout stamp, so a walk after this one with the same stamp (extended-monitor)
    /// skips them.
    pub fn each_common(&mut self, cid: ClientId, mut visit: impl FnMut(ClientId, &Client)) {
        let serial = self.next_serial();
        self.clients[cid].serial = serial;
        let World {
            clients, channels, ..
        } = self;
        // By index: the members' stamps are written meanwhile, so the list is not borrowed
        // (nor copied: this runs for every NICK and QUIT).
        for i in 0..clients[cid].chans.len() {
            let chan = &channels[clients[cid].chans[i]];
            let hosts_only = chan.in_audience(cid);
            for (&member, flags) in &chan.members {
                if hosts_only && !flags.is_op() {
                    continue;
                }
                let c = &mut clients[member];
                if c.serial == serial {
                    continue;
                }
                c.serial = serial;
                visit(member, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_are_shared() {
        let mut m = Msg::new(Rc::from(&b"X\r\n"[..]), 0).with_client_tags(b"+a=b");
        let plain1 = m.for_caps(0);
        let plain2 = m.for_caps(caps::ECHO_MESSAGE);
        assert!(Rc::ptr_eq(&plain1, &plain2));
        let t1 = m.for_caps(caps::SERVER_TIME);
        let t2 = m.for_caps(caps::SERVER_TIME | caps::ECHO_MESSAGE);
        assert!(Rc::ptr_eq(&t1, &t2));
        assert_eq!(&*t1, b"@time=1970-01-01T00:00:00.000Z X\r\n");
        assert_eq!(&*m.for_caps(caps::MESSAGE_TAGS), b"@+a=b X\r\n");
        assert_eq!(
            &*m.for_caps(caps::MESSAGE_TAGS | caps::SERVER_TIME),
            b"@time=1970-01-01T00:00:00.000Z;+a=b X\r\n"
        );
    }

    #[test]
    fn msgid_hex_is_formats_hex() {
        let cases = [
            (0u64, 1),
            (0, 4),
            (1, 4),
            (0xabc, 11),
            (0x1_0000, 4),
            (u64::MAX, 16),
        ];
        for (v, width) in cases {
            let mut id = MsgId {
                buf: [0; 48],
                len: 0,
            };
            id.push_hex(v, width);
            assert_eq!(&*id, format!("{v:0width$x}").as_bytes());
        }
    }

    #[test]
    fn account_and_msg_tags_share_one_buffer() {
        let mut m = Msg::new(Rc::from(&b"X\r\n"[..]), 0)
            .with_msg_tags(b"id1", true, b"+a=b")
            .with_account(Some("al ice"));
        assert_eq!(m.client_tags(), b"msgid=id1;bot;+a=b");
        assert_eq!(
            &*m.for_caps(caps::ACCOUNT_TAG | caps::MESSAGE_TAGS),
            b"@account=al\\sice;msgid=id1;bot;+a=b X\r\n"
        );
        // A new account replaces the old; new message tags keep the account.
        let mut m = m
            .with_account(Some("bob"))
            .with_msg_tags(b"id2", false, b"");
        assert_eq!(&*m.for_caps(caps::ACCOUNT_TAG), b"@account=bob X\r\n");
        assert_eq!(&*m.for_caps(caps::MESSAGE_TAGS), b"@msgid=id2 X\r\n");
        let m = Msg::new(Rc::from(&b"X\r\n"[..]), 0).with_account(Some("c"));
        assert_eq!(m.client_tags(), b"");
    }

    #[test]
    fn dialect_forms_are_rendered_once_each() {
        let mut m = Msg::new(Rc::from(&b"RFC\r\n"[..]), 0)
            .with_dialect(caps::DIALECT_IRCX, Rc::from(&b"IRCX\r\n"[..]));
        assert_eq!(&*m.for_caps(0), b"RFC\r\n");
        let x1 = m.for_caps(caps::DIALECT_IRCX);
        let x2 = m.for_caps(caps::DIALECT_IRCX | caps::ECHO_MESSAGE);
        assert_eq!(&*x1, b"IRCX\r\n");
        assert!(Rc::ptr_eq(&x1, &x2));
        let t1 = m.for_caps(caps::DIALECT_IRCX | caps::SERVER_TIME);
        assert_eq!(&*t1, b"@time=1970-01-01T00:00:00.000Z IRCX\r\n");
        let t2 = m.for_caps(caps::SERVER_TIME);
        assert_eq!(&*t2, b"@time=1970-01-01T00:00:00.000Z RFC\r\n");
        assert!(Rc::ptr_eq(
            &t1,
            &m.for_caps(caps::DIALECT_IRCX | caps::SERVER_TIME)
        ));
    }
}

#[cfg(test)]
#[test]
fn msg_stays_small() {
    // Moved by value through its builder methods on every delivery: see `Msg::alt`.
    assert!(
        std::mem::size_of::<Msg>() <= 104,
        "{}",
        std::mem::size_of::<Msg>()
    );
}
