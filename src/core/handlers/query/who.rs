//! WHO.

use crate::core::dispatch::{Ctx, HResult};
use crate::core::modes::Status;
use crate::core::paging::{self, Cursor, Lister, Member};
use crate::core::state::umode;
use crate::core::{caps, ChanId, ClientId, ConnId, Outbox, World};
use crate::proto::casemap::{is_channel, wild_match};
use crate::proto::{numeric as n, Message};
use std::rc::Rc;

pub fn who(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let me = ctx.client();
    let given = msg.param(0);
    // `WHO`, `WHO 0` and `WHO *` all mean everyone visible.
    let mask: &[u8] = if given.is_empty() || given == b"0" {
        b"*"
    } else {
        given
    };
    // `o` before any `%`: operators only; after it, WHOX fields.
    let (flags, whox) = match msg.param(1).iter().position(|&b| b == b'%') {
        Some(i) => (
            &msg.param(1)[..i],
            Some(Whox::parse(&msg.param(1)[i + 1..])),
        ),
        None => (msg.param(1), None),
    };
    let q = Query {
        me,
        opers_only: flags.contains(&b'o'),
        whox,
        end: if given.is_empty() { b"*" } else { given }.into(),
    };
    let (w, conn) = (&mut *ctx.w, ctx.conn);
    if !is_channel(mask) {
        let see_all = w.clients[me].has(umode::OPER);
        let lister = ByMask {
            q,
            mask: mask.into(),
            see_all,
        };
        paging::start(w, conn, lister, Cursor::Clients(0), ctx.out);
        return Ok(());
    }
    match who_channel(w, q, mask) {
        Ok((lister, cursor)) => paging::start(w, conn, lister, cursor, ctx.out),
        Err(q) => paging::start(w, conn, Nothing(q), Cursor::empty(), ctx.out),
    }
    Ok(())
}

/// What a WHO asks for.
struct Query {
    me: ClientId,
    opers_only: bool,
    /// WHOX (`%fields[,token]`): 354 with those fields instead of 352.
    whox: Option<Whox>,
    /// The mask as given, for 315.
    end: Box<[u8]>,
}

impl Query {
    fn end(&self, w: &World, conn: ConnId, out: &mut Outbox) {
        w.reply(out, conn, n::RPL_ENDOFWHO, &[&self.end]);
    }
}

/// The fields a WHOX query asks for, and its token.
struct Whox {
    fields: Vec<u8>,
    token: Vec<u8>,
}

impl Whox {
    /// `tcuhnfr,42`: field letters, then a token of up to three digits.
    fn parse(spec: &[u8]) -> Whox {
        let (fields, token) = match spec.iter().position(|&b| b == b',') {
            Some(i) => (&spec[..i], &spec[i + 1..]),
            None => (spec, &b""[..]),
        };
        let token_ok = (1..=3).contains(&token.len()) && token.iter().all(u8::is_ascii_digit);
        Whox {
            fields: fields.to_vec(),
            token: if token_ok {
                token.to_vec()
            } else {
                b"0".to_vec()
            },
        }
    }
}

/// A WHO that lists nobody (no such channel, or a secret one seen from outside).
struct Nothing(Query);

impl Lister for Nothing {
    fn item(&mut self, _: &World, _: ConnId, _: u32, _: &mut Outbox) -> bool {
        false
    }
    fn end(&mut self, w: &World, conn: ConnId, out: &mut Outbox) {
        self.0.end(w, conn, out);
    }
}

/// Outsiders see neither a secret channel nor its invisible members; operators see all.
/// What may be seen is decided at the start; each member is shown as they are when their
/// turn comes (core/paging.rs).
/// Gives the query back when nobody is to be listed.
fn who_channel(w: &World, q: Query, name: &[u8]) -> Result<(InChannel, Cursor), Query> {
    let me = q.me;
    let Some(ch) = w.find_channel(name) else {
        return Err(q);
    };
    let chan = &w.channels[ch];
    let see_all = chan.members.contains_key(&me) || w.clients[me].has(umode::OPER);
    if chan.is_secret() && !see_all {
        return Err(q);
    }
    let lister = InChannel {
        ch,
        oid: chan.oid,
        see_all,
        multi: w.clients[me].caps & caps::MULTI_PREFIX != 0,
        // IRCX AUDITORIUM: an ordinary member sees the hosts and themselves.
        hosts_only: w.in_audience(ch, me),
        q,
    };
    // In member ID order, so the reply does not depend on hash order.
    Ok((lister, Cursor::members(w, ch)))
}

/// `WHO #channel`, a page at a time.
struct InChannel {
    q: Query,
    ch: ChanId,
    /// The channel listed: a channel made later in the same slot has another OID.
    oid: u32,
    see_all: bool,
    multi: bool,
    hosts_only: bool,
}

impl Lister for InChannel {
    fn item(&mut self, w: &World, conn: ConnId, id: u32, out: &mut Outbox) -> bool {
        let (chan, cid, flags) = match paging::member(w, self.ch, self.oid, id) {
            Member::Here(chan, cid, flags) => (chan, cid, flags),
            Member::Left => return true,
            Member::ChannelGone => return false,
        };
        let c = &w.clients[cid];
        if (c.has(umode::INVISIBLE) && !self.see_all) || (self.q.opers_only && !c.has(umode::OPER))
        {
            return true;
        }
        if self.hosts_only && !flags.is_op() && cid != self.q.me {
            return true;
        }
        out.send(
            conn,
            reply_line(w, conn, &self.q, &chan.name, cid, flags, self.multi),
        );
        true
    }
    fn end(&mut self, w: &World, conn: ConnId, out: &mut Outbox) {
        self.q.end(w, conn, out);
    }
}

/// `WHO <mask>`, a page at a time. An invisible user shows only to operators, to themselves
/// and to those sharing a channel.
struct ByMask {
    q: Query,
    mask: Box<[u8]>,
    see_all: bool,
}

impl Lister for ByMask {
    fn item(&mut self, w: &World, conn: ConnId, id: u32, out: &mut Outbox) -> bool {
        let (me, cid) = (self.q.me, paging::client(id));
        let c = &w.clients[cid];
        if self.q.opers_only && !c.has(umode::OPER) {
            return true;
        }
        let hidden =
            c.has(umode::INVISIBLE) && !self.see_all && cid != me && !shares_channel(w, me, cid);
        let hit = [
            c.nick.as_bytes(),
            c.user.as_bytes(),
            c.host.as_bytes(),
            &c.realname,
            // The user's own server: `WHO b.test` lists the users on b.test.
            w.servers[c.server].name.as_bytes(),
        ]
        .into_iter()
        .any(|s| wild_match(w.cm, &self.mask, s));
        if hit && !hidden {
            out.send(
                conn,
                reply_line(w, conn, &self.q, "*", cid, Status::NONE, false),
            );
        }
        true
    }
    fn end(&mut self, w: &World, conn: ConnId, out: &mut Outbox) {
        self.q.end(w, conn, out);
    }
}

fn shares_channel(w: &World, a: ClientId, b: ClientId) -> bool {
    w.clients[a]
        .chans
        .iter()
        .any(|ch| w.channels[*ch].members.contains_key(&b))
}

/// 352, or 354 for a WHOX query.
fn reply_line(
    w: &World,
    conn: ConnId,
    q: &Query,
    chan: &str,
    cid: ClientId,
    flags: Status,
    multi: bool,
) -> Rc<[u8]> {
    let status = who_flags(w, conn, cid, flags, multi);
    match &q.whox {
        None => who_line(w, conn, chan, cid, status),
        Some(x) => whox_line(w, conn, q.me, x, chan, cid, status),
    }
}

/// 354: the fields asked for, in WHOX's fixed order (`tcuihsnfdlaor`), whatever order they
/// were asked in; the real name last, as a trailing parameter.
fn whox_line(
    w: &World,
    conn: ConnId,
    me: ClientId,
    x: &Whox,
    chan: &str,
    cid: ClientId,
    status: String,
) -> Rc<[u8]> {
    let c = &w.clients[cid];
    let local = c.conn.and_then(|lc| w.local(lc));
    let mut line = w.num(conn, n::RPL_WHOSPCRPL);
    for field in *b"tcuihsnfdlao" {
        if !x.fields.contains(&field) {
            continue;
        }
        let value: Vec<u8> = match field {
            b't' => x.token.clone(),
            b'c' => chan.into(),
            b'u' => c.user.as_bytes().into(),
            // The address only to the user and to operators who may see addresses (and
            // only of a user here).
            b'i' => match local {
                Some(l) if cid == me || w.has_privilege(me, crate::config::Privilege::SeeIps) => {
                    l.ip.to_string().into()
                }
                _ => b"255.255.255.255".into(),
            },
            b'h' => c.host.as_bytes().into(),
            b's' => w.servers[c.server].name.as_bytes().into(),
            b'n' => c.nick.as_bytes().into(),
            b'f' => status.as_bytes().into(),
            b'd' => w.servers[c.server].hop.to_string().into(),
            b'l' => local
                .map_or(0, |l| w.now.unix_s().saturating_sub(l.last_msg))
                .to_string()
                .into(),
            // `0` is WHOX's "logged out".
            b'a' => w.account(cid).unwrap_or("0").as_bytes().into(),
            // Op levels are not a thing here (Ergo answers the same).
            _ => b"n/a".into(),
        };
        line = line.arg(value);
    }
    if x.fields.contains(&b'r') {
        line = line.trailing(&c.realname);
    }
    line.finish()
}

/// 352: `<channel> <user> <host> <server> <nick> <flags> :<hops> <realname>`.
fn who_line(w: &World, conn: ConnId, chan: &str, cid: ClientId, status: String) -> Rc<[u8]> {
    let c = &w.clients[cid];
    let srv = &w.servers[c.server];
    let mut real = format!("{} ", srv.hop).into_bytes();
    real.extend_from_slice(&c.realname);
    w.num(conn, n::RPL_WHOREPLY)
        .arg(chan)
        .arg(&*c.user)
        .arg(&*c.host)
        .arg(&*srv.name)
        .arg(&*c.nick)
        .arg(status)
        .trailing(real)
        .finish()
}

/// `<H|G>[*][@|+][B]`: here or away, operator, member status, bot.
fn who_flags(w: &World, conn: ConnId, cid: ClientId, flags: Status, multi: bool) -> String {
    let c = &w.clients[cid];
    let mut status = String::from(if c.away.is_some() { "G" } else { "H" });
    if c.has(umode::OPER) {
        status.push('*');
    }
    let viewer = w.local(conn).and_then(|l| l.client);
    let viewer_caps = viewer.map_or(0, |v| w.clients[v].caps);
    w.push_member_prefixes(&mut status, flags, multi, viewer_caps);
    // Bot mode: `B` after the other flags (as InspIRCd and Ergo show it).
    if c.has(umode::BOT) {
        status.push('B');
    }
    status
}

#[cfg(test)]
mod tests {
    use super::super::tests::{cid, set_umode};
    use crate::core::state::{cmode, umode};
    use crate::core::testing::TestWorld;

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
        let bits = t.w.clients[ca].caps | crate::core::caps::MULTI_PREFIX;
        t.w.set_caps(ca, bits);
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
}
