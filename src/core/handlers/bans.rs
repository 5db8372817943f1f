//! Server bans as operators know them from other servers: `KLINE`/`UNKLINE` (user@host on
//! this server), `DLINE`/`UNDLINE` (an IP address or CIDR range on this server) and
//! `GLINE`/`UNGLINE` (user@host on the whole network), listed by `STATS k`, `d` and `g`.
//!
//! They are not a second ban list: a K-line or D-line is a DENY entry of this server's
//! IRCX access list `$`, a G-line one of the network's `*` (`ACCESS $`/`ACCESS *`), so
//! both views always agree, they share the matching, the expiry timer, the state file
//! and (for `*`) the way over portals, and a new ban disconnects matching users at once.
//! Who may: any IRC operator for `$` (as `ACCESS $`), a sysop manager for `*`.
//!
//! `KLINE [<duration>] <user@host> [:<reason>]`; a duration is minutes (`30`) or a number
//! with a unit (`90s`, `30m`, `12h`, `7d`, `2w`); none is permanent.

use super::ircx::access::{Entry, Level, Object};
use super::ircx::access_cmd::REASON_LEN;
use crate::core::dispatch::{err, Ctx, HResult};
use crate::core::handlers::channel::cut;
use crate::core::portal::access as links;
use crate::core::state::umode;
use crate::core::{ConnId, Outbox, World};
use crate::proto::numeric as n;
use crate::proto::Message;
use std::net::IpAddr;

/// The three kinds of server ban.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    K,
    D,
    G,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::K => "K-Line",
            Kind::D => "D-Line",
            Kind::G => "G-Line",
        }
    }

    fn object(self) -> Object {
        match self {
            Kind::K | Kind::D => Object::Server,
            Kind::G => Object::Network,
        }
    }

    /// Whether an entry of this kind's list is one of its bans (a K-line and a D-line
    /// share `$`: an IP or CIDR host with any user is a D-line).
    fn owns(self, e: &Entry) -> bool {
        if e.level != Level::Deny {
            return false;
        }
        let address =
            ban_target(&e.mask).is_some_and(|(user, host)| user == "*" && ip_or_cidr(host));
        match self {
            Kind::K => !address,
            Kind::D => address,
            Kind::G => true,
        }
    }
}

pub fn kline(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    add(ctx, msg, Kind::K)
}

pub fn dline(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    add(ctx, msg, Kind::D)
}

pub fn gline(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    add(ctx, msg, Kind::G)
}

pub fn unkline(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    remove(ctx, msg, Kind::K)
}

pub fn undline(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    remove(ctx, msg, Kind::D)
}

pub fn ungline(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    remove(ctx, msg, Kind::G)
}

/// The network's list is for sysop managers, as `ACCESS *` is.
fn check_right(ctx: &Ctx<'_>, kind: Kind) -> HResult {
    let c = &ctx.w.clients[ctx.client()];
    if kind == Kind::G && !c.has(umode::MANAGER) {
        return Err(err(n::ERR_NOPRIVILEGES, &[]));
    }
    Ok(())
}

fn add(ctx: &mut Ctx<'_>, msg: &Message<'_>, kind: Kind) -> HResult {
    check_right(ctx, kind)?;
    let (minutes, rest) = match parse_duration(msg.param(0)) {
        Some(m) if msg.len() >= 2 => (m, 1),
        _ => (0, 0),
    };
    let target = msg.param(rest);
    let Some(mask) = ban_mask(kind, target) else {
        return notice(ctx, &bad_mask(kind, target));
    };
    let obj = kind.object();
    let cid = ctx.client();
    let w = &mut *ctx.w;
    if w.access_list(obj)
        .is_some_and(|l| l.find(w.cm, Level::Deny, &mask).is_some())
    {
        return notice(
            ctx,
            &format!("{} for [{}] already exists", kind.name(), shown(&mask)),
        );
    }
    let reason = match msg.param(rest + 1) {
        [] => format!("{}d", kind.name()),
        r => String::from_utf8_lossy(cut(r, REASON_LEN)).into_owned(),
    };
    let setter = w.clients[cid].mask();
    let entry = Entry {
        level: Level::Deny,
        mask: mask.into(),
        expires_ms: if minutes == 0 {
            0
        } else {
            w.now.unix_ms + minutes * 60_000
        },
        setter: setter.clone().into(),
        set_at: w.now.unix_s(),
        by_owner: true,
        from_config: false,
        reason: reason.clone().into(),
    };
    let span = match minutes {
        0 => String::new(),
        m => format!(" ({m} min)"),
    };
    let text = format!(
        "Added {}{span} for [{}]: {reason}",
        kind.name(),
        shown(&entry.mask)
    );
    log::info!("{setter}: {text}");
    w.edit_access(obj, |l| l.entries.push(entry.clone()));
    notice(ctx, &text)?;
    links::propagate_add(ctx, obj, &entry);
    ctx.w.enforce_server_access(ctx.out);
    Ok(())
}

fn remove(ctx: &mut Ctx<'_>, msg: &Message<'_>, kind: Kind) -> HResult {
    check_right(ctx, kind)?;
    let target = msg.param(0);
    let Some(mask) = ban_mask(kind, target) else {
        return notice(ctx, &bad_mask(kind, target));
    };
    let obj = kind.object();
    let cid = ctx.client();
    let w = &mut *ctx.w;
    let Some(at) = w
        .access_list(obj)
        .and_then(|l| l.find(w.cm, Level::Deny, &mask))
    else {
        return notice(ctx, &format!("No {} for [{}]", kind.name(), shown(&mask)));
    };
    let e = w.edit_access(obj, |l| l.entries.remove(at));
    let text = format!("Removed {} for [{}]", kind.name(), shown(&e.mask));
    log::info!("{}: {text}", w.clients[cid].mask());
    notice(ctx, &text)?;
    links::propagate_delete(ctx, obj, &e);
    Ok(())
}

fn notice(ctx: &mut Ctx<'_>, text: &str) -> HResult {
    ctx.w.server_notice(ctx.out, ctx.conn, text);
    Ok(())
}

fn bad_mask(kind: Kind, target: &[u8]) -> String {
    let form = match kind {
        Kind::D => "an IP address or CIDR range such as 192.0.2.7 or 198.51.100.0/24",
        Kind::K | Kind::G => "user@host, not one that matches everyone",
    };
    format!(
        "Invalid {} mask [{}]: use {form}",
        kind.name(),
        String::from_utf8_lossy(target)
    )
}

/// `30` (minutes), `90s`, `30m`, `12h`, `7d`, `2w`, in whole minutes (at least one);
/// None for anything else, which is then the mask.
pub fn parse_duration(arg: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(arg).ok()?;
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let num: u64 = num.parse().ok()?;
    let seconds = match unit {
        "" | "m" => 60,
        "s" => 1,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    // A year at most, as ACCESS timeouts.
    let minutes = num.checked_mul(seconds)?.div_ceil(60);
    (minutes <= 525_600).then_some(minutes)
}

/// The access mask of a ban: `*!user@host$*`. A K/G-line needs a user@host that does
/// not match everyone; a D-line an IP address or CIDR range.
fn ban_mask(kind: Kind, target: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(target).ok()?;
    let (user, host) = match kind {
        Kind::D => ("*", text),
        Kind::K | Kind::G => text.split_once('@')?,
    };
    let everyone = |p: &str| p.bytes().all(|b| b == b'*' || b == b'?');
    let valid = match kind {
        Kind::D => ip_or_cidr(host),
        Kind::K | Kind::G => !(everyone(user) && everyone(host)),
    };
    if !valid || user.is_empty() || host.is_empty() || user.contains(['!', '$', '@']) {
        return None;
    }
    super::ircx::access::normalize_mask(format!("*!{user}@{host}$*").as_bytes())
}

/// `user` and `host` of a `*!user@host$*` mask; None for masks that name a nick or a
/// server (ACCESS entries that no ban command made).
fn ban_target(mask: &str) -> Option<(&str, &str)> {
    let rest = mask.strip_prefix("*!")?.strip_suffix("$*")?;
    rest.split_once('@')
}

/// How a ban's mask is shown: the address of a D-line, `user@host` of a K/G-line, the
/// full mask otherwise.
fn shown(mask: &str) -> String {
    match ban_target(mask) {
        Some(("*", host)) if ip_or_cidr(host) => host.to_string(),
        Some((user, host)) => format!("{user}@{host}"),
        None => mask.to_string(),
    }
}

/// An IP address, or a CIDR range `address/bits` with the bits in range.
pub fn ip_or_cidr(host: &str) -> bool {
    parse_cidr(host).is_some()
}

/// `(network, prefix length)` of an address (a full-length prefix) or a CIDR range.
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a.parse::<IpAddr>().ok()?, Some(b.parse::<u8>().ok()?)),
        None => (text.parse::<IpAddr>().ok()?, None),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((addr, bits))
}

/// Whether `host` (an address) lies in the CIDR range `range`.
pub fn in_cidr(range: &str, host: &str) -> bool {
    let (Some((net, bits)), Ok(addr)) = (parse_cidr(range), host.parse::<IpAddr>()) else {
        return false;
    };
    let keep = |len: u32| -> u128 {
        match bits {
            0 => 0,
            b => u128::MAX << (len - u32::from(b)),
        }
    };
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let m = keep(32) as u32;
            u32::from(n) & m == u32::from(a) & m
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let m = keep(128);
            u128::from(n) & m == u128::from(a) & m
        }
        _ => false,
    }
}

/// `STATS k`, `d` or `g`: the bans of that kind, for IRC operators (others get only the
/// end of the report: the list names addresses).
pub fn stats(w: &World, conn: ConnId, out: &mut Outbox, kind: Kind) {
    let Some(list) = w
        .access_list(kind.object())
        .filter(|_| w.is_oper_conn(conn))
    else {
        return;
    };
    let now = w.now.unix_ms;
    for e in list.entries.iter().filter(|e| kind.owns(e)) {
        let (user, host) = ban_target(&e.mask).unwrap_or(("*", &e.mask));
        let (num, letter) = match kind {
            Kind::K => (n::RPL_STATSKLINE, "K"),
            Kind::D => (n::RPL_STATSDLINE, "D"),
            Kind::G => (n::RPL_STATSGLINE, "G"),
        };
        let line = w
            .num(conn, num)
            .arg(letter)
            .arg(host)
            .arg(e.minutes_left(now).to_string())
            .arg(user)
            .arg(&*e.setter)
            .trailing(&*e.reason);
        out.send(conn, line.finish());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration(b"30"), Some(30));
        assert_eq!(parse_duration(b"90s"), Some(2));
        assert_eq!(parse_duration(b"12h"), Some(720));
        assert_eq!(parse_duration(b"7d"), Some(10_080));
        assert_eq!(parse_duration(b"2w"), Some(20_160));
        assert_eq!(parse_duration(b"53w"), None);
        assert_eq!(parse_duration(b"*@x"), None);
        assert_eq!(parse_duration(b"10y"), None);
        assert_eq!(parse_duration(b""), None);
    }

    #[test]
    fn masks() {
        assert_eq!(
            ban_mask(Kind::K, b"*@bad.host").as_deref(),
            Some("*!*@bad.host$*")
        );
        assert_eq!(ban_mask(Kind::K, b"*@*"), None);
        assert_eq!(ban_mask(Kind::K, b"bad.host"), None);
        assert_eq!(ban_mask(Kind::G, b"x!y@z"), None);
        assert_eq!(
            ban_mask(Kind::D, b"10.0.0.0/8").as_deref(),
            Some("*!*@10.0.0.0/8$*")
        );
        assert_eq!(
            ban_mask(Kind::D, b"2001:db8::/32").as_deref(),
            Some("*!*@2001:db8::/32$*")
        );
        assert_eq!(ban_mask(Kind::D, b"10.0.0.0/33"), None);
        assert_eq!(ban_mask(Kind::D, b"bad.host"), None);
    }

    #[test]
    fn cidr_ranges() {
        assert!(in_cidr("10.0.0.0/8", "10.200.3.4"));
        assert!(!in_cidr("10.0.0.0/8", "11.0.0.1"));
        assert!(in_cidr("0.0.0.0/0", "192.0.2.1"));
        assert!(in_cidr("192.0.2.7", "192.0.2.7"));
        assert!(!in_cidr("192.0.2.7", "192.0.2.8"));
        assert!(in_cidr("2001:db8::/32", "2001:db8:1::5"));
        assert!(!in_cidr("2001:db8::/32", "2001:db9::5"));
        assert!(!in_cidr("10.0.0.0/8", "::ffff:10.0.0.1"));
        assert!(!in_cidr("10.0.0.0/8", "not.an.ip"));
    }
}

#[cfg(test)]
#[path = "bans_tests.rs"]
mod bans_tests;
