//! The ACCESS command (draft §5.1): `ACCESS <object> [LIST]`, `ACCESS <object> ADD|DELETE
//! <level> [<mask> [<timeout> [:<reason>]]]`, `ACCESS <object> CLEAR [<level>]`.
//!
//! Objects and who may do what:
//! * a channel (name or OID): owners (and sysop managers) add and delete every level;
//!   hosts every level but OWNER, and never an entry an owner added; hosts, owners and
//!   sysops list. Levels OWNER, HOST, VOICE, GRANT, DENY.
//! * the caller's own nick: anyone, GRANT and DENY only (a block list). Another user's
//!   nick: 913.
//! * `$` (this server): sysops; `*` (the network): sysop managers change it, sysops list
//!   it. GRANT and DENY only: a DENY refuses matching connections at registration and
//!   disconnects matching users (IRC operators excepted) when added; a GRANT exempts
//!   from the DENYs of the same list.
//!
//! Replies: 801 `<object> <level> <mask> <minutes> <setter> :<reason>` on ADD, 802
//! `<object> <level> <mask>` on DELETE and for each entry CLEAR removes, 803/804/805 for
//! LIST. Errors: 461 (no level or mask), 900 (unknown function, bad mask or timeout), 901
//! (too many arguments), 903 (bad level for the object), 908 (may not list), 913 (may not
//! change), 914 (duplicate), 915 (no such entry), 916 (list full), 924 (no such object),
//! 925 (a server other than this one).

use super::access::{normalize_mask, Entry, Level, Object, LEVELS};
use crate::core::dispatch::{err, Ctx, HResult, Reply};
use crate::core::handlers::channel::cut;
use crate::core::modes::Status;
use crate::core::portal::access as links;
use crate::core::{ClientId, World};
use crate::proto::numeric as n;
use crate::proto::Message;

/// Longest reason kept (from a link too).
pub(crate) const REASON_LEN: usize = 200;
/// Longest timeout: a year, in minutes (beyond that, 0 means what is meant).
const MAX_TIMEOUT_MIN: u64 = 525_600;

pub fn access(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    if !ctx.is_local() {
        return crate::core::portal::access::remote(ctx, msg);
    }
    let cid = ctx.client();
    let (name, obj) = resolve(ctx.w, cid, msg.param(0))?;
    let function = msg.param(1).to_ascii_uppercase();
    match &function[..] {
        b"" | b"LIST" if msg.len() <= 2 => list(ctx, cid, &name, obj),
        b"LIST" => Err(too_many()),
        b"ADD" if msg.len() <= 6 => add(ctx, cid, &name, obj, msg),
        b"DELETE" if msg.len() <= 4 => delete(ctx, cid, &name, obj, msg),
        b"CLEAR" if msg.len() <= 3 => clear(ctx, cid, &name, obj, msg.param(2)),
        b"ADD" | b"DELETE" | b"CLEAR" => Err(too_many()),
        _ => Err(bad_command()),
    }
}

fn too_many() -> Reply {
    err(n::IRCERR_TOOMANYARGUMENTS, &[b"ACCESS"])
}

fn bad_command() -> Reply {
    err(n::IRCERR_BADCOMMAND, &[b"ACCESS"])
}

fn no_access() -> Reply {
    err(n::IRCERR_NOACCESS, &[b"ACCESS"])
}

/// The object named, and its name as replies show it.
fn resolve(w: &World, cid: ClientId, name: &[u8]) -> Result<(String, Object), Reply> {
    match name {
        b"$" => return Ok(("$".into(), Object::Server)),
        b"*" => return Ok(("*".into(), Object::Network)),
        [b'$', server @ ..] if server.eq_ignore_ascii_case(w.name().as_bytes()) => {
            return Ok(("$".into(), Object::Server))
        }
        [b'$', ..] => return Err(err(n::IRCERR_NOTSUPPORTED, &[name])),
        _ => {}
    }
    if let Some(ch) = w.find_channel(name) {
        return Ok((w.channels[ch].name.to_string(), Object::Channel(ch)));
    }
    match w.find_nick(name) {
        Some(c) if c == cid => Ok((w.clients[c].nick.to_string(), Object::Nick(c))),
        Some(_) => Err(no_access()),
        None => Err(err(n::IRCERR_NOSUCHOBJECT, &[name])),
    }
}

/// What the caller may do with an object's list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Right {
    None,
    /// List only.
    Read,
    /// Change every level but OWNER, and only entries no owner added.
    Host,
    /// Everything.
    Owner,
}

fn right(w: &World, cid: ClientId, obj: Object) -> Right {
    let (sysop, manager) = (w.is_sysop(cid), w.is_manager(cid));
    match obj {
        Object::Nick(_) => Right::Owner,
        Object::Server if sysop => Right::Owner,
        Object::Network if manager => Right::Owner,
        Object::Network if sysop => Right::Read,
        Object::Server | Object::Network => Right::None,
        Object::Channel(_) if manager => Right::Owner,
        Object::Channel(ch) => match w.channels[ch].members.get(&cid) {
            Some(s) if s.at_least(Status::OWNER) => Right::Owner,
            Some(s) if s.is_op() => Right::Host,
            _ if sysop => Right::Read,
            _ => Right::None,
        },
    }
}

/// The level named by `arg` if the object has it; 461 without one, 903 for a bad one.
fn level(obj: Object, arg: &[u8]) -> Result<Level, Reply> {
    if arg.is_empty() {
        return Err(err(n::ERR_NEEDMOREPARAMS, &[b"ACCESS"]));
    }
    let level = Level::parse(arg).ok_or_else(|| err(n::IRCERR_BADLEVEL, &[b"ACCESS"]))?;
    let channel_only = !matches!(level, Level::Grant | Level::Deny);
    if channel_only && !matches!(obj, Object::Channel(_)) {
        return Err(err(n::IRCERR_BADLEVEL, &[b"ACCESS"]));
    }
    Ok(level)
}

/// May the caller change entries of `level` (and this one, if it exists)?
fn may_change(r: Right, level: Level, entry: Option<&Entry>) -> bool {
    match r {
        Right::Owner => true,
        Right::Host => level != Level::Owner && !entry.is_some_and(|e| e.by_owner),
        Right::Read | Right::None => false,
    }
}

/// The mask given, in full form; `*!*@*$*` when none is (draft §9.1, 801).
fn mask(arg: &[u8]) -> Result<String, Reply> {
    if arg.is_empty() {
        return Ok("*!*@*$*".into());
    }
    normalize_mask(arg).ok_or_else(bad_command)
}

fn list(ctx: &mut Ctx<'_>, cid: ClientId, name: &str, obj: Object) -> HResult {
    if right(ctx.w, cid, obj) == Right::None {
        return Err(err(n::IRCERR_SECURITY, &[]));
    }
    let w = &*ctx.w;
    ctx.w
        .reply(ctx.out, ctx.conn, n::IRCRPL_ACCESSSTART, &[name.as_bytes()]);
    if let Some(l) = w.access_list(obj) {
        // Shown by level, in evaluation order, as a reader would check them.
        for level in LEVELS {
            for e in l.entries.iter().filter(|e| e.level == level) {
                let line = entry_line(w, ctx.conn, n::IRCRPL_ACCESSLIST, name, e);
                ctx.out.send(ctx.conn, line);
            }
        }
    }
    ctx.w
        .reply(ctx.out, ctx.conn, n::IRCRPL_ACCESSEND, &[name.as_bytes()]);
    Ok(())
}

/// An 801 or 804 line.
fn entry_line(
    w: &World,
    conn: crate::core::ConnId,
    num: crate::proto::numeric::Numeric,
    name: &str,
    e: &Entry,
) -> std::rc::Rc<[u8]> {
    w.num(conn, num)
        .arg(name)
        .arg(e.level.name())
        .arg(&*e.mask)
        .arg(e.minutes_left(w.now.unix_ms).to_string())
        .arg(&*e.setter)
        .trailing(&*e.reason)
        .finish()
}

fn add(ctx: &mut Ctx<'_>, cid: ClientId, name: &str, obj: Object, msg: &Message<'_>) -> HResult {
    let level = level(obj, msg.param(2))?;
    let mask = mask(msg.param(3))?;
    let minutes = match msg.param(4) {
        [] => 0,
        t => std::str::from_utf8(t)
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|&m| m <= MAX_TIMEOUT_MIN)
            .ok_or_else(bad_command)?,
    };
    let r = right(ctx.w, cid, obj);
    if !may_change(r, level, None) {
        return Err(no_access());
    }
    let w = &mut *ctx.w;
    let list = w.access_list(obj);
    if list.is_some_and(|l| l.find(w.cm, level, &mask).is_some()) {
        return Err(err(n::IRCERR_DUPACCESS, &[]));
    }
    if list.is_some_and(|l| l.entries.len() >= w.config.ircx.max_access) {
        return Err(err(n::IRCERR_TOOMANYACCESSES, &[]));
    }
    // A CR inside a parameter survives framing (only the line's last one is cut): it would
    // break the state file's one-entry-a-line and the 801 line, as links already refuse.
    let reason =
        String::from_utf8_lossy(cut(msg.param(5), REASON_LEN)).replace(['\r', '\n', '\0'], " ");
    let entry = Entry {
        level,
        mask: mask.into(),
        expires_ms: if minutes == 0 {
            0
        } else {
            w.now.unix_ms + minutes * 60_000
        },
        setter: w.clients[cid].mask().into(),
        set_at: w.now.unix_s(),
        by_owner: r == Right::Owner,
        from_config: false,
        reason: reason.into(),
    };
    let line = entry_line(w, ctx.conn, n::IRCRPL_ACCESSADD, name, &entry);
    ctx.out.send(ctx.conn, line);
    w.edit_access(obj, |l| l.entries.push(entry.clone()));
    links::propagate_add(ctx, obj, &entry);
    let w = &mut *ctx.w;
    if level == Level::Deny && matches!(obj, Object::Server | Object::Network) {
        w.enforce_server_access(ctx.out);
    }
    Ok(())
}

fn delete(ctx: &mut Ctx<'_>, cid: ClientId, name: &str, obj: Object, msg: &Message<'_>) -> HResult {
    let level = level(obj, msg.param(2))?;
    let mask = mask(msg.param(3))?;
    let w = &mut *ctx.w;
    let r = right(w, cid, obj);
    if !may_change(r, level, None) {
        return Err(no_access());
    }
    let list = w.access_list(obj);
    let Some(at) = list.and_then(|l| l.find(w.cm, level, &mask)) else {
        return Err(err(n::IRCERR_MISACCESS, &[]));
    };
    if !may_change(r, level, list.map(|l| &l.entries[at])) {
        return Err(no_access());
    }
    let e = w.edit_access(obj, |l| l.entries.remove(at));
    send_deleted(ctx, name, &e);
    links::propagate_delete(ctx, obj, &e);
    Ok(())
}

fn send_deleted(ctx: &mut Ctx<'_>, name: &str, e: &Entry) {
    let line = ctx
        .w
        .num(ctx.conn, n::IRCRPL_ACCESSDELETE)
        .arg(name)
        .arg(e.level.name())
        .arg(&*e.mask)
        .finish();
    ctx.out.send(ctx.conn, line);
}

/// Removes every entry (of `level`, if given) the caller may remove: a host clearing a
/// channel leaves the owners' entries. Each removed entry is answered with an 802.
fn clear(ctx: &mut Ctx<'_>, cid: ClientId, name: &str, obj: Object, level: &[u8]) -> HResult {
    let only = match level {
        [] => None,
        l => Some(self::level(obj, l)?),
    };
    let r = right(ctx.w, cid, obj);
    if !may_change(r, only.unwrap_or(Level::Deny), None) {
        return Err(no_access());
    }
    let removed = ctx.w.edit_access(obj, |l| {
        let (gone, kept) = std::mem::take(&mut l.entries)
            .into_iter()
            .partition(|e| only.is_none_or(|lv| e.level == lv) && may_change(r, e.level, Some(e)));
        l.entries = kept;
        gone
    });
    let removed: Vec<Entry> = removed;
    for e in &removed {
        send_deleted(ctx, name, e);
        links::propagate_delete(ctx, obj, e);
    }
    Ok(())
}
