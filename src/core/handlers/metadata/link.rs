//! Users' metadata between servers, on portals that negotiated `METADATA` (ngIRCd and
//! older releases get nothing; channels' keys travel as the IRCX properties they are):
//!
//! * live and in the burst (after the user's NICK):
//!   `:<nick> METADATA <nick> <key> <ms> :<value>`, an empty value deleting;
//! * a server applies it when it is newer than what it holds (equal times: the greater
//!   value), tells its local subscribers, and passes it on. Only the user sets their own
//!   keys, so a line naming another user, a bad key or value, or a time far ahead of our
//!   clock is dropped.

use super::{notify, store};
use crate::core::dispatch::Ctx;
use crate::core::portal::{cap, LinkMsg};
use crate::core::{ClientId, World};
use crate::proto::Message;

/// How far ahead of our clock a remote timestamp may be (as for IRCX properties).
const MAX_SKEW_MS: u64 = 24 * 3600 * 1000;

pub fn set_msg(w: &World, cid: ClientId, key: &str, ms: u64, v: &[u8]) -> LinkMsg {
    let nick = &w.clients[cid].nick;
    LinkMsg::new(nick, "METADATA")
        .arg(&**nick)
        .arg(key)
        .arg(ms.to_string())
        .trailing(v)
        .needs(cap::METADATA)
}

/// A user's keys for a new link's burst.
pub fn burst_lines(w: &World, cid: ClientId) -> Vec<LinkMsg> {
    w.user_meta(cid)
        .iter()
        .map(|e| set_msg(w, cid, &e.key, e.ms, &e.value))
        .collect()
}

/// `:<nick> METADATA <nick> <key> <ms> :<value>` from a link.
pub fn remote_set(ctx: &mut Ctx<'_>, msg: &Message<'_>) {
    let cid = ctx.client();
    let (key, v) = (msg.param(1), msg.param(3));
    let Some(key) = std::str::from_utf8(key)
        .ok()
        .filter(|k| store::valid_key(k.as_bytes()))
    else {
        return;
    };
    let ms = std::str::from_utf8(msg.param(2))
        .ok()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<u64>().ok())
        .filter(|&ms| ms <= ctx.w.now.unix_ms.saturating_add(MAX_SKEW_MS));
    let own = ctx.w.find_nick(msg.param(0)) == Some(cid);
    let Some(ms) = ms.filter(|_| own && msg.len() >= 4 && store::valid_value(v)) else {
        return;
    };
    let (held_ms, held) = match store::get(ctx.w.user_meta(cid), key) {
        Some(e) => (e.ms, e.value.to_vec()),
        None => (0, Vec::new()),
    };
    if (ms, v) <= (held_ms, &held[..]) || !ctx.w.set_user_meta(cid, key, v, ms) {
        return;
    }
    let mask = ctx.w.clients[cid].mask();
    notify::user_changed(ctx.w, cid, key, v, &mask, None, ctx.out);
    ctx.propagate(&LinkMsg::relay(msg).needs(cap::METADATA));
}
