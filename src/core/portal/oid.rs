//! Channel OIDs (IRCX object IDs) over links with `IRCX`, so a channel has one OID in the
//! whole network and `PROP <chan> OID`, LISTX and OID targets agree everywhere.
//!
//! `:<server> OID <oid-ms> <chan> <oid>` follows a channel's SJOIN in the burst and when a
//! channel new to the network is sent. `oid-ms` is the timestamp of the channel the OID was
//! made for ([`crate::core::Channel::oid_ms`]): a server holding `(oid-ms, oid)` takes the
//! pair when it is smaller (the older channel's OID; equal ages, the lower OID), and
//! answers a greater one with its own, so both sides of a merge agree whatever order the
//! lines cross in, even when one side heard of the channel only over a link without IRCX. A channel first heard of in
//! an SJOIN holds `u64::MAX`, so its creator's OID replaces the one made here.

use super::{cap, LinkMsg};
use crate::core::dispatch::{Ctx, HResult};
use crate::core::{parse_oid, ChanId, World};
use crate::proto::Message;

/// The OID line of a channel's burst.
pub fn burst_line(w: &World, ch: ChanId) -> LinkMsg {
    let chan = &w.channels[ch];
    LinkMsg::new(&w.me().name, "OID")
        .arg(chan.oid_ms.to_string())
        .arg(&*chan.name)
        .arg(chan.oid_str())
        .needs(cap::IRCX)
}

/// `:<server> OID <oid-ms> <chan> <oid>`: adopted when it names an older channel's OID,
/// then passed on; otherwise (ours wins, or the line is bad) dropped here.
pub fn oid(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let Some(ch) = ctx.w.find_channel(msg.param(1)) else {
        return Ok(());
    };
    let (Some(ms), Some(oid)) = (digits(msg.param(0)), parse_oid(msg.param(2))) else {
        return Ok(());
    };
    let chan = &ctx.w.channels[ch];
    if ms < chan.created_ms {
        return Ok(());
    }
    match (ms, oid).cmp(&(chan.oid_ms, chan.oid)) {
        std::cmp::Ordering::Less => {
            if ctx.w.adopt_oid(ch, oid, ms) {
                ctx.propagate(&LinkMsg::relay(msg).needs(cap::IRCX));
            }
        }
        // Ours wins, and the sender may never hear it otherwise (it learned the channel
        // over a link without IRCX, or its SJOIN crossed ours): it is told. Each answer
        // lowers the pair the other side holds, so the exchange ends.
        std::cmp::Ordering::Greater => {
            let m = burst_line(ctx.w, ch);
            ctx.w.send_link(ctx.conn, &m, ctx.out);
        }
        std::cmp::Ordering::Equal => {}
    }
    Ok(())
}

fn digits(raw: &[u8]) -> Option<u64> {
    if raw.is_empty() || !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(raw).ok()?.parse().ok()
}
