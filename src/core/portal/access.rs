//! ACCESS entries over portals that negotiated `IRCX`: channel lists and the network (`*`)
//! list. `$` lists are each server's own and never travel; links without `IRCX` get none
//! of this (docs/PROTOCOL.md, "IRCX between servers" and "What degrades").
//!
//! * Live: `:<nick> ACCESS <object> ADD <level> <mask> <expires-ms|0> <set-at-s> <0|1>
//!   <setter> :<reason>` and `:<nick> ACCESS <object> DELETE <level> <mask>`, where the
//!   object is a channel or `*` and `0|1` says whether an owner added it. A CLEAR travels
//!   as one DELETE per entry it removed, so hosts' clears spare the same owner entries on
//!   every server. Channel lines go toward the channel's members, `*` lines to every link.
//! * Burst: `:<server> BACCESS <chan-ts> <chan> <level> <mask> …` after BPROP, and
//!   `:<server> BACCESS * * <level> <mask> …` for the network list, the fields as in ADD.
//!   A channel's entries count only for a channel at least as old as ours (a younger one
//!   lost its entries with its modes, [`lose_access`]); `*` entries always unite.
//!
//! The receiver checks nothing about rights (the origin did) but validates every field as
//! a local ADD or the state file would, and keeps `max_access`. The same level and mask on
//! both sides resolve by [`wins`], the same on every server, so lists agree after a merge.
//!
//! A `*` entry deleted here is remembered (a tombstone, [`MAX_DELETED`] at most): a burst
//! bringing it back, added no later than the delete, is refused and answered on its link
//! with the DELETE, which the sender applies and passes on. A server that was down or split
//! at the delete thus loses the entry too, instead of restoring it to the network.

use super::{cap, LinkMsg};
use crate::core::dispatch::{Ctx, HResult};
use crate::core::handlers::channel::cut;
use crate::core::handlers::ircx::access::{normalize_mask, AccessList, Entry, Level, Object};
use crate::core::handlers::ircx::access_cmd::REASON_LEN;
use crate::core::{ChanId, World};
use crate::proto::Message;

/// Longest setter kept (a full `nick!user@host` fits).
const SETTER_LEN: usize = 200;

/// Deleted `*` entries remembered, the oldest forgotten first.
const MAX_DELETED: usize = 1000;

/// A local ADD, made here: sent toward the servers that share the object.
pub fn propagate_add(ctx: &mut Ctx<'_>, obj: Object, e: &Entry) {
    undelete(ctx.w, obj, e.level, &e.mask);
    if let Some(name) = linked_name(ctx.w, obj, e) {
        let m = add_msg(&ctx.link_prefix(), "ACCESS", &[&name, "ADD"], e);
        send(ctx, obj, &m);
    }
}

/// A local DELETE (or one entry of a CLEAR), made here.
pub fn propagate_delete(ctx: &mut Ctx<'_>, obj: Object, e: &Entry) {
    deleted(ctx.w, obj, e.level, &e.mask);
    if let Some(name) = linked_name(ctx.w, obj, e) {
        let m = delete_msg(&ctx.link_prefix(), &name, e);
        send(ctx, obj, &m);
    }
}

/// The object's name on the wire, when its changes travel: channels and `*`, and never an
/// entry from this server's configuration (each server has its own).
fn linked_name(w: &World, obj: Object, e: &Entry) -> Option<String> {
    if w.links.is_empty() || e.from_config {
        return None;
    }
    match obj {
        Object::Channel(ch) => Some(w.channels[ch].name.to_string()),
        Object::Network => Some("*".into()),
        Object::Server | Object::Nick(_) => None,
    }
}

/// To the links that share `obj`, but the one the change came from.
fn send(ctx: &mut Ctx<'_>, obj: Object, m: &LinkMsg) {
    let from = ctx.from_link();
    match obj {
        Object::Channel(ch) => ctx.w.to_channel_links(ch, from, m, ctx.out),
        _ => ctx.w.to_links(from, m, ctx.out),
    }
}

fn add_msg(prefix: &str, verb: &str, head: &[&str], e: &Entry) -> LinkMsg {
    let mut m = LinkMsg::new(prefix, verb);
    for h in head {
        m = m.arg(h);
    }
    m.arg(e.level.name())
        .arg(&*e.mask)
        .arg(e.expires_ms.to_string())
        .arg(e.set_at.to_string())
        .arg(if e.by_owner { "1" } else { "0" })
        .arg(&*e.setter)
        .trailing(&*e.reason)
        .needs(cap::IRCX)
}

fn delete_msg(prefix: &str, name: &str, e: &Entry) -> LinkMsg {
    LinkMsg::new(prefix, "ACCESS")
        .arg(name)
        .arg("DELETE")
        .arg(e.level.name())
        .arg(&*e.mask)
        .needs(cap::IRCX)
}

/// `:<nick> ACCESS <object> ADD|DELETE …` from a link. Anything malformed is dropped.
pub fn remote(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let Some((name, obj)) = object(ctx.w, msg.param(0)) else {
        return Ok(());
    };
    let prefix = ctx.link_prefix();
    match &msg.param(1).to_ascii_uppercase()[..] {
        b"ADD" => {
            let Some(e) = entry(ctx.w, obj, msg.params().get(2..).unwrap_or_default()) else {
                return Ok(());
            };
            let deny = e.level == Level::Deny;
            undelete(ctx.w, obj, e.level, &e.mask);
            // Passed on even when it changed nothing here: the servers behind may lack it.
            let m = add_msg(&prefix, "ACCESS", &[&name, "ADD"], &e);
            if merge(ctx.w, obj, e) && deny && obj == Object::Network {
                ctx.w.enforce_server_access(ctx.out);
            }
            send(ctx, obj, &m);
        }
        b"DELETE" => {
            let (Some(level), Some(mask)) = (level(obj, msg.param(2)), mask(msg.param(3))) else {
                return Ok(());
            };
            remove(ctx.w, obj, level, &mask);
            deleted(ctx.w, obj, level, &mask);
            let m = LinkMsg::new(&prefix, "ACCESS")
                .arg(&name)
                .arg("DELETE")
                .arg(level.name())
                .arg(&mask)
                .needs(cap::IRCX);
            send(ctx, obj, &m);
        }
        _ => {}
    }
    Ok(())
}

/// `:<server> BACCESS <chan-ts|*> <chan|*> <level> <mask> …`: a burst entry.
pub fn baccess(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let Some((name, obj)) = object(ctx.w, msg.param(1)) else {
        return Ok(());
    };
    let ts = match (obj, msg.param(0)) {
        (Object::Network, b"*") => "*".to_string(),
        (Object::Channel(ch), raw) => match std::str::from_utf8(raw)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        {
            // A younger channel's entries lost with the channel.
            Some(ts) if ts <= ctx.w.channels[ch].created_ms => ts.to_string(),
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    let Some(e) = entry(ctx.w, obj, msg.params().get(2..).unwrap_or_default()) else {
        return Ok(());
    };
    if deleted_after(ctx.w, obj, &e) {
        // Deleted here since it was added: the sender missed it, and hears it now.
        let m = delete_msg(&ctx.w.me().name, &name, &e);
        ctx.w.send_link(ctx.conn, &m, ctx.out);
        return Ok(());
    }
    let deny = e.level == Level::Deny;
    let m = add_msg(&ctx.link_prefix(), "BACCESS", &[&ts, &name], &e);
    if merge(ctx.w, obj, e) {
        if deny && obj == Object::Network {
            ctx.w.enforce_server_access(ctx.out);
        }
        ctx.propagate(&m);
    }
    Ok(())
}

/// The BACCESS lines of a channel's burst.
pub fn channel_burst(w: &World, ch: ChanId) -> Vec<LinkMsg> {
    let chan = &w.channels[ch];
    let ts = chan.created_ms.to_string();
    burst_of(w, chan.access_list(), &[&ts, &chan.name])
}

/// The BACCESS lines of the network list, for a server burst.
pub fn network_burst(w: &World) -> Vec<LinkMsg> {
    burst_of(w, Some(&w.access.network), &["*", "*"])
}

fn burst_of(w: &World, list: Option<&AccessList>, head: &[&str]) -> Vec<LinkMsg> {
    let Some(list) = list else { return Vec::new() };
    list.entries
        .iter()
        .filter(|e| !e.from_config)
        .map(|e| add_msg(&w.me().name, "BACCESS", head, e))
        .collect()
}

/// Our channel turned out younger than the one it merges with: its entries go, as its
/// modes do (but those of this server's configuration, which are its own).
pub fn lose_access(w: &mut World, ch: ChanId) {
    if w.channels[ch].access.is_some() {
        w.edit_access(Object::Channel(ch), |l| l.entries.retain(|e| e.from_config));
    }
}

/// A channel or `*`, with its name as the wire shows it.
fn object(w: &World, name: &[u8]) -> Option<(String, Object)> {
    if name == b"*" {
        return Some(("*".into(), Object::Network));
    }
    let ch = w.find_channel(name)?;
    Some((w.channels[ch].name.to_string(), Object::Channel(ch)))
}

fn level(obj: Object, raw: &[u8]) -> Option<Level> {
    let l = Level::parse(raw)?;
    (matches!(obj, Object::Channel(_)) || matches!(l, Level::Grant | Level::Deny)).then_some(l)
}

fn mask(raw: &[u8]) -> Option<String> {
    normalize_mask(raw)
}

fn number(raw: &[u8]) -> Option<u64> {
    if raw.is_empty() || !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(raw).ok()?.parse().ok()
}

/// `<level> <mask> <expires-ms> <set-at-s> <0|1> <setter> <reason>`, checked as a local
/// ADD and the state file would check them. An entry already expired here is refused.
fn entry(w: &World, obj: Object, f: &[&[u8]]) -> Option<Entry> {
    let [level_raw, mask_raw, expires, set_at, by_owner, setter, reason] = *f else {
        return None;
    };
    let expires_ms = number(expires)?;
    let clean = |t: &[u8]| !t.iter().any(|&b| matches!(b, b'\r' | b'\n' | b'\0'));
    let setter_ok = !setter.is_empty()
        && setter.len() <= SETTER_LEN
        && !setter.iter().any(|&b| b <= b' ' || b == 0x7f)
        && setter[0] != b':';
    if (expires_ms != 0 && expires_ms <= w.now.unix_ms) || !setter_ok || !clean(reason) {
        return None;
    }
    Some(Entry {
        level: level(obj, level_raw)?,
        mask: mask(mask_raw)?.into(),
        expires_ms,
        setter: std::str::from_utf8(setter).ok()?.into(),
        set_at: number(set_at)?,
        by_owner: match by_owner {
            b"0" => false,
            b"1" => true,
            _ => return None,
        },
        from_config: false,
        reason: String::from_utf8_lossy(cut(reason, REASON_LEN)).into(),
    })
}

/// Which of two entries for the same level and mask every server keeps: the later expiry
/// (never is latest), then the later addition, then the greater setter and reason.
fn wins(new: &Entry, old: &Entry) -> bool {
    let key = |e: &Entry| {
        let exp = if e.expires_ms == 0 {
            u64::MAX
        } else {
            e.expires_ms
        };
        (
            exp,
            e.set_at,
            e.setter.clone(),
            e.reason.clone(),
            e.by_owner,
        )
    };
    key(new) > key(old)
}

/// Adds `e`, or replaces the entry for its level and mask if `e` wins. Returns whether
/// the list changed. A full list takes nothing new; configured entries are never replaced.
fn merge(w: &mut World, obj: Object, e: Entry) -> bool {
    let (cm, max) = (w.cm, w.config.ircx.max_access);
    let held = w.access_list(obj);
    match held.and_then(|l| l.find(cm, e.level, &e.mask)) {
        Some(at) => {
            let old = &held.expect("found in it").entries[at];
            if old.from_config || !wins(&e, old) {
                return false;
            }
            w.edit_access(obj, |l| l.entries[at] = e);
        }
        None if held.is_some_and(|l| l.entries.len() >= max) => return false,
        None => w.edit_access(obj, |l| l.entries.push(e)),
    }
    true
}

/// Remembers a `*` entry deleted now.
fn deleted(w: &mut World, obj: Object, level: Level, mask: &str) {
    if obj != Object::Network {
        return;
    }
    undelete(w, obj, level, mask);
    let gone = &mut w.access.network_deleted;
    if gone.len() >= MAX_DELETED {
        gone.remove(0);
    }
    gone.push((level, w.cm.fold(mask), w.now.unix_ms));
}

/// Forgets the deletion of a `*` entry added again.
fn undelete(w: &mut World, obj: Object, level: Level, mask: &str) {
    if obj == Object::Network && !w.access.network_deleted.is_empty() {
        let folded = w.cm.fold(mask);
        w.access
            .network_deleted
            .retain(|(l, m, _)| !(*l == level && *m == folded));
    }
}

/// Whether `e`, a `*` entry, was deleted here no earlier than it was added.
fn deleted_after(w: &World, obj: Object, e: &Entry) -> bool {
    let folded = w.cm.fold(&e.mask);
    obj == Object::Network
        && w.access
            .network_deleted
            .iter()
            .any(|(l, m, at)| *l == e.level && *m == folded && *at >= e.set_at.saturating_mul(1000))
}

fn remove(w: &mut World, obj: Object, level: Level, mask: &str) {
    let cm = w.cm;
    let at = w
        .access_list(obj)
        .and_then(|l| l.find(cm, level, mask))
        .filter(|&at| {
            !w.access_list(obj)
                .is_some_and(|l| l.entries[at].from_config)
        });
    if let Some(at) = at {
        w.edit_access(obj, |l| l.entries.remove(at));
    }
}
