//! A user's username or host changed after connecting: the operator commands CHGHOST and
//! CHGIDENT (privilege `chghost`), the same change from another server, and how local
//! clients hear of it (IRCv3 `chghost`: one CHGHOST line; without the capability the
//! spec's fallback, a QUIT and then a JOIN and MODE per shared channel, never both).
//!
//! Between Portico servers: `:<origin> CHGHOST <nick> <user> <host>` to links with the
//! `CHGHOST` capability (older peers keep the old host: docs/PROTOCOL.md); ngIRCd gets
//! `METADATA <nick> user` and `host` (`cloakhost` for a user it cloaks), and its own
//! METADATA `host`/`cloakhost`/`user` arrive here as this line (`portal::rfc2813`).

use crate::core::caps;
use crate::core::dispatch::{err, Ctx, HResult};
use crate::core::fanout::Msg;
use crate::core::handlers::channel::join_msg;
use crate::core::modes::Status;
use crate::core::portal::{cap, LinkMsg};
use crate::core::{ChanId, ClientId, ConnId, Outbox, World};
use crate::limits::{HOST_LEN, USER_LEN};
use crate::proto::line::Line;
use crate::proto::numeric as n;
use crate::proto::Message;

/// The QUIT reason of the fallback, as the spec's example has it.
pub const FALLBACK_QUIT: &str = "Changing hostname";

/// Whether `host` may be shown as a user's host: letters, digits and `-._/:` (cloaks
/// and IPv6 addresses), starting with a letter or digit (never `:`, which would end a
/// line's parameters, nor `-`), at most [`HOST_LEN`] bytes.
pub fn valid_host(host: &[u8]) -> bool {
    (1..=HOST_LEN).contains(&host.len())
        && host[0].is_ascii_alphanumeric()
        && host
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'/' | b':'))
}

/// Whether `user` may be a username: what USER keeps (printable, no `@`, `!` or `:`,
/// at most [`USER_LEN`] bytes; a leading `~` is part of it).
pub fn valid_user(user: &[u8]) -> bool {
    (1..=USER_LEN).contains(&user.len())
        && user
            .iter()
            .all(|&b| b.is_ascii_graphic() && !matches!(b, b'@' | b'!' | b':'))
}

/// `CHGHOST <nick> <host>` from an operator, or `:<origin> CHGHOST <nick> <user> <host>`
/// from a link.
pub fn chghost(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    if !ctx.is_local() {
        return from_link(ctx, msg);
    }
    let target = find(ctx, msg.param(0))?;
    let host = msg.param(1);
    if !valid_host(host) {
        fail(ctx, "CHGHOST", "INVALID_HOST", host, "Invalid hostname");
        return Ok(());
    }
    let user = ctx.w.clients[target].user.to_string();
    let host = std::str::from_utf8(host).expect("valid_host is ASCII");
    oper_change(ctx, target, &user, host, "host");
    Ok(())
}

/// `CHGIDENT <nick> <user>`: an operator changes a user's username.
pub fn chgident(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let target = find(ctx, msg.param(0))?;
    let user = msg.param(1);
    if !valid_user(user) {
        fail(
            ctx,
            "CHGIDENT",
            "INVALID_USERNAME",
            user,
            "Invalid username",
        );
        return Ok(());
    }
    let host = ctx.w.clients[target].host.to_string();
    let user = std::str::from_utf8(user).expect("valid_user is ASCII");
    oper_change(ctx, target, user, &host, "username");
    Ok(())
}

fn find(ctx: &Ctx<'_>, nick: &[u8]) -> Result<ClientId, crate::core::dispatch::Reply> {
    ctx.w
        .find_nick(nick)
        .ok_or_else(|| err(n::ERR_NOSUCHNICK, &[nick]))
}

/// Applies an operator's change and tells the operator what became of it.
fn oper_change(ctx: &mut Ctx<'_>, target: ClientId, user: &str, host: &str, what: &str) {
    let nick = ctx.w.clients[target].nick.to_string();
    let origin = ctx.link_prefix();
    let text = if ctx
        .w
        .change_userhost(target, user, host, &origin, None, ctx.out)
    {
        log::info!(
            "{} changed the {what} of {nick} to {user}@{host}",
            ctx.source_name()
        );
        format!("Changed the {what} of {nick}: now {nick}!{user}@{host}")
    } else {
        format!("{nick} is already {nick}!{user}@{host}")
    };
    ctx.w.server_notice(ctx.out, ctx.conn, &text);
}

/// Another server's change: applied if it is well formed, else dropped (a peer's bad
/// line must not reach our clients).
fn from_link(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let (user, host) = (msg.param(1), msg.param(2));
    let Some(target) = ctx.w.find_nick(msg.param(0)) else {
        return Ok(());
    };
    if msg.len() < 3 || !valid_user(user) || !valid_host(host) {
        log::debug!("link {}: malformed CHGHOST dropped", ctx.conn);
        return Ok(());
    }
    let (user, host) = (String::from_utf8_lossy(user), String::from_utf8_lossy(host));
    let origin = ctx.link_prefix();
    let from = ctx.from_link();
    ctx.w
        .change_userhost(target, &user, &host, &origin, from, ctx.out);
    Ok(())
}

/// `FAIL <command> <code> <value> :<text>` (IRCv3 standard replies).
fn fail(ctx: &mut Ctx<'_>, command: &str, code: &str, value: &[u8], text: &str) {
    let line = ctx.w.fail_line(command, code, &[value], text);
    ctx.out.send(ctx.conn, line);
}

impl World {
    /// Gives `cid` a new username and host and tells everyone who should know: local
    /// clients sharing a channel (CHGHOST or the fallback), extended-monitor watchers
    /// with `chghost`, the user (CHGHOST, or 396 without the capability), and every link
    /// but `from_link`. `origin` is the link prefix of whoever made the change. Returns
    /// false (and does nothing) when nothing changes.
    pub fn change_userhost(
        &mut self,
        cid: ClientId,
        user: &str,
        host: &str,
        origin: &str,
        from_link: Option<ConnId>,
        out: &mut Outbox,
    ) -> bool {
        let c = &self.clients[cid];
        if *c.user == *user && *c.host == *host {
            return false;
        }
        let old_mask = c.mask();
        let nick = c.nick.to_string();
        let line = Line::new(&old_mask, "CHGHOST").arg(user).arg(host).finish();
        let mut chg = self.user_msg(cid, line);
        let c = &mut self.clients[cid];
        c.user = user.into();
        c.host = host.into();
        let fallback = self.chghost_to_common(cid, &old_mask, &mut chg, out);
        self.rejoin_fallback(cid, &fallback, out);
        self.to_monitors(cid, caps::CHGHOST, &mut chg, out);
        let link = LinkMsg::new(origin, "CHGHOST")
            .arg(&nick)
            .arg(user)
            .arg(host)
            .needs(cap::CHGHOST);
        self.to_links(from_link, &link, out);
        true
    }

    /// CHGHOST to `cid` itself and to the local clients sharing a channel with it that
    /// have `chghost`; the fallback QUIT to those that do not, who are returned for their
    /// JOINs. Each client is served once ([`World::each_common`], whose stamps
    /// extended-monitor then skips).
    fn chghost_to_common(
        &mut self,
        cid: ClientId,
        old_mask: &str,
        chg: &mut Msg,
        out: &mut Outbox,
    ) -> Vec<ClientId> {
        if let Some(conn) = self.clients[cid].conn {
            if self.clients[cid].caps & caps::CHGHOST != 0 {
                out.send(conn, chg.for_caps(self.clients[cid].caps));
            } else {
                let host = self.clients[cid].host.clone();
                self.reply(out, conn, n::RPL_VISIBLEHOST, &[host.as_bytes()]);
            }
        }
        let quit = Line::new(old_mask, "QUIT").trailing(FALLBACK_QUIT).finish();
        let mut quit = Msg::new(quit, self.now.unix_ms);
        let mut fallback = Vec::new();
        self.each_common(cid, |member, c| {
            let Some(conn) = c.conn else { return };
            if c.caps & caps::CHGHOST != 0 {
                out.send(conn, chg.for_caps(c.caps));
            } else {
                out.send(conn, quit.for_caps(c.caps));
                fallback.push(member);
            }
        });
        fallback
    }

    /// The rest of the fallback: for each channel `cid` is in, its JOIN (extended-join
    /// form where asked), its status as a MODE from this server, and its away state to
    /// away-notify clients, for the clients in `fallback` that see it there.
    fn rejoin_fallback(&mut self, cid: ClientId, fallback: &[ClientId], out: &mut Outbox) {
        if fallback.is_empty() {
            return;
        }
        let c = &self.clients[cid];
        let mut away = c.away.as_ref().map(|a| {
            let line = c.line("AWAY").trailing(a).finish();
            Msg::new(line, self.now.unix_ms)
        });
        for ch in c.chans.clone() {
            let chan = &self.channels[ch];
            let mut join = join_msg(self, ch, cid);
            let status = chan.members.get(&cid).copied().unwrap_or_default();
            let hosts_only = chan.in_audience(cid);
            for &member in fallback {
                let Some(&flags) = chan.members.get(&member) else {
                    continue;
                };
                if hosts_only && !flags.is_op() {
                    continue;
                }
                let m = &self.clients[member];
                let Some(conn) = m.conn else { continue };
                out.send(conn, join.for_caps(m.caps));
                if !status.is_empty() {
                    let line = self.status_mode_line(ch, cid, status, m.caps);
                    out.send(conn, Msg::new(line, self.now.unix_ms).for_caps(m.caps));
                }
                if let (Some(a), true) = (&mut away, m.caps & caps::AWAY_NOTIFY != 0) {
                    out.send(conn, a.for_caps(m.caps));
                }
            }
        }
    }

    /// `:<server> MODE <chan> +<letters> <nick>…` giving `cid` its `status` again, as a
    /// client with `viewer_caps` reads statuses (owners as ops where RFC clients see
    /// owners as hosts; the last nick trailing, as the spec's example has it).
    fn status_mode_line(
        &self,
        ch: ChanId,
        cid: ClientId,
        status: Status,
        viewer_caps: caps::Caps,
    ) -> std::rc::Rc<[u8]> {
        let owners_as_ops = viewer_caps & caps::DIALECT_IRCX == 0
            && self.rfc_owner_symbol() == '@'
            && status.contains(Status::OWNER);
        let shown = if owners_as_ops {
            status.without(Status::OWNER).with(Status::OP)
        } else {
            status
        };
        let letters: String = shown.each().map(|d| d.letter as char).collect();
        let nick = &*self.clients[cid].nick;
        let mut l = Line::new(self.name(), "MODE")
            .arg(&*self.channels[ch].name)
            .arg(format!("+{letters}"));
        for _ in 1..letters.len() {
            l = l.arg(nick);
        }
        l.trailing(nick).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{TestWorld, BASE_CONFIG};

    const OPERS: &str = "[[oper]]\nname = \"admin\"\npassword = \"pw\"\nhost = \"*@*\"\n\
                         [[oper]]\nname = \"killer\"\npassword = \"pw\"\nhost = \"*@*\"\n\
                         privileges = [\"kill\"]\n";

    #[test]
    fn chghost_reaches_each_client_once_in_the_form_it_reads() {
        let mut t = TestWorld::with_portals_and(OPERS);
        let o = t.user("olga");
        t.feed(o, "OPER admin pw");
        let bob = t.user_with_caps("bob", "chghost");
        let cap = t.user_with_caps("cap", "chghost");
        let plain = t.user_with_caps("plain", "extended-join away-notify");
        let peer = t.link("peer.test", 2, "AWAY BMASK CHGHOST EOB SETNAME TB", 2);
        let old = t.link("far.test", 3, "AWAY BMASK EOB SETNAME TB", 2);
        for c in [plain, bob, cap] {
            t.feed(c, "JOIN #a,#b");
        }
        t.feed(bob, "AWAY :lunch");
        t.feed(plain, "MODE #a +v bob");
        for c in [o, bob, cap, plain, peer, old] {
            t.take(c);
        }
        assert_eq!(
            t.ask(o, "CHGHOST bob new.host"),
            vec![":irc.test NOTICE olga :Changed the host of bob: now bob!~bob@new.host"]
        );
        let chg = ":bob!~bob@127.0.0.1 CHGHOST ~bob new.host";
        assert_eq!(t.take(bob), vec![chg]);
        assert_eq!(
            t.take(cap),
            vec![chg],
            "once, though two channels are shared"
        );
        // Without the capability: one QUIT, then per channel the JOIN (extended-join
        // form), the status back and the away state (away-notify).
        assert_eq!(
            t.take(plain),
            vec![
                ":bob!~bob@127.0.0.1 QUIT :Changing hostname",
                ":bob!~bob@new.host JOIN #a * :bob real",
                ":irc.test MODE #a +v :bob",
                ":bob!~bob@new.host AWAY :lunch",
                ":bob!~bob@new.host JOIN #b * :bob real",
                ":bob!~bob@new.host AWAY :lunch",
            ]
        );
        assert_eq!(t.take(peer), vec![":olga CHGHOST bob ~bob new.host"]);
        assert!(t.take(old).is_empty(), "a peer without the link capability");
        // WHO and USERHOST show it; the same host again changes nothing.
        assert_eq!(
            t.ask(o, "USERHOST bob"),
            vec![":irc.test 302 olga :bob=-~bob@new.host"]
        );
        assert_eq!(
            t.ask(o, "CHGHOST bob new.host"),
            vec![":irc.test NOTICE olga :bob is already bob!~bob@new.host"]
        );
        assert!(t.take(cap).is_empty());
        // CHGIDENT; a client without the capability hears of its own change by 396.
        t.feed(o, "CHGIDENT plain ~p");
        assert_eq!(
            t.take(plain),
            vec![":irc.test 396 plain 127.0.0.1 :is now your displayed host"]
        );
        assert_eq!(
            t.take(cap),
            vec![":plain!~plain@127.0.0.1 CHGHOST ~p 127.0.0.1"]
        );
    }

    #[test]
    fn errors_and_privilege() {
        let mut t = TestWorld::with_config(&format!("{BASE_CONFIG}{OPERS}"));
        let u = t.user("ursula");
        let k = t.user("kim");
        t.feed(k, "OPER killer pw");
        let o = t.user("olga");
        t.feed(o, "OPER admin pw");
        t.take(k);
        t.take(o);
        assert_eq!(
            t.ask(u, "CHGHOST kim x.y"),
            vec![":irc.test 481 ursula :Permission Denied- You're not an IRC operator"]
        );
        assert_eq!(
            t.ask(k, "CHGHOST ursula x.y"),
            vec![":irc.test 723 kim chghost :Insufficient oper privileges."]
        );
        assert_eq!(
            t.ask(o, "CHGHOST nobody x.y"),
            vec![":irc.test 401 olga nobody :No such nick/channel"]
        );
        assert_eq!(
            t.ask(o, "CHGHOST ursula"),
            vec![":irc.test 461 olga CHGHOST :Not enough parameters"]
        );
        for bad in ["-x", "a@b", "a*b", "\u{e9}t\u{e9}"] {
            assert_eq!(
                t.ask(o, &format!("CHGHOST ursula {bad}")),
                vec![format!(
                    ":irc.test FAIL CHGHOST INVALID_HOST {bad} :Invalid hostname"
                )]
            );
        }
        // What cannot be a middle parameter is shown as `*`.
        for bad in [":two words", "::x"] {
            assert_eq!(
                t.ask(o, &format!("CHGHOST ursula {bad}")),
                vec![":irc.test FAIL CHGHOST INVALID_HOST * :Invalid hostname"]
            );
        }
        assert_eq!(
            t.ask(o, "CHGIDENT ursula a@b"),
            vec![":irc.test FAIL CHGIDENT INVALID_USERNAME a@b :Invalid username"]
        );
        assert!(t.take(u).is_empty());
    }

    #[test]
    fn a_change_from_a_link_is_applied_and_passed_on() {
        let mut t = TestWorld::with_portals();
        let alice = t.user_with_caps("alice", "chghost");
        let peer = t.link("peer.test", 2, "AWAY BMASK CHGHOST EOB SETNAME TB", 2);
        let far = t.link("far.test", 3, "AWAY BMASK CHGHOST EOB SETNAME TB", 2);
        t.feed(
            peer,
            ":peer.test NICK rob 1 1600000000000 ~rob peer.host 2 + :Rob",
        );
        t.feed(peer, ":peer.test SJOIN 1600000000000 #c + :rob");
        t.feed(alice, "JOIN #c");
        t.take(alice);
        t.take(far);
        t.feed(peer, ":peer.test CHGHOST rob rob vhost/rob");
        assert_eq!(
            t.take(alice),
            vec![":rob!~rob@peer.host CHGHOST rob vhost/rob"]
        );
        assert_eq!(t.take(far), vec![":peer.test CHGHOST rob rob vhost/rob"]);
        // Malformed ones are dropped, not shown.
        t.feed(peer, ":peer.test CHGHOST rob rob :bad host");
        t.feed(peer, ":peer.test CHGHOST rob vhost/rob");
        assert!(t.take(alice).is_empty());
        assert!(t.take(far).is_empty());
        // Our own user's host, changed elsewhere: alice hears it as anyone would.
        t.feed(peer, ":peer.test CHGHOST alice ~alice alice.vhost");
        assert_eq!(
            t.take(alice),
            vec![":alice!~alice@127.0.0.1 CHGHOST ~alice alice.vhost"]
        );
    }

    #[test]
    fn hosts_and_usernames_are_checked() {
        assert!(valid_host(b"backyard"));
        assert!(valid_host(b"user/alice.example"));
        assert!(valid_host(b"2001:db8::1"));
        assert!(!valid_host(b""));
        assert!(!valid_host(b":bad"));
        assert!(!valid_host(b"-bad"));
        assert!(!valid_host(b"two words"));
        assert!(!valid_host(b"a@b"));
        assert!(!valid_host("\u{e9}t\u{e9}".as_bytes()));
        assert!(valid_host(&[b'a'; HOST_LEN]));
        assert!(!valid_host(&[b'a'; HOST_LEN + 1]));
        assert!(valid_user(b"~toolshed"));
        assert!(!valid_user(b""));
        assert!(!valid_user(b"a@b"));
        assert!(!valid_user(b"a b"));
        assert!(!valid_user(&[b'u'; USER_LEN + 1]));
    }
}
