//! Channel membership and channel queries: JOIN PART TOPIC NAMES LIST KICK INVITE.

use crate::core::caps;
use crate::core::dispatch::{err, Ctx, HResult, Source};
use crate::core::fanout::Msg;
use crate::core::handlers::ircx::access::{on_join, OnJoin};
use crate::core::handlers::ircx::event::EventType;
use crate::core::handlers::ircx::prop::{key_status, send_greeting, Prop};
use crate::core::modes::{self, Status};
use crate::core::paging::{self, Cursor, Lister, Member};
use crate::core::portal::LinkMsg;
use crate::core::state::{cmode, umode, Topic};
use crate::core::{ChanId, ClientId, ConnId, Outbox, World};
use crate::limits::*;
use crate::proto::casemap::{valid_channel, wild_match};
use crate::proto::line::Line;
use crate::proto::numeric::{self as n, Numeric};
use crate::proto::Message;

/// `text` cut to at most `max` bytes, never inside a UTF-8 sequence (TOPICLEN, KICKLEN,
/// AWAYLEN must not leave half a character behind).
pub fn cut(text: &[u8], max: usize) -> &[u8] {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && text[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    &text[..end]
}

fn split(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    list.split(|&b| b == b',').filter(|s| !s.is_empty())
}

/// True if `cid` matches a ban of `ch` and no ban exception (`+e`).
pub fn is_banned(w: &World, ch: ChanId, cid: ClientId) -> bool {
    let chan = &w.channels[ch];
    !chan.bans.is_empty() && on_list(w, ch, b'b', cid) && !on_list(w, ch, b'e', cid)
}

/// True if `cid` matches a mask of `ch`'s list mode `letter`.
pub fn on_list(w: &World, ch: ChanId, letter: u8, cid: ClientId) -> bool {
    let list = w.channels[ch].list(letter);
    if list.is_empty() {
        return false;
    }
    w.clients[cid].with_mask(|mask| {
        list.iter()
            .any(|b| wild_match(w.cm, b.mask.as_bytes(), mask))
    })
}

pub fn join(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let cid = ctx.client();
    if msg.param(0) == b"0" {
        for ch in ctx.w.clients[cid].chans.clone() {
            part_one(ctx, ch, None);
        }
        return Ok(());
    }
    let mut keys = split(msg.param(1));
    for name in split(msg.param(0)) {
        let key = keys.next();
        if let Err(reply) = join_one(ctx, cid, name, key, None) {
            let args: Vec<&[u8]> = reply.args.iter().map(Vec::as_slice).collect();
            ctx.w.reply(ctx.out, ctx.conn, reply.num, &args);
        }
    }
    Ok(())
}

/// The modes a channel is created with: JOIN's defaults (`+nt`), or CREATE's own.
pub struct InitialModes {
    pub flags: u32,
    pub key: Option<Box<str>>,
    pub limit: u32,
}

impl Default for InitialModes {
    fn default() -> Self {
        InitialModes {
            flags: cmode::NO_EXTERNAL | cmode::TOPIC_OPS,
            key: None,
            limit: 0,
        }
    }
}

/// Joins (or creates, with `initial` modes or the defaults) one channel: the JOIN, its
/// topic and names to the joiner, the JOIN to members and links.
pub fn join_one(
    ctx: &mut Ctx<'_>,
    cid: ClientId,
    name: &[u8],
    key: Option<&[u8]>,
    initial: Option<InitialModes>,
) -> HResult {
    if !valid_channel(name, CHANNEL_LEN) {
        let num = if matches!(name.first(), Some(b'#' | b'&')) {
            n::ERR_BADCHANNAME
        } else {
            n::ERR_NOSUCHCHANNEL
        };
        return Err(err(num, &[name]));
    }
    let w = &mut *ctx.w;
    let name = std::str::from_utf8(name).expect("valid_channel checks UTF-8");
    let (ch, creating) = match w.find_channel(name.as_bytes()) {
        Some(found) => {
            if w.channels[found].members.contains_key(&cid) {
                return Ok(());
            }
            if w.clients[cid].chans.len() >= w.config.limits.max_channels_per_client {
                return Err(err(n::ERR_TOOMANYCHANNELS, &[name.as_bytes()]));
            }
            // IRCX OWNERKEY / HOSTKEY: the joiner is an owner or a host, whatever else
            // would keep them out.
            // IRCX ACCESS: OWNER and HOST entries act like those keys; VOICE and GRANT
            // open some doors, DENY closes one.
            let access = on_join(w.channel_verdict(found, cid));
            let status = key_status(&w.channels[found], key).max(access.status);
            let mut ch = found;
            if let Some(num) = refusal(w, found, cid, key, access).filter(|_| !status.is_op()) {
                match overflow(w, found, cid, num, ctx.out) {
                    Some(clone) => ch = clone,
                    None => {
                        // IRCX +u: the channel's hosts hear of a refused join.
                        super::ircx::knock::knock(w, found, cid, num, ctx.out);
                        return Err(err(num, &[name.as_bytes()]));
                    }
                }
                if w.channels[ch].members.contains_key(&cid) {
                    return Ok(());
                }
            }
            w.add_member(ch, cid, status);
            w.channels[ch].invites.retain(|&i| i != cid);
            (ch, false)
        }
        None => {
            if w.clients[cid].chans.len() >= w.config.limits.max_channels_per_client {
                return Err(err(n::ERR_TOOMANYCHANNELS, &[name.as_bytes()]));
            }
            // The global cap holds for channels users make here; remote and registered ones
            // exist whatever it says (the network must agree on them).
            let cap = w.config.limits.max_channels;
            if cap != 0 && w.channels.len() >= cap {
                return Err(err(n::ERR_UNAVAILRESOURCE, &[name.as_bytes()]));
            }
            let ch = w.create_channel(name, w.now.unix_ms);
            let chan = &mut w.channels[ch];
            let initial = initial.unwrap_or_default();
            chan.modes = initial.flags;
            chan.key = initial.key;
            chan.limit = initial.limit;
            // An IRCX creator owns the channel; RFC clients get the op they expect.
            let ircx = w.clients[cid].caps & caps::DIALECT_IRCX != 0;
            w.add_member(ch, cid, if ircx { Status::OWNER } else { Status::OP });
            if w.events_wanted() {
                let (oid, mask) = (w.channels[ch].oid_str(), w.clients[cid].mask());
                let params: &[&str] = &[name, &oid, &mask];
                w.raise_event(EventType::Channel, "CREATE", Some(cid), params, None);
            }
            (ch, true)
        }
    };
    w.clients[cid].chans.push(ch);
    if w.events_wanted() {
        let (cname, mask) = (w.channels[ch].name.clone(), w.clients[cid].mask());
        w.raise_event(EventType::Member, "JOIN", Some(cid), &[&cname, &mask], None);
    }
    announce_join(w, ch, cid, ctx.out);
    let given = w.channels[ch].members[&cid];
    if !creating && !given.is_empty() {
        // Made an owner, host or voice by a key or an ACCESS entry: members (and the
        // joiner) see a server mode.
        let letter = if given.contains(Status::OWNER) {
            "+q"
        } else if given.is_op() {
            "+o"
        } else {
            "+v"
        };
        let line = Line::new(w.name(), "MODE")
            .arg(&*w.channels[ch].name)
            .arg(letter)
            .arg(&*w.clients[cid].nick)
            .finish();
        w.mode_to_channel(ch, line, ctx.out);
    }
    if !w.links.is_empty() {
        link_join(w, ch, cid, ctx.out);
    }
    after_join(w, ctx.conn, cid, ch, ctx.out);
    send_greeting(w, ch, cid, Prop::OnJoin, ctx.out);
    Ok(())
}

/// What a client gets after its own JOIN line, wherever the join came from (JOIN, a rename
/// shown as PART and JOIN, channels merged by a link): the topic, its read marker, NAMES
/// and the channel's metadata.
pub fn after_join(w: &mut World, conn: ConnId, cid: ClientId, ch: ChanId, out: &mut Outbox) {
    if w.channels[ch].topic.is_some() {
        send_topic(w, conn, ch, out);
    }
    // draft/read-marker: before the RPL_ENDOFNAMES that follows the JOIN.
    super::read_marker::on_join(w, conn, cid, ch, out);
    // IRCv3 draft/no-implicit-names: the client asks for NAMES when it wants them.
    if w.clients[cid].caps & caps::NO_IMPLICIT_NAMES == 0 {
        send_names(w, conn, cid, ch, out);
    }
    super::metadata::notify::on_join(w, conn, cid, ch, out);
}

/// Tells other servers of a local join. A channel new to the network (just created, or
/// registered here and empty until now) goes as its whole burst: modes, topic, bans.
/// Joining one they know is an SJOIN that changes no modes ("+").
fn link_join(w: &World, ch: ChanId, cid: ClientId, out: &mut Outbox) {
    if w.channels[ch].members.len() == 1 {
        for m in w.channel_burst(ch) {
            w.to_links(None, &m, out);
        }
        return;
    }
    let mut who = String::new();
    w.channels[ch].members[&cid].push_prefixes(&mut who, true, 0);
    who.push_str(&w.clients[cid].nick);
    let sjoin = w.sjoin_msg(ch, "+", &[], &who);
    w.to_links(None, &sjoin, out);
}

/// IRCX CLONEABLE: the clone a refused joiner goes to instead, when the refusal was only
/// that the channel is full (a ban still keeps them out of every clone).
fn overflow(
    w: &mut World,
    ch: ChanId,
    cid: ClientId,
    refused: Numeric,
    out: &mut Outbox,
) -> Option<ChanId> {
    let cloneable = w.channels[ch].has(cmode::CLONEABLE);
    if !cloneable || refused.code != n::ERR_CHANNELISFULL.code || is_banned(w, ch, cid) {
        return None;
    }
    super::ircx::clone::clone_for(w, ch, out)
}

/// Why `cid` may not join `ch` with `key`, if it may not: invite-only, key, limit, ban or
/// ACCESS DENY (an invitation opens every one of them; an ACCESS GRANT all but the limit).
/// A DENY, or a GRANT-only list that does not name the joiner, is a ban: 474, the numeric
/// clients already show as "banned", and the one KNOCK reports.
fn refusal(
    w: &World,
    ch: ChanId,
    cid: ClientId,
    key: Option<&[u8]>,
    access: OnJoin,
) -> Option<Numeric> {
    let chan = &w.channels[ch];
    if chan.invites.contains(&cid) {
        return None;
    }
    if chan.has(cmode::AUTHONLY) && w.account(cid).is_none() {
        return Some(n::ERR_NEEDREGGEDNICK);
    }
    if chan.has(cmode::INVITE) && !access.grant && !on_list(w, ch, b'I', cid) {
        return Some(n::ERR_INVITEONLYCHAN);
    }
    if chan
        .key
        .as_deref()
        .is_some_and(|k| key != Some(k.as_bytes()))
        && !access.grant
    {
        return Some(n::ERR_BADCHANNELKEY);
    }
    if chan.limit != 0 && chan.members.len() >= chan.limit as usize {
        return Some(n::ERR_CHANNELISFULL);
    }
    if access.deny || !access.grant && is_banned(w, ch, cid) {
        return Some(n::ERR_BANNEDFROMCHAN);
    }
    None
}

/// Shows local members (the joiner included, if local) that `cid` joined: plain or
/// extended-join form, and its away state to away-notify clients.
pub fn announce_join(w: &mut World, ch: ChanId, cid: ClientId, out: &mut Outbox) {
    let mut m = join_msg(w, ch, cid);
    w.to_channel_about(ch, cid, &mut m, out);
    if let Some(away) = &w.clients[cid].away {
        // away-notify: members learn the newcomer is away without polling.
        let line = w.clients[cid].line("AWAY").trailing(away).finish();
        let mut m = Msg::new(line, w.now.unix_ms);
        let hosts_only = w.in_audience(ch, cid);
        let members: Vec<ClientId> = w.channels[ch]
            .members
            .iter()
            .filter(|&(&m, s)| m != cid && (!hosts_only || s.is_op()))
            .map(|(&m, _)| m)
            .collect();
        for member in members {
            if w.clients[member].caps & caps::AWAY_NOTIFY != 0 {
                w.send_client(member, &mut m, out);
            }
        }
    }
}

/// `cid`'s JOIN of `ch`, in the plain and the extended-join form.
pub fn join_msg(w: &World, ch: ChanId, cid: ClientId) -> Msg {
    let c = &w.clients[cid];
    let chan_name = &*w.channels[ch].name;
    let plain = c.line("JOIN").arg(chan_name).finish();
    // extended-join: the account, `*` when logged out.
    let ext = c
        .line("JOIN")
        .arg(chan_name)
        .arg(w.account(cid).unwrap_or("*"))
        .trailing(&c.realname)
        .finish();
    w.user_msg(cid, plain).with_ext_join(ext)
}

pub fn send_topic(w: &World, conn: ConnId, ch: ChanId, out: &mut Outbox) {
    let chan = &w.channels[ch];
    match &chan.topic {
        Some(t) => {
            let line = w
                .num(conn, n::RPL_TOPIC)
                .arg(&*chan.name)
                .trailing(&t.text)
                .finish();
            out.send(conn, line);
            let time = t.time.to_string();
            let line = w
                .num(conn, n::RPL_TOPICWHOTIME)
                .arg(&*chan.name)
                .arg(&*t.setter)
                .arg(&time)
                .finish();
            out.send(conn, line);
        }
        None => w.reply(out, conn, n::RPL_NOTOPIC, &[chan.name.as_bytes()]),
    }
}

/// 353 lines (as many as needed) and 366, a page at a time (core/paging.rs).
pub fn send_names(w: &mut World, conn: ConnId, viewer: ClientId, ch: ChanId, out: &mut Outbox) {
    let chan = &w.channels[ch];
    let symbol = if chan.has(cmode::SECRET) {
        "@"
    } else if chan.has(cmode::PRIVATE) {
        "*"
    } else {
        "="
    };
    let lister = Names {
        viewer,
        ch,
        oid: chan.oid,
        name: chan.name.clone(),
        symbol,
        is_member: chan.members.contains_key(&viewer),
        hosts_only: w.in_audience(ch, viewer),
        names: String::new(),
    };
    let cursor = Cursor::members(w, ch);
    paging::start(w, conn, lister, cursor, out);
}

/// NAMES of one channel: nicks packed into 353 lines; what may be seen is decided at the
/// start, each member shown as they are when their turn comes.
struct Names {
    viewer: ClientId,
    ch: ChanId,
    /// The channel listed: a channel made later in the same slot has another OID.
    oid: u32,
    /// For 366, also when the channel is gone by then.
    name: Box<str>,
    symbol: &'static str,
    is_member: bool,
    hosts_only: bool,
    /// Names not sent yet (a 353 holds as many as fit).
    names: String,
}

impl Names {
    fn flush(&mut self, w: &World, conn: ConnId, out: &mut Outbox) {
        if !self.names.is_empty() {
            let head = w
                .num(conn, n::RPL_NAMREPLY)
                .arg(self.symbol)
                .arg(&*self.name);
            out.send(conn, head.trailing(self.names.as_bytes()).finish());
            self.names.clear();
        }
    }
}

impl Lister for Names {
    fn item(&mut self, w: &World, conn: ConnId, id: u32, out: &mut Outbox) -> bool {
        let (member, flags) = match paging::member(w, self.ch, self.oid, id) {
            Member::Here(_, member, flags) => (member, flags),
            Member::Left => return true,
            Member::ChannelGone => return false,
        };
        let c = &w.clients[member];
        if !self.is_member && c.has(umode::INVISIBLE) {
            return true;
        }
        // IRCX AUDITORIUM: an ordinary member sees the hosts and themselves.
        if self.hosts_only && !flags.is_op() && member != self.viewer {
            return true;
        }
        if self.names.len() + c.nick.len() + c.user.len() + c.host.len() + 4 > 400 {
            self.flush(w, conn, out);
        }
        if !self.names.is_empty() {
            self.names.push(' ');
        }
        let viewer_caps = w.clients[self.viewer].caps;
        w.push_member_prefixes(
            &mut self.names,
            flags,
            viewer_caps & caps::MULTI_PREFIX != 0,
            viewer_caps,
        );
        if viewer_caps & caps::USERHOST_IN_NAMES != 0 {
            self.names.push_str(&c.mask());
        } else {
            self.names.push_str(&c.nick);
        }
        true
    }
    fn page_end(&mut self, w: &World, conn: ConnId, out: &mut Outbox) {
        self.flush(w, conn, out);
    }
    fn end(&mut self, w: &World, conn: ConnId, out: &mut Outbox) {
        self.flush(w, conn, out);
        w.reply(out, conn, n::RPL_ENDOFNAMES, &[self.name.as_bytes()]);
    }
}

/// 366 alone: NAMES of a channel that is not there (or secret, seen from outside). Paged
/// like the others, so it keeps its place behind a listing still going out.
struct NoNames(Box<[u8]>);

impl Lister for NoNames {
    fn item(&mut self, _: &World, _: ConnId, _: u32, _: &mut Outbox) -> bool {
        false
    }
    fn end(&mut self, w: &World, conn: ConnId, out: &mut Outbox) {
        w.reply(out, conn, n::RPL_ENDOFNAMES, &[&self.0]);
    }
}

fn part_one(ctx: &mut Ctx<'_>, ch: ChanId, reason: Option<&[u8]>) {
    let cid = ctx.client();
    let w = &mut *ctx.w;
    let mut l = w.clients[cid].line("PART").arg(&*w.channels[ch].name);
    let mut link = LinkMsg::new(&w.clients[cid].nick, "PART").arg(&*w.channels[ch].name);
    if let Some(r) = reason {
        l = l.trailing(r);
        link = link.trailing(r);
    }
    let mut m = w.user_msg(cid, l.finish());
    w.to_channel_about(ch, cid, &mut m, ctx.out);
    send_greeting(w, ch, cid, Prop::OnPart, ctx.out);
    if w.events_wanted() {
        let (cname, mask) = (w.channels[ch].name.clone(), w.clients[cid].mask());
        w.raise_event(EventType::Member, "PART", Some(cid), &[&cname, &mask], None);
    }
    w.part_channel(ch, cid);
    ctx.propagate(&link);
}

pub fn part(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let cid = ctx.client();
    let reason = (msg.len() > 1).then(|| msg.param(1));
    for name in split(msg.param(0)) {
        match ctx.w.find_channel(name) {
            None => ctx.fail(err(n::ERR_NOSUCHCHANNEL, &[name])),
            Some(ch) if !ctx.w.channels[ch].members.contains_key(&cid) => {
                ctx.fail(err(n::ERR_NOTONCHANNEL, &[name]))
            }
            Some(ch) => part_one(ctx, ch, reason),
        }
    }
    Ok(())
}

/// `TOPIC <chan> [:text]` from a user here; `:<nick> TOPIC <chan> <time> :<text>` from a
/// link (the time travels, so every server shows the same).
pub fn topic(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let cid = ctx.client();
    let name = msg.param(0);
    let ch = ctx
        .w
        .find_channel(name)
        .ok_or_else(|| err(n::ERR_NOSUCHCHANNEL, &[name]))?;
    let (time, text) = if ctx.is_local() {
        let chan = &ctx.w.channels[ch];
        let member = chan.members.contains_key(&cid);
        if msg.len() < 2 {
            if !member && chan.is_secret() {
                return Err(err(n::ERR_NOTONCHANNEL, &[name]));
            }
            send_topic(ctx.w, ctx.conn, ch, ctx.out);
            return Ok(());
        }
        if !member {
            return Err(err(n::ERR_NOTONCHANNEL, &[name]));
        }
        if chan.has(cmode::TOPIC_OPS) && !chan.is_op(cid) {
            return Err(err(n::ERR_CHANOPRIVSNEEDED, &[name]));
        }
        (ctx.w.now.unix_s(), cut(msg.param(1), TOPIC_LEN))
    } else {
        let time = msg.param_str(1).and_then(|s| s.parse().ok());
        (time.unwrap_or(ctx.w.now.unix_s()), msg.param(2))
    };
    let w = &mut *ctx.w;
    let setter = w.clients[cid].mask();
    set_topic(w, ch, text, &setter, time, &setter, ctx.out);
    let link = LinkMsg::new(&w.clients[cid].nick, "TOPIC")
        .arg(&*w.channels[ch].name)
        .arg(time.to_string())
        .trailing(text);
    ctx.propagate(&link);
    Ok(())
}

/// Sets (or, with empty text, clears) a channel's topic and shows local members
/// `:<shown> TOPIC <chan> :<text>`.
pub fn set_topic(
    w: &mut World,
    ch: ChanId,
    text: &[u8],
    setter: &str,
    time: u64,
    shown: &str,
    out: &mut Outbox,
) {
    w.channels[ch].topic = (!text.is_empty()).then(|| Topic {
        text: text.into(),
        setter: setter.into(),
        time,
    });
    let line = Line::new(shown, "TOPIC")
        .arg(&*w.channels[ch].name)
        .trailing(text)
        .finish();
    let mut m = Msg::new(line, w.now.unix_ms);
    w.to_channel(ch, None, &mut m, out, |_| true);
    if w.events_wanted() {
        let name = w.channels[ch].name.to_string();
        let text = String::from_utf8_lossy(text);
        w.raise_event(
            EventType::Channel,
            "TOPIC",
            None,
            &[&name, setter],
            Some(&text),
        );
    }
}

pub fn names(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let cid = ctx.client();
    if msg.is_empty() {
        ctx.w.reply(ctx.out, ctx.conn, n::RPL_ENDOFNAMES, &[b"*"]);
        return Ok(());
    }
    for name in split(msg.param(0)) {
        match ctx.w.find_channel(name) {
            Some(ch)
                if !ctx.w.channels[ch].has(cmode::SECRET)
                    || ctx.w.channels[ch].members.contains_key(&cid) =>
            {
                send_names(ctx.w, ctx.conn, cid, ch, ctx.out)
            }
            _ => {
                let lister = NoNames(name.into());
                paging::start(ctx.w, ctx.conn, lister, Cursor::empty(), ctx.out);
            }
        }
    }
    Ok(())
}

/// LIST's filters (ISUPPORT `ELIST=CMNTU`): names and masks (`!mask` excludes), user
/// counts `>n` `<n`, channel age `C>n` `C<n` and topic age `T>n` `T<n` in minutes (`C>5`:
/// created more than 5 minutes ago).
#[derive(Default)]
struct ListFilter {
    masks: Vec<Box<[u8]>>,
    not: Vec<Box<[u8]>>,
    users: (usize, usize),
    /// Unix seconds: created within `[from, to]`, topic set within `[from, to]`.
    created: (u64, u64),
    topic: (u64, u64),
}

impl ListFilter {
    fn parse(param: &[u8], now_s: u64) -> ListFilter {
        let mut f = ListFilter {
            users: (0, usize::MAX),
            created: (0, u64::MAX),
            topic: (0, u64::MAX),
            ..ListFilter::default()
        };
        for item in split(param) {
            let num = |from: usize| -> Option<u64> {
                std::str::from_utf8(item.get(from..)?).ok()?.parse().ok()
            };
            // `X>n`: more than n minutes ago, so at most now - n minutes.
            let ago = |m: u64| now_s.saturating_sub(m.saturating_mul(60));
            match item {
                [b'>', ..] => f.users.0 = num(1).map_or(f.users.0, |v| v as usize + 1),
                [b'<', ..] => {
                    f.users.1 = num(1).map_or(f.users.1, |v| (v as usize).saturating_sub(1))
                }
                [b'C', b'>', ..] => f.created.1 = num(2).map_or(f.created.1, ago),
                [b'C', b'<', ..] => f.created.0 = num(2).map_or(f.created.0, ago),
                [b'T', b'>', ..] => f.topic.1 = num(2).map_or(f.topic.1, ago),
                [b'T', b'<', ..] => f.topic.0 = num(2).map_or(f.topic.0, ago),
                [b'!', rest @ ..] => f.not.push(rest.into()),
                _ => f.masks.push(item.into()),
            }
        }
        f
    }

    /// Whether a visible channel passes every filter.
    fn passes(&self, w: &World, chan: &crate::core::Channel) -> bool {
        let name = chan.name.as_bytes();
        let count = chan.members.len();
        let topic_at = chan.topic.as_ref().map(|t| t.time);
        (self.masks.is_empty() || self.masks.iter().any(|m| wild_match(w.cm, m, name)))
            && !self.not.iter().any(|m| wild_match(w.cm, m, name))
            && (self.users.0..=self.users.1).contains(&count)
            && (self.created.0..=self.created.1).contains(&chan.created)
            && (self.topic == (0, u64::MAX)
                || topic_at.is_some_and(|t| (self.topic.0..=self.topic.1).contains(&t)))
    }
}

pub fn list(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let me = ctx.client();
    let filter = ListFilter::parse(msg.param(0), ctx.w.now.unix_s());
    // `321 nick Channel :Users  Name`: the column titles (RFC 1459 §6.2).
    ctx.w
        .reply(ctx.out, ctx.conn, n::RPL_LISTSTART, &[b"Channel"]);
    let lister = List { me, filter };
    paging::start(ctx.w, ctx.conn, lister, Cursor::Channels(0), ctx.out);
    Ok(())
}

/// LIST, a page at a time: each channel as it is when the cursor reaches its slot.
struct List {
    me: ClientId,
    filter: ListFilter,
}

impl Lister for List {
    fn item(&mut self, w: &World, conn: ConnId, id: u32, out: &mut Outbox) -> bool {
        let chan = &w.channels[paging::channel(id)];
        let count = chan.members.len();
        let member = chan.members.contains_key(&self.me);
        // IRCX +h: public, but found only by its exact name, never enumerated.
        let named = self.filter.masks.iter().any(|m| {
            !m.contains(&b'*') && !m.contains(&b'?') && wild_match(w.cm, m, chan.name.as_bytes())
        });
        let visible = (!chan.is_secret() && (!chan.has(cmode::HIDDEN) || named)) || member;
        if !visible || !self.filter.passes(w, chan) {
            return true;
        }
        let mut text = Vec::new();
        text.extend_from_slice(b"[+");
        for (c, bit) in modes::flags() {
            if chan.has(bit) {
                text.push(c);
            }
        }
        text.extend_from_slice(b"] ");
        if let Some(t) = &chan.topic {
            text.extend_from_slice(&t.text);
        }
        let line = w
            .num(conn, n::RPL_LIST)
            .arg(&*chan.name)
            .arg(count.to_string())
            .trailing(text)
            .finish();
        out.send(conn, line);
        true
    }
    fn end(&mut self, w: &World, conn: ConnId, out: &mut Outbox) {
        w.reply(out, conn, n::RPL_LISTEND, &[]);
    }
}

/// Whether a local kicker is a host and the victim an owner: only owners kick owners.
fn outranked(w: &World, ch: ChanId, src: Source, victim: ClientId) -> bool {
    let Source::Local(kicker) = src else {
        return false;
    };
    let members = &w.channels[ch].members;
    let status = |c| members.get(&c).copied().unwrap_or_default();
    status(victim).contains(Status::OWNER) && !status(kicker).at_least(Status::OWNER)
}

/// `KICK <chan> <nick>[,<nick>…] [:reason]`; from a link, one victim and the reason.
pub fn kick(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let name = msg.param(0);
    let ch = ctx
        .w
        .find_channel(name)
        .ok_or_else(|| err(n::ERR_NOSUCHCHANNEL, &[name]))?;
    let kicker = ctx.link_prefix();
    if let Source::Local(cid) = ctx.src {
        let chan = &ctx.w.channels[ch];
        if !chan.members.contains_key(&cid) {
            return Err(err(n::ERR_NOTONCHANNEL, &[name]));
        }
        if !chan.is_op(cid) {
            return Err(err(n::ERR_CHANOPRIVSNEEDED, &[name]));
        }
    }
    let reason = match (msg.param(2), ctx.is_local()) {
        ([], true) => kicker.as_bytes(),
        (r, true) => cut(r, KICK_LEN),
        (r, false) => r,
    };
    let shown = ctx.source_name();
    for target in split(msg.param(1)) {
        let w = &mut *ctx.w;
        let victim = match w.find_nick(target) {
            Some(v) if outranked(w, ch, ctx.src, v) => {
                ctx.fail(err(super::mode::NOT_OWNER, &[name]));
                continue;
            }
            Some(v) if w.channels[ch].members.contains_key(&v) => v,
            Some(_) => {
                ctx.fail(err(n::ERR_USERNOTINCHANNEL, &[target, name]));
                continue;
            }
            None => {
                ctx.fail(err(n::ERR_NOSUCHNICK, &[target]));
                continue;
            }
        };
        let line = Line::new(&shown, "KICK")
            .arg(&*w.channels[ch].name)
            .arg(&*w.clients[victim].nick)
            .trailing(reason)
            .finish();
        let mut m = Msg::new(line, w.now.unix_ms);
        w.to_channel_about(ch, victim, &mut m, ctx.out);
        if w.events_wanted() {
            let (cname, mask) = (w.channels[ch].name.to_string(), w.clients[victim].mask());
            let why = String::from_utf8_lossy(reason);
            let params: &[&str] = &[&cname, &mask, &shown];
            w.raise_event(EventType::Member, "KICK", Some(victim), params, Some(&why));
        }
        let last = w.channels[ch].members.len() == 1;
        let link = LinkMsg::new(&kicker, "KICK")
            .arg(&*w.channels[ch].name)
            .arg(&*w.clients[victim].nick)
            .trailing(reason);
        w.part_channel(ch, victim);
        ctx.propagate(&link);
        if last {
            break;
        }
    }
    Ok(())
}

/// `INVITE <nick> <chan>`: every server records the invitation, so a JOIN checked anywhere
/// agrees; it travels until it reaches the invitee's server. `INVITE` alone lists the
/// channels that hold an invitation for the user (336, 337).
pub fn invite(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let cid = ctx.client();
    if msg.is_empty() && ctx.is_local() {
        list_invites(ctx.w, ctx.conn, cid, ctx.out);
        return Ok(());
    }
    if msg.len() < 2 {
        return Err(err(n::ERR_NEEDMOREPARAMS, &[b"INVITE"]));
    }
    let (target, name) = (msg.param(0), msg.param(1));
    let victim = ctx
        .w
        .find_nick(target)
        .ok_or_else(|| err(n::ERR_NOSUCHNICK, &[target]))?;
    let local = ctx.is_local();
    let w = &mut *ctx.w;
    let ch = w
        .find_channel(name)
        .ok_or_else(|| err(n::ERR_NOSUCHCHANNEL, &[name]))?;
    let chan = &w.channels[ch];
    if local {
        if !chan.members.contains_key(&cid) {
            return Err(err(n::ERR_NOTONCHANNEL, &[name]));
        }
        if chan.members.contains_key(&victim) {
            return Err(err(n::ERR_USERONCHANNEL, &[target, name]));
        }
        if chan.has(cmode::INVITE) && !chan.is_op(cid) {
            return Err(err(n::ERR_CHANOPRIVSNEEDED, &[name]));
        }
    }
    let chan_name = chan.name.clone();
    // Blocked by the invitee's own ACCESS list: the invitation is neither recorded nor
    // delivered, and the inviter is answered as usual (draft §5.1.4: "including invites").
    let blocked = w.blocks(victim, cid);
    if !blocked && !chan.invites.contains(&victim) {
        w.channels[ch].invites.push(victim);
        w.clients[victim].invited = true;
    }
    let vnick = w.clients[victim].nick.clone();
    if local {
        let line = w
            .num(ctx.conn, n::RPL_INVITING)
            .arg(&*vnick)
            .arg(&*chan_name)
            .finish();
        ctx.out.send(ctx.conn, line);
        if let Some(away) = &w.clients[victim].away {
            let line = w
                .num(ctx.conn, n::RPL_AWAY)
                .arg(&*vnick)
                .trailing(away)
                .finish();
            ctx.out.send(ctx.conn, line);
        }
    }
    let line = Line::new(&w.clients[cid].mask(), "INVITE")
        .arg(&*vnick)
        .arg(&*chan_name)
        .finish();
    let mut m = Msg::new(line, w.now.unix_ms);
    if !blocked {
        w.send_client(victim, &mut m, ctx.out);
    }
    // invite-notify: other channel operators who asked for it see the invitation too.
    let ops: Vec<ClientId> = w.channels[ch]
        .members
        .iter()
        .filter(|&(&m, &f)| m != cid && f.is_op() && w.clients[m].caps & caps::INVITE_NOTIFY != 0)
        .map(|(&m, _)| m)
        .collect();
    for op in ops {
        w.send_client(op, &mut m, ctx.out);
    }
    if w.clients[victim].conn.is_none() {
        let link = LinkMsg::new(&w.clients[cid].nick, "INVITE")
            .arg(&*vnick)
            .arg(&*chan_name);
        ctx.propagate(&link);
    }
    Ok(())
}

/// 336 for each channel holding an invitation for `cid` (in name order), then 337.
fn list_invites(w: &World, conn: ConnId, cid: ClientId, out: &mut Outbox) {
    let mut names: Vec<&str> = Vec::new();
    if w.clients[cid].invited {
        names = w
            .channels
            .iter()
            .filter(|(_, chan)| chan.invites.contains(&cid))
            .map(|(_, chan)| &*chan.name)
            .collect();
        names.sort_unstable();
    }
    for name in names {
        w.reply(out, conn, n::RPL_INVITELIST, &[name.as_bytes()]);
    }
    w.reply(out, conn, n::RPL_ENDOFINVITELIST, &[]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_filters_by_negated_mask_creation_and_topic_age() {
        use crate::core::testing::TestWorld;
        let mut t = TestWorld::new();
        let a = t.user("alice");
        t.feed(a, "JOIN #old");
        t.feed(a, "TOPIC #old :ancient");
        t.now.unix_ms += 10 * 60_000;
        t.feed(a, "JOIN #new");
        t.now.unix_ms += 60_000;
        t.feed(a, "TOPIC #new :fresh");
        t.take(a);
        let names = |t: &mut TestWorld, q: &str| -> Vec<String> {
            t.ask(a, q)
                .iter()
                .filter(|l| l.contains(" 322 "))
                .map(|l| l.split(' ').nth(3).unwrap().to_string())
                .collect()
        };
        assert_eq!(names(&mut t, "LIST !#o*"), ["#new"]);
        // #old was made 11 minutes ago, #new 1 minute ago.
        assert_eq!(names(&mut t, "LIST C>5"), ["#old"]);
        assert_eq!(names(&mut t, "LIST C<5"), ["#new"]);
        // Topics: #old's 11 minutes old, #new's just set.
        assert_eq!(names(&mut t, "LIST T>5"), ["#old"]);
        assert_eq!(names(&mut t, "LIST T<5"), ["#new"]);
        assert_eq!(names(&mut t, "LIST C>5,!#old"), Vec::<String>::new());
    }

    #[test]
    fn cuts_on_char_boundaries() {
        assert_eq!(cut(b"abc", 5), b"abc");
        assert_eq!(cut(b"abc", 2), b"ab");
        assert_eq!(cut("aé".as_bytes(), 2), b"a");
        assert_eq!(cut("aé".as_bytes(), 3), "aé".as_bytes());
        assert_eq!(cut("€".as_bytes(), 2), b"");
        // Not UTF-8 at all: a plain byte cut.
        assert_eq!(cut(b"\xff\xff\xff", 2), b"\xff\xff");
    }
}
