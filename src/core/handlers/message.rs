//! PRIVMSG, NOTICE, TAGMSG and AWAY.

use crate::core::caps;
use crate::core::dispatch::{err, Ctx, HResult};
use crate::core::fanout::link_msgid;
use crate::core::handlers::ircx::lag::Lagged;
use crate::core::modes::Status;
use crate::core::portal::{cap, LinkMsg};
use crate::core::state::{cmode, umode};
use crate::core::{ChanId, ClientId};
use crate::limits::{AWAY_LEN, MAX_TARGETS};
use crate::proto::casemap::is_channel;
use crate::proto::line::Line;
use crate::proto::numeric::{self as n, Numeric};
use crate::proto::Message;

/// A channel holding back as many lines as its IRCX LAG allows: this one is dropped.
const LAG_FULL: Numeric = Numeric::new(
    n::ERR_CANNOTSENDTOCHAN.code,
    "Cannot send to channel (too many lines held back by its LAG)",
);

/// A CTCP other than ACTION to a `+C` channel.
const NO_CTCP: Numeric = Numeric::new(
    n::ERR_CANNOTSENDTOCHAN.code,
    "Cannot send to channel (+C: no CTCPs)",
);

/// A CTCP request or reply (`\x01VERB…`), but not ACTION (`/me`), which `+C` lets through.
fn is_ctcp(text: &[u8]) -> bool {
    text.first() == Some(&1) && !text[1..].starts_with(b"ACTION")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Privmsg,
    Notice,
    Tagmsg,
}

impl Kind {
    fn verb(self) -> &'static str {
        match self {
            Kind::Privmsg => "PRIVMSG",
            Kind::Notice => "NOTICE",
            Kind::Tagmsg => "TAGMSG",
        }
    }
}

pub fn privmsg(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    deliver(ctx, msg, Kind::Privmsg)
}

pub fn notice(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    // NOTICE never triggers an automatic reply, errors included (RFC 2812 §3.3.2).
    let _ = deliver(ctx, msg, Kind::Notice);
    Ok(())
}

pub fn tagmsg(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    deliver(ctx, msg, Kind::Tagmsg)
}

/// PRIVMSG, NOTICE and TAGMSG, from a user here or elsewhere: local recipients, then the
/// links that lead to other recipients (never back where it came from). Only a local
/// sender is checked and answered.
fn deliver(ctx: &mut Ctx<'_>, msg: &Message<'_>, kind: Kind) -> HResult {
    let cid = ctx.client();
    let notice = kind == Kind::Notice;
    let local = ctx.is_local();
    if msg.is_empty() || msg.param(0).is_empty() {
        if notice || !local {
            return Ok(());
        }
        let text = format!("No recipient given ({})", kind.verb());
        let line = ctx
            .w
            .num(ctx.conn, n::ERR_NORECIPIENT)
            .trailing(&text)
            .finish();
        ctx.out.send(ctx.conn, line);
        return Ok(());
    }
    if kind != Kind::Tagmsg && (msg.len() < 2 || msg.param(1).is_empty()) {
        // A client could not send it: not shown to anyone.
        return Err(err(n::ERR_NOTEXTTOSEND, &[]));
    }
    let targets = msg.param(0).split(|&b| b == b',').filter(|t| !t.is_empty());
    if targets.clone().count() > MAX_TARGETS {
        return Err(err(n::ERR_TOOMANYTARGETS, &[msg.param(0)]));
    }
    if kind != Kind::Tagmsg && msg.len() >= 3 && is_channel(msg.param(0)) {
        // IRCX: to chosen members of a channel (`PRIVMSG #c nick1,nick2 :text`); from a
        // link, to one member here or behind another link.
        let result = super::ircx::whisper::to_members(ctx, kind.verb(), msg);
        return if notice { Ok(()) } else { result };
    }
    let ctags = msg.client_tags();
    if local {
        let now = ctx.w.now.unix_s();
        if let Some(l) = ctx.w.local_mut(ctx.conn) {
            l.last_msg = now;
        }
    }
    for target in targets {
        let result = deliver_one(ctx, cid, target, msg, kind, &ctags);
        if let (Err(reply), false) = (result, notice) {
            ctx.fail(reply);
        }
    }
    Ok(())
}

fn deliver_one(
    ctx: &mut Ctx<'_>,
    cid: ClientId,
    target: &[u8],
    msg: &Message<'_>,
    kind: Kind,
    ctags: &[u8],
) -> HResult {
    let from = ctx.from_link();
    let w = &mut *ctx.w;
    // One msgid per message, kept as it came from another server.
    let bot = w.clients[cid].has(umode::BOT);
    let fresh;
    let msgid: &[u8] = match link_msgid(msg.tags).filter(|_| from.is_some()) {
        Some(id) => id,
        None => {
            fresh = w.next_msgid();
            &fresh
        }
    };
    let (status, chan_part) = w.statusmsg_target(target);
    let text = (kind != Kind::Tagmsg).then(|| msg.param(1));
    // Recipients see the target as the server spells it (`#Chan` for `#chan`, the nick's own
    // case), with the status prefix kept.
    let line = |shown: &[u8]| {
        let c = &w.clients[cid];
        let mask = [&*c.nick, "!", &*c.user, "@", &*c.host];
        let mut line = Line::with_prefix(&mask, kind.verb()).arg(shown);
        if let Some(t) = text {
            line = line.trailing(t);
        }
        line.finish()
    };
    let link_msg = |shown: &[u8], tags: &[u8]| {
        let mut m = LinkMsg::new(&w.clients[cid].nick, kind.verb()).arg(shown);
        if let Some(t) = text {
            m = m.trailing(t);
        }
        // Version 1 of the portal protocol has neither client tags nor TAGMSG.
        let min_proto = if kind == Kind::Tagmsg { 2 } else { 1 };
        m.tags(tags).min_proto(min_proto)
    };
    let sender_caps = w.clients[cid].caps;
    // IRCX GAG: a gagged user's messages reach nobody, and the user is answered exactly as
    // if they had (same errors, same 301, and the echo-message copy: a client that never
    // saw its own lines come back would know). A gag is local, so only a sender on this
    // server can be gagged.
    let gagged = from.is_none() && w.is_gagged(cid);
    let mut m;
    if is_channel(chan_part) || crate::core::is_oid(chan_part) {
        let ch = w
            .find_channel(chan_part)
            .ok_or_else(|| err(n::ERR_NOSUCHNICK, &[target]))?;
        if from.is_none() && !can_send(w, ch, cid) {
            return Err(err(n::ERR_CANNOTSENDTOCHAN, &[chan_part]));
        }
        if from.is_none() && text.is_some_and(is_ctcp) && w.channels[ch].has(cmode::NO_CTCP) {
            return Err(err(NO_CTCP, &[chan_part]));
        }
        // The status prefix and the channel's name, on the stack when they fit.
        let (prefix, name) = (
            &target[..target.len() - chan_part.len()],
            w.channels[ch].name.as_bytes(),
        );
        let (mut small, long);
        let shown: &[u8] = if prefix.len() + name.len() <= 128 {
            small = [0u8; 128];
            small[..prefix.len()].copy_from_slice(prefix);
            small[prefix.len()..prefix.len() + name.len()].copy_from_slice(name);
            &small[..prefix.len() + name.len()]
        } else {
            long = [prefix, name].concat();
            &long
        };
        m = w
            .user_msg(cid, line(shown))
            .with_msg_tags(msgid, bot, ctags);
        if !gagged {
            if !w.links.is_empty() {
                w.to_channel_links(ch, from, &link_msg(shown, m.client_tags()), ctx.out);
            }
            // IRCX AUDITORIUM: an ordinary member speaks to the hosts alone.
            let status = if w.in_audience(ch, cid) {
                status.max(Status::OP)
            } else {
                status
            };
            let tagmsg = kind == Kind::Tagmsg;
            let lag_ms = from.is_none().then(|| w.lag_ms(ch, cid)).flatten();
            if let Some(lag_ms) = lag_ms {
                let held = Lagged {
                    due_ms: 0,
                    from: cid,
                    status,
                    tagmsg,
                    msg: w
                        .user_msg(cid, line(shown))
                        .with_msg_tags(msgid, bot, ctags),
                };
                if !w.lag_message(ch, lag_ms, held) {
                    return Err(err(LAG_FULL, &[chan_part]));
                }
            } else {
                w.to_channel_members(ch, Some(cid), status, tagmsg, &mut m, ctx.out);
            }
        }
    } else {
        let to = w
            .find_nick(target)
            .ok_or_else(|| err(n::ERR_NOSUCHNICK, &[target]))?;
        m = w
            .user_msg(cid, line(w.clients[to].nick.as_bytes()))
            .with_msg_tags(msgid, bot, ctags);
        let via = w.clients[to].conn.is_none().then(|| w.route(to)).flatten();
        // An IRCX block list (ACCESS <own nick> DENY) works like a gag, seen from the
        // blocking side: the sender is answered as usual.
        if gagged || w.blocks(to, cid) {
            // Sent nowhere; the 301 below still comes, as it would have.
        } else if let Some(via) = via {
            if Some(via) != from {
                let nick = w.clients[to].nick.as_bytes();
                w.send_link(via, &link_msg(nick, m.client_tags()), ctx.out);
            }
        } else if to == cid && from.is_none() {
            // To oneself: the copy delivered is no part of a labeled reply (only the
            // echo-message copy is).
            let c = &w.clients[cid];
            if kind != Kind::Tagmsg || c.caps & caps::MESSAGE_TAGS != 0 {
                ctx.out.send_aside(ctx.conn, m.for_caps(c.caps));
            }
        } else if kind != Kind::Tagmsg || w.clients[to].caps & caps::MESSAGE_TAGS != 0 {
            w.send_client(to, &mut m, ctx.out);
        }
        if kind == Kind::Privmsg && from.is_none() {
            if let Some(away) = &w.clients[to].away {
                let line = w
                    .num(ctx.conn, n::RPL_AWAY)
                    .arg(&*w.clients[to].nick)
                    .trailing(away)
                    .finish();
                ctx.out.send(ctx.conn, line);
            }
        }
    }
    if from.is_none() && sender_caps & caps::ECHO_MESSAGE != 0 {
        ctx.out.send(ctx.conn, m.for_caps(sender_caps));
    }
    Ok(())
}

/// +n keeps outsiders out, +m silences all but voiced and ops, a ban silences the unvoiced.
pub fn can_send(w: &crate::core::World, ch: ChanId, cid: ClientId) -> bool {
    let chan = &w.channels[ch];
    match chan.members.get(&cid) {
        None => {
            !chan.has(cmode::NO_EXTERNAL)
                && !chan.has(cmode::MODERATED)
                && !super::channel::is_banned(w, ch, cid)
        }
        Some(&status) if status.at_least(Status::VOICE) => true,
        Some(_) => !chan.has(cmode::MODERATED) && !super::channel::is_banned(w, ch, cid),
    }
}

/// `AWAY [:text]`: local members sharing a channel with away-notify see it; links with the
/// AWAY capability carry it.
pub fn away(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let cid = ctx.client();
    let local = ctx.is_local();
    let w = &mut *ctx.w;
    let text = match msg.param(0) {
        t if local => super::channel::cut(t, AWAY_LEN),
        t => t,
    };
    w.clients[cid].away = (!text.is_empty()).then(|| text.into());
    let mut l = Line::new(&w.clients[cid].mask(), "AWAY");
    let mut link = LinkMsg::new(&w.clients[cid].nick, "AWAY").needs(cap::AWAY);
    if !text.is_empty() {
        l = l.trailing(text);
        link = link.trailing(text);
    }
    if local {
        let num = if text.is_empty() {
            n::RPL_UNAWAY
        } else {
            n::RPL_NOWAWAY
        };
        w.reply(ctx.out, ctx.conn, num, &[]);
    }
    let mut m = w.user_msg(cid, l.finish());
    w.to_common(cid, false, caps::AWAY_NOTIFY, &mut m, ctx.out);
    w.to_monitors(cid, caps::AWAY_NOTIFY, &mut m, ctx.out);
    ctx.propagate(&link);
    Ok(())
}
