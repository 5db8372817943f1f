//! The portal handshake, on any listener: `PASS <pw> <version> <flags>`, `CAPAB <min>
//! <max> :<caps>` and `SERVER <name> <hop> <id> :<desc>` tell a server from a client. The
//! peer is checked against its `[[portal]]` (name, ID, password), a protocol version both
//! speak is chosen, capabilities are the ones both offer; then the burst. Also oper CONNECT.

use super::{cap, rfc2813, Dialect, Hello, Link, PROTO_MIN};
use crate::config::{same_secret, PortalProtocol};
use crate::core::dispatch::{err, Ctx, HResult, Source};
use crate::core::handlers::ircx::event::EventType;
use crate::core::state::{Server, ME};
use crate::core::{ConnId, Outbox, ServerId, World};
use crate::proto::line::Line;
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

/// What a peer that has not shown the right password is told, whatever was wrong (the name
/// or the password): the configured names and IDs are no business of a guesser.
pub const DENIED: &str = "Access denied: unknown server name or bad password";

/// A refused link attempt: `why` is logged, and told to the peer if it `proved` it knows
/// the portal's password (else it hears [`DENIED`]).
struct Refused {
    why: String,
    proved: bool,
}

impl Refused {
    /// A refusal before the password was found right.
    fn unproved(why: String) -> Refused {
        Refused { why, proved: false }
    }
}

impl From<String> for Refused {
    fn from(why: String) -> Refused {
        Refused { why, proved: true }
    }
}

/// Closes a link attempt, saying which part was wrong if the peer may know, and logs it.
fn refuse(w: &mut World, conn: ConnId, r: &Refused, out: &mut Outbox) {
    let ip = w.local(conn).map(|l| l.ip.to_string()).unwrap_or_default();
    warn!("portal: refused link from {ip}: {}", r.why);
    w.counts.refused(crate::core::counts::Refusal::Portal);
    w.close_conn(conn, if r.proved { &r.why } else { DENIED }, out);
}

/// Whether the peer's PASS is the portal's password.
fn right_password(hello: &Hello, password: &str) -> bool {
    hello
        .password
        .as_deref()
        .is_some_and(|given| same_secret(password.as_bytes(), given))
}

/// `SERVER <name> <hop> <sid> :<description>`: on an unregistered connection, the peer's
/// handshake; on a link, a server joining the network behind it.
pub fn server(ctx: &mut Ctx<'_>, msg: &Message<'_>) -> HResult {
    if let Source::Server(uplink) = ctx.src {
        super::remote::new_server(ctx, uplink, msg);
        return Ok(());
    }
    let (w, conn) = (&mut *ctx.w, ctx.conn);
    let Some(reg) = w.reg_mut(conn) else {
        return Err(err(n::ERR_ALREADYREGISTERED, &[]));
    };
    let hello = reg.hello.take().map(|b| *b).unwrap_or_default();
    let dialed = reg.dialed.clone();
    if let Some(secs) = w.suspended(conn) {
        let why = format!("too many failed passwords: address suspended for {secs} more seconds");
        refuse(w, conn, &Refused::unproved(why), ctx.out);
        return Ok(());
    }
    let crossing = crossed_link(w, msg, dialed.is_some());
    let checked = check_server(w, msg, &hello, crossing.map(|(idx, _)| idx))
        .and_then(|ok| check_tls(w, conn, ok.0).map(|()| ok).map_err(Refused::from));
    match checked {
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
        Err(refused) => {
            if !refused.proved {
                w.secret_failed(conn);
            }
            refuse(w, conn, &refused, ctx.out)
        }
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
fn crossed_link(w: &World, msg: &Message<'_>, we_dialed: bool) -> Option<(ServerId, ConnId)> {
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

/// Validates a peer's handshake: a configured name, its password, its ID, a common
/// protocol version, and no duplicate in the network (`replacing`, a crossing link about to
/// be dropped, aside). Returns (portal index, proto, caps).
fn check_server(
    w: &World,
    msg: &Message<'_>,
    hello: &Hello,
    replacing: Option<ServerId>,
) -> Result<(usize, u8, u32), Refused> {
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
        )
        .into());
    }
    let sid: u16 = msg.param_str(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let cfg = &w.config;
    let Some(pi) = cfg
        .portal
        .iter()
        .position(|p| p.name.eq_ignore_ascii_case(&name))
    else {
        return Err(Refused::unproved(format!(
            "Unknown server name {name}: no [[portal]] for it here"
        )));
    };
    let portal = &cfg.portal[pi];
    if !right_password(hello, &portal.password) {
        return Err(Refused::unproved(format!("Bad password for portal {name}")));
    }
    if sid != portal.id {
        return Err(format!("Wrong server ID {sid} for {name}: expected {}", portal.id).into());
    }
    let Some((min, max, tokens)) = &hello.capab else {
        return Err(
            format!("No CAPAB from {name}: it does not speak the Portico portal protocol").into(),
        );
    };
    let ours = w.offered_proto_max();
    let proto = ours.min(*max);
    if proto < PROTO_MIN.max(*min) {
        return Err(format!(
            "No common protocol version: we speak {PROTO_MIN}-{ours}, {name} speaks {min}-{max}"
        )
        .into());
    }
    if w.servers
        .iter()
        .any(|(i, s)| Some(i) != replacing && (s.name.eq_ignore_ascii_case(&name) || s.sid == sid))
    {
        return Err(format!(
            "Server {name} (id {sid}) is already in the network; link refused to avoid a loop"
        )
        .into());
    }
    Ok((pi, proto, w.offered_caps() & cap::parse(tokens)))
}

/// A portal with `tls = true` links over TLS only, whichever side dialed: its password
/// and everything after must not cross the network in the clear.
fn check_tls(w: &World, conn: ConnId, portal: usize) -> Result<(), String> {
    let p = &w.config.portal[portal];
    if p.tls && !w.secure.contains_key(&conn) {
        return Err(format!(
            "TLS required for portal {}: connect to a TLS listener of this server",
            p.name
        ));
    }
    Ok(())
}

/// The checks for an RFC 2813 peer (ngIRCd): name, password, a 2.10 protocol, no duplicate.
/// It sends no server ID; the portal's `id` stands for it here.
fn check_rfc2813(
    w: &World,
    name: &str,
    hello: &Hello,
    replacing: Option<ServerId>,
) -> Result<(usize, u8, u32), Refused> {
    let pi = w
        .config
        .portal
        .iter()
        .position(|p| p.name.eq_ignore_ascii_case(name))
        .expect("caller found it");
    let portal = &w.config.portal[pi];
    if !right_password(hello, &portal.password) {
        return Err(Refused::unproved(format!("Bad password for portal {name}")));
    }
    if !hello.version.starts_with("0210") {
        return Err(format!(
            "Unsupported protocol version {:?} from {name}: RFC 2813 (0210) expected",
            hello.version
        )
        .into());
    }
    if w.servers.iter().any(|(i, s)| {
        Some(i) != replacing && (s.name.eq_ignore_ascii_case(name) || s.sid == portal.id)
    }) {
        return Err(format!(
            "Server {name} (id {}) is already in the network; link refused to avoid a loop",
            portal.id
        )
        .into());
    }
    // Away, topics, bans and host changes travel in RFC 2813 forms (AWAY, TOPIC, MODE +b,
    // METADATA host); see rfc2813.rs.
    Ok((
        pi,
        1,
        cap::AWAY | cap::TB | cap::BMASK | cap::ACCOUNT | cap::CHGHOST,
    ))
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
        no_rename: false,
        seen_ms: w.now.mono_ms,
    });
    let now = w.now.mono_ms;
    let dialect = if rfc {
        Dialect::Rfc2813(Box::default())
    } else {
        Dialect::Native
    };
    w.register_local_link(conn, Link::new(idx, proto, caps, now, dialect));
    info!(
        "portal {}: linked (protocol {proto}, capabilities: {})",
        p.name,
        cap::names(caps)
    );
    out.linked.push(p.name.clone());
    w.raise_event(EventType::Server, "LINK", None, &[&p.name], None);
    w.announce_server(idx, None, out);
    w.links.push(conn);
    w.send_burst(conn, out);
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
    let text = if w.find_server(pname.as_bytes()).is_some() {
        format!("CONNECT: {pname} is already linked")
    } else if !has_addr {
        format!("CONNECT: portal {pname} has no address to dial")
    } else {
        ctx.out.connects.push(pname.clone());
        format!("CONNECT: dialing {pname}")
    };
    w.server_notice(ctx.out, ctx.conn, &text);
    Ok(())
}
