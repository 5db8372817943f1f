//! Messages to chosen members of a channel, in the channel's context (draft §5.10, §5.11,
//! §5.13): `WHISPER <chan> <nicks> :<text>` and `PRIVMSG|NOTICE <chan> <nicks> :<text>`.
//! Sender and recipients must be members; each recipient gets one copy and never learns who
//! else got it. An IRCX recipient sees the channel context; an RFC recipient a private
//! message, since it has no other way to show it. A recipient on another server gets it
//! with its channel over a link with `IRCX` (its server then chooses the form), and as a
//! private message over one without. From a link, the same checks run again on the same
//! state (a sender no longer a member, by a race, reaches nobody); nothing is answered.

use crate::core::caps;
use crate::core::dispatch::{err, Ctx, HResult, Reply};
use crate::core::fanout::Msg;
use crate::core::handlers::message::can_send;
use crate::core::portal::LinkMsg;
use crate::core::state::cmode;
use crate::core::{ChanId, ClientId};
use crate::limits::MAX_TARGETS;
use crate::proto::line::Line;
use crate::proto::numeric::{self as n, Numeric};
use crate::proto::Message;

/// `WHISPER <channel> <nick>[,<nick>…] :<text>`.
pub fn whisper(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let (ch, nicks, text) = channel_and_text(ctx, msg, n::ERR_NOSUCHCHANNEL)?;
    let sender = ctx.client();
    let recipients = recipients(ctx, ch, nicks, false)?;
    let chan_name = ctx.w.channels[ch].name.to_string();
    let chan_obj = &ctx.w.channels[ch];
    // +w: no whispers between ordinary members; to or from a host or owner they pass.
    let closed = chan_obj.has(cmode::NOWHISPER) && !chan_obj.is_op(sender);
    let mut refused = false;
    for to in recipients {
        if closed && !ctx.w.channels[ch].is_op(to) {
            refused = true;
            continue;
        }
        deliver(ctx, sender, to, "WHISPER", &chan_name, text);
    }
    if refused {
        return Err(err(n::IRCERR_NOWHISPER, &[chan_name.as_bytes()]));
    }
    Ok(())
}

/// `PRIVMSG|NOTICE <channel> <nick>[,<nick>…] :<text>`: called by PRIVMSG and NOTICE when
/// a channel target is followed by a list of members.
pub fn to_members(ctx: &mut Ctx<'_>, verb: &'static str, msg: &Message<'_>) -> HResult {
    // As for any PRIVMSG target, a channel that does not exist is 401.
    let (ch, nicks, text) = channel_and_text(ctx, msg, n::ERR_NOSUCHNICK)?;
    let chan = msg.param(0);
    let sender = ctx.client();
    if ctx.is_local() && !can_send(ctx.w, ch, sender) {
        return Err(err(n::ERR_CANNOTSENDTOCHAN, &[chan]));
    }
    let chan_name = ctx.w.channels[ch].name.to_string();
    // NOTICE is never answered (RFC 2812 §3.3.2), not even for a name in its list.
    for to in recipients(ctx, ch, nicks, verb == "NOTICE")? {
        deliver(ctx, sender, to, verb, &chan_name, text);
    }
    Ok(())
}

/// `<channel> <nicks> :<text>`: the channel (`missing` if there is none), the names and
/// the text, which may not be empty (412).
fn channel_and_text<'a>(
    ctx: &Ctx<'_>,
    msg: &Message<'a>,
    missing: Numeric,
) -> Result<(ChanId, &'a [u8], &'a [u8]), Reply> {
    let (chan, nicks, text) = (msg.param(0), msg.param(1), msg.param(2));
    if text.is_empty() {
        return Err(err(n::ERR_NOTEXTTOSEND, &[]));
    }
    let ch = ctx
        .w
        .find_channel(chan)
        .ok_or_else(|| err(missing, &[chan]))?;
    Ok((ch, nicks, text))
}

/// The members named in `nicks`, each once. The sender must be a member; a name that is
/// no member is answered (401, 441, unless `quiet`) and skipped.
pub(super) fn recipients(
    ctx: &mut Ctx<'_>,
    ch: ChanId,
    nicks: &[u8],
    quiet: bool,
) -> Result<Vec<ClientId>, Reply> {
    let sender = ctx.client();
    let chan = &ctx.w.channels[ch];
    if !chan.members.contains_key(&sender) {
        return Err(err(n::ERR_NOTONCHANNEL, &[chan.name.as_bytes()]));
    }
    let names: Vec<&[u8]> = nicks
        .split(|&b| b == b',')
        .filter(|s| !s.is_empty())
        .collect();
    if names.len() > MAX_TARGETS {
        return Err(err(n::ERR_TOOMANYTARGETS, &[nicks]));
    }
    let mut found = Vec::with_capacity(names.len());
    for name in names {
        let w = &*ctx.w;
        let refusal = match w.find_nick(name) {
            None => Some(err(n::ERR_NOSUCHNICK, &[name])),
            Some(c) if !w.channels[ch].members.contains_key(&c) => {
                let chan_name = w.channels[ch].name.as_bytes();
                Some(err(n::ERR_USERNOTINCHANNEL, &[name, chan_name]))
            }
            Some(c) => {
                if !found.contains(&c) {
                    found.push(c);
                }
                None
            }
        };
        if let (Some(reply), false) = (refusal, quiet) {
            ctx.fail(reply);
        }
    }
    Ok(found)
}

/// One copy to one member: the channel form for an IRCX client (`WHISPER #c nick :text`,
/// `PRIVMSG #c :text`), a private message for an RFC client. None from a gagged sender,
/// who is answered as usual otherwise and so cannot tell.
fn deliver(ctx: &mut Ctx<'_>, from: ClientId, to: ClientId, verb: &str, chan: &str, text: &[u8]) {
    let w = &mut *ctx.w;
    if w.is_gagged(from) || w.blocks(to, from) {
        return;
    }
    let mask = w.clients[from].mask();
    let to_nick = w.clients[to].nick.to_string();
    let Some(conn) = w.clients[to].conn else {
        relay(ctx, from, to, verb, chan, text);
        return;
    };
    let line = if w.clients[to].caps & caps::DIALECT_IRCX != 0 {
        match verb {
            "WHISPER" => Line::new(&mask, verb).arg(chan).arg(&to_nick),
            _ => Line::new(&mask, verb).arg(chan),
        }
    } else {
        Line::new(&mask, private_verb(verb)).arg(&to_nick)
    };
    let mut m = Msg::new(line.trailing(text).finish(), w.now.unix_ms);
    let caps = w.clients[to].caps;
    ctx.out.send(conn, m.for_caps(caps));
}

/// To a member on another server, through the link toward it: with the channel
/// (`:<nick> WHISPER <chan> <nick> :<text>`) over a link with IRCX, whose far end shows it
/// in its recipient's dialect; as a private message over one without.
fn relay(ctx: &mut Ctx<'_>, from: ClientId, to: ClientId, verb: &str, chan: &str, text: &[u8]) {
    let w = &*ctx.w;
    let from_link = ctx.from_link();
    // Never back where it came from: a peer naming a user behind itself gets nothing.
    let Some((via, ircx)) = w.ircx_route(to).filter(|&(via, _)| Some(via) != from_link) else {
        return;
    };
    let (from_nick, to_nick) = (&*w.clients[from].nick, &*w.clients[to].nick);
    let m = if ircx {
        LinkMsg::new(from_nick, verb).arg(chan).arg(to_nick)
    } else {
        LinkMsg::new(from_nick, private_verb(verb)).arg(to_nick)
    };
    w.send_link(via, &m.trailing(text), ctx.out);
}

fn private_verb(verb: &str) -> &'static str {
    if verb == "NOTICE" {
        "NOTICE"
    } else {
        "PRIVMSG"
    }
}
