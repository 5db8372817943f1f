//! Registration (PASS, NICK, USER, CAP), keepalive (PING, PONG), QUIT, SETNAME, and the
//! welcome burst.

use crate::config::check_secret;
use crate::core::caps;
use crate::core::counts::Refusal;
use crate::core::dispatch::{err, Ctx, HResult, Source};
use crate::core::handlers::ircx::event::EventType;
use crate::core::ids::Key;
use crate::core::portal::{self, LinkMsg};
use crate::core::state::Client;
use crate::core::{ClientId, ConnId, Outbox, World};
use crate::limits::*;
use crate::proto::casemap::{clean_user, valid_nick};
use crate::proto::line::Line;
use crate::proto::numeric::{self as n, Numeric};
use crate::proto::Message;

pub const VERSION: &str = concat!("portico-", env!("CARGO_PKG_VERSION"));

pub fn pass(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    if msg.len() >= 3 {
        // PASS <password> <version> <flags>: a server, not a client (RFC 2813 §4.1.1).
        return crate::core::portal::handshake::pass(ctx, msg);
    }
    let Some(reg) = ctx.w.reg_mut(ctx.conn) else {
        return Err(err(n::ERR_ALREADYREGISTERED, &[]));
    };
    reg.pass = Some(msg.param(0).into());
    Ok(())
}

/// NICK: a connection registering, a user here changing, or from a link a user elsewhere
/// changing (`:<nick> NICK <new> <ts>`) or a server introducing one.
pub fn nick(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    match ctx.src {
        Source::Server(_) => {
            portal::remote::introduce(ctx, msg);
            return Ok(());
        }
        Source::Remote(cid) => {
            portal::remote::nick_change(ctx, cid, msg);
            return Ok(());
        }
        _ => {}
    }
    let raw = msg.param(0);
    if raw.is_empty() {
        return Err(err(n::ERR_NONICKNAMEGIVEN, &[]));
    }
    let max = ctx.w.config.limits.nick_length;
    let nick = match std::str::from_utf8(raw) {
        Ok(s) if valid_nick(raw, max) => s,
        _ => return Err(err(n::ERR_ERRONEUSNICKNAME, &[raw])),
    };
    let me = ctx.w.local(ctx.conn).and_then(|l| l.client);
    if let Some(owner) = ctx.w.find_nick(raw) {
        if Some(owner) != me {
            return Err(err(n::ERR_NICKNAMEINUSE, &[raw]));
        }
    }
    match me {
        None => {
            if let Some(reg) = ctx.w.reg_mut(ctx.conn) {
                reg.nick = Some(nick.into());
            }
            try_register(ctx);
        }
        Some(cid) => change_nick(ctx.w, cid, nick, ctx.out),
    }
    Ok(())
}

fn change_nick(w: &mut World, cid: ClientId, nick: &str, out: &mut Outbox) {
    if *w.clients[cid].nick == *nick {
        return;
    }
    let ts = w.now.unix_ms;
    if !w.links.is_empty() {
        let link = LinkMsg::new(&w.clients[cid].nick, "NICK")
            .arg(nick)
            .arg(ts.to_string());
        w.to_links(None, &link, out);
    }
    w.clients[cid].ts = ts;
    apply_nick(w, cid, nick, out);
}

/// Renames a user (local or remote) for this server: peers sharing a channel see the NICK
/// once, the old nick goes to WHOWAS.
pub fn apply_nick(w: &mut World, cid: ClientId, nick: &str, out: &mut Outbox) {
    let line = w.clients[cid].line("NICK").trailing(nick).finish();
    let mut msg = w.user_msg(cid, line);
    w.to_common(cid, true, 0, &mut msg, out);
    if w.events_wanted() {
        let old_mask = w.clients[cid].mask();
        w.raise_event(EventType::User, "NICK", Some(cid), &[&old_mask, nick], None);
    }
    w.remember_whowas(cid);
    let old = std::mem::replace(&mut w.clients[cid].nick, nick.into());
    // A change of case keeps the folded key (and the monitors' view).
    let renamed = !w.cm.eq(nick, &old);
    if renamed {
        w.forget_nick(&old);
        let key = w.fold(nick);
        w.nicks.insert(key, cid);
        w.monitor_offline(&old);
        w.monitor_online(cid);
    }
}

pub fn user(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let Some(reg) = ctx.w.reg_mut(ctx.conn) else {
        return Err(err(n::ERR_ALREADYREGISTERED, &[]));
    };
    if msg.param(0).is_empty() || msg.param(3).is_empty() {
        return Err(err(n::ERR_NEEDMOREPARAMS, &[b"USER"]));
    }
    // Bytes an ident cannot hold (not ASCII, say) are dropped; a name of nothing else is
    // refused with a reason rather than silently.
    let Some(user) = clean_user(msg.param(0), USER_LEN - 1) else {
        return Err(err(n::ERR_INVALIDUSERNAME, &[]));
    };
    reg.user = Some((format!("~{user}").into(), msg.param(3).into()));
    try_register(ctx);
    Ok(())
}

pub fn cap(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let sub = msg.param(0).to_ascii_uppercase();
    let registered = ctx.w.local(ctx.conn).is_some_and(|l| l.client.is_some());
    let target = ctx.w.target_nick(ctx.conn).to_string();
    let reply = |w: &World, sub: &str, text: &str| {
        Line::new(&w.config.server.name, "CAP")
            .arg(&target)
            .arg(sub)
            .trailing(text)
            .finish()
    };
    match &sub[..] {
        b"LS" => {
            let version = msg
                .param_str(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0u16);
            if let Some(l) = ctx.w.local_mut(ctx.conn) {
                l.cap_version = l.cap_version.max(version);
            }
            if let Some(reg) = ctx.w.reg_mut(ctx.conn) {
                reg.cap_negotiating = true;
            }
            let mut offer = caps::ls(version >= 302);
            // Values are for CAP 302 clients only: SASL's mechanisms, metadata's limits, STS.
            if version >= 302 {
                let name = "draft/metadata-2";
                let valued = format!("{name}={}", super::metadata::cap_value(ctx.w));
                offer = offer.replace(name, &valued);
            }
            if let Some(sts) = sts_value(ctx.w, ctx.conn).filter(|_| version >= 302) {
                offer.push_str(" sts=");
                offer.push_str(&sts);
            }
            let line = reply(ctx.w, "LS", &offer);
            ctx.out.send(ctx.conn, line);
        }
        b"LIST" => {
            let bits = ctx.w.conn_caps(ctx.conn);
            let line = reply(ctx.w, "LIST", &caps::names(bits));
            ctx.out.send(ctx.conn, line);
        }
        b"REQ" => {
            if let Some(reg) = ctx.w.reg_mut(ctx.conn) {
                reg.cap_negotiating = true;
            }
            let text = String::from_utf8_lossy(msg.param(1)).into_owned();
            let mut add: caps::Caps = 0;
            let mut remove: caps::Caps = 0;
            let mut ok = true;
            for token in text.split_whitespace() {
                let (neg, name) = match token.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, token),
                };
                match caps::by_name(name) {
                    Some(bit) if neg => remove |= bit,
                    Some(bit) => add |= bit,
                    None => ok = false,
                }
            }
            if !ok || text.trim().is_empty() {
                let line = reply(ctx.w, "NAK", &text);
                ctx.out.send(ctx.conn, line);
                return Ok(());
            }
            let bits = (ctx.w.conn_caps(ctx.conn) | add) & !remove;
            set_caps(ctx.w, ctx.conn, bits);
            let line = reply(ctx.w, "ACK", &text);
            ctx.out.send(ctx.conn, line);
        }
        b"END" => {
            if !registered {
                super::sasl::cap_end(ctx.w, ctx.conn, ctx.out);
                if let Some(reg) = ctx.w.reg_mut(ctx.conn) {
                    reg.cap_negotiating = false;
                }
                try_register(ctx);
            }
        }
        _ => return Err(err(n::ERR_INVALIDCAPCMD, &[msg.param(0)])),
    }
    Ok(())
}

/// IRCv3 STS (`[tls] sts_duration`): a TLS connection learns how long to stay on TLS, a
/// plain one where the TLS port is. Clients never request it.
fn sts_value(w: &World, conn: ConnId) -> Option<String> {
    let duration = w.config.tls.sts_duration?;
    if w.secure.contains_key(&conn) {
        return Some(format!("duration={duration}"));
    }
    w.sts_port.map(|port| format!("port={port}"))
}

fn set_caps(w: &mut World, conn: ConnId, bits: caps::Caps) {
    match w.local(conn).and_then(|l| l.client) {
        Some(c) => {
            w.set_caps(c, bits);
        }
        None => {
            if let Some(r) = w.reg_mut(conn) {
                r.caps = bits;
            }
        }
    }
}

/// Why a registering connection is refused by the server password, if it is: none given,
/// a wrong one (counted against its address), or its address suspended for guessing (not
/// even checked then).
fn pass_refusal(w: &mut World, conn: ConnId) -> Option<(Refusal, String)> {
    let password = w.config.server.password.clone();
    if password.is_empty() {
        return None;
    }
    if let Some(secs) = w.suspended(conn) {
        return Some((
            Refusal::Guessing,
            format!("Too many failed passwords from your address; try again in {secs} seconds"),
        ));
    }
    let given = w.local(conn)?.reg.as_deref()?.pass.as_deref();
    match given {
        Some(given) if check_secret(&password, given) => None,
        Some(_) => {
            w.secret_failed(conn);
            Some((Refusal::BadPassword, "Bad password".into()))
        }
        None => Some((Refusal::BadPassword, "Bad password".into())),
    }
}

/// Completes registration once NICK and USER are in and CAP negotiation is over.
fn try_register(ctx: &mut Ctx<'_>) {
    let conn = ctx.conn;
    let w = &mut *ctx.w;
    let ready = w
        .local(conn)
        .and_then(|l| l.reg.as_deref())
        .is_some_and(|r| r.nick.is_some() && r.user.is_some() && !r.cap_negotiating);
    if !ready {
        return;
    }
    if let Some((why, reason)) = pass_refusal(w, conn) {
        w.counts.refused(why);
        let ip = w.local(conn).map(|l| l.ip.to_string()).unwrap_or_default();
        log::warn!("refused a client from {ip}: {reason}");
        w.reply(ctx.out, conn, n::ERR_PASSWDMISMATCH, &[]);
        w.close_conn(conn, &reason, ctx.out);
        return;
    }
    let local = w.local_mut(conn).expect("checked above");
    let reg = local.reg.take().expect("checked above");
    let nick = reg.nick.clone().expect("checked above");
    if w.find_nick(nick.as_bytes()).is_some() {
        // Taken between NICK and USER.
        let local = w.local_mut(conn).expect("checked above");
        let mut reg = reg;
        reg.nick = None;
        local.reg = Some(reg);
        w.reply(ctx.out, conn, n::ERR_NICKNAMEINUSE, &[nick.as_bytes()]);
        return;
    }
    let (user, realname) = reg.user.clone().expect("checked above");
    let host = w.local(conn).expect("checked above").host.clone();
    // IRCX `$`/`*` DENY: a server or network ban, checked before the user exists anywhere.
    let targets = w.server_targets(conn, &nick, &user);
    let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    if let Some(reason) = w.server_refusal(&refs) {
        w.counts.refused(Refusal::Ban);
        log::info!(
            "conn {}: {} refused by a ban: {reason}",
            conn.index(),
            refs[0]
        );
        w.local_mut(conn).expect("checked above").reg = Some(reg);
        w.close_conn(conn, &reason, ctx.out);
        return;
    }
    let client = Client {
        nick: nick.clone(),
        user,
        host,
        realname,
        // A connection that switched to IRCX before registering is +x from the start.
        umodes: if reg.caps & caps::DIALECT_IRCX != 0 {
            crate::core::state::umode::IRCX
        } else {
            0
        } | if w.secure.contains_key(&conn) {
            crate::core::state::umode::SECURE
        } else {
            0
        },
        caps: reg.caps,
        away: None,
        chans: Vec::new(),
        conn: Some(conn),
        server: crate::core::state::ME,
        ts: w.now.unix_ms,
        signon: w.now.unix_s(),
        serial: 0,
        invited: false,
    };
    let cid = w.add_client(client);
    if let Some(account) = reg.account {
        // No channels yet, so nobody to notify: the table only.
        w.accounts.insert(cid, account);
    }
    log::info!(
        "conn {}: registered {} ({})",
        conn.index(),
        w.clients[cid].mask(),
        w.local(conn).expect("registered").ip
    );
    if w.events_wanted() {
        let (mask, ip) = (
            w.clients[cid].mask(),
            w.local(conn).expect("registered").ip.to_string(),
        );
        w.raise_event(EventType::User, "LOGON", Some(cid), &[&mask, &ip], None);
    }
    let intro = w.intro_msg(cid);
    w.to_links(None, &intro, ctx.out);
    if w.account(cid).is_some() {
        let account = w.account_link_msg(cid);
        w.to_links(None, &account, ctx.out);
    }
    welcome(w, conn, cid, ctx.out);
}

fn welcome(w: &World, conn: ConnId, cid: ClientId, out: &mut Outbox) {
    let c = &w.clients[cid];
    let cfg = &w.config.server;
    let send = |out: &mut Outbox, num: Numeric, args: &[&[u8]], text: &str| {
        out.send(conn, w.num(conn, num).args(args).trailing(text).finish());
    };
    send(
        out,
        n::RPL_WELCOME,
        &[],
        &format!(
            "Welcome to the {} Internet Relay Chat Network {}",
            cfg.network,
            c.mask()
        ),
    );
    send(
        out,
        n::RPL_YOURHOST,
        &[],
        &format!("Your host is {}, running version {VERSION}", cfg.name),
    );
    send(
        out,
        n::RPL_CREATED,
        &[],
        &format!(
            "This server was created {}",
            crate::proto::time::iso8601(w.started_unix * 1000)
        ),
    );
    let (chan_modes, param_modes) = crate::core::modes::myinfo_channel_modes();
    let myinfo = w
        .num(conn, n::RPL_MYINFO)
        .arg(&cfg.name)
        .arg(VERSION)
        .arg(crate::core::isupport::user_modes())
        .arg(&chan_modes)
        .arg(&param_modes)
        .finish();
    out.send(conn, myinfo);
    crate::core::isupport::send(w, conn, out);
    super::query::send_lusers(w, conn, out);
    super::query::send_motd(w, conn, out);
    if w.is_cloaked(conn) {
        w.reply(out, conn, n::RPL_VISIBLEHOST, &[c.host.as_bytes()]);
    }
}

pub fn ping(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    if msg.is_empty() || msg.param(0).is_empty() {
        return Err(err(n::ERR_NOORIGIN, &[]));
    }
    let name = ctx.w.name();
    let line = Line::new(name, "PONG")
        .arg(name)
        .trailing(msg.param(0))
        .finish();
    ctx.out.send(ctx.conn, line);
    Ok(())
}

pub fn pong(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    // Any input already counts as life (World::on_line); from a link, the PONG may also
    // answer the lag PING (`portal::lag`).
    if let (Source::Server(_), Some(token)) = (ctx.src, msg.len().checked_sub(1)) {
        ctx.w.link_pong(ctx.conn, msg.param(token));
    }
    Ok(())
}

/// QUIT: a connection here closes (its user's QUIT goes out as it leaves); a user elsewhere
/// is forgotten, and the other links hear it.
pub fn quit(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    if let Source::Remote(cid) = ctx.src {
        ctx.propagate(&LinkMsg::relay(msg));
        ctx.w.quit_local_view(cid, msg.param(0), ctx.out);
        return Ok(());
    }
    let reason = if msg.is_empty() {
        "Client Quit".to_string()
    } else {
        format!("Quit: {}", String::from_utf8_lossy(msg.param(0)))
    };
    ctx.w.close_conn(ctx.conn, &reason, ctx.out);
    Ok(())
}

pub fn setname(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let cid = ctx.client();
    let text = msg.param(0);
    if ctx.is_local() && (text.is_empty() || text.len() > 100) {
        let line = ctx
            .w
            .fail_line("SETNAME", "INVALID_REALNAME", &[], "Realname is not valid");
        ctx.out.send(ctx.conn, line);
        return Ok(());
    }
    ctx.w.clients[cid].realname = text.into();
    let line = Line::new(&ctx.w.clients[cid].mask(), "SETNAME")
        .trailing(text)
        .finish();
    let mut m = ctx.w.user_msg(cid, line);
    ctx.w
        .to_common(cid, ctx.is_local(), caps::SETNAME, &mut m, ctx.out);
    ctx.w.to_monitors(cid, caps::SETNAME, &mut m, ctx.out);
    let link = LinkMsg::new(&ctx.w.clients[cid].nick, "SETNAME")
        .trailing(text)
        .needs(portal::cap::SETNAME);
    ctx.propagate(&link);
    Ok(())
}
