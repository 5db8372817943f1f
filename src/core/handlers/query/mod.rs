//! Queries: WHO WHOIS WHOWAS ISON USERHOST LUSERS MOTD VERSION TIME ADMIN INFO STATS.

mod server;
mod who;
mod whois;

pub use server::{
    admin, info, links, lusers, map, motd, send_lusers, send_motd, stats, time, version,
};
pub use who::who;
pub use whois::{ison, userhost, whois, whowas};

use crate::core::dispatch::{err, HResult};
use crate::core::{ConnId, Outbox, World};
use crate::proto::casemap::wild_match;
use crate::proto::numeric::Numeric;
use crate::proto::{numeric as n, Message};

/// Room for data in one reply line, leaving space for the prefix, numeric and nicks.
const LIST_BYTES: usize = 400;

/// `:server CODE me`, for replies whose trailing text is data rather than fixed text.
/// A numeric whose text is formatted (`w.reply` takes only fixed text).
fn say(w: &World, conn: ConnId, out: &mut Outbox, num: Numeric, args: &[&[u8]], text: &str) {
    out.send(conn, w.num(conn, num).args(args).trailing(text).finish());
}

/// Commands that may name a server (`VERSION [target]`) answer for this one only; a nick
/// names its user's server, which is always this one until portals exist.
fn check_target(w: &World, target: &[u8]) -> HResult {
    let ours = wild_match(w.cm, target, w.name().as_bytes()) || w.find_nick(target).is_some();
    if target.is_empty() || ours {
        Ok(())
    } else {
        Err(err(n::ERR_NOSUCHSERVER, &[target]))
    }
}

/// Space-separated words across all parameters: ISON and USERHOST accept both
/// `ISON a b` and `ISON :a b`.
fn words<'a>(msg: &Message<'a>) -> impl Iterator<Item = &'a [u8]> + 'a {
    let params: Vec<&'a [u8]> = msg.params().to_vec();
    params
        .into_iter()
        .flat_map(|p| p.split(|&b| b == b' '))
        .filter(|s| !s.is_empty())
}

/// The first of a comma-separated list (TARGMAX WHOIS:1; WHOWAS takes one nick).
fn first_item(list: &[u8]) -> &[u8] {
    list.split(|&b| b == b',').next().unwrap_or_default()
}

/// Helpers shared by the tests in `server`, `who` and `whois`.
#[cfg(test)]
mod tests {
    use crate::core::testing::TestWorld;
    use crate::core::ClientId;

    pub(super) fn cid(t: &TestWorld, conn: crate::core::ConnId) -> ClientId {
        t.w.local(conn).unwrap().client.unwrap()
    }

    pub(super) fn set_umode(t: &mut TestWorld, conn: crate::core::ConnId, bit: u16) {
        let c = cid(t, conn);
        t.w.set_umodes(c, t.w.clients[c].umodes | bit);
    }
}
