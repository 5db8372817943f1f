//! IRCX GAG (`+z`) across the network. A sysop gags a user of any server reached over
//! links with `IRCX`: the gag travels as `:<sysop> MODE <nick> +z` (and in the burst as
//! `:<server> MODE <nick> +z` after the user's introduction), and the gagged user's own
//! server drops what they send. Over a link without `IRCX` nothing travels, so a user
//! behind one cannot be gagged from here (502), and a gag set there stays there. Only the
//! first link toward the user is known here: a link without `IRCX` further on stops the gag
//! before the user's own server, which then still delivers (docs/PROTOCOL.md).

use super::apply_umodes;
use crate::core::dispatch::{err, Ctx, HResult, Source};
use crate::core::fanout::Msg;
use crate::core::portal::{cap, LinkMsg};
use crate::core::state::umode;
use crate::core::{ClientId, World};
use crate::proto::line::Line;
use crate::proto::numeric as n;
use crate::proto::Message;

/// `MODE <nick> +z|-z` by a sysop here on another user: stored, echoed to the sysop only
/// (the gagged user is not told), and carried to the IRCX links.
pub(super) fn by_sysop(
    ctx: &mut Ctx<'_>,
    sysop: ClientId,
    target: ClientId,
    modes: &[u8],
) -> HResult {
    if let Some((_, false)) = ctx.w.ircx_route(target) {
        return Err(err(n::ERR_USERSDONTMATCH, &[]));
    }
    let Some(on) = set(ctx.w, target, modes) else {
        return Ok(());
    };
    let w = &mut *ctx.w;
    log::info!(
        "{} {} {}",
        w.clients[sysop].mask(),
        if on { "gagged" } else { "lifted the gag of" },
        w.clients[target].mask()
    );
    let (sysop_nick, nick) = (
        w.clients[sysop].nick.clone(),
        w.clients[target].nick.clone(),
    );
    let line = Line::new(&sysop_nick, "MODE")
        .arg(&*nick)
        .trailing(sign(on))
        .finish();
    let mut m = Msg::new(line, w.now.unix_ms);
    w.send_client(sysop, &mut m, ctx.out);
    let link = LinkMsg::new(&sysop_nick, "MODE")
        .arg(&*nick)
        .trailing(sign(on));
    ctx.propagate(&link.needs(cap::IRCX));
    Ok(())
}

/// A gag from a link: `:<sysop> MODE <nick> ±z` or a burst's `:<server> MODE <nick> +z`.
/// Returns false when `msg` is no gag (the ordinary user mode path takes it).
pub(super) fn remote(ctx: &mut Ctx<'_>, msg: &Message<'_>, target: ClientId) -> bool {
    let modes = msg.param(1);
    if !modes.contains(&b'z') || !modes.iter().all(|&b| matches!(b, b'+' | b'-' | b'z')) {
        return false;
    }
    let allowed = match ctx.src {
        Source::Server(_) => true,
        Source::Remote(c) => c != target && ctx.w.is_sysop(c),
        _ => false,
    };
    if allowed && set(ctx.w, target, modes).is_some() {
        ctx.propagate(&LinkMsg::relay(msg).needs(cap::IRCX));
    }
    true
}

/// Applies the `z` of `modes` alone; `Some(on)` when it changed.
fn set(w: &mut World, target: ClientId, modes: &[u8]) -> Option<bool> {
    let old = w.clients[target].umodes;
    let new = apply_umodes(old, modes) & umode::GAG | old & !umode::GAG;
    if new == old {
        return None;
    }
    w.set_umodes(target, new);
    Some(new & umode::GAG != 0)
}

fn sign(on: bool) -> &'static str {
    if on {
        "+z"
    } else {
        "-z"
    }
}

/// The burst line of a gagged user, sent after their introduction.
pub fn burst_line(w: &World, cid: ClientId) -> Option<LinkMsg> {
    let c = &w.clients[cid];
    c.has(umode::GAG).then(|| {
        LinkMsg::new(&w.servers[c.server].name, "MODE")
            .arg(&*c.nick)
            .trailing("+z")
            .needs(cap::IRCX)
    })
}
