//! The network beyond this server: the server tree, routing to links, the burst, and
//! netsplits. Portal wire forms are documented in docs/PROTOCOL.md.

use super::modes::{self, Kind};
use super::state::{Link, Server, ME};
use super::{ChanId, ClientId, ConnId, Outbox, World};
use crate::proto::line::Line;
use std::rc::Rc;

/// Portal protocol versions this build speaks. Version 2 added IRCv3 client tags and
/// TAGMSG across links; a version-1 peer gets neither.
pub const PROTO_MIN: u8 = 1;
pub const PROTO_MAX: u8 = 2;

/// Portal capabilities: a feature is used on a link only when both ends offer it.
pub mod cap {
    /// Explicit end of burst.
    pub const EOB: u32 = 1;
    /// AWAY state in the burst and as it changes.
    pub const AWAY: u32 = 2;
    /// Realname changes (IRCv3 setname).
    pub const SETNAME: u32 = 4;
    /// Topic with setter and time in the burst (TB).
    pub const TB: u32 = 8;
    /// Ban lists in the burst (BMASK).
    pub const BMASK: u32 = 16;
    pub const ALL: &[(&str, u32)] = &[
        ("AWAY", AWAY),
        ("BMASK", BMASK),
        ("EOB", EOB),
        ("SETNAME", SETNAME),
        ("TB", TB),
    ];

    pub fn parse(tokens: &[Box<str>]) -> u32 {
        tokens
            .iter()
            .filter_map(|t| {
                ALL.iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(t))
                    .map(|&(_, b)| b)
            })
            .fold(0, |a, b| a | b)
    }

    pub fn names(bits: u32) -> String {
        ALL.iter()
            .filter(|(_, b)| bits & b != 0)
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl World {
    pub fn me(&self) -> &Server {
        &self.servers[ME]
    }

    pub fn link(&self, conn: ConnId) -> Option<&Link> {
        self.local(conn).and_then(|l| l.link.as_deref())
    }

    pub fn link_mut(&mut self, conn: ConnId) -> Option<&mut Link> {
        self.local_mut(conn).and_then(|l| l.link.as_deref_mut())
    }

    pub fn find_server(&self, name: &[u8]) -> Option<usize> {
        self.servers
            .iter()
            .find(|(_, s)| s.name.as_bytes().eq_ignore_ascii_case(name))
            .map(|(i, _)| i)
    }

    /// The local connection a message for `cid` leaves through.
    pub fn route(&self, cid: ClientId) -> Option<ConnId> {
        let c = &self.clients[cid];
        c.conn.or(self.servers[c.server].via)
    }

    /// The capabilities offered on portals (all, unless a test restricts them).
    pub fn offered_caps(&self) -> u32 {
        match &self.config.testing.portal_caps {
            Some(list) => cap::parse(&list.iter().map(|s| s.as_str().into()).collect::<Vec<_>>()),
            None => cap::ALL.iter().fold(0, |a, &(_, b)| a | b),
        }
    }

    pub fn offered_proto_max(&self) -> u8 {
        self.config
            .testing
            .portal_protocol_max
            .unwrap_or(PROTO_MAX)
            .clamp(PROTO_MIN, PROTO_MAX)
    }

    /// Queues `line` on every link but `except`.
    pub fn to_links(&self, except: Option<ConnId>, line: &Rc<[u8]>, out: &mut Outbox) {
        for &l in &self.links {
            if Some(l) != except {
                out.send(l, line.clone());
            }
        }
    }

    /// Like [`World::to_links`], for links that negotiated `caps`.
    pub fn to_links_with(
        &self,
        except: Option<ConnId>,
        caps: u32,
        line: &Rc<[u8]>,
        out: &mut Outbox,
    ) {
        for &l in &self.links {
            if Some(l) != except && self.link(l).is_some_and(|k| k.caps & caps == caps) {
                out.send(l, line.clone());
            }
        }
    }

    /// Queues `line` once on every link behind which `ch` has members, except `except`.
    /// `line_for` picks the bytes per link (protocol versions differ).
    pub fn to_channel_links(
        &mut self,
        ch: ChanId,
        except: Option<ConnId>,
        out: &mut Outbox,
        line_for: impl Fn(&Link) -> Option<Rc<[u8]>>,
    ) {
        if self.links.is_empty() {
            return;
        }
        let serial = self.next_serial();
        let World {
            channels,
            clients,
            servers,
            locals,
            ..
        } = self;
        for &member in channels[ch].members.keys() {
            let Some(via) = servers[clients[member].server].via else {
                continue;
            };
            if Some(via) == except {
                continue;
            }
            let Some(link) = locals[via].as_mut().and_then(|l| l.link.as_deref_mut()) else {
                continue;
            };
            if link.serial == serial {
                continue;
            }
            link.serial = serial;
            if let Some(line) = line_for(link) {
                out.send(via, line);
            }
        }
    }

    /// `:<server> NICK <nick> <hop> <ts> <user> <host> <sid> +<umodes> :<realname>`.
    pub fn intro_line(&self, cid: ClientId) -> Rc<[u8]> {
        let c = &self.clients[cid];
        let s = &self.servers[c.server];
        let mut modes = String::from("+");
        for &(letter, bit) in super::state::umode::ALL {
            if c.has(bit) {
                modes.push(letter as char);
            }
        }
        Line::new(&s.name, "NICK")
            .arg(&*c.nick)
            .arg((s.hop + 1).to_string())
            .arg(c.ts.to_string())
            .arg(&*c.user)
            .arg(&*c.host)
            .arg(s.sid.to_string())
            .arg(modes)
            .trailing(&c.realname)
            .finish()
    }

    /// `:<uplink> SERVER <name> <hop> <sid> :<description>`, as seen one hop further.
    pub fn server_line(&self, idx: usize) -> Rc<[u8]> {
        let s = &self.servers[idx];
        Line::new(&self.servers[s.uplink].name, "SERVER")
            .arg(&*s.name)
            .arg((s.hop + 1).to_string())
            .arg(s.sid.to_string())
            .trailing(&*s.description)
            .finish()
    }

    /// Channel state as SJOIN lines (members split to fit), then topic and bans.
    pub fn channel_burst(&self, ch: ChanId, caps: u32) -> Vec<Rc<[u8]>> {
        let chan = &self.channels[ch];
        let me = &*self.me().name;
        let (modes, args) = mode_words(chan);
        let head = || {
            let mut l = Line::new(me, "SJOIN")
                .arg(chan.created_ms.to_string())
                .arg(&*chan.name)
                .arg(&modes);
            for a in &args {
                l = l.arg(a);
            }
            l
        };
        let mut lines = Vec::new();
        let mut members = String::new();
        for (&cid, &flags) in &chan.members {
            let nick = &self.clients[cid].nick;
            if members.len() + nick.len() + 3 > 400 {
                lines.push(head().trailing(&members).finish());
                members.clear();
            }
            if !members.is_empty() {
                members.push(' ');
            }
            flags.push_prefixes(&mut members, true, 0);
            members.push_str(nick);
        }
        lines.push(head().trailing(&members).finish());
        if let (Some(t), true) = (&chan.topic, caps & cap::TB != 0) {
            lines.push(
                Line::new(me, "TB")
                    .arg(&*chan.name)
                    .arg(t.time.to_string())
                    .arg(&*t.setter)
                    .trailing(&t.text)
                    .finish(),
            );
        }
        if caps & cap::BMASK != 0 {
            for chunk in chan.bans.chunks(10) {
                let masks: Vec<&str> = chunk.iter().map(|b| &*b.mask).collect();
                lines.push(
                    Line::new(me, "BMASK")
                        .arg(chan.created_ms.to_string())
                        .arg(&*chan.name)
                        .arg("b")
                        .trailing(masks.join(" "))
                        .finish(),
                );
            }
        }
        lines
    }

    /// Everything this server knows, for a new link: servers, users, channels, end of burst.
    pub fn send_burst(&self, conn: ConnId, out: &mut Outbox) {
        let caps = self.link(conn).map_or(0, |l| l.caps);
        let peer = self.link(conn).map(|l| l.server);
        let mut order: Vec<usize> = self
            .servers
            .iter()
            .map(|(i, _)| i)
            .filter(|&i| i != ME && Some(i) != peer)
            .collect();
        order.sort_by_key(|&i| self.servers[i].hop);
        for i in order {
            if self.servers[i].via != Some(conn) {
                out.send(conn, self.server_line(i));
            }
        }
        for (cid, c) in &self.clients {
            if self.route(cid) == Some(conn) {
                continue;
            }
            out.send(conn, self.intro_line(cid));
            if let (Some(away), true) = (&c.away, caps & cap::AWAY != 0) {
                out.send(conn, Line::new(&c.nick, "AWAY").trailing(away).finish());
            }
        }
        for (ch, _) in &self.channels {
            for line in self.channel_burst(ch, caps) {
                out.send(conn, line);
            }
        }
        if caps & cap::EOB != 0 {
            out.send(conn, Line::new(&self.me().name, "EOB").finish());
        }
    }

    /// Servers at or behind `root` (its subtree in the spanning tree).
    pub fn subtree(&self, root: usize) -> Vec<usize> {
        let mut found = vec![root];
        let mut i = 0;
        while i < found.len() {
            let parent = found[i];
            for (idx, s) in &self.servers {
                if s.uplink == parent && idx != parent && idx != ME {
                    found.push(idx);
                }
            }
            i += 1;
        }
        found
    }

    /// A netsplit: every server at or behind `root` leaves, with its users, who quit for
    /// local users as `<root's uplink> <root>`; other links hear one SQUIT.
    pub fn squit(&mut self, root: usize, reason: &str, from: Option<ConnId>, out: &mut Outbox) {
        if root == ME || !self.servers.contains(root) {
            return;
        }
        let lost = self.subtree(root);
        let squit = Line::new(&self.me().name, "SQUIT")
            .arg(&*self.servers[root].name)
            .trailing(reason)
            .finish();
        let direct = self.servers[root].via;
        for &l in &self.links.clone() {
            if Some(l) != from && Some(l) != direct {
                out.send(l, squit.clone());
            }
        }
        let victims: Vec<ClientId> = self
            .clients
            .iter()
            .filter(|(_, c)| lost.contains(&c.server))
            .map(|(i, _)| i)
            .collect();
        // Every user lost quits naming the link that broke (as other servers do, and as
        // clients expect to group a netsplit), not the server each was on.
        let text = format!(
            "{} {}",
            self.servers[self.servers[root].uplink].name, self.servers[root].name
        );
        for cid in victims {
            self.quit_local_view(cid, text.as_bytes(), out);
        }
        for idx in lost {
            log::info!("netsplit: {} left ({reason})", self.servers[idx].name);
            self.servers.remove(idx);
        }
    }

    /// Tells local users sharing a channel that `cid` quit and forgets it; no link traffic.
    pub fn quit_local_view(&mut self, cid: ClientId, reason: &[u8], out: &mut Outbox) {
        let line = Line::new(&self.clients[cid].mask(), "QUIT")
            .trailing(reason)
            .finish();
        let mut msg = super::fanout::Msg::new(line, self.now.unix_ms);
        self.to_common(cid, false, 0, &mut msg, out);
        self.remove_client(cid);
    }
}

/// A channel's modes as words: flags (`+nt`), then the modes with a value (`kl`) and
/// their values, in mode table order.
pub fn mode_words(chan: &super::Channel) -> (String, Vec<String>) {
    let mut modes = String::from("+");
    for (c, bit) in modes::flags() {
        if chan.has(bit) {
            modes.push(c as char);
        }
    }
    let mut args = Vec::new();
    for m in modes::CHANNEL_MODES {
        let value = match m.kind {
            Kind::Key => chan.key.as_deref().map(str::to_string),
            Kind::Limit => (chan.limit != 0).then(|| chan.limit.to_string()),
            _ => None,
        };
        if let Some(v) = value {
            modes.push(m.letter as char);
            args.push(v);
        }
    }
    (modes, args)
}

impl World {
    /// This server's view of the network as sorted text: servers, users, channels with
    /// modes, topic, bans and members. Tests compare it across the servers of a network.
    pub fn snapshot(&self) -> String {
        use std::fmt::Write;
        let mut servers: Vec<String> = self
            .servers
            .iter()
            .map(|(_, s)| format!("server {} {}", s.name, s.sid))
            .collect();
        servers.sort();
        let mut users: Vec<String> = self
            .clients
            .iter()
            .map(|(_, c)| {
                let away = c
                    .away
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                format!(
                    "user {} {} {} {} umodes={} away={away:?}",
                    c.nick, c.user, c.host, self.servers[c.server].name, c.umodes
                )
            })
            .collect();
        users.sort();
        let mut chans: Vec<String> = self
            .channels
            .iter()
            .map(|(_, ch)| {
                let (modes, args) = mode_words(ch);
                let mut s = format!(
                    "channel {} ts={} {modes} {}",
                    ch.name,
                    ch.created_ms,
                    args.join(" ")
                );
                if let Some(t) = &ch.topic {
                    let _ = write!(
                        s,
                        " topic={:?} by {} at {}",
                        String::from_utf8_lossy(&t.text),
                        t.setter,
                        t.time
                    );
                }
                let mut bans: Vec<&str> = ch.bans.iter().map(|b| &*b.mask).collect();
                bans.sort();
                let mut members: Vec<String> = ch
                    .members
                    .iter()
                    .map(|(&c, &f)| {
                        let mut m = String::new();
                        f.push_prefixes(&mut m, true, 0);
                        m + &self.clients[c].nick
                    })
                    .collect();
                members.sort();
                let _ = write!(
                    s,
                    " bans=[{}] members=[{}]",
                    bans.join(" "),
                    members.join(" ")
                );
                s
            })
            .collect();
        chans.sort();
        let mut all = servers;
        all.extend(users);
        all.extend(chans);
        all.join("\n")
    }
}
