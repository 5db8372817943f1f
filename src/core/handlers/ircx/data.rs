//! DATA, REQUEST and REPLY (draft §5.4): tagged data between IRCX clients. The three differ
//! only in their verb (REQUEST asks for a REPLY); the recipient sees the verb that was sent:
//! `:<nick!user@host> DATA <target> <tag> :<message>`.
//!
//! * Targets are those of PRIVMSG: nicks and channels, alone or in a comma list, or one
//!   channel followed by chosen members (`DATA #c nick1,nick2 <tag> :<message>`).
//! * The tag is `[A-Za-z][A-Za-z0-9.]{0,14}` (904 otherwise). Tags beginning with ADM, SYS,
//!   OWN or HST (any case) need that level: sysop manager, sysop, owner or host of the
//!   target channel (908). The levels are ordered as in draft §4.1, so a sysop (an IRC
//!   operator) meets the owner and host levels everywhere, and a sysop manager (`+a`,
//!   `[[oper]] level = "manager"`) every level. Until owners (`+q`) exist, only sysops may
//!   use OWN tags; channel hosts (ops) do not count as owners, so OWN tags keep their
//!   meaning when owners arrive.
//! * Only IRCX connections ever receive these: RFC recipients are skipped without a word
//!   (draft §5.4.4). A gagged sender's (`+z`) reach nobody, without a word either. The
//!   sender gets no copy of a channel's, but a nick or member list that names the sender
//!   delivers to them as to anyone (as PRIVMSG and WHISPER do).
//! * Users on other servers get them over links with the capability `IRCX`, in the same
//!   form with the sender's nick as the prefix; links without it carry none (an older
//!   server or ngIRCd could not tell them from something else). From a link the target's
//!   checks run again on the same state, but not the tag's level: the sender's server did.

use super::whisper::recipients;
use crate::core::caps;
use crate::core::dispatch::{err, Ctx, HResult, Reply};
use crate::core::fanout::Msg;
use crate::core::handlers::message::can_send;
use crate::core::portal::{cap, LinkMsg};
use crate::core::{ChanId, ClientId, ConnId, Outbox, World};
use crate::limits::MAX_TARGETS;
use crate::proto::casemap::is_channel;
use crate::proto::line::Line;
use crate::proto::numeric as n;
use crate::proto::Message;

/// Longest tag (draft §5.4.1).
const TAG_LEN: usize = 15;

/// `DATA <target> <tag> :<message>`.
pub fn data(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    send(ctx, "DATA", msg)
}

/// `REQUEST <target> <tag> :<message>`: DATA that asks for a REPLY.
pub fn request(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    send(ctx, "REQUEST", msg)
}

/// `REPLY <target> <tag> :<message>`: DATA that answers a REQUEST.
pub fn reply(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    send(ctx, "REPLY", msg)
}

/// The level a tag's reserved prefix asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Level {
    Anyone,
    Host,
    Owner,
    Sysop,
    Manager,
}

impl Level {
    fn of(tag: &[u8]) -> Level {
        let prefix = tag.get(..3).map(<[u8]>::to_ascii_uppercase);
        match prefix.as_deref() {
            Some(b"ADM") => Level::Manager,
            Some(b"SYS") => Level::Sysop,
            Some(b"OWN") => Level::Owner,
            Some(b"HST") => Level::Host,
            _ => Level::Anyone,
        }
    }
}

/// `[A-Za-z][A-Za-z0-9.]{0,14}`.
fn valid_tag(tag: &[u8]) -> bool {
    match tag.split_first() {
        Some((first, rest)) => {
            first.is_ascii_alphabetic()
                && tag.len() <= TAG_LEN
                && rest.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'.')
        }
        None => false,
    }
}

/// Whether `cid` may send a tag of `level` to `chan` (`None`: to a nick).
fn allowed(w: &World, cid: ClientId, level: Level, chan: Option<ChanId>) -> bool {
    let sysop = w.is_sysop(cid);
    match level {
        Level::Anyone => true,
        Level::Manager => w.is_manager(cid),
        Level::Sysop => sysop,
        Level::Owner => sysop || chan.is_some_and(|ch| w.channels[ch].is_owner(cid)),
        Level::Host => sysop || chan.is_some_and(|ch| w.channels[ch].is_op(cid)),
    }
}

fn security() -> Reply {
    err(n::IRCERR_SECURITY, &[])
}

fn send(ctx: &mut Ctx<'_>, verb: &'static str, msg: &Message<'_>) -> HResult {
    // Four parameters: a channel and chosen members of it.
    let (target, members, tag, text) = if msg.len() >= 4 {
        (msg.param(0), Some(msg.param(1)), msg.param(2), msg.param(3))
    } else {
        (msg.param(0), None, msg.param(1), msg.param(2))
    };
    if !valid_tag(tag) {
        return Err(err(n::IRCERR_BADTAG, &[verb.as_bytes()]));
    }
    if text.is_empty() {
        return Err(err(n::ERR_NOTEXTTOSEND, &[]));
    }
    let sender = ctx.client();
    let level = Level::of(tag);
    // These two do not depend on the target: answered once. A remote sender was checked by
    // its own server (which alone knows a sysop manager).
    if ctx.is_local()
        && matches!(level, Level::Manager | Level::Sysop)
        && !allowed(ctx.w, sender, level, None)
    {
        return Err(security());
    }
    let data = Data {
        verb,
        tag,
        text,
        level,
        sender,
    };
    if let Some(nicks) = members {
        return data.to_members(ctx, target, nicks);
    }
    let targets: Vec<&[u8]> = target
        .split(|&b| b == b',')
        .filter(|t| !t.is_empty())
        .collect();
    if targets.is_empty() {
        let text = format!("No recipient given ({verb})");
        let line = ctx.w.num(ctx.conn, n::ERR_NORECIPIENT).trailing(text);
        ctx.out.send(ctx.conn, line.finish());
        return Ok(());
    }
    if targets.len() > MAX_TARGETS {
        return Err(err(n::ERR_TOOMANYTARGETS, &[target]));
    }
    for target in targets {
        if let Err(reply) = data.to_target(ctx, target) {
            ctx.fail(reply);
        }
    }
    Ok(())
}

/// One DATA/REQUEST/REPLY being delivered.
struct Data<'a> {
    verb: &'static str,
    tag: &'a [u8],
    text: &'a [u8],
    level: Level,
    sender: ClientId,
}

impl Data<'_> {
    /// A nick or a whole channel.
    fn to_target(&self, ctx: &mut Ctx<'_>, target: &[u8]) -> HResult {
        let (w, local) = (&*ctx.w, ctx.is_local());
        if is_channel(target) {
            let ch = w
                .find_channel(target)
                .ok_or_else(|| err(n::ERR_NOSUCHCHANNEL, &[target]))?;
            if local && !allowed(w, self.sender, self.level, Some(ch)) {
                return Err(security());
            }
            if local && !can_send(w, ch, self.sender) {
                return Err(err(
                    n::ERR_CANNOTSENDTOCHAN,
                    &[w.channels[ch].name.as_bytes()],
                ));
            }
            let name = w.channels[ch].name.as_bytes();
            let mut m = self.line(w, name);
            for &member in w.channels[ch].members.keys() {
                if member != self.sender {
                    deliver(w, self.sender, member, &mut m, ctx.out);
                }
            }
            if !w.is_gagged(self.sender) && !w.links.is_empty() {
                let link = self.link_msg(w, &[name]);
                w.to_channel_links(ch, ctx.from_link(), &link, ctx.out);
            }
        } else {
            let to = w
                .find_nick(target)
                .ok_or_else(|| err(n::ERR_NOSUCHNICK, &[target]))?;
            if local && !allowed(w, self.sender, self.level, None) {
                return Err(security());
            }
            let nick = w.clients[to].nick.as_bytes();
            let mut m = self.line(w, nick);
            deliver(w, self.sender, to, &mut m, ctx.out);
            self.relay(w, to, &[nick], ctx.from_link(), ctx.out);
        }
        Ok(())
    }

    /// `<chan> <nick>[,<nick>…]`: the sender and the recipients must be members. Recipients
    /// see the channel as the target, as with PRIVMSG to chosen members (draft §5.10): the
    /// line has the form an IRCX client already parses, and no one learns who else got it.
    fn to_members(&self, ctx: &mut Ctx<'_>, chan: &[u8], nicks: &[u8]) -> HResult {
        let w = &*ctx.w;
        let ch = w
            .find_channel(chan)
            .ok_or_else(|| err(n::ERR_NOSUCHCHANNEL, &[chan]))?;
        let name = w.channels[ch].name.as_bytes();
        if !w.channels[ch].members.contains_key(&self.sender) {
            return Err(err(n::ERR_NOTONCHANNEL, &[name]));
        }
        if ctx.is_local() && !allowed(w, self.sender, self.level, Some(ch)) {
            return Err(security());
        }
        if ctx.is_local() && !can_send(w, ch, self.sender) {
            return Err(err(n::ERR_CANNOTSENDTOCHAN, &[name]));
        }
        let mut m = self.line(w, name);
        for to in recipients(ctx, ch, nicks, false)? {
            let w = &*ctx.w;
            deliver(w, self.sender, to, &mut m, ctx.out);
            let (chan, nick) = (
                w.channels[ch].name.as_bytes(),
                w.clients[to].nick.as_bytes(),
            );
            self.relay(w, to, &[chan, nick], ctx.from_link(), ctx.out);
        }
        Ok(())
    }

    /// `:<nick> <verb> <targets…> <tag> :<message>` for other servers, over links with IRCX
    /// only: an older server or ngIRCd could only show it as something it is not.
    fn link_msg(&self, w: &World, targets: &[&[u8]]) -> LinkMsg {
        let mut m = LinkMsg::new(&w.clients[self.sender].nick, self.verb);
        for t in targets {
            m = m.arg(t);
        }
        m.arg(self.tag).trailing(self.text).needs(cap::IRCX)
    }

    /// To one remote recipient, through the link toward it, if that link carries IRCX (and
    /// is not the one it came from: a peer naming a user behind itself gets nothing back).
    fn relay(
        &self,
        w: &World,
        to: ClientId,
        targets: &[&[u8]],
        from: Option<ConnId>,
        out: &mut Outbox,
    ) {
        if w.is_gagged(self.sender) {
            return;
        }
        if let Some((via, true)) = w.ircx_route(to).filter(|&(via, _)| Some(via) != from) {
            w.send_link(via, &self.link_msg(w, targets), out);
        }
    }

    fn line(&self, w: &World, target: &[u8]) -> Msg {
        let line = Line::new(&w.clients[self.sender].mask(), self.verb)
            .arg(target)
            .arg(self.tag)
            .trailing(self.text)
            .finish();
        Msg::new(line, w.now.unix_ms)
    }
}

/// To a local IRCX client; an RFC client never sees DATA (draft §5.4.4), and a user on
/// another server gets it from its own server ([`Data::relay`]). Nobody gets what a gagged
/// user sends.
fn deliver(w: &World, from: ClientId, to: ClientId, m: &mut Msg, out: &mut Outbox) {
    let c = &w.clients[to];
    if c.caps & caps::DIALECT_IRCX == 0 || w.is_gagged(from) || w.blocks(to, from) {
        return;
    }
    if let Some(conn) = c.conn {
        out.send(conn, m.for_caps(c.caps));
    }
}
