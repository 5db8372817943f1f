//! Where a line from a link enters. Its prefix is resolved to a source (a user or a server
//! behind that link), then it runs through the one command table like a local user's line.
//! The verbs only servers send live here: SERVER (a server joining behind the peer), SQUIT,
//! NICK introductions and the collision rule, ERROR.

use super::{rfc2813, Dialect, LinkMsg};
use crate::core::dispatch::{dispatch, err, Ctx, HResult, Source};
use crate::core::handlers::ircx::event::EventType;
use crate::core::state::{umode, Client, Server};
use crate::core::{ClientId, ConnId, Outbox, ServerId, World};
use crate::proto::casemap::valid_nick;
use crate::proto::line::Line;
use crate::proto::message::OwnedMessage;
use crate::proto::numeric as n;
use crate::proto::Message;
use log::{info, warn};

impl World {
    /// A line from a registered link: translated first if the link speaks RFC 2813, then
    /// handled as a native message.
    pub fn on_link_line(&mut self, conn: ConnId, raw: &[u8], msg: &Message<'_>, out: &mut Outbox) {
        let Some(link) = self.link(conn) else {
            return;
        };
        if link.synced {
            return self.on_link_dialect(conn, raw, msg, out);
        }
        // In the peer's burst: the JOINs it brings go in a netjoin batch.
        let from = out.sends.len();
        self.on_link_dialect(conn, raw, msg, out);
        self.netjoin_batch(conn, from, out);
    }

    fn on_link_dialect(&mut self, conn: ConnId, raw: &[u8], msg: &Message<'_>, out: &mut Outbox) {
        let Some(link) = self.link_mut(conn) else {
            return;
        };
        let Dialect::Rfc2813(_) = link.dialect else {
            self.on_link_message(conn, raw, msg, out);
            return;
        };
        let peer = link.server;
        // Taken out for the translation, which reads the world; put back before anything runs.
        let Dialect::Rfc2813(mut rfc) = std::mem::replace(&mut link.dialect, Dialect::Native)
        else {
            unreachable!("matched above");
        };
        let result = rfc2813::inbound(self, &mut rfc, peer, msg);
        if let Some(link) = self.link_mut(conn) {
            link.dialect = Dialect::Rfc2813(rfc);
        }
        match result {
            rfc2813::Inbound::Same => self.on_link_message(conn, raw, msg, out),
            rfc2813::Inbound::Native(msgs) => self.run_translated(conn, &msgs, out),
            rfc2813::Inbound::Cloaked(msgs) => {
                self.run_translated(conn, &msgs, out);
                rfc2813::mark_intro(self, conn, &msgs);
            }
            rfc2813::Inbound::Done => {}
            rfc2813::Inbound::Drop(reason) => {
                warn!("rfc2813 link {conn}: {reason}");
                self.close_conn(conn, &reason, out);
            }
        }
    }

    /// Native messages translated from one line of an rfc2813 link, in order (until the
    /// link goes).
    fn run_translated(&mut self, conn: ConnId, msgs: &[OwnedMessage], out: &mut Outbox) {
        for m in msgs {
            if self.link(conn).is_none() {
                break;
            }
            let m = m.as_message();
            // Nothing translated is opaque: rebuilt, it needs no raw form.
            self.on_link_message(conn, &[], &m, out);
        }
    }

    /// A native message from a link: source resolved, then the command table. A verb this
    /// version does not know is passed on, so newer servers behind us still get it.
    fn on_link_message(&mut self, conn: ConnId, raw: &[u8], msg: &Message<'_>, out: &mut Outbox) {
        let Some(src) = self.link_source(conn, msg) else {
            return;
        };
        // A line that crossed a rename names the channel by its old name.
        let renamed = self.redirect_renamed(src, msg);
        let redirected;
        let msg = match &renamed {
            Some((i, name)) => {
                redirected = msg.with_param(*i, name.as_bytes());
                &redirected
            }
            None => msg,
        };
        let mut ctx = Ctx {
            w: self,
            conn,
            src,
            out,
        };
        // Not what is no command at all (RFC 1459 §2.3.1: letters, or three digits).
        if !dispatch(&mut ctx, msg, 0) && is_command(msg.command) {
            let m = match raw {
                [] => LinkMsg::relay(msg),
                raw => LinkMsg::opaque(msg, raw),
            };
            ctx.propagate(&m);
        }
    }

    /// Resolves a prefix to a user or server behind `conn`. Unknown or wrong-direction
    /// prefixes are dropped: a message may cross a QUIT in flight, so that is no reason to
    /// drop a link. PING, PONG and ERROR count as the peer's whatever their prefix.
    fn link_source(&self, conn: ConnId, msg: &Message<'_>) -> Option<Source> {
        let link = self.link(conn)?;
        let peer = Source::Server(link.server);
        let Some(prefix) = msg.prefix else {
            return Some(peer);
        };
        let mut buf = [0u8; 16];
        if matches!(msg.command_upper(&mut buf), b"PING" | b"PONG" | b"ERROR") {
            return Some(peer);
        }
        let prefix = prefix.split(|&b| b == b'!').next().unwrap_or_default();
        let (src, via) = if let Some(cid) = self.find_nick(prefix) {
            (Source::Remote(cid), self.route(cid))
        } else if let Some(s) = self.find_server(prefix) {
            (Source::Server(s), self.servers[s].via)
        } else {
            log::debug!(
                "link {conn}: unknown prefix {:?}, dropped",
                String::from_utf8_lossy(prefix)
            );
            return None;
        };
        if via != Some(conn) {
            log::debug!(
                "link {conn}: prefix {:?} from the wrong direction, dropped",
                String::from_utf8_lossy(prefix)
            );
            return None;
        }
        Some(src)
    }
}

/// The link to drop instead of `arrival` when a server it introduces is already known:
/// our own link toward that server, if it is strictly younger than `arrival`. Two servers
/// dialing into an established pair at once (c dials a and b, already linked) close a loop
/// that nobody saw coming; dropping the link that brought the duplicate would cut the old
/// a-b link on both sides and leave the network in pieces until the dialers retried.
fn newer_route(w: &World, arrival: ConnId, name: &str, sid: u16) -> Option<ConnId> {
    let known = w.find_server(name.as_bytes())?;
    let via = w.servers[known].via?;
    let (old, new) = (w.link(arrival)?, w.link(via)?);
    (w.servers[known].sid == sid && via != arrival && new.linked_ms > old.linked_ms).then_some(via)
}

fn is_command(verb: &[u8]) -> bool {
    !verb.is_empty() && verb.iter().all(u8::is_ascii_alphabetic)
        || verb.len() == 3 && verb.iter().all(u8::is_ascii_digit)
}

/// `ERROR :<text>` from the peer: the link goes.
pub fn error(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let text = String::from_utf8_lossy(msg.param(0)).into_owned();
    warn!("link {}: ERROR from peer: {text}", ctx.conn);
    ctx.w
        .close_conn(ctx.conn, &format!("ERROR from peer: {text}"), ctx.out);
    Ok(())
}

/// `:<uplink> SERVER <name> <hop> <sid> :<description>`: a server behind the link.
pub fn new_server(ctx: &mut Ctx<'_>, uplink: ServerId, msg: &Message<'_>) {
    let (w, conn) = (&mut *ctx.w, ctx.conn);
    let name = String::from_utf8_lossy(msg.param(0)).into_owned();
    let sid: u16 = msg.param_str(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    if msg.len() < 4 || sid == 0 || !crate::config::valid_server_name(&name) {
        // Not a server anyone could name or route to (empty, `*.test`, no ID): ignored,
        // and so are the users said to be on it.
        warn!("link {conn}: malformed SERVER {name:?} (id {sid}) ignored");
        return;
    }
    // The same server twice means a loop, and one of the two links must go. When our own
    // route to it is the younger link, that one goes and the server is taken as introduced
    // here: the servers at the loop's other corners decide the same way, so an established
    // link never splits because a new one closed a loop.
    let known = |w: &World| {
        w.find_server(name.as_bytes()).is_some() || w.servers.iter().any(|(_, s)| s.sid == sid)
    };
    let reason = format!("Server {name} (id {sid}) already exists; link dropped to break a loop");
    if known(w) {
        warn!("portal: {reason}");
        if let Some(newer) = newer_route(w, conn, &name, sid) {
            w.close_conn(newer, &reason, ctx.out);
        }
    }
    if known(w) {
        w.close_conn(conn, &reason, ctx.out);
        return;
    }
    let idx = w.servers.insert(Server {
        name: name.as_str().into(),
        sid,
        description: String::from_utf8_lossy(msg.param(msg.len().saturating_sub(1))).into(),
        hop: w.servers[uplink].hop + 1,
        uplink,
        via: Some(conn),
        users: 0,
        no_rename: false,
        seen_ms: w.now.mono_ms,
    });
    w.raise_event(EventType::Server, "LINK", None, &[&name], None);
    info!(
        "portal: {name} joined the network behind {}",
        w.servers[uplink].name
    );
    w.announce_server(idx, Some(conn), ctx.out);
}

/// `SQUIT <server> [:reason]`. From an operator here: drop our link to it, or send the
/// request toward it. From a link: `:<server> SQUIT <name>` from the side `<name>` lies on
/// is a split there; `:<oper> SQUIT <name>` from elsewhere is an operator's request,
/// carried toward `<name>` until the server linked to it drops the link.
pub fn squit(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let (local, from, by) = (ctx.is_local(), ctx.from_link(), ctx.source_name());
    let w = &mut *ctx.w;
    let Some(idx) = w
        .find_server(msg.param(0))
        .filter(|&i| i != crate::core::ME)
    else {
        return Err(err(n::ERR_NOSUCHSERVER, &[msg.param(0)]));
    };
    let reason = match (msg.param(1), local) {
        ([], true) => "SQUIT by an operator".to_string(),
        (r, _) => String::from_utf8_lossy(r).into_owned(),
    };
    let via = w.servers[idx].via.expect("only this server has no link");
    let ours = w.link(via).is_some_and(|l| l.server == idx);
    if Some(via) == from {
        if ours {
            // The peer itself leaves: the link goes with it (squitting the server while its
            // link stayed up would leave the link pointing at a removed server).
            w.close_conn(via, &reason, ctx.out);
        } else {
            // A split behind that link.
            w.squit(idx, &reason, Some(via), ctx.out);
        }
        return Ok(());
    }
    if matches!(ctx.src, Source::Server(_)) {
        return Ok(());
    }
    if ours {
        info!("SQUIT {} by {by}: {reason}", w.servers[idx].name);
        w.close_conn(via, &reason, ctx.out);
    } else {
        // Not our link: the request travels toward it, from the operator, and the server
        // holding the link drops it; the split then comes back like any other. Dropping it
        // here only would leave the servers in between still linked to it.
        info!("SQUIT {} (remote): {reason}", w.servers[idx].name);
        let m = LinkMsg::new(&ctx.link_prefix(), "SQUIT")
            .arg(&*ctx.w.servers[idx].name)
            .trailing(&reason);
        ctx.w.send_link(via, &m, ctx.out);
    }
    Ok(())
}

/// `:<server> NICK <nick> <hop> <ts> <user> <host> <sid> +<umodes> :<realname>`.
pub fn introduce(ctx: &mut Ctx<'_>, msg: &Message<'_>) {
    let conn = ctx.conn;
    let w = &mut *ctx.w;
    if msg.len() < 8 {
        return;
    }
    let sid: u16 = msg.param_str(5).and_then(|s| s.parse().ok()).unwrap_or(0);
    let Some((server, _)) = w
        .servers
        .iter()
        .find(|(_, s)| s.sid == sid && s.via == Some(conn))
    else {
        warn!("link {conn}: NICK for unknown server id {sid}, ignored");
        return;
    };
    let (Some(nick), Some(user), Some(host)) =
        (msg.param_str(0), msg.param_str(3), msg.param_str(4))
    else {
        return;
    };
    if !valid_nick(nick.as_bytes(), 50) {
        return;
    }
    let ts: u64 = msg.param_str(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    if !collide(w, conn, nick, ts, None, ctx.out) {
        return;
    }
    let mut umodes = 0;
    for b in msg.param(6).iter() {
        if let Some(&(_, bit)) = umode::ALL.iter().find(|(c, _)| c == b) {
            umodes |= bit & umode::LINKED;
        }
    }
    let cid = w.add_client(Client {
        nick: nick.into(),
        user: user.into(),
        host: host.into(),
        realname: msg.param(7).into(),
        umodes: 0,
        caps: 0,
        away: None,
        chans: Vec::new(),
        conn: None,
        server,
        ts,
        signon: ts / 1000,
        serial: 0,
        invited: false,
    });
    w.set_umodes(cid, umodes);
    if w.events_wanted() {
        let mask = w.clients[cid].mask();
        w.raise_event(EventType::User, "LOGON", Some(cid), &[&mask, "*"], None);
    }
    let intro = w.intro_msg(cid);
    ctx.propagate(&intro);
}

/// `:<nick> NICK <newnick> <ts>`: a remote user's new nick, after the collision rule.
pub fn nick_change(ctx: &mut Ctx<'_>, cid: ClientId, msg: &Message<'_>) {
    let Some(new) = msg.param_str(0) else { return };
    if !valid_nick(new.as_bytes(), 50) {
        return;
    }
    let w = &mut *ctx.w;
    let ts: u64 = msg
        .param_str(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(w.now.unix_ms);
    if !collide(w, ctx.conn, new, ts, Some(cid), ctx.out) || !w.clients.contains(cid) {
        return;
    }
    let old = w.clients[cid].nick.to_string();
    w.clients[cid].ts = ts;
    crate::core::handlers::register::apply_nick(w, cid, new, ctx.out);
    ctx.propagate(&LinkMsg::new(&old, "NICK").arg(new).arg(ts.to_string()));
}

/// A nick arriving from `conn` with timestamp `ts` meets an existing one: the older nick
/// wins, equal ones both lose. `renaming` is the remote user changing to that nick, if any.
/// Returns whether the arriving nick may be taken. Every server applies the same rule to
/// the same two timestamps, so the network agrees without sending kills back.
fn collide(
    w: &mut World,
    conn: ConnId,
    nick: &str,
    ts: u64,
    renaming: Option<ClientId>,
    out: &mut Outbox,
) -> bool {
    let Some(existing) = w.find_nick(nick.as_bytes()) else {
        return true;
    };
    if Some(existing) == renaming {
        return true;
    }
    // Timestamp 0 means unknown (an RFC 2813 peer has none): as there, both lose.
    let unknown = ts == 0 || w.clients[existing].ts == 0;
    let theirs_wins = !unknown && ts < w.clients[existing].ts;
    let ours_wins = !unknown && ts > w.clients[existing].ts;
    info!(
        "nick collision on {nick}: ours {} theirs {ts}",
        w.clients[existing].ts
    );
    if !ours_wins {
        collision_kill(w, existing, conn, out);
    }
    if !theirs_wins {
        if let Some(cid) = renaming {
            collision_kill(w, cid, conn, out);
        }
    }
    theirs_wins
}

/// Removes a collided user: a local one is disconnected; the other links hear it quit
/// (the link the collision came from resolves its side by the same rule).
fn collision_kill(w: &mut World, cid: ClientId, from: ConnId, out: &mut Outbox) {
    let nick = w.clients[cid].nick.clone();
    let quit = LinkMsg::new(&nick, "QUIT").trailing("Nick collision");
    w.to_links(Some(from), &quit, out);
    match w.clients[cid].conn {
        Some(conn) => {
            let me = w.me().name.clone();
            out.send(
                conn,
                Line::new(&me, "KILL")
                    .arg(&*nick)
                    .trailing(format!("{me} (Nick collision)"))
                    .finish(),
            );
            w.close_local(conn, "Nick collision", false, out);
        }
        None => w.quit_local_view(cid, b"Nick collision", out),
    }
}
