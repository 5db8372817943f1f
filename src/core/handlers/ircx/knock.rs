//! KNOCK (draft §6.4, IRCX.md §3): on a `+u` channel, a refused JOIN is told to the
//! channel's IRCX hosts and owners as `:<nick!user@host> KNOCK <chan> <numeric>`. RFC
//! clients never get it (they have no such message). Hosts on other servers hear it over
//! links with `IRCX` as `:<nick> KNOCK <chan> <numeric>`, which their server shows its own
//! IRCX hosts and passes on toward other hosts.

use crate::core::caps;
use crate::core::dispatch::{Ctx, HResult};
use crate::core::fanout::Msg;
use crate::core::portal::{cap, LinkMsg};
use crate::core::state::cmode;
use crate::core::{ChanId, ClientId, Outbox, World};
use crate::proto::line::Line;
use crate::proto::numeric::Numeric;
use crate::proto::Message;

pub fn knock(w: &mut World, ch: ChanId, who: ClientId, why: Numeric, out: &mut Outbox) {
    if !w.channels[ch].has(cmode::KNOCK) {
        return;
    }
    let mask = w.clients[who].mask();
    show_hosts(w, ch, &mask, why.code.as_bytes(), out);
    if !w.links.is_empty() {
        let m = LinkMsg::new(&w.clients[who].nick, "KNOCK")
            .arg(&*w.channels[ch].name)
            .arg(why.code)
            .needs(cap::IRCX);
        w.to_host_links(ch, None, &m, out);
    }
}

/// `:<nick> KNOCK <chan> <numeric>` from a link: shown here and passed on if the channel is
/// `+u` here too (each server keeps the channel's modes, so they agree).
pub fn remote(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let Some(ch) = ctx.w.find_channel(msg.param(0)) else {
        return Ok(());
    };
    let code = msg.param(1);
    let numeric = code.len() == 3 && code.iter().all(u8::is_ascii_digit);
    if !numeric || !ctx.w.channels[ch].has(cmode::KNOCK) {
        return Ok(());
    }
    let mask = ctx.source_name();
    show_hosts(ctx.w, ch, &mask, code, ctx.out);
    let m = LinkMsg::relay(msg).needs(cap::IRCX);
    ctx.w.to_host_links(ch, ctx.from_link(), &m, ctx.out);
    Ok(())
}

/// The KNOCK line to this server's IRCX hosts and owners of the channel.
fn show_hosts(w: &mut World, ch: ChanId, mask: &str, code: &[u8], out: &mut Outbox) {
    let chan = &w.channels[ch];
    let line = Line::new(mask, "KNOCK").arg(&*chan.name).arg(code).finish();
    let mut m = Msg::new(line, w.now.unix_ms);
    let hosts: Vec<ClientId> = chan
        .members
        .iter()
        .filter(|&(&c, s)| s.is_op() && w.clients[c].caps & caps::DIALECT_IRCX != 0)
        .map(|(&c, _)| c)
        .collect();
    for host in hosts {
        w.send_client(host, &mut m, out);
    }
}
