//! LUSERS MOTD VERSION TIME ADMIN INFO LINKS MAP STATS, and the welcome burst's
//! ISUPPORT, LUSERS and MOTD replies.

use super::{check_target, say};
use crate::core::dispatch::{err, Ctx, HResult, COMMANDS};
use crate::core::handlers::bans;
use crate::core::handlers::register::VERSION;
use crate::core::ids::Key;
use crate::core::{ConnId, Outbox, ServerId, World};
use crate::proto::time::iso8601;
use crate::proto::{numeric as n, Message};

pub fn send_lusers(w: &World, conn: ConnId, out: &mut Outbox) {
    let users = w.clients.len();
    let invisible = w.counts().invisible;
    let (local, max) = (
        w.counts().local_users.to_string(),
        w.counts().max_local_users.to_string(),
    );
    let global = users.to_string();
    let text = format!(
        "There are {} users and {invisible} invisible on {} servers",
        users - invisible,
        w.servers.len()
    );
    say(w, conn, out, n::RPL_LUSERCLIENT, &[], &text);
    w.reply(
        out,
        conn,
        n::RPL_LUSEROP,
        &[w.counts().opers.to_string().as_bytes()],
    );
    w.reply(
        out,
        conn,
        n::RPL_LUSERUNKNOWN,
        &[w.counts().unregistered.to_string().as_bytes()],
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
    let gmax = w.counts().max_global_users.max(users).to_string();
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
            w.num(conn, n::RPL_MOTD)
                .trailing(format!("- {line}"))
                .finish(),
        );
    }
    w.reply(out, conn, n::RPL_ENDOFMOTD, &[]);
}

/// LINKS: 364 `<server> <uplink> :<hop> <description>` per server, then 365.
pub fn links(ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    let w = &*ctx.w;
    let mut order: Vec<ServerId> = w.servers.iter().map(|(i, _)| i).collect();
    order.sort_by_key(|&i| (w.servers[i].hop, w.servers[i].name.clone()));
    for i in order {
        let s = &w.servers[i];
        let line = w
            .num(ctx.conn, n::RPL_LINKS)
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
        let line = w.num(ctx.conn, n::RPL_MAP).trailing(text).finish();
        ctx.out.send(ctx.conn, line);
    }
    w.reply(ctx.out, ctx.conn, n::RPL_MAPEND, &[]);
    Ok(())
}

fn map_walk(w: &World, at: ServerId, depth: usize, lines: &mut Vec<String>) {
    let s = &w.servers[at];
    lines.push(format!(
        "{}{} [{}] ({} users)",
        "  ".repeat(depth),
        s.name,
        s.sid,
        s.users
    ));
    let mut children: Vec<ServerId> = w
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
    crate::core::isupport::send(w, ctx.conn, ctx.out);
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
        say(w, conn, ctx.out, code, &[], &text);
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
            .send(conn, w.num(conn, n::RPL_INFO).trailing(line).finish());
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
        b'k' => bans::stats(w, conn, ctx.out, bans::Kind::K),
        b'd' => bans::stats(w, conn, ctx.out, bans::Kind::D),
        b'g' => bans::stats(w, conn, ctx.out, bans::Kind::G),
        b'o' => stats_opers(w, conn, ctx.out),
        b'p' => stats_portals(w, conn, ctx.out),
        b'c' => stats_classes(w, conn, ctx.out),
        b'z' => stats_memory(w, conn, ctx.out),
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
    // COMMANDS is sorted by name; a command never used is not shown.
    let used = COMMANDS.iter().zip(&w.stats).filter(|(_, s)| s.count > 0);
    for (c, s) in used {
        let name = c.name;
        let line = w
            .num(conn, n::RPL_STATSCOMMANDS)
            .arg(name)
            .arg(s.count.to_string())
            .arg(s.bytes.to_string());
        out.send(conn, line.finish());
    }
}

/// The linked portals, for IRC operators: one `249` line each with the peer, its protocol
/// and capabilities, how long it has been linked, its lag (the last PING round trip, `?`
/// before the first answer), its send queue (as of the last tick), how long its burst
/// took, and the lines each way.
fn stats_portals(w: &World, conn: ConnId, out: &mut Outbox) {
    if !w.is_oper_conn(conn) {
        return;
    }
    for &link in &w.links {
        let (Some(l), Some(p)) = (w.local(link), w.link(link)) else {
            continue;
        };
        let proto = if p.is_rfc2813() {
            "rfc2813".to_string()
        } else {
            format!("portico {}", p.proto)
        };
        let up = w.now.mono_ms.saturating_sub(p.linked_ms) / 1000;
        let ms = |v: Option<u64>| v.map_or("?".to_string(), |v| format!("{v}ms"));
        let text = format!(
            "{} protocol {proto} caps [{}] up {up}s lag {} sendq {} burst {} lines out {} in {}{}",
            w.servers[p.server].name,
            crate::core::portal::cap::names(p.caps),
            ms(p.lag.current(w.now.mono_ms)),
            p.sendq_bytes,
            ms(p.burst.map(|b| b.took_ms)),
            p.lines_out.get(),
            l.lines_in,
            if p.synced { "" } else { " (bursting)" }
        );
        say(w, conn, out, n::RPL_STATSDEBUG, &[b"p"], &text);
    }
}

/// Connections by class, for IRC operators: users, registering, portals, TLS.
fn stats_classes(w: &World, conn: ConnId, out: &mut Outbox) {
    if !w.is_oper_conn(conn) {
        return;
    }
    let c = w.counts();
    let text = format!(
        "users {} (max {}), registering {}, portals {}, tls {}, accepted since start {}",
        c.local_users,
        c.max_local_users,
        c.unregistered,
        w.links.len(),
        w.secure.len(),
        c.connections_total
    );
    say(w, conn, out, n::RPL_STATSDEBUG, &[b"c"], &text);
}

/// What the core holds, by structure, for IRC operators: counts and the bytes of the
/// records themselves and their text (an estimate: allocator overhead and hash table
/// slack are not counted).
fn stats_memory(w: &World, conn: ConnId, out: &mut Outbox) {
    use crate::core::state::Client;
    use std::mem::size_of;
    if !w.is_oper_conn(conn) {
        return;
    }
    let client_bytes: usize = w
        .clients
        .iter()
        .map(|(_, c)| {
            size_of::<Client>()
                + c.nick.len()
                + c.user.len()
                + c.host.len()
                + c.realname.len()
                + c.away.as_ref().map_or(0, |a| a.len())
                + c.chans.capacity() * size_of::<crate::core::ChanId>()
        })
        .sum();
    let (mut members, mut bans, mut access, mut props) = (0, 0, 0, 0);
    for (_, ch) in &w.channels {
        members += ch.members.len();
        bans += ch.bans.len()
            + ch.exceptions
                .as_ref()
                .map_or(0, |e| e.excepts.len() + e.invex.len());
        access += ch.access_list().map_or(0, |l| l.entries.len());
        props += usize::from(ch.props.is_some());
    }
    let a = &w.access;
    access += a.server.entries.len() + a.network.entries.len();
    access += a.nicks.values().map(|l| l.entries.len()).sum::<usize>();
    let lines = [
        format!(
            "clients {} ({} bytes, {} per client)",
            w.clients.len(),
            client_bytes,
            client_bytes.checked_div(w.clients.len()).unwrap_or(0)
        ),
        format!(
            "channels {} ({} bytes), memberships {}, list entries (b e I) {}",
            w.channels.len(),
            w.channels.len() * size_of::<crate::core::Channel>(),
            members,
            bans
        ),
        format!(
            "access entries {access}, channels with properties {props}, whowas {}",
            w.whowas.len()
        ),
    ];
    for text in lines {
        say(w, conn, out, n::RPL_STATSDEBUG, &[b"z"], &text);
    }
}

/// The `[[oper]]` blocks, for IRC operators: `O <host> * <name> <level> :<privileges>`.
fn stats_opers(w: &World, conn: ConnId, out: &mut Outbox) {
    if !w.is_oper_conn(conn) {
        return;
    }
    for o in &w.config.oper {
        let level = match o.level {
            crate::config::OperLevel::Sysop => "sysop",
            crate::config::OperLevel::Manager => "manager",
        };
        let line = w.num(conn, n::RPL_STATSOLINE).args(&[
            b"O",
            o.host.as_bytes(),
            b"*",
            o.name.as_bytes(),
            level.as_bytes(),
        ]);
        let line = line.trailing(crate::config::privilege_names(o.privileges()));
        out.send(conn, line.finish());
    }
}

/// Every registered local connection for an operator; a user sees only their own, since
/// others' addresses are private.
fn stats_links(w: &World, conn: ConnId, out: &mut Outbox) {
    if w.is_oper_conn(conn) {
        for c in 0..w.locals.len() {
            link_line(w, conn, ConnId::from_index(c), out);
        }
    } else {
        link_line(w, conn, conn, out);
    }
}

fn link_line(w: &World, to: ConnId, conn: ConnId, out: &mut Outbox) {
    let Some((l, cid)) = w.local(conn).and_then(|l| Some((l, l.client?))) else {
        return;
    };
    // The address behind a cloak, for operators who may see it.
    let viewer = w.local(to).and_then(|v| v.client);
    let name = match viewer.filter(|&v| w.has_privilege(v, crate::config::Privilege::SeeIps)) {
        Some(_) => format!("{}[{}]", w.clients[cid].nick, l.ip),
        None => format!("{}[{}]", w.clients[cid].nick, l.host),
    };
    let open = w.now.mono_ms.saturating_sub(l.connected_ms) / 1000;
    let line = w
        .num(to, n::RPL_STATSLINKINFO)
        .arg(name)
        .arg("0")
        .arg(l.lines_out.to_string())
        .arg("0")
        .arg(l.lines_in.to_string())
        .arg("0")
        .trailing(open.to_string());
    out.send(to, line.finish());
}

#[cfg(test)]
mod tests {
    use super::super::tests::set_umode;
    use crate::core::state::umode;
    use crate::core::testing::{TestWorld, BASE_CONFIG};

    #[test]
    fn stats_p_and_c_describe_portals_and_connections_to_operators() {
        let mut t = TestWorld::with_portals_and("[[oper]]\nname = \"admin\"\npassword = \"pw\"\n");
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "STATS p"),
            vec![":irc.test 219 alice p :End of /STATS report"]
        );
        t.feed(a, "OPER admin pw");
        let peer = t.link("peer.test", 2, "AWAY BMASK EOB IRCX SETNAME TB", 2);
        let caps = "caps [AWAY BMASK EOB IRCX SETNAME TB]";
        t.take(a);
        // Before the first PING round: no lag yet, still bursting.
        let burst_lines = t.take(peer).len() - 3; // all but PASS, CAPAB, SERVER
        assert_eq!(
            t.ask(a, "STATS p")[0],
            format!(":irc.test 249 alice p :peer.test protocol portico 2 {caps} up 0s lag ? sendq 0 burst ? lines out {burst_lines} in 3 (bursting)")
        );
        t.now.mono_ms += 120;
        t.feed(peer, ":peer.test EOB");
        t.tick(880);
        assert_eq!(t.take(peer), vec!["PING :irc.test"]);
        t.now.mono_ms += 37;
        t.feed(peer, ":peer.test PONG peer.test :irc.test");
        t.w.set_link_sendq(peer, 512);
        t.now.mono_ms += 4_000;
        let lines = t.ask(a, "STATS p");
        assert_eq!(
            lines,
            vec![
                format!(":irc.test 249 alice p :peer.test protocol portico 2 {caps} up 5s lag 37ms sendq 512 burst 120ms lines out {} in 5", burst_lines + 1),
                ":irc.test 219 alice p :End of /STATS report".to_string(),
            ]
        );
        let z = t.ask(a, "STATS z");
        assert_eq!(z.len(), 4, "{z:?}");
        assert!(
            z[0].starts_with(":irc.test 249 alice z :clients 1 ("),
            "{z:?}"
        );
        assert_eq!(
            z[2],
            ":irc.test 249 alice z :access entries 0, channels with properties 0, whowas 0"
        );
        assert_eq!(
            t.ask(a, "STATS c"),
            vec![
                ":irc.test 249 alice c :users 1 (max 1), registering 0, portals 1, tls 0, accepted since start 2",
                ":irc.test 219 alice c :End of /STATS report",
            ]
        );
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
}
