//! The network beyond this server: the server tree, netsplits, and the view of it all
//! that tests compare across servers. Links themselves are `core/portal`.

use super::portal::burst::mode_words;
use super::portal::LinkMsg;
use super::state::{umode, Channel, ME};
use super::{ClientId, ConnId, Outbox, ServerId, World};
use crate::core::handlers::ircx::access::AccessList;
use crate::core::handlers::ircx::event::EventType;
use crate::core::handlers::ircx::prop::Prop;

impl World {
    /// Servers at or behind `root` (its subtree in the spanning tree).
    pub fn subtree(&self, root: ServerId) -> Vec<ServerId> {
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
    pub fn squit(&mut self, root: ServerId, reason: &str, from: Option<ConnId>, out: &mut Outbox) {
        if root == ME || !self.servers.contains(root) {
            return;
        }
        let lost = self.subtree(root);
        let squit = LinkMsg::new(&self.me().name, "SQUIT")
            .arg(&*self.servers[root].name)
            .trailing(reason);
        let direct = self.servers[root].via;
        for &l in &self.links {
            if Some(l) != from && Some(l) != direct {
                self.send_link(l, &squit, out);
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
        let (a, b) = (
            self.servers[self.servers[root].uplink].name.to_string(),
            self.servers[root].name.to_string(),
        );
        let text = format!("{a} {b}");
        self.netjoin_split(&lost, out);
        let from = out.sends.len();
        for cid in victims {
            self.quit_local_view(cid, text.as_bytes(), out);
        }
        self.netsplit_batch(from, &a, &b, out);
        for idx in lost {
            log::info!("netsplit: {} left ({reason})", self.servers[idx].name);
            let name = self.servers[idx].name.clone();
            self.raise_event(EventType::Server, "SPLIT", None, &[&name], None);
            self.servers.remove(idx);
        }
    }

    /// Tells local users sharing a channel that `cid` quit and forgets it; no link traffic.
    pub fn quit_local_view(&mut self, cid: ClientId, reason: &[u8], out: &mut Outbox) {
        let line = self.clients[cid].line("QUIT").trailing(reason).finish();
        let mut msg = self.user_msg(cid, line);
        self.to_common(cid, false, 0, &mut msg, out);
        if self.events_wanted() {
            let (mask, why) = (self.clients[cid].mask(), String::from_utf8_lossy(reason));
            self.raise_event(EventType::User, "LOGOFF", Some(cid), &[&mask], Some(&why));
        }
        self.remove_client(cid);
    }
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
                // Only the modes the network shares: +x describes a connection and the
                // manager level is a server's own.
                let umodes = c.umodes & (umode::LINKED | umode::GAG);
                format!(
                    "user {} {} {} {} umodes={umodes} away={away:?}",
                    c.nick, c.user, c.host, self.servers[c.server].name
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
                s + &ircx_view(ch)
            })
            .collect();
        chans.sort();
        let mut all = servers;
        all.extend(users);
        all.extend(chans);
        all.extend(access_view("*", Some(&self.access.network)));
        all.join("\n")
    }
}

/// A channel's properties and access entries, as the servers linked by `IRCX` share them
/// (the OID is left out: across a link without IRCX each side has its own).
fn ircx_view(ch: &Channel) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for p in Prop::all().filter(|p| p.linked()) {
        if let Some(v) = ch.prop(p) {
            let _ = write!(s, " {}={:?}", p.name(), String::from_utf8_lossy(v));
        }
    }
    if let Some(lag) = ch.props.as_ref().map(|p| p.lag.secs).filter(|&l| l != 0) {
        let _ = write!(s, " LAG={lag}");
    }
    for line in access_view(&ch.name, ch.access_list()) {
        s.push_str("\n  ");
        s.push_str(&line);
    }
    s
}

/// One line per shared access entry of `object`, sorted (configured ones are each
/// server's own).
fn access_view(object: &str, list: Option<&AccessList>) -> Vec<String> {
    let mut lines: Vec<String> = list
        .into_iter()
        .flat_map(|l| &l.entries)
        .filter(|e| !e.from_config)
        .map(|e| {
            format!(
                "access {object} {} {} expires={} at={} by={} owner={} :{}",
                e.level.name(),
                e.mask,
                e.expires_ms,
                e.set_at,
                e.setter,
                e.by_owner,
                e.reason
            )
        })
        .collect();
    lines.sort();
    lines
}
