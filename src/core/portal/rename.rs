//! Channel renames between servers (docs/PROTOCOL.md, "Channel renames").
//!
//! A rename must reach every server, or the network's view of the channel splits: a server
//! that cannot rename (ngIRCd, a Portico without the `RENAME` link capability) would keep
//! the old name while the others moved on. So a server renames only when it knows every
//! server is reached over `RENAME` links only: its own links say so for its peers, and
//! `:<server> NORENAME <name>` after a server's introduction says that the sender's way to
//! that server crosses a link without `RENAME`.
//!
//! Lines racing a rename name the old channel: the server that renamed it keeps the old
//! names for a minute ([`Recent`]) and applies such lines to the renamed channel (an
//! `SJOIN` only when its channel timestamp is the renamed channel's, since one with
//! another timestamp is a new channel of that name).

use super::{burst, cap, LinkMsg};
use crate::core::dispatch::{Ctx, HResult, Source};
use crate::core::handlers::channel::{after_join, set_topic};
use crate::core::handlers::rename;
use crate::core::modes::Status;
use crate::core::state::{Ban, Topic, ME};
use crate::core::{ChanId, ClientId, ConnId, Outbox, ServerId, World};
use crate::limits::CHANNEL_LEN;
use crate::proto::casemap::valid_channel;
use crate::proto::Message;
use std::collections::VecDeque;

/// How long the old name of a renamed channel is remembered (racing lines, the cooldown).
const KEEP_MS: u64 = 60_000;
/// At most this many remembered renames: the oldest is forgotten first.
const KEEP_MAX: usize = 64;

/// Renames of the last [`KEEP_MS`], oldest first.
#[derive(Default, Debug)]
pub struct Recent {
    list: VecDeque<Renamed>,
}

#[derive(Debug)]
struct Renamed {
    /// The old name, folded.
    old: Box<str>,
    /// The channel's timestamp when it was renamed.
    ts: u64,
    ch: ChanId,
    /// The channel's OID then: a slot reused by another channel does not match.
    oid: u32,
    /// Monotonic milliseconds.
    at_ms: u64,
}

impl World {
    /// Remembers that `ch` was called `old` until now.
    pub fn remember_rename(&mut self, ch: ChanId, old: &str) {
        let now = self.now.mono_ms;
        let chan = &self.channels[ch];
        let entry = Renamed {
            old: self.fold(old),
            ts: chan.created_ms,
            ch,
            oid: chan.oid,
            at_ms: now,
        };
        let list = &mut self.renames.list;
        while list
            .front()
            .is_some_and(|r| now.saturating_sub(r.at_ms) > KEEP_MS)
            || list.len() >= KEEP_MAX
        {
            list.pop_front();
        }
        list.push_back(entry);
    }

    /// The channel that was called `old` (with timestamp `ts`, if given) within the last
    /// minute, if it still exists.
    pub fn renamed_from(&self, old: &[u8], ts: Option<u64>) -> Option<ChanId> {
        self.renamed_since(old, ts, 0)
    }

    /// [`World::renamed_from`], for renames made at `since` (monotonic ms) or later.
    fn renamed_since(&self, old: &[u8], ts: Option<u64>, since: u64) -> Option<ChanId> {
        let now = self.now.mono_ms;
        // Folded byte by byte: a link line must not allocate for this.
        let same = |r: &Renamed| {
            r.old.len() == old.len()
                && old
                    .iter()
                    .zip(r.old.bytes())
                    .all(|(&a, b)| self.cm.fold_byte(a) == b)
        };
        self.renames
            .list
            .iter()
            .rev()
            .take_while(|r| now.saturating_sub(r.at_ms) <= KEEP_MS && r.at_ms >= since)
            .find(|r| same(r) && ts.is_none_or(|t| t == r.ts))
            .filter(|r| self.channels.get(r.ch).is_some_and(|c| c.oid == r.oid))
            .map(|r| r.ch)
    }

    /// Whether `ch` was renamed less than `ms` ago.
    pub fn renamed_within(&self, ch: ChanId, ms: u64) -> bool {
        let (now, oid) = (self.now.mono_ms, self.channels[ch].oid);
        self.renames
            .list
            .iter()
            .any(|r| r.ch == ch && r.oid == oid && now.saturating_sub(r.at_ms) < ms)
    }

    /// Whether a rename made here reaches `s`: this server, or one whose way from here
    /// crosses `RENAME` links only.
    fn renames_reach(&self, s: ServerId) -> bool {
        if s == ME {
            return true;
        }
        let server = &self.servers[s];
        let link_can = server
            .via
            .and_then(|via| self.link(via))
            .is_some_and(|l| l.caps & cap::RENAME != 0);
        link_can && !server.no_rename
    }

    /// The name of a server a rename could not reach, if there is one.
    pub fn rename_blocker(&self) -> Option<&str> {
        self.servers
            .iter()
            .find(|&(i, _)| !self.renames_reach(i))
            .map(|(_, s)| &*s.name)
    }

    /// `:<me> NORENAME <server>` for `RENAME` links, when a rename from here would not
    /// reach that server.
    pub fn no_rename_msg(&self, s: ServerId) -> Option<LinkMsg> {
        (!self.renames_reach(s)).then(|| {
            LinkMsg::new(&self.me().name, "NORENAME")
                .arg(&*self.servers[s].name)
                .needs(cap::RENAME)
        })
    }

    /// Tells every link but `except` of a server new in the network: its introduction,
    /// then `NORENAME` if renames cannot reach it.
    pub fn announce_server(&mut self, s: ServerId, except: Option<ConnId>, out: &mut Outbox) {
        if self.links.is_empty() {
            return;
        }
        self.to_links(except, &self.server_msg(s), out);
        if let Some(m) = self.no_rename_msg(s) {
            self.to_links(except, &m, out);
        }
    }

    /// A link line that names a channel by the name it had before a rename here, with
    /// the channel's name now in its place (`None`: nothing to change).
    /// Only lines from a server known here before the rename can be racing it: one that
    /// appeared since (a split server rejoining) bursts its own channel of the old name.
    pub fn redirect_renamed(&self, src: Source, msg: &Message<'_>) -> Option<(usize, Box<str>)> {
        // Nothing renamed within the last minute: the usual case, one comparison.
        let newest = self.renames.list.back()?;
        if self.now.mono_ms.saturating_sub(newest.at_ms) > KEEP_MS {
            return None;
        }
        let server = match src {
            Source::Remote(c) => self.clients[c].server,
            Source::Server(s) => s,
            _ => return None,
        };
        let since = self.servers[server].seen_ms;
        let mut buf = [0u8; 16];
        let i = match msg.command_upper(&mut buf) {
            b"PART" | b"KICK" | b"MODE" | b"TOPIC" | b"PRIVMSG" | b"NOTICE" | b"TAGMSG" | b"TB"
            | b"PROP" | b"ACCESS" | b"WHISPER" | b"DATA" | b"REQUEST" | b"REPLY" | b"KNOCK"
            | b"METADATA" => 0,
            b"INVITE" | b"BMASK" | b"BPROP" | b"OID" | b"BACCESS" | b"SJOIN" => 1,
            _ => return None,
        };
        let name = msg.param(i);
        let ch = if msg.command.eq_ignore_ascii_case(b"SJOIN") {
            // The timestamp tells the renamed channel from a new one of the old name.
            let ts = msg.param_str(0)?.parse().ok()?;
            self.renamed_since(name, Some(ts), since)?
        } else {
            if self.find_channel(name).is_some() {
                return None;
            }
            self.renamed_since(name, None, since)?
        };
        Some((i, self.channels[ch].name.clone()))
    }
}

/// `:<server> NORENAME <name>`: renames from here cannot reach `<name>` either; passed on
/// to the other `RENAME` links once.
pub fn no_rename(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let w = &mut *ctx.w;
    let Some(s) = w.find_server(msg.param(0)) else {
        return Ok(());
    };
    if w.servers[s].via != Some(ctx.conn) || w.servers[s].no_rename {
        return Ok(());
    }
    w.servers[s].no_rename = true;
    if let Some(m) = w.no_rename_msg(s) {
        ctx.propagate(&m);
    }
    Ok(())
}

/// `:<nick> RENAME <channel-ts> <old> <new> :<reason>` from a link: applied, and passed
/// on to the other `RENAME` links whatever it changed here, so every server sees every
/// rename and decides alike.
pub fn rename_from_link(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let Some(ts) = msg.param_str(0).and_then(|s| s.parse::<u64>().ok()) else {
        return Ok(());
    };
    let (old, new, reason) = (msg.param(1), msg.param(2), msg.param(3));
    if !valid_channel(new, CHANNEL_LEN) {
        return Ok(());
    }
    let new = std::str::from_utf8(new).expect("valid_channel checks UTF-8");
    let by = ctx.client();
    let w = &mut *ctx.w;
    // What a merge changes is shown as the renamer's server's doing, as in a burst.
    let src = w.servers[w.clients[by].server].name.to_string();
    // A channel of the old name made since a rename here is another channel.
    let by_name = w
        .find_channel(old)
        .filter(|&ch| w.channels[ch].created_ms == ts || w.renamed_from(old, Some(ts)).is_none());
    let target = by_name.or_else(|| {
        // Renamed here too, meanwhile: the greater new name wins on every server.
        w.renamed_from(old, Some(ts))
            .filter(|&ch| w.fold(new) > w.fold(&w.channels[ch].name))
    });
    if let Some(ch) = target.filter(|&ch| *w.channels[ch].name != *new) {
        let taken = w
            .find_channel(new.as_bytes())
            .filter(|&other| other != ch)
            .map(|other| detach(w, other, reason, ctx.out));
        rename::apply(w, ch, new, by, reason, ctx.out);
        if let Some(taken) = taken {
            absorb(w, ch, taken, &src, ctx.out);
        }
    }
    ctx.propagate(&LinkMsg::relay(msg).needs(cap::RENAME));
    Ok(())
}

/// A channel that had the new name of a rename here (made elsewhere while the rename was
/// on its way), taken apart to be merged into the renamed one.
struct Taken {
    ts: u64,
    oid: (u64, u32),
    modes: (String, Vec<String>),
    topic: Option<Topic>,
    lists: Vec<(u8, Vec<Ban>)>,
    members: Vec<(ClientId, Status)>,
    /// Its `[[channel]]` entry, if it was registered here.
    registered: Option<crate::config::ChannelCfg>,
}

/// Takes `ch` apart: its local members see themselves part it (they join the merged
/// channel right after), and it is gone.
fn detach(w: &mut World, ch: ChanId, reason: &[u8], out: &mut Outbox) -> Taken {
    let chan = &w.channels[ch];
    let registered = w
        .config
        .channel
        .iter()
        .find(|c| chan.is_registered() && w.cm.eq(&c.name, &chan.name))
        .cloned();
    let taken = Taken {
        ts: chan.created_ms,
        oid: (chan.oid_ms, chan.oid),
        modes: super::burst::mode_words(chan),
        topic: chan.topic.clone(),
        lists: [b'b', b'e', b'I']
            .into_iter()
            .map(|l| (l, chan.list(l).to_vec()))
            .collect(),
        members: chan.members.iter().map(|(&c, &s)| (c, s)).collect(),
        registered,
    };
    let name = chan.name.clone();
    for local in &chan.local {
        let mut part = rename::part_msg(w, local.cid, &name, reason);
        out.send(local.conn, part.for_caps(local.caps));
    }
    for &(member, _) in &taken.members {
        w.part_channel(ch, member);
    }
    if w.channels.get(ch).is_some_and(|c| c.name == name) {
        w.remove_channel(ch);
    }
    taken
}

/// Merges a taken channel into the renamed `into` by the rules of a channel burst (an
/// `SJOIN` of it, which is what the servers that learn of it after the rename apply): the
/// older timestamp's modes, lists and statuses win, equal ones unite; the newer topic
/// wins; the older OID stays.
fn absorb(w: &mut World, into: ChanId, taken: Taken, src: &str, out: &mut Outbox) {
    if taken.ts < w.channels[into].created_ms {
        burst::lose_channel_ts(w, into, taken.ts, src, out);
    }
    let accept = taken.ts <= w.channels[into].created_ms;
    if accept {
        let (word, args) = &taken.modes;
        let words: Vec<&[u8]> = std::iter::once(word.as_bytes())
            .chain(args.iter().map(String::as_bytes))
            .collect();
        burst::merge_modes(w, into, &words, src, out);
        let mut added = Vec::new();
        for (letter, list) in taken.lists {
            for ban in list {
                let chan = &mut w.channels[into];
                if !chan
                    .list(letter)
                    .iter()
                    .any(|b| w.cm.eq(&b.mask, &ban.mask))
                {
                    added.push((letter, ban.mask.to_string()));
                    chan.list_mut(letter).push(ban);
                }
            }
        }
        burst::announce_modes(w, into, src, true, &added, out);
    }
    if let Some(t) = taken.topic {
        let newer = w.channels[into]
            .topic
            .as_ref()
            .is_none_or(|ours| (t.time, &t.text) > (ours.time, &ours.text));
        if newer {
            set_topic(w, into, &t.text, &t.setter, t.time, src, out);
        }
    }
    let mut fresh = Vec::new();
    for (cid, flags) in taken.members {
        if w.clients.get(cid).is_none() {
            continue;
        }
        if !w.channels[into].members.contains_key(&cid) {
            fresh.push(cid);
        }
        let flags = if accept { flags } else { Status::NONE };
        burst::join_member(w, into, cid, flags, src, out);
    }
    // Those who were in the taken channel here saw their JOIN; the rest of a JOIN's burst.
    for cid in fresh {
        if let Some(conn) = w.clients[cid].conn {
            after_join(w, conn, cid, into, out);
        }
    }
    let ours = (w.channels[into].oid_ms, w.channels[into].oid);
    if taken.oid < ours {
        w.adopt_oid(into, taken.oid.1, taken.oid.0);
    }
    if let Some(cfg) = taken.registered {
        w.apply_channels(&[], std::slice::from_ref(&cfg), out);
    }
}
