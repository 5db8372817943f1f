//! WHOIS WHOWAS ISON USERHOST.

use super::{first_item, say, words, LIST_BYTES};
use crate::core::dispatch::{err, Ctx, HResult};
use crate::core::state::umode;
use crate::core::{caps, ClientId, ConnId, Outbox, World};
use crate::proto::time::iso8601;
use crate::proto::{numeric as n, Message};

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
    let user = w
        .num(conn, n::RPL_WHOISUSER)
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
            w.num(conn, n::RPL_AWAY).arg(nick).trailing(away).finish(),
        );
    }
    if c.has(umode::OPER) {
        w.reply(out, conn, n::RPL_WHOISOPERATOR, &[nick]);
    }
    if let Some(account) = w.account(target) {
        w.reply(out, conn, n::RPL_WHOISACCOUNT, &[nick, account.as_bytes()]);
    }
    if let Some(lc) = c.conn.filter(|&lc| w.is_cloaked(lc)) {
        let sees = me == target || w.has_privilege(me, crate::config::Privilege::SeeIps);
        if let Some(l) = w.local(lc).filter(|_| sees) {
            let text = format!("is connecting from *@{} {}", l.host, l.ip);
            say(w, conn, out, n::RPL_WHOISHOST, &[nick], &text);
        }
    }
    whois_secure(w, conn, me, target, out);
    if c.has(umode::BOT) {
        w.reply(out, conn, n::RPL_WHOISBOT, &[nick]);
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

/// 671 for a user on TLS; 276 with their client certificate's fingerprint, to the user
/// and to operators only (a fingerprint identifies its owner across nicks).
fn whois_secure(w: &World, conn: ConnId, me: ClientId, target: ClientId, out: &mut Outbox) {
    let c = &w.clients[target];
    if !c.has(umode::SECURE) {
        return;
    }
    let nick = c.nick.as_bytes();
    let fp = c.conn.and_then(|lc| w.fingerprint(lc));
    if let Some(fp) = fp.filter(|_| me == target || w.clients[me].has(umode::OPER)) {
        let text = format!("has client certificate fingerprint {fp}");
        let line = w.num(conn, n::RPL_WHOISCERTFP).arg(nick).trailing(text);
        out.send(conn, line.finish());
    }
    w.reply(out, conn, n::RPL_WHOISSECURE, &[nick]);
}

/// 319, split over as many lines as needed; secret and private channels show only to
/// fellow members and to the user themselves.
fn whois_channels(w: &World, conn: ConnId, me: ClientId, target: ClientId, out: &mut Outbox) {
    let c = &w.clients[target];
    let multi = w.clients[me].caps & caps::MULTI_PREFIX != 0;
    let line = w.num(conn, n::RPL_WHOISCHANNELS).arg(&*c.nick);
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
        w.push_member_prefixes(&mut list, chan.members[&target], multi, w.clients[me].caps);
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
    let entries = w.whowas.iter().rev().filter(|e| w.cm.eq(e.nick(), &wanted));
    let mut found = false;
    for e in entries.take(count.map_or(usize::MAX, |c| c as usize)) {
        found = true;
        let user = w
            .num(conn, n::RPL_WHOWASUSER)
            .arg(e.nick())
            .arg(e.user())
            .arg(e.host())
            .arg("*");
        ctx.out.send(conn, user.trailing(e.realname()).finish());
        let server: &[&[u8]] = &[e.nick().as_bytes(), e.server().as_bytes()];
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
        w.num(ctx.conn, n::RPL_ISON).trailing(online).finish(),
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
        w.num(ctx.conn, n::RPL_USERHOST).trailing(reply).finish(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::set_umode;
    use crate::core::state::{cmode, umode};
    use crate::core::testing::TestWorld;

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
    fn whois_secure_and_fingerprint() {
        let mut t = TestWorld::new();
        let fp = "ab".repeat(32);
        let a = t.secure_user("alice", Some(&fp));
        let b = t.user("bob");
        t.secure_user("carol", None);
        assert_eq!(t.ask(a, "MODE alice"), vec![":irc.test 221 alice +Z"]);
        // +Z is the server's: neither set nor lifted by MODE.
        assert!(t.ask(a, "MODE alice -Z").is_empty());
        assert!(t.ask(b, "MODE bob +Z").is_empty());
        let secure = ":irc.test 671 {} alice :is using a secure connection";
        let certfp = format!(":irc.test 276 {{}} alice :has client certificate fingerprint {fp}");
        let whois = |t: &mut TestWorld, who: crate::core::ConnId, nick: &str| {
            t.ask(who, "WHOIS alice")
                .into_iter()
                .filter(|l| l.contains(" 671 ") || l.contains(" 276 "))
                .map(|l| l.replace(&format!(" {nick} alice"), " {} alice"))
                .collect::<Vec<_>>()
        };
        // The user and operators see the fingerprint; others only that it is TLS.
        assert_eq!(
            whois(&mut t, a, "alice"),
            vec![certfp.clone(), secure.into()]
        );
        assert_eq!(whois(&mut t, b, "bob"), vec![secure.to_string()]);
        set_umode(&mut t, b, umode::OPER);
        assert_eq!(whois(&mut t, b, "bob"), vec![certfp, secure.into()]);
        // Plain users get neither; a TLS user without a certificate no 276.
        assert!(!t.ask(a, "WHOIS bob").iter().any(|l| l.contains(" 671 ")));
        let carol = t.ask(a, "WHOIS carol");
        assert!(
            carol.iter().any(|l| l.contains(" 671 alice carol ")),
            "{carol:?}"
        );
        assert!(!carol.iter().any(|l| l.contains(" 276 ")), "{carol:?}");
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
