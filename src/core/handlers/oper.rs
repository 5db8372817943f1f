//! Operator commands: OPER KILL WALLOPS REHASH DIE. OPER gives the IRCX level of its
//! `[[oper]]` block: sysop (`+o`) or sysop manager (`+o` and `+a`).

use crate::config::{is_hashed, same_secret, OperLevel};
use crate::core::caps;
use crate::core::checks::Purpose;
use crate::core::dispatch::{err, Ctx, HResult};
use crate::core::fanout::Msg;
use crate::core::portal::LinkMsg;
use crate::core::state::umode;
use crate::core::{ClientId, ConnId, Outbox, Stop, World};
use crate::proto::casemap::wild_match;
use crate::proto::line::Line;
use crate::proto::numeric::{self as n, Numeric};
use crate::proto::Message;

/// The name REHASH reports: the core is not told which file the shell reloads.
const CONFIG_NAME: &str = "portico.toml";

/// Whether the connection's certificate is the one an `[[oper]]` asks for, if it asks.
fn fingerprint_matches(wanted: Option<&str>, shown: Option<&str>) -> bool {
    let Some(wanted) = wanted else {
        return true;
    };
    let wanted = crate::config::tls::normalize_fingerprint(wanted);
    shown.is_some_and(|fp| wanted.as_deref() == Some(fp))
}

/// What an OPER attempt comes to before any password is verified.
enum Attempt {
    Refused(&'static str, Numeric),
    /// An argon2 hash: verified on the worker thread, finished by [`checked`].
    Check {
        hash: String,
        block: String,
    },
    Granted,
}

pub fn oper(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let cid = ctx.client();
    let (conn, w) = (ctx.conn, &mut *ctx.w);
    let (name, password) = (msg.param(0), msg.param(1));
    if let Some(secs) = w.suspended(conn) {
        // Not even checked: a guesser learns nothing from attempts while suspended.
        let text = format!(
            "Too many failed passwords from your address: OPER refused for {secs} more seconds"
        );
        w.server_notice(ctx.out, conn, &text);
        return Err(err(n::ERR_NOOPERHOST, &[]));
    }
    match attempt(w, conn, cid, name, password) {
        Attempt::Refused(why, num) => {
            fail(w, conn, cid, name, why);
            Err(err(num, &[]))
        }
        Attempt::Check { hash, block } => {
            if w.start_check(conn, &hash, password, Purpose::Oper(block.into()), ctx.out) {
                return Ok(());
            }
            let text = "Too many password checks in progress: OPER refused, try again soon";
            w.server_notice(ctx.out, conn, text);
            Err(err(n::ERR_NOOPERHOST, &[]))
        }
        Attempt::Granted => {
            grant(w, conn, cid, name, ctx.out);
            Ok(())
        }
    }
}

/// Checks an OPER attempt as far as can be done at once: block, host, certificate, and a
/// plain-text password (compared in constant time).
fn attempt(w: &World, conn: ConnId, cid: ClientId, name: &[u8], password: &[u8]) -> Attempt {
    let c = &w.clients[cid];
    // Behind a cloak the host mask is matched against the address too: operators'
    // blocks name where they connect from, not what others see.
    let ip = w.local(conn).map(|l| l.ip.to_string()).unwrap_or_default();
    let userhosts = [format!("{}@{}", c.user, c.host), format!("{}@{ip}", c.user)];
    let host_ok = |mask: &str| {
        userhosts
            .iter()
            .any(|uh| wild_match(w.cm, mask.as_bytes(), uh.as_bytes()))
    };
    let entry = w.config.oper.iter().find(|o| o.name.as_bytes() == name);
    // The host is checked before the password, so a password cannot be tried from anywhere.
    match entry {
        None => Attempt::Refused("no such operator", n::ERR_NOOPERHOST),
        Some(o) if !host_ok(&o.host) => Attempt::Refused("host does not match", n::ERR_NOOPERHOST),
        // A required certificate, like the host, comes before the password.
        Some(o) if !fingerprint_matches(o.fingerprint.as_deref(), w.fingerprint(conn)) => {
            Attempt::Refused(
                "TLS client certificate fingerprint does not match",
                n::ERR_NOOPERHOST,
            )
        }
        Some(o) if is_hashed(&o.password) => Attempt::Check {
            hash: o.password.clone(),
            block: o.name.clone(),
        },
        Some(o) if !same_secret(o.password.as_bytes(), password) => {
            Attempt::Refused("wrong password", n::ERR_PASSWDMISMATCH)
        }
        Some(_) => Attempt::Granted,
    }
}

/// A failed OPER: logged, and counted against the address.
fn fail(w: &mut World, conn: ConnId, cid: ClientId, name: &[u8], why: &str) {
    log::warn!(
        "OPER {:?} by {} failed: {why}",
        String::from_utf8_lossy(name),
        w.clients[cid].mask()
    );
    w.secret_failed(conn);
}

/// The verdict of a hashed OPER password, for the user still on `conn` (the guard has
/// counted a wrong one already).
pub fn checked(w: &mut World, conn: ConnId, block: &str, ok: bool, out: &mut Outbox) {
    let Some(cid) = w.local(conn).and_then(|l| l.client) else {
        return;
    };
    if ok {
        grant(w, conn, cid, block.as_bytes(), out);
    } else {
        log::warn!(
            "OPER {block:?} by {} failed: wrong password",
            w.clients[cid].mask()
        );
        w.reply(out, conn, n::ERR_PASSWDMISMATCH, &[]);
    }
}

/// OPER succeeded with the block `name`: 381, the modes it gives, its privileges.
fn grant(w: &mut World, conn: ConnId, cid: ClientId, name: &[u8], out: &mut Outbox) {
    let entry = w.config.oper.iter().find(|o| o.name.as_bytes() == name);
    let manager = entry.is_some_and(|o| o.level == OperLevel::Manager);
    let privileges = entry.map_or(0, |o| o.privileges());
    w.reply(out, conn, n::RPL_YOUREOPER, &[]);
    let c = &w.clients[cid];
    let old = c.umodes;
    let mut gained = String::new();
    if old & umode::OPER == 0 {
        log::info!(
            "{} is now an operator ({:?}{})",
            c.mask(),
            String::from_utf8_lossy(name),
            if manager { ", sysop manager" } else { "" }
        );
        gained.push('o');
    }
    if manager && old & umode::MANAGER == 0 {
        gained.push('a');
    }
    if gained.is_empty() {
        // Already an operator: the block used now decides what they may do.
        w.oper_privileges.insert(cid, privileges);
        return;
    }
    let line = Line::new(&c.nick, "MODE")
        .arg(&*c.nick)
        .trailing(format!("+{gained}"))
        .finish();
    out.send(conn, line);
    let new = old | umode::OPER | if manager { umode::MANAGER } else { 0 };
    w.set_umodes(cid, new);
    w.oper_privileges.insert(cid, privileges);
    // Other servers hear of +o only: IRCX levels (+a) are local for now, as umode::LINKED
    // says, until portals carry IRCX.
    if old & umode::OPER == 0 {
        let nick = &w.clients[cid].nick;
        w.to_links(
            None,
            &LinkMsg::new(nick, "MODE").arg(&**nick).trailing("+o"),
            out,
        );
    }
}

/// `KILL <nick> :<reason>` from an operator here or from a link: the KILL crosses the
/// network first, then the victim's own server disconnects it and everyone else forgets it
/// (so no QUIT follows it over the links).
pub fn kill(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let target = msg.param(0);
    // Any server of the network, not only this one (SQUIT is for those).
    if ctx.w.find_server(target).is_some() && ctx.is_local() {
        return Err(err(n::ERR_CANTKILLSERVER, &[]));
    }
    let victim = ctx
        .w
        .find_nick(target)
        .ok_or_else(|| err(n::ERR_NOSUCHNICK, &[target]))?;
    let reason = match msg.param(1) {
        [] => &b"No reason given"[..],
        r => r,
    };
    let killer = ctx.link_prefix();
    let why = format!("Killed ({killer} ({}))", String::from_utf8_lossy(reason));
    let w = &*ctx.w;
    log::info!(
        "{} killed {}: {why}",
        ctx.source_name(),
        w.clients[victim].mask()
    );
    let vnick = w.clients[victim].nick.to_string();
    ctx.propagate(&LinkMsg::new(&killer, "KILL").arg(&vnick).trailing(reason));
    match ctx.w.clients[victim].conn {
        Some(conn) => {
            let line = Line::new(&ctx.source_name(), "KILL")
                .arg(&vnick)
                .trailing(reason)
                .finish();
            ctx.out.send(conn, line);
            ctx.w.close_local(conn, &why, false, ctx.out);
        }
        None => ctx.w.quit_local_view(victim, why.as_bytes(), ctx.out),
    }
    Ok(())
}

/// `WALLOPS :<text>` to every local user with +w, and on to the other servers.
pub fn wallops(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let text = msg.param(0);
    if text.is_empty() {
        return Err(err(n::ERR_NEEDMOREPARAMS, &[b"WALLOPS"]));
    }
    let line = Line::new(&ctx.source_name(), "WALLOPS")
        .trailing(text)
        .finish();
    let w = &*ctx.w;
    let mut m = Msg::new(line, w.now.unix_ms);
    for (_, c) in w.clients.iter().filter(|(_, c)| c.has(umode::WALLOPS)) {
        if let Some(conn) = c.conn {
            ctx.out.send(conn, m.for_caps(c.caps));
        }
    }
    let link = LinkMsg::new(&ctx.link_prefix(), "WALLOPS").trailing(text);
    ctx.propagate(&link);
    Ok(())
}

/// The shell reloads the file and answers through [`World::rehashed`]: 382 only if the
/// new file was read.
pub fn rehash(ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    log::info!("REHASH by {}", ctx.w.clients[ctx.client()].mask());
    ctx.out.rehash = Some(ctx.conn);
    // The answer comes after the shell's reload: a labeled REHASH's batch waits for it.
    ctx.w.reply_continues(ctx.conn);
    Ok(())
}

impl World {
    /// Tells the operator who asked for REHASH how it went: 382 if the file was loaded,
    /// then `note` (what the log said: why it was not loaded, or what it could not change),
    /// a line each: NOTICEs, or to a `standard-replies` client `FAIL REHASH CONFIG_BAD`
    /// (not loaded) or `WARN REHASH CONFIG_BAD` (loaded, with something it could not do).
    pub fn rehashed(&mut self, by: ConnId, loaded: bool, note: Option<&str>, out: &mut Outbox) {
        if self.local(by).is_none() {
            return;
        }
        let from = out.sends.len();
        if loaded {
            self.reply(out, by, n::RPL_REHASHING, &[CONFIG_NAME.as_bytes()]);
        }
        let standard = self.conn_caps(by) & caps::STANDARD_REPLIES != 0;
        for text in note.into_iter().flat_map(str::lines) {
            if standard {
                let kind = if loaded { "WARN" } else { "FAIL" };
                let line = Line::new(self.name(), kind)
                    .arg("REHASH")
                    .arg("CONFIG_BAD")
                    .trailing(text)
                    .finish();
                out.send(by, line);
            } else {
                self.server_notice(out, by, text);
            }
        }
        self.continue_reply(by, from, out);
        self.end_reply(by, out);
    }
}

pub fn die(ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    stopping(ctx, "DIE", "Server terminating");
    ctx.out.stop = Some(Stop::Die);
    Ok(())
}

/// What DIE and RESTART say before the shell stops: the log line and the operator's notice.
fn stopping(ctx: &mut Ctx<'_>, command: &str, notice: &str) {
    let w = &*ctx.w;
    log::warn!("{command} by {}", w.clients[ctx.client()].mask());
    w.server_notice(ctx.out, ctx.conn, notice);
}

/// RESTART: every connection is closed as for DIE, then `main` executes the binary again
/// with the same arguments (same process ID, so a service manager sees no exit).
pub fn restart(ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    stopping(ctx, "RESTART", "Server restarting");
    ctx.out.stop = Some(Stop::Restart);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::core::state::umode;
    use crate::core::testing::{TestWorld, BASE_CONFIG};

    fn opers() -> TestWorld {
        TestWorld::with_config(&format!(
            "{BASE_CONFIG}[[oper]]\nname = \"admin\"\npassword = \"pw\"\n\
             [[oper]]\nname = \"root\"\npassword = \"pw\"\nprivileges = [\"die\"]\n"
        ))
    }

    fn set_umode(t: &mut TestWorld, conn: crate::core::ConnId, bit: u16) {
        let c = t.w.local(conn).unwrap().client.unwrap();
        t.w.set_umodes(c, t.w.clients[c].umodes | bit);
    }

    /// A registered operator.
    fn oper_user(t: &mut TestWorld, nick: &str) -> crate::core::ConnId {
        let c = t.user(nick);
        t.feed(c, "OPER admin pw");
        t.take(c);
        c
    }

    #[test]
    fn oper_fingerprint_required() {
        let fp = "0f".repeat(32);
        let colons = vec!["0F"; 32].join(":");
        let mut t = TestWorld::with_config(&format!(
            "{BASE_CONFIG}[[oper]]\nname = \"admin\"\npassword = \"pw\"\nfingerprint = \"sha256:{colons}\"\n"
        ));
        let no_host = ":irc.test 491 {} :No O-lines for your host";
        let plain = t.user("plain");
        assert_eq!(
            t.ask(plain, "OPER admin pw"),
            vec![no_host.replace("{}", "plain")]
        );
        let nocert = t.secure_user("nocert", None);
        assert_eq!(
            t.ask(nocert, "OPER admin pw"),
            vec![no_host.replace("{}", "nocert")]
        );
        let other = t.secure_user("other", Some(&"0e".repeat(32)));
        assert_eq!(
            t.ask(other, "OPER admin pw"),
            vec![no_host.replace("{}", "other")]
        );
        let good = t.secure_user("good", Some(&fp));
        assert_eq!(
            t.ask(good, "OPER admin wrong"),
            vec![":irc.test 464 good :Password incorrect"]
        );
        assert_eq!(
            t.ask(good, "OPER admin pw"),
            vec![
                ":irc.test 381 good :You are now an IRC operator",
                ":good MODE good :+o"
            ]
        );
    }

    #[test]
    fn oper_success() {
        let mut t = opers();
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "OPER admin pw"),
            vec![
                ":irc.test 381 alice :You are now an IRC operator",
                ":alice MODE alice :+o"
            ]
        );
        assert_eq!(t.w.counts().opers, 1);
        // Again: no second mode change, no double count.
        assert_eq!(
            t.ask(a, "OPER admin pw"),
            vec![":irc.test 381 alice :You are now an IRC operator"]
        );
        assert_eq!(t.w.counts().opers, 1);
        t.feed(a, "QUIT");
        assert_eq!(t.w.counts().opers, 0);
    }

    #[test]
    fn a_manager_gets_plus_a() {
        let mut t = TestWorld::with_config(&format!(
            "{BASE_CONFIG}[[oper]]\nname = \"admin\"\npassword = \"pw\"\nlevel = \"sysop\"\n\
             [[oper]]\nname = \"boss\"\npassword = \"pw\"\nlevel = \"manager\"\n"
        ));
        let a = t.user("alice");
        let b = t.user("bob");
        assert_eq!(
            t.ask(a, "OPER boss pw"),
            vec![
                ":irc.test 381 alice :You are now an IRC operator",
                ":alice MODE alice :+oa"
            ]
        );
        let alice = t.w.local(a).unwrap().client.unwrap();
        assert!(t.w.is_sysop(alice) && t.w.is_manager(alice));
        assert_eq!(t.ask(a, "MODE alice"), vec![":irc.test 221 alice +ao"]);
        assert_eq!(t.w.counts().opers, 1);
        // A sysop is a sysop only; becoming a manager later adds +a alone.
        assert_eq!(
            t.ask(b, "OPER admin pw"),
            vec![
                ":irc.test 381 bob :You are now an IRC operator",
                ":bob MODE bob :+o"
            ]
        );
        let bob = t.w.local(b).unwrap().client.unwrap();
        assert!(t.w.is_sysop(bob) && !t.w.is_manager(bob));
        assert_eq!(
            t.ask(b, "OPER boss pw"),
            vec![
                ":irc.test 381 bob :You are now an IRC operator",
                ":bob MODE bob :+a"
            ]
        );
        assert_eq!(t.w.counts().opers, 2);
        // Giving up +o gives up +a; +a cannot be asked for.
        assert_eq!(t.ask(a, "MODE alice -o"), vec![":alice MODE alice :-ao"]);
        assert!(!t.w.is_manager(alice));
        assert!(t.ask(a, "MODE alice +a").is_empty());
    }

    #[test]
    fn levels_stay_local() {
        let mut t = TestWorld::with_portals_and(
            "[[oper]]\nname = \"boss\"\npassword = \"pw\"\nlevel = \"manager\"\n",
        );
        let a = t.user("alice");
        let peer = t.link("peer.test", 2, "AWAY BMASK EOB SETNAME TB", 2);
        t.take(peer);
        t.feed(a, "OPER boss pw");
        assert_eq!(t.take(peer), vec![":alice MODE alice :+o"]);
        t.feed(a, "MODE alice -o");
        assert_eq!(t.take(peer), vec![":alice MODE alice :-o"]);
    }

    #[test]
    fn oper_failures() {
        let mut t = opers();
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "OPER admin nope"),
            vec![":irc.test 464 alice :Password incorrect"]
        );
        assert_eq!(
            t.ask(a, "OPER Admin pw"),
            vec![":irc.test 491 alice :No O-lines for your host"]
        );
        assert_eq!(
            t.ask(a, "OPER admin"),
            vec![":irc.test 461 alice OPER :Not enough parameters"]
        );
        assert_eq!(t.w.counts().opers, 0);
        let cfg = format!(
            "{BASE_CONFIG}[[oper]]\nname = \"admin\"\npassword = \"pw\"\nhost = \"*@10.*\"\n"
        );
        let mut t = TestWorld::with_config(&cfg);
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "OPER admin pw"),
            vec![":irc.test 491 alice :No O-lines for your host"]
        );
        let cfg = format!(
            "{BASE_CONFIG}[[oper]]\nname = \"admin\"\npassword = \"pw\"\nhost = \"~ALICE@127.*\"\n"
        );
        let mut t = TestWorld::with_config(&cfg);
        let a = t.user("alice");
        assert_eq!(
            t.ask(a, "OPER admin pw")[0],
            ":irc.test 381 alice :You are now an IRC operator"
        );
    }

    #[test]
    fn kill() {
        let mut t = opers();
        let a = oper_user(&mut t, "alice");
        let b = t.user("bob");
        let c = t.user("carol");
        t.feed(b, "JOIN #x");
        t.feed(c, "JOIN #x");
        t.take(b);
        t.take(c);
        assert!(t.ask(a, "KILL Bob :spamming").is_empty());
        assert_eq!(
            t.take(b),
            vec![
                ":alice!~alice@127.0.0.1 KILL bob :spamming",
                "ERROR :Closing Link: 127.0.0.1 (Killed (alice (spamming)))",
            ]
        );
        assert_eq!(
            t.closed,
            vec![(
                b,
                "ERROR :Closing Link: 127.0.0.1 (Killed (alice (spamming)))".to_string()
            )]
        );
        assert_eq!(
            t.take(c),
            vec![":bob!~bob@127.0.0.1 QUIT :Killed (alice (spamming))"]
        );
        assert!(t.w.find_nick(b"bob").is_none());
    }

    #[test]
    fn kill_errors() {
        let mut t = opers();
        let a = t.user("alice");
        t.user("bob");
        assert_eq!(
            t.ask(a, "KILL bob :x"),
            vec![":irc.test 481 alice :Permission Denied- You're not an IRC operator"]
        );
        t.feed(a, "OPER admin pw");
        t.take(a);
        assert_eq!(
            t.ask(a, "KILL nobody :x"),
            vec![":irc.test 401 alice nobody :No such nick/channel"]
        );
        assert_eq!(
            t.ask(a, "KILL irc.test :x"),
            vec![":irc.test 483 alice :You can't kill a server!"]
        );
        assert_eq!(
            t.ask(a, "KILL bob"),
            vec![":irc.test 461 alice KILL :Not enough parameters"]
        );
        assert!(t.closed.is_empty());
    }

    #[test]
    fn wallops_reaches_plus_w_only() {
        let mut t = opers();
        let a = oper_user(&mut t, "alice");
        let b = t.user("bob");
        let c = t.user("carol");
        set_umode(&mut t, a, umode::WALLOPS);
        set_umode(&mut t, b, umode::WALLOPS);
        let line = ":alice!~alice@127.0.0.1 WALLOPS :hello all";
        assert_eq!(t.ask(a, "WALLOPS :hello all"), vec![line]);
        assert_eq!(t.take(b), vec![line]);
        assert!(t.take(c).is_empty());
        assert_eq!(
            t.ask(a, "WALLOPS :"),
            vec![":irc.test 461 alice WALLOPS :Not enough parameters"]
        );
        assert_eq!(
            t.ask(b, "WALLOPS :x"),
            vec![":irc.test 481 bob :Permission Denied- You're not an IRC operator"]
        );
    }

    #[test]
    fn rehash_and_die() {
        let mut t = opers();
        let b = t.user("bob");
        assert_eq!(
            t.ask(b, "REHASH"),
            vec![":irc.test 481 bob :Permission Denied- You're not an IRC operator"]
        );
        assert_eq!(
            t.ask(b, "DIE"),
            vec![":irc.test 481 bob :Permission Denied- You're not an IRC operator"]
        );
        assert!(!t.rehash && t.stop.is_none());
        let a = oper_user(&mut t, "alice");
        // The answer waits for the shell's reload.
        assert_eq!(t.ask(a, "REHASH"), Vec::<String>::new());
        assert!(t.rehash && t.stop.is_none());
        let mut out = crate::core::Outbox::default();
        t.w.rehashed(a, true, None, &mut out);
        t.w.rehashed(
            a,
            false,
            Some("rehash failed: x.toml:3: bad\nsecond line"),
            &mut out,
        );
        assert_eq!(
            crate::core::testing::lines(&out),
            [
                ":irc.test 382 alice portico.toml :Rehashing",
                ":irc.test NOTICE alice :rehash failed: x.toml:3: bad",
                ":irc.test NOTICE alice :second line",
            ]
        );
        // DIE is a privilege of its own, which the default set leaves out.
        assert_eq!(
            t.ask(a, "DIE"),
            vec![":irc.test 723 alice die :Insufficient oper privileges."]
        );
        assert!(t.stop.is_none());
        // OPER again with a block that has it (and only it).
        t.feed(a, "OPER root pw");
        assert_eq!(
            t.take(a),
            vec![":irc.test 381 alice :You are now an IRC operator"]
        );
        assert_eq!(
            t.ask(a, "REHASH"),
            vec![":irc.test 723 alice rehash :Insufficient oper privileges."]
        );
        assert_eq!(
            t.ask(a, "DIE"),
            vec![":irc.test NOTICE alice :Server terminating"]
        );
        assert_eq!(t.stop, Some(crate::core::Stop::Die));
    }

    #[test]
    fn privileges_go_with_the_operator_mode() {
        let mut t = opers();
        let a = oper_user(&mut t, "alice");
        let cid = t.w.local(a).unwrap().client.unwrap();
        assert!(t.w.has_privilege(cid, crate::config::Privilege::Kill));
        t.feed(a, "MODE alice -o");
        t.take(a);
        assert!(t.w.oper_privileges.is_empty());
        assert_eq!(
            t.ask(a, "KILL bob :x"),
            vec![":irc.test 481 alice :Permission Denied- You're not an IRC operator"]
        );
    }
}
