//! KNOCK (draft §6.4, IRCX.md §3): on a `+u` channel, a refused JOIN is told to the
//! channel's IRCX hosts and owners as `:<nick!user@host> KNOCK <chan> <numeric>`. RFC
//! clients never get it (they have no such message).

use crate::core::caps;
use crate::core::fanout::Msg;
use crate::core::state::cmode;
use crate::core::{ChanId, ClientId, Outbox, World};
use crate::proto::line::Line;
use crate::proto::numeric::Numeric;

pub fn knock(w: &mut World, ch: ChanId, who: ClientId, why: Numeric, out: &mut Outbox) {
    let chan = &w.channels[ch];
    if !chan.has(cmode::KNOCK) {
        return;
    }
    let line = Line::new(&w.clients[who].mask(), "KNOCK")
        .arg(&*chan.name)
        .arg(why.code)
        .finish();
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
