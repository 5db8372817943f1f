//! The burst: everything this server knows, told to a new link (servers, users, channels,
//! end of burst), and the channel burst received from one (SJOIN, TB, BMASK), merged by
//! channel timestamp: the older channel's modes and statuses win, equal ones merge.

use super::{cap, LinkMsg};
use crate::core::dispatch::{Ctx, HResult};
use crate::core::handlers::channel::set_topic;
use crate::core::handlers::ircx::event::EventType;
use crate::core::modes::{self, Kind, Status};
use crate::core::state::{Ban, ME};
use crate::core::{ChanId, ClientId, ConnId, Outbox, ServerId, World};
use crate::proto::casemap::valid_channel;
use crate::proto::line::Line;
use crate::proto::Message;

impl World {
    /// `:<server> NICK <nick> <hop> <ts> <user> <host> <sid> +<umodes> :<realname>`.
    pub fn intro_msg(&self, cid: ClientId) -> LinkMsg {
        let c = &self.clients[cid];
        let s = &self.servers[c.server];
        let mut modes = String::from("+");
        for &(letter, bit) in crate::core::state::umode::ALL {
            if c.has(bit & crate::core::state::umode::LINKED) {
                modes.push(letter as char);
            }
        }
        LinkMsg::new(&s.name, "NICK")
            .arg(&*c.nick)
            .arg((s.hop + 1).to_string())
            .arg(c.ts.to_string())
            .arg(&*c.user)
            .arg(&*c.host)
            .arg(s.sid.to_string())
            .arg(modes)
            .trailing(&c.realname)
    }

    /// `:<uplink> SERVER <name> <hop> <sid> :<description>`, as seen one hop further.
    pub fn server_msg(&self, idx: ServerId) -> LinkMsg {
        let s = &self.servers[idx];
        LinkMsg::new(&self.servers[s.uplink].name, "SERVER")
            .arg(&*s.name)
            .arg((s.hop + 1).to_string())
            .arg(s.sid.to_string())
            .trailing(&*s.description)
    }

    /// `SJOIN <ts> <chan> <modes> [args…] :<members>`; `members` with status prefixes.
    pub fn sjoin_msg(&self, ch: ChanId, modes: &str, args: &[String], members: &str) -> LinkMsg {
        let chan = &self.channels[ch];
        let mut m = LinkMsg::new(&self.me().name, "SJOIN")
            .arg(chan.created_ms.to_string())
            .arg(&*chan.name)
            .arg(modes);
        for a in args {
            m = m.arg(a);
        }
        m.trailing(members)
    }

    /// Channel state as SJOIN lines (members split to fit), then the OID (to IRCX links),
    /// topic, bans, and (to IRCX links) properties and access entries.
    pub fn channel_burst(&self, ch: ChanId) -> Vec<LinkMsg> {
        let chan = &self.channels[ch];
        let me = &*self.me().name;
        let (modes, args) = mode_words(chan);
        let mut msgs = Vec::new();
        let mut members = String::new();
        for (&cid, &flags) in &chan.members {
            let nick = &self.clients[cid].nick;
            if members.len() + nick.len() + 3 > 400 {
                msgs.push(self.sjoin_msg(ch, &modes, &args, &members));
                members.clear();
            }
            if !members.is_empty() {
                members.push(' ');
            }
            flags.push_prefixes(&mut members, true, 0);
            members.push_str(nick);
        }
        msgs.push(self.sjoin_msg(ch, &modes, &args, &members));
        msgs.push(super::oid::burst_line(self, ch));
        if let Some(t) = &chan.topic {
            msgs.push(
                LinkMsg::new(me, "TB")
                    .arg(&*chan.name)
                    .arg(t.time.to_string())
                    .arg(&*t.setter)
                    .trailing(&t.text)
                    .needs(cap::TB),
            );
        }
        // `e` and `I` too: an older Portico ignores a BMASK for a list it lacks.
        for letter in [b'b', b'e', b'I'] {
            for chunk in chan.list(letter).chunks(10) {
                let masks: Vec<&str> = chunk.iter().map(|b| &*b.mask).collect();
                msgs.push(
                    LinkMsg::new(me, "BMASK")
                        .arg(chan.created_ms.to_string())
                        .arg(&*chan.name)
                        .arg([letter])
                        .trailing(masks.join(" "))
                        .needs(cap::BMASK),
                );
            }
        }
        msgs.extend(super::props::burst_lines(self, ch));
        msgs.extend(super::access::channel_burst(self, ch));
        msgs
    }

    /// Everything this server knows, for a new link: servers, users, channels, end of burst.
    pub fn send_burst(&self, conn: ConnId, out: &mut Outbox) {
        let peer = self.link(conn).map(|l| l.server);
        let mut order: Vec<ServerId> = self
            .servers
            .iter()
            .map(|(i, _)| i)
            .filter(|&i| i != ME && Some(i) != peer)
            .collect();
        order.sort_by_key(|&i| self.servers[i].hop);
        for i in order {
            if self.servers[i].via != Some(conn) {
                self.send_link(conn, &self.server_msg(i), out);
                if let Some(m) = self.no_rename_msg(i) {
                    self.send_link(conn, &m, out);
                }
            }
        }
        for (cid, c) in &self.clients {
            if self.route(cid) == Some(conn) {
                continue;
            }
            self.send_link(conn, &self.intro_msg(cid), out);
            if self.account(cid).is_some() {
                self.send_link(conn, &self.account_link_msg(cid), out);
            }
            if let Some(away) = &c.away {
                let m = LinkMsg::new(&c.nick, "AWAY")
                    .trailing(away)
                    .needs(cap::AWAY);
                self.send_link(conn, &m, out);
            }
            if let Some(m) = crate::core::handlers::mode::gag_burst_line(self, cid) {
                self.send_link(conn, &m, out);
            }
            for m in crate::core::handlers::metadata::link::burst_lines(self, cid) {
                self.send_link(conn, &m, out);
            }
        }
        // An empty (registered) channel has nothing the peer needs: its first member's
        // SJOIN will carry it.
        for (ch, _) in self.channels.iter().filter(|(_, c)| !c.members.is_empty()) {
            for m in self.channel_burst(ch) {
                self.send_link(conn, &m, out);
            }
        }
        for m in super::access::network_burst(self) {
            self.send_link(conn, &m, out);
        }
        let eob = LinkMsg::new(&self.me().name, "EOB").needs(cap::EOB);
        self.send_link(conn, &eob, out);
    }
}

/// A channel's modes as other servers get them: flags (`+nt`), then the modes with a value
/// (`kl`) and their values, in mode table order. Server-only flags stay here.
pub fn mode_words(chan: &crate::core::Channel) -> (String, Vec<String>) {
    mode_words_of(chan, !modes::server_only_bits())
}

/// [`mode_words`] with every flag, as members are shown them (324).
pub fn shown_mode_words(chan: &crate::core::Channel) -> (String, Vec<String>) {
    mode_words_of(chan, u32::MAX)
}

fn mode_words_of(chan: &crate::core::Channel, flags: u32) -> (String, Vec<String>) {
    let mut modes = String::from("+");
    for (c, bit) in modes::flags() {
        if chan.has(bit & flags) {
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

/// `:<server> SJOIN <ts> <chan> <modes> [args…] :[@][+]nick …`: members, with the channel
/// timestamp deciding whose modes and statuses count.
pub fn sjoin(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let n = msg.len();
    if !valid_channel(msg.param(1), crate::limits::CHANNEL_LEN) {
        return Ok(());
    }
    let src_name = ctx.source_name();
    let (w, conn, out) = (&mut *ctx.w, ctx.conn, &mut *ctx.out);
    let ts: u64 = msg.param_str(0).and_then(|s| s.parse().ok()).unwrap_or(0);
    let name = msg.param_str(1).expect("valid_channel checks UTF-8");
    let live = live_sjoin(w, conn);
    let (ch, accept_modes, mut unannounced) = match w.find_channel(name.as_bytes()) {
        None => {
            let ch = w.create_channel(name, ts);
            // Made here for now: the creator's OID, when it comes, replaces it.
            w.channels[ch].oid_ms = u64::MAX;
            (ch, true, live)
        }
        Some(ch) => {
            let ours = w.channels[ch].created_ms;
            if ts < ours {
                lose_channel_ts(w, ch, ts, &src_name, out);
            }
            (ch, ts <= ours, false)
        }
    };
    if accept_modes {
        let words: Vec<&[u8]> = msg.params()[2..n - 1].to_vec();
        merge_modes(w, ch, &words, &src_name, out);
    }
    for token in msg
        .param(n - 1)
        .split(|&b| b == b' ')
        .filter(|t| !t.is_empty())
    {
        let (flags, nick) = Status::parse_prefixed(token);
        let Some(cid) = w.find_nick(nick) else {
            continue;
        };
        if w.route(cid) != Some(conn) {
            continue;
        }
        if live && !w.channels[ch].members.contains_key(&cid) {
            join_events(w, ch, cid, std::mem::take(&mut unannounced));
        }
        join_member(
            w,
            ch,
            cid,
            if accept_modes { flags } else { Status::NONE },
            &src_name,
            out,
        );
    }
    if w.channels[ch].members.is_empty() && !w.channels[ch].is_registered() {
        // A new channel nobody known here joined (unknown or wrong-direction nicks): it
        // must not stay behind empty, nor be passed on.
        w.remove_channel(ch);
        return Ok(());
    }
    ctx.propagate(&LinkMsg::relay(msg));
    Ok(())
}

/// Whether an SJOIN from `conn` is a live join rather than the peer's burst: a burst
/// raises no events, since it shows what already was (a link without `EOB` never says when
/// its burst ends, so all it sends counts as live).
fn live_sjoin(w: &World, conn: ConnId) -> bool {
    w.link(conn)
        .is_some_and(|l| l.synced || l.caps & cap::EOB == 0)
}

/// IRCX EVENTs for a remote user joining: `CHANNEL CREATE` first when their SJOIN made
/// the channel (they are its creator), then `MEMBER JOIN`, as a local JOIN raises them.
fn join_events(w: &mut World, ch: ChanId, cid: ClientId, created: bool) {
    if !w.events_wanted() {
        return;
    }
    let (name, mask) = (w.channels[ch].name.to_string(), w.clients[cid].mask());
    if created {
        let oid = w.channels[ch].oid_str();
        let params: &[&str] = &[&name, &oid, &mask];
        w.raise_event(EventType::Channel, "CREATE", Some(cid), params, None);
    }
    w.raise_event(EventType::Member, "JOIN", Some(cid), &[&name, &mask], None);
}

/// Our channel is younger: its modes, bans and statuses go; local members are told.
pub(crate) fn lose_channel_ts(w: &mut World, ch: ChanId, ts: u64, src: &str, out: &mut Outbox) {
    if w.events_wanted() {
        let (name, oid) = (w.channels[ch].name.to_string(), w.channels[ch].oid_str());
        w.raise_event(
            EventType::Channel,
            "COLLISION",
            None,
            &[&name, &oid, src],
            None,
        );
    }
    let chan = &mut w.channels[ch];
    chan.created_ms = ts;
    chan.created = ts / 1000;
    let mut removed: Vec<(u8, String)> = Vec::new();
    // Registration is this server's own (its configuration): a merge never takes it.
    let kept = chan.modes & modes::server_only_bits();
    for (c, bit) in modes::flags() {
        if chan.modes & bit & !kept != 0 {
            removed.push((c, String::new()));
        }
    }
    if chan.key.take().is_some() {
        removed.push((b'k', "*".into()));
    }
    if chan.limit != 0 {
        chan.limit = 0;
        removed.push((b'l', String::new()));
    }
    chan.modes = kept;
    for ban in std::mem::take(&mut chan.bans) {
        removed.push((b'b', ban.mask.to_string()));
    }
    for (letter, list) in chan
        .exceptions
        .take()
        .map_or_else(Vec::new, |x| vec![(b'e', x.excepts), (b'I', x.invex)])
    {
        removed.extend(list.into_iter().map(|b| (letter, b.mask.to_string())));
    }
    let members: Vec<(ClientId, Status)> = chan.members.iter().map(|(&c, &f)| (c, f)).collect();
    for (cid, flags) in members {
        for d in flags.each() {
            removed.push((d.letter, w.clients[cid].nick.to_string()));
        }
        w.add_member(ch, cid, Status::NONE);
    }
    announce_modes(w, ch, src, false, &removed, out);
    super::props::lose_props(w, ch, src, out);
    super::access::lose_access(w, ch);
}

/// Adds the modes in `words` (`+ntk key`) to the channel, announcing what changed.
pub(crate) fn merge_modes(w: &mut World, ch: ChanId, words: &[&[u8]], src: &str, out: &mut Outbox) {
    let Some((modes, mut args)) = words.split_first().map(|(m, rest)| (*m, rest.iter())) else {
        return;
    };
    let mut added: Vec<(u8, String)> = Vec::new();
    let chan = &mut w.channels[ch];
    for &c in modes.iter().filter(|&&c| c != b'+') {
        match c {
            b'k' => {
                // Kept as a local MODE +k keeps it: a key with a comma or a space could
                // never be given in a JOIN.
                let key = crate::core::handlers::mode::clean_key(
                    args.next().copied().unwrap_or_default(),
                )
                .map(String::from)
                .unwrap_or_default();
                // Equal timestamps: the greater key wins on both sides alike.
                if !key.is_empty() && chan.key.as_deref().is_none_or(|k| key.as_str() > k) {
                    chan.key = Some(key.as_str().into());
                    added.push((b'k', key));
                }
            }
            b'l' => {
                let limit: u32 = std::str::from_utf8(args.next().copied().unwrap_or_default())
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if limit > chan.limit {
                    chan.limit = limit;
                    added.push((b'l', limit.to_string()));
                }
            }
            _ => {
                if let Some(bit) = modes::channel_mode(c)
                    .filter(|m| m.kind == Kind::Flag && !m.server_only)
                    .map(|m| modes::flag_bit(m.letter))
                {
                    if chan.modes & bit == 0 {
                        chan.modes |= bit;
                        added.push((c, String::new()));
                    }
                }
            }
        }
    }
    announce_modes(w, ch, src, true, &added, out);
}

/// Shows local members mode changes made by a merge, at most four parameters a line.
pub(crate) fn announce_modes(
    w: &mut World,
    ch: ChanId,
    src: &str,
    plus: bool,
    changes: &[(u8, String)],
    out: &mut Outbox,
) {
    let name = w.channels[ch].name.clone();
    let mut rest = changes;
    while !rest.is_empty() {
        let mut letters = String::from(if plus { "+" } else { "-" });
        let mut args = Vec::new();
        let mut used = 0;
        for (c, arg) in rest {
            if !arg.is_empty() {
                if args.len() == 4 {
                    break;
                }
                args.push(arg.clone());
            }
            letters.push(*c as char);
            used += 1;
        }
        rest = &rest[used..];
        let mut line = Line::new(src, "MODE").arg(&*name).arg(&letters);
        for a in &args {
            line = line.arg(a);
        }
        w.mode_to_channel(ch, line.finish(), out);
    }
}

/// Puts a remote user into a channel and shows the JOIN (and any status) to local members.
pub(crate) fn join_member(
    w: &mut World,
    ch: ChanId,
    cid: ClientId,
    flags: Status,
    src: &str,
    out: &mut Outbox,
) {
    let status_changes = |w: &World, added: Status| -> Vec<(u8, String)> {
        let nick = w.clients[cid].nick.to_string();
        added.each().map(|d| (d.letter, nick.clone())).collect()
    };
    if let Some(old) = w.channels[ch].members.get(&cid).copied() {
        let added = flags.without(old);
        if !added.is_empty() {
            w.add_member(ch, cid, old.with(added));
            let changes = status_changes(w, added);
            announce_modes(w, ch, src, true, &changes, out);
        }
        return;
    }
    w.add_member(ch, cid, flags);
    w.channels[ch].invites.retain(|&i| i != cid);
    w.clients[cid].chans.push(ch);
    crate::core::handlers::channel::announce_join(w, ch, cid, out);
    if !flags.is_empty() {
        let changes = status_changes(w, flags);
        announce_modes(w, ch, src, true, &changes, out);
    }
}

/// `:<server> TB <chan> <time> <setter> :<text>`: burst topic; the newer one wins
/// everywhere (ties: the greater text), so both sides of a rejoin agree.
pub fn topic_burst(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let src = ctx.source_name();
    let w = &mut *ctx.w;
    let Some(ch) = w.find_channel(msg.param(0)) else {
        return Ok(());
    };
    let time: u64 = msg.param_str(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let text = msg.param(3);
    let newer = match &w.channels[ch].topic {
        None => true,
        Some(t) => (time, text) > (t.time, &t.text[..]),
    };
    if !newer || text.is_empty() {
        return Ok(());
    }
    let setter = String::from_utf8_lossy(msg.param(2)).into_owned();
    set_topic(w, ch, text, &setter, time, &src, ctx.out);
    ctx.propagate(&LinkMsg::relay(msg));
    Ok(())
}

/// `:<server> BMASK <ts> <chan> b|e|I :<mask> …`: bans, ban exceptions or invite exceptions
/// of a channel at least as old as ours.
pub fn bmask(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let src = ctx.source_name();
    let w = &mut *ctx.w;
    let Some(ch) = w.find_channel(msg.param(1)) else {
        return Ok(());
    };
    let ts: u64 = msg
        .param_str(0)
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX);
    let letter = match msg.param(2) {
        [l @ (b'b' | b'e' | b'I')] => *l,
        _ => return Ok(()),
    };
    if ts > w.channels[ch].created_ms {
        return Ok(());
    }
    let mut added = Vec::new();
    for mask in String::from_utf8_lossy(msg.param(3)).split_whitespace() {
        let chan = &mut w.channels[ch];
        if chan.list(letter).len() < w.config.limits.max_list_entries
            && !chan.list(letter).iter().any(|b| w.cm.eq(&b.mask, mask))
        {
            chan.list_mut(letter).push(Ban {
                mask: mask.into(),
                setter: src.as_str().into(),
                time: w.now.unix_s(),
            });
            added.push((letter, mask.to_string()));
        }
    }
    announce_modes(w, ch, &src, true, &added, ctx.out);
    ctx.propagate(&LinkMsg::relay(msg));
    Ok(())
}

/// `:<server> EOB`: the peer's burst is over.
pub fn eob(ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    ctx.w.burst_ended(ctx.conn);
    Ok(())
}
