//! MODE for channels and users (RFC 2812 §3.1.5 and §3.2.3, as modern.ircdocs.horse
//! describes current practice). ISUPPORT's CHANMODES and PREFIX come from the mode table in
//! `core/modes.rs`, with MODES=4 and MAXLIST=b:100; this is where those promises are kept.

use crate::core::dispatch::{err, Ctx, HResult, Reply, Source};
use crate::core::fanout::Msg;
use crate::core::handlers::ircx::event::EventType;
use crate::core::modes::{self, Kind, Right, Status};
use crate::core::portal::LinkMsg;
use crate::core::state::{umode, Ban, Channel};
use crate::core::{ChanId, ClientId, ConnId, Outbox, World};
use crate::limits::MAX_MODES;
use crate::proto::casemap::is_channel;
use crate::proto::line::Line;
use crate::proto::numeric::{self as n, Numeric};
use crate::proto::Message;

/// Longest channel key kept (ratbox's KEYLEN); longer keys are cut, as there.
const KEY_LEN: usize = 23;
/// Longest ban mask accepted (ratbox's BANLEN): room for any real `nick!user@host` while
/// keeping 367 replies well inside 512 bytes.
const BAN_LEN: usize = 195;

const INVALID_KEY: Numeric = Numeric::new(n::ERR_INVALIDMODEPARAM.code, "Invalid key");
const INVALID_LIMIT: Numeric = Numeric::new(n::ERR_INVALIDMODEPARAM.code, "Invalid limit");
/// 481 for a mode only the server sets: operators are refused it too.
pub const SERVER_ONLY: Numeric = Numeric::new(
    n::ERR_NOPRIVILEGES.code,
    "Permission Denied- Only the server sets that mode",
);

/// MODE from a user here (checked, answered) or from a link (applied as sent: the
/// sending server checked the rights; passed on as it came).
pub fn mode(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let target = msg.param(0);
    if ctx.src == Source::Unregistered {
        // `MODE ISIRCX` (capitals only) asks before registering whether IRCX is spoken.
        if target == b"ISIRCX" {
            super::ircx::send_ircx_state(ctx);
            return Ok(());
        }
        return Err(err(n::ERR_NOTREGISTERED, &[]));
    }
    if msg.is_empty() {
        return Err(err(n::ERR_NEEDMOREPARAMS, &[b"MODE"]));
    }
    if let Some(ch) = ctx.w.find_channel(target) {
        if !ctx.is_local() {
            let setter = ctx.source_name();
            let params = msg.params().get(2..).unwrap_or_default();
            apply_remote(ctx.w, ch, &setter, msg.param(1), params, ctx.out);
            ctx.propagate(&LinkMsg::relay(msg));
            return Ok(());
        }
        return channel_mode(ctx, msg, ch);
    }
    match ctx.w.find_nick(target) {
        Some(cid) => user_mode(ctx, msg, cid),
        None if is_channel(target) => Err(err(n::ERR_NOSUCHCHANNEL, &[target])),
        None => Err(err(n::ERR_NOSUCHNICK, &[target])),
    }
}

/// Sends a failure that happened in the middle of a list, so the rest still runs.
fn send_reply(ctx: &mut Ctx<'_>, reply: Reply) {
    let args: Vec<&[u8]> = reply.args.iter().map(Vec::as_slice).collect();
    ctx.w.reply(ctx.out, ctx.conn, reply.num, &args);
}

/// `+ab-c` from signed letters, a sign written only where it changes.
pub(crate) fn modestring(changes: impl Iterator<Item = (bool, u8)>) -> String {
    let mut s = String::new();
    let mut sign = None;
    for (plus, letter) in changes {
        if sign != Some(plus) {
            s.push(if plus { '+' } else { '-' });
            sign = Some(plus);
        }
        s.push(letter as char);
    }
    s
}

// ---- channel modes ----------------------------------------------------------------------

/// One change as asked for, before it is checked against the channel.
struct Change<'a> {
    plus: bool,
    letter: u8,
    /// Empty for modes without a parameter (and for `-k` given none).
    arg: &'a [u8],
}

/// Everything one mode string asks for.
#[derive(Default)]
struct Request<'a> {
    changes: Vec<Change<'a>>,
    /// A `b` without a mask: the ban list is wanted.
    /// List modes asked for without a mask (`MODE #c b`): their lists are shown.
    list_bans: Vec<u8>,
    /// The first unknown letter; one 472 per command keeps `+XXXX…` from multiplying replies.
    unknown: Option<u8>,
    /// A mode that needs a parameter came without one.
    missing: bool,
    /// A mode only this server sets was asked for (dropped from `changes`).
    server_only: bool,
}

/// Splits a mode string and its parameters into changes. Parameterised changes beyond
/// MODES are dropped, with their parameters, rather than refused as a whole.
fn parse<'a>(modes: &[u8], params: &[&'a [u8]]) -> Request<'a> {
    parse_as(modes, params, false)
}

/// [`parse`], keeping server-only modes when `by_server` (this server's own changes).
fn parse_as<'a>(modes: &[u8], params: &[&'a [u8]], by_server: bool) -> Request<'a> {
    let mut req = Request::default();
    let mut params = params.iter().copied();
    let mut budget = MAX_MODES;
    for (plus, letter) in modes::signed_letters(modes) {
        let Some(mode) = modes::channel_mode(letter) else {
            req.unknown.get_or_insert(letter);
            continue;
        };
        if mode.server_only && !by_server {
            req.server_only = true;
            continue;
        }
        let needs_param = mode.takes_param(plus);
        if !needs_param {
            req.changes.push(Change {
                plus,
                letter,
                arg: b"",
            });
            continue;
        }
        if budget == 0 {
            continue;
        }
        // An empty parameter can only be a trailing `:` at the end. For a key or a limit it
        // still counts as given, so `+k :` and `+l :` are refused as invalid (696), not as
        // missing (461); for the others it is as good as none.
        let given = params
            .next()
            .filter(|a| !a.is_empty() || matches!(mode.kind, Kind::Key | Kind::Limit));
        match (mode.kind, given) {
            (_, Some(arg)) => {
                budget -= 1;
                req.changes.push(Change { plus, letter, arg });
            }
            (Kind::Ban, None) if !req.list_bans.contains(&letter) => req.list_bans.push(letter),
            (Kind::Ban, None) => {}
            // Removing a key needs no proof of it; many clients send a bare `-k`.
            (Kind::Key, None) if !plus => req.changes.push(Change {
                plus,
                letter,
                arg: b"",
            }),
            (_, None) => req.missing = true,
        }
    }
    // +d needs a limit: applied last, `+dl 5` works as `+ld 5` does.
    if let Some(i) = req.changes.iter().position(|c| c.plus && c.letter == b'd') {
        let d = req.changes.remove(i);
        req.changes.push(d);
    }
    // p, h and s exclude each other: of several set at once, the last one counts.
    if let Some(last) = req
        .changes
        .iter()
        .rposition(|c| c.plus && modes::EXCLUSIVE.contains(&c.letter))
    {
        let keep = req.changes[last].letter;
        req.changes
            .retain(|c| !(c.plus && modes::EXCLUSIVE.contains(&c.letter) && c.letter != keep));
    }
    req
}

fn channel_mode(ctx: &mut Ctx<'_>, msg: &Message<'_>, ch: ChanId) -> HResult {
    let cid = ctx.client();
    if msg.len() < 2 || msg.param(1).is_empty() {
        send_channel_modes(ctx.w, ctx.conn, cid, ch, ctx.out);
        return Ok(());
    }
    let req = parse(msg.param(1), &msg.params()[2..]);
    if let Some(letter) = req.unknown {
        send_reply(ctx, err(n::ERR_UNKNOWNMODE, &[&[letter]]));
    }
    if req.missing {
        send_reply(ctx, err(n::ERR_NEEDMOREPARAMS, &[b"MODE"]));
    }
    if req.server_only {
        // Draft §8.1.13: only the server sets REGISTERED; here, from its configuration.
        send_reply(ctx, err(SERVER_ONLY, &[]));
    }
    for &letter in &req.list_bans {
        send_bans(ctx.w, ctx.conn, ch, letter, ctx.out);
    }
    if req.changes.is_empty() {
        return Ok(());
    }
    let chan = &ctx.w.channels[ch];
    if !chan.members.contains_key(&cid) {
        return Err(err(n::ERR_NOTONCHANNEL, &[chan.name.as_bytes()]));
    }
    if let Some(refused) = rights_refusal(ctx.w, ch, cid, &req) {
        return Err(refused);
    }
    apply_changes(ctx, ch, cid, &req);
    Ok(())
}

/// 482 with the reason hosts are refused: only owners act on owners (IRCX.md §2).
pub const NOT_OWNER: Numeric =
    Numeric::new(n::ERR_CHANOPRIVSNEEDED.code, "You're not a channel owner");

/// Whether a change names a member who is an owner (a `-o` or `-v` on them, say).
fn acts_on_owner(w: &World, chan: &Channel, c: &Change<'_>) -> bool {
    let member = modes::channel_mode(c.letter).is_some_and(|m| matches!(m.kind, Kind::Member(_)));
    member
        && w.find_nick(c.arg)
            .and_then(|t| chan.members.get(&t))
            .is_some_and(|s| s.contains(Status::OWNER))
}

/// Why the whole request is refused, if the caller may not make one of its changes: 482
/// for a member status too low (with the owner's reason when a host falls short, or acts
/// on an owner), 481 for a mode no member status reaches (a sysop manager's, or the
/// server's own: the draft names no numeric, and 481 is the one every client already
/// shows as "you lack the privileges", which is exactly the case).
fn rights_refusal(w: &World, ch: ChanId, cid: ClientId, req: &Request<'_>) -> Option<Reply> {
    // IRC operators get no override here: that is what most networks expect of them.
    let chan = &w.channels[ch];
    let status = chan.members[&cid];
    let manager = w.is_manager(cid);
    let short = if status.is_op() {
        NOT_OWNER
    } else {
        n::ERR_CHANOPRIVSNEEDED
    };
    let refused = req.changes.iter().find_map(|c| {
        let m = modes::channel_mode(c.letter)?;
        match m.right {
            Right::Status if status.at_least(m.set_by) => None,
            Right::Status => Some(err(short, &[chan.name.as_bytes()])),
            Right::Manager | Right::AtCreate if manager => None,
            Right::Manager | Right::AtCreate => Some(err(n::ERR_NOPRIVILEGES, &[])),
            Right::Server => Some(err(SERVER_ONLY, &[])),
        }
    });
    refused.or_else(|| {
        let on_owner = req.changes.iter().any(|c| acts_on_owner(w, chan, c));
        (on_owner && !status.at_least(Status::OWNER))
            .then(|| err(NOT_OWNER, &[chan.name.as_bytes()]))
    })
}

/// Channel mode changes from a local user whose rights were checked elsewhere (IRCX PROP
/// MEMBERKEY): applied, shown to members and carried to links as MODE does.
pub fn apply_checked(ctx: &mut Ctx<'_>, ch: ChanId, cid: ClientId, modes: &[u8], params: &[&[u8]]) {
    let req = parse(modes, params);
    apply_changes(ctx, ch, cid, &req);
}

fn apply_changes(ctx: &mut Ctx<'_>, ch: ChanId, cid: ClientId, req: &Request<'_>) {
    let setter = ctx.w.clients[cid].mask();
    let mut done = Vec::new();
    for change in &req.changes {
        if let Err(reply) = apply(ctx.w, ch, &setter, change, &mut done) {
            send_reply(ctx, reply);
        }
    }
    if !done.is_empty() {
        let w = &mut *ctx.w;
        let line = announcement(&setter, &w.channels[ch].name, &done);
        w.mode_to_channel(ch, line, ctx.out);
        mode_events(w, ch, &setter, &done);
        let mut link = LinkMsg::new(&w.clients[cid].nick, "MODE")
            .arg(&*w.channels[ch].name)
            .arg(modestring(done.iter().map(|d| (d.plus, d.letter))));
        for arg in done.iter().filter_map(|d| d.arg.as_deref()) {
            link = link.arg(arg);
        }
        ctx.propagate(&link);
    }
}

/// A channel mode change from another server: applied as sent (its server checked the
/// rights) and shown to local members.
fn apply_remote(
    w: &mut World,
    ch: ChanId,
    setter: &str,
    modes: &[u8],
    params: &[&[u8]],
    out: &mut Outbox,
) {
    let req = parse(modes, params);
    apply_unchecked(w, ch, setter, &req, out);
}

/// Applies changes whatever the rights and shows local members what took effect.
fn apply_unchecked(
    w: &mut World,
    ch: ChanId,
    setter: &str,
    req: &Request<'_>,
    out: &mut Outbox,
) -> Vec<Done> {
    let mut done = Vec::new();
    for c in &req.changes {
        let _ = apply(w, ch, setter, c, &mut done);
    }
    if !done.is_empty() {
        let line = announcement(setter, &w.channels[ch].name, &done);
        w.mode_to_channel(ch, line, out);
        mode_events(w, ch, setter, &done);
    }
    done
}

/// A change this server makes itself (the `[[channel]]` configuration): `:<server> MODE`
/// to local members, and the same to links unless it is only a server-only mode (which
/// describes this server's configuration, so it is not carried).
pub fn apply_by_server(
    w: &mut World,
    ch: ChanId,
    modes: &[u8],
    params: &[&[u8]],
    out: &mut Outbox,
) {
    let req = parse_as(modes, params, true);
    let me = w.name().to_string();
    let done = apply_unchecked(w, ch, &me, &req, out);
    let linked: Vec<&Done> = done
        .iter()
        .filter(|d| !modes::channel_mode(d.letter).is_some_and(|m| m.server_only))
        .collect();
    // Other servers know the channel only while it has members.
    if linked.is_empty() || w.links.is_empty() || w.channels[ch].members.is_empty() {
        return;
    }
    let mut link = LinkMsg::new(&me, "MODE")
        .arg(&*w.channels[ch].name)
        .arg(modestring(linked.iter().map(|d| (d.plus, d.letter))));
    for arg in linked.iter().filter_map(|d| d.arg.as_deref()) {
        link = link.arg(arg);
    }
    w.to_links(None, &link, out);
}

/// 324 and 329. Non-members learn that a key is set but not what it is.
fn send_channel_modes(w: &World, conn: ConnId, viewer: ClientId, ch: ChanId, out: &mut Outbox) {
    let chan = &w.channels[ch];
    let (modes, params) = describe(chan, chan.members.contains_key(&viewer));
    let mut line = w
        .num(conn, n::RPL_CHANNELMODEIS)
        .arg(&*chan.name)
        .arg(modes);
    for p in params {
        line = line.arg(p);
    }
    out.send(conn, line.finish());
    let created = chan.created.to_string();
    let line = w
        .num(conn, n::RPL_CREATIONTIME)
        .arg(&*chan.name)
        .arg(created);
    out.send(conn, line.finish());
}

/// The channel's modes as `+flags[k][l]` and their parameters. A hidden key is shown as `*`
/// so clients that parse by CHANMODES still read the limit as the limit.
fn describe(chan: &Channel, show_key: bool) -> (String, Vec<String>) {
    let (modes, mut params) = crate::core::portal::burst::shown_mode_words(chan);
    // The key comes first among the parameters; outsiders only learn that one is set.
    if chan.key.is_some() && !show_key {
        params[0] = "*".into();
    }
    (modes, params)
}

/// 367/368 for `b`, 348/349 for `e`, 346/347 for `I`.
fn send_bans(w: &World, conn: ConnId, ch: ChanId, letter: u8, out: &mut Outbox) {
    let chan = &w.channels[ch];
    let (item, end) = match letter {
        b'e' => (n::RPL_EXCEPTLIST, n::RPL_ENDOFEXCEPTLIST),
        b'I' => (n::RPL_INVEXLIST, n::RPL_ENDOFINVEXLIST),
        _ => (n::RPL_BANLIST, n::RPL_ENDOFBANLIST),
    };
    for ban in chan.list(letter) {
        let line = w
            .num(conn, item)
            .arg(&*chan.name)
            .arg(&*ban.mask)
            .arg(&*ban.setter)
            .arg(ban.time.to_string());
        out.send(conn, line.finish());
    }
    w.reply(out, conn, end, &[chan.name.as_bytes()]);
}

/// A change that took effect, as it is announced.
struct Done {
    plus: bool,
    letter: u8,
    arg: Option<Box<str>>,
}

impl Done {
    fn new(plus: bool, letter: u8, arg: Option<&str>) -> Option<Done> {
        Some(Done {
            plus,
            letter,
            arg: arg.map(Into::into),
        })
    }
}

/// IRCX EVENTs for a change: `MEMBER MODE <chan> <mask> <±letter> <setter>` per status
/// given or taken, `CHANNEL MODE <chan> <setter> <modes> [args]` for the rest.
fn mode_events(w: &mut World, ch: ChanId, setter: &str, done: &[Done]) {
    if !w.events_wanted() {
        return;
    }
    let name = w.channels[ch].name.to_string();
    let is_status = |d: &&Done| {
        modes::channel_mode(d.letter).is_some_and(|m| matches!(m.kind, Kind::Member(_)))
    };
    for d in done.iter().filter(is_status) {
        let Some(target) = d.arg.as_deref().and_then(|n| w.find_nick(n.as_bytes())) else {
            continue;
        };
        let change = format!("{}{}", if d.plus { '+' } else { '-' }, d.letter as char);
        let mask = w.clients[target].mask();
        let params: &[&str] = &[&name, &mask, &change, setter];
        w.raise_event(EventType::Member, "MODE", Some(target), params, None);
    }
    let rest: Vec<&Done> = done.iter().filter(|d| !is_status(d)).collect();
    if rest.is_empty() {
        return;
    }
    let modes = modestring(rest.iter().map(|d| (d.plus, d.letter)));
    let mut params: Vec<&str> = vec![&name, setter, &modes];
    params.extend(rest.iter().filter_map(|d| d.arg.as_deref()));
    w.raise_event(EventType::Channel, "MODE", None, &params, None);
}

/// `:setter MODE #chan +ov-b alice bob *!*@bad`.
fn announcement(setter: &str, chan: &str, done: &[Done]) -> std::rc::Rc<[u8]> {
    let modes = modestring(done.iter().map(|d| (d.plus, d.letter)));
    let mut line = Line::new(setter, "MODE").arg(chan).arg(modes);
    for arg in done.iter().filter_map(|d| d.arg.as_deref()) {
        line = line.arg(arg);
    }
    line.finish()
}

/// Applies one change; `Ok(None)` when the channel already was that way.
/// Applies one change, adding what took effect to `done` (nothing when the channel already
/// was that way).
fn apply(
    w: &mut World,
    ch: ChanId,
    setter: &str,
    c: &Change<'_>,
    done: &mut Vec<Done>,
) -> Result<(), Reply> {
    let Some(mode) = modes::channel_mode(c.letter) else {
        return Ok(());
    };
    let result = match mode.kind {
        Kind::Member(status) => set_member(w, ch, c, status),
        Kind::Key => set_key(&mut w.channels[ch], c),
        Kind::Limit => set_limit(&mut w.channels[ch], c),
        Kind::Ban => set_ban(w, ch, setter, c),
        Kind::Flag => {
            // p, h and s exclude each other: setting one clears the others first.
            if c.plus && modes::EXCLUSIVE.contains(&c.letter) {
                for &other in modes::EXCLUSIVE.iter().filter(|&&o| o != c.letter) {
                    done.extend(set_flag(&mut w.channels[ch], false, other));
                }
            }
            if c.plus && c.letter == b'd' {
                let chan = &w.channels[ch];
                cloneable_refusal(chan.name.as_bytes(), chan.limit).map_or(Ok(()), Err)?;
            }
            Ok(set_flag(&mut w.channels[ch], c.plus, c.letter))
        }
    };
    done.extend(result?);
    Ok(())
}

/// Why a channel cannot be made IRCX CLONEABLE (+d), if it cannot. 696 (invalid mode
/// parameter, `<chan> d * :<why>`) rather than 472: the letter is known, only this
/// channel cannot take it, and modern clients show 696's text as it is.
pub fn cloneable_refusal(name: &[u8], limit: u32) -> Option<Reply> {
    let why = if name.last().is_some_and(u8::is_ascii_digit) {
        // Its clones are named by appending digits (draft §8.1.16).
        "A cloneable channel's name cannot end in a digit"
    } else if limit == 0 {
        // Without a limit the channel is never full, so it would never clone.
        "A cloneable channel needs a limit (+l)"
    } else {
        return None;
    };
    let num = Numeric::new(n::ERR_INVALIDMODEPARAM.code, why);
    Some(err(num, &[name, b"d", b"*"]))
}

fn set_flag(chan: &mut Channel, plus: bool, letter: u8) -> Option<Done> {
    let bit = modes::flag_bit(letter);
    if chan.has(bit) == plus {
        return None;
    }
    chan.modes ^= bit;
    Done::new(plus, letter, None)
}

fn set_member(
    w: &mut World,
    ch: ChanId,
    c: &Change<'_>,
    status: Status,
) -> Result<Option<Done>, Reply> {
    let target = w
        .find_nick(c.arg)
        .ok_or_else(|| err(n::ERR_NOSUCHNICK, &[c.arg]))?;
    let chan = &mut w.channels[ch];
    let Some(flags) = chan.members.get_mut(&target) else {
        return Err(err(n::ERR_USERNOTINCHANNEL, &[c.arg, chan.name.as_bytes()]));
    };
    if flags.contains(status) == c.plus {
        return Ok(None);
    }
    *flags = if c.plus {
        flags.with(status)
    } else {
        flags.without(status)
    };
    Ok(Done::new(c.plus, c.letter, Some(&w.clients[target].nick)))
}

/// Keys travel as middle parameters of JOIN and 324, so only bytes that survive there are
/// kept (ratbox drops the same ones).
pub fn clean_key(raw: &[u8]) -> Option<Box<str>> {
    let key: String = raw
        .iter()
        .filter(|&&b| b.is_ascii_graphic() && b != b',' && b != b':')
        .take(KEY_LEN)
        .map(|&b| b as char)
        .collect();
    (!key.is_empty()).then(|| key.into())
}

fn set_key(chan: &mut Channel, c: &Change<'_>) -> Result<Option<Done>, Reply> {
    if !c.plus {
        // The announced parameter is `*`: the old key is nobody's business any more.
        return Ok(chan
            .key
            .take()
            .and_then(|_| Done::new(false, b'k', Some("*"))));
    }
    // A space cannot travel in JOIN's key list or 324: refused rather than silently cut.
    let key = clean_key(c.arg)
        .filter(|_| !c.arg.contains(&b' '))
        .ok_or_else(|| err(INVALID_KEY, &[chan.name.as_bytes(), b"k", c.arg]))?;
    match &chan.key {
        Some(old) if *old == key => Ok(None),
        Some(_) => Err(err(n::ERR_KEYSET, &[chan.name.as_bytes()])),
        None => {
            chan.key = Some(key.clone());
            Ok(Done::new(true, b'k', Some(&key)))
        }
    }
}

fn set_limit(chan: &mut Channel, c: &Change<'_>) -> Result<Option<Done>, Reply> {
    if !c.plus {
        let was = std::mem::take(&mut chan.limit);
        return Ok(if was == 0 {
            None
        } else {
            Done::new(false, b'l', None)
        });
    }
    let limit = std::str::from_utf8(c.arg)
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|&l| l > 0);
    let limit = limit.ok_or_else(|| err(INVALID_LIMIT, &[chan.name.as_bytes(), b"l", c.arg]))?;
    if chan.limit == limit {
        return Ok(None);
    }
    chan.limit = limit;
    Ok(Done::new(true, b'l', Some(&limit.to_string())))
}

/// The full `nick!user@host` form of a ban parameter, every missing or empty part `*`:
/// `bob` → `bob!*@*`, `u@h` → `*!u@h`, `bob!u` → `bob!u@*`. Without it a bare nick would
/// never match anyone, and duplicates would hide behind different spellings.
fn ban_mask(raw: &[u8]) -> Option<Box<str>> {
    let raw = String::from_utf8_lossy(raw);
    let raw = raw.trim_start_matches(':');
    let (nick, rest) = match raw.split_once('!') {
        Some((nick, rest)) => (nick, Some(rest)),
        None if raw.contains('@') => ("*", Some(raw)),
        None => (raw, None),
    };
    let (user, host) = rest.map_or(("*", "*"), |r| r.split_once('@').unwrap_or((r, "*")));
    let star = |s: &str| {
        if s.is_empty() {
            "*".to_string()
        } else {
            s.to_string()
        }
    };
    let mask = format!("{}!{}@{}", star(nick), star(user), star(host));
    (mask.len() <= BAN_LEN && !mask.contains(' ')).then(|| mask.into())
}

fn set_ban(w: &mut World, ch: ChanId, setter: &str, c: &Change<'_>) -> Result<Option<Done>, Reply> {
    let Some(mask) = ban_mask(c.arg) else {
        return Ok(None);
    };
    let cm = w.cm;
    let time = w.now.unix_s();
    let max = w.config.limits.max_list_entries;
    let chan = &mut w.channels[ch];
    let letter = c.letter;
    let existing = chan.list(letter).iter().position(|b| cm.eq(&b.mask, &mask));
    match (c.plus, existing) {
        (true, Some(_)) | (false, None) => Ok(None),
        (false, Some(i)) => {
            let gone = chan.list_mut(letter).remove(i);
            Ok(Done::new(false, letter, Some(&gone.mask)))
        }
        (true, None) if chan.list(letter).len() >= max => {
            Err(err(n::ERR_BANLISTFULL, &[chan.name.as_bytes(), &[letter]]))
        }
        (true, None) => {
            chan.list_mut(letter).push(Ban {
                mask: mask.clone(),
                setter: setter.into(),
                time,
            });
            Ok(Done::new(true, letter, Some(&mask)))
        }
    }
}

// ---- user modes -------------------------------------------------------------------------

fn umode_bit(letter: u8) -> Option<u16> {
    umode::ALL
        .iter()
        .find(|&&(c, _)| c == letter)
        .map(|&(_, bit)| bit)
}

fn user_mode(ctx: &mut Ctx<'_>, msg: &Message<'_>, target: ClientId) -> HResult {
    if !ctx.is_local() {
        if gag::remote(ctx, msg, target) {
            return Ok(());
        }
        // Another server's user: its modes as that server set them, every letter known.
        if ctx.src == Source::Remote(target) {
            let old = ctx.w.clients[target].umodes;
            // Only what servers share: a connection's own modes (+x) stay its server's.
            let new = apply_umodes(old, msg.param(1)) & umode::LINKED | old & !umode::LINKED;
            ctx.w.set_umodes(target, new);
            ctx.propagate(&LinkMsg::relay(msg));
        }
        return Ok(());
    }
    let cid = ctx.client();
    let modes = msg.param(1);
    let asks_gag = modes.contains(&b'z');
    if target != cid {
        // IRCX GAG is the one user mode set on somebody else, and only on its own.
        if !asks_gag || !modes.iter().all(|&b| matches!(b, b'+' | b'-' | b'z')) {
            return Err(err(n::ERR_USERSDONTMATCH, &[]));
        }
        if !ctx.w.is_sysop(cid) {
            return Err(err(n::ERR_NOPRIVILEGES, &[]));
        }
        return gag::by_sysop(ctx, cid, target, modes);
    }
    if modes.is_empty() {
        // A gagged user is not told (IRCX GAG).
        let shown = ctx.w.clients[cid].umodes & !umode::GAG;
        let modes = modestring(
            umode::ALL
                .iter()
                .filter(|&&(_, bit)| shown & bit != 0)
                .map(|&(c, _)| (true, c)),
        );
        let line = ctx
            .w
            .num(ctx.conn, n::RPL_UMODEIS)
            .arg(if modes.is_empty() { "+" } else { &modes });
        ctx.out.send(ctx.conn, line.finish());
        return Ok(());
    }
    let sysop = ctx.w.is_sysop(cid);
    let old = ctx.w.clients[cid].umodes;
    let (new, unknown) = parse_umodes(old, modes, sysop);
    if unknown {
        send_reply(ctx, err(n::ERR_UMODEUNKNOWNFLAG, &[]));
    }
    // Asking for a gag without being a sysop is answered, whoever it was for; the rest of
    // the modes still apply. (A gagged user asking to lift it learns nothing new.)
    if asks_gag && !sysop {
        send_reply(ctx, err(n::ERR_NOPRIVILEGES, &[]));
    }
    set_umodes(ctx, cid, old, new);
    Ok(())
}

/// The user modes after `modes`, every known letter taken as it is (a remote server's word).
pub(super) fn apply_umodes(mut umodes: u16, modes: &[u8]) -> u16 {
    for (plus, letter) in modes::signed_letters(modes) {
        match umode_bit(letter) {
            Some(bit) if plus => umodes |= bit,
            Some(bit) => umodes &= !bit,
            None => {}
        }
    }
    umodes
}

/// The user modes after `modes` asked by the user for themselves, and whether it held a
/// letter that is not a user mode. `sysop`: the user may set and lift their own gag.
fn parse_umodes(mut umodes: u16, modes: &[u8], sysop: bool) -> (u16, bool) {
    let mut unknown = false;
    for (plus, letter) in modes::signed_letters(modes) {
        match (letter, umode_bit(letter)) {
            // Operator status comes from OPER alone; giving it up is allowed.
            (b'o' | b'a', _) if plus => {}
            // A gag is a sysop's to set and lift, and its user never learns of it.
            (b'z', _) if !sysop => {}
            // IRCX mode is the server's to set, on the IRCX command; nobody leaves it.
            // Likewise +Z: it says the connection is TLS.
            (b'x' | b'Z', _) => {}
            (_, Some(bit)) if plus => umodes |= bit,
            (_, Some(bit)) => umodes &= !bit,
            (_, None) => unknown = true,
        }
    }
    // A sysop manager is a sysop first: giving up +o gives up +a.
    if umodes & umode::OPER == 0 {
        umodes &= !umode::MANAGER;
    }
    (umodes, unknown)
}

/// Stores the new modes and tells the user the net difference, as `:nick MODE nick :+i`.
fn set_umodes(ctx: &mut Ctx<'_>, cid: ClientId, old: u16, new: u16) {
    let changed = old ^ new;
    if changed == 0 {
        return;
    }
    let w = &mut *ctx.w;
    w.set_umodes(cid, new);
    let modes = umode::ALL
        .iter()
        .filter(|&&(_, bit)| changed & bit != 0)
        .map(|&(c, bit)| (new & bit != 0, c));
    let nick = w.clients[cid].nick.clone();
    let modes = modestring(modes);
    let line = Line::new(&nick, "MODE")
        .arg(&*nick)
        .trailing(&modes)
        .finish();
    let mut m = Msg::new(line, w.now.unix_ms);
    w.send_client(cid, &mut m, ctx.out);
    // Links hear only of the modes servers share (not +a, +x, +z: see umode::LINKED).
    let linked = changed & umode::LINKED;
    if linked != 0 {
        let modes = modestring(
            umode::ALL
                .iter()
                .filter(|&&(_, bit)| linked & bit != 0)
                .map(|&(c, bit)| (new & bit != 0, c)),
        );
        ctx.propagate(&LinkMsg::new(&nick, "MODE").arg(&*nick).trailing(&modes));
    }
}

mod gag;
pub use gag::burst_line as gag_burst_line;
#[cfg(test)]
mod tests;
