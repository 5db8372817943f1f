//! Queries: WHO WHOIS WHOWAS ISON USERHOST LUSERS MOTD VERSION TIME ADMIN INFO STATS.

use super::register::VERSION;
use crate::core::caps;
use crate::core::dispatch::{err, Ctx, HResult};
use crate::core::modes::Status;
use crate::core::state::umode;
use crate::core::{ClientId, ConnId, Outbox, World};
use crate::proto::casemap::{is_channel, wild_match};
use crate::proto::line::Line;
use crate::proto::numeric as n;
use crate::proto::time::iso8601;
use crate::proto::Message;
use std::rc::Rc;

/// Room for data in one reply line, leaving space for the prefix, numeric and nicks.
const LIST_BYTES: usize = 400;

/// `:server CODE me`, for replies whose trailing text is data rather than fixed text.
fn head(w: &World, conn: ConnId, code: &str) -> Line {
    Line::new(w.name(), code).arg(w.target_nick(conn))
}

/// A numeric whose text is formatted (`w.reply` takes only fixed text).
fn say(w: &World, conn: ConnId, out: &mut Outbox, code: &str, args: &[&[u8]], text: &str) {
    out.send(conn, w.numeric(conn, code, args, text));
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

pub fn send_lusers(w: &World, conn: ConnId, out: &mut Outbox) {
    let users = w.clients.len();
    let invisible = w.invisible;
    let (local, max) = (w.local_users.to_string(), w.max_local_users.to_string());
    let global = users.to_string();
    let text = format!(
        "There are {} users and {invisible} invisible on {} servers",
        users - invisible,
        w.servers.len()
    );
    say(w, conn, out, n::RPL_LUSERCLIENT, &[], &text);
    w.reply(out, conn, n::RPL_LUSEROP, &[w.opers.to_string().as_bytes()]);
    w.reply(
        out,
        conn,
        n::RPL_LUSERUNKNOWN,
        &[w.unregistered.to_string().as_bytes()],
    );
    w.reply(
        out,
        conn,
        n::RPL_LUSERCHANNELS,
        &[w.channels.len().to_string().as_bytes()],
    );
    let text = format!("I have {local} clients and {} servers", w.links.len());
    say(w, conn, out, n::RPL_LUSERME, &[], &text);
    let text = format!("Current local users {local}, max {max}");
    say(
        w,
        conn,
        out,
        n::RPL_LOCALUSERS,
        &[local.as_bytes(), max.as_bytes()],
        &text,
    );
    let gmax = w.max_global_users.max(users).to_string();
    let text = format!("Current global users {global}, max {gmax}");
    say(
        w,
        conn,
        out,
        n::RPL_GLOBALUSERS,
        &[global.as_bytes(), gmax.as_bytes()],
        &text,
    );
}

pub fn send_motd(w: &World, conn: ConnId, out: &mut Outbox) {
    let lines = w.config.motd_lines();
    if lines.is_empty() {
        w.reply(out, conn, n::ERR_NOMOTD, &[]);
        return;
    }
    let start = format!("- {} Message of the day - ", w.name());
    say(w, conn, out, n::RPL_MOTDSTART, &[], &start);
    for line in &lines {
        out.send(
            conn,
            head(w, conn, n::RPL_MOTD)
                .trailing(format!("- {line}"))
                .finish(),
        );
    }
    w.reply(out, conn, n::RPL_ENDOFMOTD, &[]);
}

/// RPL_ISUPPORT lines, as in the welcome burst (13 tokens a line keeps each under 512 bytes).
pub fn send_isupport(w: &World, conn: ConnId, out: &mut Outbox) {
    for chunk in w.isupport.chunks(13) {
        let l = chunk
            .iter()
            .fold(head(w, conn, n::RPL_ISUPPORT), |l, t| l.arg(t));
        out.send(conn, l.trailing("are supported by this server").finish());
    }
}

/// LINKS: 364 `<server> <uplink> :<hop> <description>` per server, then 365.
pub fn links(ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    let w = &*ctx.w;
    let mut order: Vec<usize> = w.servers.iter().map(|(i, _)| i).collect();
    order.sort_by_key(|&i| (w.servers[i].hop, w.servers[i].name.clone()));
    for i in order {
        let s = &w.servers[i];
        let line = head(w, ctx.conn, n::RPL_LINKS)
            .arg(&*s.name)
            .arg(&*w.servers[s.uplink].name)
            .trailing(format!("{} {}", s.hop, s.description))
            .finish();
        ctx.out.send(ctx.conn, line);
    }
    w.reply(ctx.out, ctx.conn, n::RPL_ENDOFLINKS, &[b"*"]);
    Ok(())
}

/// MAP: the server tree, one 006 line per server indented by depth, then 007.
pub fn map(ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    let w = &*ctx.w;
    let mut lines = Vec::new();
    map_walk(w, crate::core::ME, 0, &mut lines);
    for text in lines {
        let line = head(w, ctx.conn, n::RPL_MAP).trailing(text).finish();
        ctx.out.send(ctx.conn, line);
    }
    w.reply(ctx.out, ctx.conn, n::RPL_MAPEND, &[]);
    Ok(())
}

fn map_walk(w: &World, at: usize, depth: usize, lines: &mut Vec<String>) {
    let s = &w.servers[at];
    lines.push(format!(
        "{}{} [{}] ({} users)",
        "  ".repeat(depth),
        s.name,
        s.sid,
        s.users
    ));
    let mut children: Vec<usize> = w
        .servers
        .iter()
        .filter(|&(i, c)| c.uplink == at && i != at)
        .map(|(i, _)| i)
        .collect();
    children.sort_by_key(|&i| w.servers[i].name.clone());
    for c in children {
        map_walk(w, c, depth + 1, lines);
    }
}

pub fn lusers(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    check_target(ctx.w, msg.param(1))?;
    send_lusers(ctx.w, ctx.conn, ctx.out);
    Ok(())
}

pub fn motd(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    check_target(ctx.w, msg.param(0))?;
    send_motd(ctx.w, ctx.conn, ctx.out);
    Ok(())
}

pub fn version(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let w = &*ctx.w;
    check_target(w, msg.param(0))?;
    let args: &[&[u8]] = &[VERSION.as_bytes(), w.name().as_bytes()];
    say(
        w,
        ctx.conn,
        ctx.out,
        n::RPL_VERSION,
        args,
        &w.config.server.description,
    );
    send_isupport(w, ctx.conn, ctx.out);
    Ok(())
}

pub fn time(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let w = &*ctx.w;
    check_target(w, msg.param(0))?;
    let now = iso8601(w.now.unix_ms);
    say(
        w,
        ctx.conn,
        ctx.out,
        n::RPL_TIME,
        &[w.name().as_bytes()],
        &now,
    );
    Ok(())
}

pub fn admin(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let (w, conn) = (&*ctx.w, ctx.conn);
    check_target(w, msg.param(0))?;
    let a = &w.config.admin;
    let or = |s: &str, default: &str| {
        if s.is_empty() {
            default.to_string()
        } else {
            s.to_string()
        }
    };
    w.reply(ctx.out, conn, n::RPL_ADMINME, &[w.name().as_bytes()]);
    // Without a configured location, the server's description says at least what it is.
    let loc1 = or(&a.location, &w.config.server.description);
    for (code, text) in [
        (n::RPL_ADMINLOC1, loc1),
        (n::RPL_ADMINLOC2, or(&a.location2, "-")),
        (n::RPL_ADMINEMAIL, or(&a.email, "-")),
    ] {
        ctx.out
            .send(conn, head(w, conn, code).trailing(text).finish());
    }
    Ok(())
}

pub fn info(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let (w, conn) = (&*ctx.w, ctx.conn);
    check_target(w, msg.param(0))?;
    let lines = [
        "Portico IRC server, see README".to_string(),
        format!("Server: {}", w.name()),
        format!("Version: {VERSION}"),
        format!("Online since {}", iso8601(w.started_unix * 1000)),
    ];
    for line in lines {
        ctx.out
            .send(conn, head(w, conn, n::RPL_INFO).trailing(line).finish());
    }
    w.reply(ctx.out, conn, n::RPL_ENDOFINFO, &[]);
    Ok(())
}

pub fn stats(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let Some(&letter) = msg.param(0).first() else {
        return Err(err(n::ERR_NEEDMOREPARAMS, &[b"STATS"]));
    };
    let (w, conn) = (&*ctx.w, ctx.conn);
    check_target(w, msg.param(1))?;
    match letter.to_ascii_lowercase() {
        b'u' => stats_uptime(w, conn, ctx.out),
        b'm' => stats_commands(w, conn, ctx.out),
        b'l' => stats_links(w, conn, ctx.out),
        _ => {}
    }
    w.reply(ctx.out, conn, n::RPL_ENDOFSTATS, &[&[letter]]);
    Ok(())
}

fn stats_uptime(w: &World, conn: ConnId, out: &mut Outbox) {
    let up = w.now.mono_ms.saturating_sub(w.started_mono_ms) / 1000;
    let (d, h, m, s) = (up / 86400, up / 3600 % 24, up / 60 % 60, up % 60);
    let text = format!("Server Up {d} days {h:02}:{m:02}:{s:02}");
    say(w, conn, out, n::RPL_STATSUPTIME, &[], &text);
}

fn stats_commands(w: &World, conn: ConnId, out: &mut Outbox) {
    let mut cmds: Vec<_> = w.stats.iter().collect();
    cmds.sort_unstable_by_key(|(name, _)| **name);
    for (name, s) in cmds {
        let line = head(w, conn, n::RPL_STATSCOMMANDS)
            .arg(name)
            .arg(s.count.to_string())
            .arg(s.bytes.to_string());
        out.send(conn, line.finish());
    }
}

/// Every registered local connection for an operator; a user sees only their own, since
/// others' addresses are private.
fn stats_links(w: &World, conn: ConnId, out: &mut Outbox) {
    let me = w.local(conn).and_then(|l| l.client);
    if me.is_some_and(|c| w.clients[c].has(umode::OPER)) {
        for c in 0..w.locals.len() {
            link_line(w, conn, c, out);
        }
    } else {
        link_line(w, conn, conn, out);
    }
}

fn link_line(w: &World, to: ConnId, conn: ConnId, out: &mut Outbox) {
    let Some((l, cid)) = w.local(conn).and_then(|l| Some((l, l.client?))) else {
        return;
    };
    let name = format!("{}[{}]", w.clients[cid].nick, l.host);
    let open = w.now.mono_ms.saturating_sub(l.connected_ms) / 1000;
    let line = head(w, to, n::RPL_STATSLINKINFO)
        .arg(name)
        .arg("0")
        .arg(l.lines_out.to_string())
        .arg("0")
        .arg(l.lines_in.to_string())
        .arg("0")
        .trailing(open.to_string());
    out.send(to, line.finish());
}

pub fn whois(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    // `WHOIS server nick` asks a given server; there is only this one, so the nick is last.
    let nick = first_item(msg.param(msg.len() - 1));
    if nick.is_empty() {
        return Err(err(n::ERR_NONICKNAMEGIVEN, &[]));
    }
    let me = ctx.client();
    match ctx.w.find_nick(nick) {
        Some(target) => whois_user(ctx.w, ctx.conn, me, target, ctx.out),
        None => ctx.w.reply(ctx.out, ctx.conn, n::ERR_NOSUCHNICK, &[nick]),
    }
    ctx.w.reply(ctx.out, ctx.conn, n::RPL_ENDOFWHOIS, &[nick]);
    Ok(())
}

fn whois_user(w: &World, conn: ConnId, me: ClientId, target: ClientId, out: &mut Outbox) {
    let c = &w.clients[target];
    let nick = c.nick.as_bytes();
    let user = head(w, conn, n::RPL_WHOISUSER)
        .arg(nick)
        .arg(&*c.user)
        .arg(&*c.host)
        .arg("*");
    out.send(conn, user.trailing(&c.realname).finish());
    whois_channels(w, conn, me, target, out);
    let srv = &w.servers[c.server];
    let server: &[&[u8]] = &[nick, srv.name.as_bytes()];
    say(w, conn, out, n::RPL_WHOISSERVER, server, &srv.description);
    if let Some(away) = &c.away {
        out.send(
            conn,
            head(w, conn, n::RPL_AWAY).arg(nick).trailing(away).finish(),
        );
    }
    if c.has(umode::OPER) {
        w.reply(out, conn, n::RPL_WHOISOPERATOR, &[nick]);
    }
    if let Some(l) = c.conn.and_then(|lc| w.local(lc)) {
        let idle = w.now.unix_s().saturating_sub(l.last_msg).to_string();
        let signon = c.signon.to_string();
        w.reply(
            out,
            conn,
            n::RPL_WHOISIDLE,
            &[nick, idle.as_bytes(), signon.as_bytes()],
        );
    }
}

/// 319, split over as many lines as needed; secret and private channels show only to
/// fellow members and to the user themselves.
fn whois_channels(w: &World, conn: ConnId, me: ClientId, target: ClientId, out: &mut Outbox) {
    let c = &w.clients[target];
    let multi = w.clients[me].caps & caps::MULTI_PREFIX != 0;
    let line = head(w, conn, n::RPL_WHOISCHANNELS).arg(&*c.nick);
    let mut list = String::new();
    for &ch in &c.chans {
        let chan = &w.channels[ch];
        if me != target && chan.is_secret() && !chan.members.contains_key(&me) {
            continue;
        }
        if list.len() + chan.name.len() > LIST_BYTES {
            out.send(conn, line.clone().trailing(&list).finish());
            list.clear();
        }
        if !list.is_empty() {
            list.push(' ');
        }
        chan.members[&target].push_prefixes(&mut list, multi, w.clients[me].caps);
        list.push_str(&chan.name);
    }
    if !list.is_empty() {
        out.send(conn, line.trailing(&list).finish());
    }
}

pub fn whowas(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let nick = first_item(msg.param(0));
    if nick.is_empty() {
        return Err(err(n::ERR_NONICKNAMEGIVEN, &[]));
    }
    // A count of 0 or less, or none, means every entry (RFC 2812 §3.6.3).
    let count = msg
        .param_str(1)
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|&c| c > 0);
    let (w, conn) = (&*ctx.w, ctx.conn);
    let wanted = String::from_utf8_lossy(nick);
    let entries = w.whowas.iter().rev().filter(|e| w.cm.eq(&e.nick, &wanted));
    let mut found = false;
    for e in entries.take(count.map_or(usize::MAX, |c| c as usize)) {
        found = true;
        let user = head(w, conn, n::RPL_WHOWASUSER)
            .arg(&*e.nick)
            .arg(&*e.user)
            .arg(&*e.host)
            .arg("*");
        ctx.out.send(conn, user.trailing(&e.realname).finish());
        let server: &[&[u8]] = &[e.nick.as_bytes(), e.server.as_bytes()];
        say(
            w,
            conn,
            ctx.out,
            n::RPL_WHOISSERVER,
            server,
            &iso8601(e.time * 1000),
        );
    }
    if !found {
        w.reply(ctx.out, conn, n::ERR_WASNOSUCHNICK, &[nick]);
    }
    w.reply(ctx.out, conn, n::RPL_ENDOFWHOWAS, &[nick]);
    Ok(())
}

pub fn who(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let me = ctx.client();
    let given = msg.param(0);
    // `WHO`, `WHO 0` and `WHO *` all mean everyone visible.
    let mask: &[u8] = if given.is_empty() || given == b"0" {
        b"*"
    } else {
        given
    };
    let opers_only = msg.param(1).contains(&b'o');
    if is_channel(mask) {
        who_channel(ctx.w, ctx.conn, me, mask, opers_only, ctx.out);
    } else {
        who_mask(ctx.w, ctx.conn, me, mask, opers_only, ctx.out);
    }
    let end: &[u8] = if given.is_empty() { b"*" } else { given };
    ctx.w.reply(ctx.out, ctx.conn, n::RPL_ENDOFWHO, &[end]);
    Ok(())
}

/// Outsiders see neither a secret channel nor its invisible members; operators see all.
fn who_channel(
    w: &World,
    conn: ConnId,
    me: ClientId,
    name: &[u8],
    opers_only: bool,
    out: &mut Outbox,
) {
    let Some(ch) = w.find_channel(name) else {
        return;
    };
    let chan = &w.channels[ch];
    let see_all = chan.members.contains_key(&me) || w.clients[me].has(umode::OPER);
    if chan.is_secret() && !see_all {
        return;
    }
    let multi = w.clients[me].caps & caps::MULTI_PREFIX != 0;
    // Sorted so the reply does not depend on hash order.
    let mut members: Vec<(ClientId, Status)> = chan.members.iter().map(|(&c, &f)| (c, f)).collect();
    members.sort_unstable();
    for (cid, flags) in members {
        let c = &w.clients[cid];
        if (c.has(umode::INVISIBLE) && !see_all) || (opers_only && !c.has(umode::OPER)) {
            continue;
        }
        out.send(conn, who_line(w, conn, &chan.name, cid, flags, multi));
    }
}

/// An invisible user shows only to operators, to themselves and to those sharing a channel.
fn who_mask(
    w: &World,
    conn: ConnId,
    me: ClientId,
    mask: &[u8],
    opers_only: bool,
    out: &mut Outbox,
) {
    let see_all = w.clients[me].has(umode::OPER);
    let matches = |s: &[u8]| wild_match(w.cm, mask, s);
    for (cid, c) in &w.clients {
        if opers_only && !c.has(umode::OPER) {
            continue;
        }
        let hidden =
            c.has(umode::INVISIBLE) && !see_all && cid != me && !shares_channel(w, me, cid);
        let hit = [
            c.nick.as_bytes(),
            c.user.as_bytes(),
            c.host.as_bytes(),
            &c.realname,
            // The user's own server: `WHO b.test` lists the users on b.test.
            w.servers[c.server].name.as_bytes(),
        ]
        .into_iter()
        .any(matches);
        if hit && !hidden {
            out.send(conn, who_line(w, conn, "*", cid, Status::NONE, false));
        }
    }
}

fn shares_channel(w: &World, a: ClientId, b: ClientId) -> bool {
    w.clients[a]
        .chans
        .iter()
        .any(|ch| w.channels[*ch].members.contains_key(&b))
}

/// 352: `<channel> <user> <host> <server> <nick> <H|G>[*][@|+] :0 <realname>`.
fn who_line(
    w: &World,
    conn: ConnId,
    chan: &str,
    cid: ClientId,
    flags: Status,
    multi: bool,
) -> Rc<[u8]> {
    let c = &w.clients[cid];
    let mut status = String::from(if c.away.is_some() { "G" } else { "H" });
    if c.has(umode::OPER) {
        status.push('*');
    }
    let viewer = w.local(conn).and_then(|l| l.client);
    flags.push_prefixes(&mut status, multi, viewer.map_or(0, |v| w.clients[v].caps));
    let srv = &w.servers[c.server];
    let mut real = format!("{} ", srv.hop).into_bytes();
    real.extend_from_slice(&c.realname);
    head(w, conn, n::RPL_WHOREPLY)
        .arg(chan)
        .arg(&*c.user)
        .arg(&*c.host)
        .arg(&*srv.name)
        .arg(&*c.nick)
        .arg(status)
        .trailing(real)
        .finish()
}

pub fn ison(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let w = &*ctx.w;
    let mut online = Vec::new();
    for nick in words(msg) {
        if let Some(cid) = w.find_nick(nick) {
            if !online.is_empty() {
                online.push(b' ');
            }
            online.extend_from_slice(w.clients[cid].nick.as_bytes());
        }
    }
    ctx.out.send(
        ctx.conn,
        head(w, ctx.conn, n::RPL_ISON).trailing(online).finish(),
    );
    Ok(())
}

pub fn userhost(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let w = &*ctx.w;
    let mut reply = String::new();
    // RFC 2812 §4.8: at most five nicknames.
    for nick in words(msg).take(5) {
        let Some(cid) = w.find_nick(nick) else {
            continue;
        };
        let c = &w.clients[cid];
        if !reply.is_empty() {
            reply.push(' ');
        }
        let oper = if c.has(umode::OPER) { "*" } else { "" };
        let away = if c.away.is_some() { '-' } else { '+' };
        reply.push_str(&format!("{}{oper}={away}{}@{}", c.nick, c.user, c.host));
    }
    ctx.out.send(
        ctx.conn,
        head(w, ctx.conn, n::RPL_USERHOST).trailing(reply).finish(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::core::state::{cmode, umode};
    use crate::core::testing::{TestWorld, BASE_CONFIG};
    use crate::core::ClientId;

    fn cid(t: &TestWorld, conn: usize) -> ClientId {
        t.w.local(conn).unwrap().client.unwrap()
    }

    fn set_umode(t: &mut TestWorld, conn: usize, bit: u8) {
        let c = cid(t, conn);
        t.w.set_umodes(c, t.w.clients[c].umodes | bit);
    }

    #[test]
    fn lusers_counts_everything() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let b = t.user("bob");
        t.connect();
        set_umode(&mut t, b, umode::INVISIBLE | umode::OPER);
        t.feed(a, "JOIN #x");
        t.take(a);
        assert_eq!(
            t.ask(a, "LUSERS"),
            vec![
                ":irc.test 251 alice :There are 1 users and 1 invisible on 1 servers",
                ":irc.test 252 alice 1 :operator(s) online",
                ":irc.test 253 alice 1 :unknown connection(s)",
                ":irc.test 254 alice 1 :channels formed",
                ":irc.test 255 alice :I have 2 clients and 0 servers",
                ":irc.test 265 alice 2 2 :Current local users 2, max 2",
                ":irc.test 266 alice 2 2 :Current global users 2, max 2",
            ]
        );
    }

    #[test]
    fn lusers_in_welcome_burst_sends_zero_counts() {
        let mut t = TestWorld::new();
        let c = t.connect();
        t.feed(c, "NICK alice");
        let got = t.ask(c, "USER alice 0 * :A");
        assert!(
            got.contains(&":irc.test 252 alice 0 :operator(s) online".to_string()),
            "{got:?}"
        );
        assert!(
            got.contains(&":irc.test 253 alice 0 :unknown connection(s)".to_string()),
            "{got:?}"
        );
        assert!(
            got.contains(&":irc.test 254 alice 0 :channels formed".to_string()),
            "{got:?}"
        );
    }

    #[test]
    fn lusers_and_motd_for_another_server_fail() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "MOTD irc.other"),
            vec![":irc.test 402 alice irc.other :No such server"]
        );
        assert_eq!(
            t.ask(a, "LUSERS * other.net"),
            vec![":irc.test 402 alice other.net :No such server"]
        );
        assert_eq!(t.ask(a, "TIME *.test").len(), 1);
    }

    #[test]
    fn motd() {
        let mut t = TestWorld::with_config(
            &BASE_CONFIG.replace("motd = \"Hello\"", "motd = \"Hello\\nworld\""),
        );
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "MOTD"),
            vec![
                ":irc.test 375 alice :- irc.test Message of the day - ",
                ":irc.test 372 alice :- Hello",
                ":irc.test 372 alice :- world",
                ":irc.test 376 alice :End of /MOTD command",
            ]
        );
    }

    #[test]
    fn missing_motd() {
        let mut t = TestWorld::with_config(&BASE_CONFIG.replace("motd = \"Hello\"\n", ""));
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "MOTD"),
            vec![":irc.test 422 alice :MOTD File is missing"]
        );
    }

    #[test]
    fn version_then_isupport() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let got = t.ask(a, "VERSION");
        assert_eq!(
            got[0],
            ":irc.test 351 alice portico-0.1.0 irc.test :Portico IRC server"
        );
        assert!(got.len() > 1);
        for l in &got[1..] {
            assert!(
                l.starts_with(":irc.test 005 alice ")
                    && l.ends_with(" :are supported by this server"),
                "{l}"
            );
        }
        assert!(got.iter().any(|l| l.contains(" NETWORK=TestNet ")));
        assert_eq!(
            t.ask(a, "VERSION nowhere.net"),
            vec![":irc.test 402 alice nowhere.net :No such server"]
        );
    }

    #[test]
    fn time() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "TIME"),
            vec![":irc.test 391 alice irc.test :2023-11-14T22:13:20.000Z"]
        );
    }

    #[test]
    fn admin_defaults_and_config() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "ADMIN"),
            vec![
                ":irc.test 256 alice irc.test :Administrative info",
                ":irc.test 257 alice :Portico IRC server",
                ":irc.test 258 alice :-",
                ":irc.test 259 alice :-",
            ]
        );
        let cfg = format!("{BASE_CONFIG}[admin]\nlocation = \"Paris, France\"\nlocation2 = \"Ops team\"\nemail = \"ops@example.org\"\n");
        let mut t = TestWorld::with_config(&cfg);
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "ADMIN irc.test")[1..],
            [
                ":irc.test 257 alice :Paris, France",
                ":irc.test 258 alice :Ops team",
                ":irc.test 259 alice :ops@example.org",
            ]
        );
    }

    #[test]
    fn info() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "INFO"),
            vec![
                ":irc.test 371 alice :Portico IRC server, see README",
                ":irc.test 371 alice :Server: irc.test",
                ":irc.test 371 alice :Version: portico-0.1.0",
                ":irc.test 371 alice :Online since 2023-11-14T22:13:20.000Z",
                ":irc.test 374 alice :End of /INFO list",
            ]
        );
    }

    #[test]
    fn stats_uptime_and_unknown_letter() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        t.now.mono_ms += 90_061_000;
        assert_eq!(
            t.ask(a, "STATS u"),
            vec![
                ":irc.test 242 alice :Server Up 1 days 01:01:01",
                ":irc.test 219 alice u :End of /STATS report"
            ]
        );
        assert_eq!(
            t.ask(a, "STATS z"),
            vec![":irc.test 219 alice z :End of /STATS report"]
        );
        assert_eq!(
            t.ask(a, "STATS"),
            vec![":irc.test 461 alice STATS :Not enough parameters"]
        );
        assert_eq!(
            t.ask(a, "STATS u x.y"),
            vec![":irc.test 402 alice x.y :No such server"]
        );
    }

    #[test]
    fn stats_commands() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "STATS m"),
            vec![
                ":irc.test 212 alice NICK 1 10",
                ":irc.test 212 alice STATS 1 7",
                ":irc.test 212 alice USER 1 26",
                ":irc.test 219 alice m :End of /STATS report",
            ]
        );
    }

    #[test]
    fn stats_links_own_or_all_for_opers() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let b = t.user("bob");
        t.now.mono_ms += 5000;
        assert_eq!(
            t.ask(a, "STATS l"),
            vec![
                ":irc.test 211 alice alice[127.0.0.1] 0 0 0 3 0 :5",
                ":irc.test 219 alice l :End of /STATS report",
            ]
        );
        set_umode(&mut t, b, umode::OPER);
        assert_eq!(
            t.ask(b, "STATS l"),
            vec![
                ":irc.test 211 bob alice[127.0.0.1] 0 0 0 3 0 :5",
                ":irc.test 211 bob bob[127.0.0.1] 0 0 0 3 0 :5",
                ":irc.test 219 bob l :End of /STATS report",
            ]
        );
    }

    #[test]
    fn whois_full() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let b = t.user("bob");
        for ch in ["#a", "#b", "#c"] {
            t.feed(b, &format!("JOIN {ch}"));
        }
        t.feed(a, "JOIN #b");
        t.feed(b, "AWAY :lunch");
        set_umode(&mut t, b, umode::OPER);
        t.take(a);
        t.now.unix_ms += 42_000;
        assert_eq!(
            t.ask(a, "WHOIS Bob"),
            vec![
                ":irc.test 311 alice bob ~bob 127.0.0.1 * :bob real",
                ":irc.test 319 alice bob :@#a @#b @#c",
                ":irc.test 312 alice bob irc.test :Portico IRC server",
                ":irc.test 301 alice bob :lunch",
                ":irc.test 313 alice bob :is an IRC operator",
                ":irc.test 317 alice bob 42 1700000000 :seconds idle, signon time",
                ":irc.test 318 alice Bob :End of /WHOIS list",
            ]
        );
    }

    #[test]
    fn whois_hides_secret_channels_from_outsiders_only() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let b = t.user("bob");
        t.feed(b, "JOIN #pub");
        t.feed(b, "JOIN #sec");
        t.feed(a, "JOIN #pub");
        let ch = t.w.find_channel(b"#sec").unwrap();
        t.w.channels[ch].modes |= cmode::SECRET;
        t.take(a);
        t.take(b);
        let got = t.ask(a, "WHOIS irc.test bob");
        assert_eq!(got[1], ":irc.test 319 alice bob :@#pub");
        let got = t.ask(b, "WHOIS bob");
        assert_eq!(got[1], ":irc.test 319 bob bob :@#pub @#sec");
        let got = t.ask(b, "WHOIS alice");
        assert_eq!(got[1], ":irc.test 319 bob alice :#pub");
        // No visible channel at all: no 319.
        t.feed(a, "PART #pub");
        t.take(b);
        let got = t.ask(b, "WHOIS alice");
        assert!(got[1].starts_with(":irc.test 312 "), "{got:?}");
    }

    #[test]
    fn whois_many_channels_split() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        for i in 0..40 {
            t.feed(a, &format!("JOIN #channel-number-{i:02}"));
        }
        t.take(a);
        let got = t.ask(a, "WHOIS alice");
        let lines: Vec<_> = got.iter().filter(|l| l.contains(" 319 ")).collect();
        assert!(lines.len() >= 2, "{got:?}");
        assert!(lines.iter().all(|l| l.len() <= 510));
        assert_eq!(
            lines.iter().map(|l| l.matches('#').count()).sum::<usize>(),
            40
        );
    }

    #[test]
    fn whois_unknown_and_first_of_list() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "WHOIS nobody"),
            vec![
                ":irc.test 401 alice nobody :No such nick/channel",
                ":irc.test 318 alice nobody :End of /WHOIS list"
            ]
        );
        let got = t.ask(a, "WHOIS alice,nobody");
        assert_eq!(
            got.last().unwrap(),
            ":irc.test 318 alice alice :End of /WHOIS list"
        );
        assert!(!got.iter().any(|l| l.contains("401")));
        assert_eq!(
            t.ask(a, "WHOIS"),
            vec![":irc.test 461 alice WHOIS :Not enough parameters"]
        );
        assert_eq!(
            t.ask(a, "WHOIS :"),
            vec![":irc.test 431 alice :No nickname given"]
        );
    }

    #[test]
    fn whowas_newest_first_with_count() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let b = t.user("bob");
        t.feed(b, "NICK carol");
        t.feed(b, "NICK bob");
        t.feed(b, "QUIT");
        t.take(a);
        let first = ":irc.test 314 alice bob ~bob 127.0.0.1 * :bob real";
        let server = ":irc.test 312 alice bob irc.test :2023-11-14T22:13:20.000Z";
        let end = ":irc.test 369 alice BOB :End of WHOWAS";
        assert_eq!(
            t.ask(a, "WHOWAS BOB"),
            vec![first, server, first, server, end]
        );
        assert_eq!(t.ask(a, "WHOWAS BOB 1"), vec![first, server, end]);
        assert_eq!(
            t.ask(a, "WHOWAS nobody"),
            vec![
                ":irc.test 406 alice nobody :There was no such nickname",
                ":irc.test 369 alice nobody :End of WHOWAS"
            ]
        );
        assert_eq!(
            t.ask(a, "WHOWAS"),
            vec![":irc.test 461 alice WHOWAS :Not enough parameters"]
        );
    }

    #[test]
    fn who_channel_flags_and_prefixes() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let b = t.user("bob");
        t.feed(a, "JOIN #c");
        t.feed(b, "JOIN #c");
        t.feed(b, "AWAY :gone");
        set_umode(&mut t, a, umode::OPER);
        t.take(b);
        assert_eq!(
            t.ask(b, "WHO #c"),
            vec![
                ":irc.test 352 bob #c ~alice 127.0.0.1 irc.test alice H*@ :0 alice real",
                ":irc.test 352 bob #c ~bob 127.0.0.1 irc.test bob G :0 bob real",
                ":irc.test 315 bob #c :End of WHO list",
            ]
        );
        assert_eq!(
            t.ask(b, "WHO #c o")[..2],
            [
                ":irc.test 352 bob #c ~alice 127.0.0.1 irc.test alice H*@ :0 alice real",
                ":irc.test 315 bob #c :End of WHO list"
            ]
        );
        assert_eq!(
            t.ask(b, "WHO #none"),
            vec![":irc.test 315 bob #none :End of WHO list"]
        );
    }

    #[test]
    fn who_multi_prefix() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        t.feed(a, "JOIN #c");
        let ch = t.w.find_channel(b"#c").unwrap();
        let ca = cid(&t, a);
        let m = t.w.channels[ch].members.get_mut(&ca).unwrap();
        *m = m.with(crate::core::modes::Status::VOICE);
        t.take(a);
        assert_eq!(
            t.ask(a, "WHO #c")[0],
            ":irc.test 352 alice #c ~alice 127.0.0.1 irc.test alice H@ :0 alice real"
        );
        t.w.clients[ca].caps |= crate::core::caps::MULTI_PREFIX;
        assert_eq!(
            t.ask(a, "WHO #c")[0],
            ":irc.test 352 alice #c ~alice 127.0.0.1 irc.test alice H@+ :0 alice real"
        );
    }

    #[test]
    fn who_channel_hides_from_outsiders() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let b = t.user("bob");
        let c = t.user("carol");
        t.feed(a, "JOIN #c");
        t.feed(b, "JOIN #c");
        set_umode(&mut t, b, umode::INVISIBLE);
        t.take(a);
        let got = t.ask(c, "WHO #c");
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].contains(" alice H@ "));
        let ch = t.w.find_channel(b"#c").unwrap();
        t.w.channels[ch].modes |= cmode::SECRET;
        assert_eq!(
            t.ask(c, "WHO #c"),
            vec![":irc.test 315 carol #c :End of WHO list"]
        );
        assert_eq!(t.ask(a, "WHO #c").len(), 3);
        set_umode(&mut t, c, umode::OPER);
        assert_eq!(t.ask(c, "WHO #c").len(), 3);
    }

    #[test]
    fn who_mask_visibility() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let b = t.user("bob");
        let c = t.user("carol");
        set_umode(&mut t, b, umode::INVISIBLE);
        let nicks = |got: Vec<String>| {
            got.iter()
                .filter(|l| l.contains(" 352 "))
                .map(|l| l.split(' ').nth(7).unwrap().to_string())
                .collect::<Vec<_>>()
        };
        let got = t.ask(a, "WHO");
        assert_eq!(
            got.last().unwrap(),
            ":irc.test 315 alice * :End of WHO list"
        );
        assert_eq!(nicks(got), ["alice", "carol"]);
        assert_eq!(
            t.ask(a, "WHO car*"),
            vec![
                ":irc.test 352 alice * ~carol 127.0.0.1 irc.test carol H :0 carol real",
                ":irc.test 315 alice car* :End of WHO list",
            ]
        );
        assert_eq!(nicks(t.ask(b, "WHO 0")), ["alice", "bob", "carol"]);
        t.feed(a, "JOIN #x");
        t.feed(b, "JOIN #x");
        assert_eq!(nicks(t.ask(a, "WHO *")), ["alice", "bob", "carol"]);
        assert_eq!(nicks(t.ask(c, "WHO *real")), ["alice", "carol"]);
        set_umode(&mut t, c, umode::OPER);
        assert_eq!(nicks(t.ask(c, "WHO *")), ["alice", "bob", "carol"]);
        assert_eq!(nicks(t.ask(a, "WHO * o")), ["carol"]);
        assert_eq!(nicks(t.ask(a, "WHO irc.test")), ["alice", "bob", "carol"]);
        assert_eq!(nicks(t.ask(a, "WHO ~bob")), ["bob"]);
        assert_eq!(
            t.ask(a, "WHO nobody"),
            vec![":irc.test 315 alice nobody :End of WHO list"]
        );
    }

    #[test]
    fn ison() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        t.user("Bob");
        assert_eq!(
            t.ask(a, "ISON bob nobody ALICE"),
            vec![":irc.test 303 alice :Bob alice"]
        );
        assert_eq!(
            t.ask(a, "ISON :bob nobody"),
            vec![":irc.test 303 alice :Bob"]
        );
        assert_eq!(t.ask(a, "ISON nobody"), vec![":irc.test 303 alice :"]);
        assert_eq!(
            t.ask(a, "ISON"),
            vec![":irc.test 461 alice ISON :Not enough parameters"]
        );
    }

    #[test]
    fn userhost() {
        let mut t = TestWorld::new();
        let a = t.user("alice");
        let b = t.user("bob");
        t.feed(b, "AWAY :x");
        set_umode(&mut t, a, umode::OPER);
        assert_eq!(
            t.ask(a, "USERHOST Alice nobody bob"),
            vec![":irc.test 302 alice :alice*=+~alice@127.0.0.1 bob=-~bob@127.0.0.1"]
        );
        let got = t.ask(a, "USERHOST x y z w alice");
        assert_eq!(got, vec![":irc.test 302 alice :alice*=+~alice@127.0.0.1"]);
        let got = t.ask(a, "USERHOST x y z w v alice");
        assert_eq!(got, vec![":irc.test 302 alice :"]);
        assert_eq!(
            t.ask(a, "USERHOST"),
            vec![":irc.test 461 alice USERHOST :Not enough parameters"]
        );
    }
}
