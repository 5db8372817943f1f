//! Delivery of one message to many: encoded once, shared by `Rc`, with a variant per
//! capability and dialect combination that changes the bytes (server-time, message-tags,
//! extended-join, an IRCX client's form of a line).

use super::caps::{self, Caps};
use super::modes::Status;
use super::{ChanId, ClientId, Outbox, World};
use crate::proto::line::with_tags;
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
    /// client-only tags (`+draft/reply=…`), made once by [`msg_tags`]. One buffer, so the
    /// account costs no field of its own.
    tags: Box<[u8]>,
    unix_ms: u64,
    time: Option<Box<str>>,
    cache: Vec<(Caps, Rc<[u8]>)>,
}

impl Msg {
    pub fn new(body: Rc<[u8]>, unix_ms: u64) -> Msg {
        Msg {
            body,
            alt: None,
            alt_bit: 0,
            account_len: 0,
            tags: Box::default(),
            unix_ms,
            time: None,
            cache: Vec::new(),
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

    /// The tags for message-tags clients (see [`msg_tags`]).
    pub fn with_client_tags(mut self, tags: &[u8]) -> Msg {
        let account = &self.tags[..self.account_len as usize];
        self.tags = join_tags(account, tags);
        self
    }

    /// IRCv3 account-tag: the sender's account, for recipients that asked for it.
    pub fn with_account(mut self, account: Option<&str>) -> Msg {
        let Some(account) = account else {
            return self;
        };
        let tag = [b"account=", &*escape_tag_value(account.as_bytes())].concat();
        let rest = self.client_tags().to_vec();
        self.tags = join_tags(&tag, &rest);
        self.account_len = tag.len() as u16;
        self
    }

    /// The message-tags part of `tags`.
    fn client_tags(&self) -> &[u8] {
        match self.account_len as usize {
            0 => &self.tags,
            n => self.tags.get(n + 1..).unwrap_or_default(),
        }
    }

    /// The bytes for a recipient with these capabilities; allocates only the first time a
    /// tagged variant is needed.
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
        let mut tags = Vec::new();
        if key & caps::SERVER_TIME != 0 {
            let unix_ms = self.unix_ms;
            let time = self
                .time
                .get_or_insert_with(|| crate::proto::time::iso8601(unix_ms).into());
            tags.extend_from_slice(b"time=");
            tags.extend_from_slice(time.as_bytes());
        }
        let mut add = |part: &[u8]| {
            if !tags.is_empty() {
                tags.push(b';');
            }
            tags.extend_from_slice(part);
        };
        if key & caps::ACCOUNT_TAG != 0 {
            add(&self.tags[..self.account_len as usize]);
        }
        if key & caps::MESSAGE_TAGS != 0 {
            add(self.client_tags());
        }
        let rc = with_tags(&tags, base);
        self.cache.push((key, rc.clone()));
        rc
    }
}

/// `a;b`, or the one that is not empty.
fn join_tags(a: &[u8], b: &[u8]) -> Box<[u8]> {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.into(),
        (_, true) => a.into(),
        _ => [a, b";", b].concat().into(),
    }
}

/// A tag value escaped as IRCv3 message-tags says (`;` space `\` CR LF).
pub fn escape_tag_value(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
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
    out
}

impl World {
    /// A message from user `cid`: with its account for account-tag clients.
    pub fn user_msg(&self, cid: ClientId, line: Rc<[u8]>) -> Msg {
        Msg::new(line, self.now.unix_ms).with_account(self.account(cid))
    }
}

/// The tags of a PRIVMSG, NOTICE or TAGMSG for message-tags clients and portals: its
/// `msgid` first, `bot` if a bot (user mode +B) sent it, then the client-only tags it
/// came with.
pub fn msg_tags(msgid: &[u8], bot: bool, client_tags: &[u8]) -> Vec<u8> {
    let bot: &[u8] = if bot { b";bot" } else { b"" };
    let sep: &[u8] = if client_tags.is_empty() { b"" } else { b";" };
    [b"msgid=", msgid, bot, sep, client_tags].concat()
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

/// Longest `msgid` taken from another server (Ergo's are 26 bytes, InspIRCd's 36).
const MSGID_MAX: usize = 64;

impl World {
    /// A `msgid` unique in the network: this server's ID and start time in fixed widths
    /// (so no other server, nor an earlier run of this one, makes the same), then a
    /// counter. Hex, so it never needs escaping in a tag.
    pub fn next_msgid(&mut self) -> String {
        self.msgids += 1;
        format!(
            "{:04x}{:011x}{:x}",
            self.config.server.id, self.started_unix_ms, self.msgids
        )
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
        let serial = self.next_serial();
        self.clients[cid].serial = serial;
        if include_self && self.clients[cid].caps & need_caps == need_caps {
            self.send_client(cid, msg, out);
        }
        let World {
            clients, channels, ..
        } = self;
        for &ch in &clients[cid].chans.clone() {
            let chan = &channels[ch];
            // IRCX AUDITORIUM: an ordinary member's news reaches only the hosts there (it
            // may still reach others through a channel they share without the mode).
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
                if c.caps & need_caps != need_caps {
                    continue;
                }
                if let Some(conn) = c.conn {
                    out.send(conn, msg.for_caps(c.caps));
                }
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
