//! The one way a message reaches other servers. A [`LinkMsg`] is built once from what a
//! handler did, and rendered at most once per link form: native (with client tags for
//! version-2 peers, plain for version 1) and RFC 2813 for ngIRCd, by its allow-list.

use super::owners::{self, Degraded};
use super::{cap, rfc2813, Dialect, Link};
use crate::core::modes::Status;
use crate::core::{ChanId, ConnId, Outbox, World};
use crate::proto::line::with_tags;
use crate::proto::message::OwnedMessage;
use crate::proto::spare;
use crate::proto::Message;
use std::cell::OnceCell;
use std::rc::Rc;

/// A message for the portals, in structured form until a link's dialect renders it.
pub struct LinkMsg {
    msg: OwnedMessage,
    /// Client-only tags, for peers at protocol version 2 or later (a buffer from
    /// [`spare`], given back when dropped).
    tags: Vec<u8>,
    /// Link capabilities a peer must have negotiated to get it (`cap::AWAY`…).
    needs: u32,
    /// Lowest protocol version that can carry it (TAGMSG: 2).
    min_proto: u8,
    native: OnceCell<Rc<[u8]>>,
    tagged: OnceCell<Rc<[u8]>>,
    rfc: OnceCell<Option<Vec<Rc<[u8]>>>>,
    /// Its form for links without IRCX (owners as ops).
    degraded: OnceCell<Degraded>,
}

impl Drop for LinkMsg {
    fn drop(&mut self) {
        spare::give(std::mem::take(&mut self.tags));
    }
}

impl LinkMsg {
    pub fn new(prefix: &str, verb: &str) -> LinkMsg {
        LinkMsg {
            msg: OwnedMessage::new(prefix, verb),
            tags: Vec::new(),
            needs: 0,
            min_proto: 1,
            native: OnceCell::new(),
            tagged: OnceCell::new(),
            rfc: OnceCell::new(),
            degraded: OnceCell::new(),
        }
    }

    pub fn arg(mut self, a: impl AsRef<[u8]>) -> LinkMsg {
        self.msg.push_arg(a.as_ref());
        self
    }

    pub fn trailing(mut self, t: impl AsRef<[u8]>) -> LinkMsg {
        self.msg.push_trailing(t.as_ref());
        self
    }

    pub fn tags(mut self, client_tags: &[u8]) -> LinkMsg {
        if self.tags.capacity() == 0 {
            self.tags = spare::take();
        }
        self.tags.clear();
        self.tags.extend_from_slice(client_tags);
        self
    }

    pub fn needs(mut self, link_caps: u32) -> LinkMsg {
        self.needs = link_caps;
        self
    }

    pub fn min_proto(mut self, version: u8) -> LinkMsg {
        self.min_proto = version;
        self
    }

    /// A line this server does not understand, passed on byte for byte (tags included) so
    /// newer servers behind us still get it, but for stray CRs, which are dropped: a peer
    /// that ends lines at CR would see two lines. No other dialect carries it.
    pub fn opaque(msg: &Message<'_>, raw: &[u8]) -> LinkMsg {
        let mut m = LinkMsg::relay(msg);
        let mut v = Vec::with_capacity(raw.len() + 2);
        v.extend(raw.iter().filter(|&&b| b != b'\r'));
        v.extend_from_slice(b"\r\n");
        let _ = m.native.set(Rc::from(v));
        m.tags.clear();
        m
    }

    /// A received message passed on as it came (the last parameter in its own form, client
    /// tags kept for the peers that know them).
    pub fn relay(msg: &Message<'_>) -> LinkMsg {
        let prefix = String::from_utf8_lossy(msg.prefix.unwrap_or_default());
        let verb = String::from_utf8_lossy(msg.command).to_ascii_uppercase();
        let mut m = LinkMsg::new(&prefix, &verb).tags(&msg.client_tags());
        let n = msg.len();
        for (i, p) in msg.params().iter().enumerate() {
            // The last parameter keeps the form it came in, unless only a trailing one
            // can carry it.
            let trailing = msg.trailing || p.is_empty() || p[0] == b':' || p.contains(&b' ');
            m = if i + 1 == n && trailing {
                m.trailing(p)
            } else {
                m.arg(p)
            };
        }
        m
    }

    pub fn prefix(&self) -> &str {
        std::str::from_utf8(self.msg.prefix()).unwrap_or_default()
    }
    pub fn verb(&self) -> &str {
        self.msg.command()
    }
    pub fn len(&self) -> usize {
        self.msg.len()
    }
    pub fn is_empty(&self) -> bool {
        self.msg.is_empty()
    }
    pub fn param(&self, i: usize) -> &[u8] {
        self.msg.param(i).unwrap_or_default()
    }
    pub fn param_str(&self, i: usize) -> String {
        String::from_utf8_lossy(self.param(i)).into_owned()
    }

    /// The native wire form, without tags.
    pub fn native(&self) -> Rc<[u8]> {
        self.native.get_or_init(|| self.msg.line().finish()).clone()
    }

    /// The native form with the client tags: made from the untagged form when that was
    /// needed too, else straight (version-2 peers need only this one).
    fn render_tagged(&self) -> Rc<[u8]> {
        match self.native.get() {
            Some(native) => with_tags(&self.tags, native),
            None => self.msg.line().finish_tagged(&self.tags),
        }
    }

    /// Queues it on one link in that link's form, if the link can carry it.
    fn send_to(&self, w: &World, conn: ConnId, link: &Link, out: &mut Outbox) {
        if link.caps & self.needs != self.needs {
            return;
        }
        // ngIRCd takes owners as its founders (`~`, `+q`): only a native link without IRCX
        // gets them as ops.
        if link.caps & cap::IRCX == 0 && !link.is_rfc2813() {
            match self.degraded.get_or_init(|| owners::degrade(w, self)) {
                Degraded::Same => {}
                Degraded::Nothing => return,
                // Rendered as it is: a degraded form is never degraded again.
                Degraded::As(m) => return m.send_form(w, conn, link, out),
            }
        }
        self.send_form(w, conn, link, out);
    }

    /// Queues it on one link in that link's dialect.
    fn send_form(&self, w: &World, conn: ConnId, link: &Link, out: &mut Outbox) {
        match link.dialect {
            Dialect::Native => {
                if link.proto < self.min_proto {
                    return;
                }
                let line = if link.proto >= 2 && !self.tags.is_empty() {
                    self.tagged.get_or_init(|| self.render_tagged()).clone()
                } else {
                    self.native()
                };
                link.count_out(1);
                out.send(conn, line);
            }
            Dialect::Rfc2813(ref rfc) => match self.rfc.get_or_init(|| rfc2813::render(w, self)) {
                Some(lines) => {
                    link.count_out(lines.len() as u64);
                    for l in lines {
                        out.send(conn, l.clone());
                    }
                }
                None => rfc.not_carried(self.verb()),
            },
        }
    }
}

impl World {
    /// Queues `msg` on one link.
    pub fn send_link(&self, conn: ConnId, msg: &LinkMsg, out: &mut Outbox) {
        if let Some(link) = self.link(conn) {
            msg.send_to(self, conn, link, out);
        }
    }

    /// The link toward a remote user and whether it carries IRCX (`None` for a local user).
    pub fn ircx_route(&self, cid: crate::core::ClientId) -> Option<(ConnId, bool)> {
        if self.clients[cid].conn.is_some() {
            return None;
        }
        let via = self.route(cid)?;
        let ircx = self.link(via).is_some_and(|l| l.caps & cap::IRCX != 0);
        Some((via, ircx))
    }

    /// Queues `msg` on every link but `except` (the one it came from).
    pub fn to_links(&self, except: Option<ConnId>, msg: &LinkMsg, out: &mut Outbox) {
        for &conn in &self.links {
            if Some(conn) != except {
                self.send_link(conn, msg, out);
            }
        }
    }

    /// Queues `msg` once on every link behind which `ch` has members, except `except`.
    pub fn to_channel_links(
        &self,
        ch: ChanId,
        except: Option<ConnId>,
        msg: &LinkMsg,
        out: &mut Outbox,
    ) {
        self.to_member_links(ch, except, msg, out, |_| true);
    }

    /// [`World::to_channel_links`], only toward the channel's hosts and owners (KNOCK).
    pub fn to_host_links(
        &self,
        ch: ChanId,
        except: Option<ConnId>,
        msg: &LinkMsg,
        out: &mut Outbox,
    ) {
        self.to_member_links(ch, except, msg, out, Status::is_op);
    }

    fn to_member_links(
        &self,
        ch: ChanId,
        except: Option<ConnId>,
        msg: &LinkMsg,
        out: &mut Outbox,
        wanted: impl Fn(Status) -> bool,
    ) {
        if self.links.is_empty() {
            return;
        }
        let serial = self.next_serial();
        for (&member, &status) in &self.channels[ch].members {
            if !wanted(status) {
                continue;
            }
            let Some(via) = self.servers[self.clients[member].server].via else {
                continue;
            };
            if Some(via) == except {
                continue;
            }
            let Some(link) = self.link(via) else { continue };
            if link.serial.replace(serial) != serial {
                msg.send_to(self, via, link, out);
            }
        }
    }
}
