//! Portals: the server side of the protocol. The handshake (PASS, CAPAB, SERVER) that tells
//! a server from a client on any listener, and every command a linked server sends. Each
//! command is applied here, shown to local users, and passed on to the other links; a
//! command this version does not know is passed on unchanged. Wire forms: docs/PROTOCOL.md.

use crate::config::PortalProtocol;
use crate::core::caps;
use crate::core::dispatch::{err, Ctx, HResult};
use crate::core::fanout::Msg;
use crate::core::handlers::channel::set_topic;
use crate::core::modes::{self, statusmsg_target, Kind, Status};
use crate::core::network::{cap, PROTO_MIN};
use crate::core::rfc2813;
use crate::core::state::{umode, Ban, Channel, Client, Hello, Link, Server, ME};
use crate::core::{ChanId, ClientId, ConnId, Outbox, World};
use crate::proto::casemap::{is_channel, valid_channel, valid_nick};
use crate::proto::line::{with_tags, Line};
use crate::proto::numeric as n;
use crate::proto::Message;
use log::{info, warn};
use std::rc::Rc;

pub const PASS_VERSION: &str = "0210-PORTICO";

/// Our side of the handshake: PASS, CAPAB, SERVER.
pub fn handshake(w: &World, password: &str) -> Vec<Rc<[u8]>> {
    let me = w.me();
    vec![
        Line::bare("PASS")
            .arg(password)
            .arg(PASS_VERSION)
            .arg(format!("portico|{}", env!("CARGO_PKG_VERSION")))
            .finish(),
        Line::bare("CAPAB")
            .arg(PROTO_MIN.to_string())
            .arg(w.offered_proto_max().to_string())
            .trailing(cap::names(w.offered_caps()))
            .finish(),
        Line::bare("SERVER")
            .arg(&*me.name)
            .arg("1")
            .arg(me.sid.to_string())
            .trailing(&*me.description)
            .finish(),
    ]
}

fn hello<'a>(ctx: &'a mut Ctx<'_>) -> Option<&'a mut Hello> {
    let reg = ctx.w.reg_mut(ctx.conn)?;
    Some(reg.hello.get_or_insert_with(Default::default))
}

/// `PASS <password> <version> <flags> [<options>]`: three or more parameters mark a server.
pub fn pass(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let Some(h) = hello(ctx) else {
        return Err(err(n::ERR_ALREADYREGISTERED, &[]));
    };
    h.password = Some(msg.param(0).into());
    h.version = String::from_utf8_lossy(msg.param(1)).into();
    Ok(())
}

/// `CAPAB <min> <max> :<capabilities>`: the protocol range and features the peer offers.
pub fn capab(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let num = |i: usize| msg.param_str(i).and_then(|s| s.parse::<u8>().ok());
    let (Some(min), Some(max)) = (num(0), num(1)) else {
        return Err(err(n::ERR_NEEDMOREPARAMS, &[b"CAPAB"]));
    };
    let tokens = String::from_utf8_lossy(msg.param(2))
        .split_whitespace()
        .map(Into::into)
        .collect();
    let Some(h) = hello(ctx) else {
        return Err(err(n::ERR_ALREADYREGISTERED, &[]));
    };
    h.capab = Some((min, max, tokens));
    Ok(())
}

/// Closes a link attempt, saying which part was wrong, and logs it.
fn refuse(w: &mut World, conn: ConnId, reason: &str, out: &mut Outbox) {
    let ip = w.local(conn).map(|l| l.ip.to_string()).unwrap_or_default();
    warn!("portal: refused link from {ip}: {reason}");
    w.close_conn(conn, reason, out);
}

/// `SERVER <name> <hop> <sid> :<description>` on an unregistered connection.
pub fn server(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let (w, conn) = (&mut *ctx.w, ctx.conn);
    let Some(reg) = w.reg_mut(conn) else {
        return Err(err(n::ERR_ALREADYREGISTERED, &[]));
    };
    let hello = reg.hello.take().map(|b| *b).unwrap_or_default();
    let dialed = reg.dialed.clone();
    let crossing = crossed_link(w, msg, dialed.is_some());
    match check_server(w, msg, &hello, crossing.map(|(idx, _)| idx)) {
        Ok((portal, proto, caps)) => {
            if let Some((idx, old)) = crossing {
                info!(
                    "portal {}: crossing connections; keeping the one dialed by the lower server ID",
                    w.servers[idx].name
                );
                w.close_conn(old, CROSSING_REASON, ctx.out);
            }
            register_link(w, conn, msg, portal, proto, caps, dialed.is_none(), ctx.out)
        }
        Err(reason) => refuse(w, conn, &reason, ctx.out),
    }
    Ok(())
}

/// How long after a link registers a second connection from the same peer counts as a
/// crossing (both servers dialed each other at once) rather than a duplicate.
const CROSSING_WINDOW_MS: u64 = 10_000;
const CROSSING_REASON: &str = "Crossing connections: keeping the one dialed by the lower server ID";

/// Two servers that dial each other at the same moment each register the connection whose
/// handshake arrives first, often different ones, and refusing the other would drop both.
/// Both sides keep the connection dialed by the server with the lower ID instead, so they
/// agree. Returns (server, existing link) when this new connection is the one to keep.
fn crossed_link(w: &World, msg: &Message<'_>, we_dialed: bool) -> Option<(usize, ConnId)> {
    let idx = w.find_server(msg.param(0))?;
    let old = w.servers[idx].via?;
    let link = w.link(old).filter(|l| l.server == idx)?;
    let sid: u16 = msg.param_str(2)?.parse().ok()?;
    if sid != w.servers[idx].sid
        || w.now.mono_ms.saturating_sub(link.linked_ms) > CROSSING_WINDOW_MS
    {
        return None;
    }
    let me = w.me().sid;
    let keep_new = if we_dialed { me < sid } else { sid < me };
    keep_new.then_some((idx, old))
}

/// Validates a peer's handshake: a configured name, its ID, its password, a common
/// protocol version, and no duplicate in the network (`replacing`, a crossing link about to
/// be dropped, aside). Returns (portal index, proto, caps).
fn check_server(
    w: &World,
    msg: &Message<'_>,
    hello: &Hello,
    replacing: Option<usize>,
) -> Result<(usize, u8, u32), String> {
    let name = String::from_utf8_lossy(msg.param(0)).into_owned();
    let rfc = w
        .config
        .portal
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(&name))
        .is_some_and(|p| p.protocol == PortalProtocol::Rfc2813);
    if rfc {
        return check_rfc2813(w, &name, hello, replacing);
    }
    if msg.len() < 4 {
        return Err(format!(
            "SERVER needs <name> <hop> <id> :<description>; got {} parameter(s)",
            msg.len()
        ));
    }
    let sid: u16 = msg.param_str(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let cfg = &w.config;
    let Some(pi) = cfg
        .portal
        .iter()
        .position(|p| p.name.eq_ignore_ascii_case(&name))
    else {
        return Err(format!(
            "Unknown server name {name}: no [[portal]] for it here"
        ));
    };
    let portal = &cfg.portal[pi];
    if sid != portal.id {
        return Err(format!(
            "Wrong server ID {sid} for {name}: expected {}",
            portal.id
        ));
    }
    if hello.password.as_deref() != Some(portal.password.as_bytes()) {
        return Err(format!("Bad password for portal {name}"));
    }
    let Some((min, max, tokens)) = &hello.capab else {
        return Err(format!(
            "No CAPAB from {name}: it does not speak the Portico portal protocol"
        ));
    };
    let ours = w.offered_proto_max();
    let proto = ours.min(*max);
    if proto < PROTO_MIN.max(*min) {
        return Err(format!(
            "No common protocol version: we speak {PROTO_MIN}-{ours}, {name} speaks {min}-{max}"
        ));
    }
    if w.servers
        .iter()
        .any(|(i, s)| Some(i) != replacing && (s.name.eq_ignore_ascii_case(&name) || s.sid == sid))
    {
        return Err(format!(
            "Server {name} (id {sid}) is already in the network; link refused to avoid a loop"
        ));
    }
    Ok((pi, proto, w.offered_caps() & cap::parse(tokens)))
}

/// The checks for an RFC 2813 peer (ngIRCd): name, password, a 2.10 protocol, no duplicate.
/// It sends no server ID; the portal's `id` stands for it here.
fn check_rfc2813(
    w: &World,
    name: &str,
    hello: &Hello,
    replacing: Option<usize>,
) -> Result<(usize, u8, u32), String> {
    let pi = w
        .config
        .portal
        .iter()
        .position(|p| p.name.eq_ignore_ascii_case(name))
        .expect("caller found it");
    let portal = &w.config.portal[pi];
    if hello.password.as_deref() != Some(portal.password.as_bytes()) {
        return Err(format!("Bad password for portal {name}"));
    }
    if !hello.version.starts_with("0210") {
        return Err(format!(
            "Unsupported protocol version {:?} from {name}: RFC 2813 (0210) expected",
            hello.version
        ));
    }
    if w.servers.iter().any(|(i, s)| {
        Some(i) != replacing && (s.name.eq_ignore_ascii_case(name) || s.sid == portal.id)
    }) {
        return Err(format!(
            "Server {name} (id {}) is already in the network; link refused to avoid a loop",
            portal.id
        ));
    }
    // Away, topics and bans travel in RFC 2813 forms (AWAY, TOPIC, MODE +b); see rfc2813.rs.
    Ok((pi, 1, cap::AWAY | cap::TB | cap::BMASK))
}

#[allow(clippy::too_many_arguments)]
fn register_link(
    w: &mut World,
    conn: ConnId,
    msg: &Message<'_>,
    portal: usize,
    proto: u8,
    caps: u32,
    inbound: bool,
    out: &mut Outbox,
) {
    let p = w.config.portal[portal].clone();
    let rfc = p.protocol == PortalProtocol::Rfc2813;
    if inbound {
        let lines = if rfc {
            rfc2813::handshake(w, &p.password)
        } else {
            handshake(w, &p.password)
        };
        for line in lines {
            out.send(conn, line);
        }
    }
    if rfc {
        for line in rfc2813::enhanced_handshake(w, &p.name) {
            out.send(conn, line);
        }
    }
    let idx = w.servers.insert(Server {
        name: p.name.as_str().into(),
        sid: p.id,
        description: String::from_utf8_lossy(msg.param(msg.len() - 1)).into(),
        hop: 1,
        uplink: ME,
        via: Some(conn),
        users: 0,
    });
    let now = w.now.mono_ms;
    let local = w.local_mut(conn).expect("registering connection");
    local.reg = None;
    local.link = Some(Box::new(Link {
        server: idx,
        proto,
        caps,
        serial: 0,
        synced: false,
        linked_ms: now,
        rfc: rfc.then(Box::default),
    }));
    if rfc {
        w.rfc_links += 1;
    }
    w.unregistered -= 1;
    info!(
        "portal {}: linked (protocol {proto}, capabilities: {})",
        p.name,
        cap::names(caps)
    );
    let intro = w.server_line(idx);
    w.to_links(None, &intro, out);
    w.links.push(conn);
    w.send_burst(conn, out);
}

/// Where a line from a link comes from.
#[derive(Clone, Copy, Debug)]
enum Src {
    User(ClientId),
    Server(usize),
}

/// Resolves a prefix to a user or server behind `conn`. Unknown or wrong-direction prefixes
/// are dropped (a message may cross a QUIT in flight, so that is no reason to drop a link).
fn source(w: &World, conn: ConnId, msg: &Message<'_>) -> Option<Src> {
    let link = w.link(conn)?;
    let Some(prefix) = msg.prefix else {
        return Some(Src::Server(link.server));
    };
    let prefix = prefix.split(|&b| b == b'!').next().unwrap_or_default();
    let (src, via) = if let Some(cid) = w.find_nick(prefix) {
        (Src::User(cid), w.route(cid))
    } else if let Some(s) = w.find_server(prefix) {
        (Src::Server(s), w.servers[s].via)
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

/// The received line, terminated again, to pass on unchanged but for stray CRs, which are
/// dropped: a peer that ends lines at CR would see two lines, and a space in their place
/// could change how the line splits (a CR in the tags would end the tag section).
fn raw_line(raw: &[u8]) -> Rc<[u8]> {
    let mut v = Vec::with_capacity(raw.len() + 2);
    v.extend(raw.iter().filter(|&&b| b != b'\r'));
    v.extend_from_slice(b"\r\n");
    Rc::from(v)
}

/// Everything a registered link sends comes here.
pub fn on_link_line(w: &mut World, conn: ConnId, raw: &[u8], msg: &Message<'_>, out: &mut Outbox) {
    let mut buf = [0u8; 16];
    let verb = msg.command_upper(&mut buf).to_vec();
    match &verb[..] {
        b"PING" => {
            let me = w.me().name.clone();
            out.send(
                conn,
                Line::new(&me, "PONG")
                    .arg(&*me)
                    .trailing(msg.param(0))
                    .finish(),
            );
            return;
        }
        b"PONG" => return,
        b"ERROR" => {
            let text = String::from_utf8_lossy(msg.param(0)).into_owned();
            warn!("link {conn}: ERROR from peer: {text}");
            w.close_conn(conn, &format!("ERROR from peer: {text}"), out);
            return;
        }
        _ => {}
    }
    let Some(src) = source(w, conn, msg) else {
        return;
    };
    let ctx = LinkCtx { conn, raw, src };
    match &verb[..] {
        b"SERVER" => new_server(w, &ctx, msg, out),
        b"SQUIT" => remote_squit(w, &ctx, msg, out),
        b"NICK" => match src {
            Src::Server(_) => introduce(w, &ctx, msg, out),
            Src::User(cid) => nick_change(w, &ctx, cid, msg, out),
        },
        b"QUIT" => user_only(src, |cid| {
            w.to_links(Some(conn), &raw_line(raw), out);
            w.quit_local_view(cid, msg.param(0), out);
        }),
        b"KILL" => kill(w, &ctx, msg, out),
        b"SJOIN" => sjoin(w, &ctx, msg, out),
        b"PART" => user_only(src, |cid| part(w, &ctx, cid, msg, out)),
        b"KICK" => kick(w, &ctx, msg, out),
        b"MODE" => mode(w, &ctx, msg, out),
        b"TOPIC" => user_only(src, |cid| topic(w, &ctx, cid, msg, out)),
        b"TB" => topic_burst(w, &ctx, msg, out),
        b"BMASK" => bmask(w, &ctx, msg, out),
        b"PRIVMSG" | b"NOTICE" | b"TAGMSG" => message(w, &ctx, &verb, msg, out),
        b"AWAY" => user_only(src, |cid| away(w, &ctx, cid, msg, out)),
        b"INVITE" => user_only(src, |cid| invite(w, &ctx, cid, msg, out)),
        b"WALLOPS" => wallops(w, &ctx, msg, out),
        b"SETNAME" => user_only(src, |cid| setname(w, &ctx, cid, msg, out)),
        b"EOB" => {
            if let Some(l) = w.link_mut(conn) {
                l.synced = true;
            }
            let name = w
                .link(conn)
                .map(|l| w.servers[l.server].name.clone())
                .unwrap_or_default();
            info!("portal {name}: end of burst");
        }
        // A command this version does not know: pass it on, so newer servers behind us
        // still get it (forward compatibility). Not what is no command at all (RFC 1459
        // §2.3.1: letters, or three digits), such as `@` or raw bytes.
        _ if is_command(msg.command) => w.to_links(Some(conn), &raw_line(raw), out),
        _ => {}
    }
}

fn is_command(verb: &[u8]) -> bool {
    !verb.is_empty() && verb.iter().all(u8::is_ascii_alphabetic)
        || verb.len() == 3 && verb.iter().all(u8::is_ascii_digit)
}

struct LinkCtx<'a> {
    conn: ConnId,
    raw: &'a [u8],
    src: Src,
}

impl LinkCtx<'_> {
    fn forward(&self, w: &World, out: &mut Outbox) {
        w.to_links(Some(self.conn), &raw_line(self.raw), out);
    }
    fn forward_with(&self, w: &World, caps: u32, out: &mut Outbox) {
        w.to_links_with(Some(self.conn), caps, &raw_line(self.raw), out);
    }
}

fn user_only(src: Src, f: impl FnOnce(ClientId)) {
    if let Src::User(cid) = src {
        f(cid)
    }
}

/// Prefix for what local users see: a user's mask or a server's name.
fn display(w: &World, src: Src) -> String {
    match src {
        Src::User(cid) => w.clients[cid].mask(),
        Src::Server(s) => w.servers[s].name.to_string(),
    }
}

fn new_server(w: &mut World, ctx: &LinkCtx<'_>, msg: &Message<'_>, out: &mut Outbox) {
    let Src::Server(uplink) = ctx.src else { return };
    let name = String::from_utf8_lossy(msg.param(0)).into_owned();
    let sid: u16 = msg.param_str(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    if msg.len() < 4 || sid == 0 || !crate::config::valid_server_name(&name) {
        // Not a server anyone could name or route to (empty, `*.test`, no ID): ignored,
        // and so are the users said to be on it.
        warn!(
            "link {}: malformed SERVER {name:?} (id {sid}) ignored",
            ctx.conn
        );
        return;
    }
    if w.find_server(name.as_bytes()).is_some() || w.servers.iter().any(|(_, s)| s.sid == sid) {
        // The same server twice means a loop: this link must go.
        let reason =
            format!("Server {name} (id {sid}) already exists; link dropped to break a loop");
        warn!("portal: {reason}");
        w.close_conn(ctx.conn, &reason, out);
        return;
    }
    let idx = w.servers.insert(Server {
        name: name.as_str().into(),
        sid,
        description: String::from_utf8_lossy(msg.param(msg.len().saturating_sub(1))).into(),
        hop: w.servers[uplink].hop + 1,
        uplink,
        via: Some(ctx.conn),
        users: 0,
    });
    info!(
        "portal: {name} joined the network behind {}",
        w.servers[uplink].name
    );
    let line = w.server_line(idx);
    w.to_links(Some(ctx.conn), &line, out);
}

/// `:<server> SQUIT <name> :<reason>` from the side `<name>` lies on: it split off there.
/// `:<oper> SQUIT <name> :<reason>` from elsewhere: an operator's request, carried toward
/// `<name>` until the server linked to it drops the link.
fn remote_squit(w: &mut World, ctx: &LinkCtx<'_>, msg: &Message<'_>, out: &mut Outbox) {
    let Some(idx) = w.find_server(msg.param(0)) else {
        return;
    };
    let reason = String::from_utf8_lossy(msg.param(1)).into_owned();
    let Some(via) = w.servers[idx].via else {
        return;
    };
    if via == ctx.conn && w.link(via).is_some_and(|l| l.server == idx) {
        // The peer itself leaves: the link goes with it (squitting the server while its
        // link stayed up would leave the link pointing at a removed server).
        w.close_conn(via, &reason, out);
    } else if via == ctx.conn {
        // A split behind that link.
        w.squit(idx, &reason, Some(ctx.conn), out);
    } else if let Src::User(_) = ctx.src {
        // An operator's request to drop a link further on: ours to drop, or pass it on.
        if w.link(via).is_some_and(|l| l.server == idx) {
            info!(
                "SQUIT {} by {}: {reason}",
                w.servers[idx].name,
                display(w, ctx.src)
            );
            w.close_conn(via, &reason, out);
        } else {
            out.send(via, raw_line(ctx.raw));
        }
    }
}

/// `:<server> NICK <nick> <hop> <ts> <user> <host> <sid> +<umodes> :<realname>`.
fn introduce(w: &mut World, ctx: &LinkCtx<'_>, msg: &Message<'_>, out: &mut Outbox) {
    if msg.len() < 8 {
        return;
    }
    let sid: u16 = msg.param_str(5).and_then(|s| s.parse().ok()).unwrap_or(0);
    let Some((server, _)) = w
        .servers
        .iter()
        .find(|(_, s)| s.sid == sid && s.via == Some(ctx.conn))
    else {
        warn!(
            "link {}: NICK for unknown server id {sid}, ignored",
            ctx.conn
        );
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
    if !collide(w, ctx.conn, nick, ts, None, out) {
        return;
    }
    let mut umodes = 0;
    for b in msg.param(6).iter() {
        if let Some(&(_, bit)) = umode::ALL.iter().find(|(c, _)| c == b) {
            umodes |= bit;
        }
    }
    let cid = w.clients.insert(Client {
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
    w.servers[server].users += 1;
    w.max_global_users = w.max_global_users.max(w.clients.len());
    let key = w.fold(nick);
    w.nicks.insert(key, cid);
    ctx.forward(w, out);
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
    let line = Line::new(&nick, "QUIT").trailing("Nick collision").finish();
    w.to_links(Some(from), &line, out);
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
            let links = std::mem::take(&mut w.links);
            w.close_conn(conn, "Nick collision", out);
            w.links = links;
        }
        None => w.quit_local_view(cid, b"Nick collision", out),
    }
}

/// `:<nick> NICK <newnick> <ts>`.
fn nick_change(
    w: &mut World,
    ctx: &LinkCtx<'_>,
    cid: ClientId,
    msg: &Message<'_>,
    out: &mut Outbox,
) {
    let Some(new) = msg.param_str(0) else { return };
    if !valid_nick(new.as_bytes(), 50) {
        return;
    }
    let ts: u64 = msg
        .param_str(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(w.now.unix_ms);
    if !collide(w, ctx.conn, new, ts, Some(cid), out) {
        return;
    }
    if !w.clients.contains(cid) {
        return;
    }
    w.clients[cid].ts = ts;
    crate::core::handlers::register::apply_nick(w, cid, new, out);
    ctx.forward(w, out);
}

fn kill(w: &mut World, ctx: &LinkCtx<'_>, msg: &Message<'_>, out: &mut Outbox) {
    let Some(victim) = w.find_nick(msg.param(0)) else {
        return;
    };
    let killer = match ctx.src {
        Src::User(c) => w.clients[c].nick.to_string(),
        Src::Server(s) => w.servers[s].name.to_string(),
    };
    let reason = format!(
        "Killed ({killer} ({}))",
        String::from_utf8_lossy(msg.param(1))
    );
    ctx.forward(w, out);
    match w.clients[victim].conn {
        Some(conn) => {
            let line = Line::new(&display(w, ctx.src), "KILL")
                .arg(&*w.clients[victim].nick)
                .trailing(msg.param(1))
                .finish();
            out.send(conn, line);
            let links = std::mem::take(&mut w.links);
            w.close_conn(conn, &reason, out);
            w.links = links;
        }
        None => w.quit_local_view(victim, reason.as_bytes(), out),
    }
}

/// `:<server> SJOIN <ts> <chan> <modes> [args…] :[@][+]nick …`: members, with the channel
/// timestamp deciding whose modes and statuses count.
fn sjoin(w: &mut World, ctx: &LinkCtx<'_>, msg: &Message<'_>, out: &mut Outbox) {
    let n = msg.len();
    if n < 4 || !valid_channel(msg.param(1), crate::limits::CHANNEL_LEN) {
        return;
    }
    let ts: u64 = msg.param_str(0).and_then(|s| s.parse().ok()).unwrap_or(0);
    let name = msg.param_str(1).expect("valid_channel checks UTF-8");
    let src_name = display(w, ctx.src);
    let (ch, accept_modes) = match w.find_channel(name.as_bytes()) {
        None => {
            let ch = w.channels.insert(Channel::new(name, ts));
            let key = w.fold(name);
            w.chan_names.insert(key, ch);
            (ch, true)
        }
        Some(ch) => {
            let ours = w.channels[ch].created_ms;
            if ts < ours {
                lose_channel_ts(w, ch, ts, &src_name, out);
            }
            (ch, ts <= ours)
        }
    };
    if accept_modes {
        let words: Vec<&[u8]> = msg.params()[2..n - 1].to_vec();
        merge_modes(w, ch, &words, &src_name, out);
    }
    for token in msg
        .param(n - 1)
        .split(|&b| b == b' ')
        .filter(|t| !t.is_empty())
    {
        let (flags, nick) = Status::parse_prefixed(token);
        let Some(cid) = w.find_nick(nick) else {
            continue;
        };
        if w.route(cid) != Some(ctx.conn) {
            continue;
        }
        join_member(
            w,
            ch,
            cid,
            if accept_modes { flags } else { Status::NONE },
            &src_name,
            out,
        );
    }
    if w.channels[ch].members.is_empty() {
        // A new channel nobody known here joined (unknown or wrong-direction nicks): it
        // must not stay behind empty, nor be passed on.
        let chan = w.channels.remove(ch);
        w.chan_names.remove(&*w.cm.fold(&chan.name));
        return;
    }
    ctx.forward(w, out);
}

/// Our channel is younger: its modes, bans and statuses go; local members are told.
fn lose_channel_ts(w: &mut World, ch: ChanId, ts: u64, src: &str, out: &mut Outbox) {
    let chan = &mut w.channels[ch];
    chan.created_ms = ts;
    chan.created = ts / 1000;
    let mut removed: Vec<(u8, String)> = Vec::new();
    for (c, bit) in modes::flags() {
        if chan.modes & bit != 0 {
            removed.push((c, String::new()));
        }
    }
    if chan.key.take().is_some() {
        removed.push((b'k', "*".into()));
    }
    if chan.limit != 0 {
        chan.limit = 0;
        removed.push((b'l', String::new()));
    }
    chan.modes = 0;
    for ban in std::mem::take(&mut chan.bans) {
        removed.push((b'b', ban.mask.to_string()));
    }
    let members: Vec<(ClientId, Status)> = chan.members.iter().map(|(&c, &f)| (c, f)).collect();
    for (cid, flags) in members {
        for d in flags.each() {
            removed.push((d.letter, w.clients[cid].nick.to_string()));
        }
        w.channels[ch].members.insert(cid, Status::NONE);
    }
    announce_modes(w, ch, src, false, &removed, out);
}

/// Adds the modes in `words` (`+ntk key`) to the channel, announcing what changed.
fn merge_modes(w: &mut World, ch: ChanId, words: &[&[u8]], src: &str, out: &mut Outbox) {
    let Some((modes, mut args)) = words.split_first().map(|(m, rest)| (*m, rest.iter())) else {
        return;
    };
    let mut added: Vec<(u8, String)> = Vec::new();
    let chan = &mut w.channels[ch];
    for &c in modes.iter().filter(|&&c| c != b'+') {
        match c {
            b'k' => {
                // Kept as a local MODE +k keeps it: a key with a comma or a space could
                // never be given in a JOIN.
                let key = crate::core::handlers::mode::clean_key(
                    args.next().copied().unwrap_or_default(),
                )
                .map(String::from)
                .unwrap_or_default();
                // Equal timestamps: the greater key wins on both sides alike.
                if !key.is_empty() && chan.key.as_deref().is_none_or(|k| key.as_str() > k) {
                    chan.key = Some(key.as_str().into());
                    added.push((b'k', key));
                }
            }
            b'l' => {
                let limit: u32 = std::str::from_utf8(args.next().copied().unwrap_or_default())
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if limit > chan.limit {
                    chan.limit = limit;
                    added.push((b'l', limit.to_string()));
                }
            }
            _ => {
                if let Some(bit) = modes::channel_mode(c)
                    .filter(|m| m.kind == Kind::Flag)
                    .map(|m| modes::flag_bit(m.letter))
                {
                    if chan.modes & bit == 0 {
                        chan.modes |= bit;
                        added.push((c, String::new()));
                    }
                }
            }
        }
    }
    announce_modes(w, ch, src, true, &added, out);
}

/// Shows local members mode changes made by a merge, at most four parameters a line.
fn announce_modes(
    w: &mut World,
    ch: ChanId,
    src: &str,
    plus: bool,
    changes: &[(u8, String)],
    out: &mut Outbox,
) {
    let name = w.channels[ch].name.clone();
    let mut rest = changes;
    while !rest.is_empty() {
        let mut letters = String::from(if plus { "+" } else { "-" });
        let mut args = Vec::new();
        let mut used = 0;
        for (c, arg) in rest {
            if !arg.is_empty() {
                if args.len() == 4 {
                    break;
                }
                args.push(arg.clone());
            }
            letters.push(*c as char);
            used += 1;
        }
        rest = &rest[used..];
        let mut line = Line::new(src, "MODE").arg(&*name).arg(&letters);
        for a in &args {
            line = line.arg(a);
        }
        let mut m = Msg::new(line.finish(), w.now.unix_ms);
        w.to_channel(ch, None, &mut m, out, |_| true);
    }
}

/// Puts a remote user into a channel and shows the JOIN (and any status) to local members.
fn join_member(
    w: &mut World,
    ch: ChanId,
    cid: ClientId,
    flags: Status,
    src: &str,
    out: &mut Outbox,
) {
    let status_changes = |w: &World, added: Status| -> Vec<(u8, String)> {
        let nick = w.clients[cid].nick.to_string();
        added.each().map(|d| (d.letter, nick.clone())).collect()
    };
    if let Some(old) = w.channels[ch].members.get(&cid).copied() {
        let added = flags.without(old);
        if !added.is_empty() {
            w.channels[ch].members.insert(cid, old.with(added));
            let changes = status_changes(w, added);
            announce_modes(w, ch, src, true, &changes, out);
        }
        return;
    }
    w.channels[ch].members.insert(cid, flags);
    w.channels[ch].invites.retain(|&i| i != cid);
    w.clients[cid].chans.push(ch);
    crate::core::handlers::channel::announce_join(w, ch, cid, out);
    if !flags.is_empty() {
        let changes = status_changes(w, flags);
        announce_modes(w, ch, src, true, &changes, out);
    }
}

fn part(w: &mut World, ctx: &LinkCtx<'_>, cid: ClientId, msg: &Message<'_>, out: &mut Outbox) {
    let Some(ch) = w.find_channel(msg.param(0)) else {
        return;
    };
    if !w.channels[ch].members.contains_key(&cid) {
        return;
    }
    let mut l = Line::new(&w.clients[cid].mask(), "PART").arg(&*w.channels[ch].name);
    if msg.len() > 1 {
        l = l.trailing(msg.param(1));
    }
    let mut m = Msg::new(l.finish(), w.now.unix_ms);
    w.to_channel(ch, None, &mut m, out, |_| true);
    w.part_channel(ch, cid);
    ctx.forward(w, out);
}

fn kick(w: &mut World, ctx: &LinkCtx<'_>, msg: &Message<'_>, out: &mut Outbox) {
    let (Some(ch), Some(victim)) = (w.find_channel(msg.param(0)), w.find_nick(msg.param(1))) else {
        return;
    };
    if !w.channels[ch].members.contains_key(&victim) {
        return;
    }
    let line = Line::new(&display(w, ctx.src), "KICK")
        .arg(&*w.channels[ch].name)
        .arg(&*w.clients[victim].nick)
        .trailing(msg.param(2))
        .finish();
    let mut m = Msg::new(line, w.now.unix_ms);
    w.to_channel(ch, None, &mut m, out, |_| true);
    w.part_channel(ch, victim);
    ctx.forward(w, out);
}

/// Channel modes are applied as sent (the sending server checked the rights); user modes
/// change the user's flags.
fn mode(w: &mut World, ctx: &LinkCtx<'_>, msg: &Message<'_>, out: &mut Outbox) {
    let target = msg.param(0);
    if is_channel(target) {
        let Some(ch) = w.find_channel(target) else {
            return;
        };
        let setter = display(w, ctx.src);
        crate::core::handlers::mode::apply_remote(
            w,
            ch,
            &setter,
            msg.param(1),
            msg.params().get(2..).unwrap_or_default(),
            out,
        );
        ctx.forward(w, out);
    } else if let (Src::User(cid), Some(t)) = (ctx.src, w.find_nick(target)) {
        if cid != t {
            return;
        }
        let mut new = w.clients[cid].umodes;
        let mut plus = true;
        for &b in msg.param(1) {
            match b {
                b'+' => plus = true,
                b'-' => plus = false,
                _ => {
                    if let Some(&(_, bit)) = umode::ALL.iter().find(|(c, _)| *c == b) {
                        if plus {
                            new |= bit
                        } else {
                            new &= !bit
                        }
                    }
                }
            }
        }
        w.set_umodes(cid, new);
        ctx.forward(w, out);
    }
}

/// `:<nick> TOPIC <chan> <ts> :<text>` (the time travels, so every server shows the same).
fn topic(w: &mut World, ctx: &LinkCtx<'_>, cid: ClientId, msg: &Message<'_>, out: &mut Outbox) {
    let Some(ch) = w.find_channel(msg.param(0)) else {
        return;
    };
    let time: u64 = msg
        .param_str(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(w.now.unix_s());
    let text = msg.param(2);
    let setter = w.clients[cid].mask();
    set_topic(w, ch, text, &setter, time, &setter, out);
    ctx.forward(w, out);
}

/// `:<server> TB <chan> <time> <setter> :<text>`: burst topic; the newer one wins
/// everywhere (ties: the greater text), so both sides of a rejoin agree.
fn topic_burst(w: &mut World, ctx: &LinkCtx<'_>, msg: &Message<'_>, out: &mut Outbox) {
    let Some(ch) = w.find_channel(msg.param(0)) else {
        return;
    };
    let time: u64 = msg.param_str(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let text = msg.param(3);
    let newer = match &w.channels[ch].topic {
        None => true,
        Some(t) => (time, text) > (t.time, &t.text[..]),
    };
    if !newer || text.is_empty() {
        return;
    }
    let setter = String::from_utf8_lossy(msg.param(2)).into_owned();
    let src = display(w, ctx.src);
    set_topic(w, ch, text, &setter, time, &src, out);
    ctx.forward(w, out);
}

/// `:<server> BMASK <ts> <chan> b :<mask> …`: bans of a channel at least as old as ours.
fn bmask(w: &mut World, ctx: &LinkCtx<'_>, msg: &Message<'_>, out: &mut Outbox) {
    let Some(ch) = w.find_channel(msg.param(1)) else {
        return;
    };
    let ts: u64 = msg
        .param_str(0)
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX);
    if ts > w.channels[ch].created_ms || msg.param(2) != b"b" {
        return;
    }
    let src = display(w, ctx.src);
    let mut added = Vec::new();
    for mask in String::from_utf8_lossy(msg.param(3)).split_whitespace() {
        let chan = &mut w.channels[ch];
        if chan.bans.len() < crate::limits::MAX_BANS
            && !chan.bans.iter().any(|b| w.cm.eq(&b.mask, mask))
        {
            chan.bans.push(Ban {
                mask: mask.into(),
                setter: src.as_str().into(),
                time: w.now.unix_s(),
            });
            added.push((b'b', mask.to_string()));
        }
    }
    announce_modes(w, ch, &src, true, &added, out);
    ctx.forward(w, out);
}

/// PRIVMSG, NOTICE and TAGMSG from a link: local recipients, then onward to the links
/// that lead to other recipients (never back where it came from).
fn message(w: &mut World, ctx: &LinkCtx<'_>, verb: &[u8], msg: &Message<'_>, out: &mut Outbox) {
    let Src::User(cid) = ctx.src else { return };
    let verb = std::str::from_utf8(verb).unwrap_or("PRIVMSG");
    let tagmsg = verb == "TAGMSG";
    let target = msg.param(0);
    if !tagmsg && msg.param(1).is_empty() {
        // A client could not send it (412 ERR_NOTEXTTOSEND): not shown to anyone.
        return;
    }
    let client_tags = msg.client_tags();
    let mut user_line = Line::new(&w.clients[cid].mask(), verb).arg(target);
    if !tagmsg {
        user_line = user_line.trailing(msg.param(1));
    }
    let text = (!tagmsg).then(|| msg.param(1));
    let forms = RelayForms::new(&w.clients[cid].nick, verb, target, text, &client_tags);
    let for_link = |l: &Link| forms.for_link(l);
    let mut m = Msg::new(user_line.finish(), w.now.unix_ms).with_client_tags(&client_tags);
    let (status, chan_part) = statusmsg_target(target);
    if is_channel(chan_part) {
        let Some(ch) = w.find_channel(chan_part) else {
            return;
        };
        w.to_channel_members(ch, None, status, tagmsg, &mut m, out);
        w.to_channel_links(ch, Some(ctx.conn), out, for_link);
    } else if let Some(to) = w.find_nick(target) {
        match w.clients[to].conn {
            Some(conn) if !tagmsg || w.clients[to].caps & caps::MESSAGE_TAGS != 0 => {
                let c = w.clients[to].caps;
                out.send(conn, m.for_caps(c));
            }
            Some(_) => {}
            None => {
                let Some(via) = w.route(to) else { return };
                if via != ctx.conn {
                    if let Some(line) = w.link(via).and_then(for_link) {
                        out.send(via, line);
                    }
                }
            }
        }
    }
}

/// A PRIVMSG, NOTICE or TAGMSG as it crosses links: plain for version-1 peers (which know
/// neither client tags nor TAGMSG), tagged for newer ones.
pub struct RelayForms {
    plain: Rc<[u8]>,
    tagged: Rc<[u8]>,
    tagmsg: bool,
}

impl RelayForms {
    pub fn new(
        nick: &str,
        verb: &str,
        target: &[u8],
        text: Option<&[u8]>,
        client_tags: &[u8],
    ) -> RelayForms {
        let mut l = Line::new(nick, verb).arg(target);
        if let Some(t) = text {
            l = l.trailing(t);
        }
        let plain = l.finish();
        let tagged = if client_tags.is_empty() {
            plain.clone()
        } else {
            with_tags(client_tags, &plain)
        };
        RelayForms {
            plain,
            tagged,
            tagmsg: text.is_none(),
        }
    }

    pub fn for_link(&self, l: &Link) -> Option<Rc<[u8]>> {
        match (l.proto >= 2, self.tagmsg) {
            (true, _) => Some(self.tagged.clone()),
            (false, true) => None,
            (false, false) => Some(self.plain.clone()),
        }
    }
}

fn away(w: &mut World, ctx: &LinkCtx<'_>, cid: ClientId, msg: &Message<'_>, out: &mut Outbox) {
    let text = msg.param(0);
    w.clients[cid].away = (!text.is_empty()).then(|| text.into());
    let mut l = Line::new(&w.clients[cid].mask(), "AWAY");
    if !text.is_empty() {
        l = l.trailing(text);
    }
    let mut m = Msg::new(l.finish(), w.now.unix_ms);
    w.to_common(cid, false, caps::AWAY_NOTIFY, &mut m, out);
    ctx.forward_with(w, cap::AWAY, out);
}

fn invite(w: &mut World, ctx: &LinkCtx<'_>, cid: ClientId, msg: &Message<'_>, out: &mut Outbox) {
    let (Some(victim), Some(ch)) = (w.find_nick(msg.param(0)), w.find_channel(msg.param(1))) else {
        return;
    };
    if !w.channels[ch].invites.contains(&victim) {
        w.channels[ch].invites.push(victim);
        w.clients[victim].invited = true;
    }
    match w.clients[victim].conn {
        Some(conn) => {
            let line = Line::new(&w.clients[cid].mask(), "INVITE")
                .arg(&*w.clients[victim].nick)
                .arg(&*w.channels[ch].name)
                .finish();
            out.send(conn, line);
        }
        None => {
            // Every server records the invitation, so a JOIN checked anywhere agrees.
            ctx.forward(w, out);
        }
    }
}

fn wallops(w: &mut World, ctx: &LinkCtx<'_>, msg: &Message<'_>, out: &mut Outbox) {
    let line = Line::new(&display(w, ctx.src), "WALLOPS")
        .trailing(msg.param(0))
        .finish();
    let mut m = Msg::new(line, w.now.unix_ms);
    let targets: Vec<ClientId> = w
        .clients
        .iter()
        .filter(|(_, c)| c.conn.is_some() && c.has(umode::WALLOPS))
        .map(|(i, _)| i)
        .collect();
    for t in targets {
        w.send_client(t, &mut m, out);
    }
    ctx.forward(w, out);
}

fn setname(w: &mut World, ctx: &LinkCtx<'_>, cid: ClientId, msg: &Message<'_>, out: &mut Outbox) {
    w.clients[cid].realname = msg.param(0).into();
    let line = Line::new(&w.clients[cid].mask(), "SETNAME")
        .trailing(msg.param(0))
        .finish();
    let mut m = Msg::new(line, w.now.unix_ms);
    w.to_common(cid, false, caps::SETNAME, &mut m, out);
    ctx.forward_with(w, cap::SETNAME, out);
}

/// Oper `CONNECT <portal>`: dial a configured portal now.
pub fn connect(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let name = String::from_utf8_lossy(msg.param(0)).into_owned();
    let w = &mut *ctx.w;
    let Some(p) = w
        .config
        .portal
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(&name))
    else {
        return Err(err(n::ERR_NOSUCHSERVER, &[msg.param(0)]));
    };
    let (pname, has_addr) = (p.name.clone(), p.address.is_some());
    let me = w.name().to_string();
    let notice = |text: String| {
        Line::new(&me, "NOTICE")
            .arg(w.target_nick(ctx.conn))
            .trailing(text)
            .finish()
    };
    let line = if w.find_server(pname.as_bytes()).is_some() {
        notice(format!("CONNECT: {pname} is already linked"))
    } else if !has_addr {
        notice(format!("CONNECT: portal {pname} has no address to dial"))
    } else {
        ctx.out.connects.push(pname.clone());
        notice(format!("CONNECT: dialing {pname}"))
    };
    ctx.out.send(ctx.conn, line);
    Ok(())
}

/// Oper `SQUIT <server> [:reason]`: drop a direct link (or ask for a remote one).
pub fn squit(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    let oper = ctx.client();
    let w = &mut *ctx.w;
    let Some(idx) = w.find_server(msg.param(0)).filter(|&i| i != ME) else {
        return Err(err(n::ERR_NOSUCHSERVER, &[msg.param(0)]));
    };
    let reason = match msg.param(1) {
        [] => "SQUIT by an operator".to_string(),
        r => String::from_utf8_lossy(r).into_owned(),
    };
    let via = w.servers[idx].via.expect("only this server has no link");
    if w.link(via).is_some_and(|l| l.server == idx) {
        info!("SQUIT {}: {reason}", w.servers[idx].name);
        w.close_conn(via, &reason, ctx.out);
    } else {
        // Not our link: the request travels toward it, from the operator, and the server
        // holding the link drops it; the split then comes back like any other. Dropping it
        // here only would leave the servers in between still linked to it.
        info!("SQUIT {} (remote): {reason}", w.servers[idx].name);
        let line = Line::new(&w.clients[oper].nick, "SQUIT")
            .arg(&*w.servers[idx].name)
            .trailing(&reason)
            .finish();
        ctx.out.send(via, line);
    }
    Ok(())
}
