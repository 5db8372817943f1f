//! Channel properties (IRCX PROP) over portals that negotiated `IRCX`; links without it
//! get none of this (docs/PROTOCOL.md, "What degrades").
//!
//! * Live: `:<nick> PROP <chan> <prop> <ms> :<value>` (an empty value deletes), sent by the
//!   setter's server. Each server applies it when it is newer than what it holds (equal
//!   times: the greater value, so both sides of a race agree), echoes it to its IRCX
//!   members as a local set is echoed, and passes it on toward the channel's other members.
//! * Burst: `:<server> BPROP <chan-ts> <chan> <prop> <ms> :<value>`, one per stored
//!   property, after SJOIN, TB and BMASK. Like BMASK it counts only for a channel at least
//!   as old as ours: a younger channel's properties were dropped when it lost its
//!   timestamp ([`lose_props`]), so the older channel's values win, and equal channels
//!   merge property by property, the newer set winning.
//!
//! Only stored properties and LAG travel: TOPIC and MEMBERKEY go as the TOPIC and MODE +k
//! they are, and OID, NAME and CREATION are computed from the channel. Remote lines are
//! checked as a local PROP would be (name, length, key and LAG syntax) and dropped if bad.

use super::{cap, LinkMsg};
use crate::core::dispatch::{Ctx, HResult};
use crate::core::handlers::ircx::lag::parse_secs;
use crate::core::handlers::ircx::prop::{announce, Change, Prop};
use crate::core::handlers::metadata::store::{self, ChanKey};
use crate::core::handlers::mode::clean_key;
use crate::core::{ChanId, Channel, ClientId, Outbox, World};
use crate::proto::Message;

/// How far ahead of our clock a remote timestamp may be: further, and it would win every
/// later set for that long, so it is refused.
const MAX_SKEW_MS: u64 = 24 * 3600 * 1000;

/// A local user's set, made here: stamped and sent toward the channel's other servers.
pub fn propagate_set(ctx: &mut Ctx<'_>, ch: ChanId, cid: ClientId, p: Prop, v: &[u8]) {
    let now = ctx.w.now.unix_ms;
    ctx.w.channels[ch].stamp_prop(p, now);
    propagate_named(ctx, ch, cid, p.name(), now, v);
}

/// A local user's set of any key, stamped `ms` (a free-form key keeps its own stamp), to
/// the channel's other servers. An older release drops a name it does not know.
pub fn propagate_named(
    ctx: &mut Ctx<'_>,
    ch: ChanId,
    cid: ClientId,
    name: &str,
    ms: u64,
    v: &[u8],
) {
    if ctx.w.links.is_empty() {
        return;
    }
    let m = LinkMsg::new(&ctx.w.clients[cid].nick, "PROP")
        .arg(&*ctx.w.channels[ch].name)
        .arg(name)
        .arg(ms.to_string())
        .trailing(v)
        .needs(cap::IRCX);
    ctx.w.to_channel_links(ch, None, &m, ctx.out);
}

/// `:<nick> PROP <chan> <prop> <ms> :<value>` from a link.
pub fn remote_set(ctx: &mut Ctx<'_>, msg: &Message<'_>) {
    if msg.len() < 4 {
        return;
    }
    let Some(ch) = ctx.w.find_channel(msg.param(0)) else {
        return;
    };
    let (Some(key), Some(ms)) = (
        checked(msg.param(1), msg.param(3)),
        time(ctx.w, msg.param(2)),
    ) else {
        return;
    };
    let v = msg.param(3);
    if !apply(ctx.w, ch, &key, ms, v) {
        return;
    }
    let shown = ctx.source_name();
    announce(ctx.w, ch, &remote_change(&key, v, &shown), ctx.out);
    let m = LinkMsg::relay(msg).needs(cap::IRCX);
    ctx.w.to_channel_links(ch, ctx.from_link(), &m, ctx.out);
}

/// `:<server> BPROP <chan-ts> <chan> <prop> <ms> :<value>`: a burst property.
pub fn bprop(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let Some(ch) = ctx.w.find_channel(msg.param(1)) else {
        return Ok(());
    };
    let chan_ts = time(ctx.w, msg.param(0)).unwrap_or(u64::MAX);
    let v = msg.param(4);
    // A younger channel's properties lost with the channel; a burst never deletes.
    if chan_ts > ctx.w.channels[ch].created_ms || v.is_empty() {
        return Ok(());
    }
    let (Some(key), Some(ms)) = (checked(msg.param(2), v), time(ctx.w, msg.param(3))) else {
        return Ok(());
    };
    if apply(ctx.w, ch, &key, ms, v) {
        let shown = ctx.source_name();
        announce(ctx.w, ch, &remote_change(&key, v, &shown), ctx.out);
        ctx.propagate(&LinkMsg::relay(msg).needs(cap::IRCX));
    }
    Ok(())
}

/// The BPROP lines of a channel's burst.
pub fn burst_lines(w: &World, ch: ChanId) -> Vec<LinkMsg> {
    let chan = &w.channels[ch];
    if chan.props.is_none() {
        return Vec::new();
    }
    let bprop = |name: &str, ms: u64, v: &[u8]| {
        LinkMsg::new(&w.me().name, "BPROP")
            .arg(chan.created_ms.to_string())
            .arg(&*chan.name)
            .arg(name)
            .arg(ms.to_string())
            .trailing(v)
            .needs(cap::IRCX)
    };
    let ircx = Prop::all().filter(|p| p.linked()).filter_map(|p| {
        let v = stored(chan, p);
        (!v.is_empty()).then(|| bprop(p.name(), chan.prop_time(p), &v))
    });
    let free = chan
        .free_props()
        .iter()
        .map(|e| bprop(&e.key, e.ms, &e.value));
    ircx.chain(free).collect()
}

/// Our channel turned out younger than the one it merges with: its properties go, as its
/// modes do, and local IRCX members see each deleted.
pub fn lose_props(w: &mut World, ch: ChanId, src: &str, out: &mut Outbox) {
    if w.channels[ch].props.is_none() {
        return;
    }
    let free = w.channels[ch]
        .free_props()
        .iter()
        .map(|e| ChanKey::Free(e.key.clone()));
    let ircx = Prop::all()
        .filter(|&p| p.linked() && !stored(&w.channels[ch], p).is_empty())
        .map(ChanKey::Prop);
    let held: Vec<ChanKey> = ircx.chain(free).collect();
    for key in held {
        match &key {
            ChanKey::Prop(p) => clear(&mut w.channels[ch], *p),
            ChanKey::Free(k) => {
                w.channels[ch].set_free(k, b"", 0);
            }
        }
        announce(w, ch, &remote_change(&key, b"", src), out);
    }
}

/// A change another server made (or a merge forced): nobody here set it.
fn remote_change<'a>(key: &'a ChanKey, value: &'a [u8], shown: &'a str) -> Change<'a> {
    Change {
        key,
        value,
        shown,
        setter: None,
        echo_setter: false,
    }
}

/// A property name and value from a link, as a local PROP (or METADATA, for a free-form
/// key) would take them.
fn checked(name: &[u8], v: &[u8]) -> Option<ChanKey> {
    let p = match ChanKey::of_prop_name(name)? {
        ChanKey::Prop(p) if p.linked() => p,
        ChanKey::Prop(_) => return None,
        free => return store::valid_value(v).then_some(free),
    };
    if !p.fits(v) {
        return None;
    }
    let ok = match p {
        Prop::Lag => v.is_empty() || parse_secs(v).is_some(),
        Prop::HostKey | Prop::OwnerKey => clean_key(v).is_none_or(|k| k.as_bytes() == v),
        _ => true,
    };
    ok.then_some(ChanKey::Prop(p))
}

/// A timestamp in ms: digits, and not far ahead of our clock.
fn time(w: &World, raw: &[u8]) -> Option<u64> {
    let ms: u64 = std::str::from_utf8(raw).ok()?.parse().ok()?;
    (raw.iter().all(u8::is_ascii_digit) && ms <= w.now.unix_ms.saturating_add(MAX_SKEW_MS))
        .then_some(ms)
}

/// The value held for `p` (empty: none; LAG 0 is none).
fn stored(chan: &Channel, p: Prop) -> Vec<u8> {
    match p {
        Prop::Lag => match chan.props.as_ref().map_or(0, |x| x.lag.secs) {
            0 => Vec::new(),
            secs => secs.to_string().into_bytes(),
        },
        _ => chan.prop(p).unwrap_or_default().to_vec(),
    }
}

/// Stores `v` if it is newer than what is held (equal times: the greater value). Returns
/// whether it changed anything.
fn apply(w: &mut World, ch: ChanId, key: &ChanKey, ms: u64, v: &[u8]) -> bool {
    let p = match key {
        ChanKey::Prop(p) => *p,
        ChanKey::Free(k) => return apply_free(&mut w.channels[ch], k, ms, v),
    };
    // LAG 0 is no lag: held as nothing, so compared as nothing.
    let v = if p == Prop::Lag && v == b"0" { b"" } else { v };
    let chan = &mut w.channels[ch];
    let held = stored(chan, p);
    if (ms, v) <= (chan.prop_time(p), &held[..]) || (v.is_empty() && held.is_empty()) {
        return false;
    }
    match p {
        Prop::Lag => chan.set_lag(parse_secs(v).unwrap_or(0)),
        _ => chan.set_prop(p, v),
    }
    chan.stamp_prop(p, ms);
    true
}

/// [`apply`] for a free-form key: the same newer-wins rule on its own stamp.
fn apply_free(chan: &mut Channel, key: &str, ms: u64, v: &[u8]) -> bool {
    let (held_ms, held) = match store::get(chan.free_props(), key) {
        Some(e) => (e.ms, e.value.to_vec()),
        None => (0, Vec::new()),
    };
    if (ms, v) <= (held_ms, &held[..]) || (v.is_empty() && held.is_empty()) {
        return false;
    }
    chan.set_free(key, v, ms)
}

fn clear(chan: &mut Channel, p: Prop) {
    match p {
        Prop::Lag => chan.set_lag(0),
        _ => chan.set_prop(p, b""),
    }
}
