//! METADATA (IRCv3 `draft/metadata-2`): keys and values on users and channels, and the
//! subscriptions that decide who hears of changes.
//!
//! One model, two views. A channel's metadata is its IRCX property store
//! ([`crate::core::handlers::ircx::prop`]): the key `subject` is PROP's SUBJECT, and a
//! key IRCX does not define (`url`, `avatar`…) is stored beside the IRCX properties, where
//! PROP reads and sets it by the same name (PROP names are case-insensitive, keys are
//! lowercase). So:
//!
//! * IRCX's properties appear under their lowercase names with PROP's read rights
//!   (`oid`, `name`, `creation`, `topic`, `lag` are read-only here); the stored text ones
//!   (`language`, `pics`, `subject`, `client`, `onjoin`, `onpart`) can be set through
//!   either view, with PROP's rights and length limits. The keys (`memberkey`, `hostkey`,
//!   `ownerkey`) are passwords: never shown, never set here (`KEY_NO_PERMISSION`).
//! * Free-form keys have SUBJECT's rights: read by anyone (members and sysops on a secret
//!   or private channel), set by hosts, owners and sysop managers; at most
//!   `[limits] max_metadata_keys` per channel, values UTF-8 up to `METADATA_MAX_VALUE_BYTES`.
//! * Every change, from either command, a portal or the configuration, is echoed as PROP
//!   to IRCX members and notified as METADATA to subscribers, and travels to other servers
//!   as the PROP it is (portals with `IRCX`; an older release drops names it lacks).
//!
//! A user's metadata lives in a side table ([`store::Metadata`]): the user alone sets it,
//! anyone reads it, and it changes only here (IRCX has no user properties).
//!
//! Replies follow the draft: `761`/`766` (in a `metadata` batch for GET, LIST and CLEAR),
//! `770`-`772` for subscriptions, `FAIL METADATA <code>` for refusals.

pub mod link;
pub mod notify;
pub mod store;
#[cfg(test)]
mod tests;

use crate::core::dispatch::{err, Ctx, HResult};
use crate::core::handlers::ircx::prop::{self, announce, Change, CONFIG_PROPS};
use crate::core::portal::props::{propagate_named, propagate_set};
use crate::core::{ChanId, ClientId, ConnId, Outbox, World};
use crate::limits::{METADATA_MAX_SUBS, METADATA_MAX_VALUE_BYTES};
use crate::proto::numeric as n;
use crate::proto::Message;
use notify::Batch;
use store::ChanKey;

/// The capability's value (CAP LS 302): the limits a client must know.
pub fn cap_value(w: &World) -> String {
    format!(
        "max-subs={METADATA_MAX_SUBS},max-keys={},max-value-bytes={METADATA_MAX_VALUE_BYTES}",
        w.config.limits.max_metadata_keys
    )
}

/// What a METADATA command is about.
#[derive(Clone, Copy)]
enum Target {
    User(ClientId),
    Chan(ChanId),
}

/// Why a set is refused (each a `FAIL METADATA` code; PROP maps them to its numerics).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Permission,
    Value,
    Limit,
    NotSet,
}

/// `METADATA <target> <subcommand> [<params>…]`.
pub fn metadata(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    if !ctx.is_local() {
        link::remote_set(ctx, msg);
        return Ok(());
    }
    let cid = ctx.client();
    let sub = msg.param(1).to_ascii_uppercase();
    match &sub[..] {
        b"SUB" => subscribe(ctx, cid, msg),
        b"UNSUB" => unsubscribe(ctx, cid, msg),
        b"SUBS" => {
            list_subs(ctx.w, ctx.conn, cid, ctx.out);
            Ok(())
        }
        b"GET" | b"LIST" | b"SET" | b"CLEAR" | b"SYNC" => {
            let Some((target, name)) = resolve(ctx.w, cid, msg.param(0)) else {
                fail(ctx, "INVALID_TARGET", &[msg.param(0)], "Invalid target");
                return Ok(());
            };
            match &sub[..] {
                b"GET" => get(ctx, cid, target, &name, msg),
                b"LIST" => {
                    list(ctx, cid, target, &name);
                    Ok(())
                }
                b"SET" => set(ctx, cid, target, &name, msg),
                b"CLEAR" => {
                    clear(ctx, cid, target, &name);
                    Ok(())
                }
                _ => {
                    sync(ctx, cid, target, &name);
                    Ok(())
                }
            }
        }
        _ => {
            fail(
                ctx,
                "SUBCOMMAND_INVALID",
                &[msg.param(1)],
                "Invalid subcommand",
            );
            Ok(())
        }
    }
}

/// `*` is the user; a channel (or its OID) or a nick otherwise. The name as shown.
fn resolve(w: &World, cid: ClientId, raw: &[u8]) -> Option<(Target, String)> {
    if raw == b"*" {
        return Some((Target::User(cid), w.clients[cid].nick.to_string()));
    }
    if let Some(ch) = w.find_channel(raw) {
        return Some((Target::Chan(ch), w.channels[ch].name.to_string()));
    }
    let c = w.find_nick(raw)?;
    Some((Target::User(c), w.clients[c].nick.to_string()))
}

/// `:<server> FAIL METADATA <code> <args…> :<text>`.
fn fail(ctx: &mut Ctx<'_>, code: &str, args: &[&[u8]], text: &str) {
    let line = fail_line(ctx.w, code, args, text);
    ctx.out.send(ctx.conn, line);
}

fn fail_line(w: &World, code: &str, args: &[&[u8]], text: &str) -> std::rc::Rc<[u8]> {
    w.fail_line("METADATA", code, args, text)
}

fn key_value(w: &World, conn: ConnId, target: &str, key: &str, v: &[u8]) -> std::rc::Rc<[u8]> {
    w.num(conn, n::RPL_KEYVALUE)
        .arg(target)
        .arg(key)
        .arg("*")
        .trailing(v)
        .finish()
}

fn key_not_set(w: &World, conn: ConnId, target: &str, key: &str) -> std::rc::Rc<[u8]> {
    w.num(conn, n::RPL_KEYNOTSET).arg(target).arg(key).finish()
}

/// A key's value as `viewer` may see it: `Err` when it may not.
fn lookup(w: &World, viewer: ClientId, target: Target, key: &str) -> Result<Option<Vec<u8>>, ()> {
    match target {
        Target::User(c) => Ok(store::get(w.user_meta(c), key).map(|e| e.value.to_vec())),
        Target::Chan(ch) => {
            let chan = &w.channels[ch];
            let k = ChanKey::of_key(key);
            if !notify::shown(&k) || !prop::may_read_key(w, chan, viewer, &k) {
                return Err(());
            }
            Ok(match k {
                ChanKey::Prop(p) => prop::value(chan, p).map(|v| v.into_owned()),
                ChanKey::Free(k) => store::get(chan.free_props(), &k).map(|e| e.value.to_vec()),
            })
        }
    }
}

/// `GET <key>…`: per key in order, `761`, `766`, or a FAIL, in one batch.
fn get(ctx: &mut Ctx<'_>, cid: ClientId, target: Target, name: &str, msg: &Message<'_>) -> HResult {
    if msg.len() < 3 {
        return Err(err(n::ERR_NEEDMOREPARAMS, &[b"METADATA"]));
    }
    let batch = Batch::open(ctx.w, ctx.conn, "metadata", name, ctx.out);
    let w = &*ctx.w;
    for i in 2..msg.len() {
        let raw = msg.param(i);
        let line = match parse_key(raw) {
            None => fail_line(w, "KEY_INVALID", &[raw], "Invalid key"),
            Some(key) => match lookup(w, cid, target, key) {
                Err(()) => fail_line(
                    w,
                    "KEY_NO_PERMISSION",
                    &[name.as_bytes(), raw],
                    "Permission denied",
                ),
                Ok(Some(v)) => key_value(w, ctx.conn, name, key, &v),
                Ok(None) => key_not_set(w, ctx.conn, name, key),
            },
        };
        batch.send(ctx.out, line);
    }
    batch.close(w, ctx.out);
    Ok(())
}

/// Every key `viewer` may read on the target.
fn readable(w: &World, viewer: ClientId, target: Target) -> Vec<(String, Vec<u8>)> {
    match target {
        Target::User(c) => w
            .user_meta(c)
            .iter()
            .map(|e| (e.key.to_string(), e.value.to_vec()))
            .collect(),
        Target::Chan(ch) => notify::channel_values(w, ch, viewer),
    }
}

/// `LIST`: a `761` per key the user may read, in one batch.
fn list(ctx: &mut Ctx<'_>, cid: ClientId, target: Target, name: &str) {
    let batch = Batch::open(ctx.w, ctx.conn, "metadata", name, ctx.out);
    let w = &*ctx.w;
    for (key, v) in readable(w, cid, target) {
        batch.send(ctx.out, key_value(w, ctx.conn, name, &key, &v));
    }
    batch.close(w, ctx.out);
}

/// Whether `cid` may set a channel key to `v`, and if not, why.
pub fn check_chan_set(
    w: &World,
    ch: ChanId,
    cid: ClientId,
    key: &ChanKey,
    v: &[u8],
) -> Result<(), Refusal> {
    let chan = &w.channels[ch];
    let settable = match key {
        ChanKey::Prop(p) => CONFIG_PROPS.contains(p),
        ChanKey::Free(_) => notify::shown(key),
    };
    if !settable || !prop::may_write_key(w, chan, cid, key) {
        return Err(Refusal::Permission);
    }
    let held = match key {
        ChanKey::Prop(p) => {
            if !p.fits(v) || std::str::from_utf8(v).is_err() {
                return Err(Refusal::Value);
            }
            chan.prop(*p).is_some()
        }
        ChanKey::Free(k) => {
            if !store::valid_value(v) {
                return Err(Refusal::Value);
            }
            let held = store::get(chan.free_props(), k).is_some();
            let max = w.config.limits.max_metadata_keys;
            if !held && !v.is_empty() && chan.free_props().len() >= max {
                return Err(Refusal::Limit);
            }
            held
        }
    };
    if v.is_empty() && !held {
        return Err(Refusal::NotSet);
    }
    Ok(())
}

/// Stores a checked channel change and tells everyone: the PROP echo, the METADATA
/// notification, the other servers.
pub fn store_chan(
    ctx: &mut Ctx<'_>,
    ch: ChanId,
    cid: ClientId,
    key: &ChanKey,
    v: &[u8],
    shown: &str,
    echo_setter: bool,
) {
    let now = ctx.w.now.unix_ms;
    match key {
        ChanKey::Prop(p) => ctx.w.channels[ch].set_prop(*p, v),
        ChanKey::Free(k) => {
            ctx.w.channels[ch].set_free(k, v, now);
        }
    }
    let change = Change {
        key,
        value: v,
        shown,
        setter: Some(cid),
        echo_setter,
    };
    announce(ctx.w, ch, &change, ctx.out);
    match key {
        ChanKey::Prop(p) => propagate_set(ctx, ch, cid, *p, v),
        ChanKey::Free(k) => propagate_named(ctx, ch, cid, k, now, v),
    }
}

/// Whether `cid` may set a user's key to `v`, and if not, why.
fn check_user_set(
    w: &World,
    cid: ClientId,
    target: ClientId,
    key: &str,
    v: &[u8],
) -> Result<(), Refusal> {
    if cid != target {
        return Err(Refusal::Permission);
    }
    if !store::valid_value(v) {
        return Err(Refusal::Value);
    }
    let entries = w.user_meta(target);
    let held = store::get(entries, key).is_some();
    if v.is_empty() && !held {
        return Err(Refusal::NotSet);
    }
    if !held && !v.is_empty() && entries.len() >= w.config.limits.max_metadata_keys {
        return Err(Refusal::Limit);
    }
    Ok(())
}

/// Stores a user's checked change and tells who follows them.
fn store_user(ctx: &mut Ctx<'_>, cid: ClientId, key: &str, v: &[u8]) {
    // Strictly after the change it replaces, even within one millisecond: other servers
    // keep the newer of two changes (equal times: the greater value), so a delete stamped
    // with the time of the set before it would lose there to that set.
    let held = store::get(ctx.w.user_meta(cid), key).map_or(0, |e| e.ms);
    let now = ctx.w.now.unix_ms.max(held + 1);
    ctx.w.set_user_meta(cid, key, v, now);
    let mask = ctx.w.clients[cid].mask();
    notify::user_changed(ctx.w, cid, key, v, &mask, Some(cid), ctx.out);
    let m = link::set_msg(ctx.w, cid, key, now, v);
    ctx.propagate(&m);
}

/// `SET <key> [:<value>]`: no value (or an empty one) deletes.
fn set(ctx: &mut Ctx<'_>, cid: ClientId, target: Target, name: &str, msg: &Message<'_>) -> HResult {
    let raw = msg.param(2);
    if msg.len() < 3 {
        return Err(err(n::ERR_NEEDMOREPARAMS, &[b"METADATA"]));
    }
    let Some(key) = parse_key(raw) else {
        fail(ctx, "KEY_INVALID", &[raw], "Invalid key");
        return Ok(());
    };
    let v = msg.param(3);
    let checked = match target {
        Target::User(c) => check_user_set(ctx.w, cid, c, key, v),
        Target::Chan(ch) => check_chan_set(ctx.w, ch, cid, &ChanKey::of_key(key), v),
    };
    let name_b = name.as_bytes();
    let refused = |ctx: &mut Ctx<'_>, code, args: &[&[u8]], text| fail(ctx, code, args, text);
    match checked {
        Err(Refusal::Permission) => refused(
            ctx,
            "KEY_NO_PERMISSION",
            &[name_b, raw],
            "Permission denied",
        ),
        Err(Refusal::Value) => refused(ctx, "VALUE_INVALID", &[], "Invalid value"),
        Err(Refusal::Limit) => refused(ctx, "LIMIT_REACHED", &[name_b], "Metadata limit reached"),
        Err(Refusal::NotSet) => refused(ctx, "KEY_NOT_SET", &[name_b, raw], "Key not set"),
        Ok(()) => {
            match target {
                Target::User(c) => store_user(ctx, c, key, v),
                Target::Chan(ch) => {
                    let mask = ctx.w.clients[cid].mask();
                    store_chan(ctx, ch, cid, &ChanKey::of_key(key), v, &mask, false);
                }
            }
            let line = if v.is_empty() {
                key_not_set(ctx.w, ctx.conn, name, key)
            } else {
                key_value(ctx.w, ctx.conn, name, key, v)
            };
            ctx.out.send(ctx.conn, line);
        }
    }
    Ok(())
}

/// `CLEAR`: deletes every key the user may set on the target; a `766` per key in one
/// batch. A target the user may set nothing on: `KEY_NO_PERMISSION <target> *`.
fn clear(ctx: &mut Ctx<'_>, cid: ClientId, target: Target, name: &str) {
    let w = &*ctx.w;
    let keys: Vec<String> = match target {
        Target::User(c) if c == cid => w.user_meta(c).iter().map(|e| e.key.to_string()).collect(),
        Target::Chan(ch)
            if prop::may_write_key(w, &w.channels[ch], cid, &ChanKey::Free("".into())) =>
        {
            let chan = &w.channels[ch];
            let ircx = CONFIG_PROPS
                .into_iter()
                .filter(|&p| chan.prop(p).is_some())
                .map(|p| ChanKey::Prop(p).key());
            let free = chan.free_props().iter().map(|e| e.key.to_string());
            ircx.chain(free)
                .filter(|k| check_chan_set(w, ch, cid, &ChanKey::of_key(k), b"").is_ok())
                .collect()
        }
        _ => {
            fail(
                ctx,
                "KEY_NO_PERMISSION",
                &[name.as_bytes(), b"*"],
                "Permission denied",
            );
            return;
        }
    };
    let mask = w.clients[cid].mask();
    let batch = Batch::open(ctx.w, ctx.conn, "metadata", name, ctx.out);
    for key in keys {
        match target {
            Target::User(c) => store_user(ctx, c, &key, b""),
            Target::Chan(ch) => store_chan(ctx, ch, cid, &ChanKey::of_key(&key), b"", &mask, false),
        }
        batch.send(ctx.out, key_not_set(ctx.w, ctx.conn, name, &key));
    }
    batch.close(ctx.w, ctx.out);
}

/// `SYNC`: the subscribed keys of the target (and of a channel's members) as METADATA
/// lines, in one batch. A channel the user may not look into: `KEY_NO_PERMISSION`.
fn sync(ctx: &mut Ctx<'_>, cid: ClientId, target: Target, name: &str) {
    let w = &mut *ctx.w;
    match target {
        Target::User(c) => notify::send_sync(w, ctx.conn, cid, name, None, Some(c), ctx.out),
        Target::Chan(ch)
            if prop::may_read_key(w, &w.channels[ch], cid, &ChanKey::Free("".into())) =>
        {
            notify::send_sync(w, ctx.conn, cid, name, Some(ch), None, ctx.out)
        }
        Target::Chan(_) => fail(
            ctx,
            "KEY_NO_PERMISSION",
            &[name.as_bytes(), b"*"],
            "Permission denied",
        ),
    }
}

/// A key as the draft allows it, else `None`.
fn parse_key(raw: &[u8]) -> Option<&str> {
    std::str::from_utf8(raw)
        .ok()
        .filter(|k| store::valid_key(k.as_bytes()))
}

/// SUB and UNSUB: each key in order (params 2…, each possibly space-separated); an
/// invalid one is refused with `KEY_INVALID` and skipped, `take` says whether a valid one
/// is done (`Some(true)`), or stops the rest (`None`). Then `num` with the keys done.
fn per_key(
    ctx: &mut Ctx<'_>,
    msg: &Message<'_>,
    num: n::Numeric,
    mut take: impl FnMut(&mut Ctx<'_>, &[u8], &str) -> Option<bool>,
) -> HResult {
    if msg.len() < 3 {
        return Err(err(n::ERR_NEEDMOREPARAMS, &[b"METADATA"]));
    }
    let raws = (2..msg.len())
        .flat_map(|i| msg.param(i).split(|&b| b == b' '))
        .filter(|k| !k.is_empty());
    let mut done: Vec<String> = Vec::new();
    for raw in raws {
        let Some(key) = parse_key(raw) else {
            fail(ctx, "KEY_INVALID", &[raw], "Invalid key");
            continue;
        };
        match take(ctx, raw, key) {
            Some(true) => done.push(key.to_string()),
            Some(false) => {}
            None => break,
        }
    }
    send_keys(&Batch::none(ctx.conn), ctx.w, ctx.conn, num, &done, ctx.out);
    Ok(())
}

/// `SUB <key>…`: the first key past `max-subs` stops the rest (`TOO_MANY_SUBS`); `770`.
fn subscribe(ctx: &mut Ctx<'_>, cid: ClientId, msg: &Message<'_>) -> HResult {
    per_key(ctx, msg, n::RPL_METADATASUBOK, |ctx, raw, key| {
        let subs = ctx.w.metadata.subs.entry(cid).or_default();
        if subs.iter().any(|k| &**k == key) {
            return Some(true);
        }
        if subs.len() >= METADATA_MAX_SUBS {
            fail(ctx, "TOO_MANY_SUBS", &[raw], "Too many subscriptions");
            return None;
        }
        subs.push(key.into());
        Some(true)
    })
}

/// `UNSUB <key>…`: `771` with every valid key (subscribed or not).
fn unsubscribe(ctx: &mut Ctx<'_>, cid: ClientId, msg: &Message<'_>) -> HResult {
    per_key(ctx, msg, n::RPL_METADATAUNSUBOK, |ctx, _, key| {
        if let Some(subs) = ctx.w.metadata.subs.get_mut(&cid) {
            subs.retain(|k| &**k != key);
            if subs.is_empty() {
                ctx.w.metadata.subs.remove(&cid);
            }
        }
        Some(true)
    })
}

/// Room for keys in one `770`-`772`, leaving space for the prefix, numeric and nick.
const KEYS_LINE_BYTES: usize = 400;

/// Keys in as many `num` lines as they need (a SUB of a whole line's worth of keys would
/// not fit one reply with the prefix and nick added).
fn send_keys<K: AsRef<str>>(
    batch: &Batch,
    w: &World,
    conn: ConnId,
    num: n::Numeric,
    keys: &[K],
    out: &mut Outbox,
) {
    let mut text = String::new();
    for (i, key) in keys.iter().enumerate() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(key.as_ref());
        let next = keys.get(i + 1).map(|k| k.as_ref().len());
        if next.is_none_or(|len| text.len() + 1 + len > KEYS_LINE_BYTES) {
            batch.send(out, w.num(conn, num).trailing(&text).finish());
            text.clear();
        }
    }
}

/// `SUBS`: the subscriptions, in a `metadata-subs` batch.
fn list_subs(w: &mut World, conn: ConnId, cid: ClientId, out: &mut Outbox) {
    let nick = w.clients[cid].nick.to_string();
    let batch = Batch::open(w, conn, "metadata-subs", &nick, out);
    let subs = w.metadata.subs.get(&cid).map_or(&[][..], |s| &s[..]);
    send_keys(&batch, w, conn, n::RPL_METADATASUBS, subs, out);
    batch.close(w, out);
}
